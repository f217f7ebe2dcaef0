import { resolveArrayConnection } from '@pothos/plugin-relay';
import { builder } from '../../../core/builder.ts';
import type { AgentInput, AgentRow } from '../agents.service.ts';
import { isUuid } from '../providers.service.ts';
import { Busy, Conflict, errorsOf, Forbidden, InvalidInput, NotFound, UsageRef, withTotalCount } from './types.ts';

const AgentTypeEnum = builder.enumType('GoClawAgentType', {
  description: 'How an agent came to be.',
  values: {
    open: { description: 'Configured by its owner.' },
    predefined: { description: 'A predefined agent.' },
  } as const,
});

const isAgent = (v: unknown): v is AgentRow => typeof v === 'object' && v !== null && 'agentKey' in v && 'ownerId' in v;

export const AgentRef = builder.node(builder.objectRef<AgentRow>('GoClawAgent'), {
  id: { resolve: (a) => a.id },
  description: 'A GoClaw agent: a provider and model, a system prompt, an owner and its tool filters.',
  authScopes: { product: 'goclaw' },
  isTypeOf: isAgent,
  // A node lookup carries no user id: only admins see agents through node(id).
  loadOne: (id, ctx) => (isUuid(id) ? ctx.services.goclaw.agents.get(ctx.principal, id, null).catch(() => null) : null),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The agent’s uuid (REST’s id).' }),
    name: t.exposeString('agentKey', { description: 'The unique slug (upstream’s `agent_key`).' }),
    displayName: t.exposeString('displayName', { description: 'A name for people.' }),
    agentType: t.field({
      type: AgentTypeEnum,
      description: 'open or predefined.',
      resolve: (a) => a.agentType as 'open',
    }),
    description: t.exposeString('description', { description: 'What the agent is for.' }),
    provider: t.exposeString('provider', { description: 'The provider’s name (slug).' }),
    model: t.exposeString('model', { description: 'The model id sent to the provider.' }),
    systemPrompt: t.exposeString('systemPrompt', { description: 'The system prompt every run starts with.' }),
    ownerId: t.exposeString('ownerId', { description: 'The external user (X-GoClaw-User-Id) that owns it.' }),
    status: t.exposeString('status', { description: '`active` (or `summoning` for predefined agents).' }),
    maxToolIterations: t.exposeInt('maxToolIterations', { description: 'The run loop’s cap on model calls.' }),
    toolsConfig: t.field({
      type: 'JSON',
      description: '`{allow?, deny?}`: tool names the agent’s runs may (not) offer the model.',
      resolve: (a) => a.toolsConfig,
    }),
    memoryConfig: t.field({
      type: 'JSON',
      description:
        '`{embedding_provider?, embedding_model?}`: who embeds the agent’s memory (empty: the global configuration).',
      resolve: (a) => a.memoryConfig,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const MemoryConfigInput = builder.inputType('GoClawAgentMemoryConfigInput', {
  description: 'Who embeds an agent’s memory documents and search queries.',
  fields: (t) => ({
    embeddingProvider: t.string({
      required: false,
      description: 'A provider’s name (slug) with an embeddings endpoint; empty = the global configuration.',
    }),
    embeddingModel: t.string({ required: false, description: 'The embedding model (with embeddingProvider).' }),
  }),
});

const ToolsConfigInput = builder.inputType('GoClawAgentToolsConfigInput', {
  description: 'Which registered tools an agent’s runs offer the model.',
  fields: (t) => ({
    allow: t.stringList({ required: false, description: 'Only these names (absent or empty = all).' }),
    deny: t.stringList({ required: false, description: 'Never these names.' }),
  }),
});

const AgentInputRef = builder.inputType('GoClawAgentInput', {
  description: 'An agent’s fields; on update every field is optional and absent ones stay.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'Unique slug (required on create).' }),
    displayName: t.string({ required: false, description: 'A name for people.' }),
    agentType: t.field({ type: AgentTypeEnum, required: false, description: 'open (default) or predefined.' }),
    description: t.string({ required: false, description: 'What the agent is for.' }),
    provider: t.string({ required: false, description: 'The provider’s name (slug).' }),
    model: t.string({ required: false, description: 'The model id.' }),
    systemPrompt: t.string({ required: false, description: 'The system prompt.' }),
    maxToolIterations: t.int({ required: false, description: 'Cap on model calls per run, 1–100 (default 20).' }),
    toolsConfig: t.field({ type: ToolsConfigInput, required: false, description: 'Tool allow/deny lists.' }),
    memoryConfig: t.field({ type: MemoryConfigInput, required: false, description: 'Who embeds its memory.' }),
  }),
});

const userDescription = 'The external user (X-GoClaw-User-Id); at most 255 characters.';

builder.queryField('goclawAgents', (t) =>
  t.connection(
    {
      type: AgentRef,
      description: 'The user’s agents, oldest first; admins see every agent. Viewer role.',
      authScopes: { product: 'goclaw' },
      errors: errorsOf(InvalidInput),
      args: { userId: t.arg.string({ required: false, description: userDescription }) },
      resolve: async (_r, args, ctx) => {
        const all = await ctx.services.goclaw.agents.list(ctx.principal, args.userId);
        return Object.assign(resolveArrayConnection({ args, defaultSize: 100, maxSize: 1000 }, all), {
          totalCount: all.length,
        });
      },
    },
    withTotalCount,
  ),
);

builder.queryField('goclawAgent', (t) =>
  t.field({
    type: AgentRef,
    description: 'One agent by uuid or slug, if the user owns it (admins: any). Viewer role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, Forbidden),
    args: {
      id: t.arg.string({ required: true, description: 'The agent’s uuid or slug.' }),
      userId: t.arg.string({ required: false, description: userDescription }),
    },
    resolve: (_r, { id, userId }, ctx) => ctx.services.goclaw.agents.get(ctx.principal, id, userId),
  }),
);

const toInput = (input: Record<string, unknown>): AgentInput => input as AgentInput;

builder.mutationField('createGoClawAgent', (t) =>
  t.field({
    type: AgentRef,
    description: 'Creates an agent owned by the user. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(InvalidInput, Conflict),
    args: {
      userId: t.arg.string({ required: false, description: userDescription }),
      input: t.arg({ type: AgentInputRef, required: true, description: 'The agent.' }),
    },
    resolve: (_r, { userId, input }, ctx) => ctx.services.goclaw.agents.create(ctx.principal, userId, toInput(input)),
  }),
);

builder.mutationField('updateGoClawAgent', (t) =>
  t.field({
    type: AgentRef,
    description: 'Changes the given fields; the owner (or an admin) only. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, Forbidden, InvalidInput, Conflict),
    args: {
      id: t.arg.string({ required: true, description: 'The agent’s uuid or slug.' }),
      userId: t.arg.string({ required: false, description: userDescription }),
      input: t.arg({ type: AgentInputRef, required: true, description: 'The fields to change.' }),
    },
    resolve: (_r, { id, userId, input }, ctx) =>
      ctx.services.goclaw.agents.update(ctx.principal, id, userId, toInput(input)),
  }),
);

builder.mutationField('deleteGoClawAgent', (t) =>
  t.field({
    type: AgentRef,
    description: 'Deletes an agent; the owner (or an admin) only. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, Forbidden),
    args: {
      id: t.arg.string({ required: true, description: 'The agent’s uuid or slug.' }),
      userId: t.arg.string({ required: false, description: userDescription }),
    },
    resolve: (_r, { id, userId }, ctx) => ctx.services.goclaw.agents.delete(ctx.principal, id, userId),
  }),
);

const RunStatusEnum = builder.enumType('GoClawRunStatus', {
  description: 'How a run ended.',
  values: {
    completed: { description: 'The model gave a final answer.' },
    error: { description: 'The provider failed or the iteration cap was reached.' },
    cancelled: { description: 'The run was aborted (client gone, shutdown).' },
  } as const,
});

const WakeResultRef = builder
  .objectRef<{ runId: string; traceId: string; status: string; content: string; error?: string; usage: any }>(
    'GoClawWakeResult',
  )
  .implement({
    description: 'A finished run started by wake.',
    fields: (t) => ({
      runId: t.exposeString('runId', { description: 'The run’s id (`agentRunEvents(runId)` replays it).' }),
      traceId: t.exposeString('traceId', { description: 'The trace recording it.' }),
      status: t.field({ type: RunStatusEnum, description: 'How it ended.', resolve: (r) => r.status as 'completed' }),
      content: t.exposeString('content', { description: 'The text the model produced.' }),
      error: t.string({ nullable: true, description: 'Why it did not complete.', resolve: (r) => r.error ?? null }),
      usage: t.field({ type: UsageRef, description: 'Tokens and cost.', resolve: (r) => r.usage }),
    }),
  });

const WakeInputRef = builder.inputType('GoClawWakeInput', {
  description: 'What wakes the agent.',
  fields: (t) => ({
    message: t.string({ required: true, description: 'The user message (non-empty).' }),
    userId: t.string({ required: false, description: 'The external user it runs for.' }),
    sessionKey: t.string({ required: false, description: 'A session key recorded on the trace.' }),
  }),
});

builder.mutationField('wakeGoClawAgent', (t) =>
  t.field({
    type: WakeResultRef,
    description: 'Runs the agent on one message and answers when the run ends. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput, Busy),
    args: {
      id: t.arg.string({ required: true, description: 'The agent’s uuid or slug.' }),
      input: t.arg({ type: WakeInputRef, required: true, description: 'The message.' }),
    },
    resolve: (_r, { id, input }, ctx) => ctx.services.goclaw.wake(ctx.principal, id, input),
  }),
);

const AbortOutcomeEnum = builder.enumType('GoClawRunAbortOutcome', {
  description: 'What an abort request did.',
  values: {
    aborted: { description: 'The run was running on the instance that answered and is cancelled now.' },
    requested: { description: 'Another instance runs it and was asked to cancel it (followers see run_cancelled).' },
    finished: { description: 'The run had already ended; nothing changed.' },
  } as const,
});

const AbortResultRef = builder
  .objectRef<{ runId: string; outcome: 'aborted' | 'requested' | 'finished' }>('GoClawRunAbortResult')
  .implement({
    description: 'The answer to an abort request.',
    fields: (t) => ({
      runId: t.exposeString('runId', { description: 'The run.' }),
      outcome: t.field({ type: AbortOutcomeEnum, description: 'What happened.', resolve: (r) => r.outcome }),
    }),
  });

builder.mutationField('abortAgentRun', (t) =>
  t.field({
    type: AbortResultRef,
    description:
      'Aborts a run on whichever instance runs it; it ends as run_cancelled. Operator role; the principal that ' +
      'started it, or an admin.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound),
    args: { runId: t.arg.string({ required: true, description: 'The run’s id.' }) },
    resolve: (_r, { runId }, ctx) => ctx.services.goclaw.abortRun(ctx.principal, runId),
  }),
);
