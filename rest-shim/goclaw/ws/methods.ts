import type { Principal } from '../../../src/core/auth/principal.ts';
import type { Services } from '../../../src/core/services.ts';
import type { AgentRow } from '../../../src/modules/goclaw/agents.service.ts';
import { isUuid } from '../../../src/modules/goclaw/providers.service.ts';
import type { GoClawRole } from '../../../src/modules/goclaw/roles.ts';
import type { LiveRun } from '../../../src/modules/goclaw/runs.service.ts';
import type { UsagePeriod } from '../../../src/modules/goclaw/traces.service.ts';
import { invalid, RpcError } from './protocol.ts';

/*
 * The RPC's methods in one declarative table: per method the least role it needs (upstream's method policy:
 * api_keys.* admin, chat.send/chat.abort operator, the rest viewer; `health` none), how its params are read,
 * and its handler. Handlers call the same services as REST and GraphQL, as `(principal, typed input)`; the
 * services check roles again. `connect` is the handshake, answered by the connection itself (connection.ts).
 */

/** What a method handler is given: the connection's caller and its ways to answer. */
export interface MethodContext {
  principal: Principal;
  role: GoClawRole;
  /** `user_id` from connect ('' when none). */
  userId: string;
  connectionId: string;
  services: Services;
  /** Sends an event frame; the connection numbers it (`seq`). */
  event(name: string, payload: unknown): void;
  /** Aborted when the connection closes. */
  signal: AbortSignal;
  /** A run this connection started: aborted when the connection closes. */
  track(run: LiveRun): () => void;
  /** Open, connected clients of this instance. */
  clients(): number;
}

interface MethodSpec<P> {
  /** The least role; null: any connected client (`health`). */
  role: GoClawRole | null;
  params(raw: Record<string, unknown>): P;
  handle(ctx: MethodContext, params: P): Promise<unknown>;
}

const method = <P>(spec: MethodSpec<P>): MethodSpec<unknown> => spec as MethodSpec<unknown>;

// Params readers: a wrong type is INVALID_REQUEST naming the field.
function str(raw: Record<string, unknown>, name: string, max = 10_000): string | undefined {
  const v = raw[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(`${name} must be a string`);
  if (v.length > max) throw invalid(`${name} is longer than ${max} characters`);
  return v;
}
function required(raw: Record<string, unknown>, name: string, max?: number): string {
  const v = str(raw, name, max);
  if (v === undefined) throw invalid(`${name} is required`);
  return v;
}
function int(raw: Record<string, unknown>, name: string): number | undefined {
  const v = raw[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(`${name} must be an integer`);
  return v;
}
function bool(raw: Record<string, unknown>, name: string): boolean | undefined {
  const v = raw[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${name} must be a boolean`);
  return v;
}
function strings(raw: Record<string, unknown>, name: string): string[] {
  const v = raw[name];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw invalid(`${name} must be an array of strings`);
  return v as string[];
}
const periods = new Set<UsagePeriod>(['1h', '24h', '7d', '30d']);
function period(raw: Record<string, unknown>): UsagePeriod {
  const v = str(raw, 'period') ?? '24h';
  if (!periods.has(v as UsagePeriod)) throw invalid('period must be one of 1h, 24h, 7d, 30d');
  return v as UsagePeriod;
}

/** The session a chat method means: its `sessionKey`, else this connection's own (upstream's default). */
const sessionOf = (ctx: MethodContext, p: { sessionKey?: string; agentId?: string }) =>
  p.sessionKey ?? `agent:${p.agentId ?? 'default'}:ws-${ctx.connectionId}`;

/** An agent as the RPC shows it (camelCase; REST's fields). */
function agentInfo(a: AgentRow, full = false) {
  return {
    id: a.id,
    name: a.agentKey,
    agentKey: a.agentKey,
    displayName: a.displayName,
    agentType: a.agentType,
    description: a.description,
    provider: a.provider,
    model: a.model,
    ownerId: a.ownerId,
    status: a.status,
    maxToolIterations: a.maxToolIterations,
    ...(full ? { systemPrompt: a.systemPrompt, toolsConfig: a.toolsConfig } : {}),
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** An agent id for the session and usage filters: a uuid as given, a slug resolved (unknown: NOT_FOUND). */
async function agentUuid(ctx: MethodContext, ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined || isUuid(ref)) return ref;
  const agent = await ctx.services.goclaw.agents.find(ref);
  if (!agent) throw new RpcError('NOT_FOUND', `agent ${ref} not found`);
  return agent.id;
}

export const methods: Readonly<Record<string, MethodSpec<unknown>>> = {
  health: method({
    role: null,
    params: () => ({}),
    handle: async (ctx) => {
      const h = await ctx.services.agenttools.workspace.health();
      return {
        status: h.status,
        version: '0.2.0',
        uptime: h.uptimeMs,
        mode: h.mode,
        database: h.database,
        clients: ctx.clients(),
        currentId: ctx.connectionId,
      };
    },
  }),

  status: method({
    role: 'viewer',
    params: () => ({}),
    handle: async (ctx) => {
      const { goclaw } = ctx.services;
      const agents =
        ctx.role === 'admin' || ctx.userId !== '' ? await goclaw.agents.list(ctx.principal, ctx.userId) : [];
      const sessions = await goclaw.sessions.list(ctx.principal, { limit: 1 });
      return {
        agents: agents.map((a) => agentInfo(a)),
        agentTotal: agents.length,
        clients: ctx.clients(),
        sessions: sessions.total,
      };
    },
  }),

  'chat.send': method({
    role: 'operator',
    params: (raw) => ({
      message: required(raw, 'message', 1_000_000),
      agentId: str(raw, 'agentId', 255),
      sessionKey: str(raw, 'sessionKey', 255),
      stream: bool(raw, 'stream') ?? false,
    }),
    handle: async (ctx, p) => {
      const sessionKey = sessionOf(ctx, p);
      const { run, agent } = await ctx.services.goclaw.send(ctx.principal, {
        message: p.message,
        agentId: p.agentId ?? null,
        sessionKey,
        userId: ctx.userId || null,
        stream: p.stream,
      });
      const untrack = ctx.track(run);
      try {
        // The run's one event stream (the one agentRunEvents and chat completions read), as `agent` events.
        for await (const ev of run.follow(0, ctx.signal)) {
          ctx.event('agent', {
            type: ev.type,
            agentId: agent.agentKey,
            runId: run.runId,
            sessionKey,
            runSeq: ev.seq,
            payload: ev.payload,
            ...(ctx.userId ? { userId: ctx.userId } : {}),
            channel: 'ws',
          });
        }
        const outcome = await run.outcome;
        if (outcome.status === 'completed') {
          return { runId: outcome.runId, content: outcome.content, usage: outcome.usage };
        }
        throw new RpcError(
          'UNAVAILABLE',
          outcome.status === 'cancelled'
            ? `the run was cancelled: ${outcome.error ?? 'aborted'}`
            : (outcome.error ?? 'the run failed'),
          { details: { runId: outcome.runId, status: outcome.status } },
        );
      } finally {
        untrack();
      }
    },
  }),

  'chat.abort': method({
    role: 'operator',
    params: (raw) => ({ runId: str(raw, 'runId', 64), sessionKey: str(raw, 'sessionKey', 255) }),
    handle: async (ctx, p) => {
      const runIds = ctx.services.goclaw.abortRuns(ctx.principal, {
        runId: p.runId ?? null,
        sessionKey: p.sessionKey ?? null,
      });
      return { ok: true, aborted: runIds.length > 0, runIds };
    },
  }),

  'chat.history': method({
    role: 'viewer',
    params: (raw) => ({ agentId: str(raw, 'agentId', 255), sessionKey: str(raw, 'sessionKey', 255) }),
    handle: async (ctx, p) => {
      const messages = await ctx.services.goclaw.sessions.history(ctx.principal, sessionOf(ctx, p));
      return {
        messages: messages.map((m) => ({ role: m.role, content: m.content, runId: m.runId, at: m.at.toISOString() })),
      };
    },
  }),

  'agents.list': method({
    role: 'viewer',
    params: () => ({}),
    handle: async (ctx) => {
      const agents = await ctx.services.goclaw.agents.list(ctx.principal, ctx.userId || null);
      return { agents: agents.map((a) => agentInfo(a)) };
    },
  }),

  agent: method({
    role: 'viewer',
    params: (raw) => ({ agentId: required(raw, 'agentId', 255) }),
    handle: async (ctx, p) => {
      const agent = await ctx.services.goclaw.agents.get(ctx.principal, p.agentId, ctx.userId || null);
      return agentInfo(agent, true);
    },
  }),

  'sessions.list': method({
    role: 'viewer',
    params: (raw) => ({ agentId: str(raw, 'agentId', 255), limit: int(raw, 'limit'), offset: int(raw, 'offset') }),
    handle: async (ctx, p) => {
      const agentId = await agentUuid(ctx, p.agentId);
      const page = await ctx.services.goclaw.sessions.list(ctx.principal, {
        agentId: agentId ?? null,
        limit: p.limit ?? null,
        offset: p.offset ?? null,
      });
      return {
        sessions: page.items.map((s) => ({ ...s, lastActivity: s.lastActivity.toISOString() })),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
      };
    },
  }),

  'sessions.preview': method({
    role: 'viewer',
    params: (raw) => ({ key: required(raw, 'key', 255) }),
    handle: async (ctx, p) => {
      const messages = await ctx.services.goclaw.sessions.history(ctx.principal, p.key);
      return {
        key: p.key,
        messages: messages.map((m) => ({ role: m.role, content: m.content, runId: m.runId, at: m.at.toISOString() })),
      };
    },
  }),

  'usage.get': method({
    role: 'viewer',
    params: (raw) => ({ agentId: str(raw, 'agentId', 255), limit: int(raw, 'limit'), offset: int(raw, 'offset') }),
    handle: async (ctx, p) => {
      const agentId = await agentUuid(ctx, p.agentId);
      const page = await ctx.services.goclaw.traces.list(ctx.principal, {
        agentId: agentId ?? null,
        limit: p.limit ?? null,
        offset: p.offset ?? null,
      });
      return {
        records: page.items.map((t) => ({
          runId: t.runId,
          agentId: t.agentId,
          sessionKey: t.sessionKey,
          model: t.model,
          provider: t.provider,
          status: t.status,
          inputTokens: t.inputTokens,
          outputTokens: t.outputTokens,
          totalTokens: t.inputTokens + t.outputTokens,
          cost: t.totalCost,
          timestamp: t.startTime.getTime(),
        })),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
      };
    },
  }),

  'usage.summary': method({
    role: 'viewer',
    params: (raw) => ({ period: period(raw) }),
    handle: async (ctx, p) => ({
      period: p.period,
      ...(await ctx.services.goclaw.traces.summary(ctx.principal, p.period)),
    }),
  }),

  'usage.timeseries': method({
    role: 'viewer',
    params: (raw) => ({ period: period(raw) }),
    handle: async (ctx, p) => {
      const points = await ctx.services.goclaw.traces.timeseries(ctx.principal, p.period);
      return { period: p.period, points: points.map((pt) => ({ ...pt, bucket: pt.bucket.toISOString() })) };
    },
  }),

  'api_keys.list': method({
    role: 'admin',
    params: () => ({}),
    handle: async (ctx) => {
      const { rows } = await ctx.services.access.listApiKeys(ctx.principal, 'goclaw', { limit: 1000, offset: 0 });
      // REST's ApiKey fields (upstream answers the same store rows on both transports).
      return rows.map((k) => ({
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scopes: k.scopes,
        expires_at: iso(k.expiresAt),
        last_used_at: iso(k.lastUsedAt),
        revoked: k.revokedAt !== null,
        created_at: k.createdAt.toISOString(),
        updated_at: k.updatedAt.toISOString(),
      }));
    },
  }),

  'api_keys.create': method({
    role: 'admin',
    params: (raw) => ({
      name: required(raw, 'name', 200),
      scopes: strings(raw, 'scopes'),
      expiresIn: int(raw, 'expires_in'),
    }),
    handle: async (ctx, p) => {
      const { access } = ctx.services;
      const { apiKeyId, rawKey } = await access.createApiKey(ctx.principal, {
        product: 'goclaw',
        name: p.name,
        scopes: p.scopes,
        expiresInSeconds: p.expiresIn ?? null,
      });
      const key = await access.apiKeyRow(ctx.principal, apiKeyId, 'goclaw');
      return {
        id: key.id,
        name: key.name,
        prefix: key.prefix,
        key: rawKey,
        scopes: key.scopes,
        expires_at: iso(key.expiresAt),
        created_at: key.createdAt.toISOString(),
      };
    },
  }),

  'api_keys.revoke': method({
    role: 'admin',
    params: (raw) => ({ id: required(raw, 'id', 64) }),
    handle: async (ctx, p) => {
      await ctx.services.access.revokeApiKey(ctx.principal, { id: p.id, product: 'goclaw' });
      return { status: 'revoked' };
    },
  }),
};
