import { offsetToCursor } from '@pothos/plugin-relay';
import { InvalidInputError } from '../../src/core/errors.ts';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestRequest } from '../engine/types.ts';
import {
  GoClawCostSummaryDocument,
  GoClawGetTraceDocument,
  GoClawListTracesDocument,
  type GoClawTraceFieldsFragment,
  type GoClawTraceStatus,
  type GoClawUsagePeriod,
  GoClawUsageSummaryDocument,
  GoClawUsageTimeseriesDocument,
  type GoClawUsageTotalsFieldsFragment,
} from '../generated/graphql.ts';
import { answer } from './answer.ts';

const bad = (message: string) => new InvalidInputError(message);

function toTrace(t: GoClawTraceFieldsFragment) {
  return {
    id: t.uuid,
    run_id: t.runId,
    agent_id: t.agentId,
    user_id: t.userId,
    session_key: t.sessionKey,
    name: t.name,
    channel: t.channel,
    provider: t.provider,
    model: t.model,
    input_preview: t.inputPreview,
    output_preview: t.outputPreview,
    status: t.status,
    error: t.error,
    start_time: t.startTime,
    end_time: t.endTime,
    duration_ms: t.durationMs,
    total_input_tokens: t.inputTokens,
    total_output_tokens: t.outputTokens,
    total_cost: t.totalCost,
    span_count: t.spanCount,
    llm_call_count: t.llmCallCount,
    tool_call_count: t.toolCallCount,
  };
}

function totals(t: GoClawUsageTotalsFieldsFragment) {
  return {
    requests: t.requests,
    input_tokens: t.inputTokens,
    output_tokens: t.outputTokens,
    cost: t.cost,
    unique_users: t.uniqueUsers,
    errors: t.errors,
    llm_calls: t.llmCalls,
    tool_calls: t.toolCalls,
  };
}

const one = (req: RestRequest, key: string) => {
  const v = req.query[key];
  return Array.isArray(v) ? v[0] : v;
};

const traceStatuses = new Set(['running', 'completed', 'error', 'cancelled']);
const periods: Record<string, GoClawUsagePeriod> = { '1h': 'hour', '24h': 'day', '7d': 'week', '30d': 'month' };

function period(req: RestRequest): GoClawUsagePeriod | null {
  const p = one(req, 'period');
  if (p === undefined) return null;
  const value = periods[p];
  if (!value) throw bad('query.period: must be one of 1h, 24h, 7d, 30d');
  return value;
}

function date(req: RestRequest, key: string): string | null {
  const v = one(req, key);
  if (v === undefined || v === '') return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw bad(`query.${key}: must be an RFC 3339 date-time`);
  return d.toISOString();
}

/** GET /v1/traces — `{traces, total, limit, offset}`, newest first; filters agent_id, user_id, session_key, status, channel. */
const listTraces = graphqlOperation({
  document: GoClawListTracesDocument,
  extraQuery: ['user_id', 'session_key', 'status', 'channel'],
  variables: (req) => {
    const limit = (req.coerced.query.limit as number | undefined) ?? 50;
    const offset = (req.coerced.query.offset as number | undefined) ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200)
      throw bad('query.limit: must be an integer from 1 to 200');
    if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000)
      throw bad('query.offset: must be an integer ≥ 0');
    const status = one(req, 'status');
    if (status !== undefined && !traceStatuses.has(status))
      throw bad('query.status: must be running, completed, error or cancelled');
    return {
      first: limit,
      after: offset > 0 ? offsetToCursor(offset - 1) : null,
      agentId: one(req, 'agent_id') ?? null,
      userId: one(req, 'user_id') ?? null,
      sessionKey: one(req, 'session_key') ?? null,
      status: (status as GoClawTraceStatus | undefined) ?? null,
      channel: one(req, 'channel') ?? null,
    };
  },
  respond: ({ goclawTraces: r }, req) =>
    answer(r, (ok) => ({
      status: 200,
      body: {
        traces: ok.data.edges.map((e) => toTrace(e.node)),
        total: ok.data.totalCount,
        limit: (req.coerced.query.limit as number | undefined) ?? 50,
        offset: (req.coerced.query.offset as number | undefined) ?? 0,
      },
    })),
});

/** GET /v1/traces/{traceID} — `{trace, spans}` (the id may also be the run's id). */
const getTrace = graphqlOperation({
  document: GoClawGetTraceDocument,
  variables: (req) => ({ id: req.params.traceID ?? '' }),
  respond: ({ goclawTrace: r }) =>
    answer(r, ({ data }) => {
      const { spans, ...trace } = data;
      return {
        status: 200,
        body: {
          trace: toTrace(trace),
          spans: spans.map((s) => ({
            id: s.uuid,
            trace_id: s.traceId,
            parent_span_id: s.parentSpanId,
            span_type: s.spanType,
            name: s.name,
            model: s.model,
            provider: s.provider,
            input_tokens: s.inputTokens,
            output_tokens: s.outputTokens,
            cost: s.cost,
            finish_reason: s.finishReason,
            tool_name: s.toolName,
            tool_call_id: s.toolCallId,
            input_preview: s.inputPreview,
            output_preview: s.outputPreview,
            status: s.status,
            error: s.error,
            start_time: s.startTime,
            end_time: s.endTime,
            duration_ms: s.durationMs,
          })),
        },
      };
    }),
});

/** GET /v1/costs/summary — `{rows}` per agent, provider and model; query agent_id, from, to (upstream's). */
const costSummary = graphqlOperation({
  document: GoClawCostSummaryDocument,
  extraQuery: ['agent_id', 'from', 'to'],
  variables: (req) => ({ agentId: one(req, 'agent_id') ?? null, from: date(req, 'from'), to: date(req, 'to') }),
  respond: ({ goclawCostSummary: r }) =>
    answer(r, (ok) => ({
      status: 200,
      body: {
        rows: ok.data.map((row) => ({
          agent_id: row.agentId,
          provider: row.provider,
          model: row.model,
          requests: row.requests,
          input_tokens: row.inputTokens,
          output_tokens: row.outputTokens,
          cost: row.cost,
        })),
      },
    })),
});

/** GET /v1/usage/timeseries?period=1h|24h|7d|30d — `{period, points}`, every bucket of the window. */
const usageTimeseries = graphqlOperation({
  document: GoClawUsageTimeseriesDocument,
  variables: (req) => ({ period: period(req) }),
  respond: (data, req) => ({
    status: 200,
    body: {
      period: one(req, 'period') ?? '24h',
      points: data.goclawUsageTimeseries.map((p) => ({ bucket: p.bucket, ...totals(p) })),
    },
  }),
});

/** GET /v1/usage/summary — `{current, previous}` windows (query period, default 24h). */
const usageSummary = graphqlOperation({
  document: GoClawUsageSummaryDocument,
  extraQuery: ['period'],
  variables: (req) => ({ period: period(req) }),
  respond: (data, req) => ({
    status: 200,
    body: {
      period: one(req, 'period') ?? '24h',
      current: totals(data.goclawUsageSummary.current),
      previous: totals(data.goclawUsageSummary.previous),
    },
  }),
});

/** Traces, costs and usage over recorded runs. */
export const goclawTraceOperations = operationsFor<OperationPolicy>().group(
  'traces',
  'test/goclaw/completions.test.ts',
  {
    get_v1_traces: listTraces,
    get_v1_traces_by_traceid: getTrace,
    get_v1_costs_summary: costSummary,
    get_v1_usage_timeseries: usageTimeseries,
    get_v1_usage_summary: usageSummary,
  },
);
