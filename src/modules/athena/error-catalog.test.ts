import { describe, expect, it } from 'vitest';
import { athenaErrorCatalog, docsUrl, errorEntry } from './error-catalog.ts';

/*
 * The catalog is append-only: a code keeps its number forever, because clients and docs pages key on it. Adding a
 * code adds a line here; changing or removing a line is the breaking change this test exists to stop.
 */
const pinned: Record<string, number> = {
  invalid_request: 1000,
  unauthorized: 1001,
  forbidden: 1002,
  not_found: 1003,
  conflict: 1004,
  rate_limited: 1005,
  internal_error: 1006,
  not_implemented: 1007,
  invalid_json: 1008,
  invalid_parameter: 1009,
  invalid_path: 1010,
  method_not_allowed: 1011,
  payload_too_large: 1012,
  unsupported_media_type: 1013,
  missing_required_field: 1014,
  error: 1015,
  unknown_client: 1100,
  client_frozen: 1101,
  client_inactive: 1102,
  client_unreachable: 1103,
  client_unconfigured: 1104,
  invalid_structured_select_request: 1200,
  query_failed: 1201,
  constraint_violation: 1202,
  rpc_function_not_found: 1203,
  read_only: 1204,
  statement_timeout: 1205,
  direct_uri_disabled: 1206,
  invalid_driver: 1207,
  driver_unavailable: 1208,
  deferred_not_found: 1209,
  d1_conversion_failed: 1210,
  d1_unavailable: 1211,
  sql_syntax_error: 1212,
  sql_empty: 1213,
  sql_multiple_statements: 1214,
  sql_statement_refused: 1215,
  sql_not_read_only: 1216,
  invalid_count_query: 1217,
  invalid_direct_uri: 1218,
  direct_uri_credentials_required: 1219,
  direct_uri_host_not_allowed: 1220,
  direct_uri_blocked: 1221,
  direct_uri_server_credentials: 1222,
  direct_uri_unreachable: 1223,
  deferred_not_requeueable: 1224,
  public_route_not_found: 1225,
  public_route_inactive: 1226,
  public_route_op_not_allowed: 1227,
  invalid_d1_migration_request: 1228,
  d1_request_failed: 1229,
  unknown_right: 1600,
  ip_not_allowed: 1601,
  invalid_ip_address: 1602,
  chat_session_required: 1700,
  chat_not_found: 1701,
  chat_forbidden: 1702,
  chat_room_archived: 1703,
  chat_duplicate_direct_room: 1704,
  chat_idempotency_conflict: 1705,
  chat_message_deleted: 1706,
  chat_attachment_not_found: 1707,
  chat_invalid_request: 1708,
  chat_unavailable: 1709,
  s3_inline_endpoint_disabled: 1800,
  s3_endpoint_refused: 1801,
  s3_object_not_found: 1802,
  s3_bucket_not_empty: 1803,
  s3_credentials_refused: 1804,
  s3_feature_unavailable: 1805,
  s3_backend_error: 1806,
  s3_backend_unavailable: 1807,
  s3_conflict: 1808,
  storage_not_found: 1820,
  storage_forbidden: 1821,
  storage_conflict: 1822,
  storage_invalid_request: 1823,
  storage_session_required: 1824,
  storage_unavailable: 1825,
  storage_feature_unavailable: 1826,
  storage_payload_too_large: 1827,

  schema_object_missing: 1300,
  unsupported_alteration: 1400,
  extension_not_allowed: 1401,
  reserved_column: 1402,
  audit_unavailable: 1403,
  invalid_identifier: 1404,
  invalid_default_expression: 1405,
  invalid_view_definition: 1406,
  invalid_function_ddl: 1407,
  invalid_data_type: 1408,
  invalid_index_method: 1409,
  ddl_failed: 1410,
};

describe('athena error catalog', () => {
  it('keeps every pinned code with its number (append-only)', () => {
    for (const [code, number] of Object.entries(pinned)) {
      expect(errorEntry(code)?.number, code).toBe(number);
    }
  });

  it('pins every code it has (a new code is added to this test)', () => {
    expect(athenaErrorCatalog.map((e) => e.code).sort()).toEqual(Object.keys(pinned).sort());
  });

  it('has unique codes and unique numbers', () => {
    const codes = athenaErrorCatalog.map((e) => e.code);
    const numbers = athenaErrorCatalog.map((e) => e.number);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('gives every entry a 4-digit number, an HTTP error status, a title and a docs URL', () => {
    for (const e of athenaErrorCatalog) {
      expect(e.number, e.code).toBeGreaterThanOrEqual(1000);
      expect(e.number, e.code).toBeLessThanOrEqual(9999);
      expect(e.httpStatus, e.code).toBeGreaterThanOrEqual(400);
      expect(e.httpStatus, e.code).toBeLessThanOrEqual(599);
      expect(e.title.trim(), e.code).not.toBe('');
      expect(e.code, e.code).toMatch(/^[a-z][a-z0-9_]*$/);
    }
    expect(docsUrl(1200)).toBe('https://docs.athena-cluster.com/1200');
  });

  it('knows no entry for codes outside the catalog (SQLSTATEs passed through)', () => {
    expect(errorEntry('23505')).toBeUndefined();
  });
});
