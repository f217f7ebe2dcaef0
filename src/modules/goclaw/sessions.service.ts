import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { GoClawInvalidInputError } from './goclaw.errors.ts';
import { requireRole } from './roles.ts';
import type { TraceWriter } from './runs.service.ts';

/*
 * Sessions are not a table of their own: a session is the runs recorded under one session key (the trace's
 * `session_key`), started by one principal. Its history is replayed from those runs' event logs: each completed
 * run gives the user's message (`run.started.input`) and the assistant's answer (`run.completed.content`).
 * Only the principal that ran a session sees it (an admin sees every session).
 */

export interface SessionSummary {
  key: string;
  agentId: string | null;
  runs: number;
  inputTokens: number;
  outputTokens: number;
  lastActivity: Date;
}

export interface SessionMessage {
  role: 'user' | 'assistant';
  content: string;
  runId: string;
  at: Date;
}

/** How many of a session's latest runs its history (and a run's context) replays. */
export const historyRuns = 50;
const maxKey = 255;

/** A session key as a client may send it: 1–255 characters, no control characters. */
export function checkSessionKey(key: unknown, field = 'sessionKey'): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (typeof key !== 'string' || key.length === 0 || key.length > maxKey || /[\u0000-\u001f\u007f]/.test(key)) {
    throw new GoClawInvalidInputError(`${field} must be 1–${maxKey} characters without control characters`);
  }
  return key;
}

export class SessionService {
  constructor(private readonly deps: { prisma: PrismaClient; writer: TraceWriter }) {}

  private owner(principal: Principal) {
    const role = requireRole(principal, 'viewer');
    return role === 'admin' ? {} : { createdBy: principalId(principal) };
  }

  /** The caller's sessions, most recently active first. */
  async list(
    principal: Principal,
    input: { agentId?: string | null; limit?: number | null; offset?: number | null },
  ): Promise<{ items: SessionSummary[]; total: number; limit: number; offset: number }> {
    const where = {
      ...this.owner(principal),
      sessionKey: { not: '' },
      ...(input.agentId ? { agentId: input.agentId.toLowerCase() } : {}),
    };
    const limit = input.limit ?? 50;
    const offset = input.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new GoClawInvalidInputError('limit must be 1–200');
    if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000)
      throw new GoClawInvalidInputError('offset must be ≥ 0');
    if (input.agentId && !/^[0-9a-f-]{36}$/i.test(input.agentId))
      throw new GoClawInvalidInputError('agentId must be a uuid');
    await this.deps.writer.flush();
    const [groups, all] = await Promise.all([
      this.deps.prisma.goclawTrace.groupBy({
        by: ['sessionKey'],
        where,
        _count: { _all: true },
        _sum: { inputTokens: true, outputTokens: true },
        _max: { startTime: true },
        orderBy: [{ _max: { startTime: 'desc' } }, { sessionKey: 'asc' }],
        take: limit,
        skip: offset,
      }),
      this.deps.prisma.goclawTrace.groupBy({ by: ['sessionKey'], where }),
    ]);
    // The agent of each session's latest run (uuid columns have no max() in Postgres).
    const latest = await this.deps.prisma.goclawTrace.findMany({
      where: { ...where, sessionKey: { in: groups.map((g) => g.sessionKey) } },
      distinct: ['sessionKey'],
      orderBy: [{ sessionKey: 'asc' }, { startTime: 'desc' }],
      select: { sessionKey: true, agentId: true },
    });
    const agentOf = new Map(latest.map((l) => [l.sessionKey, l.agentId]));
    return {
      items: groups.map((g) => ({
        key: g.sessionKey,
        agentId: agentOf.get(g.sessionKey) ?? null,
        runs: g._count._all,
        inputTokens: g._sum.inputTokens ?? 0,
        outputTokens: g._sum.outputTokens ?? 0,
        lastActivity: g._max.startTime ?? new Date(0),
      })),
      total: all.length,
      limit,
      offset,
    };
  }

  /** One of the caller's sessions by key; undefined when the caller has no run under it. */
  async get(principal: Principal, sessionKey: string): Promise<SessionSummary | undefined> {
    const owner = this.owner(principal);
    const key = checkSessionKey(sessionKey);
    await this.deps.writer.flush();
    const where = { ...owner, sessionKey: key };
    const [totals, latest] = await Promise.all([
      this.deps.prisma.goclawTrace.aggregate({
        where,
        _count: { _all: true },
        _sum: { inputTokens: true, outputTokens: true },
        _max: { startTime: true },
      }),
      this.deps.prisma.goclawTrace.findFirst({ where, orderBy: { startTime: 'desc' }, select: { agentId: true } }),
    ]);
    if (!latest) return undefined;
    return {
      key,
      agentId: latest.agentId,
      runs: totals._count._all,
      inputTokens: totals._sum.inputTokens ?? 0,
      outputTokens: totals._sum.outputTokens ?? 0,
      lastActivity: totals._max.startTime ?? new Date(0),
    };
  }

  /** The session's conversation, oldest first: its latest completed runs' user messages and answers. */
  async history(principal: Principal, sessionKey: string): Promise<SessionMessage[]> {
    const owner = this.owner(principal);
    const key = checkSessionKey(sessionKey);
    await this.deps.writer.flush();
    const traces = await this.deps.prisma.goclawTrace.findMany({
      where: { ...owner, sessionKey: key, status: 'completed' },
      orderBy: [{ startTime: 'desc' }, { id: 'desc' }],
      take: historyRuns,
      select: { runId: true, inputPreview: true, startTime: true, endTime: true },
    });
    if (traces.length === 0) return [];
    const events = await this.deps.prisma.goclawRunEvent.findMany({
      where: { runId: { in: traces.map((t) => t.runId) }, type: { in: ['run.started', 'run.completed'] } },
      select: { runId: true, type: true, payload: true },
    });
    const byRun = new Map<string, { input?: string; content?: string }>();
    for (const e of events) {
      const entry = byRun.get(e.runId) ?? {};
      const payload = (e.payload ?? {}) as { input?: unknown; content?: unknown };
      if (e.type === 'run.started' && typeof payload.input === 'string') entry.input = payload.input;
      if (e.type === 'run.completed' && typeof payload.content === 'string') entry.content = payload.content;
      byRun.set(e.runId, entry);
    }
    const out: SessionMessage[] = [];
    for (const t of traces.reverse()) {
      const entry = byRun.get(t.runId) ?? {};
      // Runs recorded before `run.started` carried the input: their (500-character) preview.
      out.push({ role: 'user', content: entry.input ?? t.inputPreview, runId: t.runId, at: t.startTime });
      out.push({ role: 'assistant', content: entry.content ?? '', runId: t.runId, at: t.endTime ?? t.startTime });
    }
    return out;
  }
}
