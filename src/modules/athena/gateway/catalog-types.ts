/*
 * What the compiler knows about a client database: read once per client from pg_catalog (`catalog.ts`), cached,
 * and refreshed after management DDL or a raw statement the parser classifies as DDL.
 */

export interface CatalogColumn {
  name: string;
  /** `format_type(atttypid, atttypmod)`: `integer`, `text[]`, `character varying(20)`, `public.mood`. */
  type: string;
  /** The base type's name (`int4`, `text`, `jsonb`; for arrays the element type's). */
  typeName: string;
  isArray: boolean;
  /** `b` base, `e` enum, `c` composite, `d` domain, `r` range. */
  typeKind: string;
  nullable: boolean;
  hasDefault: boolean;
  generated: boolean;
  identity: boolean;
  /** 1-based attnum. */
  position: number;
  description?: string | null;
}

export type RelationKind = 'table' | 'view' | 'materialized_view' | 'foreign_table' | 'partitioned_table';

export interface CatalogRelation {
  schema: string;
  name: string;
  kind: RelationKind;
  columns: CatalogColumn[];
  primaryKey: string[];
  /** Unique constraints and unique indexes (besides the primary key), each a column list. */
  uniques: { name: string; columns: string[] }[];
  insertable: boolean;
  updatable: boolean;
  deletable: boolean;
  description?: string | null;
}

export interface CatalogForeignKey {
  name: string;
  schema: string;
  table: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
}

export interface CatalogFunctionArg {
  /** Null for an unnamed argument. */
  name: string | null;
  type: string;
  mode: 'in' | 'out' | 'inout' | 'variadic' | 'table';
  hasDefault: boolean;
  /** When the argument's type is a relation's row type (`f(t films)`): that relation (computed fields). */
  relation?: { schema: string; name: string };
}

export interface CatalogFunction {
  schema: string;
  name: string;
  oid: number;
  args: CatalogFunctionArg[];
  /** `format_type(prorettype)`: `integer`, `setof public.films` is `public.films` with returnsSet. */
  returnType: string;
  returnsSet: boolean;
  /** A base/enum/domain return (one value per row) as opposed to a composite, a table row type or `TABLE (…)`. */
  returnsScalar: boolean;
  returnsVoid: boolean;
  /** The relation whose row type it returns (`setof films`), for embedding on RPC results. */
  returnsRelation?: { schema: string; name: string };
  /** A standalone composite return type's (`CREATE TYPE … AS (…)`) columns, in order. */
  returnColumns?: { name: string; type: string }[];
  volatility: 'immutable' | 'stable' | 'volatile';
  kind: 'function' | 'procedure' | 'aggregate' | 'window';
  language: string;
  description?: string | null;
}

export interface Catalog {
  /** Keyed by `${schema}.${name}`. */
  relations: Map<string, CatalogRelation>;
  foreignKeys: CatalogForeignKey[];
  /** Keyed by `${schema}.${name}`; overloads share a key. */
  functions: Map<string, CatalogFunction[]>;
  /** Schemas that exist (not only exposed ones). */
  schemas: string[];
  /** Installed extensions. */
  extensions: { name: string; version: string; schema: string }[];
  /** When it was read. */
  readAt: Date;
}

/** What runs SQL on a client database: a pooled pg client, a PGlite instance, or a transaction of either. */
export interface Queryable {
  query<R = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null; fields: { name: string; dataTypeID: number }[] }>;
}
