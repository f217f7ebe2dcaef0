import type {
  Catalog,
  CatalogColumn,
  CatalogForeignKey,
  CatalogFunction,
  CatalogFunctionArg,
  CatalogRelation,
  Queryable,
  RelationKind,
} from './catalog-types.ts';

/*
 * Reads a client database's catalog in one round trip: a single statement returns one JSON document with every
 * relation, constraint, function, schema and extension, built from pg_catalog only (no information_schema: it
 * hides objects the role cannot use and is slow). The statement uses nothing newer than Postgres 12, so the same
 * text runs on PGlite and on Postgres 15. Partitions are left out (their partitioned table is the resource, as in
 * PostgREST), and so are the foreign keys Postgres clones onto partitions (conparentid <> 0).
 */

const systemSchemas = ['pg_catalog', 'information_schema', 'pg_toast'];

/*
 * `$1` is the schema filter (NULL: every non-system schema). Arrays of the function's argument types are
 * unnested WITH ORDINALITY so names and modes stay aligned; defaults are the last `pronargdefaults` inputs,
 * worked out in TypeScript.
 */
const catalogSql = `
WITH ns AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
    AND ($1::text[] IS NULL OR n.nspname = ANY($1::text[]))
),
rels AS (
  SELECT c.oid, ns.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class') AS description,
         pg_relation_is_updatable(c.oid::regclass, false) AS upd
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
),
cols AS (
  SELECT a.attrelid, json_agg(json_build_object(
           'name', a.attname,
           'type', format_type(a.atttypid, a.atttypmod),
           'typeName', coalesce(et.typname, t.typname),
           'isArray', et.oid IS NOT NULL,
           'typeKind', coalesce(et.typtype, t.typtype),
           'nullable', NOT a.attnotnull,
           'hasDefault', a.atthasdef OR a.attidentity <> '',
           'generated', a.attgenerated <> '',
           'identity', a.attidentity <> '',
           'position', a.attnum,
           'description', col_description(a.attrelid, a.attnum)
         ) ORDER BY a.attnum) AS columns
  FROM pg_attribute a
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_type et ON t.typcategory = 'A' AND et.oid = t.typelem AND t.typelem <> 0
  WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid IN (SELECT oid FROM rels)
  GROUP BY a.attrelid
),
keys AS (
  SELECT i.indrelid, i.indisprimary, ic.relname AS name,
         array(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND 0 <> ALL (i.indkey::int2[])
    AND i.indrelid IN (SELECT oid FROM rels)
),
fks AS (
  SELECT json_build_object(
    'name', con.conname, 'schema', sn.nspname, 'table', sc.relname,
    'columns', array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
    'refSchema', tn.nspname, 'refTable', tc.relname,
    'refColumns', array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
  ) AS fk
  FROM pg_constraint con
  JOIN pg_class sc ON sc.oid = con.conrelid JOIN pg_namespace sn ON sn.oid = sc.relnamespace
  JOIN pg_class tc ON tc.oid = con.confrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  WHERE con.contype = 'f' AND con.conparentid = 0 AND (con.conrelid IN (SELECT oid FROM rels) OR con.confrelid IN (SELECT oid FROM rels))
),
procs AS (
  SELECT json_build_object(
    'schema', ns.nspname, 'name', p.proname, 'oid', p.oid::int8,
    'argTypes', array(SELECT format_type(t, NULL) FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]))
                      WITH ORDINALITY x(t, ord) ORDER BY ord),
    'argRelations', array(SELECT CASE WHEN tc.oid IS NULL THEN NULL ELSE tn.nspname || '.' || tc.relname END
                          FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY x(t, ord)
                          LEFT JOIN pg_type ty ON ty.oid = x.t
                          LEFT JOIN pg_class tc ON tc.oid = ty.typrelid AND tc.relkind IN ('r', 'v', 'm', 'f', 'p')
                          LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                          ORDER BY ord),
    'argNames', p.proargnames, 'argModes', p.proargmodes, 'nargDefaults', p.pronargdefaults,
    'returnType', format_type(p.prorettype, NULL), 'returnsSet', p.proretset,
    'returnTypeKind', rt.typtype, 'returnTypeName', rt.typname,
    'returnRelation', CASE WHEN rc.relkind IN ('r', 'v', 'm', 'f', 'p')
                           THEN json_build_object('schema', rn.nspname, 'name', rc.relname) END,
    'returnColumns', CASE WHEN rc.relkind = 'c' THEN
      (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod))
                       ORDER BY a.attnum)
       FROM pg_attribute a WHERE a.attrelid = rc.oid AND a.attnum > 0 AND NOT a.attisdropped) END,
    'volatility', p.provolatile, 'kind', p.prokind, 'language', l.lanname,
    'description', obj_description(p.oid, 'pg_proc')
  ) AS fn
  FROM pg_proc p
  JOIN ns ON ns.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
  JOIN pg_type rt ON rt.oid = p.prorettype
  LEFT JOIN pg_class rc ON rc.oid = rt.typrelid
  LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
)
SELECT json_build_object(
  'relations', (SELECT coalesce(json_agg(json_build_object(
      'schema', r.nspname, 'name', r.relname, 'kind', r.relkind, 'description', r.description, 'upd', r.upd,
      'columns', coalesce(c.columns, '[]'::json),
      'keys', (SELECT coalesce(json_agg(json_build_object('name', k.name, 'primary', k.indisprimary,
                                                          'columns', k.columns) ORDER BY k.name), '[]'::json)
               FROM keys k WHERE k.indrelid = r.oid)
    ) ORDER BY r.nspname, r.relname), '[]'::json)
    FROM rels r LEFT JOIN cols c ON c.attrelid = r.oid),
  'foreignKeys', (SELECT coalesce(json_agg(fk), '[]'::json) FROM fks),
  'functions', (SELECT coalesce(json_agg(fn), '[]'::json) FROM procs),
  'schemas', (SELECT coalesce(json_agg(n.nspname ORDER BY n.nspname), '[]'::json) FROM pg_namespace n
              WHERE n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'),
  'extensions', (SELECT coalesce(json_agg(json_build_object('name', e.extname, 'version', e.extversion,
                                                            'schema', en.nspname) ORDER BY e.extname), '[]'::json)
                 FROM pg_extension e JOIN pg_namespace en ON en.oid = e.extnamespace)
)::text AS catalog`;

interface RawRelation {
  schema: string;
  name: string;
  kind: 'r' | 'v' | 'm' | 'f' | 'p';
  description: string | null;
  upd: number;
  columns: CatalogColumn[];
  keys: { name: string; primary: boolean; columns: string[] }[];
}

interface RawFunction {
  schema: string;
  name: string;
  oid: number;
  argTypes: string[];
  argRelations: (string | null)[];
  argNames: string[] | null;
  argModes: string[] | null;
  nargDefaults: number;
  returnType: string;
  returnsSet: boolean;
  returnTypeKind: string;
  returnTypeName: string;
  returnRelation: { schema: string; name: string } | null;
  returnColumns: { name: string; type: string }[] | null;
  volatility: 'i' | 's' | 'v';
  kind: 'f' | 'p' | 'a' | 'w';
  language: string;
  description: string | null;
}

interface RawCatalog {
  relations: RawRelation[];
  foreignKeys: CatalogForeignKey[];
  functions: RawFunction[];
  schemas: string[];
  extensions: { name: string; version: string; schema: string }[];
}

const relationKinds: Record<RawRelation['kind'], RelationKind> = {
  r: 'table',
  v: 'view',
  m: 'materialized_view',
  f: 'foreign_table',
  p: 'partitioned_table',
};

const argModes: Record<string, CatalogFunctionArg['mode']> = {
  i: 'in',
  o: 'out',
  b: 'inout',
  v: 'variadic',
  t: 'table',
};

// pg_relation_is_updatable's bit mask is 1 << CmdType: CMD_UPDATE = 2, CMD_INSERT = 3, CMD_DELETE = 4.
const updatableBit = 1 << 2;
const insertableBit = 1 << 3;
const deletableBit = 1 << 4;

function toRelation(raw: RawRelation): CatalogRelation {
  const primary = raw.keys.find((k) => k.primary);
  const uniques = raw.keys.filter((k) => !k.primary).map((k) => ({ name: k.name, columns: k.columns }));
  const kind = relationKinds[raw.kind];
  // Materialized views refuse every write; tables and partitioned tables take all three.
  const writable = kind === 'table' || kind === 'partitioned_table';
  return {
    schema: raw.schema,
    name: raw.name,
    kind,
    columns: raw.columns,
    primaryKey: primary?.columns ?? [],
    uniques,
    insertable: writable || (kind !== 'materialized_view' && (raw.upd & insertableBit) !== 0),
    updatable: writable || (kind !== 'materialized_view' && (raw.upd & updatableBit) !== 0),
    deletable: writable || (kind !== 'materialized_view' && (raw.upd & deletableBit) !== 0),
    description: raw.description,
  };
}

function toFunction(raw: RawFunction): CatalogFunction {
  const args: CatalogFunctionArg[] = raw.argTypes.map((type, i) => {
    const relation = raw.argRelations[i];
    const arg: CatalogFunctionArg = {
      name: raw.argNames?.[i] ? raw.argNames[i] : null,
      type,
      mode: argModes[raw.argModes?.[i] ?? 'i'] ?? 'in',
      hasDefault: false,
    };
    if (relation) {
      const dot = relation.indexOf('.');
      arg.relation = { schema: relation.slice(0, dot), name: relation.slice(dot + 1) };
    }
    return arg;
  });
  // The defaults belong to the last `pronargdefaults` input arguments (in, inout, variadic).
  const inputs = args.filter((a) => a.mode === 'in' || a.mode === 'inout' || a.mode === 'variadic');
  for (let i = inputs.length - raw.nargDefaults; i < inputs.length; i++) {
    const input = inputs[i];
    if (input) input.hasDefault = true;
  }
  const hasOutArgs = args.some((a) => a.mode === 'out' || a.mode === 'inout' || a.mode === 'table');
  const returnsVoid = raw.returnTypeName === 'void' && raw.returnTypeKind === 'p';
  const returnsScalar = !hasOutArgs && !returnsVoid && ['b', 'e', 'd', 'r', 'm'].includes(raw.returnTypeKind);
  const fn: CatalogFunction = {
    schema: raw.schema,
    name: raw.name,
    oid: Number(raw.oid),
    args,
    returnType: raw.returnType,
    returnsSet: raw.returnsSet,
    returnsScalar,
    returnsVoid,
    volatility: raw.volatility === 'i' ? 'immutable' : raw.volatility === 's' ? 'stable' : 'volatile',
    kind: raw.kind === 'p' ? 'procedure' : raw.kind === 'a' ? 'aggregate' : raw.kind === 'w' ? 'window' : 'function',
    language: raw.language,
    description: raw.description,
  };
  if (raw.returnRelation) fn.returnsRelation = raw.returnRelation;
  if (raw.returnColumns) fn.returnColumns = raw.returnColumns;
  return fn;
}

/**
 * Reads the catalog of the database behind `q` in one statement. `schemas` limits relations and functions to
 * those schemas (default: every schema except pg_catalog, information_schema and pg_toast); `Catalog.schemas`
 * always lists every schema.
 */
export async function readCatalog(q: Queryable, opts: { schemas?: string[] } = {}): Promise<Catalog> {
  const filter = opts.schemas ? opts.schemas.filter((s) => !systemSchemas.includes(s)) : null;
  const result = await q.query<{ catalog: string }>(catalogSql, [filter === null ? null : toPgTextArray(filter)]);
  const text = result.rows[0]?.catalog;
  if (typeof text !== 'string') throw new Error('catalog query returned no row');
  const raw = JSON.parse(text) as RawCatalog;
  const relations = new Map<string, CatalogRelation>();
  for (const r of raw.relations) relations.set(`${r.schema}.${r.name}`, toRelation(r));
  const functions = new Map<string, CatalogFunction[]>();
  for (const f of raw.functions) {
    const key = `${f.schema}.${f.name}`;
    const list = functions.get(key) ?? [];
    list.push(toFunction(f));
    functions.set(key, list);
  }
  return {
    relations,
    foreignKeys: raw.foreignKeys,
    functions,
    schemas: raw.schemas,
    extensions: raw.extensions,
    readAt: new Date(),
  };
}

/** A Postgres array literal of text elements (every element quoted), bound as one text parameter. */
export function toPgTextArray(values: readonly (string | null)[]): string {
  const parts = values.map((v) => (v === null ? 'NULL' : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`));
  return `{${parts.join(',')}}`;
}

/**
 * Per-client cached catalogs. One read in flight per key: concurrent `get`s share it. A read that fails is not
 * cached. `invalidate` during a read makes that read's result stale: it is returned to the callers already
 * waiting but not kept.
 */
export class CatalogCache {
  readonly #entries = new Map<string, Catalog>();
  readonly #inFlight = new Map<string, { generation: number; promise: Promise<Catalog> }>();
  readonly #generations = new Map<string, number>();
  readonly #read: (q: Queryable) => Promise<Catalog>;

  constructor(opts: { schemas?: string[]; read?: (q: Queryable) => Promise<Catalog> } = {}) {
    const schemas = opts.schemas;
    this.#read = opts.read ?? ((q) => readCatalog(q, schemas ? { schemas } : {}));
  }

  /** The cached catalog for `key`, read through `q` when absent. */
  get(key: string, q: Queryable): Promise<Catalog> {
    const cached = this.#entries.get(key);
    if (cached) return Promise.resolve(cached);
    const generation = this.#generations.get(key) ?? 0;
    const pending = this.#inFlight.get(key);
    if (pending && pending.generation === generation) return pending.promise;
    const promise = this.#read(q).then(
      (catalog) => {
        if ((this.#generations.get(key) ?? 0) === generation) this.#entries.set(key, catalog);
        if (this.#inFlight.get(key)?.promise === promise) this.#inFlight.delete(key);
        return catalog;
      },
      (err: unknown) => {
        if (this.#inFlight.get(key)?.promise === promise) this.#inFlight.delete(key);
        throw err;
      },
    );
    this.#inFlight.set(key, { generation, promise });
    return promise;
  }

  /** Drops `key`'s catalog (after DDL); the next `get` reads again. */
  invalidate(key: string): void {
    this.#entries.delete(key);
    this.#generations.set(key, (this.#generations.get(key) ?? 0) + 1);
  }
}
