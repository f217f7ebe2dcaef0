import { AthenaError, AthenaInvalidInputError } from '../../src/modules/athena/athena.errors.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';
import {
  type AthenaColumnInput,
  AthenaCreateIndexDocument,
  AthenaCreateTableDocument,
  AthenaCreateViewDocument,
  type AthenaDdlResultFieldsFragment,
  AthenaDropColumnDocument,
  AthenaDropFunctionDocument,
  AthenaDropIndexDocument,
  AthenaDropTableDocument,
  AthenaDropViewDocument,
  AthenaEditTableDocument,
  AthenaInstallExtensionDocument,
  AthenaManagementCapabilitiesDocument,
  AthenaManagementFunctionsDocument,
  type AthenaTableOperationInput,
  type AthenaTableOperationType,
  AthenaUpsertFunctionDocument,
} from '../generated/graphql.ts';
import { graphql, group } from './policy.ts';
import { answerData, functionBody } from './schema.ts';

/*
 * Management DDL (G2, docs/athena.md "Schema and DDL"): every route needs a key bound to `X-Athena-Client` holding
 * the operation's right (or the admin key), whatever the enforcement switch. Answers are Athena's
 * `{status:'success', message, data}` envelope; creates of tables and indexes answer 201 (views 200, as the
 * contract lists). The two view routes declare no body in the contract: their bodies are checked here.
 */

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const client = (req: RestRequest) => first(req.headers['x-athena-client']) ?? '';

type Body = Record<string, unknown>;

function bodyOf(req: RestRequest, required: boolean): Body {
  const b = req.body;
  if (b === undefined && !required) return {};
  if (b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new AthenaInvalidInputError('the body must be a JSON object');
  }
  return b as Body;
}

function optionalString(b: Body, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AthenaInvalidInputError(`${key} must be a string`);
  return v;
}

function requiredString(b: Body, key: string): string {
  const v = optionalString(b, key);
  if (v === undefined) throw new AthenaInvalidInputError(`${key} is required`);
  return v;
}

function optionalBoolean(b: Body, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new AthenaInvalidInputError(`${key} must be a boolean`);
  return v;
}

function columnInput(raw: unknown, at: string): AthenaColumnInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AthenaInvalidInputError(`${at} must be an object`);
  }
  const c = raw as Body;
  const defaultExpression = optionalString(c, 'default_expression');
  const nullable = optionalBoolean(c, 'nullable');
  return {
    name: requiredString(c, 'name'),
    dataType: requiredString(c, 'data_type'),
    ...(nullable === undefined ? {} : { nullable }),
    ...(defaultExpression === undefined ? {} : { defaultExpression }),
  };
}

const operationTypes: Record<string, AthenaTableOperationType> = {
  add_column: 'ADD_COLUMN',
  rename_column: 'RENAME_COLUMN',
  set_default: 'SET_DEFAULT',
  drop_default: 'DROP_DEFAULT',
  set_not_null: 'SET_NOT_NULL',
  drop_not_null: 'DROP_NOT_NULL',
};

function tableOperationInput(raw: unknown, at: string): AthenaTableOperationInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AthenaInvalidInputError(`${at} must be an object`);
  }
  const op = raw as Body;
  const type = operationTypes[String(op.type)];
  if (!type) {
    const shown = String(op.type).slice(0, 40);
    throw new AthenaError('unsupported_alteration', 400, `${at}: unsupported alteration "${shown}"`);
  }
  const text = (key: string) => optionalString(op, key);
  return {
    type,
    ...(op.column !== undefined ? { column: columnInput(op.column, `${at}.column`) } : {}),
    ...(text('from') !== undefined ? { from: text('from') } : {}),
    ...(text('to') !== undefined ? { to: text('to') } : {}),
    ...(text('column_name') !== undefined ? { columnName: text('column_name') } : {}),
    ...(text('default_expression') !== undefined ? { defaultExpression: text('default_expression') } : {}),
  };
}

const nameKey: Record<string, string> = {
  table: 'table_name',
  column: 'column_name',
  index: 'index_name',
  view: 'view_name',
  function: 'function_name',
  extension: 'extension_name',
};

/** The envelope of a DDL answer: what ran, on what. */
function ddlAnswer(r: AthenaDdlResultFieldsFragment, status: number, message: string): RestResponse {
  const data: Record<string, unknown> = {
    operation: r.operation,
    object_type: r.objectType,
    schema_name: r.schema,
    [nameKey[r.objectType] ?? 'name']: r.objectType === 'column' ? r.name.split('.').at(-1) : r.name,
    ddl: r.ddl,
  };
  if (r.objectType === 'column') data.table_name = r.name.split('.')[0];
  if (r.replaced !== null) data.replaced = r.replaced;
  return { status, body: { status: 'success', message, data } };
}

export const athenaManagementOperations = group('management', 'test/athena/management.test.ts', {
  get_management_capabilities: graphql({
    policy: { right: 'management.read' },
    document: AthenaManagementCapabilitiesDocument,
    variables: (req) => ({ client: client(req) }),
    respond: ({ athenaManagementCapabilities }) =>
      answerData(athenaManagementCapabilities, (c) => ({
        status: 200,
        body: {
          status: 'success',
          message: 'Management capabilities',
          data: {
            backend: c.backend,
            retention_mutation_supported: c.retentionMutationSupported,
            replication_mutation_supported: c.replicationMutationSupported,
            supported_operations: c.supportedOperations,
            required_rights: c.requiredRights.map((r) => ({ operation: r.operation, required_right: r.right })),
            allowed_index_methods: c.allowedIndexMethods,
            allowed_column_data_types: c.allowedColumnDataTypes,
            available_extensions: c.availableExtensions.map((e) => ({
              name: e.name,
              default_version: e.defaultVersion,
              installed_version: e.installedVersion,
            })),
          },
        },
      })),
  }),

  post_management_tables: graphql({
    policy: { right: 'management.tables.write' },
    document: AthenaCreateTableDocument,
    variables: (req) => {
      const b = bodyOf(req, true);
      const columns = b.columns ?? [];
      if (!Array.isArray(columns)) throw new AthenaInvalidInputError('columns must be an array');
      return {
        client: client(req),
        input: {
          schema: optionalString(b, 'schema_name'),
          table: requiredString(b, 'table_name'),
          columns: columns.map((c, i) => columnInput(c, `columns[${i}]`)),
          ifNotExists: optionalBoolean(b, 'if_not_exists'),
        },
      };
    },
    respond: ({ athenaCreateTable }) => answerData(athenaCreateTable, (data) => ddlAnswer(data, 201, 'Table created')),
  }),

  patch_management_tables_by_table_name: graphql({
    policy: { right: 'management.tables.write' },
    document: AthenaEditTableDocument,
    variables: (req) => {
      const b = bodyOf(req, true);
      if (!Array.isArray(b.operations)) throw new AthenaInvalidInputError('operations must be an array');
      return {
        client: client(req),
        schema: optionalString(b, 'schema_name'),
        table: req.params.table_name ?? '',
        operations: b.operations.map((op, i) => tableOperationInput(op, `operations[${i}]`)),
      };
    },
    respond: ({ athenaEditTable }) => answerData(athenaEditTable, (data) => ddlAnswer(data, 200, 'Table updated')),
  }),

  delete_management_tables_by_table_name: graphql({
    policy: { right: 'management.tables.drop' },
    document: AthenaDropTableDocument,
    variables: (req) => {
      const b = bodyOf(req, false);
      return {
        client: client(req),
        schema: optionalString(b, 'schema_name'),
        table: req.params.table_name ?? '',
        cascade: optionalBoolean(b, 'cascade'),
      };
    },
    respond: ({ athenaDropTable }) => answerData(athenaDropTable, (data) => ddlAnswer(data, 200, 'Table dropped')),
  }),

  delete_management_tables_by_table_name_columns_by_column_name: graphql({
    policy: { right: 'management.columns.drop' },
    document: AthenaDropColumnDocument,
    variables: (req) => {
      const b = bodyOf(req, false);
      return {
        client: client(req),
        schema: optionalString(b, 'schema_name'),
        table: req.params.table_name ?? '',
        column: req.params.column_name ?? '',
        cascade: optionalBoolean(b, 'cascade'),
      };
    },
    respond: ({ athenaDropColumn }) => answerData(athenaDropColumn, (data) => ddlAnswer(data, 200, 'Column dropped')),
  }),

  post_management_indexes: graphql({
    policy: { right: 'management.indexes.write' },
    document: AthenaCreateIndexDocument,
    variables: (req) => {
      const b = bodyOf(req, true);
      if (!Array.isArray(b.columns) || b.columns.some((c) => typeof c !== 'string')) {
        throw new AthenaInvalidInputError('columns must be an array of column names');
      }
      return {
        client: client(req),
        input: {
          schema: optionalString(b, 'schema_name'),
          table: requiredString(b, 'table_name'),
          name: optionalString(b, 'index_name'),
          columns: b.columns as string[],
          unique: optionalBoolean(b, 'unique'),
          method: optionalString(b, 'method'),
        },
      };
    },
    respond: ({ athenaCreateIndex }) => answerData(athenaCreateIndex, (data) => ddlAnswer(data, 201, 'Index created')),
  }),

  delete_management_indexes_by_index_name: graphql({
    policy: { right: 'management.indexes.drop' },
    document: AthenaDropIndexDocument,
    variables: (req) => {
      const b = bodyOf(req, false);
      return { client: client(req), schema: optionalString(b, 'schema_name'), name: req.params.index_name ?? '' };
    },
    respond: ({ athenaDropIndex }) => answerData(athenaDropIndex, (data) => ddlAnswer(data, 200, 'Index dropped')),
  }),

  post_management_views: graphql({
    policy: { right: 'management.views.write' },
    document: AthenaCreateViewDocument,
    variables: (req) => {
      const b = bodyOf(req, true);
      return {
        client: client(req),
        input: {
          schema: optionalString(b, 'schema_name'),
          name: requiredString(b, 'view_name'),
          definition: requiredString(b, 'definition'),
          materialized: optionalBoolean(b, 'materialized'),
          orReplace: optionalBoolean(b, 'or_replace'),
        },
      };
    },
    respond: ({ athenaCreateView }) => answerData(athenaCreateView, (data) => ddlAnswer(data, 200, 'View created')),
  }),

  delete_management_views_by_view_name: graphql({
    policy: { right: 'management.views.drop' },
    document: AthenaDropViewDocument,
    variables: (req) => {
      const b = bodyOf(req, false);
      return {
        client: client(req),
        schema: optionalString(b, 'schema_name'),
        name: req.params.view_name ?? '',
        cascade: optionalBoolean(b, 'cascade'),
        materialized: optionalBoolean(b, 'materialized'),
      };
    },
    respond: ({ athenaDropView }) => answerData(athenaDropView, (data) => ddlAnswer(data, 200, 'View dropped')),
  }),

  get_management_functions: graphql({
    policy: { right: 'management.functions.read' },
    document: AthenaManagementFunctionsDocument,
    variables: (req) => {
      const q = req.coerced.query;
      const text = (key: string) => (q[key] === undefined ? undefined : String(q[key]));
      return {
        client: client(req),
        schema: text('schema'),
        nameLike: text('name_like'),
        includeSystem: q.include_system === true,
        includeDefinition: q.include_definition === true,
      };
    },
    respond: ({ athenaFunctions }) =>
      answerData(athenaFunctions, (data) => ({
        status: 200,
        body: {
          status: 'success',
          message: `Found ${data.length} functions`,
          data: { functions: data.map(functionBody) },
        },
      })),
  }),

  put_management_functions: graphql({
    policy: { right: 'management.functions.write' },
    document: AthenaUpsertFunctionDocument,
    variables: (req) => ({ client: client(req), ddl: requiredString(bodyOf(req, true), 'ddl') }),
    respond: ({ athenaUpsertFunction }) =>
      answerData(athenaUpsertFunction, (data) =>
        ddlAnswer(data, 200, data.replaced ? 'Function replaced' : 'Function created'),
      ),
  }),

  delete_management_functions: graphql({
    policy: { right: 'management.functions.drop' },
    document: AthenaDropFunctionDocument,
    variables: (req) => {
      const b = bodyOf(req, true);
      if (!Array.isArray(b.arg_types) || b.arg_types.some((t) => typeof t !== 'string')) {
        throw new AthenaInvalidInputError('arg_types must be an array of type names');
      }
      return {
        client: client(req),
        schema: optionalString(b, 'schema_name'),
        name: requiredString(b, 'function_name'),
        argTypes: b.arg_types as string[],
      };
    },
    respond: ({ athenaDropFunction }) =>
      answerData(athenaDropFunction, (data) => ddlAnswer(data, 200, 'Function dropped')),
  }),

  post_management_extensions_install: graphql({
    policy: { right: 'management.extensions.write' },
    document: AthenaInstallExtensionDocument,
    variables: (req) => {
      const b = bodyOf(req, true);
      return {
        client: client(req),
        name: requiredString(b, 'extension_name'),
        ifNotExists: optionalBoolean(b, 'if_not_exists'),
      };
    },
    respond: ({ athenaInstallExtension }) =>
      answerData(athenaInstallExtension, (data) => ddlAnswer(data, 200, 'Extension installed')),
  }),
});
