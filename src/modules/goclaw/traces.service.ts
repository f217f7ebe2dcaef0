import { type GoclawSpan, type GoclawTrace, Prisma } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { GoClawInvalidInputError, GoClawNotFoundError } from './goclaw.errors.ts';
import { isUuid } from './providers.service.ts';
import { requireRole } from './roles.ts';
import type { TraceWriter } from './runs.service.ts';

export type TraceRow = GoclawTrace;
export type SpanRow = GoclawSpan;

export interface TraceFilter {
  limit?: number | null;
  offset?: number | null;
  agentId?: string | null;
  userId?: string | null;
  sessionKey?: string | null;
  status?: string | null;
  channel?: string | null;
}

export type UsagePeriod = '1h' | '24h' | '7d' | '30d';
const periodMs: Record<UsagePeriod, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};
/** Bucket width per period: minutes for an hour, hours for a day, days beyond. */
const bucketMs: Record<UsagePeriod, number> = { '1h': 60_000, '24h': 3_600_000, '7d': 86_400_000, '30d': 86_400_000 };

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  uniqueUsers: number;
  errors: number;
  llmCalls: number;
  toolCalls: number;
}

export interface CostRow {
  agentId: string | null;
  provider: string;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

export interface UsagePoint extends UsageTotals {
  bucket: Date;
}

const empty = (): UsageTotals => ({
  requests: 0,
  inputTokens: 0,
  outputTokens: 0,
  cost: 0,
  uniqueUsers: 0,
  errors: 0,
  llmCalls: 0,
  toolCalls: 0,
});

function checkRange(from: Date | null | undefined, to: Date | null | undefined) {
  if (from && to && from > to) throw new GoClawInvalidInputError('from must not be after to');
}

/** Traces, spans, costs and usage: reads over the recorded runs (viewer role). Queued writes land first. */
export class TraceService {
  constructor(private readonly deps: { prisma: PrismaClient; writer: TraceWriter }) {}

  private where(filter: TraceFilter) {
    if (filter.agentId && !isUuid(filter.agentId)) throw new GoClawInvalidInputError('agent_id must be a uuid');
    return {
      ...(filter.agentId ? { agentId: filter.agentId.toLowerCase() } : {}),
      ...(filter.userId ? { userId: filter.userId } : {}),
      ...(filter.sessionKey ? { sessionKey: filter.sessionKey } : {}),
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.channel ? { channel: filter.channel } : {}),
    };
  }

  async list(
    principal: Principal,
    filter: TraceFilter,
  ): Promise<{ items: TraceRow[]; total: number; limit: number; offset: number }> {
    requireRole(principal, 'viewer');
    const limit = filter.limit ?? 50;
    const offset = filter.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new GoClawInvalidInputError('limit must be 1–200');
    if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000)
      throw new GoClawInvalidInputError('offset must be ≥ 0');
    await this.deps.writer.flush();
    const where = this.where(filter);
    const [items, total] = await Promise.all([
      this.deps.prisma.goclawTrace.findMany({
        where,
        orderBy: [{ startTime: 'desc' }, { id: 'desc' }],
        take: limit,
        skip: offset,
      }),
      this.deps.prisma.goclawTrace.count({ where }),
    ]);
    return { items, total, limit, offset };
  }

  /** A trace by its id or its run's id. */
  async get(principal: Principal, id: string): Promise<TraceRow> {
    requireRole(principal, 'viewer');
    if (!isUuid(id)) throw new GoClawNotFoundError(`trace ${id} not found`);
    await this.deps.writer.flush();
    const key = id.toLowerCase();
    const row =
      (await this.deps.prisma.goclawTrace.findUnique({ where: { id: key } })) ??
      (await this.deps.prisma.goclawTrace.findUnique({ where: { runId: key } }));
    if (!row) throw new GoClawNotFoundError(`trace ${id} not found`);
    return row;
  }

  spans(traceId: string): Promise<SpanRow[]> {
    return this.deps.prisma.goclawSpan.findMany({ where: { traceId }, orderBy: { seq: 'asc' } });
  }

  /** Cost and tokens per agent, provider and model over [from, to]. */
  async costSummary(
    principal: Principal,
    input: { agentId?: string | null; from?: Date | null; to?: Date | null },
  ): Promise<CostRow[]> {
    requireRole(principal, 'viewer');
    checkRange(input.from, input.to);
    await this.deps.writer.flush();
    const groups = await this.deps.prisma.goclawTrace.groupBy({
      by: ['agentId', 'provider', 'model'],
      where: {
        ...this.where({ agentId: input.agentId }),
        startTime: { ...(input.from ? { gte: input.from } : {}), ...(input.to ? { lte: input.to } : {}) },
      },
      _count: { _all: true },
      _sum: { inputTokens: true, outputTokens: true, totalCost: true },
      orderBy: [{ provider: 'asc' }, { model: 'asc' }],
    });
    return groups.map((g) => ({
      agentId: g.agentId,
      provider: g.provider,
      model: g.model,
      requests: g._count._all,
      inputTokens: g._sum.inputTokens ?? 0,
      outputTokens: g._sum.outputTokens ?? 0,
      cost: g._sum.totalCost ?? 0,
    }));
  }

  /**
   * Totals over [from, to) in SQL (parameterised), one row per bucket of `width` ms since the epoch, or one row
   * (bucket 0) without a width.
   */
  private async aggregate(from: Date, to: Date, width?: number): Promise<Map<number, UsageTotals>> {
    const bucket = width
      ? Prisma.sql`floor(extract(epoch from start_time) * 1000 / ${width})::bigint`
      : Prisma.sql`0::bigint`;
    const rows = await this.deps.prisma.$queryRaw<
      {
        bucket: bigint;
        requests: bigint;
        input: bigint;
        output: bigint;
        cost: number;
        users: bigint;
        errors: bigint;
        llm: bigint;
        tools: bigint;
      }[]
    >`SELECT ${bucket} AS bucket, count(*)::bigint AS requests,
        coalesce(sum(input_tokens), 0)::bigint AS input, coalesce(sum(output_tokens), 0)::bigint AS output,
        coalesce(sum(total_cost), 0)::float8 AS cost, count(DISTINCT nullif(user_id, ''))::bigint AS users,
        (count(*) FILTER (WHERE status = 'error'))::bigint AS errors,
        coalesce(sum(llm_call_count), 0)::bigint AS llm, coalesce(sum(tool_call_count), 0)::bigint AS tools
      FROM goclaw_traces WHERE start_time >= ${from} AND start_time < ${to} GROUP BY 1`;
    const out = new Map<number, UsageTotals>();
    for (const r of rows) {
      out.set(Number(r.bucket) * (width ?? 0), {
        requests: Number(r.requests),
        inputTokens: Number(r.input),
        outputTokens: Number(r.output),
        cost: Number(r.cost),
        uniqueUsers: Number(r.users),
        errors: Number(r.errors),
        llmCalls: Number(r.llm),
        toolCalls: Number(r.tools),
      });
    }
    return out;
  }

  /** Usage in buckets over the last `period` (minutes for 1h, hours for 24h, days for 7d and 30d). */
  async timeseries(principal: Principal, period: UsagePeriod, now = new Date()): Promise<UsagePoint[]> {
    requireRole(principal, 'viewer');
    await this.deps.writer.flush();
    const width = bucketMs[period];
    const end = Math.floor(now.getTime() / width) * width + width;
    const start = end - Math.ceil(periodMs[period] / width) * width;
    const totals = await this.aggregate(new Date(start), new Date(end), width);
    const points: UsagePoint[] = [];
    for (let at = start; at < end; at += width) points.push({ bucket: new Date(at), ...(totals.get(at) ?? empty()) });
    return points;
  }

  /** Totals of the last `period` and of the period before it. */
  async summary(
    principal: Principal,
    period: UsagePeriod,
    now = new Date(),
  ): Promise<{ current: UsageTotals; previous: UsageTotals }> {
    requireRole(principal, 'viewer');
    await this.deps.writer.flush();
    const span = periodMs[period];
    const end = now.getTime() + 1;
    const [current, previous] = await Promise.all([
      this.aggregate(new Date(end - span), new Date(end)),
      this.aggregate(new Date(end - 2 * span), new Date(end - span)),
    ]);
    return { current: current.get(0) ?? empty(), previous: previous.get(0) ?? empty() };
  }
}
