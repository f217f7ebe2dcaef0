import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import type { OutboundPolicy } from '../../core/net/outbound.ts';
import { type AgentRow, AgentService, externalUser } from './agents.service.ts';
import type { GoClawConfig } from './goclaw.config.ts';
import { GoClawInvalidInputError, GoClawNotFoundError } from './goclaw.errors.ts';
import { LlmHttp } from './llm/http.ts';
import type { LlmMessage } from './llm/types.ts';
import { KgService } from './memory/kg.service.ts';
import { MemoryService } from './memory/memory.service.ts';
import { type ProviderRow, ProviderService } from './providers.service.ts';
import { requireRole } from './roles.ts';
import { type LiveRun, type RunEvent, type RunOutcome, RunService, TraceWriter } from './runs.service.ts';
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

/** GoClaw's one public service: providers, agents, runs and their traces. */
export class GoClawService {
  readonly providers: ProviderService;
  readonly agents: AgentService;
  readonly runs: RunService;
  readonly traces: TraceService;
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
    },
  ) {
    const { prisma, logger, box, outbound, config } = deps;
    this.http = new LlmHttp({
      policy: outbound,
      idleTimeoutMs: config.llmIdleTimeoutMs,
      maxJsonBytes: config.llmMaxResponseBytes,
    });
    this.writer = new TraceWriter(prisma, logger);
    this.providers = new ProviderService({ prisma, box, http: this.http });
    this.agents = new AgentService({ prisma });
    this.runs = new RunService({
      prisma,
      logger,
      tools: this.tools,
      writer: this.writer,
      maxConcurrentRuns: config.maxConcurrentRuns,
    });
    this.traces = new TraceService({ prisma, writer: this.writer });
    this.memory = new MemoryService({ prisma, logger, agents: this.agents, providers: this.providers, config });
    this.kg = new KgService({ prisma, memory: this.memory });
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
   * A run's events after `after` (a seq): from memory while the run is live (then live ones until it ends), else
   * from its stored log. Only the principal that started it, or an admin, may follow it.
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
    const trace = await this.traces.get(principal, runId).catch(() => undefined);
    if (!trace || trace.runId !== runId.toLowerCase() || (role !== 'admin' && trace.createdBy !== me)) {
      throw new GoClawNotFoundError(`run ${runId} not found`);
    }
    const rows = await this.deps.prisma.goclawRunEvent.findMany({
      where: { runId: trace.runId, seq: { gt: after } },
      orderBy: { seq: 'asc' },
    });
    return (async function* () {
      for (const r of rows) {
        yield {
          seq: r.seq,
          type: r.type as RunEvent['type'],
          payload: r.payload as Record<string, unknown>,
          at: r.at.toISOString(),
        };
      }
    })();
  }

  async close(): Promise<void> {
    await this.runs.close();
    await this.http.close();
  }
}
