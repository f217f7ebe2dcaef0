/*
 * The gateway's request language, shared by every door (REST `/gateway/*`, `/rest/v1`, `/rpc`, GraphQL): parsers
 * turn each door's syntax into these values, one compiler (`compile.ts`) turns them into parameterised SQL
 * against the live catalog (`catalog.ts`). Nothing here is SQL text: identifiers are names checked against the
 * catalog at compile time, values are bound parameters, operators and casts come from closed sets.
 */

/** Comparison operators (PostgREST 12's set; the structured gateway uses a subset). */
export const filterOperators = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'like',
  'ilike',
  'match',
  'imatch',
  'in',
  'is',
  'isdistinct',
  'fts',
  'plfts',
  'phfts',
  'wfts',
  'cs',
  'cd',
  'ov',
  'sl',
  'sr',
  'nxr',
  'nxl',
  'adj',
] as const;
export type FilterOperator = (typeof filterOperators)[number];

/** Operators that accept PostgREST's `(any)`/`(all)` quantifier: `eq(any).{a,b}`. */
export const quantifiableOperators = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'like',
  'ilike',
  'match',
  'imatch',
] as const;

/** Casts a caller may name (`::type`, `column_cast`, `value_cast`); anything else is refused. */
export const allowedCasts = [
  'text',
  'varchar',
  'char',
  'uuid',
  'int2',
  'int4',
  'int8',
  'smallint',
  'integer',
  'int',
  'bigint',
  'numeric',
  'decimal',
  'float4',
  'float8',
  'real',
  'double precision',
  'bool',
  'boolean',
  'date',
  'time',
  'timetz',
  'timestamp',
  'timestamptz',
  'interval',
  'json',
  'jsonb',
] as const;
export type Cast = (typeof allowedCasts)[number];

/** `is` takes one of these. */
export type IsValue = 'null' | 'not_null' | 'true' | 'false' | 'unknown';

/** A scalar bound as a parameter. PostgREST values arrive as text and Postgres infers their type from the column. */
export type Scalar = string | number | boolean | null;

/** A column, optionally followed by a JSON path: `data->a->>b` is `{column:'data', json:[{key:'a'},{key:'b',text:true}]}`. */
export interface ColumnPath {
  column: string;
  /** Each step is `->` (json) or, with `text: true`, `->>` (text). Numeric keys index arrays. */
  json?: { key: string | number; text: boolean }[];
}

export type Filter = FilterGroup | FilterCondition;

export interface FilterGroup {
  kind: 'and' | 'or';
  filters: Filter[];
  /** `not.and(…)` / `not.or(…)`. */
  negated?: boolean;
}

export interface FilterCondition {
  kind: 'condition';
  column: ColumnPath;
  operator: FilterOperator;
  /** `not.eq.5` */
  negated?: boolean;
  /** `eq(any).{1,2}` → compare against any/all of `value` (an array). */
  quantifier?: 'any' | 'all';
  /**
   * - `in`: an array of scalars.
   * - `is`: an IsValue.
   * - `cs`/`cd`/`ov`/range operators: the literal as text (`{1,2}`, `[1,5)`, or JSON text for jsonb), bound and cast
   *   to the column's type.
   * - `fts` family: the query text; `ftsConfig` names the text search configuration (`fts(english).cat`).
   * - everything else: a scalar (or an array with a quantifier).
   */
  value: Scalar | Scalar[];
  ftsConfig?: string;
  /** Structured gateway only: `"col"::<columnCast> <op> $n::<valueCast>`. */
  columnCast?: Cast;
  valueCast?: Cast;
}

export interface OrderTerm {
  column: ColumnPath;
  direction: 'asc' | 'desc';
  nulls?: 'first' | 'last';
  /** `order=author(name).desc`: order by a column of a to-one embedded relation (its alias or name). */
  relation?: string;
}

export type AggregateFunction = 'count' | 'sum' | 'avg' | 'min' | 'max';

export type SelectItem = SelectStar | SelectColumn | SelectCount | SelectEmbed;

export interface SelectStar {
  kind: 'star';
}

export interface SelectColumn {
  kind: 'column';
  column: ColumnPath;
  alias?: string;
  /** `col::text` */
  cast?: Cast;
  /** `amount.sum()`; with aggregates present, the plain columns become the GROUP BY. */
  aggregate?: { fn: AggregateFunction; cast?: Cast };
}

/** `count()` with no column: `SELECT count(*)` (grouped by the plain columns). */
export interface SelectCount {
  kind: 'count';
  alias?: string;
  cast?: Cast;
}

/** An embedded relation, resolved through a foreign key (either direction) or a junction table. */
export interface SelectEmbed {
  kind: 'embed';
  /** Table (or view) name, or the name of a foreign key / column acting as the relation, as PostgREST allows. */
  relation: string;
  schema?: string;
  alias?: string;
  /** `rel!fk_name` or `rel!column`: disambiguates several foreign keys. */
  hint?: string;
  /** `rel!inner(…)`: only parent rows that have a match. */
  inner?: boolean;
  /** `...rel(…)`: to-one spread, the embedded columns go into the parent row. */
  spread?: boolean;
  /** Structured gateway `via`: a junction table for many-to-many. */
  via?: string;
  select: SelectItem[];
  /** Filters, order and page of the embedded rows (`rel.col=eq.x`, `rel.order=…`, `rel.limit=…`). */
  filter?: Filter;
  order?: OrderTerm[];
  limit?: number;
  offset?: number;
}

export type CountMode = 'exact' | 'planned' | 'estimated';

export interface TableRef {
  schema: string;
  table: string;
}

export interface ReadQuery extends TableRef {
  select: SelectItem[];
  filter?: Filter;
  order?: OrderTerm[];
  limit?: number;
  offset?: number;
  count?: CountMode;
}

/** What a write returns: nothing, or these select items over the affected rows (`RETURNING`). */
export type Returning = SelectItem[] | null;

export interface InsertCommand extends TableRef {
  rows: Record<string, unknown>[];
  /** PostgREST `columns=`: only these keys are inserted (others ignored); default: the union of the rows' keys. */
  columns?: string[];
  /** A key missing from a row: SQL DEFAULT (`missing=default`, Atrium's default) or NULL. */
  missing: 'default' | 'null';
  onConflict?: {
    columns?: string[];
    action: 'merge' | 'ignore';
    /**
     * `merge` only: `DO UPDATE SET` these values (Athena's `/gateway/insert` `update_body`) instead of every inserted
     * non-key column from `EXCLUDED` (PostgREST's `resolution=merge-duplicates`).
     */
    set?: Record<string, unknown>;
  };
  returning: Returning;
}

export interface UpdateCommand extends TableRef {
  set: Record<string, unknown>;
  filter?: Filter;
  /** PostgREST allows `limit` with `order` on PATCH/DELETE. */
  order?: OrderTerm[];
  limit?: number;
  returning: Returning;
}

export interface DeleteCommand extends TableRef {
  filter?: Filter;
  /**
   * Athena's `/gateway/delete` `resource_id`: the row whose single-column primary key (from the catalog; an `id`
   * column when there is no primary key) equals this value. ANDed with `filter` when both are set.
   */
  byPrimaryKey?: string;
  order?: OrderTerm[];
  limit?: number;
  returning: Returning;
}

export interface RpcCall {
  schema: string;
  fn: string;
  /** Named arguments. A function with one unnamed json/jsonb argument may take the whole object. */
  args: Record<string, unknown>;
  select?: SelectItem[];
  filter?: Filter;
  order?: OrderTerm[];
  limit?: number;
  offset?: number;
  count?: CountMode;
  /** GET/HEAD calls run read-only: a volatile function answers PostgREST's 405. */
  readOnly: boolean;
}

/** A parameterised SQL statement. */
export interface CompiledStatement {
  text: string;
  values: unknown[];
}
