/*
 * Athena's error registry (G14 `GET /admin/errors/catalog`): every machine-readable code Athena answers, with its
 * HTTP status and a stable number. Numbers are append-only — a code keeps its number forever
 * (error-catalog.test.ts pins them) — and each has a docs URL `https://docs.athena-cluster.com/<number>`.
 */

export interface AthenaErrorEntry {
  code: string;
  domain: 'auth' | 'client' | 'gateway' | 'schema' | 'management' | 'meta' | 'platform' | 'chat';
  httpStatus: number;
  number: number;
  title: string;
}

export const athenaErrorCatalog: readonly AthenaErrorEntry[] = [
  { code: 'invalid_request', domain: 'platform', httpStatus: 400, number: 1000, title: 'The request is malformed' },
  { code: 'unauthorized', domain: 'auth', httpStatus: 401, number: 1001, title: 'Missing or invalid credential' },
  { code: 'forbidden', domain: 'auth', httpStatus: 403, number: 1002, title: 'The credential may not do this' },
  { code: 'not_found', domain: 'platform', httpStatus: 404, number: 1003, title: 'No such resource' },
  { code: 'conflict', domain: 'platform', httpStatus: 409, number: 1004, title: 'The resource already exists' },
  { code: 'rate_limited', domain: 'auth', httpStatus: 429, number: 1005, title: 'Too many requests' },
  { code: 'internal_error', domain: 'platform', httpStatus: 500, number: 1006, title: 'Unexpected server error' },
  { code: 'not_implemented', domain: 'platform', httpStatus: 501, number: 1007, title: 'Not served yet' },
  { code: 'invalid_json', domain: 'platform', httpStatus: 400, number: 1008, title: 'The body is not valid JSON' },
  { code: 'invalid_parameter', domain: 'platform', httpStatus: 400, number: 1009, title: 'A parameter is invalid' },
  { code: 'invalid_path', domain: 'platform', httpStatus: 400, number: 1010, title: 'The path is malformed' },
  { code: 'method_not_allowed', domain: 'platform', httpStatus: 405, number: 1011, title: 'Wrong method for the path' },
  { code: 'payload_too_large', domain: 'platform', httpStatus: 413, number: 1012, title: 'The body is too large' },
  {
    code: 'unsupported_media_type',
    domain: 'platform',
    httpStatus: 415,
    number: 1013,
    title: 'Unsupported Content-Type',
  },
  {
    code: 'missing_required_field',
    domain: 'platform',
    httpStatus: 400,
    number: 1014,
    title: 'A required field is missing',
  },
  { code: 'error', domain: 'platform', httpStatus: 400, number: 1015, title: 'The request failed' },
  {
    code: 'unknown_client',
    domain: 'client',
    httpStatus: 400,
    number: 1100,
    title: 'Missing or unknown X-Athena-Client',
  },
  { code: 'client_frozen', domain: 'client', httpStatus: 503, number: 1101, title: 'The client is frozen' },
  { code: 'client_inactive', domain: 'client', httpStatus: 503, number: 1102, title: 'The client is not active' },
  { code: 'client_unreachable', domain: 'client', httpStatus: 503, number: 1103, title: 'The client database is down' },
  {
    code: 'client_unconfigured',
    domain: 'client',
    httpStatus: 503,
    number: 1104,
    title: 'The client has no connection',
  },
  {
    code: 'invalid_structured_select_request',
    domain: 'gateway',
    httpStatus: 400,
    number: 1200,
    title: 'Invalid structured select request',
  },
  { code: 'query_failed', domain: 'gateway', httpStatus: 400, number: 1201, title: 'The database refused the query' },
  { code: 'constraint_violation', domain: 'gateway', httpStatus: 409, number: 1202, title: 'A constraint refused it' },
  { code: 'rpc_function_not_found', domain: 'gateway', httpStatus: 400, number: 1203, title: 'No such function' },
  { code: 'read_only', domain: 'gateway', httpStatus: 403, number: 1204, title: 'The key may only read' },
  { code: 'statement_timeout', domain: 'gateway', httpStatus: 504, number: 1205, title: 'The statement timed out' },
  { code: 'direct_uri_disabled', domain: 'gateway', httpStatus: 403, number: 1206, title: 'Direct URIs are off' },
  { code: 'invalid_driver', domain: 'gateway', httpStatus: 400, number: 1207, title: 'Unknown SQL driver' },
  { code: 'driver_unavailable', domain: 'gateway', httpStatus: 503, number: 1208, title: 'The driver is unavailable' },
  { code: 'deferred_not_found', domain: 'gateway', httpStatus: 404, number: 1209, title: 'No such deferred request' },
  {
    code: 'd1_conversion_failed',
    domain: 'gateway',
    httpStatus: 422,
    number: 1210,
    title: 'D1 conversion diagnostics',
  },
  { code: 'd1_unavailable', domain: 'gateway', httpStatus: 503, number: 1211, title: 'D1 is not reachable' },
  { code: 'sql_syntax_error', domain: 'gateway', httpStatus: 400, number: 1212, title: 'SQL syntax error' },
  { code: 'sql_empty', domain: 'gateway', httpStatus: 400, number: 1213, title: 'No SQL statement' },
  {
    code: 'sql_multiple_statements',
    domain: 'gateway',
    httpStatus: 400,
    number: 1214,
    title: 'More than one statement',
  },
  { code: 'sql_statement_refused', domain: 'gateway', httpStatus: 400, number: 1215, title: 'Statement kind refused' },
  { code: 'sql_not_read_only', domain: 'gateway', httpStatus: 403, number: 1216, title: 'The key may only read' },
  { code: 'invalid_count_query', domain: 'gateway', httpStatus: 400, number: 1217, title: 'Not a plain count query' },
  { code: 'schema_object_missing', domain: 'schema', httpStatus: 404, number: 1300, title: 'No such table or object' },
  { code: 'unsupported_alteration', domain: 'management', httpStatus: 400, number: 1400, title: 'Unsupported change' },
  { code: 'extension_not_allowed', domain: 'management', httpStatus: 400, number: 1401, title: 'Extension refused' },
  { code: 'reserved_column', domain: 'management', httpStatus: 400, number: 1402, title: 'Reserved column' },
  { code: 'audit_unavailable', domain: 'management', httpStatus: 503, number: 1403, title: 'Audit store unavailable' },
  { code: 'invalid_identifier', domain: 'management', httpStatus: 400, number: 1404, title: 'Invalid identifier' },
  {
    code: 'invalid_default_expression',
    domain: 'management',
    httpStatus: 400,
    number: 1405,
    title: 'Default expression refused',
  },
  {
    code: 'invalid_view_definition',
    domain: 'management',
    httpStatus: 400,
    number: 1406,
    title: 'View definition refused',
  },
  { code: 'invalid_function_ddl', domain: 'management', httpStatus: 400, number: 1407, title: 'Function DDL refused' },
  { code: 'invalid_data_type', domain: 'management', httpStatus: 400, number: 1408, title: 'Data type refused' },
  { code: 'invalid_index_method', domain: 'management', httpStatus: 400, number: 1409, title: 'Index method refused' },
  { code: 'ddl_failed', domain: 'management', httpStatus: 400, number: 1410, title: 'The database refused the DDL' },
  { code: 'invalid_direct_uri', domain: 'gateway', httpStatus: 400, number: 1218, title: 'Malformed direct URI' },
  {
    code: 'direct_uri_credentials_required',
    domain: 'auth',
    httpStatus: 401,
    number: 1219,
    title: 'The direct URI has no user or password',
  },
  {
    code: 'direct_uri_host_not_allowed',
    domain: 'gateway',
    httpStatus: 403,
    number: 1220,
    title: 'The direct URI host is not allowlisted',
  },
  { code: 'direct_uri_blocked', domain: 'gateway', httpStatus: 403, number: 1221, title: 'The direct URI is refused' },
  {
    code: 'direct_uri_server_credentials',
    domain: 'gateway',
    httpStatus: 403,
    number: 1222,
    title: 'The direct URI names the server login',
  },
  {
    code: 'direct_uri_unreachable',
    domain: 'gateway',
    httpStatus: 503,
    number: 1223,
    title: 'The direct URI database is down',
  },
  {
    code: 'deferred_not_requeueable',
    domain: 'gateway',
    httpStatus: 409,
    number: 1224,
    title: 'Only completed or failed requests requeue',
  },
  { code: 'public_route_not_found', domain: 'gateway', httpStatus: 404, number: 1225, title: 'No such public route' },
  { code: 'public_route_inactive', domain: 'gateway', httpStatus: 403, number: 1226, title: 'The route is inactive' },
  {
    code: 'public_route_op_not_allowed',
    domain: 'gateway',
    httpStatus: 403,
    number: 1227,
    title: 'The route does not allow this op',
  },
  {
    code: 'invalid_d1_migration_request',
    domain: 'gateway',
    httpStatus: 400,
    number: 1228,
    title: 'Invalid D1 migration request',
  },
  { code: 'd1_request_failed', domain: 'gateway', httpStatus: 503, number: 1229, title: 'D1 refused or failed' },
  { code: 'unknown_right', domain: 'auth', httpStatus: 400, number: 1600, title: 'A right not in the catalog' },
  {
    code: 'ip_not_allowed',
    domain: 'auth',
    httpStatus: 403,
    number: 1601,
    title: 'The IP policy refuses this address',
  },
  { code: 'invalid_ip_address', domain: 'auth', httpStatus: 400, number: 1602, title: 'Not an IP address or CIDR' },
  {
    code: 'chat_session_required',
    domain: 'chat',
    httpStatus: 401,
    number: 1700,
    title: 'Missing or invalid chat session',
  },
  {
    code: 'chat_not_found',
    domain: 'chat',
    httpStatus: 404,
    number: 1701,
    title: 'No such room, message, member or reaction',
  },
  {
    code: 'chat_forbidden',
    domain: 'chat',
    httpStatus: 403,
    number: 1702,
    title: 'The session may not do this in the room',
  },
  { code: 'chat_room_archived', domain: 'chat', httpStatus: 409, number: 1703, title: 'The room is archived' },
  {
    code: 'chat_duplicate_direct_room',
    domain: 'chat',
    httpStatus: 409,
    number: 1704,
    title: 'A direct room for the pair exists',
  },
  {
    code: 'chat_idempotency_conflict',
    domain: 'chat',
    httpStatus: 409,
    number: 1705,
    title: 'client_message_id reused with another payload',
  },
  { code: 'chat_message_deleted', domain: 'chat', httpStatus: 409, number: 1706, title: 'The message is deleted' },
  {
    code: 'chat_attachment_not_found',
    domain: 'chat',
    httpStatus: 404,
    number: 1707,
    title: 'Attachment file not found',
  },
  { code: 'chat_invalid_request', domain: 'chat', httpStatus: 400, number: 1708, title: 'Invalid chat payload' },
  { code: 'chat_unavailable', domain: 'chat', httpStatus: 503, number: 1709, title: 'Chat runtime unavailable' },
];

const byCode = new Map(athenaErrorCatalog.map((e) => [e.code, e]));

/** The entry of a code; unknown codes (a Postgres SQLSTATE passed through, say) have none. */
export function errorEntry(code: string): AthenaErrorEntry | undefined {
  return byCode.get(code);
}

export const docsUrl = (n: number) => `https://docs.athena-cluster.com/${n}`;
