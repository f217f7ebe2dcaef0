import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { builder } from '../../../core/builder.ts';
import { GoClawNotFoundError } from '../goclaw.errors.ts';
import type { SessionMessage, SessionSummary } from '../sessions.service.ts';
import { Busy, errorsOf, InvalidInput, NotFound, withTotalCount } from './types.ts';

/*
 * Sessions (docs/goclaw.md "WebSocket RPC"): the runs one principal recorded under one session key, with the
 * conversation replayed from their event logs; a message sent into a session runs the agent with that history.
 * The WebSocket RPC's chat.send, chat.abort, chat.history and sessions.* call the same service methods.
 */

const isSession = (v: unknown): v is SessionSummary =>
  typeof v === 'object' && v !== null && 'key' in v && 'lastActivity' in v && 'runs' in v;

const SessionRoleEnum = builder.enumType('GoClawSessionRole', {
  description: 'Who said a message of a session.',
  values: {
    user: { description: 'The user’s message (the run’s input).' },
    assistant: { description: 'The agent’s answer (the run’s content).' },
  } as const,
});

const SessionMessageRef = builder.objectRef<SessionMessage>('GoClawSessionMessage').implement({
  description: 'One turn of a session’s conversation.',
  fields: (t) => ({
    role: t.field({ type: SessionRoleEnum, description: 'Who said it.', resolve: (m) => m.role }),
    content: t.exposeString('content', { description: 'What was said.' }),
    runId: t.exposeString('runId', { description: 'The run it belongs to.' }),
    at: t.expose('at', {
      type: 'DateTime',
      description: 'When (the run’s start for the user, its end for the answer).',
    }),
  }),
});

const SessionRef = builder.node(builder.objectRef<SessionSummary>('GoClawSession'), {
  id: { resolve: (s) => s.key },
  description: 'A conversation: the runs one principal recorded under one session key (an admin sees every one).',
  authScopes: { product: 'goclaw' },
  isTypeOf: isSession,
  loadOne: async (key, ctx) => (await ctx.services.goclaw.sessions.get(ctx.principal, key).catch(() => null)) ?? null,
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The session key.' }),
    agentId: t.exposeString('agentId', { nullable: true, description: 'The agent of its latest run (uuid).' }),
    runs: t.exposeInt('runs', { description: 'Runs recorded under it.' }),
    inputTokens: t.exposeInt('inputTokens', { description: 'Input tokens over its runs.' }),
    outputTokens: t.exposeInt('outputTokens', { description: 'Output tokens over its runs.' }),
    lastActivity: t.expose('lastActivity', { type: 'DateTime', description: 'When its latest run started.' }),
    messages: t.field({
      type: [SessionMessageRef],
      description: 'The conversation, oldest first: each of its latest 50 completed runs’ message and answer.',
      resolve: (s, _a, ctx) => ctx.services.goclaw.sessions.history(ctx.principal, s.key),
    }),
  }),
});

builder.queryField('goclawSessions', (t) =>
  t.connection(
    {
      type: SessionRef,
      description: 'The caller’s sessions, most recently active first. Offset cursors. Viewer role.',
      authScopes: { product: 'goclaw' },
      errors: errorsOf(InvalidInput),
      args: {
        agentId: t.arg.string({ required: false, description: 'Only sessions with runs of this agent (uuid).' }),
      },
      resolve: async (_r, args, ctx) => {
        let totalCount = 0;
        const conn = await resolveOffsetConnection(
          { args, defaultSize: 50, maxSize: 200 },
          async ({ limit, offset }) => {
            const page = await ctx.services.goclaw.sessions.list(ctx.principal, {
              agentId: args.agentId,
              limit: Math.min(limit, 200),
              offset,
            });
            totalCount = page.total;
            return page.items;
          },
        );
        return Object.assign(conn, { totalCount });
      },
    },
    withTotalCount,
  ),
);

builder.queryField('goclawSession', (t) =>
  t.field({
    type: SessionRef,
    description: 'One of the caller’s sessions by key. Viewer role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: { key: t.arg.string({ required: true, description: 'The session key.' }) },
    resolve: async (_r, { key }, ctx) => {
      const session = await ctx.services.goclaw.sessions.get(ctx.principal, key);
      if (!session) throw new GoClawNotFoundError(`session ${key.slice(0, 255)} not found`);
      return session;
    },
  }),
);

const SendInputRef = builder.inputType('GoClawSendMessageInput', {
  description: 'A message to an agent in a session.',
  fields: (t) => ({
    message: t.string({ required: true, description: 'The user message (non-empty).' }),
    sessionKey: t.string({ required: true, description: 'The session (1–255 characters): its history is sent along.' }),
    agentId: t.string({
      required: false,
      description: 'The agent (uuid or slug); else the one `agent:<slug>:…` names; else `default`.',
    }),
    userId: t.string({ required: false, description: 'The external user it runs for.' }),
    stream: t.boolean({ required: false, description: 'Call the provider streamed (a chunk event per delta).' }),
  }),
});

const RunStartedRef = builder
  .objectRef<{ runId: string; agentId: string; agentKey: string; sessionKey: string }>('GoClawRunStarted')
  .implement({
    description: 'A run that started; `agentRunEvents(runId)` follows it.',
    fields: (t) => ({
      runId: t.exposeString('runId', { description: 'The run’s id.' }),
      agentId: t.exposeString('agentId', { description: 'The agent’s uuid.' }),
      agentKey: t.exposeString('agentKey', { description: 'The agent’s slug.' }),
      sessionKey: t.exposeString('sessionKey', { description: 'The session.' }),
    }),
  });

builder.mutationField('sendGoClawMessage', (t) =>
  t.field({
    type: RunStartedRef,
    description:
      'Runs the agent on a message in a session (its history first) and answers at once; follow the run with ' +
      '`agentRunEvents`. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput, Busy),
    args: { input: t.arg({ type: SendInputRef, required: true, description: 'The message.' }) },
    resolve: async (_r, { input }, ctx) => {
      const { run, agent } = await ctx.services.goclaw.send(ctx.principal, { ...input, channel: 'graphql' });
      return { runId: run.runId, agentId: agent.id, agentKey: agent.agentKey, sessionKey: input.sessionKey };
    },
  }),
);

builder.mutationField('abortGoClawRuns', (t) =>
  t.field({
    type: ['String'],
    description:
      'Aborts runs on this instance: one by id, or every running run of a session; only the caller’s own (an ' +
      'admin: any). Answers the ids aborted. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(InvalidInput),
    args: {
      runId: t.arg.string({ required: false, description: 'The run to abort.' }),
      sessionKey: t.arg.string({ required: false, description: 'Abort every running run of this session.' }),
    },
    resolve: (_r, args, ctx) => ctx.services.goclaw.abortRuns(ctx.principal, args),
  }),
);
