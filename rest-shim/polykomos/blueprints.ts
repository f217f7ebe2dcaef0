import { PolykomosError } from '../../src/modules/polykomos/polykomos.errors.ts';
import type { RestRequest } from '../engine/types.ts';
import {
  PolykomosApplyBlueprintDocument,
  type PolykomosBlueprintApplicationFieldsFragment,
  type PolykomosBlueprintFieldsFragment,
  PolykomosCreateBlueprintDocument,
  PolykomosDeleteBlueprintDocument,
  PolykomosGetBlueprintApplicationDocument,
  PolykomosGetBlueprintDocument,
  PolykomosListBlueprintsDocument,
  PolykomosUpdateBlueprintDocument,
  PolykomosValidateBlueprintDocument,
} from '../generated/graphql.ts';
import { answer, isoOrNull } from './answer.ts';
import { graphql, group } from './policy.ts';

function body(req: RestRequest): Record<string, unknown> {
  return req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body)
    ? (req.body as Record<string, unknown>)
    : {};
}

/** A body field that must be a string when present (422 otherwise; null only where `nullable`). */
function str(b: Record<string, unknown>, field: string, nullable = false): string | null | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (v === null && nullable) return null;
  if (typeof v !== 'string') throw new PolykomosError('INVALID_PARAMETER', 422, `${field} must be a string`);
  return v;
}

function variables(b: Record<string, unknown>): unknown {
  const v = b.variables;
  if (v === undefined || v === null) return v;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new PolykomosError('INVALID_PARAMETER', 422, 'variables must be an object');
  }
  return v;
}

/** The contract's `Blueprint`; `sql_content` only when given (single gets, create and update). */
function blueprint(b: PolykomosBlueprintFieldsFragment & { sqlContent?: string }) {
  return {
    object: 'blueprint',
    uuid: b.uuid,
    name: b.name,
    slug: b.slug,
    description: b.description,
    content_type: b.contentType,
    version: b.version,
    size_bytes: b.sizeBytes,
    is_system_blueprint: b.isSystemBlueprint,
    variables: b.variables ?? null,
    metadata: b.metadata ?? null,
    ...(b.sqlContent !== undefined ? { sql_content: b.sqlContent } : {}),
    created_at: new Date(b.createdAt).toISOString(),
    updated_at: new Date(b.updatedAt).toISOString(),
  };
}

const uuid = (req: RestRequest) => req.params.uuid ?? '';

const listBlueprints = graphql({
  policy: { scope: 'blueprints:read' },
  document: PolykomosListBlueprintsDocument,
  variables: (req) => ({
    first: (req.coerced.query.limit as number | undefined) ?? 25,
    after: (req.query.starting_after as string | undefined) ?? null,
  }),
  respond: ({ polykomosBlueprints: r }, req) =>
    answer(r, req, (page) => ({
      status: 200,
      body: {
        data: page.edges.map((e) => blueprint(e.node)),
        has_more: page.pageInfo.hasNextPage,
        request_id: req.requestId,
      },
    })),
});

const getBlueprint = graphql({
  policy: { scope: 'blueprints:read' },
  document: PolykomosGetBlueprintDocument,
  variables: (req) => ({ uuid: uuid(req) }),
  respond: ({ polykomosBlueprint: r }, req) =>
    answer(r, req, (b) => ({ status: 200, body: { data: blueprint(b), request_id: req.requestId } })),
});

const createBlueprint = graphql({
  policy: { scope: 'blueprints:write', idempotency: 'header' },
  document: PolykomosCreateBlueprintDocument,
  variables: (req) => {
    const b = body(req);
    const name = str(b, 'name');
    const sqlContent = str(b, 'sql_content');
    if (name == null || sqlContent == null) {
      throw new PolykomosError('INVALID_PARAMETER', 422, 'name and sql_content are required');
    }
    const description = str(b, 'description', true);
    const vars = variables(b);
    return {
      input: {
        name,
        sqlContent,
        ...(description != null ? { description } : {}),
        ...(vars != null ? { variables: vars } : {}),
      },
    };
  },
  respond: ({ createPolykomosBlueprint: r }, req) =>
    answer(r, req, (b) => ({
      status: 201,
      body: { message: 'Blueprint created', data: blueprint(b), request_id: req.requestId },
    })),
});

const updateBlueprint = graphql({
  policy: { scope: 'blueprints:write' },
  document: PolykomosUpdateBlueprintDocument,
  variables: (req) => {
    const b = body(req);
    const input: Record<string, unknown> = {};
    const name = str(b, 'name');
    if (name != null) input.name = name;
    const description = str(b, 'description', true);
    if (description !== undefined) input.description = description;
    const sqlContent = str(b, 'sql_content');
    if (sqlContent != null) input.sqlContent = sqlContent;
    if (b.variables !== undefined) input.variables = variables(b);
    return { uuid: uuid(req), input };
  },
  respond: ({ updatePolykomosBlueprint: r }, req) =>
    answer(r, req, (b) => ({
      status: 200,
      body: { message: 'Blueprint updated', data: blueprint(b), request_id: req.requestId },
    })),
});

const deleteBlueprint = graphql({
  policy: { scope: 'blueprints:write' },
  document: PolykomosDeleteBlueprintDocument,
  variables: (req) => ({ uuid: uuid(req) }),
  respond: ({ deletePolykomosBlueprint: r }, req) =>
    answer(r, req, (d) => ({
      status: 200,
      body: { message: 'Blueprint deleted', data: { uuid: d.uuid, deleted: d.deleted }, request_id: req.requestId },
    })),
});

const createBlueprintValidation = graphql({
  policy: { scope: 'blueprints:read' },
  document: PolykomosValidateBlueprintDocument,
  variables: (req) => {
    const b = body(req);
    const sqlContent = str(b, 'sql_content');
    if (sqlContent == null) throw new PolykomosError('INVALID_PARAMETER', 422, 'sql_content is required');
    // `variables` is an extension of the contract's body: the declarations `{{name}}` placeholders refer to.
    const vars = variables(b);
    return { sqlContent, variables: vars ?? null };
  },
  respond: ({ validatePolykomosBlueprint: r }, req) =>
    answer(r, req, (v) => ({
      status: 200,
      body: {
        data: {
          valid: v.valid,
          statement_count: v.statementCount,
          errors: v.errors,
          warnings: v.warnings,
          manifest: {
            statements: v.manifest.statements.map((s) => ({ index: s.index, type: s.type })),
            objects_created: v.manifest.objectsCreated,
            variables_referenced: v.manifest.variablesReferenced,
            semantic_check: v.manifest.semanticCheck,
          },
        },
        request_id: req.requestId,
      },
    })),
});

/** The contract's `BlueprintApplication` (integer ids; explicit nulls). */
function application(a: PolykomosBlueprintApplicationFieldsFragment) {
  return {
    object: 'blueprint_application',
    id: a.applicationId,
    blueprint_id: a.blueprintId,
    blueprint_version: a.blueprintVersion,
    database_instance_id: a.databaseInstanceId,
    status: a.status,
    is_dry_run: a.isDryRun,
    execution_log: a.executionLog ?? null,
    total_duration_ms: a.totalDurationMs,
    statements_total: a.statementsTotal,
    statements_succeeded: a.statementsSucceeded,
    statements_failed: a.statementsFailed,
    error_message: a.errorMessage,
    variable_values: a.variableValues ?? null,
    started_at: isoOrNull(a.startedAt),
    completed_at: isoOrNull(a.completedAt),
    created_at: new Date(a.createdAt).toISOString(),
  };
}

const createDatabaseBlueprintApplication = graphql({
  policy: { scope: 'databases:write', idempotency: 'header' },
  document: PolykomosApplyBlueprintDocument,
  variables: (req) => {
    const b = body(req);
    const blueprintUuid = str(b, 'blueprint_uuid');
    if (blueprintUuid == null) throw new PolykomosError('INVALID_PARAMETER', 422, 'blueprint_uuid is required');
    const bool = (field: string) => {
      const v = b[field];
      if (v !== undefined && typeof v !== 'boolean') {
        throw new PolykomosError('INVALID_PARAMETER', 422, `${field} must be a boolean`);
      }
      return v as boolean | undefined;
    };
    const timeout = b.timeout ?? 30;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > 120) {
      throw new PolykomosError('INVALID_PARAMETER', 422, 'timeout must be an integer 1..120');
    }
    const vars = variables(b);
    return {
      databaseUuid: uuid(req),
      input: {
        blueprintUuid,
        ...(vars != null ? { variables: vars } : {}),
        dryRun: bool('dry_run') ?? false,
        wait: bool('wait') ?? true,
        timeout,
      },
    };
  },
  respond: ({ applyPolykomosBlueprint: r }, req) =>
    answer(r, req, (p) => ({
      status: p.done ? 200 : 202,
      body: {
        message: p.done ? `Blueprint application ${p.application.status}` : 'Blueprint application still running',
        data: application(p.application),
        request_id: req.requestId,
      },
    })),
});

const getBlueprintApplication = graphql({
  policy: { scope: 'blueprints:read' },
  document: PolykomosGetBlueprintApplicationDocument,
  variables: (req) => {
    const id = req.coerced.params.id ?? Number(req.params.id);
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || Math.abs(id) > 2_147_483_647) {
      throw new PolykomosError('NOT_FOUND', 404, 'Blueprint application not found');
    }
    return { id };
  },
  respond: ({ polykomosBlueprintApplication: r }, req) =>
    answer(r, req, (a) => ({ status: 200, body: { data: application(a), request_id: req.requestId } })),
});

/** Served blueprint operations by the contract's operationIds. */
/** Blueprints, their validation and applications. */
export const polykomosBlueprintOperations = group('blueprints', 'test/polykomos/blueprints.test.ts', {
  listBlueprints,
  getBlueprint,
  createBlueprint,
  updateBlueprint,
  deleteBlueprint,
  createBlueprintValidation,
  createDatabaseBlueprintApplication,
  getBlueprintApplication,
});
