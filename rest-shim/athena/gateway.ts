import { createHash } from 'node:crypto';
import { principalId } from '../../src/core/auth/principal.ts';
import { directUriOf } from '../../src/modules/athena/direct-uri.ts';
import type { ReadQuery, RpcCall } from '../../src/modules/athena/gateway/ast.ts';
import { GatewayParseError } from '../../src/modules/athena/gateway/parse-errors.ts';
import { postProcess, stripNulls } from '../../src/modules/athena/gateway/post-process.ts';
import { type GatewayRoute, parseGatewayUpdate, parseSqlBody } from '../../src/modules/athena/gateway/requests.ts';
import {
  type FetchRequest,
  parseDataBody,
  parseDeleteBody,
  parseFetchBody,
  parseGetDataQuery,
  parseInsertBody,
  parseRpcBody,
  parseRpcGetQuery,
} from '../../src/modules/athena/gateway/structured-parse.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';
import {
  AthenaCallFunctionDocument,
  AthenaCountRowsDocument,
  AthenaDeleteRowsDocument,
  AthenaExecuteSqlDocument,
  AthenaInsertRowsDocument,
  AthenaReadRowsDocument,
  type AthenaRowsFieldsFragment,
  AthenaUpdateRowsDocument,
} from '../generated/graphql.ts';
import { athenaErrorBody, statusOfCode } from './answer.ts';
import { deferOperation } from './gateway-queue.ts';
import { graphql, group } from './policy.ts';
import { gatewayStatus } from './postgrest.ts';
import { conflictAction, countVariable, filterVariables, orderVariables, selectVariables } from './variables.ts';

/*
 * Athena's structured gateway routes (G1, docs/athena.md): `/gateway/fetch|data|update|insert|delete|query`,
 * `/query/sql`, `GET /data`, RPC. Bodies are parsed into the gateway language and run through the GraphQL gateway
 * fields; answers are Athena's `{status, message, data}` envelope.
 */

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const client = (req: RestRequest) => first(req.headers['x-athena-client']) ?? '';

/**
 * Where the request runs: `X-Athena-Client`, or a direct URI header (`x-pg-uri` before `x-athena-jdbc-url` before
 * `x-jdbc-url`), which wins; the gateway checks it (allowlist, credentials, outbound guard) and logs an ignored
 * client (docs/athena.md, Direct URIs).
 */
export function target(req: RestRequest): { client: string; directUri?: string } {
  const directUri = directUriOf(req.headers);
  return { client: client(req), ...(directUri !== undefined ? { directUri } : {}) };
}

/** Routes that take no direct URI (`GET /data`): a URI header there is refused, not silently ignored. */
function refuseDirectUri(req: RestRequest): void {
  if (directUriOf(req.headers) !== undefined) {
    throw new GatewayParseError({
      httpStatus: 403,
      code: 'direct_uri_disabled',
      message: 'This route does not take direct connection headers: route with X-Athena-Client',
    });
  }
}

/**
 * `X-Athena-Defer: true` on a deferrable route: the request is stored and answered 202 (notes §1.8 decision);
 * never for direct URIs, which always run inline.
 */
function deferred(route: GatewayRoute) {
  return (req: RestRequest) => {
    const flag = String(first(req.headers['x-athena-defer']) ?? '').toLowerCase();
    if (flag !== 'true' && flag !== '1') return undefined;
    if (directUriOf(req.headers) !== undefined) return undefined;
    return deferOperation(route);
  };
}

const stripNullsHeader = (req: RestRequest) =>
  ['true', '1'].includes(String(first(req.headers['x-strip-nulls'])).toLowerCase());

export type Result =
  | { __typename: string; data?: unknown; code?: string; message?: string; details?: unknown; hint?: unknown }
  | null
  | undefined;

/** An error member in Athena's envelope: SQLSTATEs and PGRST codes with PostgREST's statuses, Athena codes by catalog. */
export function errorResponse(r: NonNullable<Result>, operation: string): RestResponse {
  const code = r.code ?? 'error';
  let status = r.__typename === 'AthenaGatewayError' ? (gatewayStatus(code) ?? 400) : statusOfCode(code);
  // The contract lists 400 and 500 (insert also 409) for these routes: a "not found" table is a bad request here.
  if (status === 404 || status === 300 || status === 406 || status === 416) status = 400;
  const body: Record<string, unknown> = { ...athenaErrorBody(status, r.message ?? 'Request failed', code) };
  if (r.details) body.details = r.details;
  if (r.hint) body.hint = r.hint;
  body.data = { operation };
  return { status, body };
}

function success<T>(r: Result, operation: string, map: (data: T) => RestResponse): RestResponse {
  if (!r) throw new Error('Athena: GraphQL result without data');
  if (r.data !== undefined) return map(r.data as T);
  return errorResponse(r, operation);
}

function readVariables(req: RestRequest, q: ReadQuery, direct: boolean) {
  return {
    ...(direct ? target(req) : { client: client(req) }),
    schema: q.schema,
    table: q.table,
    select: q.select.map(selectVariables),
    filter: q.filter ? filterVariables(q.filter) : undefined,
    orderBy: q.order?.map(orderVariables),
    first: q.limit,
    offset: q.offset,
    count: countVariable(q.count),
  };
}

/** Cache key of a fetch: client, caller and normalised request (docs/athena.md: visibility depends on the caller). */
function cacheKey(req: RestRequest, table: string, body: unknown): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([client(req), principalId(req.principal), body]))
    .digest('hex')
    .slice(0, 16);
  return `${table}:${client(req)}:${hash}`;
}

// The parsed request, kept from `variables` to `respond` (post-processing, strip_nulls).
const parsed = new WeakMap<RestRequest, FetchRequest>();

function fetchOperation(parse: (req: RestRequest) => FetchRequest, operation: string, deferrable: boolean) {
  // `GET /data` takes no direct URI (notes §1.4); only `/gateway/fetch` defers (its body is what a deferred fetch
  // stores and parses again).
  const viaGet = operation === 'data';
  return graphql({
    policy: { right: 'gateway.fetch.execute', directUri: !viaGet },
    document: AthenaReadRowsDocument,
    extraQuery: viaGet ? 'any' : undefined,
    ...(deferrable ? { instead: deferred('fetch') } : {}),
    variables: (req) => {
      if (viaGet) refuseDirectUri(req);
      const request = parse(req);
      parsed.set(req, request);
      return readVariables(req, request.query, !viaGet);
    },
    respond: ({ athenaRows }, req) =>
      success<AthenaRowsFieldsFragment>(athenaRows as Result, 'fetch', (rows) => {
        const request = parsed.get(req) as FetchRequest;
        let data = rows.rows as Record<string, unknown>[];
        const strip = request.stripNulls || stripNullsHeader(req);
        if (strip) data = stripNulls(data);
        const post = request.postProcessing ? postProcess(data, request.postProcessing) : undefined;
        return {
          status: 200,
          body: {
            status: 'success',
            message: `Fetched ${data.length} rows`,
            data,
            cache_key: cacheKey(req, request.query.table, req.body ?? req.query),
            ...(post ? { post_processing: post } : {}),
          },
        };
      }),
  });
}

const fetchRows = fetchOperation((req) => parseFetchBody(req.body), 'fetch', true);
const dataRows = fetchOperation((req) => parseDataBody(req.body), 'fetch', false);
const getData = fetchOperation((req) => parseGetDataQuery(req.query), 'data', false);

const updateRows = graphql({
  policy: { right: 'gateway.update.execute', directUri: true },
  document: AthenaUpdateRowsDocument,
  instead: deferred('update'),
  variables: (req) => {
    const c = parseGatewayUpdate(req.body);
    return {
      ...target(req),
      schema: c.schema,
      table: c.table,
      set: c.set,
      filter: filterVariables(c.filter),
      returning: c.returning ? c.returning.map(selectVariables) : undefined,
    };
  },
  respond: ({ athenaUpdateRows }) =>
    success<AthenaRowsFieldsFragment>(athenaUpdateRows as Result, 'update', (rows) => ({
      status: 200,
      body: {
        status: 'success',
        message: 'Rows updated',
        data: { affected_rows: rows.pageCount, rows: rows.rows },
      },
    })),
});

const insertRow = graphql({
  policy: { right: 'gateway.insert.execute', directUri: true },
  document: AthenaInsertRowsDocument,
  instead: deferred('insert'),
  variables: (req) => {
    const c = parseInsertBody(req.body);
    return {
      ...target(req),
      schema: c.schema,
      table: c.table,
      rows: c.rows,
      columns: c.columns,
      missingAsNull: c.missing === 'null',
      onConflict: c.onConflict
        ? {
            action: conflictAction(c.onConflict.action),
            ...(c.onConflict.columns ? { columns: c.onConflict.columns } : {}),
            ...(c.onConflict.set ? { set: c.onConflict.set } : {}),
          }
        : undefined,
      returning: (c.returning ?? [{ kind: 'star' as const }]).map(selectVariables),
    };
  },
  respond: ({ athenaInsertRows }, req) => {
    const r = athenaInsertRows as Result;
    // Constraint violations are the contract's 409 (23505 unique, 23503 foreign key, 23514 check, 23P01 exclusion).
    if (r && r.data === undefined && ['23505', '23503', '23514', '23P01'].includes(r.code ?? '')) {
      const body: Record<string, unknown> = { ...athenaErrorBody(409, r.message ?? 'Conflict', r.code ?? 'conflict') };
      if (r.details) body.details = r.details;
      return { status: 409, body };
    }
    return success<AthenaRowsFieldsFragment>(r, 'insert', (rows) => {
      const table = (req.body as { table_name?: string }).table_name;
      return {
        status: 200,
        body: { status: 'success', message: 'Row inserted', data: { table_name: table, row: rows.rows[0] ?? null } },
      };
    });
  },
});

const deleteRow = graphql({
  policy: { right: 'gateway.delete.execute', directUri: true },
  document: AthenaDeleteRowsDocument,
  instead: deferred('delete'),
  variables: (req) => {
    const c = parseDeleteBody(req.body);
    return {
      ...target(req),
      schema: c.schema,
      table: c.table,
      primaryKey: c.byPrimaryKey,
      filter: c.filter ? filterVariables(c.filter) : undefined,
      returning: [{ star: true }],
    };
  },
  respond: ({ athenaDeleteRows }, req) =>
    success<AthenaRowsFieldsFragment>(athenaDeleteRows as Result, 'delete', (rows) => {
      const b = req.body as { table_name?: string; resource_id?: unknown };
      if (rows.pageCount === 0) {
        // Atrium's decision: deleting nothing is a 404 (docs/decisions.md); the contract lists 200/400/500 only.
        return {
          status: 404,
          body: athenaErrorBody(404, `No row of ${b.table_name} has the id ${String(b.resource_id)}`, 'not_found'),
        };
      }
      return {
        status: 200,
        body: {
          status: 'success',
          message: 'Row deleted',
          data: { table_name: b.table_name, resource_id: String(b.resource_id) },
        },
      };
    }),
});

function sqlBody(req: RestRequest, requireDriver: boolean): { query: string; schema?: string } {
  const { sql, schema } = parseSqlBody(req.body);
  const b = req.body as { driver?: unknown };
  if (requireDriver) {
    const driver = String(b.driver ?? '');
    if (['d1', 'cloudflare-d1', 'athena-d1', 'supabase', 'athena'].includes(driver)) {
      const what =
        driver === 'athena'
          ? 'the athena (ScyllaDB) driver: Atrium has no ScyllaDB backend'
          : driver === 'supabase'
            ? 'the supabase driver: no Supabase project is configured'
            : 'D1 SQL execution: use /gateway/sql/d1/migrate to apply PostgreSQL schemas to D1';
      throw new GatewayParseError({ httpStatus: 503, code: 'driver_unavailable', message: `Unavailable: ${what}` });
    }
    if (driver !== 'postgresql' && driver !== 'postgres') {
      throw new GatewayParseError({ code: 'invalid_driver', message: `Invalid driver "${driver.slice(0, 40)}"` });
    }
  }
  return { query: sql, ...(schema !== undefined ? { schema } : {}) };
}

function sqlOperation(requireDriver: boolean, right: 'gateway.query.execute') {
  return graphql({
    policy: { right, directUri: true },
    document: AthenaExecuteSqlDocument,
    // `/gateway/query` defers; `/query/sql` and `/gateway/sql` (driver routing) do not (notes §1.8 names the five).
    ...(requireDriver ? {} : { instead: deferred('query') }),
    variables: (req) => {
      const { query, schema } = sqlBody(req, requireDriver);
      return { ...target(req), sql: query, schema };
    },
    respond: ({ athenaExecuteSql }) =>
      success<{ rows: unknown[]; rowCount: number; command: string; columns: string[] }>(
        athenaExecuteSql as Result,
        'query',
        (r) => ({
          status: 200,
          body: {
            status: 'success',
            message: 'Query executed',
            data: { rows: r.rows, row_count: r.rowCount, command: r.command, columns: r.columns },
          },
        }),
      ),
  });
}

function rpcVariables(req: RestRequest, call: RpcCall) {
  return {
    client: client(req),
    function: call.fn,
    schema: call.schema,
    args: call.args,
    select: call.select?.map(selectVariables),
    filter: call.filter ? filterVariables(call.filter) : undefined,
    orderBy: call.order?.map(orderVariables),
    first: call.limit,
    offset: call.offset,
    count: countVariable(call.count),
    readOnly: call.readOnly,
  };
}

function rpcRespond(r: Result): RestResponse {
  if (r && r.data === undefined && r.__typename === 'AthenaGatewayError' && r.code === 'PGRST202') {
    // The contract lists 400/401/403/500 for RPC: an unknown function is a 400 (docs/decisions.md).
    return {
      status: 400,
      body: {
        ...athenaErrorBody(400, r.message ?? 'Function not found', 'rpc_function_not_found'),
        details: r.details ?? null,
      },
    };
  }
  return success<AthenaRowsFieldsFragment>(r, 'rpc', (rows) => ({
    status: 200,
    body: {
      data: rows.rows,
      ...(rows.totalCount !== null && rows.totalCount !== undefined ? { count: rows.totalCount } : {}),
    },
  }));
}

const gatewayRpc = graphql({
  policy: { right: 'gateway.rpc.execute' },
  document: AthenaCallFunctionDocument,
  variables: (req) => rpcVariables(req, parseRpcBody(req.body)),
  respond: ({ athenaCallFunction }) => rpcRespond(athenaCallFunction as Result),
});

const postRpc = graphql({
  policy: { right: 'gateway.rpc.execute' },
  document: AthenaCallFunctionDocument,
  variables: (req) => rpcVariables(req, parseRpcBody(req.body ?? {}, req.params.function_name)),
  respond: ({ athenaCallFunction }) => rpcRespond(athenaCallFunction as Result),
});

const getRpc = graphql({
  policy: { right: 'gateway.rpc.execute' },
  extraQuery: 'any',
  document: AthenaCallFunctionDocument,
  variables: async (req, services) => {
    const fn = req.params.function_name ?? '';
    const isArgument = await services.athena.gateway.argumentLookup(req.principal, client(req), fn);
    return rpcVariables(req, parseRpcGetQuery(req.rawQuery, isArgument, fn));
  },
  respond: ({ athenaCallFunction }) => rpcRespond(athenaCallFunction as Result),
});

const countRows = graphql({
  policy: { right: 'gateway.count.execute' },
  document: AthenaCountRowsDocument,
  variables: (req) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const invalid = (message: string) => new GatewayParseError({ code: 'invalid_request', message });
    const driver = String(b.driver ?? '');
    if (driver === 'athena' || driver === 'supabase') {
      throw new GatewayParseError({
        httpStatus: 503,
        code: 'driver_unavailable',
        message: `The ${driver} driver is not available on this server`,
      });
    }
    if (driver !== 'postgresql' && driver !== 'postgres') throw invalid(`Invalid driver "${driver.slice(0, 40)}"`);
    if (typeof b.db_name !== 'string' || b.db_name === '') throw invalid('db_name is required');
    const hasQuery = b.query !== undefined && b.query !== null;
    const hasTable = b.table_name !== undefined && b.table_name !== null;
    if (hasQuery === hasTable) throw invalid('ambiguous body: give exactly one of query and table_name');
    if (hasQuery && typeof b.query !== 'string') throw invalid('query must be a string');
    if (hasTable && typeof b.table_name !== 'string') throw invalid('table_name must be a string');
    if (b.table_schema !== undefined && typeof b.table_schema !== 'string')
      throw invalid('table_schema must be a string');
    const noCache = /no-cache|no-store/i.test(String(first(req.headers['cache-control']) ?? ''));
    return {
      // db_name names the database; with X-Athena-Client routing it is informational (docs/decisions.md).
      client: client(req),
      ...(hasQuery ? { query: b.query as string } : {}),
      ...(hasTable
        ? { table: b.table_name as string, schema: (b.table_schema as string | undefined) ?? 'public' }
        : {}),
      bypassCache: noCache,
    };
  },
  respond: ({ athenaCountRows }, req) =>
    success<{ count: number; cacheKey: string; cacheOutcome: string; durationMs: number }>(
      athenaCountRows as Result,
      'count',
      (r) => ({
        status: 200,
        headers: {
          'x-athena-cached': String(r.cacheOutcome === 'HIT_LOCAL'),
          'x-athena-cache-outcome': r.cacheOutcome.toLowerCase(),
          'x-athena-cache-source': r.cacheOutcome === 'HIT_LOCAL' ? 'local' : 'database',
        },
        body: {
          status: 'success',
          message: 'Count computed',
          data: {
            count: r.count,
            db_name: (req.body as { db_name?: string }).db_name,
            duration_ms: Math.round(r.durationMs),
            cache_key: r.cacheKey,
            cache_lookup_outcome: r.cacheOutcome.toLowerCase(),
          },
        },
      }),
    ),
});

export const athenaGatewayOperations = group('gateway', 'test/athena/gateway.test.ts', {
  post_gateway_fetch: fetchRows,
  post_gateway_data: dataRows,
  get_data: getData,
  post_gateway_update: updateRows,
  put_gateway_insert: insertRow,
  delete_gateway_delete: deleteRow,
  post_gateway_query: sqlOperation(false, 'gateway.query.execute'),
  post_query_sql: sqlOperation(true, 'gateway.query.execute'),
  post_gateway_sql: sqlOperation(true, 'gateway.query.execute'),
  post_gateway_rpc: gatewayRpc,
  post_rpc_by_function_name: postRpc,
  get_rpc_by_function_name: getRpc,
  post_query_count: countRows,
});
