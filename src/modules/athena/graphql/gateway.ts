import { GraphQLError } from 'graphql';
import { builder } from '../../../core/builder.ts';
import { DomainError } from '../../../core/errors.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import { AthenaError, AthenaInvalidInputError } from '../athena.errors.ts';
import { allowedCasts, type Cast, filterOperators, type ReadQuery } from '../gateway/ast.ts';
import { GatewayError } from '../gateway/errors.ts';
import {
  type FilterInput,
  fromFilterInput,
  fromOrderInput,
  fromSelectInput,
  GatewayInputError,
  type OrderInput,
  type SelectInput,
} from '../gateway/input.ts';
import type { RowsResult } from '../gateway.service.ts';
import type { RowsChange } from '../row-changes.ts';

/*
 * Gateway reads and writes over any client table (G1, docs/athena.md): a typed filter (the same closed operator set
 * as PostgREST, no SQL strings), typed select items with embedding through foreign keys, rows as JSON.
 */

builder.objectType(GatewayError, {
  name: 'AthenaGatewayError',
  description:
    'The database or the gateway refused the request. `code` is PostgREST’s (PGRST100 bad filter, PGRST200 no ' +
    'relationship, PGRST201 ambiguous embed, PGRST202 no function, PGRST204 unknown column, PGRST205 unknown ' +
    'table, …) or the Postgres SQLSTATE (23505 unique violation, 42703 undefined column, …).',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    details: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'More detail, when there is any: the database’s text, or (PGRST201) the candidate relationships as objects.',
      resolve: (e) => e.details,
    }),
    hint: t.string({ nullable: true, description: 'How to fix it, when known.', resolve: (e) => e.hint }),
  }),
});

const gatewayErrors = {
  types: [AthenaError, GatewayError],
  union: { description: 'The result, or why the gateway refused it.' },
  result: { description: 'The gateway answered.' },
  dataField: { description: 'The result.' },
};

const upper = (s: string) => s.toUpperCase().replaceAll(' ', '_');

export const AthenaFilterOperatorEnum = builder.enumType('AthenaFilterOperator', {
  description: 'Comparison operators of gateway filters (PostgREST 12’s set).',
  values: Object.fromEntries(
    filterOperators.map((op) => [upper(op), { value: op, description: `PostgREST \`${op}\`.` }]),
  ) as Record<string, { value: (typeof filterOperators)[number]; description: string }>,
});

export const AthenaCastEnum = builder.enumType('AthenaCast', {
  description: 'Types a value or column may be cast to (a closed list).',
  values: Object.fromEntries(allowedCasts.map((c) => [upper(c), { value: c, description: `\`::${c}\`` }])) as Record<
    string,
    { value: Cast; description: string }
  >,
});

const AthenaAggregateEnum = builder.enumType('AthenaAggregate', {
  description: 'Aggregate functions over a column; the plain columns of the select become the grouping.',
  values: {
    COUNT: { value: 'count' as const, description: 'count(column)' },
    SUM: { value: 'sum' as const, description: 'sum(column)' },
    AVG: { value: 'avg' as const, description: 'avg(column)' },
    MIN: { value: 'min' as const, description: 'min(column)' },
    MAX: { value: 'max' as const, description: 'max(column)' },
  },
});

const AthenaQuantifierEnum = builder.enumType('AthenaQuantifier', {
  description: 'Compare against any or all of a list of values.',
  values: {
    ANY: { value: 'any' as const, description: 'True when any value matches.' },
    ALL: { value: 'all' as const, description: 'True when every value matches.' },
  },
});

export const AthenaCountModeEnum = builder.enumType('AthenaCountMode', {
  description: 'How the total is counted.',
  values: {
    EXACT: { value: 'exact' as const, description: 'count(*) of every matching row.' },
    PLANNED: { value: 'planned' as const, description: 'The planner’s estimate.' },
    ESTIMATED: { value: 'estimated' as const, description: 'Exact up to a threshold, then the planner’s estimate.' },
  },
});

const AthenaDirectionEnum = builder.enumType('AthenaSortDirection', {
  description: 'Sort direction.',
  values: {
    ASC: { value: 'asc' as const, description: 'Ascending.' },
    DESC: { value: 'desc' as const, description: 'Descending.' },
  },
});

const AthenaNullsEnum = builder.enumType('AthenaNullsOrder', {
  description: 'Where nulls sort.',
  values: {
    FIRST: { value: 'first' as const, description: 'Nulls first.' },
    LAST: { value: 'last' as const, description: 'Nulls last.' },
  },
});

const AthenaJsonStepInput = builder.inputType('AthenaJsonStepInput', {
  description: 'One step into a JSON column: an object key or an array index (`->`), or as text (`->>`).',
  fields: (t) => ({
    key: t.string({ required: false, description: 'Object key.' }),
    index: t.int({ required: false, description: 'Array index.' }),
    text: t.boolean({ required: false, description: 'Take this step as text (`->>`); default JSON (`->`).' }),
  }),
});

export const AthenaFilterInput = builder.inputRef<FilterInput>('AthenaFilterInput').implement({
  description:
    'A filter node: exactly one of `and`, `or`, `not`, or a condition (`column` + `op` + `value`). Values are bound ' +
    'as parameters; columns are checked against the live catalog.',
  fields: (t) => ({
    and: t.field({ type: [AthenaFilterInput], required: false, description: 'All of these.' }),
    or: t.field({ type: [AthenaFilterInput], required: false, description: 'Any of these.' }),
    not: t.field({ type: AthenaFilterInput, required: false, description: 'The negation of this.' }),
    column: t.string({ required: false, description: 'The column compared.' }),
    path: t.field({ type: [AthenaJsonStepInput], required: false, description: 'A path into a JSON column.' }),
    op: t.field({ type: AthenaFilterOperatorEnum, required: false, description: 'The comparison.' }),
    // The JSON scalar's input type is `unknown`, which Pothos' input-shape check cannot accept on a typed ref.
    value: (t.field as any)({
      type: 'JSON',
      required: false,
      description:
        'The value: a scalar; a list for IN and quantifiers; for IS one of "null", "not_null", "true", "false", ' +
        '"unknown"; literal text for array/range operators (`{1,2}`, `[1,5)`).',
    }),
    quantifier: t.field({
      type: AthenaQuantifierEnum,
      required: false,
      description: 'Compare with any/all of a list.',
    }),
    ftsConfig: t.string({ required: false, description: 'Text search configuration of FTS operators (e.g. english).' }),
    columnCast: t.field({ type: AthenaCastEnum, required: false, description: 'Cast the column before comparing.' }),
    valueCast: t.field({ type: AthenaCastEnum, required: false, description: 'Cast the value before comparing.' }),
  }),
});

export const AthenaOrderInput = builder.inputRef<OrderInput>('AthenaOrderInput').implement({
  description: 'One sort key.',
  fields: (t) => ({
    column: t.string({ required: true, description: 'The column (or, with `relation`, a column of a to-one embed).' }),
    path: t.field({ type: [AthenaJsonStepInput], required: false, description: 'A path into a JSON column.' }),
    direction: t.field({ type: AthenaDirectionEnum, required: false, description: 'Default ascending.' }),
    nulls: t.field({ type: AthenaNullsEnum, required: false, description: 'Where nulls sort.' }),
    relation: t.string({ required: false, description: 'The to-one embedded relation the column belongs to.' }),
  }),
});

export const AthenaSelectInput = builder.inputRef<SelectInput>('AthenaSelectInput').implement({
  description: 'One select item: exactly one of `star`, `column`, `count` or `embed`.',
  fields: (t) => ({
    star: t.boolean({ required: false, description: 'Every column (`*`).' }),
    column: t.string({ required: false, description: 'A column.' }),
    path: t.field({ type: [AthenaJsonStepInput], required: false, description: 'A path into a JSON column.' }),
    alias: t.string({ required: false, description: 'The key in the result row.' }),
    cast: t.field({ type: AthenaCastEnum, required: false, description: 'Cast the value.' }),
    aggregate: t.field({ type: AthenaAggregateEnum, required: false, description: 'Aggregate the column.' }),
    aggregateCast: t.field({ type: AthenaCastEnum, required: false, description: 'Cast the aggregate.' }),
    count: t.boolean({ required: false, description: 'count(*) of the group.' }),
    embed: t.field({ type: AthenaEmbedInput, required: false, description: 'Rows of a related table.' }),
  }),
});

const AthenaEmbedInput = builder.inputRef<NonNullable<SelectInput['embed']>>('AthenaEmbedInput').implement({
  description: 'An embedded relation, resolved through a foreign key in either direction or a junction table.',
  fields: (t) => ({
    relation: t.string({ required: true, description: 'The related table (or foreign key name).' }),
    schema: t.string({ required: false, description: 'Its schema, when not the parent’s.' }),
    alias: t.string({ required: false, description: 'The key in the parent row.' }),
    hint: t.string({ required: false, description: 'The foreign key (or column) to use when several relate.' }),
    inner: t.boolean({ required: false, description: 'Only parent rows with a related row.' }),
    spread: t.boolean({ required: false, description: 'Put a to-one relation’s columns into the parent row.' }),
    via: t.string({ required: false, description: 'A junction table for many-to-many.' }),
    select: t.field({ type: [AthenaSelectInput], required: true, description: 'What to take of it.' }),
    filter: t.field({ type: AthenaFilterInput, required: false, description: 'Filter the related rows.' }),
    orderBy: t.field({ type: [AthenaOrderInput], required: false, description: 'Order the related rows.' }),
    first: t.int({ required: false, description: 'At most this many related rows.' }),
    offset: t.int({ required: false, description: 'Skip this many related rows.' }),
  }),
});

const AthenaOnConflictInput = builder.inputType('AthenaOnConflictInput', {
  description: 'What an insert does when a row already exists.',
  fields: (t) => ({
    columns: t.stringList({
      required: false,
      description: 'The conflict target (a unique key); default: the primary key.',
    }),
    action: t.field({
      type: builder.enumType('AthenaConflictAction', {
        description: 'The action on conflict.',
        values: {
          MERGE: { value: 'merge' as const, description: 'Update the existing row with the given columns.' },
          IGNORE: { value: 'ignore' as const, description: 'Keep the existing row.' },
        },
      }),
      required: true,
      description: 'Merge or ignore.',
    }),
    set: t.field({
      type: 'JSON',
      required: false,
      description: 'MERGE only: set these column values on the existing row instead of the inserted ones.',
    }),
  }),
});

export const AthenaRowsRef = builder.objectRef<RowsResult>('AthenaRows').implement({
  description: 'Rows of a client table (or of a function), as JSON objects, with the counts.',
  fields: (t) => ({
    rows: t.field({
      type: ['JSON'],
      description: 'The rows, each a JSON object keyed by the selected names.',
      resolve: (r) => (r.body === null ? [] : (JSON.parse(r.body) as unknown[])),
    }),
    pageCount: t.exposeInt('pageTotal', { description: 'Rows in this page (or affected by the write).' }),
    totalCount: t.int({
      nullable: true,
      description: 'Every matching row, when a count was asked for.',
      resolve: (r) => r.total,
    }),
    offset: t.exposeInt('offset', { description: 'Rows skipped before this page.' }),
  }),
});

function objectOf(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new GatewayInputError(`${what} is a JSON object`);
  return v as Record<string, unknown>;
}

/** Turns a malformed input shape into the field's invalid-input failure. */
function inputs<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof GatewayInputError) throw new AthenaInvalidInputError(err.message);
    throw err;
  }
}

/** The read the arguments of `athenaRows` and `athenaExplainRows` describe. */
function readQueryOf(a: {
  table: string;
  schema?: string | null;
  select?: SelectInput[] | null;
  filter?: FilterInput | null;
  orderBy?: OrderInput[] | null;
  first?: number | null;
  offset?: number | null;
  count?: 'exact' | 'planned' | 'estimated' | null;
}): ReadQuery {
  return {
    schema: a.schema ?? 'public',
    table: a.table,
    select: a.select ? a.select.map((s) => fromSelectInput(s)) : [{ kind: 'star' }],
    ...(a.filter ? { filter: fromFilterInput(a.filter) } : {}),
    ...(a.orderBy ? { order: a.orderBy.map(fromOrderInput) } : {}),
    ...(a.first !== null && a.first !== undefined ? { limit: a.first } : {}),
    ...(a.offset !== null && a.offset !== undefined ? { offset: a.offset } : {}),
    ...(a.count ? { count: a.count } : {}),
  };
}

/** Where a gateway operation runs: the client (or an allowlisted direct URI) and the table. */
const targetArgs = builder.args((t) => ({
  directUri: t.string({
    required: false,
    description:
      'A direct PostgreSQL URI (`postgres://user:password@host/db`; REST `x-pg-uri`) to run on instead of the ' +
      'client: only hosts the operator allowlisted, its own credentials authorize, `client` is then ignored.',
  }),
  client: t.string({ required: true, description: 'The Athena client (X-Athena-Client).' }),
  table: t.string({ required: true, description: 'The table or view.' }),
  schema: t.string({ required: false, description: 'Its schema (default public).' }),
}));

/** The arguments of a read (`athenaRows`, `athenaFeatures`). */
const readArgs = builder.args((t) => ({
  ...targetArgs,
  select: t.field({ type: [AthenaSelectInput], required: false, description: 'What to read (default `*`).' }),
  filter: t.field({ type: AthenaFilterInput, required: false, description: 'Which rows.' }),
  orderBy: t.field({ type: [AthenaOrderInput], required: false, description: 'Their order.' }),
  first: t.int({ required: false, description: 'At most this many rows (capped by the server).' }),
  offset: t.int({ required: false, description: 'Skip this many rows.' }),
  count: t.field({ type: AthenaCountModeEnum, required: false, description: 'Also count every matching row.' }),
}));

builder.queryField('athenaRows', (t) =>
  t.field({
    type: AthenaRowsRef,
    description: 'Reads rows of a client table: filtered, ordered, paged, with related rows embedded.',
    errors: gatewayErrors,
    args: readArgs,
    resolve: (_root, a, ctx) =>
      ctx.services.athena.gateway.read(ctx.principal, {
        client: a.client,
        ...(a.directUri ? { directUri: a.directUri } : {}),
        query: inputs(() => readQueryOf(a)),
      }),
  }),
);

export const AthenaFeatureCollectionRef = builder.objectRef<RowsResult>('AthenaFeatureCollection').implement({
  description: 'A page of rows as one GeoJSON FeatureCollection (RFC 7946), built by PostGIS on the client database.',
  fields: (t) => ({
    featureCollection: t.field({
      type: 'JSON',
      description:
        '`{type: "FeatureCollection", features: [...]}`: each row a Feature, its geometry column the geometry and ' +
        'its other selected columns the properties.',
      resolve: (r) => (r.body === null ? { type: 'FeatureCollection', features: [] } : JSON.parse(r.body)),
    }),
    pageCount: t.exposeInt('pageTotal', { description: 'Features in this page.' }),
    totalCount: t.int({
      nullable: true,
      description: 'Every matching row, when a count was asked for.',
      resolve: (r) => r.total,
    }),
    offset: t.exposeInt('offset', { description: 'Rows skipped before this page.' }),
  }),
});

builder.queryField('athenaFeatures', (t) =>
  t.field({
    type: AthenaFeatureCollectionRef,
    description:
      'Reads rows of a client table with a PostGIS geometry column as a GeoJSON FeatureCollection (REST: ' +
      '`Accept: application/geo+json`); the same filters, ordering, paging and embedding as `athenaRows`.',
    errors: gatewayErrors,
    args: readArgs,
    resolve: (_root, a, ctx) =>
      ctx.services.athena.gateway.read(ctx.principal, {
        client: a.client,
        ...(a.directUri ? { directUri: a.directUri } : {}),
        query: inputs(() => readQueryOf(a)),
        format: 'geojson',
      }),
  }),
);

builder.queryField('athenaExplainRows', (t) =>
  t.field({
    type: 'JSON',
    description: 'The execution plan (EXPLAIN FORMAT JSON) of the read `athenaRows` would run with these arguments.',
    errors: gatewayErrors,
    args: {
      client: t.arg.string({ required: true, description: 'The Athena client (X-Athena-Client).' }),
      table: t.arg.string({ required: true, description: 'The table or view.' }),
      schema: t.arg.string({ required: false, description: 'Its schema (default public).' }),
      select: t.arg({ type: [AthenaSelectInput], required: false, description: 'What to read (default `*`).' }),
      filter: t.arg({ type: AthenaFilterInput, required: false, description: 'Which rows.' }),
      orderBy: t.arg({ type: [AthenaOrderInput], required: false, description: 'Their order.' }),
      first: t.arg.int({ required: false, description: 'At most this many rows.' }),
      offset: t.arg.int({ required: false, description: 'Skip this many rows.' }),
      analyze: t.arg.boolean({ required: false, description: 'EXPLAIN ANALYZE: run the read and report timings.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.gateway.explainRead(ctx.principal, {
        client: a.client,
        analyze: a.analyze === true,
        query: inputs(() => readQueryOf(a)),
      }),
  }),
);

builder.mutationField('athenaInsertRows', (t) =>
  t.field({
    type: AthenaRowsRef,
    description: 'Inserts rows (an upsert with `onConflict`); a key missing from a row takes the column default.',
    errors: gatewayErrors,
    args: {
      ...targetArgs,
      rows: t.arg({ type: ['JSON'], required: true, description: 'The rows, JSON objects keyed by column.' }),
      columns: t.arg.stringList({ required: false, description: 'Only these keys are inserted.' }),
      missingAsNull: t.arg.boolean({ required: false, description: 'A missing key is NULL instead of DEFAULT.' }),
      onConflict: t.arg({ type: AthenaOnConflictInput, required: false, description: 'Upsert behaviour.' }),
      rollback: t.arg.boolean({
        required: false,
        description: 'Run the write and answer, then roll it back (PostgREST `Prefer: tx=rollback`).',
      }),
      maxAffected: t.arg.int({
        required: false,
        description: 'Refuse (and roll back) a write affecting more rows than this (`handling=strict, max-affected`).',
      }),
      returning: t.arg({
        type: [AthenaSelectInput],
        required: false,
        description: 'What to return of the affected rows (default: nothing but the count).',
      }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.gateway.insert(ctx.principal, {
        client: a.client,
        ...(a.rollback ? { rollback: true } : {}),
        ...(a.maxAffected != null ? { maxAffected: a.maxAffected } : {}),
        ...(a.directUri ? { directUri: a.directUri } : {}),
        command: inputs(() => ({
          schema: a.schema ?? 'public',
          table: a.table,
          rows: a.rows.map((r) => {
            if (r === null || typeof r !== 'object' || Array.isArray(r)) {
              throw new GatewayInputError('each row is a JSON object');
            }
            return r as Record<string, unknown>;
          }),
          ...(a.columns ? { columns: a.columns } : {}),
          missing: a.missingAsNull ? ('null' as const) : ('default' as const),
          ...(a.onConflict
            ? {
                onConflict: {
                  action: a.onConflict.action,
                  ...(a.onConflict.columns ? { columns: a.onConflict.columns } : {}),
                  ...(a.onConflict.set ? { set: objectOf(a.onConflict.set, 'onConflict.set') } : {}),
                },
              }
            : {}),
          returning: a.returning ? a.returning.map((s) => fromSelectInput(s)) : null,
        })),
      }),
  }),
);

builder.mutationField('athenaUpdateRows', (t) =>
  t.field({
    type: AthenaRowsRef,
    description: 'Updates the rows a filter matches (the filter is required: no whole-table updates).',
    errors: gatewayErrors,
    args: {
      ...targetArgs,
      set: t.arg({ type: 'JSON', required: true, description: 'Column → new value.' }),
      filter: t.arg({ type: AthenaFilterInput, required: true, description: 'Which rows.' }),
      rollback: t.arg.boolean({
        required: false,
        description: 'Run the write and answer, then roll it back (PostgREST `Prefer: tx=rollback`).',
      }),
      maxAffected: t.arg.int({
        required: false,
        description: 'Refuse (and roll back) a write affecting more rows than this (`handling=strict, max-affected`).',
      }),
      returning: t.arg({
        type: [AthenaSelectInput],
        required: false,
        description: 'What to return of the affected rows (default: nothing but the count).',
      }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.gateway.update(ctx.principal, {
        client: a.client,
        ...(a.rollback ? { rollback: true } : {}),
        ...(a.maxAffected != null ? { maxAffected: a.maxAffected } : {}),
        ...(a.directUri ? { directUri: a.directUri } : {}),
        command: inputs(() => {
          if (a.set === null || typeof a.set !== 'object' || Array.isArray(a.set)) {
            throw new GatewayInputError('set is a JSON object of column → value');
          }
          return {
            schema: a.schema ?? 'public',
            table: a.table,
            set: a.set as Record<string, unknown>,
            filter: fromFilterInput(a.filter),
            returning: a.returning ? a.returning.map((s) => fromSelectInput(s)) : null,
          };
        }),
      }),
  }),
);

builder.mutationField('athenaDeleteRows', (t) =>
  t.field({
    type: AthenaRowsRef,
    description: 'Deletes the rows a filter matches, or the row with a primary key (one of them is required).',
    errors: gatewayErrors,
    args: {
      ...targetArgs,
      filter: t.arg({ type: AthenaFilterInput, required: false, description: 'Which rows.' }),
      primaryKey: t.arg.string({
        required: false,
        description: 'The row whose single-column primary key (or `id` column) equals this value.',
      }),
      rollback: t.arg.boolean({
        required: false,
        description: 'Run the write and answer, then roll it back (PostgREST `Prefer: tx=rollback`).',
      }),
      maxAffected: t.arg.int({
        required: false,
        description: 'Refuse (and roll back) a write affecting more rows than this (`handling=strict, max-affected`).',
      }),
      returning: t.arg({
        type: [AthenaSelectInput],
        required: false,
        description: 'What to return of the affected rows (default: nothing but the count).',
      }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.gateway.delete(ctx.principal, {
        client: a.client,
        ...(a.rollback ? { rollback: true } : {}),
        ...(a.maxAffected != null ? { maxAffected: a.maxAffected } : {}),
        ...(a.directUri ? { directUri: a.directUri } : {}),
        command: inputs(() => {
          if (!a.filter && (a.primaryKey === null || a.primaryKey === undefined)) {
            throw new GatewayInputError('a delete needs a filter or a primaryKey (no whole-table deletes)');
          }
          return {
            schema: a.schema ?? 'public',
            table: a.table,
            ...(a.filter ? { filter: fromFilterInput(a.filter) } : {}),
            ...(a.primaryKey !== null && a.primaryKey !== undefined ? { byPrimaryKey: a.primaryKey } : {}),
            returning: a.returning ? a.returning.map((s) => fromSelectInput(s)) : null,
          };
        }),
      }),
  }),
);

builder.mutationField('athenaCallFunction', (t) =>
  t.field({
    type: AthenaRowsRef,
    description: 'Calls a Postgres function with named arguments (RPC); set-returning results can be filtered.',
    errors: gatewayErrors,
    args: {
      client: t.arg.string({ required: true, description: 'The Athena client.' }),
      function: t.arg.string({ required: true, description: 'The function’s name.' }),
      schema: t.arg.string({ required: false, description: 'Its schema (default public).' }),
      args: t.arg({ type: 'JSON', required: false, description: 'Named arguments, a JSON object.' }),
      select: t.arg({ type: [AthenaSelectInput], required: false, description: 'Columns of the result.' }),
      filter: t.arg({ type: AthenaFilterInput, required: false, description: 'Filter the result rows.' }),
      orderBy: t.arg({ type: [AthenaOrderInput], required: false, description: 'Order the result rows.' }),
      first: t.arg.int({ required: false, description: 'At most this many rows.' }),
      offset: t.arg.int({ required: false, description: 'Skip this many rows.' }),
      count: t.arg({ type: AthenaCountModeEnum, required: false, description: 'Also count the result rows.' }),
      readOnly: t.arg.boolean({
        required: false,
        description: 'Run in a read-only transaction (a volatile function is refused).',
      }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.gateway.rpc(ctx.principal, {
        client: a.client,
        call: inputs(() => {
          if (a.args !== null && a.args !== undefined && (typeof a.args !== 'object' || Array.isArray(a.args))) {
            throw new GatewayInputError('args is a JSON object of argument name → value');
          }
          return {
            schema: a.schema ?? 'public',
            fn: a.function,
            args: (a.args ?? {}) as Record<string, unknown>,
            ...(a.select ? { select: a.select.map((s) => fromSelectInput(s)) } : {}),
            ...(a.filter ? { filter: fromFilterInput(a.filter) } : {}),
            ...(a.orderBy ? { order: a.orderBy.map(fromOrderInput) } : {}),
            ...(a.first !== null && a.first !== undefined ? { limit: a.first } : {}),
            ...(a.offset !== null && a.offset !== undefined ? { offset: a.offset } : {}),
            ...(a.count ? { count: a.count } : {}),
            readOnly: a.readOnly === true,
          };
        }),
      }),
  }),
);

const AthenaSqlResultRef = builder
  .objectRef<{ rows: Record<string, unknown>[]; rowCount: number; command: string; fields: { name: string }[] }>(
    'AthenaSqlResult',
  )
  .implement({
    description: 'The outcome of one raw SQL statement.',
    fields: (t) => ({
      rows: t.field({
        type: ['JSON'],
        description: 'Rows it returned (capped by the server).',
        resolve: (r) => r.rows,
      }),
      rowCount: t.exposeInt('rowCount', { description: 'Rows returned or affected.' }),
      command: t.exposeString('command', { description: 'The statement kind (SELECT, INSERT, CREATE TABLE, …).' }),
      columns: t.stringList({
        description: 'Names of the result columns.',
        resolve: (r) => r.fields.map((f) => f.name),
      }),
    }),
  });

builder.mutationField('athenaExecuteSql', (t) =>
  t.field({
    type: AthenaSqlResultRef,
    description:
      'Runs exactly one SQL statement (checked by the Postgres parser) in its own transaction with the statement ' +
      'timeout; read-only unless the key holds gateway.query.write.',
    errors: gatewayErrors,
    args: {
      directUri: t.arg.string({
        required: false,
        description:
          'A direct PostgreSQL URI (`postgres://user:password@host/db`; REST `x-pg-uri`) to run on instead of the ' +
          'client: only hosts the operator allowlisted, its own credentials authorize, `client` is then ignored.',
      }),
      client: t.arg.string({ required: true, description: 'The Athena client.' }),
      sql: t.arg.string({ required: true, description: 'One statement.' }),
      schema: t.arg.string({ required: false, description: 'search_path becomes this schema, then public.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.gateway.sql(ctx.principal, {
        client: a.client,
        ...(a.directUri ? { directUri: a.directUri } : {}),
        sql: a.sql,
        ...(a.schema ? { schema: a.schema } : {}),
      }),
  }),
);

const AthenaCountRef = builder
  .objectRef<{ count: number; cacheKey: string; outcome: 'hit_local' | 'miss' | 'bypass'; durationMs: number }>(
    'AthenaRowCount',
  )
  .implement({
    description: 'A cached row count.',
    fields: (t) => ({
      count: t.exposeInt('count', { description: 'The number of rows.' }),
      cacheKey: t.exposeString('cacheKey', { description: 'The cache entry this count lives in.' }),
      cacheOutcome: t.field({
        type: builder.enumType('AthenaCacheOutcome', {
          description: 'Where the answer came from.',
          values: {
            HIT_LOCAL: { value: 'hit_local' as const, description: 'This instance’s cache.' },
            MISS: { value: 'miss' as const, description: 'Counted now and cached.' },
            BYPASS: { value: 'bypass' as const, description: 'Counted now; the cache was skipped on request.' },
          },
        }),
        description: 'Cache hit, miss or bypass.',
        resolve: (r) => r.outcome,
      }),
      durationMs: t.float({ description: 'Time taken, milliseconds.', resolve: (r) => r.durationMs }),
    }),
  });

builder.queryField('athenaCountRows', (t) =>
  t.field({
    type: AthenaCountRef,
    description:
      'Counts the rows of a table, or runs a count query (one SELECT of one count(…), checked by the Postgres ' +
      'parser), cached until a gateway write to its tables.',
    errors: gatewayErrors,
    args: {
      client: t.arg.string({ required: true, description: 'The Athena client.' }),
      table: t.arg.string({ required: false, description: 'The table (or give `query`).' }),
      schema: t.arg.string({ required: false, description: 'The table’s schema (default public).' }),
      query: t.arg.string({ required: false, description: 'A count query (or give `table`).' }),
      bypassCache: t.arg.boolean({ required: false, description: 'Count now, ignoring a cached answer.' }),
    },
    resolve: (_root, a, ctx) => {
      if ((a.table == null) === (a.query == null)) {
        throw new AthenaInvalidInputError('give exactly one of table and query');
      }
      return ctx.services.athena.gateway.count(ctx.principal, {
        client: a.client,
        ...(a.table != null ? { table: a.table, schema: a.schema ?? 'public' } : {}),
        ...(a.query != null ? { query: a.query } : {}),
        bypassCache: a.bypassCache === true,
      });
    },
  }),
);

const AthenaRowOpEnum = builder.enumType('AthenaRowOp', {
  description: 'What happened to the rows.',
  values: {
    INSERT: { value: 'INSERT' as const, description: 'Rows were inserted.' },
    UPDATE: { value: 'UPDATE' as const, description: 'Rows were updated.' },
    DELETE: { value: 'DELETE' as const, description: 'Rows were deleted (only their keys are known).' },
  },
});

const AthenaRowsChangeRef = builder.objectRef<RowsChange>('AthenaRowsChange').implement({
  description: 'A batch of changes to rows of one table.',
  fields: (t) => ({
    op: t.field({ type: AthenaRowOpEnum, description: 'The operation.', resolve: (c) => c.op }),
    rows: t.field({
      type: ['JSON'],
      description: 'The changed rows that match the filter, as selected (empty for deletes).',
      resolve: (c) => c.rows,
    }),
    keys: t.field({
      type: ['JSON'],
      description: 'Primary-key values of every row changed in this batch, as JSON objects.',
      resolve: (c) => c.keys,
    }),
  }),
});

builder.subscriptionField('gatewayRowsChanged', (t) =>
  t.field({
    type: AthenaRowsChangeRef,
    description:
      'Changes to rows of a client table that match a filter: writes through the gateway and by anyone else ' +
      '(a row trigger NOTIFYs, every instance LISTENs). One query per batch and distinct filter, not per subscriber.',
    args: {
      client: t.arg.string({ required: true, description: 'The Athena client.' }),
      table: t.arg.string({ required: true, description: 'The table (it needs a primary key).' }),
      schema: t.arg.string({ required: false, description: 'Its schema (default public).' }),
      filter: t.arg({ type: AthenaFilterInput, required: false, description: 'Only rows matching this.' }),
      select: t.arg({ type: [AthenaSelectInput], required: false, description: 'What to deliver of them.' }),
    },
    subscribe: async (_root, a, ctx) => {
      try {
        return await ctx.services.athena.changes.subscribe(ctx.principal, {
          client: a.client,
          schema: a.schema ?? 'public',
          table: a.table,
          ...(a.filter ? { filter: inputs(() => fromFilterInput(a.filter as FilterInput)) } : {}),
          ...(a.select ? { select: inputs(() => (a.select as SelectInput[]).map((s) => fromSelectInput(s))) } : {}),
        });
      } catch (e) {
        // Subscriptions have no result union: surface the expected failure with its code (not masked).
        if (e instanceof DomainError) throw new GraphQLError(e.message, { extensions: { code: e.code } });
        throw e;
      }
    },
    resolve: (change) => change,
  }),
);
