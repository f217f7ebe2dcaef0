import { randomUUID } from 'node:crypto';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import type { OutboundPolicy } from '../../core/net/outbound.ts';
import type { AppPubSub } from '../../core/pubsub.ts';
import type { InboundMessage } from '../agent-tools/channel-adapter.ts';
import { type AgentRow, AgentService, externalUser } from './agents.service.ts';
import type { GoClawConfig } from './goclaw.config.ts';
import { GoClawInvalidInputError, GoClawNotFoundError, GoClawProviderUnavailableError } from './goclaw.errors.ts';
import { LlmHttp } from './llm/http.ts';
import { type LlmMessage, LlmProviderError, type LlmUsage } from './llm/types.ts';
import { KgService } from './memory/kg.service.ts';
import { MemoryService } from './memory/memory.service.ts';
import { isUuid, type ProviderRow, ProviderService } from './providers.service.ts';
import { requireRole } from './roles.ts';
import { costOf, type LiveRun, type RunEvent, type RunOutcome, RunService, TraceWriter } from './runs.service.ts';
import { checkSessionKey, SessionService } from './sessions.service.ts';
import { ToolRegistry } from './tools.ts';
import { TraceService } from './traces.service.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatInput {
  /** `agent:<id|slug>`, `goclaw:<id|slug>`, `<provider>/<model>`, or anything else (the `default` agent). */
  model?: string | null;
  messages: ChatMessage[];
  stream?: boolean | null;
  /** The external user (`user` field or `X-GoClaw-User-Id`). */
  userId?: string | null;
  /** `X-GoClaw-Agent-Id` / `X-GoClaw-Agent`. */
  agentHeader?: string | null;
}

export interface WakeInput {
  message: string;
  userId?: string | null;
  sessionKey?: string | null;
}

/** One model call another module makes through GoClaw's providers (see `GoClawService.completeOnce`). */
export interface OneShotCompletion {
  /** The provider's name (slug); it must exist and be enabled. */
  provider: string;
  model: string;
  messages: LlmMessage[];
  maxTokens?: number;
  temperature?: number;
  /** The trace's name and channel (e.g. `polykomos nl-query`, `polykomos`). */
  name: string;
  channel: string;
  /** Who the call is for (`principalId` of the caller the other module authorised): the trace's creator. */
  createdBy: string;
  /** The external user recorded on the trace (usage analytics count unique users by it). */
  userId?: string;
  signal?: AbortSignal;
}

export interface OneShotResult {
  content: string;
  usage: LlmUsage;
  /** USD (the provider's reported cost, else its configured pricing, else 0). */
  cost: number;
  traceId: string;
}

const previewOf = (s: string) => (s.length > 500 ? `${s.slice(0, 500)}…` : s);

/** One message to an agent in a session (the WebSocket RPC's `chat.send`). */
export interface SendInput {
  message: string;
  /** The agent's uuid or slug; else the one the session key names (`agent:<slug>:…`); else `default`. */
  agentId?: string | null;
  /** The session: its earlier completed turns (this principal's) are the run's history. */
  sessionKey: string;
  userId?: string | null;
  /** Call the provider streamed (deltas become `chunk` events as they arrive). */
  stream?: boolean | null;
  /** Where the message came from, recorded on the trace (default `ws`). */
  channel?: 'ws' | 'graphql';
}

/** GoClaw's one public service: providers, agents, runs and their traces. */
export class GoClawService {
  readonly providers: ProviderService;
  readonly agents: AgentService;
  readonly runs: RunService;
  readonly traces: TraceService;
  /** Sessions: the runs recorded under one session key, and their history. */
  readonly sessions: SessionService;
  /** Memory documents and their hybrid search. */
  readonly memory: MemoryService;
  /** The knowledge graph. */
  readonly kg: KgService;
  /** Where tools for agent runs come from (the agentTools module adds its sources here). */
  readonly tools = new ToolRegistry();
  private readonly http: LlmHttp;
  private readonly writer: TraceWriter;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      box: SecretBox;
      outbound: OutboundPolicy;
      config: GoClawConfig;
      /** Run events cross instances here (Redis when configured); without it, runs are followed where they run. */
      pubsub?: AppPubSub;
    },
  ) {
    const { prisma, logger, box, outbound, config, pubsub } = deps;
    this.http = new LlmHttp({
      policy: outbound,
      idleTimeoutMs: config.llmIdleTimeoutMs,
      maxJsonBytes: config.llmMaxResponseBytes,
    });
    this.writer = new TraceWriter(prisma, logger, 200, pubsub);
    this.providers = new ProviderService({ prisma, box, http: this.http });
    this.agents = new AgentService({ prisma });
    this.runs = new RunService({
      prisma,
      logger,
      tools: this.tools,
      writer: this.writer,
      maxConcurrentRuns: config.maxConcurrentRuns,
      ...(pubsub ? { pubsub } : {}),
    });
    this.traces = new TraceService({ prisma, writer: this.writer });
    this.sessions = new SessionService({ prisma, writer: this.writer });
    this.memory = new MemoryService({ prisma, logger, agents: this.agents, providers: this.providers, config });
    this.kg = new KgService({ prisma, memory: this.memory });
  }

  /** The module's configuration (the WebSocket RPC reads its keepalive and rate limits here). */
  get config(): GoClawConfig {
    return this.deps.config;
  }

  /** The agent's provider, enabled; 400 when the agent names none that is usable. */
  private async providerOf(agent: AgentRow): Promise<ProviderRow> {
    if (!agent.provider) throw new GoClawInvalidInputError(`agent "${agent.agentKey}" has no provider`);
    const provider = await this.providers.byName(agent.provider);
    if (!provider)
      throw new GoClawInvalidInputError(
        `agent "${agent.agentKey}" names provider "${agent.provider}", which does not exist`,
      );
    if (!provider.enabled) throw new GoClawInvalidInputError(`provider "${provider.name}" is disabled`);
    if (!agent.model) throw new GoClawInvalidInputError(`agent "${agent.agentKey}" has no model`);
    return provider;
  }

  /**
   * Starts the run a chat completion asks for. Target: `agent:`/`goclaw:` prefix, else the agent header, else a
   * `<provider>/<model>` pair naming an enabled provider (a run without an agent: no system prompt, no tools),
   * else the agent `default`. The agent's system prompt comes first, then the client's system messages, then its
   * turns in order (the whole history, not only the last user message).
   */
  async chat(principal: Principal, input: ChatInput): Promise<{ run: LiveRun; model: string }> {
    requireRole(principal, 'operator');
    if (!Array.isArray(input.messages) || input.messages.length === 0) {
      throw new GoClawInvalidInputError('messages must be a non-empty array');
    }
    if (input.messages.length > 1000) throw new GoClawInvalidInputError('messages holds more than 1000 items');
    if (!input.messages.some((m) => m.role === 'user'))
      throw new GoClawInvalidInputError('messages has no user message');
    const model = input.model ?? '';
    const prefixed = /^(?:agent|goclaw):(.+)$/.exec(model);
    let agentRef = prefixed?.[1] ?? input.agentHeader ?? undefined;
    let direct: { provider: ProviderRow; model: string } | undefined;
    if (agentRef === undefined) {
      const slash = model.indexOf('/');
      if (slash > 0) {
        const provider = await this.providers.byName(model.slice(0, slash));
        if (provider?.enabled) direct = { provider, model: model.slice(slash + 1) };
      }
      if (!direct) agentRef = 'default';
    }
    const userId = externalUser(input.userId) ?? '';
    const system = input.messages
      .filter((m) => m.role === 'system')
      .map((m) => ({ role: 'system' as const, content: m.content }));
    const turns = input.messages.filter((m) => m.role !== 'system') as LlmMessage[];
    if (direct) {
      const run = this.runs.start({
        principal,
        agent: null,
        provider: direct.provider,
        adapter: this.providers.adapter(direct.provider),
        model: direct.model,
        messages: [...system, ...turns],
        userId,
        channel: 'http',
        stream: input.stream === true,
        name: `chat ${model}`,
      });
      return { run, model };
    }
    const agent = await this.agents.find(agentRef as string);
    if (!agent) throw new GoClawNotFoundError(`agent ${agentRef} not found`);
    const provider = await this.providerOf(agent);
    const prompt: LlmMessage[] = agent.systemPrompt ? [{ role: 'system', content: agent.systemPrompt }] : [];
    const run = this.runs.start({
      principal,
      agent,
      provider,
      adapter: this.providers.adapter(provider),
      model: agent.model,
      messages: [...prompt, ...system, ...turns],
      userId,
      channel: 'http',
      stream: input.stream === true,
      name: `chat ${agent.agentKey}`,
    });
    return { run, model: model || `agent:${agent.agentKey}` };
  }

  /** Runs an agent on one message and waits for its answer (orchestrators, inbound webhooks). */
  async wake(principal: Principal, idOrSlug: string, input: WakeInput): Promise<RunOutcome> {
    requireRole(principal, 'operator');
    if (!input.message || input.message.trim() === '') throw new GoClawInvalidInputError('message is required');
    if (input.message.length > 1_000_000)
      throw new GoClawInvalidInputError('message is longer than 1,000,000 characters');
    const agent = await this.agents.find(idOrSlug);
    if (!agent) throw new GoClawNotFoundError(`agent ${idOrSlug} not found`);
    const provider = await this.providerOf(agent);
    const run = this.runs.start({
      principal,
      agent,
      provider,
      adapter: this.providers.adapter(provider),
      model: agent.model,
      messages: [
        ...(agent.systemPrompt ? [{ role: 'system' as const, content: agent.systemPrompt }] : []),
        { role: 'user', content: input.message },
      ],
      userId: externalUser(input.userId) ?? '',
      channel: 'wake',
      ...(input.sessionKey ? { sessionKey: input.sessionKey.slice(0, 255) } : {}),
      stream: false,
      name: `wake ${agent.agentKey}`,
    });
    return run.outcome;
  }

  /**
   * Answers a message a channel adapter received (Telegram, Slack): when its instance routes to an agent, and it is
   * a direct message or mentions the bot in a group, the agent runs on it as that channel user (session
   * `<channel>:<chat>`) and the answer goes back through `reply`. Anything else was only recorded.
   */
  async answerChannelMessage(
    message: InboundMessage,
    reply: (text: string) => Promise<void>,
  ): Promise<RunOutcome | undefined> {
    if (!message.agentId || message.text.trim() === '' || (message.group && !message.mentioned)) return undefined;
    const agent = await this.agents.find(message.agentId);
    if (!agent) {
      this.deps.logger.warn(
        { channel: message.channel, agentId: message.agentId },
        'channel routes to an unknown agent',
      );
      return undefined;
    }
    const provider = await this.providerOf(agent);
    const principal: Principal = {
      kind: 'userSession',
      id: `${message.channel}:${message.senderId}`.slice(0, 255),
      product: 'goclaw',
      tenant: message.channel,
      userId: message.senderId,
      organizationId: message.channel,
    };
    const run = this.runs.start({
      principal,
      agent,
      provider,
      adapter: this.providers.adapter(provider),
      model: agent.model,
      messages: [
        ...(agent.systemPrompt ? [{ role: 'system' as const, content: agent.systemPrompt }] : []),
        { role: 'user', content: message.text.slice(0, 100_000) },
      ],
      userId: message.senderId.slice(0, 255),
      channel: 'channel',
      sessionKey: `${message.channel}:${message.chatId}`.slice(0, 255),
      stream: false,
      name: `${message.channel} ${agent.agentKey}`,
    });
    const outcome = await run.outcome;
    if (outcome.content) await reply(outcome.content);
    return outcome;
  }

  /**
   * Runs an agent on one message of a session: the agent's system prompt, the session's earlier completed turns
   * (this principal's, the latest 50 completed runs), then the message. Returns the live run at once.
   */
  async send(principal: Principal, input: SendInput): Promise<{ run: LiveRun; agent: AgentRow }> {
    requireRole(principal, 'operator');
    if (typeof input.message !== 'string' || input.message.trim() === '')
      throw new GoClawInvalidInputError('message is required');
    if (input.message.length > 1_000_000)
      throw new GoClawInvalidInputError('message is longer than 1,000,000 characters');
    const sessionKey = checkSessionKey(input.sessionKey);
    const named = /^agent:([^:]+):/.exec(sessionKey)?.[1];
    const ref = input.agentId || named || 'default';
    const agent = await this.agents.find(ref);
    if (!agent) throw new GoClawNotFoundError(`agent ${ref} not found`);
    const provider = await this.providerOf(agent);
    const history = await this.sessions.history(principal, sessionKey);
    const run = this.runs.start({
      principal,
      agent,
      provider,
      adapter: this.providers.adapter(provider),
      model: agent.model,
      messages: [
        ...(agent.systemPrompt ? [{ role: 'system' as const, content: agent.systemPrompt }] : []),
        ...history.map((m) => ({ role: m.role, content: m.content })),
        { role: 'user', content: input.message },
      ],
      userId: externalUser(input.userId) ?? '',
      channel: input.channel ?? 'ws',
      sessionKey,
      stream: input.stream === true,
      name: `chat ${agent.agentKey}`,
    });
    return { run, agent };
  }

  /**
   * Aborts runs: one by id, or every running run of a session, on every instance. Only the principal that
   * started a run (or an admin) may abort it; others' runs are left alone. This instance's matching runs are
   * aborted at once and their ids returned; other instances are asked (`goclaw.runAbortRequested`) and abort
   * theirs as the request reaches them (their followers see `run.cancelled`).
   */
  abortRuns(principal: Principal, input: { runId?: string | null; sessionKey?: string | null }): string[] {
    const role = requireRole(principal, 'operator');
    if (!input.runId && !input.sessionKey) throw new GoClawInvalidInputError('sessionKey or runId is required');
    const sessionKey = input.sessionKey ? checkSessionKey(input.sessionKey) : undefined;
    if (input.runId && !isUuid(input.runId) && !this.runs.liveRun(input.runId)) return [];
    const runs = this.runs.requestAbort({
      ...(input.runId ? { runId: input.runId.toLowerCase() } : {}),
      ...(sessionKey ? { sessionKey } : {}),
      by: principalId(principal),
      admin: role === 'admin',
      reason: 'aborted by the client',
    });
    return runs.map((r) => r.runId);
  }

  /**
   * A run's events after `after` (a seq), then live ones until its terminal event. A run in this instance's memory
   * is followed there; any other (running on another instance, or finished) from its stored log and the
   * `goclaw.runEvents` channel (`RunService.followStored`), so a late subscriber on any instance misses nothing.
   * A run that started a moment ago may not be stored yet: its trace is looked for a little longer (the writer's
   * batch window) before the answer is "not found". Only the principal that started it, or an admin, may follow it.
   */
  async runEvents(
    principal: Principal,
    runId: string,
    after: number,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<RunEvent>> {
    const role = requireRole(principal, 'viewer');
    const me = principalId(principal);
    const live = this.runs.liveRun(runId);
    if (live) {
      if (role !== 'admin' && live.createdBy !== me) throw new GoClawNotFoundError(`run ${runId} not found`);
      return live.follow(after, signal);
    }
    if (!isUuid(runId)) throw new GoClawNotFoundError(`run ${runId} not found`);
    let trace: Awaited<ReturnType<TraceService['get']>> | undefined;
    for (let attempt = 0; attempt < 8 && !trace; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 150));
      trace = await this.traces.get(principal, runId).catch(() => undefined);
    }
    if (!trace || trace.runId !== runId.toLowerCase() || (role !== 'admin' && trace.createdBy !== me)) {
      throw new GoClawNotFoundError(`run ${runId} not found`);
    }
    if (trace.status !== 'running') {
      // Ended: its terminal event was stored in the same transaction as this status, so the table has them all.
      const stored = await this.runs.storedEvents(trace.runId, Math.max(0, after));
      return (async function* () {
        yield* stored;
      })();
    }
    return this.runs.followStored(trace.runId, after, signal);
  }

  /**
   * Aborts a run on whichever instance runs it (operator role; the principal that started it, or an admin).
   * `aborted`: it ran here and is cancelled now; `requested`: another instance was asked to (its followers see
   * `run.cancelled`); `finished`: it had already ended.
   */
  async abortRun(
    principal: Principal,
    runId: string,
  ): Promise<{ runId: string; outcome: 'aborted' | 'requested' | 'finished' }> {
    const role = requireRole(principal, 'operator');
    const me = principalId(principal);
    const reason = 'aborted by request';
    const req = { by: me, admin: role === 'admin', reason };
    const live = this.runs.liveRun(runId);
    if (live) {
      if (role !== 'admin' && live.createdBy !== me) throw new GoClawNotFoundError(`run ${runId} not found`);
      if (live.finished) return { runId: live.runId, outcome: 'finished' };
      this.runs.requestAbort({ ...req, runId: live.runId });
      return { runId: live.runId, outcome: 'aborted' };
    }
    if (!isUuid(runId)) throw new GoClawNotFoundError(`run ${runId} not found`);
    const trace = await this.traces.get(principal, runId).catch(() => undefined);
    if (!trace || trace.runId !== runId.toLowerCase() || (role !== 'admin' && trace.createdBy !== me)) {
      throw new GoClawNotFoundError(`run ${runId} not found`);
    }
    if (trace.status !== 'running') return { runId: trace.runId, outcome: 'finished' };
    this.runs.requestAbort({ ...req, runId: trace.runId });
    return { runId: trace.runId, outcome: 'requested' };
  }

  /**
   * One model call on behalf of another module (Polykomos' natural-language queries), with no tools and no agent:
   * the named provider (enabled) and model, through the same adapters and outbound guard as runs, recorded as a
   * GoClaw trace with one llm_call span (so costs and usage cover it), success or failure. The calling module
   * authorises its own caller; no GoClaw role is checked here. A missing or disabled provider is
   * GoClawProviderUnavailableError (nothing is recorded); a provider failure is the adapter's LlmProviderError
   * (recorded as an error trace), with the provider's status and Retry-After.
   */
  async completeOnce(spec: OneShotCompletion): Promise<OneShotResult> {
    const provider = await this.providers.byName(spec.provider);
    if (!provider) throw new GoClawProviderUnavailableError(`provider "${spec.provider}" does not exist`);
    if (!provider.enabled) throw new GoClawProviderUnavailableError(`provider "${spec.provider}" is disabled`);
    const traceId = randomUUID();
    const startTime = new Date();
    const input = [...spec.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const runId = randomUUID();
    this.writer.started({
      id: traceId,
      runId,
      agentId: null,
      userId: spec.userId ?? '',
      sessionKey: '',
      name: spec.name.slice(0, 200),
      channel: spec.channel,
      provider: provider.name,
      model: spec.model,
      inputPreview: previewOf(input),
      status: 'running',
      startTime,
      createdBy: spec.createdBy,
    });
    let content = '';
    let usage: LlmUsage = { inputTokens: 0, outputTokens: 0 };
    let finishReason = '';
    let error: string | undefined;
    try {
      const res = await this.providers.adapter(provider).complete(
        {
          model: spec.model,
          messages: spec.messages,
          ...(spec.maxTokens ? { maxTokens: spec.maxTokens } : {}),
          ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
        },
        spec.signal ? { signal: spec.signal } : {},
      );
      content = res.content;
      usage = res.usage;
      finishReason = res.finishReason;
      return { content, usage, cost: costOf(provider, spec.model, usage), traceId };
    } catch (err) {
      error = err instanceof LlmProviderError ? err.message : 'internal error';
      if (!(err instanceof LlmProviderError)) this.deps.logger.error({ err, traceId }, 'goclaw one-shot call failed');
      throw err;
    } finally {
      const endTime = new Date();
      const cost = costOf(provider, spec.model, usage);
      const durationMs = endTime.getTime() - startTime.getTime();
      this.writer.finished(
        traceId,
        runId,
        {
          status: error ? 'error' : 'completed',
          error: error ?? null,
          endTime,
          durationMs,
          outputPreview: previewOf(content),
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          totalCost: cost,
          spanCount: 1,
          llmCallCount: 1,
          toolCallCount: 0,
        },
        [
          {
            id: randomUUID(),
            seq: 1,
            traceId,
            spanType: 'llm_call',
            name: `${provider.name}/${spec.model}`,
            model: spec.model,
            provider: provider.name,
            inputTokens: usage.inputTokens,
            outputTokens: usage.outputTokens,
            cost,
            finishReason,
            inputPreview: previewOf(input),
            outputPreview: previewOf(content),
            status: error ? 'error' : 'completed',
            error: error ?? null,
            startTime,
            endTime,
            durationMs,
          },
        ],
      );
    }
  }

  /** Writes queued traces now (readers outside GoClaw that must see a just-finished call's trace). */
  flushTraces(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    await this.runs.close();
    await this.http.close();
  }
}
