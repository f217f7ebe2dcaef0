import { InvalidInputError } from '../../src/core/errors.ts';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestRequest } from '../engine/types.ts';
import {
  type GoClawAgentFieldsFragment,
  type GoClawAgentInput,
  type GoClawAgentType,
  GoClawCreateAgentDocument,
  GoClawDeleteAgentDocument,
  GoClawGetAgentDocument,
  GoClawListAgentsDocument,
  GoClawUpdateAgentDocument,
  GoClawWakeAgentDocument,
} from '../generated/graphql.ts';
import { answer, headerValue } from './answer.ts';

/** The agent as REST shows it: the contract's `AgentInput` names plus id, owner, status and times. */
export function toGoClawAgent(a: GoClawAgentFieldsFragment) {
  return {
    id: a.uuid,
    name: a.name,
    agent_key: a.name,
    display_name: a.displayName,
    agent_type: a.agentType,
    description: a.description,
    provider: a.provider,
    model: a.model,
    system_prompt: a.systemPrompt,
    owner_id: a.ownerId,
    status: a.status,
    max_tool_iterations: a.maxToolIterations,
    tools_config: a.toolsConfig,
    memory_config: a.memoryConfig,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

const userOf = (req: RestRequest) => headerValue(req.headers['x-goclaw-user-id']) ?? null;

const bad = (message: string) => new InvalidInputError(message);

/** The AgentInput body as GraphQL input (also upstream's `agent_key`, `max_tool_iterations`, `tools_config`). */
function agentInput(req: RestRequest): GoClawAgentInput {
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  const text = (key: string) => {
    const v = body[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw bad(`body.${key}: must be string`);
    return v;
  };
  const iterations = body.max_tool_iterations;
  if (iterations !== undefined && iterations !== null && !Number.isInteger(iterations)) {
    throw bad('body.max_tool_iterations: must be integer');
  }
  const tools = body.tools_config as { allow?: unknown; deny?: unknown } | undefined | null;
  if (tools !== undefined && tools !== null && (typeof tools !== 'object' || Array.isArray(tools))) {
    throw bad('body.tools_config: must be object');
  }
  const list = (v: unknown, key: string) => {
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw bad(`body.tools_config.${key}: must be an array of strings`);
    return v as string[];
  };
  const memory = body.memory_config as Record<string, unknown> | undefined | null;
  if (memory !== undefined && memory !== null && (typeof memory !== 'object' || Array.isArray(memory))) {
    throw bad('body.memory_config: must be object');
  }
  const memoryText = (key: string) => {
    const v = memory?.[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw bad(`body.memory_config.${key}: must be string`);
    return v;
  };
  const agentType = text('agent_type');
  if (agentType !== null && agentType !== 'open' && agentType !== 'predefined') {
    throw bad('body.agent_type: must be open or predefined');
  }
  return {
    name: text('name') ?? text('agent_key'),
    displayName: text('display_name'),
    agentType: agentType as GoClawAgentType | null,
    description: text('description'),
    provider: text('provider'),
    model: text('model'),
    systemPrompt: text('system_prompt'),
    maxToolIterations: (iterations as number | undefined) ?? null,
    toolsConfig: tools ? { allow: list(tools.allow, 'allow'), deny: list(tools.deny, 'deny') } : null,
    memoryConfig: memory
      ? { embeddingProvider: memoryText('embedding_provider'), embeddingModel: memoryText('embedding_model') }
      : null,
  };
}

/** GET /v1/agents — `{agents: [...]}`: the user's agents (X-GoClaw-User-Id), every agent for admins. */
const listAgents = graphqlOperation({
  document: GoClawListAgentsDocument,
  variables: (req) => ({ userId: userOf(req) }),
  respond: ({ goclawAgents: r }) =>
    answer(r, (ok) => ({ status: 200, body: { agents: ok.data.edges.map((e) => toGoClawAgent(e.node)) } })),
});

/** POST /v1/agents — 201 with the agent, owned by X-GoClaw-User-Id; 409 on a taken slug. */
const createAgent = graphqlOperation({
  document: GoClawCreateAgentDocument,
  variables: (req) => ({ userId: userOf(req), input: agentInput(req) }),
  respond: ({ createGoClawAgent: r }) => answer(r, (ok) => ({ status: 201, body: toGoClawAgent(ok.data) })),
});

/** GET /v1/agents/{id} — by uuid or slug; 403 for someone else's agent. */
const getAgent = graphqlOperation({
  document: GoClawGetAgentDocument,
  variables: (req) => ({ id: req.params.id ?? '', userId: userOf(req) }),
  respond: ({ goclawAgent: r }) => answer(r, (ok) => ({ status: 200, body: toGoClawAgent(ok.data) })),
});

/** PUT /v1/agents/{id} — partial, owner-only: `{ok: "true"}` (a string, as upstream). */
const updateAgent = graphqlOperation({
  document: GoClawUpdateAgentDocument,
  variables: (req) => ({ id: req.params.id ?? '', userId: userOf(req), input: agentInput(req) }),
  respond: ({ updateGoClawAgent: r }) => answer(r, () => ({ status: 200, body: { ok: 'true' } })),
});

/** DELETE /v1/agents/{id} — owner-only: `{ok: "true"}`. */
const deleteAgent = graphqlOperation({
  document: GoClawDeleteAgentDocument,
  variables: (req) => ({ id: req.params.id ?? '', userId: userOf(req) }),
  respond: ({ deleteGoClawAgent: r }) => answer(r, () => ({ status: 200, body: { ok: 'true' } })),
});

/**
 * POST /v1/agents/{id}/wake — runs the agent and answers when it ends: `{content, run_id, usage}`; 400 without a
 * message; a provider failure is 502 `{error, run_id}`.
 */
const wakeAgent = graphqlOperation({
  document: GoClawWakeAgentDocument,
  variables: (req) => {
    const body = (req.body ?? {}) as { message?: unknown; user_id?: unknown; session_key?: unknown };
    if (typeof body.message !== 'string' || body.message.trim() === '') throw bad('body.message: is required');
    if (body.user_id !== undefined && typeof body.user_id !== 'string') throw bad('body.user_id: must be string');
    if (body.session_key !== undefined && typeof body.session_key !== 'string')
      throw bad('body.session_key: must be string');
    return {
      id: req.params.id ?? '',
      input: {
        message: body.message,
        userId: (body.user_id as string | undefined) ?? userOf(req),
        sessionKey: (body.session_key as string | undefined) ?? null,
      },
    };
  },
  respond: ({ wakeGoClawAgent: r }) =>
    answer(r, ({ data }) => {
      if (data.status !== 'completed') {
        return { status: 502, body: { error: data.error ?? 'the run did not complete', run_id: data.runId } };
      }
      return {
        status: 200,
        body: {
          content: data.content,
          run_id: data.runId,
          usage: {
            prompt_tokens: data.usage.promptTokens,
            completion_tokens: data.usage.completionTokens,
            total_tokens: data.usage.totalTokens,
            cost: data.usage.cost,
          },
        },
      };
    }),
});

/** Agents: CRUD with owner-only edits, and wake. */
export const goclawAgentOperations = operationsFor<OperationPolicy>().group('agents', 'test/goclaw/agents.test.ts', {
  get_v1_agents: listAgents,
  post_v1_agents: createAgent,
  get_v1_agents_by_id: getAgent,
  put_v1_agents_by_id: updateAgent,
  delete_v1_agents_by_id: deleteAgent,
  post_v1_agents_by_id_wake: wakeAgent,
});
