import { Counter, type Registry } from 'prom-client';
import type { Principal } from '../../core/auth/principal.ts';
import { principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { AuthorizationError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { type AthenaRight, boundClient, holdsRight, isAthenaAdmin, requireClientRight } from './athena.access.ts';
import type { AthenaConfig } from './athena.config.ts';
import { AthenaError, AthenaInvalidInputError } from './athena.errors.ts';
import type { AthenaClientsService } from './clients.service.ts';
import type { Queryable } from './gateway/catalog-types.ts';
import type { AthenaGatewayService } from './gateway.service.ts';
import type { ClientDatabase } from './pools.ts';
import { SqlRejectedError, SqlSyntaxError } from './sql/errors.ts';
import { createViewSql, validateDataType, validateDefaultExpression, validateFunctionDdl } from './sql/fragments.ts';
import { checkIdentifier, maxIdentifierBytes, quoteIdent, quoteQualified } from './sql/identifiers.ts';
import { parseStatements } from './sql/parser.ts';
import { allowedColumnDataTypes } from './sql/type-names.ts';

/*
 * Schema introspection and management DDL (G2, docs/athena.md "Schema and DDL"). Reads go to the client database's
 * own catalogs with every value bound. DDL is built from checked, double-quoted identifiers, keywords from closed
 * lists and fragments that sql/fragments.ts parsed and re-printed (or, for function DDL, parsed to exactly one
 * CREATE OR REPLACE FUNCTION); it runs in one tenant transaction, is audited in `athena_ddl_audit` (platform DB,
 * checked writable before any DDL), and drops the gateway's cached catalog of the client afterwards.
 */

/** Index access methods management may use (each also has to exist in the database's pg_am). */
export const indexMethodAllowlist = ['btree', 'hash', 'gist', 'gin', 'brin', 'spgist'] as const;
export type IndexMethod = (typeof indexMethodAllowlist)[number];

/** Every management operation and the right it requires (`ManagementCapabilities.required_rights`). */
export const managementOperations: readonly { operation: string; right: AthenaRight }[] = [
  { operation: 'capabilities', right: 'management.read' },
  { operation: 'create_table', right: 'management.tables.write' },
  { operation: 'edit_table', right: 'management.tables.write' },
  { operation: 'drop_table', right: 'management.tables.drop' },
  { operation: 'drop_column', right: 'management.columns.drop' },
  { operation: 'create_index', right: 'management.indexes.write' },
  { operation: 'drop_index', right: 'management.indexes.drop' },
  { operation: 'create_view', right: 'management.views.write' },
  { operation: 'drop_view', right: 'management.views.drop' },
  { operation: 'list_functions', right: 'management.functions.read' },
  { operation: 'upsert_function', right: 'management.functions.write' },
  { operation: 'drop_function', right: 'management.functions.drop' },
  { operation: 'install_extension', right: 'management.extensions.write' },
];

/** A row of `GET /schema/tables`. */
export interface SchemaTableRef {
  schema: string;
  name: string;
  /** information_schema's `table_type`: `BASE TABLE`, `VIEW`, `FOREIGN`, … */
  type: string;
}

/** A row of `GET /schema/columns` (information_schema.columns). */
export interface SchemaColumnInfo {
  schema: string;
  table: string;
  name: string;
  dataType: string | null;
  default: string | null;
  nullable: boolean;
  position: number;
}

/** A unique constraint (`GET /schema/constraints`). */
export interface UniqueConstraintInfo {
  name: string;
  columns: string[];
}

/** `GET /schema/migrations`: Supabase's migration history, or none with a message when the table is absent. */
export interface MigrationsInfo {
  migrations: { version: string | null; name: string | null }[];
  message: string | null;
}

/** A column of a table in the full schema. */
export interface TableColumnInfo {
  name: string;
  /** `format_type`: `integer`, `character varying(20)`, `text[]`. */
  type: string;
  nullable: boolean;
  /** The default expression as Postgres prints it, or null. */
  default: string | null;
  /** `always` / `by_default` for identity columns, else null. */
  identity: string | null;
  /** The generation expression of a stored generated column, else null. */
  generated: string | null;
  position: number;
}

/** A foreign key of a table in the full schema. */
export interface ForeignKeyInfo {
  name: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
}

/** An index of a table in the full schema. */
export interface IndexInfo {
  name: string;
  method: string;
  unique: boolean;
  primary: boolean;
  /** Key columns (expressions appear as null). */
  columns: (string | null)[];
  /** `pg_get_indexdef`. */
  definition: string;
}

/** One table of the full schema. */
export interface TableInfo {
  name: string;
  kind: 'table' | 'partitioned_table' | 'foreign_table';
  columns: TableColumnInfo[];
  primaryKey: UniqueConstraintInfo | null;
  foreignKeys: ForeignKeyInfo[];
  uniqueConstraints: UniqueConstraintInfo[];
  indexes: IndexInfo[];
}

/** A view of the full schema. */
export interface ViewInfo {
  name: string;
  materialized: boolean;
  /** `pg_get_viewdef`. */
  definition: string;
}

/** A function (`GET /management/functions`, and the full schema). */
export interface FunctionInfo {
  schema: string;
  name: string;
  /** `pg_get_function_identity_arguments`: `a integer, b text`. */
  arguments: string;
  /** The identity argument types (`format_type`), what a drop names. */
  argTypes: string[];
  returnType: string;
  language: string;
  volatility: 'immutable' | 'stable' | 'volatile';
  securityDefiner: boolean;
  /** `pg_get_functiondef`, when asked for. */
  definition: string | null;
}

/** An installed extension. */
export interface ExtensionInfo {
  name: string;
  version: string;
  schema: string;
}

/** `GET /schema`: everything of one schema. */
export interface FullSchema {
  schema: string;
  tables: TableInfo[];
  views: ViewInfo[];
  functions: FunctionInfo[];
  extensions: ExtensionInfo[];
}

/** An extension management could install here (allow-listed and available). */
export interface AvailableExtension {
  name: string;
  defaultVersion: string | null;
  installedVersion: string | null;
}

/** `GET /management/capabilities`. */
export interface ManagementCapabilities {
  backend: 'postgres' | 'pglite';
  retentionMutationSupported: boolean;
  replicationMutationSupported: boolean;
  supportedOperations: string[];
  requiredRights: { operation: string; right: AthenaRight }[];
  allowedIndexMethods: string[];
  allowedColumnDataTypes: string[];
  availableExtensions: AvailableExtension[];
}

/** A column of a create-table or add-column request. */
export interface ColumnDefinitionInput {
  name: string;
  dataType: string;
  /** Default true. */
  nullable?: boolean | null;
  defaultExpression?: string | null;
}

/** Who asks, for which client; `requestId` goes into the audit row. */
export interface ManagementContext {
  client: string | undefined;
  requestId?: string;
}

/** One alteration of an edit-table request (applied in order, in one transaction). */
export type TableOperation =
  | { type: 'add_column'; column: ColumnDefinitionInput }
  | { type: 'rename_column'; from: string; to: string }
  | { type: 'set_default'; columnName: string; defaultExpression: string }
  | { type: 'drop_default'; columnName: string }
  | { type: 'set_not_null'; columnName: string }
  | { type: 'drop_not_null'; columnName: string };

export const tableOperationTypes = [
  'add_column',
  'rename_column',
  'set_default',
  'drop_default',
  'set_not_null',
  'drop_not_null',
] as const;

/** What a management DDL operation did. */
export interface DdlResult {
  operation: string;
  objectType: 'table' | 'column' | 'index' | 'view' | 'function' | 'extension';
  schema: string;
  name: string;
  /** The statements that ran, `;`-separated. */
  ddl: string;
  /** upsert_function: whether a function of that signature existed before. */
  replaced?: boolean;
}

const systemSchemas = ['pg_catalog', 'information_schema'];

/** A Postgres or PGlite server error (both carry a SQLSTATE and a severity). */
function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; severity?: unknown };
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string'
    ? e.code
    : undefined;
}

/** A database refusal of management DDL as an Athena error; anything that is not one is rethrown. */
function ddlFailure(err: unknown): AthenaError {
  if (err instanceof AthenaError) return err;
  const state = sqlState(err);
  if (!state) throw err;
  const message = (err as Error).message || 'the database refused the statement';
  if (['42P07', '42710', '42723', '42701', '42P06', '42P16'].includes(state)) {
    return new AthenaError('conflict', 409, message, { sqlstate: state });
  }
  if (state === '2BP01') return new AthenaError('conflict', 409, `${message} (use cascade)`, { sqlstate: state });
  if (['42P01', '42704', '42883', '42703', '3F000'].includes(state)) {
    return new AthenaError('schema_object_missing', 404, message, { sqlstate: state });
  }
  if (state === '57014') return new AthenaError('statement_timeout', 504, message, { sqlstate: state });
  if (state.startsWith('08') || state.startsWith('53') || state.startsWith('57')) throw err;
  return new AthenaError('ddl_failed', 400, message, { sqlstate: state });
}

/** The SQL checks' refusals as Athena errors (`invalid_identifier`, `invalid_default_expression`, …). */
function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw sqlRefusal(err);
  }
}

async function checkedAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw sqlRefusal(err);
  }
}

function sqlRefusal(err: unknown): unknown {
  if (err instanceof SqlRejectedError || err instanceof SqlSyntaxError) {
    return new AthenaError(err.code.toLowerCase(), 400, err.message);
  }
  return err;
}

const ident = (name: unknown, what: string) => checked(() => checkIdentifier(name, what));

/** Cuts a name to Postgres' 63-byte limit without splitting a UTF-8 character. */
export function truncateIdentifier(name: string): string {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= maxIdentifierBytes) return name;
  let end = maxIdentifierBytes;
  // Back off continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** `<table>_<col>_<col>_idx`, as Postgres-compatible clients expect, cut to 63 bytes. */
export function generatedIndexName(table: string, columns: string[]): string {
  return truncateIdentifier(`${table}_${columns.join('_')}_idx`);
}

type RelKind = 'r' | 'p' | 'f' | 'v' | 'm' | 'i' | 'I' | 'S' | 'c' | 't';

/**
 * The schema service (G2): typed introspection of a client database, its management capabilities, and audited
 * management DDL (tables, columns, indexes, views, functions, extensions).
 */
export class AthenaSchemaService {
  /** Management DDL runs by operation (a closed list) and outcome (ok, failed), on the app's /metrics. */
  private readonly ddlRuns: Counter<'operation' | 'status'>;

  constructor(
    private readonly deps: {
      clients: AthenaClientsService;
      gateway: AthenaGatewayService;
      prisma: PrismaClient;
      config: AthenaConfig;
      logger: Logger;
      registry: Registry;
      /** Athena's own `/metrics` (`athena_management_mutations_total{kind}`), counted per successful DDL. */
      countMutation: (kind: string) => void;
    },
  ) {
    this.ddlRuns = new Counter({
      name: 'atrium_athena_ddl_total',
      help: 'Athena management DDL statements run, by operation and status (ok, failed)',
      labelNames: ['operation', 'status'] as const,
      registers: [deps.registry],
    });
  }

  // ---- introspection -------------------------------------------------------------------------------------------

  /** Client names for `/clients` and `/schema/clients` (admin only; every client is Postgres-backed). */
  clientNames(principal: Principal): Promise<string[]> {
    return this.deps.clients.names(principal);
  }

  /** Tables and views of the client database outside the system schemas. */
  async tables(principal: Principal, input: { client: string | undefined }): Promise<SchemaTableRef[]> {
    const { db } = await this.openRead(principal, input.client);
    const rows = await this.read<{ table_schema: string; table_name: string; table_type: string }>(
      db,
      `SELECT table_schema::text, table_name::text, table_type::text FROM information_schema.tables
        WHERE table_schema <> ALL ($1::text[]) AND table_schema NOT LIKE 'pg\\_toast%'
        ORDER BY table_schema, table_name`,
      [systemSchemas],
    );
    return rows.map((r) => ({ schema: r.table_schema, name: r.table_name, type: r.table_type }));
  }

  /** Columns of a table (in every schema unless `schema` restricts it), in ordinal order. */
  async columns(
    principal: Principal,
    input: { client: string | undefined; table: string; schema?: string | null },
  ): Promise<SchemaColumnInfo[]> {
    const { db } = await this.openRead(principal, input.client);
    const table = ident(input.table, 'table_name');
    const schema = input.schema === undefined || input.schema === null ? null : ident(input.schema, 'table_schema');
    const rows = await this.read<Record<string, string | number | null>>(
      db,
      `SELECT table_schema::text, table_name::text, column_name::text, data_type::text, column_default::text,
              is_nullable::text, ordinal_position::int AS position
         FROM information_schema.columns
        WHERE table_name = $1 AND ($2::text IS NULL OR table_schema = $2)
        ORDER BY table_schema, ordinal_position`,
      [table, schema],
    );
    return rows.map((r) => ({
      schema: String(r.table_schema),
      table: String(r.table_name),
      name: String(r.column_name),
      dataType: r.data_type === null ? null : String(r.data_type),
      default: r.column_default === null ? null : String(r.column_default),
      nullable: r.is_nullable === 'YES',
      position: Number(r.position),
    }));
  }

  /** Unique constraints (not the primary key) of a table, columns in key order. */
  async uniqueConstraints(
    principal: Principal,
    input: { client: string | undefined; table: string; schema?: string | null },
  ): Promise<UniqueConstraintInfo[]> {
    const { db } = await this.openRead(principal, input.client);
    const table = ident(input.table, 'table_name');
    const schema = ident(input.schema ?? 'public', 'table_schema');
    const rows = await this.read<{ name: string; columns: string[] }>(
      db,
      `SELECT c.conname::text AS name,
              ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE c.contype = 'u' AND n.nspname = $1 AND t.relname = $2
        ORDER BY c.conname`,
      [schema, table],
    );
    return rows.map((r) => ({ name: r.name, columns: r.columns }));
  }

  /** `supabase_migrations.schema_migrations`, or an empty list with a message when the table does not exist. */
  async migrations(principal: Principal, input: { client: string | undefined }): Promise<MigrationsInfo> {
    const { db } = await this.openRead(principal, input.client);
    const [exists] = await this.read<{ oid: string | null }>(
      db,
      `SELECT to_regclass('supabase_migrations.schema_migrations')::text AS oid`,
      [],
    );
    if (!exists?.oid) {
      return { migrations: [], message: 'supabase_migrations.schema_migrations does not exist on this database' };
    }
    // to_jsonb reads `name` only where the table has it (older Supabase CLIs created the table without it).
    const rows = await this.read<{ version: string | null; name: string | null }>(
      db,
      `SELECT m.version::text AS version, to_jsonb(m) ->> 'name' AS name
         FROM supabase_migrations.schema_migrations m ORDER BY m.version`,
      [],
    );
    return { migrations: rows, message: null };
  }

  /** Everything in one schema (default public): tables with columns, keys and indexes; views; functions. */
  async fullSchema(
    principal: Principal,
    input: { client: string | undefined; schema?: string | null },
  ): Promise<FullSchema> {
    const { db } = await this.openRead(principal, input.client);
    const schema = ident(input.schema ?? 'public', 'schema');
    if (!(await this.schemaExists(db, schema))) {
      throw new AthenaError('schema_object_missing', 404, `schema "${schema}" does not exist`);
    }
    const relations = await this.read<{ name: string; kind: string; definition: string | null }>(
      db,
      `SELECT c.relname::text AS name, c.relkind::text AS kind,
              CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition
        ORDER BY c.relname`,
      [schema],
    );
    const columns = await this.read<{
      table_name: string;
      name: string;
      type: string;
      not_null: boolean;
      default: string | null;
      identity: string;
      generated: string;
      position: number;
    }>(
      db,
      `SELECT c.relname::text AS table_name, a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type,
              a.attnotnull AS not_null, a.attnum::int AS position, a.attidentity::text AS identity,
              a.attgenerated::text AS generated, pg_get_expr(d.adbin, d.adrelid) AS default
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum`,
      [schema],
    );
    const constraints = await this.read<{
      table_name: string;
      name: string;
      type: string;
      columns: string[];
      ref_schema: string | null;
      ref_table: string | null;
      ref_columns: string[] | null;
    }>(
      db,
      `SELECT t.relname::text AS table_name, c.conname::text AS name, c.contype::text AS type,
              ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
              rn.nspname::text AS ref_schema, r.relname::text AS ref_table,
              CASE WHEN c.contype = 'f' THEN
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
              END AS ref_columns
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         LEFT JOIN pg_class r ON r.oid = c.confrelid
         LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
        WHERE n.nspname = $1 AND c.contype IN ('p', 'u', 'f')
        ORDER BY t.relname, c.conname`,
      [schema],
    );
    const indexes = await this.read<{
      table_name: string;
      name: string;
      method: string;
      unique: boolean;
      primary: boolean;
      columns: (string | null)[];
      definition: string;
    }>(
      db,
      `SELECT t.relname::text AS table_name, i.relname::text AS name, am.amname::text AS method,
              x.indisunique AS unique, x.indisprimary AS primary, pg_get_indexdef(x.indexrelid) AS definition,
              ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                      LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                     WHERE k.ord <= x.indnkeyatts ORDER BY k.ord) AS columns
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_am am ON am.oid = i.relam
        WHERE n.nspname = $1
        ORDER BY t.relname, i.relname`,
      [schema],
    );
    const tables: TableInfo[] = [];
    const views: ViewInfo[] = [];
    for (const r of relations) {
      if (r.kind === 'v' || r.kind === 'm') {
        views.push({ name: r.name, materialized: r.kind === 'm', definition: (r.definition ?? '').trim() });
        continue;
      }
      const own = constraints.filter((c) => c.table_name === r.name);
      const pk = own.find((c) => c.type === 'p');
      tables.push({
        name: r.name,
        kind: r.kind === 'p' ? 'partitioned_table' : r.kind === 'f' ? 'foreign_table' : 'table',
        columns: columns
          .filter((c) => c.table_name === r.name)
          .map((c) => ({
            name: c.name,
            type: c.type,
            nullable: !c.not_null,
            default: c.generated === 's' ? null : c.default,
            identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by_default' : null,
            generated: c.generated === 's' ? c.default : null,
            position: Number(c.position),
          })),
        primaryKey: pk ? { name: pk.name, columns: pk.columns } : null,
        foreignKeys: own
          .filter((c) => c.type === 'f')
          .map((c) => ({
            name: c.name,
            columns: c.columns,
            refSchema: c.ref_schema ?? '',
            refTable: c.ref_table ?? '',
            refColumns: c.ref_columns ?? [],
          })),
        uniqueConstraints: own.filter((c) => c.type === 'u').map((c) => ({ name: c.name, columns: c.columns })),
        indexes: indexes
          .filter((i) => i.table_name === r.name)
          .map((i) => ({
            name: i.name,
            method: i.method,
            unique: i.unique,
            primary: i.primary,
            columns: i.columns,
            definition: i.definition,
          })),
      });
    }
    const functions = await this.functionRows(db, { schema, includeSystem: true, includeDefinition: false });
    const extensions = await this.read<ExtensionInfo>(
      db,
      `SELECT e.extname::text AS name, e.extversion::text AS version, n.nspname::text AS schema
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY e.extname`,
      [],
    );
    return { schema, tables, views, functions, extensions };
  }

  /** What management can do on this client's backend, and the right each operation needs. */
  async capabilities(principal: Principal, input: { client: string | undefined }): Promise<ManagementCapabilities> {
    const { db } = await this.openManagement(principal, input.client, 'management.read');
    return {
      backend: db.engine,
      retentionMutationSupported: false,
      replicationMutationSupported: false,
      supportedOperations: managementOperations.map((o) => o.operation),
      requiredRights: managementOperations.map((o) => ({ ...o })),
      allowedIndexMethods: await this.indexMethods(db),
      allowedColumnDataTypes: [...allowedColumnDataTypes],
      availableExtensions: await this.availableExtensions(db),
    };
  }

  /** Ordinary functions (`prokind = 'f'`), optionally filtered by schema and a substring of the name. */
  async functions(
    principal: Principal,
    input: {
      client: string | undefined;
      schema?: string | null;
      nameLike?: string | null;
      includeSystem?: boolean | null;
      includeDefinition?: boolean | null;
    },
  ): Promise<FunctionInfo[]> {
    const { db } = await this.openManagement(principal, input.client, 'management.functions.read');
    const schema = input.schema === undefined || input.schema === null ? null : ident(input.schema, 'schema');
    if (input.nameLike !== undefined && input.nameLike !== null && input.nameLike.length > 200) {
      throw new AthenaInvalidInputError('name_like is longer than 200 characters', 'invalid_parameter');
    }
    return this.functionRows(db, {
      schema,
      nameLike: input.nameLike ?? null,
      includeSystem: input.includeSystem === true,
      includeDefinition: input.includeDefinition === true,
    });
  }

  // ---- management DDL ------------------------------------------------------------------------------------------

  /** `CREATE TABLE`: 409 when any relation of that name exists (if_not_exists is accepted and ignored). */
  async createTable(
    principal: Principal,
    input: ManagementContext & { schema?: string | null; table: string; columns: ColumnDefinitionInput[] },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.tables.write');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const table = ident(input.table, 'table_name');
    if (!(await this.schemaExists(db, schema))) {
      throw new AthenaInvalidInputError(`schema "${schema}" does not exist`);
    }
    if (await this.relationKind(db, schema, table)) {
      throw new AthenaError('conflict', 409, `relation "${schema}"."${table}" already exists`);
    }
    const seen = new Set<string>();
    const definitions: string[] = [];
    for (const [i, column] of input.columns.entries()) {
      const name = ident(column.name, `columns[${i}].name`);
      if (seen.has(name)) throw new AthenaInvalidInputError(`column "${name}" is listed twice`);
      seen.add(name);
      definitions.push(await this.columnDefinition(db, column, `columns[${i}]`));
    }
    const ddl = `CREATE TABLE ${quoteQualified(schema, table)} (${definitions.join(', ')})`;
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'create_table',
      objectType: 'table',
      schema,
      name: table,
      statements: [ddl],
    });
  }

  /** `ALTER TABLE` steps, in order, in one transaction: all apply or none. */
  async editTable(
    principal: Principal,
    input: ManagementContext & { schema?: string | null; table: string; operations: TableOperation[] },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.tables.write');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const table = ident(input.table, 'table_name');
    if (input.operations.length === 0) throw new AthenaInvalidInputError('operations must not be empty');
    if (input.operations.length > 100) throw new AthenaInvalidInputError('at most 100 operations per request');
    await this.requireTable(db, schema, table);
    // The columns as they will be after each step, so a later step may use a column an earlier one added/renamed.
    const columns = new Set(await this.columnNames(db, schema, table));
    const target = `ALTER TABLE ${quoteQualified(schema, table)}`;
    const statements: string[] = [];
    const existing = (name: unknown, at: string) => {
      const column = ident(name, at);
      if (!columns.has(column)) {
        throw new AthenaError('unsupported_alteration', 400, `${at}: column "${column}" does not exist on ${table}`);
      }
      return quoteIdent(column);
    };
    for (const [i, op] of input.operations.entries()) {
      const at = `operations[${i}]`;
      switch (op.type) {
        case 'add_column': {
          const name = ident(op.column.name, `${at}.column.name`);
          if (columns.has(name)) throw new AthenaError('conflict', 409, `${at}: column "${name}" already exists`);
          statements.push(`${target} ADD COLUMN ${await this.columnDefinition(db, op.column, `${at}.column`)}`);
          columns.add(name);
          break;
        }
        case 'rename_column': {
          const from = existing(op.from, `${at}.from`);
          const to = ident(op.to, `${at}.to`);
          if (columns.has(to)) throw new AthenaError('conflict', 409, `${at}: column "${to}" already exists`);
          statements.push(`${target} RENAME COLUMN ${from} TO ${quoteIdent(to)}`);
          columns.delete(op.from);
          columns.add(to);
          break;
        }
        case 'set_default': {
          const column = existing(op.columnName, `${at}.column_name`);
          const expr = await this.defaultExpression(db, op.defaultExpression);
          statements.push(`${target} ALTER COLUMN ${column} SET DEFAULT ${expr}`);
          break;
        }
        case 'drop_default':
          statements.push(`${target} ALTER COLUMN ${existing(op.columnName, `${at}.column_name`)} DROP DEFAULT`);
          break;
        case 'set_not_null':
          statements.push(`${target} ALTER COLUMN ${existing(op.columnName, `${at}.column_name`)} SET NOT NULL`);
          break;
        case 'drop_not_null':
          statements.push(`${target} ALTER COLUMN ${existing(op.columnName, `${at}.column_name`)} DROP NOT NULL`);
          break;
        default:
          throw new AthenaError(
            'unsupported_alteration',
            400,
            `${at}: unsupported alteration "${String((op as { type?: unknown }).type)}" (supported: ${tableOperationTypes.join(', ')})`,
          );
      }
    }
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'edit_table',
      objectType: 'table',
      schema,
      name: table,
      statements,
    });
  }

  /** `DROP TABLE … RESTRICT` (or CASCADE). */
  async dropTable(
    principal: Principal,
    input: ManagementContext & { schema?: string | null; table: string; cascade?: boolean | null },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.tables.drop');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const table = ident(input.table, 'table_name');
    await this.requireTable(db, schema, table);
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'drop_table',
      objectType: 'table',
      schema,
      name: table,
      statements: [`DROP TABLE ${quoteQualified(schema, table)} ${input.cascade ? 'CASCADE' : 'RESTRICT'}`],
    });
  }

  /** `ALTER TABLE … DROP COLUMN`; reserved columns (config, default `id`) are refused. */
  async dropColumn(
    principal: Principal,
    input: ManagementContext & { schema?: string | null; table: string; column: string; cascade?: boolean | null },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.columns.drop');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const table = ident(input.table, 'table_name');
    const column = ident(input.column, 'column_name');
    if (this.deps.config.reservedColumns.includes(column)) {
      throw new AthenaError('reserved_column', 400, `column "${column}" is reserved and cannot be dropped`);
    }
    await this.requireTable(db, schema, table);
    if (!(await this.columnNames(db, schema, table)).includes(column)) {
      throw new AthenaError('schema_object_missing', 404, `column "${column}" does not exist on ${schema}.${table}`);
    }
    const ddl = `ALTER TABLE ${quoteQualified(schema, table)} DROP COLUMN ${quoteIdent(column)} ${input.cascade ? 'CASCADE' : 'RESTRICT'}`;
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'drop_column',
      objectType: 'column',
      schema,
      name: `${table}.${column}`,
      statements: [ddl],
    });
  }

  /** `CREATE [UNIQUE] INDEX … USING <method>`; the name defaults to `<table>_<cols>_idx` cut to 63 bytes. */
  async createIndex(
    principal: Principal,
    input: ManagementContext & {
      schema?: string | null;
      table: string;
      name?: string | null;
      columns: string[];
      unique?: boolean | null;
      method?: string | null;
    },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.indexes.write');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const table = ident(input.table, 'table_name');
    const columns = input.columns.map((c, i) => ident(c, `columns[${i}]`));
    if (columns.length === 0) throw new AthenaInvalidInputError('columns must name at least one column');
    if (columns.length > 32) throw new AthenaInvalidInputError('an index has at most 32 columns');
    if (new Set(columns).size !== columns.length) throw new AthenaInvalidInputError('columns must not repeat');
    const name =
      input.name === undefined || input.name === null
        ? generatedIndexName(table, columns)
        : ident(input.name, 'index_name');
    const method = input.method ?? 'btree';
    const allowed = await this.indexMethods(db);
    if (!allowed.includes(method)) {
      throw new AthenaError(
        'invalid_index_method',
        400,
        `index method "${method.slice(0, 40)}" is not allowed (allowed: ${allowed.join(', ')})`,
      );
    }
    await this.requireTable(db, schema, table);
    const existing = new Set(await this.columnNames(db, schema, table));
    for (const c of columns) {
      if (!existing.has(c)) throw new AthenaInvalidInputError(`column "${c}" does not exist on ${schema}.${table}`);
    }
    if (await this.relationKind(db, schema, name)) {
      throw new AthenaError('conflict', 409, `relation "${schema}"."${name}" already exists`);
    }
    const ddl =
      `CREATE ${input.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(name)} ON ${quoteQualified(schema, table)} ` +
      `USING ${method} (${columns.map(quoteIdent).join(', ')})`;
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'create_index',
      objectType: 'index',
      schema,
      name,
      statements: [ddl],
    });
  }

  /** `DROP INDEX`; 404 unless it is an index in that schema. */
  async dropIndex(
    principal: Principal,
    input: ManagementContext & { schema?: string | null; name: string },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.indexes.drop');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const name = ident(input.name, 'index_name');
    const kind = await this.relationKind(db, schema, name);
    if (kind !== 'i' && kind !== 'I') {
      throw new AthenaError('schema_object_missing', 404, `index "${schema}"."${name}" does not exist`);
    }
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'drop_index',
      objectType: 'index',
      schema,
      name,
      statements: [`DROP INDEX ${quoteQualified(schema, name)} RESTRICT`],
    });
  }

  /** `CREATE [OR REPLACE] [MATERIALIZED] VIEW … AS <one SELECT>`. */
  async createView(
    principal: Principal,
    input: ManagementContext & {
      schema?: string | null;
      name: string;
      definition: string;
      materialized?: boolean | null;
      orReplace?: boolean | null;
    },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.views.write');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const name = ident(input.name, 'view_name');
    const ddl = await checkedAsync(() =>
      createViewSql({
        schema,
        name,
        definition: input.definition,
        materialized: input.materialized === true,
        orReplace: input.orReplace === true,
      }),
    );
    if (!(await this.schemaExists(db, schema))) throw new AthenaInvalidInputError(`schema "${schema}" does not exist`);
    const kind = await this.relationKind(db, schema, name);
    if (kind && !(input.orReplace && kind === 'v')) {
      throw new AthenaError('conflict', 409, `relation "${schema}"."${name}" already exists`);
    }
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'create_view',
      objectType: 'view',
      schema,
      name,
      statements: [ddl],
    });
  }

  /** `DROP [MATERIALIZED] VIEW`; 404 unless a view of that kind exists. */
  async dropView(
    principal: Principal,
    input: ManagementContext & {
      schema?: string | null;
      name: string;
      cascade?: boolean | null;
      materialized?: boolean | null;
    },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.views.drop');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const name = ident(input.name, 'view_name');
    const kind = await this.relationKind(db, schema, name);
    const materialized = input.materialized === true;
    if (kind !== (materialized ? 'm' : 'v')) {
      const what = materialized ? 'materialized view' : 'view';
      throw new AthenaError('schema_object_missing', 404, `${what} "${schema}"."${name}" does not exist`);
    }
    const ddl = `DROP ${materialized ? 'MATERIALIZED ' : ''}VIEW ${quoteQualified(schema, name)} ${input.cascade ? 'CASCADE' : 'RESTRICT'}`;
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'drop_view',
      objectType: 'view',
      schema,
      name,
      statements: [ddl],
    });
  }

  /** Runs one parser-checked `CREATE OR REPLACE FUNCTION` (sql/plpgsql, no SECURITY DEFINER). */
  async upsertFunction(principal: Principal, input: ManagementContext & { ddl: string }): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.functions.write');
    const fn = await checkedAsync(() => validateFunctionDdl(input.ddl, { defaultSchema: 'public' }));
    const schema = ident(fn.schema, 'function schema');
    const name = ident(fn.name, 'function name');
    if (!(await this.schemaExists(db, schema))) throw new AthenaInvalidInputError(`schema "${schema}" does not exist`);
    // The signature travels as a bound value; to_regprocedure resolves it the way DROP FUNCTION would.
    const signature = `${quoteQualified(schema, name)}(${fn.argTypes.join(', ')})`;
    const [before] = await this.read<{ oid: string | null }>(db, 'SELECT to_regprocedure($1)::oid::text AS oid', [
      signature,
    ]).catch(() => [{ oid: null }]);
    const replaced = before?.oid !== null && before?.oid !== undefined && before.oid !== '0';
    const result = await this.runDdl(principal, client, db, input.requestId, {
      operation: 'upsert_function',
      objectType: 'function',
      schema,
      name,
      statements: [fn.sql],
    });
    return { ...result, replaced };
  }

  /** `DROP FUNCTION s.f(types) RESTRICT`, each type resolved by `to_regtype` and re-printed by `format_type`. */
  async dropFunction(
    principal: Principal,
    input: ManagementContext & { schema?: string | null; name: string; argTypes: string[] },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.functions.drop');
    const schema = ident(input.schema ?? 'public', 'schema_name');
    const name = ident(input.name, 'function_name');
    if (input.argTypes.length > 100) throw new AthenaInvalidInputError('at most 100 arg_types');
    const types: string[] = [];
    for (const [i, raw] of input.argTypes.entries()) {
      if (typeof raw !== 'string' || raw.trim() === '' || raw.length > 200) {
        throw new AthenaInvalidInputError(`arg_types[${i}] must be a type name`);
      }
      let row: { name: string | null } | undefined;
      try {
        [row] = (
          await db.query<{ name: string | null }>('SELECT format_type(to_regtype($1)::oid, NULL) AS name', [raw])
        ).rows;
      } catch (err) {
        // to_regtype raises (rather than answering null) on text that does not even parse as a type name.
        if (sqlState(err)) throw new AthenaInvalidInputError(`arg_types[${i}] is not a type name`);
        throw err;
      }
      if (!row?.name) throw new AthenaInvalidInputError(`arg_types[${i}]: type "${raw.slice(0, 80)}" does not exist`);
      types.push(row.name);
    }
    const signature = `${quoteQualified(schema, name)}(${types.join(', ')})`;
    const [found] = await this.read<{ kind: string | null }>(
      db,
      'SELECT (SELECT prokind::text FROM pg_proc WHERE oid = to_regprocedure($1)) AS kind',
      [signature],
    );
    if (found?.kind !== 'f') {
      throw new AthenaError(
        'schema_object_missing',
        404,
        `function ${schema}.${name}(${types.join(', ')}) does not exist`,
      );
    }
    const ddl = `DROP FUNCTION ${signature} RESTRICT`;
    // The types are Postgres' own format_type output; the parse proves they form exactly one DROP.
    const parsed = await checkedAsync(() => parseStatements(ddl));
    if (parsed.length !== 1 || parsed[0]?.nodeType !== 'DropStmt') {
      throw new AthenaInvalidInputError('arg_types do not form a function signature');
    }
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'drop_function',
      objectType: 'function',
      schema,
      name,
      statements: [ddl],
    });
  }

  /** `CREATE EXTENSION`: only names both allow-listed (config) and available on this backend, compared exactly. */
  async installExtension(
    principal: Principal,
    input: ManagementContext & { name: string; ifNotExists?: boolean | null },
  ): Promise<DdlResult> {
    const { name: client, db } = await this.openManagement(principal, input.client, 'management.extensions.write');
    const available = await this.availableExtensions(db);
    const extension = available.find((e) => e.name === input.name);
    if (!extension) {
      const shown = typeof input.name === 'string' ? input.name.slice(0, 63) : '';
      throw new AthenaError(
        'extension_not_allowed',
        400,
        `extension "${shown}" is not allowed here (allowed and available: ${available.map((e) => e.name).join(', ') || 'none'})`,
      );
    }
    const ddl = `CREATE EXTENSION ${input.ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteIdent(extension.name)}`;
    return this.runDdl(principal, client, db, input.requestId, {
      operation: 'install_extension',
      objectType: 'extension',
      schema: 'public',
      name: extension.name,
      statements: [ddl],
    });
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  /**
   * Introspection routes follow the gateway's key policy: with enforcement off anyone may read; otherwise the admin
   * or a key bound to the client with `management.read` or `gateway.fetch.execute` (the reads a fetch needs).
   */
  private async openRead(principal: Principal, clientName: string | undefined) {
    const { client, db } = await this.deps.clients.database(clientName);
    const name = client.clientName;
    if (!isAthenaAdmin(principal)) {
      if (principal.kind === 'anonymous') {
        if (this.deps.clients.enforces(name)) {
          throw new AuthorizationError('an API key is required (apikey header)', principal);
        }
      } else {
        if (boundClient(principal) !== name) {
          throw new AuthorizationError(`the API key is not bound to client "${name}"`, principal);
        }
        if (!holdsRight(principal, 'management.read') && !holdsRight(principal, 'gateway.fetch.execute')) {
          throw new AuthorizationError('the API key lacks management.read', principal);
        }
      }
    }
    return { name, db };
  }

  /** Management always needs a key (or the admin), whatever the enforcement switch. */
  private async openManagement(principal: Principal, clientName: string | undefined, right: AthenaRight) {
    const { client, db } = await this.deps.clients.database(clientName);
    requireClientRight(principal, client.clientName, right, true);
    return { name: client.clientName, db };
  }

  private async read<R>(q: Queryable, text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await q.query<R>(text, values)).rows;
    } catch (err) {
      throw ddlFailure(err);
    }
  }

  private async schemaExists(q: Queryable, schema: string): Promise<boolean> {
    const rows = await this.read(q, 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    return rows.length > 0;
  }

  private async relationKind(q: Queryable, schema: string, name: string): Promise<RelKind | undefined> {
    const [row] = await this.read<{ kind: RelKind }>(
      q,
      `SELECT c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, name],
    );
    return row?.kind;
  }

  private async requireTable(q: Queryable, schema: string, table: string): Promise<void> {
    const kind = await this.relationKind(q, schema, table);
    if (kind !== 'r' && kind !== 'p') {
      throw new AthenaError('schema_object_missing', 404, `table "${schema}"."${table}" does not exist`);
    }
  }

  private async columnNames(q: Queryable, schema: string, table: string): Promise<string[]> {
    const rows = await this.read<{ name: string }>(
      q,
      `SELECT a.attname::text AS name FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [schema, table],
    );
    return rows.map((r) => r.name);
  }

  /** `"name" <type> [NOT NULL] [DEFAULT <expr>]` from checked parts. */
  private async columnDefinition(q: Queryable, column: ColumnDefinitionInput, at: string): Promise<string> {
    const name = ident(column.name, `${at}.name`);
    const type = await checkedAsync(() => validateDataType(column.dataType));
    let sql = `${quoteIdent(name)} ${type.sql}`;
    if (column.nullable === false) sql += ' NOT NULL';
    if (column.defaultExpression !== undefined && column.defaultExpression !== null) {
      sql += ` DEFAULT ${await this.defaultExpression(q, column.defaultExpression)}`;
    }
    return sql;
  }

  private async defaultExpression(q: Queryable, expr: string): Promise<string> {
    const checkedExpr = await checkedAsync(() =>
      validateDefaultExpression(expr, {
        sequenceExists: async (seq) => {
          const rows = await this.read(
            q,
            `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind = 'S' AND c.relname = $2 AND n.nspname = COALESCE($1, 'public')`,
            [seq.schema, seq.name],
          );
          return rows.length > 0;
        },
      }),
    );
    return checkedExpr.sql;
  }

  /** Allow-listed index methods this database has (pg_am). */
  private async indexMethods(q: Queryable): Promise<string[]> {
    const rows = await this.read<{ name: string }>(
      q,
      `SELECT amname::text AS name FROM pg_am WHERE amtype = 'i' AND amname = ANY ($1::text[])`,
      [[...indexMethodAllowlist]],
    );
    const present = new Set(rows.map((r) => r.name));
    return indexMethodAllowlist.filter((m) => present.has(m));
  }

  /** The config allow-list ∩ pg_available_extensions (on PGlite, only what its build bundles). */
  private async availableExtensions(q: Queryable): Promise<AvailableExtension[]> {
    const allow = this.deps.config.extensionAllowlist;
    if (allow.length === 0) return [];
    const rows = await this.read<{ name: string; default_version: string | null; installed_version: string | null }>(
      q,
      `SELECT name::text, default_version::text, installed_version::text FROM pg_available_extensions
        WHERE name = ANY ($1::text[]) ORDER BY name`,
      [allow],
    );
    return rows.map((r) => ({
      name: r.name,
      defaultVersion: r.default_version,
      installedVersion: r.installed_version,
    }));
  }

  private async functionRows(
    q: Queryable,
    options: { schema: string | null; nameLike?: string | null; includeSystem: boolean; includeDefinition: boolean },
  ): Promise<FunctionInfo[]> {
    // name_like is a substring: the caller's %, _ and \ match themselves.
    const like =
      options.nameLike === undefined || options.nameLike === null || options.nameLike === ''
        ? null
        : `%${options.nameLike.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = await this.read<{
      schema: string;
      name: string;
      arguments: string;
      arg_types: string[];
      return_type: string;
      language: string;
      volatility: string;
      security_definer: boolean;
      definition: string | null;
    }>(
      q,
      `SELECT n.nspname::text AS schema, p.proname::text AS name,
              pg_get_function_identity_arguments(p.oid) AS arguments,
              ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, ord)
                     ORDER BY a.ord) AS arg_types,
              pg_get_function_result(p.oid) AS return_type, l.lanname::text AS language,
              p.provolatile::text AS volatility, p.prosecdef AS security_definer,
              CASE WHEN $4 THEN pg_get_functiondef(p.oid) END AS definition
         FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
         JOIN pg_language l ON l.oid = p.prolang
        WHERE p.prokind = 'f'
          AND ($1::text IS NULL OR n.nspname = $1)
          AND ($2::text IS NULL OR p.proname ILIKE $2 ESCAPE '\\')
          AND ($3 OR (n.nspname <> ALL ($5::text[]) AND n.nspname NOT LIKE 'pg\\_toast%'))
        ORDER BY n.nspname, p.proname, arguments
        LIMIT 5000`,
      [options.schema, like, options.includeSystem, options.includeDefinition, systemSchemas],
    );
    return rows.map((r) => ({
      schema: r.schema,
      name: r.name,
      arguments: r.arguments,
      argTypes: r.arg_types,
      returnType: r.return_type,
      language: r.language,
      volatility: r.volatility === 'i' ? 'immutable' : r.volatility === 's' ? 'stable' : 'volatile',
      securityDefiner: r.security_definer,
      definition: r.definition,
    }));
  }

  /** The audit table must be writable before any DDL runs (503 audit_unavailable otherwise). */
  private async checkAudit(): Promise<void> {
    let writable = false;
    try {
      // Fails when the table is missing or the store is down; false when the role may not insert into it.
      const rows = await this.deps.prisma.$queryRaw<{ ok: boolean }[]>`
        SELECT has_table_privilege(current_user, 'athena_ddl_audit', 'INSERT') AS ok`;
      writable = rows[0]?.ok === true;
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'athena: DDL audit table unavailable');
    }
    if (!writable) {
      throw new AthenaError('audit_unavailable', 503, 'The DDL audit store is unavailable: no DDL was run');
    }
  }

  /**
   * Audit check, the statements in one tenant transaction, the audit row (ok or failed), then the gateway's
   * catalog of the client is dropped. Tenant and audit live in different databases: an audit write failing after
   * the commit cannot undo the DDL, so it is logged at error level with the full statement for repair.
   */
  private async runDdl(
    principal: Principal,
    client: string,
    db: ClientDatabase,
    requestId: string | undefined,
    op: Omit<DdlResult, 'ddl'> & { statements: string[] },
  ): Promise<DdlResult> {
    await this.checkAudit();
    const ddl = op.statements.join(';\n');
    const audit = {
      clientName: client,
      actor: principalId(principal),
      operation: op.operation,
      objectType: op.objectType,
      schemaName: op.schema,
      objectName: op.name,
      ddl,
      requestId: requestId ?? null,
    };
    try {
      await db.transaction({}, async (q) => {
        for (const statement of op.statements) await q.query(statement);
      });
    } catch (err) {
      let failure: AthenaError;
      try {
        failure = ddlFailure(err);
      } finally {
        this.deps.gateway.invalidateCatalog(client);
      }
      this.ddlRuns.inc({ operation: op.operation, status: 'failed' });
      await this.deps.prisma.athenaDdlAudit
        .create({ data: { ...audit, status: 'failed', error: failure.message.slice(0, 2000) } })
        .catch((auditErr: unknown) =>
          this.deps.logger.error({ err: (auditErr as Error).message, audit }, 'athena: DDL audit row not written'),
        );
      throw failure;
    }
    this.deps.gateway.invalidateCatalog(client);
    this.ddlRuns.inc({ operation: op.operation, status: 'ok' });
    this.deps.countMutation(op.operation);
    try {
      await this.deps.prisma.athenaDdlAudit.create({ data: { ...audit, status: 'ok' } });
    } catch (auditErr) {
      this.deps.logger.error(
        { err: (auditErr as Error).message, audit },
        'athena: DDL committed but its audit row was not written (repair needed)',
      );
    }
    return { operation: op.operation, objectType: op.objectType, schema: op.schema, name: op.name, ddl };
  }
}
