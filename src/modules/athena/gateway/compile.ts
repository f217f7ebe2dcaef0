import type {
  AggregateFunction,
  Cast,
  ColumnPath,
  CompiledStatement,
  DeleteCommand,
  Filter,
  FilterCondition,
  InsertCommand,
  OrderTerm,
  ReadQuery,
  Returning,
  RpcCall,
  Scalar,
  SelectEmbed,
  SelectItem,
  TableRef,
  UpdateCommand,
} from './ast.ts';
import { allowedCasts, filterOperators, quantifiableOperators } from './ast.ts';
import type { Catalog, CatalogForeignKey, CatalogFunction, CatalogRelation } from './catalog-types.ts';
import { GatewayError, type RelationshipCandidate, requestError } from './errors.ts';

/*
 * The gateway compiler: pure functions from (Catalog, AST) to one parameterised statement. Every door (REST
 * `/gateway/*`, `/rest/v1`, `/rpc`, GraphQL) parses into the AST of ast.ts and runs what these return. Nothing
 * here touches a database; failures are GatewayError (errors.ts) with PostgREST 12's code, status and text.
 *
 * API
 * - `compileRead(catalog, query, {maxRows, maxDepth?})`   SELECT with embedding, filters, order, page, count.
 * - `compileInsert / compileUpdate / compileDelete(catalog, command, {maxDepth?})`   writes with RETURNING.
 * - `compileRpc(catalog, call, {maxRows, maxDepth?})`      a function call; `.shape` says how to read `body`,
 *   `.fn` is the overload chosen (its volatility tells the door whether a read-only transaction fits).
 * - `resolveFunction(catalog, schema, name, args)`         the overload alone (PGRST202 / PGRST203).
 * - `compileCount(catalog, {schema, table, filter?})`      `SELECT count(*) AS count`.
 * - `compileReadPlan(catalog, query)` / `compileRpcPlan(catalog, call)` + `planRows(rows)`   PostgREST's planned
 *   count: `EXPLAIN (FORMAT JSON)` of the unpaged query and its top "Plan Rows". For `count: 'estimated'` run the
 *   plan first and, when the planned rows are at most the door's threshold (PostgREST: max-rows), compile with
 *   `count: 'exact'`; otherwise report the planned figure. `planned`/`estimated` add no `total` column themselves.
 * - `quoteIdent(name)`, `toPgArrayLiteral(values)`  the one identifier quoting helper; array literals for binding.
 *
 * Every read/write/rpc statement returns exactly ONE row:
 *   body        text: the JSON array of the result rows (PostgREST's `coalesce(json_agg(t), '[]')`; keys in select
 *               order, bigint/numeric as JSON numbers with every digit), or for an RPC `shape` 'scalar'/'row' the
 *               bare JSON value, or NULL (writes with `returning: null`, void RPC);
 *   page_total  int8: rows in this page (rows written, for writes);
 *   total       int8: only with `count: 'exact'`, every matching row ignoring limit/offset (after `!inner`).
 * int8 columns arrive as strings (pg) or numbers/bigints (PGlite): read them with Number().
 *
 * Embedding (PostgREST 12): a name resolves to a computed relationship (`fn(row)` returning rows of a relation),
 * else to every foreign-key relationship it can mean: the target table on either side of an FK, the FK's name,
 * the single FK column of the source, or a many-to-many through a junction whose two FKs' columns lie in one of
 * its keys. `!hint` keeps the candidates whose FK name, FK column, referenced column or junction matches; `via`
 * keeps junctions of that name. None: PGRST200; several: PGRST201 with the candidates in `details`. To-one
 * embeds are objects (or null), to-many arrays, each a LEFT JOIN LATERAL; `!inner` drops parents without a
 * match; `...rel` spreads a to-one's columns into the parent; `rel()` (no select items) only filters; a filter
 * on the embed's own name with `is.null` / `not.is.null` is an (anti-)join; order by a to-one's column is a
 * correlated subquery. Depth is bounded by `maxDepth`.
 *
 * Safety: identifiers are names found in the catalog, emitted through `quoteIdent`; caller aliases are quoted the
 * same way (and at most 63 bytes, so that Postgres never truncates them); SQL aliases of the compiler's own (t0,
 * j1, …) are generated and rows are referenced as `alias.*`, so a column named like an alias changes nothing;
 * every value is a bound parameter; operators, casts and aggregates come from closed lists. Values are bound as
 * text (or NULL) and typed by Postgres from their context; arrays are bound as Postgres array literals built here,
 * JSON as JSON text; written rows are bound as one JSON object per row and read back through
 * `json_populate_record(NULL::"s"."t", …)`, so arrays, jsonb, enums, ranges and nulls get the column's own type.
 *
 * Decisions where the notes are silent: `like`/`ilike` values take PostgREST's `*` as `%` for every door (the
 * parsers hand values over verbatim; `%` and `_` keep their SQL meaning). Beside aggregates, the plain columns, the
 * columns of a to-one spread and to-one embeds (by their JSON text) are the GROUP BY keys; to-many embeds and
 * `*` beside aggregates, and spreads of to-many relations (PGRST119), are refused with 400. A read-only RPC
 * call of a VOLATILE function is refused up front with 405 (code 25006, the status PostgREST answers when such a
 * call writes inside its read-only transaction).
 */

/**
 * Options of reads and RPC: `maxRows` is the top level's page size and caps every explicit limit (an embed
 * without a limit returns all its rows, as in PostgREST); `maxDepth` bounds embedding depth.
 */
export interface ReadOptions {
  maxRows: number;
  /** Default 8. */
  maxDepth?: number;
  /**
   * The page as one GeoJSON FeatureCollection (PostgREST's `application/geo+json`): each row a Feature through
   * PostGIS' `ST_AsGeoJSON(record)`, its geometry column the geometry and the other columns the properties.
   */
  geojson?: { postgisSchema: string };
}

/** How to read an RPC statement's `body`: PostgREST returns the bare value for scalar and single-row functions. */
export type RpcShape = 'void' | 'scalar' | 'scalar_set' | 'row' | 'rows';

export interface CompiledRpc extends CompiledStatement {
  shape: RpcShape;
  /** The overload chosen. */
  fn: CatalogFunction;
}

const defaultMaxDepth = 8;

/** Double-quotes an identifier, doubling `"`. The only way a name reaches SQL text. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\u0000')) throw requestError(`invalid identifier "${name}"`);
  // Postgres truncates longer names (silently renaming a caller's alias); catalog names never are that long.
  if (Buffer.byteLength(name, 'utf8') > 63) throw requestError(`identifier "${name}" is longer than 63 bytes`);
  return `"${name.replace(/"/g, '""')}"`;
}

function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

const comparison: Record<string, string> = {
  eq: '=',
  neq: '<>',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  like: 'LIKE',
  ilike: 'ILIKE',
  match: '~',
  imatch: '~*',
  cs: '@>',
  cd: '<@',
  ov: '&&',
  sl: '<<',
  sr: '>>',
  nxr: '&<',
  nxl: '&>',
  adj: '-|-',
};
const ftsFunctions: Record<string, string> = {
  fts: 'to_tsquery',
  plfts: 'plainto_tsquery',
  phfts: 'phraseto_tsquery',
  wfts: 'websearch_to_tsquery',
};
const isValues: Record<string, string> = {
  null: 'IS NULL',
  not_null: 'IS NOT NULL',
  true: 'IS TRUE',
  false: 'IS FALSE',
  unknown: 'IS UNKNOWN',
};
const aggregateFunctions: readonly AggregateFunction[] = ['count', 'sum', 'avg', 'min', 'max'];

function checkCast(cast: string): Cast {
  if (!(allowedCasts as readonly string[]).includes(cast)) {
    throw requestError(`cast "${cast}" is not allowed`, `allowed casts: ${allowedCasts.join(', ')}`);
  }
  return cast as Cast;
}

/** A Postgres array literal for any JSON-ish value list (nested arrays kept, objects as JSON text). */
export function toPgArrayLiteral(values: readonly unknown[]): string {
  const element = (v: unknown): string => {
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return toPgArrayLiteral(v);
    const text = typeof v === 'object' ? jsonText(v) : String(v);
    return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  };
  return `{${values.map(element).join(',')}}`;
}

function scalarText(v: Scalar): string | null {
  if (v === null) return null;
  // The AST's types are not a runtime guarantee: a door may hand over whatever JSON it parsed.
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    throw requestError('a filter value must be a string, number, boolean or null');
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw requestError(`invalid number ${v}`);
  return String(v);
}

/** PostgREST's `*` wildcard of like/ilike patterns is SQL's `%` (`%` itself stays valid). */
function likePatterns<T extends Scalar | Scalar[]>(op: string, value: T): T {
  if (op !== 'like' && op !== 'ilike') return value;
  const star = (v: Scalar): Scalar => (typeof v === 'string' ? v.replaceAll('*', '%') : v);
  return (Array.isArray(value) ? value.map(star) : star(value as Scalar)) as T;
}

function isJsonType(t: string): boolean {
  return t === 'json' || t === 'jsonb';
}

/** Collects bound values; `add` returns the placeholder. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

interface ColumnInfo {
  name: string;
  /** Base type name (`int4`, `tsvector`, `jsonb`) or, for function result columns, the formatted type. */
  typeName: string;
  isArray: boolean;
}

/** Rows the compiler reads from: a relation, a CTE of written rows, or a function's result. */
interface Source {
  alias: string;
  /** FROM item, e.g. `"public"."films" t0`. */
  from: string;
  schema: string;
  name: string;
  columns: Map<string, ColumnInfo>;
  /** Set when the rows are a relation's: embedding and computed fields need it. */
  relation?: CatalogRelation;
}

interface EmbedFilterTargets {
  bodies: Map<string, string>;
  used: boolean;
}

interface LevelSpec {
  select: SelectItem[];
  filter?: Filter | undefined;
  order?: OrderTerm[] | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

interface LevelSql {
  /** The paged SELECT. */
  sql: string;
  /** `SELECT 1 FROM … WHERE … [GROUP BY …]` without order or page, for counts and plans. */
  countCore: string;
  /** The output column names, in order (what a spread of this level puts into its parent). */
  names: string[];
}

type Cardinality = RelationshipCandidate['cardinality'];

interface Relationship {
  cardinality: Cardinality;
  toOne: boolean;
  target: CatalogRelation;
  /** m2o: source → target; o2m/o2o: target → source; m2m: unused (see junction). */
  fk: CatalogForeignKey;
  /** true when `fk` points from the source to the target. */
  forward: boolean;
  junction?: { relation: CatalogRelation; sourceFk: CatalogForeignKey; targetFk: CatalogForeignKey };
  /** A computed relationship: `fn(source_row)` returning the target's rows (`fk` then only names it). */
  computed?: CatalogFunction;
}

function columnMap(relation: CatalogRelation): Map<string, ColumnInfo> {
  return new Map(relation.columns.map((c) => [c.name, { name: c.name, typeName: c.typeName, isArray: c.isArray }]));
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c) => b.includes(c));
}

function isKey(relation: CatalogRelation, columns: readonly string[]): boolean {
  if (relation.primaryKey.length > 0 && sameColumns(relation.primaryKey, columns)) return true;
  return relation.uniques.some((u) => sameColumns(u.columns, columns));
}

function coveredByKey(relation: CatalogRelation, columns: readonly string[]): boolean {
  const keys = [relation.primaryKey, ...relation.uniques.map((u) => u.columns)].filter((k) => k.length > 0);
  return keys.some((k) => columns.every((c) => k.includes(c)));
}

/** PostgREST 12.2's PGRST205. */
function tableNotFound(schema: string, table: string): GatewayError {
  return new GatewayError(404, 'PGRST205', `Could not find the table '${schema}.${table}' in the schema cache`);
}

function lookupRelation(catalog: Catalog, schema: string, table: string): CatalogRelation {
  const relation = catalog.relations.get(`${schema}.${table}`);
  // The key joins two names with a dot: check both, so that "a.b"."c" never finds "a"."b.c".
  if (!relation || relation.schema !== schema || relation.name !== table) throw tableNotFound(schema, table);
  return relation;
}

function checkPage(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  // Safe integers only: pages are written into the statement as literals (below).
  if (!Number.isSafeInteger(value) || value < 0) throw requestError(`${what} must be a non-negative integer`);
  return value;
}

class Compiler {
  readonly params = new Params();
  #aliases = 0;

  readonly catalog: Catalog;
  readonly maxRows: number | null;
  readonly maxDepth: number;

  constructor(catalog: Catalog, maxRows: number | null, maxDepth: number) {
    this.catalog = catalog;
    this.maxRows = maxRows;
    this.maxDepth = maxDepth;
  }

  alias(prefix: string): string {
    return `${prefix}${this.#aliases++}`;
  }

  relationSource(relation: CatalogRelation, alias = this.alias('t')): Source {
    return {
      alias,
      from: `${qualified(relation.schema, relation.name)} ${alias}`,
      schema: relation.schema,
      name: relation.name,
      columns: columnMap(relation),
      relation,
    };
  }

  // ── columns ────────────────────────────────────────────────────────────────────────────────────────────────

  /** A computed field: `schema.name(row)` taking exactly the relation's row type as its one required input. */
  computedField(src: Source, name: string): CatalogFunction | null {
    const relation = src.relation;
    if (!relation) return null;
    const candidates = this.catalog.functions.get(`${relation.schema}.${name}`) ?? [];
    const found = candidates.filter((f) => {
      if (f.kind !== 'function' || f.returnsVoid) return false;
      const inputs = f.args.filter((a) => a.mode === 'in' || a.mode === 'inout' || a.mode === 'variadic');
      const required = inputs.filter((a) => !a.hasDefault);
      const first = inputs[0];
      return (
        required.length <= 1 && first?.relation?.schema === relation.schema && first?.relation?.name === relation.name
      );
    });
    return found.length === 1 ? (found[0] ?? null) : null;
  }

  /** `t0."col"` (or a computed field's call), then its JSON path with bound keys. */
  columnExpr(src: Source, path: ColumnPath): { sql: string; info: ColumnInfo | null } {
    let sql: string;
    let info: ColumnInfo | null = src.columns.get(path.column) ?? null;
    if (info) {
      sql = `${src.alias}.${quoteIdent(path.column)}`;
    } else {
      const fn = this.computedField(src, path.column);
      if (!fn) {
        throw new GatewayError(400, '42703', `column ${src.name}.${path.column} does not exist`);
      }
      // `alias.*` is the whole row even when the relation has a column named like the alias.
      const call = `${qualified(fn.schema, fn.name)}(${src.alias}.*)`;
      if (fn.returnsSet) {
        if (!fn.returnsScalar) throw requestError(`computed relationship "${path.column}" is not supported`);
        sql = `ARRAY(SELECT ${call})`;
      } else {
        sql = call;
      }
      info = { name: path.column, typeName: fn.returnType, isArray: fn.returnsSet };
    }
    if (path.json && path.json.length > 0) {
      for (const step of path.json) {
        const key =
          typeof step.key === 'number'
            ? `${this.params.add(String(step.key))}::int4`
            : `${this.params.add(step.key)}::text`;
        sql = `${sql}${step.text ? '->>' : '->'}${key}`;
      }
      info = null;
    }
    return { sql, info };
  }

  // ── filters ────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * `embedded` maps the embeds of the level (alias or name) to their JSON body column, for PostgREST's
   * `rel=is.null` / `rel=not.is.null` filters on an embedded resource; `used` records that one was used.
   */
  filter(src: Source, filter: Filter, embedded?: EmbedFilterTargets): string {
    if (filter.kind === 'and' || filter.kind === 'or') {
      const parts = filter.filters.map((f) => this.filter(src, f, embedded));
      const joined =
        parts.length === 0
          ? filter.kind === 'and'
            ? 'TRUE'
            : 'FALSE'
          : parts.map((p) => `(${p})`).join(` ${filter.kind.toUpperCase()} `);
      return filter.negated ? `NOT (${joined})` : joined;
    }
    if (filter.kind !== 'condition') throw requestError('unknown filter kind');
    const sql = this.condition(src, filter, embedded);
    return filter.negated ? `NOT (${sql})` : sql;
  }

  condition(src: Source, c: FilterCondition, embedded?: EmbedFilterTargets): string {
    if (!(filterOperators as readonly string[]).includes(c.operator)) {
      throw requestError(`unknown operator "${c.operator}"`);
    }
    const body =
      c.column.json === undefined || c.column.json.length === 0 ? embedded?.bodies.get(c.column.column) : undefined;
    if (body !== undefined && !src.columns.has(c.column.column)) {
      // `rel=not.is.null`: parents with (or, `is.null`, without) a matching embedded row.
      if (c.operator !== 'is' || (c.value !== 'null' && c.value !== 'not_null')) {
        throw requestError(
          `an embedded resource '${c.column.column}' can only be filtered with is.null or not.is.null`,
        );
      }
      if (embedded) embedded.used = true;
      return `${body} ${c.value === 'null' ? 'IS NULL' : 'IS NOT NULL'}`;
    }
    const column = this.columnExpr(src, c.column);
    let lhs = column.sql;
    if (c.columnCast) lhs = `${lhs}::${checkCast(c.columnCast)}`;
    const valueCast = c.valueCast ? `::${checkCast(c.valueCast)}` : '';
    const op = c.operator;

    if (c.quantifier !== undefined) {
      if (c.quantifier !== 'any' && c.quantifier !== 'all') throw requestError('a quantifier is any or all');
      if (!(quantifiableOperators as readonly string[]).includes(op)) {
        throw requestError(`operator "${op}" does not take (${c.quantifier})`);
      }
      if (!Array.isArray(c.value)) throw requestError(`${op}(${c.quantifier}) needs a list of values`);
      const list = this.params.add(toPgArrayLiteral(likePatterns(op, c.value)));
      const arrayCast = c.valueCast ? `::${checkCast(c.valueCast)}[]` : '';
      return `${lhs} ${comparison[op]} ${c.quantifier.toUpperCase()}(${list}${arrayCast})`;
    }
    switch (op) {
      case 'is': {
        const v = typeof c.value === 'string' && Object.hasOwn(isValues, c.value) ? isValues[c.value] : undefined;
        if (!v) throw requestError(`"is" takes null, not_null, true, false or unknown`);
        return `${lhs} ${v}`;
      }
      case 'in': {
        if (!Array.isArray(c.value)) throw requestError('"in" needs a list of values');
        const list = this.params.add(toPgArrayLiteral(c.value));
        const arrayCast = c.valueCast ? `::${checkCast(c.valueCast)}[]` : '';
        return `${lhs} = ANY(${list}${arrayCast})`;
      }
      case 'isdistinct':
        return `${lhs} IS DISTINCT FROM ${this.value(c.value)}${valueCast}`;
      case 'fts':
      case 'plfts':
      case 'phfts':
      case 'wfts': {
        if (typeof c.value !== 'string') throw requestError(`"${op}" needs a text query`);
        const query = this.params.add(c.value);
        const config = c.ftsConfig === undefined ? null : `${this.params.add(c.ftsConfig)}::regconfig`;
        // A text column is searched through to_tsvector with the same configuration, as PostgREST does.
        const vector =
          column.info && column.info.typeName !== 'tsvector'
            ? `to_tsvector(${config ? `${config}, ` : ''}${lhs})`
            : lhs;
        return `${vector} @@ ${ftsFunctions[op]}(${config ? `${config}, ` : ''}${query})`;
      }
      case 'cs':
      case 'cd':
      case 'ov': {
        const v = Array.isArray(c.value)
          ? column.info && isJsonType(column.info.typeName)
            ? jsonText(c.value)
            : toPgArrayLiteral(c.value)
          : scalarText(c.value);
        return `${lhs} ${comparison[op]} ${this.params.add(v)}${valueCast}`;
      }
      default: {
        const sqlOp = comparison[op];
        if (!sqlOp) throw requestError(`unknown operator "${op}"`);
        return `${lhs} ${sqlOp} ${this.value(likePatterns(op, c.value))}${valueCast}`;
      }
    }
  }

  value(v: Scalar | Scalar[]): string {
    if (Array.isArray(v)) return this.params.add(toPgArrayLiteral(v));
    return this.params.add(scalarText(v));
  }

  // ── relationships ──────────────────────────────────────────────────────────────────────────────────────────

  relationships(source: CatalogRelation, embed: SelectEmbed): Relationship[] {
    const schema = embed.schema ?? source.schema;
    const name = embed.relation;
    const fks = this.catalog.foreignKeys;
    const out: Relationship[] = [];
    const seen = new Set<string>();
    const push = (r: Relationship) => {
      const key = `${r.cardinality}:${r.fk.schema}.${r.fk.name}:${r.junction?.targetFk.name ?? ''}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(r);
      }
    };
    const from = (fk: CatalogForeignKey, schemaName: string, table: string) =>
      fk.schema === schemaName && fk.table === table;
    const to = (fk: CatalogForeignKey, schemaName: string, table: string) =>
      fk.refSchema === schemaName && fk.refTable === table;

    for (const fk of fks) {
      // Many-to-one (or one-to-one): the source holds the key. Named by table, by FK name or by FK column.
      if (from(fk, source.schema, source.name)) {
        const byTable = fk.refSchema === schema && fk.refTable === name;
        const byFk = fk.name === name;
        const byColumn = fk.columns.length === 1 && fk.columns[0] === name;
        if (byTable || byFk || byColumn) {
          const target = this.catalog.relations.get(`${fk.refSchema}.${fk.refTable}`);
          if (target) {
            const unique = isKey(source, fk.columns);
            push({ cardinality: unique ? 'one-to-one' : 'many-to-one', toOne: true, target, fk, forward: true });
          }
        }
      }
      // One-to-many (or one-to-one when the referencing columns are unique).
      if (to(fk, source.schema, source.name)) {
        const byTable = fk.schema === schema && fk.table === name;
        const byFk = fk.name === name;
        if (byTable || byFk) {
          const target = this.catalog.relations.get(`${fk.schema}.${fk.table}`);
          if (target) {
            const unique = isKey(target, fk.columns);
            push({ cardinality: unique ? 'one-to-one' : 'one-to-many', toOne: unique, target, fk, forward: false });
          }
        }
      }
    }
    // Many-to-many: a junction with a key to each side whose columns are part of one of its keys.
    const target = this.catalog.relations.get(`${schema}.${name}`);
    if (target) {
      for (const sourceFk of fks) {
        if (!to(sourceFk, source.schema, source.name)) continue;
        const junction = this.catalog.relations.get(`${sourceFk.schema}.${sourceFk.table}`);
        if (!junction || junction === source || junction === target) continue;
        for (const targetFk of fks) {
          if (targetFk === sourceFk || !from(targetFk, junction.schema, junction.name)) continue;
          if (!to(targetFk, target.schema, target.name)) continue;
          if (!coveredByKey(junction, [...sourceFk.columns, ...targetFk.columns])) continue;
          push({
            cardinality: 'many-to-many',
            toOne: false,
            target,
            fk: sourceFk,
            forward: false,
            junction: { relation: junction, sourceFk, targetFk },
          });
        }
      }
    }
    return out;
  }

  /**
   * PostgREST's computed relationships: a function in the source's schema named like the embed, taking the
   * source's row type and returning rows of a relation (SETOF: to-many; a single row: to-one). They take
   * precedence over foreign keys of the same name.
   */
  computedRelationship(source: CatalogRelation, embed: SelectEmbed): Relationship | null {
    if (embed.schema !== undefined && embed.schema !== source.schema) return null;
    const found = (this.catalog.functions.get(`${source.schema}.${embed.relation}`) ?? []).filter((f) => {
      const first = f.args.find((a) => inputModes.has(a.mode));
      return (
        f.kind === 'function' &&
        f.returnsRelation !== undefined &&
        first?.relation?.schema === source.schema &&
        first?.relation?.name === source.name &&
        f.args.filter((a) => inputModes.has(a.mode) && !a.hasDefault).length <= 1
      );
    });
    const fn = found.length === 1 ? found[0] : undefined;
    if (!fn?.returnsRelation) return null;
    const target = this.catalog.relations.get(`${fn.returnsRelation.schema}.${fn.returnsRelation.name}`);
    if (!target) return null;
    const fk: CatalogForeignKey = {
      name: fn.name,
      schema: source.schema,
      table: source.name,
      columns: [],
      refSchema: target.schema,
      refTable: target.name,
      refColumns: [],
    };
    return {
      cardinality: fn.returnsSet ? 'one-to-many' : 'many-to-one',
      toOne: !fn.returnsSet,
      target,
      fk,
      forward: true,
      computed: fn,
    };
  }

  resolveEmbed(source: CatalogRelation, embed: SelectEmbed): Relationship {
    const computed = this.computedRelationship(source, embed);
    if (computed) return computed;
    let candidates = this.relationships(source, embed);
    const hint = embed.hint;
    if (hint !== undefined) {
      candidates = candidates.filter((r) => {
        if (r.junction) {
          return (
            r.junction.relation.name === hint || r.junction.sourceFk.name === hint || r.junction.targetFk.name === hint
          );
        }
        const single = (cols: string[]) => cols.length === 1 && cols[0] === hint;
        return r.fk.name === hint || single(r.fk.columns) || single(r.fk.refColumns);
      });
    }
    if (embed.via !== undefined) {
      const via = embed.via;
      candidates = candidates.filter((r) => r.junction && r.junction.relation.name === via);
    }
    if (candidates.length === 1 && candidates[0]) return candidates[0];
    const schema = embed.schema ?? source.schema;
    if (candidates.length === 0) {
      const using = hint !== undefined ? ` using the hint '${hint}'` : '';
      throw new GatewayError(
        400,
        'PGRST200',
        `Could not find a relationship between '${source.name}' and '${embed.relation}' in the schema cache`,
        `Searched for a foreign key relationship between '${source.name}' and '${embed.relation}'${using} in the schema '${schema}', but no matches were found.`,
      );
    }
    const details: RelationshipCandidate[] = candidates.map((r) => {
      let relationship: string;
      if (r.junction) {
        const j = r.junction;
        relationship = `${j.relation.name} using ${j.sourceFk.name}(${j.sourceFk.columns.join(', ')}) and ${j.targetFk.name}(${j.targetFk.columns.join(', ')})`;
      } else if (r.forward) {
        relationship = `${r.fk.name} using ${source.name}(${r.fk.columns.join(', ')}) and ${r.target.name}(${r.fk.refColumns.join(', ')})`;
      } else {
        relationship = `${r.fk.name} using ${source.name}(${r.fk.refColumns.join(', ')}) and ${r.target.name}(${r.fk.columns.join(', ')})`;
      }
      return { cardinality: r.cardinality, embedding: `${source.name} with ${r.target.name}`, relationship };
    });
    const options = candidates.map((r) => `'${embed.relation}!${r.junction ? r.junction.relation.name : r.fk.name}'`);
    throw new GatewayError(
      300,
      'PGRST201',
      `Could not embed because more than one relationship was found for '${source.name}' and '${embed.relation}'`,
      details,
      `Try changing '${embed.relation}' to one of the following: ${options.join(', ')}. Find the desired relationship in the 'details' key.`,
    );
  }

  /** The child's FROM (with the junction for m2m) and the condition tying it to the parent row. */
  joinTo(rel: Relationship, parentAlias: string, child: Source): { from: string; where: string } {
    const pairs = (cols: string[], refCols: string[], left: string, right: string) =>
      cols.map((c, i) => `${left}.${quoteIdent(c)} = ${right}.${quoteIdent(refCols[i] ?? '')}`).join(' AND ');
    if (rel.computed) {
      const call = `${qualified(rel.computed.schema, rel.computed.name)}(${parentAlias}.*)`;
      return { from: `${call} ${child.alias}`, where: 'TRUE' };
    }
    if (rel.junction) {
      const j = rel.junction;
      const jAlias = this.alias('t');
      const on = pairs(j.targetFk.columns, j.targetFk.refColumns, jAlias, child.alias);
      return {
        from: `${child.from} JOIN ${qualified(j.relation.schema, j.relation.name)} ${jAlias} ON ${on}`,
        where: pairs(j.sourceFk.columns, j.sourceFk.refColumns, jAlias, parentAlias),
      };
    }
    if (rel.forward) {
      // child = referenced table; parent holds fk.columns.
      return { from: child.from, where: pairs(rel.fk.refColumns, rel.fk.columns, child.alias, parentAlias) };
    }
    return { from: child.from, where: pairs(rel.fk.columns, rel.fk.refColumns, child.alias, parentAlias) };
  }

  // ── levels ─────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * One SELECT over `src`: its select list (embeds as LATERAL joins), filters, implicit GROUP BY, order and
   * page. `extraWhere` ties an embedded level to its parent row.
   */
  level(src: Source, spec: LevelSpec, depth: number, extraWhere: string[] = [], fromOverride?: string): LevelSql {
    if (depth > this.maxDepth) throw requestError(`embedding deeper than ${this.maxDepth} levels is not allowed`);
    const selectList: string[] = [];
    const groupBy: string[] = [];
    const joins: string[] = [];
    const innerJoins: string[] = [];
    const where: string[] = [...extraWhere];
    let star = false;
    const embeds: { item: SelectEmbed; rel: Relationship }[] = [];
    const embedded: EmbedFilterTargets = { bodies: new Map(), used: false };
    const names: string[] = [];

    const items = spec.select.length === 0 ? [{ kind: 'star' } as const] : spec.select;
    // With aggregates, every other output is a GROUP BY key; to-one embeds are grouped by their JSON text.
    const aggregates = items.some((i) => i.kind === 'count' || (i.kind === 'column' && i.aggregate !== undefined));
    for (const item of items) {
      switch (item.kind) {
        case 'star':
          star = true;
          selectList.push(`${src.alias}.*`);
          names.push(...src.columns.keys());
          break;
        case 'column': {
          const col = this.columnExpr(src, item.column);
          const lastJson = item.column.json?.at(-1);
          let expr = col.sql;
          if (item.cast) expr = `${expr}::${checkCast(item.cast)}`;
          if (item.aggregate) {
            if (!aggregateFunctions.includes(item.aggregate.fn)) throw requestError('unknown aggregate');
            expr = `${item.aggregate.fn}(${expr})`;
            if (item.aggregate.cast) expr = `(${expr})::${checkCast(item.aggregate.cast)}`;
            selectList.push(`${expr} AS ${quoteIdent(item.alias ?? item.aggregate.fn)}`);
            names.push(item.alias ?? item.aggregate.fn);
          } else {
            groupBy.push(expr);
            const name = item.alias ?? (lastJson ? String(lastJson.key) : item.column.column);
            selectList.push(`${expr} AS ${quoteIdent(name)}`);
            names.push(name);
          }
          break;
        }
        case 'count': {
          names.push(item.alias ?? 'count');
          const expr = item.cast ? `count(*)::${checkCast(item.cast)}` : 'count(*)';
          selectList.push(`${expr} AS ${quoteIdent(item.alias ?? 'count')}`);
          break;
        }
        case 'embed': {
          if (!src.relation) throw requestError(`'${src.name}' has no relationships to embed '${item.relation}'`);
          const rel = this.resolveEmbed(src.relation, item);
          embeds.push({ item, rel });
          const child = this.relationSource(rel.target);
          const join = this.joinTo(rel, src.alias, child);
          // `rel()` selects nothing: the embed only filters its parents (`!inner`, `rel=not.is.null`).
          const hidden = item.select.length === 0;
          if (aggregates && !hidden && !rel.toOne) {
            throw requestError(`the to-many '${item.relation}' cannot be selected beside aggregates`);
          }
          const childLevel = this.level(
            child,
            {
              select: hidden ? [{ kind: 'star' }] : item.select,
              filter: item.filter,
              order: item.order,
              limit: item.limit,
              offset: item.offset,
            },
            depth + 1,
            [join.where],
            join.from,
          );
          const childSql = childLevel.sql;
          const j = this.alias('j');
          const key = quoteIdent(item.alias ?? item.relation);
          if (item.spread) {
            if (!rel.toOne) {
              throw new GatewayError(
                400,
                'PGRST119',
                `A spread operation on '${item.relation}' is not possible`,
                `'${src.name}' and '${item.relation}' do not form a many-to-one or one-to-one relationship`,
              );
            }
            const lateral = `LATERAL (${childSql}) ${j}`;
            (item.inner ? innerJoins : joins).push(
              item.inner ? `CROSS JOIN ${lateral}` : `LEFT JOIN ${lateral} ON TRUE`,
            );
            if (!hidden && aggregates) {
              // Grouped: each spread column is a GROUP BY key of its own.
              for (const n of childLevel.names) {
                groupBy.push(`${j}.${quoteIdent(n)}`);
                selectList.push(`${j}.${quoteIdent(n)}`);
              }
            } else if (!hidden) {
              selectList.push(`${j}.*`);
            }
            if (!hidden) names.push(...childLevel.names);
          } else if (rel.toOne) {
            // To-one: at most one row by the foreign key. `LIMIT 1` keeps the lateral a per-row index lookup; without
            // it Postgres flattens it into a join and hashes the whole related table for a page of a few rows.
            const lateral = `LATERAL (SELECT row_to_json(_e.*) AS body FROM (${childSql}) _e LIMIT 1) ${j}`;
            (item.inner ? innerJoins : joins).push(
              item.inner ? `CROSS JOIN ${lateral}` : `LEFT JOIN ${lateral} ON TRUE`,
            );
            if (!hidden && aggregates) {
              // json has no equality: group by its text (key order kept) and read it back as json.
              groupBy.push(`${j}.body::text`);
              selectList.push(`(${j}.body::text)::json AS ${key}`);
            } else if (!hidden) {
              selectList.push(`${j}.body AS ${key}`);
            }
            if (!hidden) names.push(item.alias ?? item.relation);
            embedded.bodies.set(item.alias ?? item.relation, `${j}.body`);
          } else {
            const lateral = `LEFT JOIN LATERAL (SELECT json_agg(_e.*) AS body FROM (${childSql}) _e) ${j} ON TRUE`;
            (item.inner ? innerJoins : joins).push(lateral);
            if (item.inner) where.push(`${j}.body IS NOT NULL`);
            if (!hidden) selectList.push(`coalesce(${j}.body, '[]'::json) AS ${key}`);
            if (!hidden) names.push(item.alias ?? item.relation);
            embedded.bodies.set(item.alias ?? item.relation, `${j}.body`);
          }
          break;
        }
        default:
          throw requestError('unknown select item');
      }
    }
    if (aggregates && star) throw requestError('"*" cannot be selected beside aggregates');

    if (spec.filter) where.push(this.filter(src, spec.filter, embedded));
    const orderBy = (spec.order ?? []).map((term) => this.orderTerm(src, term, embeds));
    const limit = checkPage(spec.limit, 'limit');
    const offset = checkPage(spec.offset, 'offset');
    // maxRows pages the top level (PostgREST's max-rows); an embed is cut only when it asks for a limit.
    const cappedLimit =
      this.maxRows === null || (depth > 0 && limit === undefined)
        ? limit
        : Math.min(limit ?? this.maxRows, this.maxRows);

    const from = [fromOverride ?? src.from, ...innerJoins, ...joins].join(' ');
    // A count needs the non-inner embeds only when a filter or a GROUP BY key reads them.
    const countJoins = embedded.used || aggregates ? joins : [];
    const countFrom = [fromOverride ?? src.from, ...innerJoins, ...countJoins].join(' ');
    const whereSql = where.length > 0 ? ` WHERE ${where.map((w) => `(${w})`).join(' AND ')}` : '';
    const groupSql = aggregates && groupBy.length > 0 ? ` GROUP BY ${groupBy.join(', ')}` : '';
    let sql = `SELECT ${selectList.join(', ')} FROM ${from}${whereSql}${groupSql}`;
    if (orderBy.length > 0) sql += ` ORDER BY ${orderBy.join(', ')}`;
    // Literals, not parameters (checkPage made them safe integers): a prepared statement's generic plan knows its
    // page size then, where `LIMIT $n` makes Postgres plan for an unknown one (a slower plan for small pages).
    if (cappedLimit !== undefined) sql += ` LIMIT ${cappedLimit}`;
    if (offset !== undefined && offset > 0) sql += ` OFFSET ${offset}`;
    // Counts ignore the page and the non-inner embeds; an aggregate without GROUP BY is one row.
    const countCore =
      aggregates && groupBy.length === 0 ? 'SELECT 1' : `SELECT 1 FROM ${countFrom}${whereSql}${groupSql}`;
    return { sql, countCore, names };
  }

  orderTerm(src: Source, term: OrderTerm, embeds: { item: SelectEmbed; rel: Relationship }[]): string {
    if (term.direction !== 'asc' && term.direction !== 'desc') throw requestError('order direction is asc or desc');
    if (term.nulls !== undefined && term.nulls !== 'first' && term.nulls !== 'last') {
      throw requestError('order nulls is first or last');
    }
    let expr: string;
    if (term.relation !== undefined) {
      const found = embeds.find((e) => (e.item.alias ?? e.item.relation) === term.relation);
      if (!found) {
        throw new GatewayError(400, 'PGRST108', `'${term.relation}' is not an embedded resource in this request`);
      }
      if (!found.rel.toOne) {
        throw new GatewayError(
          400,
          'PGRST118',
          `A related order on '${term.relation}' is not possible`,
          `'${src.name}' and '${term.relation}' do not form a many-to-one or one-to-one relationship`,
        );
      }
      const child = this.relationSource(found.rel.target);
      const join = this.joinTo(found.rel, src.alias, child);
      expr = `(SELECT ${this.columnExpr(child, term.column).sql} FROM ${join.from} WHERE ${join.where} LIMIT 1)`;
    } else {
      expr = this.columnExpr(src, term.column).sql;
    }
    let sql = `${expr} ${term.direction === 'asc' ? 'ASC' : 'DESC'}`;
    if (term.nulls) sql += term.nulls === 'first' ? ' NULLS FIRST' : ' NULLS LAST';
    return sql;
  }

  /** The one-row result over a paged level. */
  result(level: LevelSql, count: ReadQuery['count'], body = `coalesce(json_agg(_s.*), '[]'::json)::text`): string {
    const total = count === 'exact' ? `, (SELECT count(*) FROM (${level.countCore}) _c)::int8 AS total` : '';
    return `WITH pgrst_source AS (${level.sql}) SELECT ${body} AS body, count(*)::int8 AS page_total${total} FROM pgrst_source _s`;
  }
}

// ── reads ────────────────────────────────────────────────────────────────────────────────────────────────────

function readLevel(c: Compiler, q: ReadQuery): LevelSql {
  const relation = lookupRelation(c.catalog, q.schema, q.table);
  const src = c.relationSource(relation);
  return c.level(src, { select: q.select, filter: q.filter, order: q.order, limit: q.limit, offset: q.offset }, 0);
}

/** A read (PostgREST GET on a table or view). See the module comment for the result row. */
export function compileRead(catalog: Catalog, q: ReadQuery, opts: ReadOptions): CompiledStatement {
  const c = new Compiler(catalog, opts.maxRows, opts.maxDepth ?? defaultMaxDepth);
  const body = opts.geojson ? featureCollectionBody(catalog, q, opts.geojson.postgisSchema) : undefined;
  const text = c.result(readLevel(c, q), q.count, body);
  return { text, values: c.params.values };
}

/**
 * The FeatureCollection of the page. `ST_AsGeoJSON(record)` needs a geometry column among the selected ones (it
 * fails inside PostGIS otherwise), so the selection is checked here first: `*` of a table that has one, or a plain
 * column of type geometry.
 */
function featureCollectionBody(catalog: Catalog, q: ReadQuery, postgisSchema: string): string {
  const relation = lookupRelation(catalog, q.schema, q.table);
  const geometric = new Set(
    relation.columns.filter((col) => col.typeName === 'geometry' && !col.isArray).map((col) => col.name),
  );
  const hasGeometry = q.select.some(
    (item) =>
      (item.kind === 'star' && geometric.size > 0) ||
      (item.kind === 'column' &&
        !item.column.json &&
        !item.cast &&
        !item.aggregate &&
        geometric.has(item.column.column)),
  );
  if (!hasGeometry) {
    throw new GatewayError(
      406,
      'PGRST107',
      'None of these media types are available: application/geo+json',
      null,
      `The selection of '${relation.schema}.${relation.name}' has no geometry column`,
    );
  }
  const asGeoJson = `${quoteIdent(postgisSchema)}.st_asgeojson(_s.*)::json`;
  return `json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(${asGeoJson}), '[]'::json))::text`;
}

/** `EXPLAIN (FORMAT JSON)` of the read's unpaged query: its "Plan Rows" is PostgREST's planned count. */
export function compileReadPlan(catalog: Catalog, q: ReadQuery, opts: { maxDepth?: number } = {}): CompiledStatement {
  const c = new Compiler(catalog, null, opts.maxDepth ?? defaultMaxDepth);
  const level = readLevel(c, { ...q, limit: undefined, offset: undefined });
  return { text: `EXPLAIN (FORMAT JSON) ${level.countCore}`, values: c.params.values };
}

/** The top plan node's "Plan Rows" from an `EXPLAIN (FORMAT JSON)` result (pg parses json, PGlite too). */
export function planRows(rows: Record<string, unknown>[]): number {
  const cell = rows[0]?.['QUERY PLAN'];
  const plan = (typeof cell === 'string' ? JSON.parse(cell) : cell) as { Plan?: { 'Plan Rows'?: number } }[];
  const n = plan?.[0]?.Plan?.['Plan Rows'];
  if (typeof n !== 'number') throw new Error('EXPLAIN output has no Plan Rows');
  return n;
}

/** `SELECT count(*) AS count FROM "s"."t" WHERE …`. */
export function compileCount(catalog: Catalog, q: TableRef & { filter?: Filter }): CompiledStatement {
  const c = new Compiler(catalog, null, defaultMaxDepth);
  const src = c.relationSource(lookupRelation(catalog, q.schema, q.table));
  const where = q.filter ? ` WHERE ${c.filter(src, q.filter)}` : '';
  return { text: `SELECT count(*) AS count FROM ${src.from}${where}`, values: c.params.values };
}

// ── writes ───────────────────────────────────────────────────────────────────────────────────────────────────

function columnNotFound(relation: CatalogRelation, column: string): GatewayError {
  return new GatewayError(
    400,
    'PGRST204',
    `Could not find the '${column}' column of '${relation.schema}.${relation.name}' in the schema cache`,
  );
}

function checkColumns(relation: CatalogRelation, names: Iterable<string>): void {
  const known = new Set(relation.columns.map((c) => c.name));
  for (const name of names) if (!known.has(name)) throw columnNotFound(relation, name);
}

/** `(json_populate_record(null::"s"."t", $n::json))."c"`: the value of `c` in a bound JSON row, typed by the table. */
function fieldOf(relation: CatalogRelation, rowParam: string, column: string): string {
  return `(json_populate_record(NULL::${qualified(relation.schema, relation.name)}, ${rowParam}::json)).${quoteIdent(column)}`;
}

function writeResult(c: Compiler, relation: CatalogRelation, write: string, returning: Returning): string {
  if (returning === null) {
    return `WITH pgrst_source AS (${write} RETURNING 1) SELECT NULL::text AS body, count(*)::int8 AS page_total FROM pgrst_source`;
  }
  const src: Source = {
    alias: c.alias('t'),
    from: '',
    schema: relation.schema,
    name: relation.name,
    columns: columnMap(relation),
    relation,
  };
  src.from = `pgrst_written ${src.alias}`;
  const level = c.level(src, { select: returning }, 0);
  return `WITH pgrst_written AS (${write} RETURNING *), pgrst_source AS (${level.sql}) SELECT coalesce(json_agg(_s.*), '[]'::json)::text AS body, count(*)::int8 AS page_total FROM pgrst_source _s`;
}

/** A write with nothing to write (no rows, an empty update): the same one row, without touching the table. */
function emptyWrite(returning: Returning): CompiledStatement {
  return { text: `SELECT ${returning === null ? 'NULL' : `'[]'`}::text AS body, 0::int8 AS page_total`, values: [] };
}

/** JSON text of a caller's value; values JSON cannot carry (BigInt, cycles) are a request error, not a crash. */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    throw requestError('the body holds a value that is not JSON');
  }
}

/** INSERT of `rows` (multi-row VALUES, each row bound once as JSON), optional upsert, RETURNING select. */
export function compileInsert(
  catalog: Catalog,
  cmd: InsertCommand,
  opts: { maxDepth?: number } = {},
): CompiledStatement {
  const c = new Compiler(catalog, null, opts.maxDepth ?? defaultMaxDepth);
  const relation = lookupRelation(catalog, cmd.schema, cmd.table);
  if (!Array.isArray(cmd.rows)) throw requestError('the rows to insert must be a list');
  for (const row of cmd.rows) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw requestError('each row must be an object');
  }
  let columns: string[];
  if (cmd.columns) {
    checkColumns(relation, cmd.columns);
    columns = [...new Set(cmd.columns)];
  } else {
    const union = new Set<string>();
    for (const row of cmd.rows) for (const key of Object.keys(row)) union.add(key);
    checkColumns(relation, union);
    columns = [...union];
  }
  if (cmd.rows.length === 0) return emptyWrite(cmd.returning);
  const target = `${qualified(relation.schema, relation.name)}`;
  let insert: string;
  if (columns.length === 0) {
    // Rows with no keys: every column takes its default (DEFAULT in a column without one is NULL).
    const first = relation.columns[0];
    if (!first) throw requestError(`'${relation.name}' has no columns`);
    insert = `INSERT INTO ${target} (${quoteIdent(first.name)}) VALUES ${cmd.rows.map(() => '(DEFAULT)').join(', ')}`;
  } else {
    const missing = cmd.missing === 'null' ? 'NULL' : 'DEFAULT';
    const tuples = cmd.rows.map((row) => {
      const param = c.params.add(jsonText(row));
      return `(${columns.map((col) => (Object.hasOwn(row, col) ? fieldOf(relation, param, col) : missing)).join(', ')})`;
    });
    insert = `INSERT INTO ${target} (${columns.map(quoteIdent).join(', ')}) VALUES ${tuples.join(', ')}`;
  }
  if (cmd.onConflict) {
    const conflict = cmd.onConflict.columns ?? relation.primaryKey;
    if (conflict.length === 0)
      throw requestError(`'${relation.name}' has no primary key: name the on_conflict columns`);
    checkColumns(relation, conflict);
    insert += ` ON CONFLICT (${conflict.map(quoteIdent).join(', ')})`;
    const setValues = cmd.onConflict.set;
    if (cmd.onConflict.action === 'ignore') {
      if (setValues !== undefined) throw requestError('on conflict SET values need the merge action');
      insert += ' DO NOTHING';
    } else if (setValues !== undefined) {
      // Athena's `update_body`: the conflicting row takes these values (bound as one JSON row), not EXCLUDED's.
      if (typeof setValues !== 'object' || setValues === null || Array.isArray(setValues)) {
        throw requestError('the on conflict SET values must be an object');
      }
      const keys = Object.keys(setValues);
      checkColumns(relation, keys);
      if (keys.length === 0) throw requestError('the on conflict SET values are empty');
      const row = c.params.add(jsonText(setValues));
      insert += ` DO UPDATE SET ${keys.map((k) => `${quoteIdent(k)} = ${fieldOf(relation, row, k)}`).join(', ')}`;
    } else {
      const explicit = cmd.onConflict.set;
      if (explicit !== undefined) {
        // Athena's `update_body`: the existing row takes these values (bound as one JSON row, typed by the table
        // as inserted rows are), not the inserted ones.
        if (typeof explicit !== 'object' || explicit === null || Array.isArray(explicit)) {
          throw requestError('the values to set on conflict must be an object');
        }
        const keys = Object.keys(explicit);
        if (keys.length === 0) throw requestError('the values to set on conflict must name at least one column');
        checkColumns(relation, keys);
        const param = c.params.add(jsonText(explicit));
        insert += ` DO UPDATE SET ${keys.map((col) => `${quoteIdent(col)} = ${fieldOf(relation, param, col)}`).join(', ')}`;
      } else {
        const set = columns.filter((col) => !conflict.includes(col));
        const assigned = set.length > 0 ? set : conflict;
        insert += ` DO UPDATE SET ${assigned.map((col) => `${quoteIdent(col)} = EXCLUDED.${quoteIdent(col)}`).join(', ')}`;
      }
    }
  }
  return { text: writeResult(c, relation, insert, cmd.returning), values: c.params.values };
}

/** The rows a filtered, optionally ordered and limited UPDATE/DELETE touches, as a WHERE clause on `alias`. */
function targetRows(
  c: Compiler,
  relation: CatalogRelation,
  alias: string,
  cmd: { filter?: Filter; order?: OrderTerm[]; limit?: number },
): string {
  const src = c.relationSource(relation, alias);
  const limit = checkPage(cmd.limit, 'limit');
  if (limit === undefined) {
    if (cmd.order && cmd.order.length > 0) throw requestError('order on a write needs a limit');
    return cmd.filter ? ` WHERE ${c.filter(src, cmd.filter)}` : '';
  }
  // PostgREST's limited writes: the first `limit` rows in `order`, chosen by ctid (tables only).
  if (relation.kind !== 'table')
    throw requestError(`a limited write needs a table; '${relation.name}' is a ${relation.kind}`);
  const inner = c.relationSource(relation);
  const where = cmd.filter ? ` WHERE ${c.filter(inner, cmd.filter)}` : '';
  const order = (cmd.order ?? []).map((t) => c.orderTerm(inner, t, []));
  const orderSql = order.length > 0 ? ` ORDER BY ${order.join(', ')}` : '';
  return ` WHERE ${alias}.ctid = ANY(ARRAY(SELECT ${inner.alias}.ctid FROM ${inner.from}${where}${orderSql} LIMIT ${c.params.add(String(limit))}))`;
}

/** UPDATE … SET (values bound as one JSON row) WHERE filter [ctid page], RETURNING select. */
export function compileUpdate(
  catalog: Catalog,
  cmd: UpdateCommand,
  opts: { maxDepth?: number } = {},
): CompiledStatement {
  const c = new Compiler(catalog, null, opts.maxDepth ?? defaultMaxDepth);
  const relation = lookupRelation(catalog, cmd.schema, cmd.table);
  if (typeof cmd.set !== 'object' || cmd.set === null || Array.isArray(cmd.set)) {
    throw requestError('the update body must be an object');
  }
  const keys = Object.keys(cmd.set);
  checkColumns(relation, keys);
  if (keys.length === 0) return emptyWrite(cmd.returning);
  const alias = c.alias('t');
  const row = c.params.add(jsonText(cmd.set));
  const set = keys.map((k) => `${quoteIdent(k)} = ${fieldOf(relation, row, k)}`).join(', ');
  const update = `UPDATE ${qualified(relation.schema, relation.name)} AS ${alias} SET ${set}${targetRows(c, relation, alias, cmd)}`;
  return { text: writeResult(c, relation, update, cmd.returning), values: c.params.values };
}

/**
 * `byPrimaryKey` (Athena's `/gateway/delete` `resource_id`) as a filter on the single-column primary key, or on an
 * `id` column when there is no primary key; a composite key cannot be named by one value (400).
 */
function primaryKeyFilter(relation: CatalogRelation, value: string): Filter {
  if (typeof value !== 'string') throw requestError('resource_id must be a string');
  const pk = relation.primaryKey;
  const column =
    pk.length === 1 ? pk[0] : pk.length === 0 && relation.columns.some((col) => col.name === 'id') ? 'id' : undefined;
  if (column === undefined) {
    const why = pk.length > 1 ? 'a composite primary key' : 'no primary key and no id column';
    throw requestError(`${relation.schema}.${relation.name} has ${why}: resource_id cannot name one row`);
  }
  return { kind: 'condition', column: { column }, operator: 'eq', value };
}

/** DELETE … WHERE filter [AND primary key] [ctid page], RETURNING select. */
export function compileDelete(
  catalog: Catalog,
  cmd: DeleteCommand,
  opts: { maxDepth?: number } = {},
): CompiledStatement {
  const c = new Compiler(catalog, null, opts.maxDepth ?? defaultMaxDepth);
  const relation = lookupRelation(catalog, cmd.schema, cmd.table);
  const alias = c.alias('t');
  let target: { filter?: Filter; order?: OrderTerm[]; limit?: number } = cmd;
  if (cmd.byPrimaryKey !== undefined) {
    const byKey = primaryKeyFilter(relation, cmd.byPrimaryKey);
    target = { ...cmd, filter: cmd.filter ? { kind: 'and', filters: [cmd.filter, byKey] } : byKey };
  }
  const del = `DELETE FROM ${qualified(relation.schema, relation.name)} AS ${alias}${targetRows(c, relation, alias, target)}`;
  return { text: writeResult(c, relation, del, cmd.returning), values: c.params.values };
}

// ── rpc ──────────────────────────────────────────────────────────────────────────────────────────────────────

const inputModes = new Set(['in', 'inout', 'variadic']);

function isSingleJsonArg(fn: CatalogFunction): boolean {
  const inputs = fn.args.filter((a) => inputModes.has(a.mode));
  return inputs.length === 1 && inputs[0]?.name === null && isJsonType(inputs[0].type);
}

function matchesByName(fn: CatalogFunction, keys: string[]): boolean {
  const inputs = fn.args.filter((a) => inputModes.has(a.mode));
  if (inputs.some((a) => a.name === null)) return false;
  const names = new Set(inputs.map((a) => a.name));
  if (!keys.every((k) => names.has(k))) return false;
  return inputs.every((a) => a.hasDefault || (a.name !== null && keys.includes(a.name)));
}

function signature(fn: CatalogFunction): string {
  const inputs = fn.args.filter((a) => inputModes.has(a.mode));
  return `${fn.schema}.${fn.name}(${inputs.map((a) => (a.name ? `${a.name} => ${a.type}` : a.type)).join(', ')})`;
}

/** The overload PostgREST would call for these argument names. */
export function resolveFunction(
  catalog: Catalog,
  schema: string,
  name: string,
  args: Record<string, unknown>,
): CatalogFunction {
  const all = (catalog.functions.get(`${schema}.${name}`) ?? []).filter(
    (f) => f.kind === 'function' && f.schema === schema && f.name === name,
  );
  const keys = Object.keys(args);
  let matches = all.filter((f) => matchesByName(f, keys));
  if (matches.length === 0) matches = all.filter(isSingleJsonArg);
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length === 0) {
    const params = keys.length > 0 ? `with parameters ${keys.join(', ')}` : 'without parameters';
    const message =
      keys.length > 0
        ? `Could not find the function ${schema}.${name}(${keys.join(', ')}) in the schema cache`
        : `Could not find the function ${schema}.${name} without parameters in the schema cache`;
    throw new GatewayError(
      404,
      'PGRST202',
      message,
      `Searched for the function ${schema}.${name} ${params} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
    );
  }
  throw new GatewayError(
    300,
    'PGRST203',
    `Could not choose the best candidate function between: ${matches.map(signature).join(', ')}`,
    null,
    'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
  );
}

/** An argument value as bound text: JSON for json/jsonb, array literals for array types. */
function argText(value: unknown, type: string): string | null {
  if (value === null || value === undefined) return null;
  if (isJsonType(type)) return jsonText(value);
  if (Array.isArray(value)) return toPgArrayLiteral(value);
  if (typeof value === 'object') return jsonText(value);
  if (typeof value === 'number' && !Number.isFinite(value)) throw requestError(`invalid number ${value}`);
  return String(value);
}

function rpcLevel(
  c: Compiler,
  fn: CatalogFunction,
  call: string,
  rc: RpcCall,
): { level: LevelSql; shape: RpcShape; scalarColumn?: string } {
  const alias = c.alias('t');
  const spec: LevelSpec = {
    select: rc.select ?? [],
    filter: rc.filter,
    order: rc.order,
    limit: rc.limit,
    offset: rc.offset,
  };
  if (fn.returnsScalar) {
    // A set of scalars: one column named after the function, as PostgREST exposes it for filters.
    const src: Source = {
      alias,
      from: `${call} AS ${alias}(${quoteIdent(fn.name)})`,
      schema: fn.schema,
      name: fn.name,
      columns: new Map([[fn.name, { name: fn.name, typeName: fn.returnType, isArray: false }]]),
    };
    const level = c.level(src, { ...spec, select: [{ kind: 'column', column: { column: fn.name } }] }, 0);
    return { level, shape: 'scalar_set', scalarColumn: fn.name };
  }
  let src: Source;
  if (fn.returnsRelation) {
    const relation = lookupRelation(c.catalog, fn.returnsRelation.schema, fn.returnsRelation.name);
    src = { ...c.relationSource(relation, alias), from: `${call} ${alias}` };
  } else {
    const outs = fn.args.filter((a) => a.mode === 'out' || a.mode === 'inout' || a.mode === 'table');
    const cols = fn.returnColumns ?? outs.map((a) => ({ name: a.name ?? '', type: a.type }));
    if (cols.length === 0 || cols.some((col) => col.name === '')) {
      throw requestError(`function ${fn.schema}.${fn.name} returns rows of an unknown shape`);
    }
    src = {
      alias,
      from: `${call} ${alias}`,
      schema: fn.schema,
      name: fn.name,
      columns: new Map(
        cols.map((col) => [
          col.name,
          { name: col.name, typeName: col.type.replace(/\[\]$/, ''), isArray: col.type.endsWith('[]') },
        ]),
      ),
    };
  }
  return { level: c.level(src, spec, 0), shape: fn.returnsSet ? 'rows' : 'row' };
}

/** The overload and its call expression, with arguments bound. */
function prepareRpc(c: Compiler, rc: RpcCall): { fn: CatalogFunction; call: string } {
  if (typeof rc.args !== 'object' || rc.args === null || Array.isArray(rc.args)) {
    throw requestError('function arguments must be an object');
  }
  const fn = resolveFunction(c.catalog, rc.schema, rc.fn, rc.args);
  if (rc.readOnly && fn.volatility === 'volatile') {
    throw new GatewayError(
      405,
      '25006',
      `cannot execute volatile function ${fn.schema}.${fn.name} in a read-only transaction`,
      null,
      'Call it with POST, or declare it STABLE or IMMUTABLE',
    );
  }
  const name = qualified(fn.schema, fn.name);
  const keys = Object.keys(rc.args);
  if (isSingleJsonArg(fn) && !matchesByName(fn, keys)) {
    const type = fn.args.find((a) => inputModes.has(a.mode))?.type === 'jsonb' ? 'jsonb' : 'json';
    return { fn, call: `${name}(${c.params.add(jsonText(rc.args))}::${type})` };
  }
  const named: string[] = [];
  for (const a of fn.args) {
    if (!inputModes.has(a.mode) || a.name === null || !keys.includes(a.name)) continue;
    let value = rc.args[a.name];
    if (a.mode === 'variadic' && !Array.isArray(value) && value !== null) value = [value];
    const param = c.params.add(argText(value, a.type));
    named.push(`${a.mode === 'variadic' ? 'VARIADIC ' : ''}${quoteIdent(a.name)} := ${param}`);
  }
  return { fn, call: `${name}(${named.join(', ')})` };
}

/**
 * A function call (PostgREST `/rpc/fn`): the overload chosen by argument names, named-argument notation with
 * bound values, then select/filter/order/page over set results. See `CompiledRpc.shape` for `body`.
 */
export function compileRpc(catalog: Catalog, rc: RpcCall, opts: ReadOptions): CompiledRpc {
  const c = new Compiler(catalog, opts.maxRows, opts.maxDepth ?? defaultMaxDepth);
  const { fn, call } = prepareRpc(c, rc);
  if (fn.returnsVoid) {
    // void::text is '': the call runs, the body is NULL.
    const text = `SELECT nullif(${call}::text, '') AS body, 0::int8 AS page_total`;
    return { text, values: c.params.values, shape: 'void', fn };
  }
  if (fn.returnsScalar && !fn.returnsSet) {
    const text = `SELECT to_json(${call})::text AS body, 1::int8 AS page_total`;
    return { text, values: c.params.values, shape: 'scalar', fn };
  }
  const { level, shape, scalarColumn } = rpcLevel(c, fn, call, rc);
  const body =
    shape === 'scalar_set'
      ? `coalesce(json_agg(_s.${quoteIdent(scalarColumn ?? fn.name)}), '[]'::json)::text`
      : shape === 'row'
        ? `(json_agg(_s.*)->0)::text`
        : undefined;
  return { text: c.result(level, rc.count, body), values: c.params.values, shape, fn };
}

/** `EXPLAIN (FORMAT JSON)` of a set-returning RPC's unpaged result (planned count). */
export function compileRpcPlan(catalog: Catalog, rc: RpcCall): CompiledStatement {
  const c = new Compiler(catalog, null, defaultMaxDepth);
  const { fn, call } = prepareRpc(c, rc);
  if (fn.returnsVoid || !fn.returnsSet) return { text: 'EXPLAIN (FORMAT JSON) SELECT 1', values: [] };
  const { level } = rpcLevel(c, fn, call, { ...rc, limit: undefined, offset: undefined });
  return { text: `EXPLAIN (FORMAT JSON) ${level.countCore}`, values: c.params.values };
}
