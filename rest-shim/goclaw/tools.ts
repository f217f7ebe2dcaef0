import { offsetToCursor } from '@pothos/plugin-relay';
import { InvalidInputError } from '../../src/core/errors.ts';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestRequest } from '../engine/types.ts';
import {
  type CreateGoClawCustomToolInput,
  type GoClawBuiltinToolFieldsFragment,
  GoClawCreateCustomToolDocument,
  type GoClawCustomToolFieldsFragment,
  GoClawDeleteCustomToolDocument,
  GoClawGetBuiltinToolDocument,
  GoClawGetCustomToolDocument,
  GoClawListBuiltinToolsDocument,
  GoClawListCustomToolsDocument,
  GoClawUpdateBuiltinToolDocument,
  GoClawUpdateCustomToolDocument,
  type UpdateGoClawCustomToolInput,
} from '../generated/graphql.ts';
import {
  bool,
  defined,
  failure,
  globalId,
  int,
  jsonBody,
  notFound,
  object,
  paging,
  queryValue,
  str,
} from './tool-body.ts';

/** A custom tool as GoClaw returns it (its env is never returned). */
export function toGoClawCustomTool(t: GoClawCustomToolFieldsFragment) {
  return {
    id: t.uuid,
    name: t.name,
    description: t.description,
    parameters: t.parameters,
    command: t.command,
    timeout_seconds: t.timeoutSeconds,
    agent_id: t.agentId,
    enabled: t.enabled,
    created_by: t.createdBy,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  };
}

function toolInput(req: RestRequest): UpdateGoClawCustomToolInput {
  const b = jsonBody(req);
  return defined({
    name: str(b, 'name'),
    description: str(b, 'description'),
    parameters: object(b, 'parameters'),
    command: str(b, 'command'),
    timeoutSeconds: int(b, 'timeout_seconds'),
    env: object(b, 'env'),
    agentId: str(b, 'agent_id'),
    enabled: bool(b, 'enabled'),
  });
}

/** GET /v1/tools/custom — `{tools, total, limit, offset}`; filters `agent_id`, `search`. */
const listCustom = graphqlOperation({
  extraQuery: ['agent_id', 'search', 'limit', 'offset'],
  document: GoClawListCustomToolsDocument,
  variables: (req) => {
    const { limit, offset } = paging(req);
    return {
      first: limit,
      after: offset > 0 ? offsetToCursor(offset - 1) : null,
      agentId: queryValue(req, 'agent_id') ?? null,
      search: queryValue(req, 'search') ?? null,
    };
  },
  respond: (data, req) => {
    const { limit, offset } = paging(req);
    const c = data.goClawCustomTools;
    return {
      status: 200,
      body: { tools: c.edges.map(({ node }) => toGoClawCustomTool(node)), total: c.totalCount, limit, offset },
    };
  },
});

/** POST /v1/tools/custom — 201 with the tool; 409 when the name is taken (or a built-in tool's). */
const createCustom = graphqlOperation({
  document: GoClawCreateCustomToolDocument,
  variables: (req) => {
    const input = toolInput(req);
    if (!input.name) throw new InvalidInputError('name is required');
    if (!input.command) throw new InvalidInputError('command (the JavaScript body) is required');
    return { input: input as CreateGoClawCustomToolInput };
  },
  respond: ({ createGoClawCustomTool: r }) =>
    r.__typename === 'MutationCreateGoClawCustomToolSuccess'
      ? { status: 201, body: toGoClawCustomTool(r.data) }
      : failure(r),
});

const getCustom = graphqlOperation({
  document: GoClawGetCustomToolDocument,
  variables: (req) => ({ id: globalId('GoClawCustomTool', req) }),
  respond: (data, req) =>
    data.node?.__typename === 'GoClawCustomTool'
      ? { status: 200, body: toGoClawCustomTool(data.node) }
      : notFound('Custom tool', req),
});

const updateCustom = graphqlOperation({
  document: GoClawUpdateCustomToolDocument,
  variables: (req) => ({ id: globalId('GoClawCustomTool', req), input: toolInput(req) }),
  respond: ({ updateGoClawCustomTool: r }) =>
    r.__typename === 'MutationUpdateGoClawCustomToolSuccess'
      ? { status: 200, body: { status: 'updated' } }
      : failure(r),
});

const deleteCustom = graphqlOperation({
  document: GoClawDeleteCustomToolDocument,
  variables: (req) => ({ id: globalId('GoClawCustomTool', req) }),
  respond: ({ deleteGoClawCustomTool: r }) =>
    r.__typename === 'MutationDeleteGoClawCustomToolSuccess'
      ? { status: 200, body: { status: 'deleted' } }
      : failure(r),
});

/** A built-in tool as GoClaw returns it. */
export function toGoClawBuiltinTool(t: GoClawBuiltinToolFieldsFragment) {
  return {
    name: t.name,
    display_name: t.displayName,
    description: t.description,
    category: t.category,
    enabled: t.enabled,
    settings: t.settings,
    requires: t.requires,
    updated_at: t.updatedAt,
  };
}

const listBuiltin = graphqlOperation({
  document: GoClawListBuiltinToolsDocument,
  variables: () => ({}),
  respond: (data) => ({ status: 200, body: { tools: data.goClawBuiltinTools.map(toGoClawBuiltinTool) } }),
});

const getBuiltin = graphqlOperation({
  document: GoClawGetBuiltinToolDocument,
  variables: (req) => ({ name: req.params.name ?? '' }),
  respond: ({ goClawBuiltinTool: r }) =>
    r.__typename === 'QueryGoClawBuiltinToolSuccess' ? { status: 200, body: toGoClawBuiltinTool(r.data) } : failure(r),
});

/** PUT /v1/tools/builtin/{name} — only `enabled` and `settings`; `{status: "updated"}`. */
const updateBuiltin = graphqlOperation({
  document: GoClawUpdateBuiltinToolDocument,
  variables: (req) => {
    const b = jsonBody(req);
    return {
      name: req.params.name ?? '',
      input: defined({ enabled: bool(b, 'enabled'), settings: object(b, 'settings') }),
    };
  },
  respond: ({ updateGoClawBuiltinTool: r }) =>
    r.__typename === 'MutationUpdateGoClawBuiltinToolSuccess'
      ? { status: 200, body: { status: 'updated' } }
      : failure(r),
});

/** Custom tools (JavaScript in the mcp-v8 sandbox) and built-in tool settings. */
export const goclawToolOperations = operationsFor<OperationPolicy>().group('tools', 'test/goclaw/tools.test.ts', {
  get_v1_tools_custom: listCustom,
  post_v1_tools_custom: createCustom,
  get_v1_tools_custom_by_id: getCustom,
  put_v1_tools_custom_by_id: updateCustom,
  delete_v1_tools_custom_by_id: deleteCustom,
  get_v1_tools_builtin: listBuiltin,
  get_v1_tools_builtin_by_name: getBuiltin,
  put_v1_tools_builtin_by_name: updateBuiltin,
});
