import type { SelectItem } from '../../src/modules/athena/gateway/ast.ts';
import { GatewayParseError } from '../../src/modules/athena/gateway/parse-errors.ts';
import {
  type PostgrestQuery,
  type Preferences,
  parsePostgrestQuery,
  parsePrefer,
  parseRange,
} from '../../src/modules/athena/gateway/postgrest-parse.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';
import {
  AthenaDeleteRowsDocument,
  AthenaInsertRowsDocument,
  AthenaReadRowsDocument,
  type AthenaRowsFieldsFragment,
  AthenaUpdateRowsDocument,
} from '../generated/graphql.ts';
import { athenaErrorBody, statusOfCode } from './answer.ts';
import { graphql, group } from './policy.ts';
import { conflictAction, countVariable, filterVariables, orderVariables, selectVariables } from './variables.ts';

/*
 * `/rest/v1/{table}` — PostgREST 12's grammar over a client table (docs/athena.md, PostgREST). Parsed here into the
 * gateway language, executed through the GraphQL gateway fields, answered in Athena's `{data: […]}` envelope or,
 * for PostgREST clients, exactly as PostgREST answers.
 */

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * Whether the caller speaks PostgREST rather than Athena's contract: it asks for PostgREST's media types or
 * profiles, or it is a Supabase/PostgREST client library (`X-Client-Info: postgrest-js/…`). Those get bare arrays,
 * 201 on insert and 206 on partial ranges, as real PostgREST answers; everyone else gets the contract's envelope.
 */
export function speaksPostgrest(req: RestRequest): boolean {
  const h = req.headers;
  const accept = first(h.accept) ?? '';
  const info = first(h['x-client-info']) ?? '';
  return (
    accept.includes('application/vnd.pgrst.') ||
    h['accept-profile'] !== undefined ||
    h['content-profile'] !== undefined ||
    /^(postgrest|supabase)-/i.test(info)
  );
}

/** `{table}` may be `schema.table`; else the profile header names the schema (default public). */
function target(req: RestRequest, profileHeader: 'accept-profile' | 'content-profile') {
  const raw = req.params.table ?? '';
  const dot = raw.indexOf('.');
  const profile = first(req.headers[profileHeader]);
  if (dot > 0) return { schema: raw.slice(0, dot), table: raw.slice(dot + 1) };
  return { schema: profile && profile !== '' ? profile : 'public', table: raw };
}

const client = (req: RestRequest) => first(req.headers['x-athena-client']) ?? '';

function prefs(req: RestRequest): Preferences {
  return parsePrefer(req.headers.prefer);
}

function parse(req: RestRequest, kind: 'read' | 'write'): PostgrestQuery {
  return parsePostgrestQuery(req.rawQuery, kind);
}

const vars = {
  select: (items: SelectItem[] | undefined) => (items ? items.map(selectVariables) : undefined),
};

/** A PostgREST error in both shapes at once: Athena's envelope plus PostgREST's `code/message/details/hint`. */
function failure(status: number, code: string, message: string, details: unknown = null, hint: unknown = null) {
  return { status, body: { ...athenaErrorBody(status, message, code), details, hint } };
}

type Result =
  | {
      __typename: string;
      data?: AthenaRowsFieldsFragment;
      code?: string;
      message?: string;
      details?: unknown;
      hint?: unknown;
    }
  | null
  | undefined;

/** The union result: rows, or the error with PostgREST's status for its code. */
function unwrap(r: Result): { rows: AthenaRowsFieldsFragment } | { error: RestResponse } {
  if (!r) throw new Error('Athena: GraphQL result without data');
  if (r.data) return { rows: r.data };
  const code = r.code ?? 'error';
  const status = r.__typename === 'AthenaGatewayError' ? (gatewayStatus(code) ?? 400) : statusOfCode(code);
  return { error: failure(status, code, r.message ?? 'Request failed', r.details ?? null, r.hint ?? null) };
}

/** PostgREST's HTTP status for its codes and the SQLSTATEs it passes through (docs: Errors). */
export function gatewayStatus(code: string): number | undefined {
  const pgrst: Record<string, number> = {
    PGRST000: 503,
    PGRST001: 503,
    PGRST002: 503,
    PGRST003: 504,
    PGRST100: 400,
    PGRST101: 405,
    PGRST102: 400,
    PGRST103: 416,
    PGRST105: 405,
    PGRST106: 406,
    PGRST107: 415,
    PGRST108: 400,
    PGRST111: 500,
    PGRST112: 500,
    PGRST114: 400,
    PGRST115: 400,
    PGRST116: 406,
    PGRST117: 405,
    PGRST118: 400,
    PGRST120: 400,
    PGRST121: 500,
    PGRST122: 400,
    PGRST123: 400,
    PGRST124: 400,
    PGRST200: 400,
    PGRST201: 300,
    PGRST202: 404,
    PGRST203: 300,
    PGRST204: 400,
    PGRST205: 404,
    PGRST300: 500,
    PGRST301: 401,
    PGRST302: 401,
    PGRST303: 401,
  };
  if (code in pgrst) return pgrst[code];
  if (/^PGRST/.test(code)) return 400;
  // SQLSTATEs (PostgREST's table): classes 08 → 503, 09/0L/0P/28 → 403, 23 → 409 (23503/23505) else 400, 25006 →
  // 405, 42883 → 404, 42P01 → 404, 42501 → 403, 53 → 503, 54 → 500, 57014 → 500, P0001 → 400, other → 400/500.
  const exact: Record<string, number> = {
    '23503': 409,
    '23505': 409,
    '25006': 405,
    '42883': 404,
    '42P01': 404,
    '42501': 403,
    '57014': 504,
    '21000': 400,
  };
  if (code in exact) return exact[code];
  const cls = code.slice(0, 2);
  const byClass: Record<string, number> = {
    '08': 503,
    '09': 500,
    '0L': 403,
    '0P': 403,
    '28': 403,
    '53': 503,
    '54': 500,
    '55': 500,
    '57': 500,
    '58': 500,
    F0: 500,
    HV: 500,
    P0: 500,
    XX: 500,
  };
  if (/^[0-9A-Z]{5}$/.test(code)) return byClass[cls] ?? 400;
  return undefined;
}

function contentRange(offset: number, count: number, total: number | null | undefined): string {
  const totalText = total === null || total === undefined ? '*' : String(total);
  if (count === 0) return `*/${totalText}`;
  return `${offset}-${offset + count - 1}/${totalText}`;
}

function csv(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0] as object);
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n');
}

type Representation = 'json' | 'object' | 'csv' | 'plan' | 'geojson';

/**
 * The media type asked for: JSON (array), one object, CSV, GeoJSON, the plan; anything else PostgREST refuses with
 * PGRST107.
 */
function representation(req: RestRequest): Representation | RestResponse {
  const accept = (first(req.headers.accept) ?? '*/*').toLowerCase();
  const types = accept.split(',').map((t) => t.split(';')[0]?.trim() ?? '');
  for (const t of types) {
    if (t === 'application/vnd.pgrst.object+json' || t === 'application/vnd.pgrst.object') return 'object';
    if (t === 'text/csv') return 'csv';
    if (t === 'application/geo+json') return 'geojson';
    if (t === 'application/vnd.pgrst.plan+json' || t === 'application/vnd.pgrst.plan') return 'plan';
    if (
      t === 'application/json' ||
      t === 'application/vnd.pgrst.array+json' ||
      t === '*/*' ||
      t === 'application/*' ||
      t === ''
    ) {
      return 'json';
    }
  }
  return failure(406, 'PGRST107', `None of these media types are available: ${accept.slice(0, 200)}`);
}

/** Rows in the asked representation, with PostgREST's headers. */
function rowsResponse(
  req: RestRequest,
  rows: AthenaRowsFieldsFragment,
  status: number,
  rep: Representation,
  extraHeaders: Record<string, string> = {},
): RestResponse {
  const headers: Record<string, string> = {
    'content-range': contentRange(rows.offset, rows.pageCount, rows.totalCount),
    ...extraHeaders,
  };
  const list = rows.rows as Record<string, unknown>[];
  if (rep === 'object') {
    if (list.length !== 1) {
      return failure(
        406,
        'PGRST116',
        'JSON object requested, multiple (or no) rows returned',
        `The result contains ${list.length} rows`,
      );
    }
    return {
      status,
      body: list[0],
      headers: { ...headers, 'content-type': 'application/vnd.pgrst.object+json; charset=utf-8' },
    };
  }
  if (rep === 'csv') {
    return { status, body: csv(list), headers: { ...headers, 'content-type': 'text/csv; charset=utf-8' } };
  }
  return { status, body: speaksPostgrest(req) ? list : { data: list }, headers };
}

/** A parse failure answers before GraphQL runs: the same PostgREST-shaped body. */
function guarded<V>(fn: () => V): V {
  return fn();
}

const readDoc = graphql({
  policy: { right: 'gateway.fetch.execute' },
  extraQuery: 'any',
  document: AthenaReadRowsDocument,
  variables: (req) =>
    guarded(() => {
      const q = parse(req, 'read');
      const p = prefs(req);
      const range = parseRange(first(req.headers.range));
      const { schema, table } = target(req, 'accept-profile');
      const offset = q.offset ?? range?.offset;
      const limit = q.limit ?? range?.limit;
      const rep = representation(req);
      return {
        client: client(req),
        schema,
        table,
        select: vars.select(q.select),
        filter: q.filter ? filterVariables(q.filter) : undefined,
        orderBy: q.order?.map(orderVariables),
        first: limit,
        offset,
        count: countVariable(p.count),
        plan: rep === 'plan',
        geojson: rep === 'geojson',
        rows: rep !== 'plan' && rep !== 'geojson',
        analyze: /\banalyze\b/i.test(first(req.headers.accept) ?? ''),
      };
    }),
  respond: ({ athenaRows, athenaExplainRows, athenaFeatures }, req) => {
    const rep = representation(req);
    if (typeof rep !== 'string') return rep;
    if (rep === 'geojson') {
      const refused = athenaFeatures as Result;
      // No PostGIS, or no geometry column selected: the media type is not available (406, as for any Accept).
      if (refused?.code === 'PGRST107') {
        return failure(
          406,
          'PGRST107',
          refused.message ?? 'Not available',
          refused.details ?? null,
          refused.hint ?? null,
        );
      }
      const features = unwrap(refused);
      if ('error' in features) return features.error;
      const page = (
        athenaFeatures as {
          data: { featureCollection: unknown; pageCount: number; totalCount?: number | null; offset: number };
        }
      ).data;
      return {
        status: 200,
        body: page.featureCollection,
        headers: {
          'content-range': contentRange(page.offset, page.pageCount, page.totalCount),
          'content-type': 'application/geo+json; charset=utf-8',
        },
      };
    }
    if (rep === 'plan') {
      const plan = athenaExplainRows as Result & { data?: unknown };
      if (plan && plan.data !== undefined) {
        return {
          status: 200,
          body: plan.data,
          headers: { 'content-type': 'application/vnd.pgrst.plan+json; charset=utf-8' },
        };
      }
      const failed = unwrap(plan as Result);
      if ('error' in failed) return failed.error;
    }
    const out = unwrap(athenaRows as Result);
    if ('error' in out) return out.error;
    const partial =
      speaksPostgrest(req) &&
      out.rows.totalCount !== null &&
      out.rows.totalCount !== undefined &&
      out.rows.pageCount < out.rows.totalCount;
    return rowsResponse(req, out.rows, partial ? 206 : 200, rep);
  },
});

/** What a write returns: the `select` of the query string over the affected rows, unless `return=minimal`. */
/** `Prefer: tx=rollback` and `handling=strict, max-affected=n` as the write mutations' arguments. */
function writeOptions(p: Preferences) {
  return {
    ...(p.tx === 'rollback' ? { rollback: true } : {}),
    ...(p.handling === 'strict' && p.maxAffected !== undefined ? { maxAffected: p.maxAffected } : {}),
  };
}

function returningOf(q: PostgrestQuery, p: Preferences) {
  if (p.return === 'minimal' || p.return === 'headers-only') return undefined;
  return vars.select(q.select ?? [{ kind: 'star' }]);
}

function writeResponse(req: RestRequest, r: Result, created: boolean): RestResponse {
  const rep = representation(req);
  if (typeof rep !== 'string') return rep;
  const out = unwrap(r);
  if ('error' in out) return out.error;
  const p = prefs(req);
  const pg = speaksPostgrest(req);
  const preferenceApplied = [
    p.resolution,
    p.missing ? `missing=${p.missing}` : undefined,
    p.tx ? `tx=${p.tx}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const headers: Record<string, string> = preferenceApplied ? { 'preference-applied': preferenceApplied } : {};
  if (p.return === 'minimal' || p.return === 'headers-only') {
    return {
      status: pg ? (created ? 201 : 204) : 204,
      headers: {
        ...headers,
        'content-range': contentRange(0, out.rows.pageCount, p.count ? out.rows.pageCount : null),
      },
    };
  }
  return rowsResponse(req, out.rows, pg && created ? 201 : 200, rep, headers);
}

const insertDoc = graphql({
  policy: { right: 'gateway.insert.execute' },
  extraQuery: 'any',
  document: AthenaInsertRowsDocument,
  variables: (req) => {
    const q = parse(req, 'write');
    const p = prefs(req);
    const { schema, table } = target(req, 'content-profile');
    const body = req.body;
    const rows = Array.isArray(body) ? body : body !== null && typeof body === 'object' ? [body] : undefined;
    if (!rows) {
      throw new GatewayParseError({ code: 'PGRST102', message: 'Empty or invalid json', details: null });
    }
    const onConflict =
      p.resolution !== undefined
        ? {
            action: conflictAction(p.resolution === 'merge-duplicates' ? 'merge' : 'ignore'),
            ...(q.onConflict ? { columns: q.onConflict } : {}),
          }
        : undefined;
    return {
      client: client(req),
      schema,
      table,
      rows,
      columns: q.columns,
      // Atrium's default for a missing key is DEFAULT (docs/decisions.md); `missing=null` asks for NULL.
      missingAsNull: p.missing === 'null',
      onConflict,
      returning: returningOf(q, p),
      ...writeOptions(p),
    };
  },
  respond: ({ athenaInsertRows }, req) => writeResponse(req, athenaInsertRows as Result, true),
});

/** PATCH and DELETE need a filter (as pg-safeupdate does on Supabase): no whole-table writes by accident. */
function requireFilter(q: PostgrestQuery, verb: 'UPDATE' | 'DELETE') {
  if (!q.filter || q.filter.filters.length === 0) {
    throw new GatewayParseError({
      code: '21000',
      message: `${verb} requires a WHERE clause`,
      details: null,
      hint: 'Add a filter, for example ?id=eq.1',
    });
  }
  return q.filter;
}

const updateDoc = graphql({
  policy: { right: 'gateway.update.execute' },
  extraQuery: 'any',
  document: AthenaUpdateRowsDocument,
  variables: (req) => {
    const q = parse(req, 'write');
    const p = prefs(req);
    const { schema, table } = target(req, 'content-profile');
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new GatewayParseError({ code: 'PGRST102', message: 'Empty or invalid json', details: null });
    }
    return {
      client: client(req),
      schema,
      table,
      set: body,
      filter: filterVariables(requireFilter(q, 'UPDATE')),
      returning: returningOf(q, p),
      ...writeOptions(p),
    };
  },
  respond: ({ athenaUpdateRows }, req) => writeResponse(req, athenaUpdateRows as Result, false),
});

const deleteDoc = graphql({
  policy: { right: 'gateway.delete.execute' },
  extraQuery: 'any',
  document: AthenaDeleteRowsDocument,
  variables: (req) => {
    const q = parse(req, 'write');
    const p = prefs(req);
    const { schema, table } = target(req, 'content-profile');
    return {
      client: client(req),
      schema,
      table,
      filter: filterVariables(requireFilter(q, 'DELETE')),
      returning: returningOf(q, p),
      ...writeOptions(p),
    };
  },
  respond: ({ athenaDeleteRows }, req) => writeResponse(req, athenaDeleteRows as Result, false),
});

export const athenaPostgrestOperations = group('postgrest', 'test/athena/postgrest.test.ts', {
  get_rest_v1_by_table: readDoc,
  post_rest_v1_by_table: insertDoc,
  patch_rest_v1_by_table: updateDoc,
  delete_rest_v1_by_table: deleteDoc,
});
