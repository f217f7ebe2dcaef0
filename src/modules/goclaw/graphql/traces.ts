import { offsetToCursor, resolveOffsetConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { builder } from '../../../core/builder.ts';
import { ErrorCodes } from '../../../core/errors.ts';
import { GoClawError, GoClawNotFoundError } from '../goclaw.errors.ts';
import { isUuid } from '../providers.service.ts';
import type { RunEvent } from '../runs.service.ts';
import type { CostRow, SpanRow, TraceRow, UsagePoint, UsageTotals } from '../traces.service.ts';
import { errorsOf, InvalidInput, NotFound, withTotalCount } from './types.ts';

export { offsetToCursor };

const TraceStatusEnum = builder.enumType('GoClawTraceStatus', {
  description: 'Where a run’s trace stands.',
  values: {
    running: { description: 'The run is in flight.' },
    completed: { description: 'The model gave a final answer.' },
    error: { description: 'The provider failed or the iteration cap was reached.' },
    cancelled: { description: 'The run was aborted.' },
  } as const,
});

const SpanTypeEnum = builder.enumType('GoClawSpanType', {
  description: 'What a span recorded.',
  values: {
    llm_call: { description: 'One call to the provider.' },
    tool_call: { description: 'One tool the model asked for.' },
  } as const,
});

const SpanRef = builder.objectRef<SpanRow>('GoClawSpan').implement({
  description: 'One step of a run: a model call or a tool call.',
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The span’s uuid.' }),
    traceId: t.exposeString('traceId', { description: 'The trace it belongs to.' }),
    parentSpanId: t.exposeString('parentSpanId', { nullable: true, description: 'The enclosing span, if any.' }),
    spanType: t.field({
      type: SpanTypeEnum,
      description: 'Model or tool call.',
      resolve: (s) => s.spanType as 'llm_call',
    }),
    name: t.exposeString('name', { description: '`provider/model` or the tool’s name.' }),
    model: t.exposeString('model', { description: 'The model (model calls).' }),
    provider: t.exposeString('provider', { description: 'The provider’s name (model calls).' }),
    inputTokens: t.exposeInt('inputTokens', { description: 'Input tokens the provider counted.' }),
    outputTokens: t.exposeInt('outputTokens', { description: 'Output tokens the provider counted.' }),
    cost: t.exposeFloat('cost', { description: 'USD of this call.' }),
    finishReason: t.exposeString('finishReason', {
      description: 'Why the model stopped (stop, tool_calls, length, …).',
    }),
    toolName: t.exposeString('toolName', { description: 'The tool (tool calls).' }),
    toolCallId: t.exposeString('toolCallId', { description: 'The provider’s id of the call (tool calls).' }),
    inputPreview: t.exposeString('inputPreview', { description: 'The start of the input.' }),
    outputPreview: t.exposeString('outputPreview', { description: 'The start of the output.' }),
    status: t.exposeString('status', { description: 'completed, error or cancelled.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    startTime: t.expose('startTime', { type: 'DateTime', description: 'When it started.' }),
    endTime: t.expose('endTime', { type: 'DateTime', description: 'When it ended.' }),
    durationMs: t.exposeInt('durationMs', { description: 'How long it took, milliseconds.' }),
  }),
});

const isTrace = (v: unknown): v is TraceRow =>
  typeof v === 'object' && v !== null && 'runId' in v && 'llmCallCount' in v;

const TraceRef = builder.node(builder.objectRef<TraceRow>('GoClawTrace'), {
  id: { resolve: (tr) => tr.id },
  description: 'One agent run as recorded: totals from the provider’s own usage numbers, and its spans.',
  authScopes: { product: 'goclaw' },
  isTypeOf: isTrace,
  loadOne: (id, ctx) => (isUuid(id) ? ctx.services.goclaw.traces.get(ctx.principal, id).catch(() => null) : null),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The trace’s uuid (REST’s id).' }),
    runId: t.exposeString('runId', { description: 'The run’s id.' }),
    agentId: t.exposeString('agentId', { nullable: true, description: 'The agent (null for a provider/model run).' }),
    userId: t.exposeString('userId', { description: 'The external user it ran for.' }),
    sessionKey: t.exposeString('sessionKey', { description: 'The session key, if one was given.' }),
    name: t.exposeString('name', { description: 'What started it (`chat <agent>`, `wake <agent>`).' }),
    channel: t.exposeString('channel', { description: 'http, wake, graphql or ws.' }),
    provider: t.exposeString('provider', { description: 'The provider’s name.' }),
    model: t.exposeString('model', { description: 'The model.' }),
    inputPreview: t.exposeString('inputPreview', { description: 'The start of the last user message.' }),
    outputPreview: t.exposeString('outputPreview', { description: 'The start of the answer.' }),
    status: t.field({
      type: TraceStatusEnum,
      description: 'Where it stands.',
      resolve: (tr) => tr.status as 'running',
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed or was cancelled.' }),
    startTime: t.expose('startTime', { type: 'DateTime', description: 'When it started.' }),
    endTime: t.expose('endTime', { type: 'DateTime', nullable: true, description: 'When it ended.' }),
    durationMs: t.exposeInt('durationMs', { description: 'How long it took, milliseconds.' }),
    inputTokens: t.exposeInt('inputTokens', { description: 'Input tokens over its model calls.' }),
    outputTokens: t.exposeInt('outputTokens', { description: 'Output tokens over its model calls.' }),
    totalCost: t.exposeFloat('totalCost', { description: 'USD over its model calls.' }),
    spanCount: t.exposeInt('spanCount', { description: 'Spans recorded.' }),
    llmCallCount: t.exposeInt('llmCallCount', { description: 'Model calls.' }),
    toolCallCount: t.exposeInt('toolCallCount', { description: 'Tool calls.' }),
    spans: t.field({
      type: [SpanRef],
      description: 'Its spans, in order.',
      resolve: (tr, _a, ctx) => ctx.services.goclaw.traces.spans(tr.id),
    }),
  }),
});

builder.queryField('goclawTraces', (t) =>
  t.connection(
    {
      type: TraceRef,
      description: 'Recorded runs, newest first, with filters. Offset cursors. Viewer role.',
      authScopes: { product: 'goclaw' },
      errors: errorsOf(InvalidInput),
      args: {
        agentId: t.arg.string({ required: false, description: 'Only this agent’s runs (uuid).' }),
        userId: t.arg.string({ required: false, description: 'Only this external user’s runs.' }),
        sessionKey: t.arg.string({ required: false, description: 'Only runs with this session key.' }),
        status: t.arg({ type: TraceStatusEnum, required: false, description: 'Only runs in this status.' }),
        channel: t.arg.string({ required: false, description: 'Only runs from this channel.' }),
      },
      resolve: async (_r, args, ctx) => {
        let totalCount = 0;
        const conn = await resolveOffsetConnection(
          { args, defaultSize: 50, maxSize: 200 },
          async ({ limit, offset }) => {
            const page = await ctx.services.goclaw.traces.list(ctx.principal, {
              limit: Math.min(limit, 200),
              offset,
              agentId: args.agentId,
              userId: args.userId,
              sessionKey: args.sessionKey,
              status: args.status,
              channel: args.channel,
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

builder.queryField('goclawTrace', (t) =>
  t.field({
    type: TraceRef,
    description: 'One trace by its uuid or its run’s id. Viewer role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound),
    args: { id: t.arg.string({ required: true, description: 'The trace’s uuid or the run’s id.' }) },
    resolve: (_r, { id }, ctx) => ctx.services.goclaw.traces.get(ctx.principal, id),
  }),
);

const CostRowRef = builder.objectRef<CostRow>('GoClawCostRow').implement({
  description: 'Runs, tokens and cost of one agent on one provider model.',
  fields: (t) => ({
    agentId: t.exposeString('agentId', { nullable: true, description: 'The agent (null: provider/model runs).' }),
    provider: t.exposeString('provider', { description: 'The provider’s name.' }),
    model: t.exposeString('model', { description: 'The model.' }),
    requests: t.exposeInt('requests', { description: 'Runs.' }),
    inputTokens: t.exposeInt('inputTokens', { description: 'Input tokens.' }),
    outputTokens: t.exposeInt('outputTokens', { description: 'Output tokens.' }),
    cost: t.exposeFloat('cost', { description: 'USD.' }),
  }),
});

builder.queryField('goclawCostSummary', (t) =>
  t.field({
    type: [CostRowRef],
    description: 'Cost and tokens per agent and model over recorded runs. Viewer role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(InvalidInput),
    args: {
      agentId: t.arg.string({ required: false, description: 'Only this agent (uuid).' }),
      from: t.arg({ type: 'DateTime', required: false, description: 'Runs started at or after this.' }),
      to: t.arg({ type: 'DateTime', required: false, description: 'Runs started at or before this.' }),
    },
    resolve: (_r, args, ctx) => ctx.services.goclaw.traces.costSummary(ctx.principal, args),
  }),
);

const UsagePeriodEnum = builder.enumType('GoClawUsagePeriod', {
  description: 'A window ending now.',
  values: {
    hour: { value: '1h', description: 'The last hour, in minutes.' },
    day: { value: '24h', description: 'The last 24 hours, in hours.' },
    week: { value: '7d', description: 'The last 7 days, in days.' },
    month: { value: '30d', description: 'The last 30 days, in days.' },
  } as const,
});

const totalsFields = (t: any) => ({
  requests: t.exposeInt('requests', { description: 'Runs.' }),
  inputTokens: t.exposeInt('inputTokens', { description: 'Input tokens.' }),
  outputTokens: t.exposeInt('outputTokens', { description: 'Output tokens.' }),
  cost: t.exposeFloat('cost', { description: 'USD.' }),
  uniqueUsers: t.exposeInt('uniqueUsers', { description: 'Distinct external users.' }),
  errors: t.exposeInt('errors', { description: 'Runs that ended in error.' }),
  llmCalls: t.exposeInt('llmCalls', { description: 'Model calls.' }),
  toolCalls: t.exposeInt('toolCalls', { description: 'Tool calls.' }),
});

const TotalsRef = builder.objectRef<UsageTotals>('GoClawUsageTotals').implement({
  description: 'Usage totals of a window.',
  fields: totalsFields,
});
const PointRef = builder.objectRef<UsagePoint>('GoClawUsagePoint').implement({
  description: 'Usage totals of one bucket.',
  fields: (t) => ({
    bucket: t.expose('bucket', { type: 'DateTime', description: 'The bucket’s start.' }),
    ...totalsFields(t),
  }),
});
const SummaryRef = builder.objectRef<{ current: UsageTotals; previous: UsageTotals }>('GoClawUsageSummary').implement({
  description: 'This window’s totals and the previous window’s.',
  fields: (t) => ({
    current: t.field({ type: TotalsRef, description: 'The window ending now.', resolve: (s) => s.current }),
    previous: t.field({ type: TotalsRef, description: 'The window before it.', resolve: (s) => s.previous }),
  }),
});

builder.queryField('goclawUsageTimeseries', (t) =>
  t.field({
    type: [PointRef],
    description: 'Usage in buckets over a window ending now, every bucket listed. Viewer role.',
    authScopes: { product: 'goclaw' },
    args: { period: t.arg({ type: UsagePeriodEnum, required: false, description: 'The window (default 24h).' }) },
    resolve: (_r, { period }, ctx) => ctx.services.goclaw.traces.timeseries(ctx.principal, period ?? '24h'),
  }),
);

builder.queryField('goclawUsageSummary', (t) =>
  t.field({
    type: SummaryRef,
    description: 'Usage totals of a window ending now and of the one before. Viewer role.',
    authScopes: { product: 'goclaw' },
    args: { period: t.arg({ type: UsagePeriodEnum, required: false, description: 'The window (default 24h).' }) },
    resolve: (_r, { period }, ctx) => ctx.services.goclaw.traces.summary(ctx.principal, period ?? '24h'),
  }),
);

const RunEventTypeEnum = builder.enumType('GoClawRunEventType', {
  description: 'What happened in a run.',
  values: {
    run_started: {
      value: 'run.started',
      description:
        'The run began (payload: runId, agentId, model, provider, input: the last user message, sessionKey when the run has one).',
    },
    chunk: { value: 'chunk', description: 'Text from the model as it arrived (payload: content).' },
    tool_call: { value: 'tool.call', description: 'The model asked for a tool (payload: id, name, arguments).' },
    tool_result: { value: 'tool.result', description: 'A tool answered (payload: id, name, content, is_error).' },
    run_completed: { value: 'run.completed', description: 'The final answer (payload: content, usage). Last event.' },
    run_failed: { value: 'run.failed', description: 'The run failed (payload: error, usage). Last event.' },
    run_cancelled: { value: 'run.cancelled', description: 'The run was aborted (payload: error, usage). Last event.' },
  } as const,
});

const RunEventRef = builder.objectRef<RunEvent & { runId: string }>('GoClawRunEvent').implement({
  description: 'One event of an agent run, in order; `seq` is the cursor to resume after.',
  fields: (t) => ({
    runId: t.exposeString('runId', { description: 'The run.' }),
    seq: t.exposeInt('seq', { description: '1, 2, …: pass the last one seen as `after` to resume.' }),
    type: t.field({ type: RunEventTypeEnum, description: 'What happened.', resolve: (e) => e.type }),
    payload: t.field({ type: 'JSON', description: 'The event’s data (by type).', resolve: (e) => e.payload }),
    at: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (e) => new Date(e.at) }),
  }),
});

builder.subscriptionField('agentRunEvents', (t) =>
  t.field({
    type: RunEventRef,
    description:
      'A run’s events after `after` (default 0: from the start), then live ones until its last event; a finished ' +
      'run replays from its stored log. The principal that started the run, or an admin.',
    authScopes: { product: 'goclaw' },
    args: {
      runId: t.arg.string({ required: true, description: 'The run’s id.' }),
      after: t.arg.int({ required: false, description: 'The last `seq` already seen.' }),
    },
    subscribe: async (_root, { runId, after }, ctx) => {
      try {
        const events = await ctx.services.goclaw.runEvents(ctx.principal, runId, Math.max(0, after ?? 0));
        return (async function* () {
          for await (const e of events) yield { ...e, runId };
        })();
      } catch (err) {
        if (err instanceof GoClawNotFoundError || err instanceof GoClawError) {
          throw new GraphQLError(err.message, { extensions: { code: ErrorCodes.notFound } });
        }
        throw err;
      }
    },
    resolve: (event) => event,
  }),
);
