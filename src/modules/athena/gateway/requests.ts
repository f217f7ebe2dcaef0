import type { DeleteCommand, Filter, InsertCommand, UpdateCommand } from './ast.ts';
import { GatewayParseError } from './parse-errors.ts';
import {
  type FetchRequest,
  invalidRequestCode,
  parseDeleteBody,
  parseFetchBody,
  parseInsertBody,
  parseUpdateBody,
} from './structured-parse.ts';

/*
 * The structured gateway requests (`/gateway/fetch|update|insert|delete|query`) as one value: what the REST routes,
 * deferred requests (stored, run later) and public routes (`/public/{route_key}/{op}`) all parse a body into, with
 * the same parser, so a body means the same thing whichever door it came through.
 */

/** The gateway routes a body can be deferred to or dispatched through a public route. */
export const gatewayRoutes = ['fetch', 'update', 'insert', 'delete', 'query'] as const;
export type GatewayRoute = (typeof gatewayRoutes)[number];

/** A parsed gateway request. `query` is one raw statement (checked by the Postgres parser when it runs). */
export type GatewayRequest =
  | { route: 'fetch'; request: FetchRequest }
  | { route: 'update'; command: UpdateCommand }
  | { route: 'insert'; command: InsertCommand }
  | { route: 'delete'; command: DeleteCommand; resourceId: string }
  | { route: 'query'; sql: string; schema?: string };

/** Request headers that change what a gateway body means (kept with a deferred request). */
export interface GatewayRequestHeaders {
  /** `X-Strip-Nulls: true` on fetch. */
  stripNulls?: boolean;
}

const invalid = (message: string) => new GatewayParseError({ code: invalidRequestCode, message });

/** `/gateway/query`'s body: one SQL statement and an optional `schema_name` (search_path). */
export function parseSqlBody(body: unknown): { sql: string; schema?: string } {
  const b = body as { query?: unknown; schema_name?: unknown } | undefined;
  if (!b || typeof b !== 'object' || typeof b.query !== 'string' || b.query.trim() === '') {
    throw invalid('query is required (one SQL statement)');
  }
  if (b.schema_name !== undefined && typeof b.schema_name !== 'string') throw invalid('schema_name must be a string');
  return { sql: b.query, ...(typeof b.schema_name === 'string' ? { schema: b.schema_name } : {}) };
}

/** `/gateway/update`'s body: `conditions` are required (no whole-table updates). */
export function parseGatewayUpdate(body: unknown): UpdateCommand & { filter: Filter } {
  const command = parseUpdateBody(body);
  if (!command.filter) throw invalid('conditions are required');
  return { ...command, filter: command.filter };
}

/** Parses a body for `route`; throws GatewayParseError (4xx) for anything malformed. */
export function parseGatewayRequest(
  route: GatewayRoute,
  body: unknown,
  headers: GatewayRequestHeaders = {},
): GatewayRequest {
  switch (route) {
    case 'fetch': {
      const request = parseFetchBody(body);
      return { route, request: headers.stripNulls ? { ...request, stripNulls: true } : request };
    }
    case 'update':
      return { route, command: parseGatewayUpdate(body) };
    case 'insert':
      return { route, command: parseInsertBody(body) };
    case 'delete': {
      const command = parseDeleteBody(body);
      return { route, command, resourceId: String((body as { resource_id?: unknown }).resource_id) };
    }
    case 'query':
      return { route, ...parseSqlBody(body) };
  }
}

/** The table a request writes (`schema.table`), for the tables a flush reports invalidated; none for reads. */
export function writtenTable(request: GatewayRequest): string | undefined {
  if (request.route === 'update' || request.route === 'insert' || request.route === 'delete') {
    return `${request.command.schema}.${request.command.table}`;
  }
  return undefined;
}
