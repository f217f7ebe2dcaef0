import { builder } from '../../../core/builder.ts';
import { AthenaInvalidInputError } from '../athena.errors.ts';
import type {
  AvailableExtension,
  ColumnDefinitionInput,
  DdlResult,
  ExtensionInfo,
  ForeignKeyInfo,
  FullSchema,
  FunctionInfo,
  IndexInfo,
  ManagementCapabilities,
  MigrationsInfo,
  SchemaColumnInfo,
  SchemaTableRef,
  TableColumnInfo,
  TableInfo,
  TableOperation,
  UniqueConstraintInfo,
  ViewInfo,
} from '../schema.service.ts';
import { athenaErrors } from './types.ts';

/*
 * Schema introspection and management DDL (G2, docs/athena.md "Schema and DDL"): typed objects for what a client
 * database holds, its management capabilities, and one mutation per management operation. Every field goes
 * through `ctx.services.athena.schema`, which checks the caller's rights on the client.
 */

const clientArg = { required: true, description: 'The Athena client (X-Athena-Client).' } as const;

const AthenaSchemaTableRefRef = builder.objectRef<SchemaTableRef>('AthenaSchemaTableRef').implement({
  description: 'A table or view of a client database (information_schema.tables).',
  fields: (t) => ({
    schema: t.exposeString('schema', { description: 'Its schema.' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    type: t.exposeString('type', { description: 'information_schema’s table_type: BASE TABLE, VIEW, FOREIGN, …' }),
  }),
});

const AthenaSchemaColumnRef = builder.objectRef<SchemaColumnInfo>('AthenaSchemaColumn').implement({
  description: 'A column as information_schema.columns describes it.',
  fields: (t) => ({
    schema: t.exposeString('schema', { description: 'The table’s schema.' }),
    table: t.exposeString('table', { description: 'The table.' }),
    name: t.exposeString('name', { description: 'The column.' }),
    dataType: t.exposeString('dataType', { nullable: true, description: 'information_schema’s data_type.' }),
    default: t.exposeString('default', { nullable: true, description: 'The default expression, if any.' }),
    nullable: t.exposeBoolean('nullable', { description: 'Whether it accepts NULL.' }),
    position: t.exposeInt('position', { description: '1-based ordinal position.' }),
  }),
});

const AthenaUniqueConstraintRef = builder.objectRef<UniqueConstraintInfo>('AthenaUniqueConstraint').implement({
  description: 'A unique (or primary key) constraint.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The constraint’s name.' }),
    columns: t.exposeStringList('columns', { description: 'Its columns, in key order.' }),
  }),
});

const AthenaMigrationRef = builder.objectRef<MigrationsInfo['migrations'][number]>('AthenaSchemaMigration').implement({
  description: 'A row of supabase_migrations.schema_migrations.',
  fields: (t) => ({
    version: t.exposeString('version', { nullable: true, description: 'The migration version.' }),
    name: t.exposeString('name', { nullable: true, description: 'Its name, where the table records one.' }),
  }),
});

const AthenaMigrationsRef = builder.objectRef<MigrationsInfo>('AthenaSchemaMigrations').implement({
  description: 'Supabase migration history of a client database.',
  fields: (t) => ({
    migrations: t.field({
      type: [AthenaMigrationRef],
      description: 'The migrations, by version (empty when the table does not exist).',
      resolve: (m) => m.migrations,
    }),
    message: t.exposeString('message', {
      nullable: true,
      description: 'Set when supabase_migrations.schema_migrations does not exist.',
    }),
  }),
});

const AthenaTableColumnRef = builder.objectRef<TableColumnInfo>('AthenaTableColumn').implement({
  description: 'A column of a table, from pg_attribute.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The column.' }),
    type: t.exposeString('type', { description: 'format_type: integer, character varying(20), text[], …' }),
    nullable: t.exposeBoolean('nullable', { description: 'Whether it accepts NULL.' }),
    default: t.exposeString('default', { nullable: true, description: 'The default expression, if any.' }),
    identity: t.exposeString('identity', {
      nullable: true,
      description: '`always` or `by_default` for identity columns, else null.',
    }),
    generated: t.exposeString('generated', {
      nullable: true,
      description: 'The generation expression of a stored generated column, else null.',
    }),
    position: t.exposeInt('position', { description: '1-based attribute number.' }),
  }),
});

const AthenaForeignKeyRef = builder.objectRef<ForeignKeyInfo>('AthenaForeignKey').implement({
  description: 'A foreign key of a table.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The constraint’s name.' }),
    columns: t.exposeStringList('columns', { description: 'The referencing columns.' }),
    refSchema: t.exposeString('refSchema', { description: 'The referenced table’s schema.' }),
    refTable: t.exposeString('refTable', { description: 'The referenced table.' }),
    refColumns: t.exposeStringList('refColumns', { description: 'The referenced columns, in the same order.' }),
  }),
});

const AthenaIndexRef = builder.objectRef<IndexInfo>('AthenaIndex').implement({
  description: 'An index of a table.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The index.' }),
    method: t.exposeString('method', { description: 'Its access method (btree, hash, gin, …).' }),
    unique: t.exposeBoolean('unique', { description: 'Whether it is unique.' }),
    primary: t.exposeBoolean('primary', { description: 'Whether it backs the primary key.' }),
    columns: t.field({
      type: ['String'],
      nullable: { list: false, items: true },
      description: 'Key columns in order; an expression key is null.',
      resolve: (i) => i.columns,
    }),
    definition: t.exposeString('definition', { description: 'pg_get_indexdef.' }),
  }),
});

const AthenaTableRef = builder.objectRef<TableInfo>('AthenaTable').implement({
  description: 'A table of a schema with its columns, keys and indexes.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The table.' }),
    kind: t.exposeString('kind', { description: '`table`, `partitioned_table` or `foreign_table`.' }),
    columns: t.field({ type: [AthenaTableColumnRef], description: 'Its columns.', resolve: (r) => r.columns }),
    primaryKey: t.field({
      type: AthenaUniqueConstraintRef,
      nullable: true,
      description: 'Its primary key, if any.',
      resolve: (r) => r.primaryKey,
    }),
    foreignKeys: t.field({
      type: [AthenaForeignKeyRef],
      description: 'Its foreign keys.',
      resolve: (r) => r.foreignKeys,
    }),
    uniqueConstraints: t.field({
      type: [AthenaUniqueConstraintRef],
      description: 'Its unique constraints (besides the primary key).',
      resolve: (r) => r.uniqueConstraints,
    }),
    indexes: t.field({ type: [AthenaIndexRef], description: 'Its indexes.', resolve: (r) => r.indexes }),
  }),
});

const AthenaViewRef = builder.objectRef<ViewInfo>('AthenaView').implement({
  description: 'A view or materialized view.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The view.' }),
    materialized: t.exposeBoolean('materialized', { description: 'Whether it is materialized.' }),
    definition: t.exposeString('definition', { description: 'pg_get_viewdef.' }),
  }),
});

const AthenaFunctionInfoRef = builder.objectRef<FunctionInfo>('AthenaFunctionInfo').implement({
  description: 'An ordinary function (pg_proc, prokind = f).',
  fields: (t) => ({
    schema: t.exposeString('schema', { description: 'Its schema.' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    arguments: t.exposeString('arguments', { description: 'pg_get_function_identity_arguments.' }),
    argTypes: t.exposeStringList('argTypes', { description: 'Identity argument types, what a drop names.' }),
    returnType: t.exposeString('returnType', { description: 'pg_get_function_result.' }),
    language: t.exposeString('language', { description: 'Its language.' }),
    volatility: t.exposeString('volatility', { description: '`immutable`, `stable` or `volatile`.' }),
    securityDefiner: t.exposeBoolean('securityDefiner', { description: 'Whether it runs as its owner.' }),
    definition: t.exposeString('definition', {
      nullable: true,
      description: 'pg_get_functiondef, when asked for.',
    }),
  }),
});

const AthenaExtensionInfoRef = builder.objectRef<ExtensionInfo>('AthenaExtensionInfo').implement({
  description: 'An installed extension.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The extension.' }),
    version: t.exposeString('version', { description: 'Its installed version.' }),
    schema: t.exposeString('schema', { description: 'The schema holding its objects.' }),
  }),
});

const AthenaSchemaInfoRef = builder.objectRef<FullSchema>('AthenaSchemaInfo').implement({
  description: 'Everything in one schema of a client database.',
  fields: (t) => ({
    name: t.exposeString('schema', { description: 'The schema.' }),
    tables: t.field({ type: [AthenaTableRef], description: 'Its tables.', resolve: (s) => s.tables }),
    views: t.field({ type: [AthenaViewRef], description: 'Its views.', resolve: (s) => s.views }),
    functions: t.field({
      type: [AthenaFunctionInfoRef],
      description: 'Its ordinary functions.',
      resolve: (s) => s.functions,
    }),
    extensions: t.field({
      type: [AthenaExtensionInfoRef],
      description: 'Extensions installed in the database (any schema).',
      resolve: (s) => s.extensions,
    }),
  }),
});

const AthenaRequiredRightRef = builder
  .objectRef<ManagementCapabilities['requiredRights'][number]>('AthenaManagementRight')
  .implement({
    description: 'The right a management operation requires.',
    fields: (t) => ({
      operation: t.exposeString('operation', { description: 'The operation.' }),
      right: t.exposeString('right', { description: 'The right (`management.tables.write`, …).' }),
    }),
  });

const AthenaAvailableExtensionRef = builder.objectRef<AvailableExtension>('AthenaAvailableExtension').implement({
  description: 'An extension management may install here: allow-listed and available on the backend.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The extension.' }),
    defaultVersion: t.exposeString('defaultVersion', { nullable: true, description: 'The version it installs.' }),
    installedVersion: t.exposeString('installedVersion', {
      nullable: true,
      description: 'The installed version, when installed.',
    }),
  }),
});

const AthenaManagementCapabilitiesRef = builder
  .objectRef<ManagementCapabilities>('AthenaManagementCapabilities')
  .implement({
    description: 'What management can do on a client’s backend.',
    fields: (t) => ({
      backend: t.exposeString('backend', { description: '`postgres` or `pglite`.' }),
      retentionMutationSupported: t.exposeBoolean('retentionMutationSupported', {
        description: 'Whether retention settings can be changed (never, here).',
      }),
      replicationMutationSupported: t.exposeBoolean('replicationMutationSupported', {
        description: 'Whether replication settings can be changed (never, here).',
      }),
      supportedOperations: t.exposeStringList('supportedOperations', { description: 'The operations served.' }),
      requiredRights: t.field({
        type: [AthenaRequiredRightRef],
        description: 'The right each operation requires.',
        resolve: (c) => c.requiredRights,
      }),
      allowedIndexMethods: t.exposeStringList('allowedIndexMethods', {
        description: 'Index methods create-index accepts (allow-listed and present in pg_am).',
      }),
      allowedColumnDataTypes: t.exposeStringList('allowedColumnDataTypes', {
        description: 'Column data types create/edit table accept (each also as an array).',
      }),
      availableExtensions: t.field({
        type: [AthenaAvailableExtensionRef],
        description: 'Extensions install-extension accepts here.',
        resolve: (c) => c.availableExtensions,
      }),
    }),
  });

const AthenaDdlResultRef = builder.objectRef<DdlResult>('AthenaDdlResult').implement({
  description: 'What a management DDL operation did (audited in athena_ddl_audit).',
  fields: (t) => ({
    operation: t.exposeString('operation', { description: '`create_table`, `drop_index`, …' }),
    objectType: t.exposeString('objectType', {
      description: '`table`, `column`, `index`, `view`, `function` or `extension`.',
    }),
    schema: t.exposeString('schema', { description: 'The schema of the object.' }),
    name: t.exposeString('name', { description: 'The object (`table.column` for a column).' }),
    ddl: t.exposeString('ddl', { description: 'The statements that ran, `;`-separated.' }),
    replaced: t.boolean({
      nullable: true,
      description: 'Function upserts: whether a function of that signature existed before.',
      resolve: (r) => r.replaced ?? null,
    }),
  }),
});

// ---- inputs ------------------------------------------------------------------------------------------------------

const AthenaColumnInput = builder.inputType('AthenaColumnInput', {
  description: 'A column of a new table (or an added column).',
  fields: (t) => ({
    name: t.string({ required: true, description: 'The column name (a plain identifier).' }),
    dataType: t.string({
      required: true,
      description: 'A type from allowedColumnDataTypes (`text`, `numeric(10,2)`…).',
    }),
    nullable: t.boolean({ required: false, description: 'Whether it accepts NULL (default true).' }),
    defaultExpression: t.string({
      required: false,
      description: 'A default: constants, casts, now(), gen_random_uuid(), nextval(<sequence>) — parser-checked.',
    }),
  }),
});

const AthenaCreateTableInput = builder.inputType('AthenaCreateTableInput', {
  description: 'A table to create.',
  fields: (t) => ({
    schema: t.string({ required: false, description: 'Its schema (default public).' }),
    table: t.string({ required: true, description: 'The table name.' }),
    columns: t.field({ type: [AthenaColumnInput], required: false, description: 'Its columns (default none).' }),
    ifNotExists: t.boolean({
      required: false,
      description: 'Accepted for compatibility and ignored: an existing table is still a conflict.',
    }),
  }),
});

const AthenaTableOperationTypeEnum = builder.enumType('AthenaTableOperationType', {
  description: 'An alteration of an edit-table request.',
  values: {
    ADD_COLUMN: { value: 'add_column' as const, description: 'Add `column`.' },
    RENAME_COLUMN: { value: 'rename_column' as const, description: 'Rename `from` to `to`.' },
    SET_DEFAULT: { value: 'set_default' as const, description: 'Set `columnName`’s default to `defaultExpression`.' },
    DROP_DEFAULT: { value: 'drop_default' as const, description: 'Drop `columnName`’s default.' },
    SET_NOT_NULL: { value: 'set_not_null' as const, description: 'Make `columnName` NOT NULL.' },
    DROP_NOT_NULL: { value: 'drop_not_null' as const, description: 'Let `columnName` accept NULL.' },
  },
});

const AthenaTableOperationInput = builder.inputType('AthenaTableOperationInput', {
  description: 'One alteration; which other fields it needs depends on `type`.',
  fields: (t) => ({
    type: t.field({ type: AthenaTableOperationTypeEnum, required: true, description: 'What to do.' }),
    column: t.field({ type: AthenaColumnInput, required: false, description: 'ADD_COLUMN: the column.' }),
    from: t.string({ required: false, description: 'RENAME_COLUMN: the current name.' }),
    to: t.string({ required: false, description: 'RENAME_COLUMN: the new name.' }),
    columnName: t.string({ required: false, description: 'SET/DROP_DEFAULT, SET/DROP_NOT_NULL: the column.' }),
    defaultExpression: t.string({ required: false, description: 'SET_DEFAULT: the default (parser-checked).' }),
  }),
});

const AthenaCreateIndexInput = builder.inputType('AthenaCreateIndexInput', {
  description: 'An index to create.',
  fields: (t) => ({
    schema: t.string({ required: false, description: 'The table’s schema (default public).' }),
    table: t.string({ required: true, description: 'The table.' }),
    name: t.string({ required: false, description: 'The index name (default `<table>_<cols>_idx`, 63 bytes max).' }),
    columns: t.stringList({ required: true, description: 'Key columns, in order.' }),
    unique: t.boolean({ required: false, description: 'A unique index (default false).' }),
    method: t.string({ required: false, description: 'Access method from allowedIndexMethods (default btree).' }),
  }),
});

const AthenaCreateViewInput = builder.inputType('AthenaCreateViewInput', {
  description: 'A view to create.',
  fields: (t) => ({
    schema: t.string({ required: false, description: 'Its schema (default public).' }),
    name: t.string({ required: true, description: 'The view name.' }),
    definition: t.string({ required: true, description: 'Exactly one SELECT statement (parser-checked).' }),
    materialized: t.boolean({ required: false, description: 'A materialized view (default false).' }),
    orReplace: t.boolean({ required: false, description: 'CREATE OR REPLACE (plain views only).' }),
  }),
});

type ColumnArg = { name: string; dataType: string; nullable?: boolean | null; defaultExpression?: string | null };

const column = (c: ColumnArg): ColumnDefinitionInput => ({
  name: c.name,
  dataType: c.dataType,
  nullable: c.nullable ?? null,
  defaultExpression: c.defaultExpression ?? null,
});

type OperationArg = {
  type: TableOperation['type'];
  column?: ColumnArg | null;
  from?: string | null;
  to?: string | null;
  columnName?: string | null;
  defaultExpression?: string | null;
};

/** A GraphQL alteration as the service's tagged operation; a missing field for its type is invalid input. */
export function tableOperation(op: OperationArg, at: string): TableOperation {
  const need = (v: string | null | undefined, field: string): string => {
    if (v === undefined || v === null) throw new AthenaInvalidInputError(`${at}: ${op.type} needs ${field}`);
    return v;
  };
  switch (op.type) {
    case 'add_column':
      if (!op.column) throw new AthenaInvalidInputError(`${at}: add_column needs column`);
      return { type: 'add_column', column: column(op.column) };
    case 'rename_column':
      return { type: 'rename_column', from: need(op.from, 'from'), to: need(op.to, 'to') };
    case 'set_default':
      return {
        type: 'set_default',
        columnName: need(op.columnName, 'columnName'),
        defaultExpression: need(op.defaultExpression, 'defaultExpression'),
      };
    default:
      return { type: op.type, columnName: need(op.columnName, 'columnName') };
  }
}

// ---- queries -----------------------------------------------------------------------------------------------------

builder.queryField('athenaClientNames', (t) =>
  t.stringList({
    description: 'Names of every live Athena client (all are Postgres-backed). Admin only.',
    resolve: (_root, _args, ctx) => ctx.services.athena.schema.clientNames(ctx.principal),
  }),
);

builder.queryField('athenaSchemaTables', (t) =>
  t.field({
    type: [AthenaSchemaTableRefRef],
    description: 'Tables and views of a client database outside pg_catalog and information_schema.',
    errors: athenaErrors,
    args: { client: t.arg.string(clientArg) },
    resolve: (_root, a, ctx) => ctx.services.athena.schema.tables(ctx.principal, { client: a.client }),
  }),
);

builder.queryField('athenaSchemaColumns', (t) =>
  t.field({
    type: [AthenaSchemaColumnRef],
    description: 'Columns of a table, in ordinal order.',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      table: t.arg.string({ required: true, description: 'The table.' }),
      schema: t.arg.string({ required: false, description: 'Only this schema (default: every schema).' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.columns(ctx.principal, { client: a.client, table: a.table, schema: a.schema }),
  }),
);

builder.queryField('athenaSchemaUniqueConstraints', (t) =>
  t.field({
    type: [AthenaUniqueConstraintRef],
    description: 'Unique constraints of a table (not its primary key).',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      table: t.arg.string({ required: true, description: 'The table.' }),
      schema: t.arg.string({ required: false, description: 'Its schema (default public).' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.uniqueConstraints(ctx.principal, {
        client: a.client,
        table: a.table,
        schema: a.schema,
      }),
  }),
);

builder.queryField('athenaSchemaMigrations', (t) =>
  t.field({
    type: AthenaMigrationsRef,
    description: 'supabase_migrations.schema_migrations; empty with a message when the table does not exist.',
    errors: athenaErrors,
    args: { client: t.arg.string(clientArg) },
    resolve: (_root, a, ctx) => ctx.services.athena.schema.migrations(ctx.principal, { client: a.client }),
  }),
);

builder.queryField('athenaSchema', (t) =>
  t.field({
    type: AthenaSchemaInfoRef,
    description: 'Everything in one schema: tables (columns, keys, indexes), views, functions, extensions.',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      schema: t.arg.string({ required: false, description: 'The schema (default public).' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.fullSchema(ctx.principal, { client: a.client, schema: a.schema }),
  }),
);

builder.queryField('athenaManagementCapabilities', (t) =>
  t.field({
    type: AthenaManagementCapabilitiesRef,
    description: 'What management can do on a client’s backend, and the rights it needs (management.read).',
    errors: athenaErrors,
    args: { client: t.arg.string(clientArg) },
    resolve: (_root, a, ctx) => ctx.services.athena.schema.capabilities(ctx.principal, { client: a.client }),
  }),
);

builder.queryField('athenaFunctions', (t) =>
  t.field({
    type: [AthenaFunctionInfoRef],
    description: 'Ordinary functions of a client database (management.functions.read).',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      schema: t.arg.string({ required: false, description: 'Only this schema.' }),
      nameLike: t.arg.string({ required: false, description: 'Names containing this text (case-insensitive).' }),
      includeSystem: t.arg.boolean({ required: false, description: 'Include pg_catalog and information_schema.' }),
      includeDefinition: t.arg.boolean({ required: false, description: 'Include pg_get_functiondef.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.functions(ctx.principal, {
        client: a.client,
        schema: a.schema,
        nameLike: a.nameLike,
        includeSystem: a.includeSystem,
        includeDefinition: a.includeDefinition,
      }),
  }),
);

// ---- mutations ---------------------------------------------------------------------------------------------------

builder.mutationField('athenaCreateTable', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Creates a table (management.tables.write); an existing relation of that name is a conflict.',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      input: t.arg({ type: AthenaCreateTableInput, required: true, description: 'The table.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.createTable(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.input.schema,
        table: a.input.table,
        columns: (a.input.columns ?? []).map(column),
      }),
  }),
);

builder.mutationField('athenaEditTable', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Alters a table (management.tables.write): every operation in one transaction, all or none.',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      schema: t.arg.string({ required: false, description: 'The table’s schema (default public).' }),
      table: t.arg.string({ required: true, description: 'The table.' }),
      operations: t.arg({
        type: [AthenaTableOperationInput],
        required: true,
        description: 'The alterations, applied in order.',
      }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.editTable(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.schema,
        table: a.table,
        operations: a.operations.map((op, i) => tableOperation(op, `operations[${i}]`)),
      }),
  }),
);

builder.mutationField('athenaDropTable', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Drops a table (management.tables.drop); RESTRICT unless cascade.',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      schema: t.arg.string({ required: false, description: 'The table’s schema (default public).' }),
      table: t.arg.string({ required: true, description: 'The table.' }),
      cascade: t.arg.boolean({ required: false, description: 'Drop dependent objects too (default false).' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.dropTable(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.schema,
        table: a.table,
        cascade: a.cascade,
      }),
  }),
);

builder.mutationField('athenaDropColumn', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Drops a column (management.columns.drop); reserved columns (`id` by default) are refused.',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      schema: t.arg.string({ required: false, description: 'The table’s schema (default public).' }),
      table: t.arg.string({ required: true, description: 'The table.' }),
      column: t.arg.string({ required: true, description: 'The column.' }),
      cascade: t.arg.boolean({ required: false, description: 'Drop dependent objects too (default false).' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.dropColumn(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.schema,
        table: a.table,
        column: a.column,
        cascade: a.cascade,
      }),
  }),
);

builder.mutationField('athenaCreateIndex', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Creates an index (management.indexes.write).',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      input: t.arg({ type: AthenaCreateIndexInput, required: true, description: 'The index.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.createIndex(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.input.schema,
        table: a.input.table,
        name: a.input.name,
        columns: a.input.columns,
        unique: a.input.unique,
        method: a.input.method,
      }),
  }),
);

builder.mutationField('athenaDropIndex', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Drops an index (management.indexes.drop).',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      schema: t.arg.string({ required: false, description: 'The index’s schema (default public).' }),
      name: t.arg.string({ required: true, description: 'The index.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.dropIndex(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.schema,
        name: a.name,
      }),
  }),
);

builder.mutationField('athenaCreateView', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Creates a view or materialized view (management.views.write, Atrium’s right).',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      input: t.arg({ type: AthenaCreateViewInput, required: true, description: 'The view.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.createView(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.input.schema,
        name: a.input.name,
        definition: a.input.definition,
        materialized: a.input.materialized,
        orReplace: a.input.orReplace,
      }),
  }),
);

builder.mutationField('athenaDropView', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Drops a view (management.views.drop, Atrium’s right).',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      schema: t.arg.string({ required: false, description: 'The view’s schema (default public).' }),
      name: t.arg.string({ required: true, description: 'The view.' }),
      cascade: t.arg.boolean({ required: false, description: 'Drop dependent objects too (default false).' }),
      materialized: t.arg.boolean({ required: false, description: 'It is a materialized view (default false).' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.dropView(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.schema,
        name: a.name,
        cascade: a.cascade,
        materialized: a.materialized,
      }),
  }),
);

builder.mutationField('athenaUpsertFunction', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description:
      'Runs one CREATE OR REPLACE FUNCTION (management.functions.write): sql or plpgsql, no SECURITY DEFINER.',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      ddl: t.arg.string({ required: true, description: 'The CREATE OR REPLACE FUNCTION statement.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.upsertFunction(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        ddl: a.ddl,
      }),
  }),
);

builder.mutationField('athenaDropFunction', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description: 'Drops a function by signature (management.functions.drop); types are resolved by to_regtype.',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      schema: t.arg.string({ required: false, description: 'The function’s schema (default public).' }),
      name: t.arg.string({ required: true, description: 'The function.' }),
      argTypes: t.arg.stringList({
        required: true,
        description: 'Its identity argument types (`["text","integer"]`).',
      }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.dropFunction(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        schema: a.schema,
        name: a.name,
        argTypes: a.argTypes,
      }),
  }),
);

builder.mutationField('athenaInstallExtension', (t) =>
  t.field({
    type: AthenaDdlResultRef,
    description:
      'Installs an extension allow-listed by configuration and available here (management.extensions.write).',
    errors: athenaErrors,
    args: {
      client: t.arg.string(clientArg),
      name: t.arg.string({ required: true, description: 'The extension, exactly as named.' }),
      ifNotExists: t.arg.boolean({ required: false, description: 'No error when it is installed (default false).' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.schema.installExtension(ctx.principal, {
        client: a.client,
        requestId: ctx.requestId,
        name: a.name,
        ifNotExists: a.ifNotExists,
      }),
  }),
);
