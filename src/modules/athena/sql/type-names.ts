import { quoteIdent } from './identifiers.ts';
import { nameList, nodeOf, type PgFields } from './parser.ts';

/*
 * Type names as Postgres' parser produces them (a TypeName node: `names`, `typmods`, `arrayBounds`): SQL-standard
 * spellings arrive as `pg_catalog.<internal>` (`integer` → pg_catalog.int4, `character varying` → varchar), internal
 * names written directly arrive unqualified (`int4`, `bool`). Checks look at this node, never at the type's text.
 */

/** A builtin base type the column-type allow-list knows: its canonical spelling and how many typmods it takes. */
interface BuiltinType {
  canonical: string;
  maxTypmods: number;
  /** Inclusive bounds for each typmod (precision, scale, length). */
  bounds?: [number, number][];
}

const maxLength = 10_485_760;
/** Internal name → builtin (the column data types Athena's management routes allow, §G2 allowed_column_data_types). */
export const builtinTypes: ReadonlyMap<string, BuiltinType> = new Map<string, BuiltinType>([
  ['text', { canonical: 'text', maxTypmods: 0 }],
  ['varchar', { canonical: 'character varying', maxTypmods: 1, bounds: [[1, maxLength]] }],
  ['bpchar', { canonical: 'character', maxTypmods: 1, bounds: [[1, maxLength]] }],
  ['int2', { canonical: 'smallint', maxTypmods: 0 }],
  ['int4', { canonical: 'integer', maxTypmods: 0 }],
  ['int8', { canonical: 'bigint', maxTypmods: 0 }],
  [
    'numeric',
    {
      canonical: 'numeric',
      maxTypmods: 2,
      bounds: [
        [1, 1000],
        [0, 1000],
      ],
    },
  ],
  ['float4', { canonical: 'real', maxTypmods: 0 }],
  ['float8', { canonical: 'double precision', maxTypmods: 0 }],
  ['bool', { canonical: 'boolean', maxTypmods: 0 }],
  ['date', { canonical: 'date', maxTypmods: 0 }],
  ['time', { canonical: 'time without time zone', maxTypmods: 1, bounds: [[0, 6]] }],
  ['timestamp', { canonical: 'timestamp without time zone', maxTypmods: 1, bounds: [[0, 6]] }],
  ['timestamptz', { canonical: 'timestamp with time zone', maxTypmods: 1, bounds: [[0, 6]] }],
  ['interval', { canonical: 'interval', maxTypmods: 0 }],
  ['uuid', { canonical: 'uuid', maxTypmods: 0 }],
  ['json', { canonical: 'json', maxTypmods: 0 }],
  ['jsonb', { canonical: 'jsonb', maxTypmods: 0 }],
  ['bytea', { canonical: 'bytea', maxTypmods: 0 }],
  ['inet', { canonical: 'inet', maxTypmods: 0 }],
  ['cidr', { canonical: 'cidr', maxTypmods: 0 }],
]);

/** The capability list `allowed_column_data_types` (each also allowed as an array, `text[]`). */
export const allowedColumnDataTypes: readonly string[] = [
  'text',
  'varchar(n)',
  'char(n)',
  'smallint',
  'integer',
  'bigint',
  'numeric(p,s)',
  'real',
  'double precision',
  'boolean',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'interval',
  'uuid',
  'json',
  'jsonb',
  'bytea',
  'inet',
  'cidr',
];

/** What a TypeName node says, read from the parse tree. */
export interface TypeNameInfo {
  /** The name parts as written/resolved by the grammar (`['pg_catalog', 'int4']`, `['public', 'mood']`). */
  names: string[];
  /** The type's own name (last part). */
  baseName: string;
  /** The schema when qualified (`pg_catalog` for SQL-standard spellings). */
  schema: string | null;
  /** Integer typmods; null when one is not an integer constant. */
  typmods: number[] | null;
  /** Array dimensions (`text[][]` is 2). */
  arrayDimensions: number;
  /** `SETOF` or `%TYPE`: not a plain type. */
  special: boolean;
}

/** Reads a TypeName's fields. */
export function typeNameInfo(typeName: PgFields): TypeNameInfo {
  const names = nameList(typeName.names);
  let typmods: number[] | null = [];
  for (const mod of (typeName.typmods ?? []) as unknown[]) {
    const c = nodeOf(mod);
    if (c?.type !== 'A_Const' || c.fields.ival === undefined) {
      typmods = null;
      break;
    }
    typmods.push(Number((c.fields.ival as PgFields).ival ?? 0));
  }
  return {
    names,
    baseName: names.at(-1) ?? '',
    schema: names.length > 1 ? (names.at(-2) as string) : null,
    typmods,
    arrayDimensions: ((typeName.arrayBounds ?? []) as unknown[]).length,
    special: Boolean(typeName.setof) || Boolean(typeName.pct_type),
  };
}

/** The builtin a TypeName names, when it is one (unqualified internal name or pg_catalog-qualified). */
export function builtinOf(info: TypeNameInfo): (BuiltinType & { internal: string }) | undefined {
  if (info.names.length > 2 || (info.names.length === 2 && info.schema !== 'pg_catalog')) return undefined;
  const b = builtinTypes.get(info.baseName);
  return b ? { ...b, internal: info.baseName } : undefined;
}

/** Why a builtin's typmods are out of range (undefined when fine). */
export function typmodProblem(b: BuiltinType, typmods: number[] | null): string | undefined {
  if (typmods === null) return `${b.canonical} takes integer modifiers only`;
  if (typmods.length > b.maxTypmods) {
    return b.maxTypmods === 0
      ? `${b.canonical} takes no modifiers`
      : `${b.canonical} takes at most ${b.maxTypmods} modifiers`;
  }
  for (const [i, v] of typmods.entries()) {
    const [lo, hi] = b.bounds?.[i] ?? [0, 0];
    if (v < lo || v > hi) return `${b.canonical} modifier ${v} is outside ${lo}..${hi}`;
  }
  if (b.canonical === 'numeric' && typmods.length === 2 && (typmods[1] as number) > (typmods[0] as number)) {
    return 'numeric scale must not exceed its precision';
  }
  return undefined;
}

/** Prints a TypeName: builtins canonically (`character varying(20)`), others quoted (`"public"."mood"[]`). */
export function printTypeName(info: TypeNameInfo): string {
  const b = builtinOf(info);
  const mods = info.typmods && info.typmods.length > 0 ? `(${info.typmods.join(',')})` : '';
  const base = b
    ? b.canonical.replace(
        /^(time|timestamp)( with(out)? time zone)$/,
        (_m, t: string, zone: string) => `${t}${mods}${zone}`,
      )
    : info.names.map(quoteIdent).join('.');
  const withMods = b && /time zone$/.test(b.canonical) ? base : `${base}${mods}`;
  return `${withMods}${'[]'.repeat(info.arrayDimensions)}`;
}
