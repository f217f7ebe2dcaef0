import type { RestRequest, RestResponse } from '../engine/types.ts';
import {
  AthenaClientNamesDocument,
  type AthenaFunctionInfoFieldsFragment,
  AthenaSchemaColumnsDocument,
  AthenaSchemaInfoDocument,
  AthenaSchemaMigrationsDocument,
  AthenaSchemaTablesDocument,
  AthenaSchemaUniqueConstraintsDocument,
} from '../generated/graphql.ts';
import { athenaErrorBody, statusOfCode } from './answer.ts';
import { graphql, group } from './policy.ts';

/*
 * Schema introspection (G2, docs/athena.md "Schema and DDL"): bare objects as the contract's schemas are bare.
 * `/clients` and `/schema/clients` need the admin key; the other reads follow the gateway's key policy, which the
 * service applies (with enforcement off anyone may read; a key must be bound to the client and hold
 * `management.read` or `gateway.fetch.execute`).
 */

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const client = (req: RestRequest) => first(req.headers['x-athena-client']) ?? '';
const queryText = (req: RestRequest, name: string) => {
  const v = req.coerced.query[name];
  return v === undefined || v === null ? undefined : String(v);
};

type DataOf<T> = T extends { data: infer D } ? D : never;

/**
 * Maps a result union: the success member's `data` through `map`; any `Error` member (AthenaError, or another
 * expected failure) to Athena's envelope with the catalog status of its code.
 */
export function answerData<T extends { __typename: string }>(
  r: T | null | undefined,
  map: (data: DataOf<T>) => RestResponse,
): RestResponse {
  if (!r) throw new Error('Athena: GraphQL result without data');
  if ('data' in r) return map((r as { data: DataOf<T> }).data);
  const e = r as { code?: string; message?: string };
  const code = e.code ?? 'error';
  const status = statusOfCode(code);
  return { status, body: athenaErrorBody(status, e.message ?? 'Request failed', code) };
}

/** A function row in the management and schema answers (snake_case, as the rest of the contract). */
export function functionBody(f: AthenaFunctionInfoFieldsFragment) {
  return {
    schema_name: f.schema,
    function_name: f.name,
    arguments: f.arguments,
    arg_types: f.argTypes,
    return_type: f.returnType,
    language: f.language,
    volatility: f.volatility,
    security_definer: f.securityDefiner,
    ...(f.definition === null ? {} : { definition: f.definition }),
  };
}

const clientNames = graphql({
  policy: { admin: true },
  document: AthenaClientNamesDocument,
  variables: () => ({}),
  respond: ({ athenaClientNames }) => ({ status: 200, body: { clients: athenaClientNames } }),
});

export const athenaSchemaOperations = group('schema', 'test/athena/schema.test.ts', {
  get_clients: clientNames,
  get_schema_clients: clientNames,

  get_schema: graphql({
    policy: {},
    document: AthenaSchemaInfoDocument,
    // The contract declares no parameters for GET /schema; `schema` picks the schema (default public).
    extraQuery: ['schema'],
    variables: (req) => ({ client: client(req), schema: first(req.query.schema) }),
    respond: ({ athenaSchema }) =>
      answerData(athenaSchema, (s) => ({
        status: 200,
        body: {
          schema: s.name,
          tables: s.tables.map((t) => ({
            name: t.name,
            kind: t.kind,
            columns: t.columns.map((c) => ({
              name: c.name,
              data_type: c.type,
              nullable: c.nullable,
              default: c.default,
              identity: c.identity,
              generated: c.generated,
              position: c.position,
            })),
            primary_key: t.primaryKey,
            foreign_keys: t.foreignKeys.map((f) => ({
              name: f.name,
              columns: f.columns,
              referenced_schema: f.refSchema,
              referenced_table: f.refTable,
              referenced_columns: f.refColumns,
            })),
            unique_constraints: t.uniqueConstraints,
            indexes: t.indexes,
          })),
          views: s.views,
          functions: s.functions.map(functionBody),
          extensions: s.extensions,
        },
      })),
  }),

  get_schema_tables: graphql({
    policy: {},
    document: AthenaSchemaTablesDocument,
    variables: (req) => ({ client: client(req) }),
    respond: ({ athenaSchemaTables }) =>
      answerData(athenaSchemaTables, (data) => ({
        status: 200,
        body: { tables: data.map((t) => ({ table_schema: t.schema, table_name: t.name })) },
      })),
  }),

  get_schema_columns: graphql({
    policy: {},
    document: AthenaSchemaColumnsDocument,
    variables: (req) => ({
      client: client(req),
      table: queryText(req, 'table_name') ?? '',
      schema: queryText(req, 'table_schema'),
    }),
    respond: ({ athenaSchemaColumns }) =>
      answerData(athenaSchemaColumns, (data) => ({
        status: 200,
        body: {
          columns: data.map((c) => ({
            column_name: c.name,
            data_type: c.dataType,
            column_default: c.default,
            is_nullable: c.nullable ? 'YES' : 'NO',
            table_schema: c.schema,
            ordinal_position: c.position,
          })),
        },
      })),
  }),

  get_schema_constraints: graphql({
    policy: {},
    document: AthenaSchemaUniqueConstraintsDocument,
    variables: (req) => ({
      client: client(req),
      table: queryText(req, 'table_name') ?? '',
      schema: queryText(req, 'table_schema'),
    }),
    respond: ({ athenaSchemaUniqueConstraints }) =>
      answerData(athenaSchemaUniqueConstraints, (data) => ({
        status: 200,
        body: { constraints: data.map((c) => ({ constraint_name: c.name, columns: c.columns })) },
      })),
  }),

  get_schema_migrations: graphql({
    policy: {},
    document: AthenaSchemaMigrationsDocument,
    variables: (req) => ({ client: client(req) }),
    respond: ({ athenaSchemaMigrations }) =>
      answerData(athenaSchemaMigrations, (data) => ({
        status: 200,
        body: { migrations: data.migrations, ...(data.message === null ? {} : { message: data.message }) },
      })),
  }),
});
