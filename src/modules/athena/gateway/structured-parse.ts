import {
  allowedCasts,
  type Cast,
  type DeleteCommand,
  type Filter,
  type FilterCondition,
  type FilterGroup,
  type FilterOperator,
  type InsertCommand,
  type OrderTerm,
  type ReadQuery,
  type RpcCall,
  type Scalar,
  type SelectEmbed,
  type SelectItem,
  type UpdateCommand,
} from './ast.ts';
import { GatewayParseError } from './parse-errors.ts';
import { maxNesting, parseColumnList, parseQueryPairs, parseSelect, splitQueryString } from './postgrest-parse.ts';

/*
 * Athena's own request bodies (notes §3.1–3.8): `/gateway/fetch`, `/gateway/data`, `GET /data`, `/gateway/update`,
 * `/gateway/insert`, `/gateway/delete`, `/gateway/rpc`, `/rpc/{fn}`. Each becomes the gateway's request language
 * (ast.ts); the select string reuses the PostgREST grammar. Failures are GatewayParseError with status 400 and
 * an Athena code (`invalid_structured_select_request` for fetch, `invalid_request` elsewhere): the structured
 * routes answer Athena's envelope. Bodies arrive as `unknown` (already JSON-parsed), so every field is checked
 * here; unknown fields are ignored, except the AST shapes the notes name as refused.
 */

/** The fetch error code the contract documents. */
export const invalidSelectCode = 'invalid_structured_select_request';
/** Every other structured-route parse failure. */
export const invalidRequestCode = 'invalid_request';

type Body = Record<string, unknown>;

/** Athena's post-processing options (notes §3.1), passed through to the executor. */
export interface PostProcessing {
  groupBy?: string;
  timeGranularity?: 'day' | 'hour' | 'minute';
  aggregationColumn?: string;
  aggregationStrategy?: 'cumulative_sum';
  aggregationDedup?: boolean;
}

/** A parsed `/gateway/fetch`, `/gateway/data` or `GET /data` request. */
export interface FetchRequest {
  query: ReadQuery;
  stripNulls: boolean;
  postProcessing?: PostProcessing;
}

function invalid(message: string, code: string = invalidRequestCode, details?: string): GatewayParseError {
  return new GatewayParseError({ code, message, details: details ?? null });
}

function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(body: Body, key: string): boolean {
  return Object.hasOwn(body, key) && body[key] !== undefined;
}

/** A copy of a JSON object whose keys are all own data properties (a `__proto__` key stays a key). */
function ownCopy(obj: Body): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj));
}

function requireObjectBody(body: unknown): Body {
  if (!isObject(body)) throw invalid('the request body must be a JSON object');
  return body;
}

// ---------------------------------------------------------------------------------------------------------------
// Names

const unquotedIdentifier = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const maxIdentifierBytes = 63;

/**
 * `name`, `schema.name`, or quoted parts (`"my table"`, `""` for a quote), each at most 63 bytes (notes §3.0).
 * The catalog check happens in the compiler; this refuses what can never be a name.
 */
function parseQualifiedName(raw: string, what: string, code: string): string[] {
  const parts: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw invalid(`invalid ${what} "${raw.slice(0, 128)}": ${why}`, code);
  };
  for (;;) {
    let part: string;
    if (raw[i] === '"') {
      part = '';
      i++;
      for (;;) {
        if (i >= raw.length) fail('unterminated quoted identifier');
        if (raw[i] === '"') {
          if (raw[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += raw[i];
        i++;
      }
      if (part === '' || part.includes('\u0000')) fail('empty or NUL in quoted identifier');
    } else {
      const end = raw.indexOf('.', i);
      part = raw.slice(i, end < 0 ? raw.length : end);
      i = end < 0 ? raw.length : end;
      if (!unquotedIdentifier.test(part)) fail('expected an identifier [A-Za-z_][A-Za-z0-9_$]*');
    }
    if (Buffer.byteLength(part, 'utf8') > maxIdentifierBytes) fail(`longer than ${maxIdentifierBytes} bytes`);
    parts.push(part);
    if (i >= raw.length) break;
    if (raw[i] !== '.') fail('expected "." between name parts');
    i++;
  }
  if (parts.length > 2) fail('at most schema.name');
  return parts;
}

function parseColumnName(raw: unknown, what: string, code: string): string {
  if (typeof raw !== 'string') throw invalid(`${what} must be a string`, code);
  const parts = parseQualifiedName(raw, what, code);
  if (parts.length !== 1) throw invalid(`${what} "${raw.slice(0, 128)}" must be a single column name`, code);
  return parts[0] as string;
}

/** `view_name ?? table_name`, optionally schema-qualified, against `schema_name` (notes §3.0). */
function resolveTarget(body: Body, code: string, defaultSchema: string): { schema: string; table: string } {
  const raw = has(body, 'view_name') ? body.view_name : body.table_name;
  if (typeof raw !== 'string' || raw === '') throw invalid('table_name (or view_name) is required', code);
  const parts = parseQualifiedName(raw, 'table_name', code);
  let schemaName: string | undefined;
  if (has(body, 'schema_name')) {
    if (typeof body.schema_name !== 'string' || body.schema_name === '') {
      throw invalid('schema_name must be a non-empty string', code);
    }
    const schemaParts = parseQualifiedName(body.schema_name, 'schema_name', code);
    if (schemaParts.length !== 1) throw invalid('schema_name must be a single name', code);
    schemaName = schemaParts[0];
  }
  if (parts.length === 2) {
    if (schemaName !== undefined) {
      throw invalid('When provided, `table_name` must not already be schema-qualified', code);
    }
    return { schema: parts[0] as string, table: parts[1] as string };
  }
  return { schema: schemaName ?? defaultSchema, table: parts[0] as string };
}

// ---------------------------------------------------------------------------------------------------------------
// Values, casts, operators

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function noNul(v: Scalar, code: string): Scalar {
  if (typeof v === 'string' && v.includes('\u0000')) throw invalid('values must not contain NUL characters', code);
  return v;
}

const castSet: ReadonlySet<string> = new Set(allowedCasts);

function parseCastName(raw: unknown, what: string, code: string): Cast | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw invalid(`${what} must be a string`, code);
  const cast = raw.trim().toLowerCase().replace(/\s+/g, ' ');
  if (!castSet.has(cast)) throw invalid(`${what} "${raw.slice(0, 64)}" is not an allowed cast`, code);
  return cast as Cast;
}

/** The structured operator map (notes §3.0): PostgREST names plus the `i_like` alias. */
const structuredOperators: Record<string, FilterOperator> = {
  eq: 'eq',
  neq: 'neq',
  gt: 'gt',
  gte: 'gte',
  lt: 'lt',
  lte: 'lte',
  like: 'like',
  ilike: 'ilike',
  i_like: 'ilike',
  is: 'is',
  in: 'in',
};

/**
 * One structured comparison. `eq null` is `IS NULL` and `neq null` is `IS NOT NULL` (SQL's `= NULL` is never
 * true, and the notes give `where {col: null}` that meaning); `in` takes an array of scalars; `is` one of
 * null/true/false/unknown.
 */
function structuredCondition(
  column: string,
  rawOperator: unknown,
  value: unknown,
  code: string,
  casts: { columnCast?: Cast; valueCast?: Cast } = {},
): FilterCondition {
  if (typeof rawOperator !== 'string' || !Object.hasOwn(structuredOperators, rawOperator.toLowerCase())) {
    throw invalid(`unsupported operator "${String(rawOperator).slice(0, 32)}"`, code);
  }
  let operator = structuredOperators[rawOperator.toLowerCase()] as FilterOperator;
  let out: Scalar | Scalar[];
  if (operator === 'in') {
    if (!Array.isArray(value) || !value.every(isScalar)) {
      throw invalid(`operator "in" on "${column}" takes an array of scalar values`, code);
    }
    out = value.map((v) => noNul(v, code));
  } else if (operator === 'is') {
    const word = value === null ? 'null' : typeof value === 'boolean' ? String(value) : value;
    if (typeof word !== 'string' || !['null', 'true', 'false', 'unknown'].includes(word.toLowerCase())) {
      throw invalid(`operator "is" on "${column}" takes null, true, false or unknown`, code);
    }
    out = word.toLowerCase();
  } else if (value === null && (operator === 'eq' || operator === 'neq')) {
    out = operator === 'eq' ? 'null' : 'not_null';
    operator = 'is';
  } else {
    if (!isScalar(value) || value === null) {
      throw invalid(`operator "${rawOperator}" on "${column}" takes a scalar value`, code);
    }
    out = noNul(value, code);
  }
  const cond: FilterCondition = { kind: 'condition', column: { column }, operator, value: out };
  if (casts.columnCast) cond.columnCast = casts.columnCast;
  if (casts.valueCast) cond.valueCast = casts.valueCast;
  return cond;
}

/** Legacy `conditions: [{eq_column, eq_value}]`. */
function parseConditions(raw: unknown, code: string): FilterCondition[] {
  if (!Array.isArray(raw)) throw invalid('conditions must be an array', code);
  return raw.map((c, i) => {
    if (!isObject(c)) throw invalid(`conditions[${i}] must be an object`, code);
    const column = parseColumnName(c.eq_column, `conditions[${i}].eq_column`, code);
    const value = c.eq_value;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw invalid(`conditions[${i}].eq_value must be a string`, code);
    }
    return { kind: 'condition', column: { column }, operator: 'eq', value: noNul(value, code) };
  });
}

/** `where_filters: [{column, operator, value | values, column_cast, value_cast}]`. */
function parseWhereFilters(raw: unknown, code: string): FilterCondition[] {
  if (!Array.isArray(raw)) throw invalid('where_filters must be an array', code);
  return raw.map((f, i) => {
    if (!isObject(f)) throw invalid(`where_filters[${i}] must be an object`, code);
    const column = parseColumnName(f.column, `where_filters[${i}].column`, code);
    const casts = {
      columnCast: parseCastName(f.column_cast, `where_filters[${i}].column_cast`, code),
      valueCast: parseCastName(f.value_cast, `where_filters[${i}].value_cast`, code),
    };
    const operator = typeof f.operator === 'string' ? f.operator.toLowerCase() : f.operator;
    if (operator !== 'in' && has(f, 'values')) {
      throw invalid(`where_filters[${i}].values is only for operator "in"`, code);
    }
    const value = operator === 'in' ? (has(f, 'values') ? f.values : f.value) : has(f, 'value') ? f.value : null;
    return structuredCondition(column, operator, value, code, casts);
  });
}

const whereOperators = ['eq', 'neq', 'gt', 'lt', 'in'];

/**
 * `where` (shape unspecified; notes decision): `{col: scalar}` is eq, `{col: null}` IS NULL, `{col: {op: v, …}}`
 * with op in eq/neq/gt/lt/in; anything else is refused so the language stays closed.
 */
function parseWhere(raw: unknown, code: string): FilterCondition[] {
  if (!isObject(raw)) throw invalid('where must be an object', code);
  const out: FilterCondition[] = [];
  for (const [key, v] of Object.entries(raw)) {
    const column = parseColumnName(key, 'where column', code);
    if (isScalar(v)) {
      out.push(structuredCondition(column, 'eq', v, code));
    } else if (isObject(v)) {
      const entries = Object.entries(v);
      if (entries.length === 0) throw invalid(`where.${column} must name an operator`, code);
      for (const [op, value] of entries) {
        if (!whereOperators.includes(op)) {
          throw invalid(`where.${column}: unsupported operator "${op.slice(0, 32)}" (eq, neq, gt, lt, in)`, code);
        }
        out.push(structuredCondition(column, op, value, code));
      }
    } else {
      throw invalid(`where.${column} must be a scalar, null or an operator object`, code);
    }
  }
  return out;
}

function andOf(filters: Filter[]): FilterGroup | undefined {
  return filters.length > 0 ? { kind: 'and', filters } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Order and pagination

function parseDirection(raw: unknown, what: string, code: string): 'asc' | 'desc' {
  if (raw === undefined || raw === null) return 'asc';
  const d = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (d === 'asc' || d === 'ascending') return 'asc';
  if (d === 'desc' || d === 'descending') return 'desc';
  throw invalid(`${what} must be asc, desc, ascending or descending`, code);
}

function parseNulls(raw: unknown, what: string, code: string): 'first' | 'last' | undefined {
  if (raw === undefined || raw === null) return undefined;
  const n = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (n === 'first' || n === 'nullsfirst') return 'first';
  if (n === 'last' || n === 'nullslast') return 'last';
  throw invalid(`${what} must be first or last`, code);
}

/** `orderBy: {col: dir, …}` or `[{column, direction, nulls?}]`. */
function parseOrderBy(raw: unknown, code: string): OrderTerm[] {
  if (Array.isArray(raw)) {
    return raw.map((t, i) => {
      if (!isObject(t)) throw invalid(`orderBy[${i}] must be an object`, code);
      const column = parseColumnName(t.column ?? t.field, `orderBy[${i}].column`, code);
      const term: OrderTerm = { column: { column }, direction: parseDirection(t.direction, 'orderBy direction', code) };
      const nulls = parseNulls(t.nulls, 'orderBy nulls', code);
      if (nulls) term.nulls = nulls;
      return term;
    });
  }
  if (isObject(raw)) {
    return Object.entries(raw).map(([key, dir]) => ({
      column: { column: parseColumnName(key, 'orderBy column', code) },
      direction: parseDirection(dir, `orderBy.${key}`, code),
    }));
  }
  throw invalid('orderBy must be an object or an array', code);
}

/** `sortBy` / `sort_by: {field, direction}` (direction defaults to asc). */
function parseSortBy(raw: unknown, name: string, code: string): OrderTerm[] {
  if (!isObject(raw)) throw invalid(`${name} must be an object`, code);
  const column = parseColumnName(raw.field, `${name}.field`, code);
  return [{ column: { column }, direction: parseDirection(raw.direction, `${name}.direction`, code) }];
}

/** orderBy > sortBy > sort_by; when several are given they must agree (notes decision: a conflict is a 400). */
function parseOrdering(body: Body, code: string): OrderTerm[] | undefined {
  const candidates: [string, OrderTerm[]][] = [];
  if (has(body, 'orderBy')) candidates.push(['orderBy', parseOrderBy(body.orderBy, code)]);
  if (has(body, 'sortBy')) candidates.push(['sortBy', parseSortBy(body.sortBy, 'sortBy', code)]);
  if (has(body, 'sort_by')) candidates.push(['sort_by', parseSortBy(body.sort_by, 'sort_by', code)]);
  const first = candidates[0];
  if (!first) return undefined;
  for (const [name, terms] of candidates.slice(1)) {
    if (JSON.stringify(terms) !== JSON.stringify(first[1])) {
      throw invalid(`${first[0]} and ${name} give different orders; send one`, code);
    }
  }
  return first[1].length > 0 ? first[1] : undefined;
}

function nonNegativeInteger(raw: unknown, what: string, code: string, min = 0): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < min) {
    throw invalid(`${what} must be an integer ≥ ${min}`, code);
  }
  return raw;
}

/**
 * `limit`/`offset`, or `current_page` (1-based) with `page_size` (or `limit` as the page size). An explicit
 * `offset` or `limit` that disagrees with the page is a 400; `total_pages` is ignored on input (notes §3.0).
 */
function parsePagination(body: Body, code: string): { limit?: number; offset?: number } {
  const limit = has(body, 'limit') ? nonNegativeInteger(body.limit, 'limit', code) : undefined;
  const offset = has(body, 'offset') ? nonNegativeInteger(body.offset, 'offset', code) : undefined;
  const pageSize = has(body, 'page_size') ? nonNegativeInteger(body.page_size, 'page_size', code, 1) : undefined;
  const page = has(body, 'current_page') ? nonNegativeInteger(body.current_page, 'current_page', code, 1) : undefined;
  if (pageSize !== undefined && limit !== undefined && pageSize !== limit) {
    throw invalid('limit and page_size disagree; send one', code);
  }
  const size = pageSize ?? limit;
  const out: { limit?: number; offset?: number } = {};
  if (size !== undefined) out.limit = size;
  if (page !== undefined) {
    if (size === undefined) throw invalid('current_page needs page_size', code);
    const pageOffset = (page - 1) * size;
    if (!Number.isSafeInteger(pageOffset)) throw invalid('current_page is too large', code);
    if (offset !== undefined && offset !== pageOffset) throw invalid('offset and current_page disagree', code);
    out.offset = pageOffset;
  } else if (offset !== undefined) {
    out.offset = offset;
  }
  return out;
}

function parseBoolean(raw: unknown, what: string, code: string): boolean {
  if (typeof raw !== 'boolean') throw invalid(`${what} must be a boolean`, code);
  return raw;
}

function parsePostProcessing(body: Body, code: string): PostProcessing | undefined {
  const pp: PostProcessing = {};
  if (has(body, 'group_by')) pp.groupBy = parseColumnName(body.group_by, 'group_by', code);
  if (has(body, 'time_granularity')) {
    const g = body.time_granularity;
    if (g !== 'day' && g !== 'hour' && g !== 'minute')
      throw invalid('time_granularity must be day, hour or minute', code);
    if (pp.groupBy === undefined) throw invalid('time_granularity needs group_by', code);
    pp.timeGranularity = g;
  }
  if (has(body, 'aggregation_column')) {
    pp.aggregationColumn = parseColumnName(body.aggregation_column, 'aggregation_column', code);
  }
  if (has(body, 'aggregation_strategy')) {
    if (body.aggregation_strategy !== 'cumulative_sum')
      throw invalid('aggregation_strategy must be cumulative_sum', code);
    if (pp.aggregationColumn === undefined) throw invalid('aggregation_strategy needs aggregation_column', code);
    pp.aggregationStrategy = 'cumulative_sum';
  }
  if (has(body, 'aggregation_dedup'))
    pp.aggregationDedup = parseBoolean(body.aggregation_dedup, 'aggregation_dedup', code);
  return Object.keys(pp).length > 0 ? pp : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Projection

/** Legacy `columns`: an array of names or a comma string (parsed, with quotes, never split naively); `*` is all. */
function parseLegacyColumns(raw: unknown, code: string): SelectItem[] {
  let names: string[];
  if (typeof raw === 'string') {
    if (raw.trim() === '*' || raw.trim() === '') return [{ kind: 'star' }];
    let parsed: string[];
    try {
      parsed = parseColumnList(raw, 'columns parameter');
    } catch (e) {
      throw e instanceof GatewayParseError ? e.withCode(code) : e;
    }
    // The list grammar has already unquoted the names; check them as names, not as quoted syntax.
    return parsed.map((n): SelectItem => {
      if (n === '*') return { kind: 'star' };
      if (n.includes('\u0000') || Buffer.byteLength(n, 'utf8') > maxIdentifierBytes) {
        throw invalid(`invalid column name "${n.slice(0, 64)}"`, code);
      }
      return { kind: 'column', column: { column: n } };
    });
  } else if (Array.isArray(raw)) {
    names = raw.map((n, i) => {
      if (typeof n !== 'string') throw invalid(`columns[${i}] must be a string`, code);
      return n;
    });
  } else {
    throw invalid('columns must be an array of names or a comma-separated string', code);
  }
  if (names.length === 0) return [{ kind: 'star' }];
  return names.map((n, i): SelectItem => {
    if (n.trim() === '*') return { kind: 'star' };
    return { kind: 'column', column: { column: parseColumnName(n.trim(), `columns[${i}]`, code) } };
  });
}

function isWildcardColumns(raw: unknown): boolean {
  if (raw === undefined) return true;
  if (typeof raw === 'string') return raw.trim() === '*' || raw.trim() === '';
  return Array.isArray(raw) && (raw.length === 0 || (raw.length === 1 && raw[0] === '*'));
}

const relationKeys = new Set(['table', 'columns', 'foreign_key', 'via', 'relations']);

/** The canonical object select: `{columns, relations: {alias: {table, columns, foreign_key, via, relations}}}`. */
function parseCanonicalSelect(raw: Body, depth: number, code: string): SelectItem[] {
  if (depth > maxNesting) throw invalid(`select relations nest deeper than ${maxNesting} levels`, code);
  for (const key of Object.keys(raw)) {
    if (key !== 'columns' && key !== 'relations') throw invalid(`select: unsupported key "${key.slice(0, 64)}"`, code);
  }
  const items: SelectItem[] = has(raw, 'columns') ? parseLegacyColumns(raw.columns, code) : [];
  if (has(raw, 'relations')) {
    if (!isObject(raw.relations)) throw invalid('select.relations must be an object', code);
    for (const [alias, spec] of Object.entries(raw.relations)) {
      if (!isObject(spec)) throw invalid(`select.relations.${alias.slice(0, 64)} must be an object`, code);
      for (const key of Object.keys(spec)) {
        if (!relationKeys.has(key)) {
          throw invalid(`select.relations.${alias.slice(0, 64)}: unsupported key "${key.slice(0, 64)}"`, code);
        }
      }
      const aliasName = parseColumnName(alias, 'relation alias', code);
      const tableRaw = spec.table ?? alias;
      if (typeof tableRaw !== 'string') throw invalid(`select.relations.${aliasName}.table must be a string`, code);
      const parts = parseQualifiedName(tableRaw, 'relation table', code);
      const embed: SelectEmbed = {
        kind: 'embed',
        relation: parts[parts.length - 1] as string,
        alias: aliasName,
        select: [],
      };
      if (parts.length === 2) embed.schema = parts[0] as string;
      if (has(spec, 'foreign_key')) embed.hint = parseColumnName(spec.foreign_key, 'foreign_key', code);
      if (has(spec, 'via')) {
        if (embed.schema !== undefined) {
          throw invalid('schema-qualified relation selectors cannot be combined with via', code);
        }
        if (typeof spec.via !== 'string') throw invalid('via must name a table', code);
        const viaParts = parseQualifiedName(spec.via, 'via', code);
        if (viaParts.length !== 1) throw invalid('via must name a table (unqualified)', code);
        embed.via = viaParts[0] as string;
      }
      const nested: Body = {};
      if (has(spec, 'columns')) nested.columns = spec.columns;
      if (has(spec, 'relations')) nested.relations = spec.relations;
      embed.select = parseCanonicalSelect(nested, depth + 1, code);
      if (embed.select.length === 0) embed.select = [{ kind: 'star' }];
      items.push(embed);
    }
  }
  return items.length > 0 ? items : [{ kind: 'star' }];
}

function parseSelectString(raw: string, code: string): SelectItem[] {
  try {
    return parseSelect(raw);
  } catch (e) {
    throw e instanceof GatewayParseError ? e.withCode(code) : e;
  }
}

function parseProjection(body: Body, code: string): SelectItem[] {
  if (has(body, 'select')) {
    if (!isWildcardColumns(body.columns)) throw invalid('send either select or columns, not both', code);
    if (typeof body.select === 'string') return parseSelectString(body.select, code);
    if (isObject(body.select)) return parseCanonicalSelect(body.select, 0, code);
    throw invalid('select must be a string or an object', code);
  }
  return has(body, 'columns') ? parseLegacyColumns(body.columns, code) : [{ kind: 'star' }];
}

// ---------------------------------------------------------------------------------------------------------------
// Fetch

/** Options shared by the structured parsers. */
export interface StructuredParseOptions {
  /** Schema of an unqualified table without `schema_name` (the search_path's first schema). */
  defaultSchema?: string;
}

const astBodyKeys = ['operation', 'from', 'fields'];

/** `POST /gateway/fetch` (notes §3.1). */
export function parseFetchBody(body: unknown, options: StructuredParseOptions = {}): FetchRequest {
  const code = invalidSelectCode;
  const b = requireObjectBody(body);
  for (const key of astBodyKeys) {
    if (has(b, key))
      throw invalid(`top-level AST bodies ("${key}") are not supported; use table_name and select`, code);
  }
  const { schema, table } = resolveTarget(b, code, options.defaultSchema ?? 'public');
  const filters: Filter[] = [];
  if (has(b, 'conditions')) filters.push(...parseConditions(b.conditions, code));
  if (has(b, 'where_filters')) filters.push(...parseWhereFilters(b.where_filters, code));
  if (has(b, 'where')) filters.push(...parseWhere(b.where, code));
  const query: ReadQuery = { schema, table, select: parseProjection(b, code) };
  const filter = andOf(filters);
  if (filter) query.filter = filter;
  const order = parseOrdering(b, code);
  if (order) query.order = order;
  Object.assign(query, parsePagination(b, code));
  const result: FetchRequest = {
    query,
    stripNulls: has(b, 'strip_nulls') ? parseBoolean(b.strip_nulls, 'strip_nulls', code) : false,
  };
  const pp = parsePostProcessing(b, code);
  if (pp) result.postProcessing = pp;
  return result;
}

const fetchOnlyKeys = ['select', 'where', 'where_filters', 'orderBy'];

/** `POST /gateway/data`: the legacy subset of fetch; `conditions` is required. */
export function parseDataBody(body: unknown, options: StructuredParseOptions = {}): FetchRequest {
  const b = requireObjectBody(body);
  for (const key of fetchOnlyKeys) {
    if (has(b, key)) throw invalid(`/gateway/data does not take "${key}"; use /gateway/fetch`, invalidRequestCode);
  }
  if (!has(b, 'conditions')) throw invalid('conditions is required', invalidRequestCode);
  try {
    return parseFetchBody(b, options);
  } catch (e) {
    throw e instanceof GatewayParseError && e.code === invalidSelectCode ? e.withCode(invalidRequestCode) : e;
  }
}

/** Query parameters as a router hands them over. */
export type QueryParams = URLSearchParams | Record<string, string | string[] | undefined>;

function queryGetter(params: QueryParams): (name: string) => string | undefined {
  return (name) => {
    const values =
      params instanceof URLSearchParams
        ? params.getAll(name)
        : ((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))(
            Object.hasOwn(params, name) ? params[name] : undefined,
          );
    if (values.length > 1) throw invalid(`query parameter ${name} is repeated`);
    return values[0];
  };
}

function queryInteger(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v.trim())) throw invalid(`${name} must be a non-negative integer`);
  return Number(v.trim());
}

function queryBoolean(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw invalid(`${name} must be true or false`);
}

/** `GET /data` (notes §3.2): `view`, `eq_column`, `eq_value` required; the rest maps onto a fetch body. */
export function parseGetDataQuery(params: QueryParams, options: StructuredParseOptions = {}): FetchRequest {
  const get = queryGetter(params);
  const view = get('view');
  const eqColumn = get('eq_column');
  const eqValue = get('eq_value');
  if (!view) throw invalid('view is required');
  if (!eqColumn) throw invalid('eq_column is required');
  if (eqValue === undefined) throw invalid('eq_value is required');
  const body: Body = { view_name: view, conditions: [{ eq_column: eqColumn, eq_value: eqValue }] };
  const columns = get('columns');
  if (columns !== undefined) body.columns = columns;
  for (const name of ['limit', 'current_page', 'page_size', 'offset']) {
    const n = queryInteger(get(name), name);
    if (n !== undefined) body[name] = n;
  }
  queryInteger(get('total_pages'), 'total_pages');
  for (const name of ['strip_nulls', 'aggregation_dedup']) {
    const v = queryBoolean(get(name), name);
    if (v !== undefined) body[name] = v;
  }
  const sortField = get('sort_by');
  const sortDirection = get('sort_direction');
  if (sortField !== undefined) body.sortBy = { field: sortField, direction: sortDirection ?? 'asc' };
  else if (sortDirection !== undefined) throw invalid('sort_direction needs sort_by');
  for (const name of ['group_by', 'time_granularity', 'aggregation_column', 'aggregation_strategy']) {
    const v = get(name);
    if (v !== undefined) body[name] = v;
  }
  try {
    return parseFetchBody(body, options);
  } catch (e) {
    throw e instanceof GatewayParseError && e.code === invalidSelectCode ? e.withCode(invalidRequestCode) : e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writes

function parseRowObject(raw: unknown, what: string, code: string, allowEmpty: boolean): Record<string, unknown> {
  if (!isObject(raw)) throw invalid(`${what} must be a JSON object`, code);
  const row = ownCopy(raw);
  const keys = Object.keys(row);
  if (!allowEmpty && keys.length === 0) throw invalid(`${what} must not be empty`, code);
  for (const key of keys) parseColumnName(key, `${what} column`, code);
  return row;
}

/** `POST /gateway/update` (notes §3.3): conditions and update_body required; columns limit RETURNING. */
export function parseUpdateBody(body: unknown, options: StructuredParseOptions = {}): UpdateCommand {
  const code = invalidRequestCode;
  const b = requireObjectBody(body);
  const { schema, table } = resolveTarget(b, code, options.defaultSchema ?? 'public');
  const conditions = has(b, 'conditions') ? parseConditions(b.conditions, code) : [];
  if (conditions.length === 0) throw invalid('conditions is required and must not be empty (no full-table updates)');
  if (!has(b, 'update_body')) throw invalid('update_body is required');
  const set = parseRowObject(b.update_body, 'update_body', code, false);
  return {
    schema,
    table,
    set,
    filter: { kind: 'and', filters: conditions },
    returning: has(b, 'columns') ? parseLegacyColumns(b.columns, code) : [{ kind: 'star' }],
  };
}

/** `PUT /gateway/insert` (notes §3.4): insert_body required; update_body makes it an upsert on the primary key. */
export function parseInsertBody(body: unknown, options: StructuredParseOptions = {}): InsertCommand {
  const code = invalidRequestCode;
  const b = requireObjectBody(body);
  const { schema, table } = resolveTarget(b, code, options.defaultSchema ?? 'public');
  if (!has(b, 'insert_body')) throw invalid('insert_body is required');
  const row = parseRowObject(b.insert_body, 'insert_body', code, true);
  const command: InsertCommand = { schema, table, rows: [row], missing: 'default', returning: [{ kind: 'star' }] };
  if (has(b, 'update_body')) {
    command.onConflict = { action: 'merge', set: parseRowObject(b.update_body, 'update_body', code, false) };
  }
  return command;
}

/** `DELETE /gateway/delete` (notes §3.5): table_name and resource_id; the compiler finds the primary key. */
export function parseDeleteBody(body: unknown, options: StructuredParseOptions = {}): DeleteCommand {
  const code = invalidRequestCode;
  const b = requireObjectBody(body);
  if (!has(b, 'table_name')) throw invalid('table_name is required');
  const { schema, table } = resolveTarget({ ...b, view_name: undefined }, code, options.defaultSchema ?? 'public');
  const id = b.resource_id;
  if (!((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
    throw invalid('resource_id is required (a string)');
  }
  const resourceId = String(id);
  if (resourceId.includes('\u0000')) throw invalid('values must not contain NUL characters');
  return { schema, table, byPrimaryKey: resourceId, returning: [{ kind: 'star' }] };
}

// ---------------------------------------------------------------------------------------------------------------
// RPC

const wrapperKeys = new Set([
  'function',
  'function_name',
  'schema',
  'args',
  'select',
  'filters',
  'count',
  'limit',
  'offset',
  'order',
]);

/** A function name, `fn` or `schema.fn`, against an explicit `schema` (which may only repeat it or be public). */
function resolveFunction(name: string, schemaRaw: unknown): { schema: string; fn: string } {
  const parts = parseQualifiedName(name, 'function', invalidRequestCode);
  let schema: string | undefined;
  if (schemaRaw !== undefined) {
    if (typeof schemaRaw !== 'string' || schemaRaw === '') throw invalid('schema must be a non-empty string');
    const s = parseQualifiedName(schemaRaw, 'schema', invalidRequestCode);
    if (s.length !== 1) throw invalid('schema must be a single name');
    schema = s[0];
  }
  if (parts.length === 2) {
    const qualified = parts[0] as string;
    if (schema !== undefined && schema !== 'public' && schema !== qualified) {
      throw invalid(`function "${name}" is qualified with a schema other than "${schema}"`);
    }
    return { schema: qualified, fn: parts[1] as string };
  }
  return { schema: schema ?? 'public', fn: parts[0] as string };
}

function parseRpcOrder(raw: unknown): OrderTerm[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((o, i) => {
    if (!isObject(o)) throw invalid(`order[${i}] must be an object {column, ascending}`);
    const column = parseColumnName(o.column, 'order.column', invalidRequestCode);
    if (o.ascending !== undefined && typeof o.ascending !== 'boolean')
      throw invalid('order.ascending must be a boolean');
    return { column: { column }, direction: o.ascending === false ? 'desc' : 'asc' };
  });
}

/**
 * `POST /gateway/rpc` (a GatewayRpcRequest) and `POST /rpc/{fn}` (with `pathFn`: a wrapper when at least one key
 * is a wrapper key and every key is; otherwise the body is the bare argument object). The path name wins over a
 * `function` in the body.
 */
export function parseRpcBody(body: unknown, pathFn?: string): RpcCall {
  const b = requireObjectBody(body);
  const keys = Object.keys(b);
  const isWrapper = pathFn === undefined || (keys.length > 0 && keys.every((k) => wrapperKeys.has(k)));
  if (!isWrapper) {
    const { schema, fn } = resolveFunction(pathFn as string, undefined);
    return { schema, fn, args: ownCopy(b), readOnly: false };
  }
  if (has(b, 'function') && has(b, 'function_name') && b.function !== b.function_name) {
    throw invalid('function and function_name disagree');
  }
  const name = pathFn ?? b.function ?? b.function_name;
  if (typeof name !== 'string' || name === '') throw invalid('function is required');
  const { schema, fn } = resolveFunction(name, has(b, 'schema') ? b.schema : undefined);
  let args: Record<string, unknown> = {};
  if (has(b, 'args')) {
    if (!isObject(b.args)) throw invalid('args must be an object');
    args = ownCopy(b.args);
  }
  const call: RpcCall = { schema, fn, args, readOnly: false };
  if (has(b, 'select')) {
    if (typeof b.select !== 'string') throw invalid('select must be a comma-separated string');
    call.select = parseSelectString(b.select, invalidRequestCode);
  }
  if (has(b, 'filters')) {
    if (!Array.isArray(b.filters)) throw invalid('filters must be an array');
    const filters = b.filters.map((f, i) => {
      if (!isObject(f)) throw invalid(`filters[${i}] must be an object`);
      const column = parseColumnName(f.column, `filters[${i}].column`, invalidRequestCode);
      return structuredCondition(column, f.operator, has(f, 'value') ? f.value : null, invalidRequestCode);
    });
    const filter = andOf(filters);
    if (filter) call.filter = filter;
  }
  if (has(b, 'count')) {
    if (b.count !== 'exact') throw invalid('count must be "exact"');
    call.count = 'exact';
  }
  Object.assign(call, parsePagination({ limit: b.limit, offset: b.offset }, invalidRequestCode));
  if (has(b, 'order')) call.order = parseRpcOrder(b.order);
  return call;
}

/**
 * `GET /rpc/{fn}` (notes §3.8): `schema`, `select`, `count`, `limit`, `offset`, `order` are reserved; a key that is
 * a declared input argument of the function (`isArgument(name, schema)`) is an argument even when its value looks
 * like `op.x`; every other key must parse as a filter (`col=op.value`, arrays `{a,b}`), else 400.
 */
export function parseRpcGetQuery(
  raw: string,
  isArgument: (name: string, schema: string) => boolean,
  fn: string,
): RpcCall {
  try {
    const pairs = splitQueryString(raw);
    const single = (name: string): string | undefined => {
      const values = pairs.filter((p) => p.key === name && p.value !== undefined);
      if (values.length > 1) throw invalid(`query parameter ${name} is repeated`);
      return values[0]?.value;
    };
    const target = resolveFunction(fn, single('schema'));
    const count = single('count');
    if (count !== undefined && count !== 'exact') throw invalid('count must be "exact"');
    const q = parseQueryPairs(pairs, 'rpc', {
      isArgument: (name) => isArgument(name, target.schema),
      reservedKeys: ['schema', 'count'],
    });
    const call: RpcCall = { schema: target.schema, fn: target.fn, args: q.rpcArgs, readOnly: true };
    if (q.select) call.select = q.select;
    if (q.filter) call.filter = q.filter;
    if (q.order) call.order = q.order;
    if (q.limit !== undefined) call.limit = q.limit;
    if (q.offset !== undefined) call.offset = q.offset;
    if (count === 'exact') call.count = 'exact';
    return call;
  } catch (e) {
    throw e instanceof GatewayParseError && e.code !== invalidRequestCode ? e.withCode(invalidRequestCode) : e;
  }
}
