import { randomUUID } from 'node:crypto';
import type { Prisma } from '../../../prisma/generated/client/client.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import type { AgentRow } from './agents.service.ts';
import { GoClawError } from './goclaw.errors.ts';
import {
  type LlmAdapter,
  type LlmMessage,
  LlmProviderError,
  type LlmToolCall,
  type LlmUsage,
  parseArgs,
} from './llm/types.ts';
import type { ProviderRow } from './providers.service.ts';
import type { ToolRegistry } from './tools.ts';

/*
 * The agent run: one event stream per run (docs/goclaw.md "Runs"). The loop calls the provider (streamed when the
 * caller streams), runs the tool calls it asks for, feeds the results back, and stops at a plain answer, the
 * iteration cap, an error or an abort. Every view — the OpenAI SSE response, the JSON response, wake, the GraphQL
 * subscription — reads the same LiveRun's events. The trace, its spans and the event log are written by the
 * TraceWriter off the response path: queued when the run starts and ends, never awaited by it.
 */

export type RunEventType =
  | 'run.started'
  | 'chunk'
  | 'tool.call'
  | 'tool.result'
  | 'run.completed'
  | 'run.failed'
  | 'run.cancelled';

export interface RunEvent {
  /** 1, 2, …: the cursor `agentRunEvents(after:)` resumes from. */
  seq: number;
  type: RunEventType;
  payload: Record<string, unknown>;
  at: string;
}

export interface RunUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** USD: the provider's reported cost, else its configured pricing; 0 when neither exists. */
  cost: number;
}

export interface RunOutcome {
  runId: string;
  traceId: string;
  status: 'completed' | 'error' | 'cancelled';
  content: string;
  usage: RunUsage;
  error?: string;
}

const terminal = new Set<RunEventType>(['run.completed', 'run.failed', 'run.cancelled']);
const preview = (s: string) => (s.length > 500 ? `${s.slice(0, 500)}…` : s);
const maxToolResult = 64 * 1024;
/** How long a finished run stays in memory for late subscribers (then its events are read from the database). */
const retainMs = 60_000;

/** The run is refused before it starts (too many in flight). REST 429. */
export class GoClawBusyError extends GoClawError {
  constructor(message: string) {
    super('RESOURCE_EXHAUSTED', 429, message);
    this.name = 'GoClawBusyError';
  }
}

/** One run's event log and its followers. */
export class LiveRun {
  readonly events: RunEvent[] = [];
  private waiters: (() => void)[] = [];
  finished = false;
  readonly controller = new AbortController();
  outcome!: Promise<RunOutcome>;

  constructor(
    readonly runId: string,
    readonly traceId: string,
    readonly createdBy: string,
    /** The session the run belongs to ('' for none): `chat.abort` by session finds it. */
    readonly sessionKey = '',
  ) {}

  emit(type: RunEventType, payload: Record<string, unknown>): RunEvent {
    const event = { seq: this.events.length + 1, type, payload, at: new Date().toISOString() };
    this.events.push(event);
    if (terminal.has(type)) this.finished = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    return event;
  }

  /** Events after `after` (a seq), then live ones, until the terminal event. */
  async *follow(after = 0, signal?: AbortSignal): AsyncGenerator<RunEvent> {
    let next = Math.max(0, after);
    while (true) {
      while (next < this.events.length) {
        const ev = this.events[next] as RunEvent;
        next++;
        yield ev;
      }
      if (this.finished || signal?.aborted) return;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  abort(reason = 'aborted'): void {
    if (!this.finished) this.controller.abort(new Error(reason));
  }
}

interface SpanRecord {
  id: string;
  spanType: 'llm_call' | 'tool_call';
  name: string;
  model?: string;
  provider?: string;
  inputTokens?: number;
  outputTokens?: number;
  cost?: number;
  finishReason?: string;
  toolName?: string;
  toolCallId?: string;
  inputPreview?: string;
  outputPreview?: string;
  status: string;
  error?: string | null;
  startTime: Date;
  endTime: Date;
}

type TraceCreate = Prisma.GoclawTraceUncheckedCreateInput;
type TraceUpdate = Prisma.GoclawTraceUncheckedUpdateInput;
type SpanCreate = Prisma.GoclawSpanCreateManyInput;
type EventCreate = Prisma.GoclawRunEventCreateManyInput;

interface PendingTrace {
  /** Not in the database yet: inserted whole (with its final state when the run ended meanwhile). */
  create?: TraceCreate;
  /** Already inserted (running): its final state. */
  update?: TraceUpdate;
  spans: SpanCreate[];
  events: EventCreate[];
}

/**
 * Trace writes off the response path, batched: runs that start and end within one batch window are inserted once
 * with their final state; a batch is one transaction (traces, updates, spans, events) every `delayMs`, or at once
 * when a reader flushes. Writes are chained, so an update never precedes its insert. A failed batch is logged.
 */
export class TraceWriter {
  private pending = new Map<string, PendingTrace>();
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
    private readonly delayMs = 200,
  ) {}

  started(trace: TraceCreate): void {
    this.pending.set(trace.id as string, { create: trace, spans: [], events: [] });
    this.schedule();
  }

  finished(traceId: string, update: TraceUpdate, spans: SpanCreate[], events: EventCreate[]): void {
    const entry = this.pending.get(traceId);
    if (entry?.create) {
      Object.assign(entry.create, update);
      entry.spans.push(...spans);
      entry.events.push(...events);
    } else {
      this.pending.set(traceId, { update, spans, events });
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.delayMs);
    this.timer.unref();
  }

  /** Writes what is pending now; resolves when it (and every earlier batch) is written. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return this.tail;
    const batch = [...this.pending.entries()];
    this.pending = new Map();
    this.tail = this.tail
      .then(() => this.write(batch))
      .catch((err: unknown) => {
        this.logger.error({ err, traces: batch.length }, 'goclaw trace batch write failed');
      });
    return this.tail;
  }

  private async write(batch: [string, PendingTrace][]): Promise<void> {
    const creates = batch.flatMap(([, p]) => (p.create ? [p.create as Prisma.GoclawTraceCreateManyInput] : []));
    const updates = batch.flatMap(([id, p]) => (p.update ? [{ id, data: p.update }] : []));
    const spans = batch.flatMap(([, p]) => p.spans);
    const events = batch.flatMap(([, p]) => p.events);
    await this.prisma.$transaction([
      ...(creates.length ? [this.prisma.goclawTrace.createMany({ data: creates })] : []),
      ...updates.map((u) => this.prisma.goclawTrace.update({ where: { id: u.id }, data: u.data })),
      ...(spans.length ? [this.prisma.goclawSpan.createMany({ data: spans })] : []),
      ...(events.length ? [this.prisma.goclawRunEvent.createMany({ data: events })] : []),
    ]);
  }
}

export interface RunSpec {
  principal: Principal;
  agent: AgentRow | null;
  provider: ProviderRow;
  adapter: LlmAdapter;
  model: string;
  /** System prompt (if any) first, then history, the last user turn at the end. */
  messages: LlmMessage[];
  userId: string;
  /** Where the run came from; `channel`: a message a channel adapter (Telegram, Slack) received. */
  channel: 'http' | 'wake' | 'graphql' | 'ws' | 'channel';
  sessionKey?: string;
  /** Call the provider streamed and emit its deltas as they arrive. */
  stream: boolean;
  name: string;
}

/** USD of one call: the provider's reported cost, else the provider's configured pricing for the model, else 0. */
export function costOf(provider: ProviderRow, model: string, usage: LlmUsage): number {
  if (typeof usage.cost === 'number' && Number.isFinite(usage.cost)) return usage.cost;
  const pricing = (
    provider.settings as { pricing?: Record<string, { input_per_mtok?: unknown; output_per_mtok?: unknown }> }
  )?.pricing?.[model];
  const inRate = typeof pricing?.input_per_mtok === 'number' ? pricing.input_per_mtok : 0;
  const outRate = typeof pricing?.output_per_mtok === 'number' ? pricing.output_per_mtok : 0;
  return (usage.inputTokens * inRate + usage.outputTokens * outRate) / 1_000_000;
}

export class RunService {
  private readonly live = new Map<string, LiveRun>();
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      tools: ToolRegistry;
      writer: TraceWriter;
      maxConcurrentRuns: number;
    },
  ) {}

  /** A run by id while it is in memory (running, or finished within the last minute). */
  liveRun(runId: string): LiveRun | undefined {
    return this.live.get(runId);
  }

  /** The runs of a session that are still running on this instance. */
  runningInSession(sessionKey: string): LiveRun[] {
    if (sessionKey === '') return [];
    return [...this.live.values()].filter((r) => r.sessionKey === sessionKey && !r.finished);
  }

  /** Starts a run; its events can be followed at once. */
  start(spec: RunSpec): LiveRun {
    if (this.closed) throw new GoClawBusyError('the server is shutting down');
    if (this.inFlight >= this.deps.maxConcurrentRuns) {
      throw new GoClawBusyError(`too many runs in flight (${this.deps.maxConcurrentRuns}); retry shortly`);
    }
    this.inFlight++;
    const run = new LiveRun(randomUUID(), randomUUID(), principalId(spec.principal), spec.sessionKey ?? '');
    this.live.set(run.runId, run);
    const startTime = new Date();
    const lastUser = [...spec.messages].reverse().find((m) => m.role === 'user');
    const input = lastUser?.content ?? '';
    this.deps.writer.started({
      id: run.traceId,
      runId: run.runId,
      agentId: spec.agent?.id ?? null,
      userId: spec.userId,
      sessionKey: spec.sessionKey ?? '',
      name: spec.name,
      channel: spec.channel,
      provider: spec.provider.name,
      model: spec.model,
      inputPreview: preview(input),
      status: 'running',
      startTime,
      createdBy: run.createdBy,
    });
    run.outcome = this.loop(run, spec, startTime).finally(() => {
      this.inFlight--;
      const timer = setTimeout(() => this.live.delete(run.runId), retainMs);
      timer.unref();
    });
    return run;
  }

  private async loop(run: LiveRun, spec: RunSpec, startTime: Date): Promise<RunOutcome> {
    const signal = run.controller.signal;
    const spans: SpanRecord[] = [];
    const usage: RunUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, cost: 0 };
    const messages = [...spec.messages];
    let content = '';
    let status: RunOutcome['status'] = 'completed';
    let error: string | undefined;
    let llmCalls = 0;
    let toolCalls = 0;
    // `input` (the last user message) is what a session's history replays as the user's turn.
    const lastUser = [...spec.messages].reverse().find((m) => m.role === 'user');
    run.emit('run.started', {
      runId: run.runId,
      agentId: spec.agent?.id ?? null,
      model: spec.model,
      provider: spec.provider.name,
      input: lastUser?.content ?? '',
      ...(spec.sessionKey ? { sessionKey: spec.sessionKey } : {}),
    });
    try {
      const tools = await this.deps.tools.forRun(
        { principal: spec.principal, agentId: spec.agent?.id ?? null },
        (spec.agent?.toolsConfig as { allow?: string[]; deny?: string[] } | undefined) ?? {},
      );
      const toolSpecs = [...tools.values()].map((t) => ({
        name: t.name,
        description: t.description,
        parameters: t.parameters,
      }));
      const cap = spec.agent?.maxToolIterations ?? 20;
      let answered = false;
      for (let iteration = 0; iteration < cap && !answered; iteration++) {
        const spanStart = new Date();
        llmCalls++;
        const res = await spec.adapter.complete(
          { model: spec.model, messages, tools: toolSpecs },
          { signal, ...(spec.stream ? { onDelta: (text: string) => run.emit('chunk', { content: text }) } : {}) },
        );
        if (!spec.stream && res.content) run.emit('chunk', { content: res.content });
        content += res.content;
        const cost = costOf(spec.provider, spec.model, res.usage);
        usage.promptTokens += res.usage.inputTokens;
        usage.completionTokens += res.usage.outputTokens;
        usage.cost += cost;
        spans.push({
          id: randomUUID(),
          spanType: 'llm_call',
          name: `${spec.provider.name}/${spec.model}`,
          model: spec.model,
          provider: spec.provider.name,
          inputTokens: res.usage.inputTokens,
          outputTokens: res.usage.outputTokens,
          cost,
          finishReason: res.finishReason,
          outputPreview: preview(res.content),
          status: 'completed',
          startTime: spanStart,
          endTime: new Date(),
        });
        if (res.toolCalls.length === 0) {
          answered = true;
          break;
        }
        messages.push({ role: 'assistant', content: res.content, toolCalls: res.toolCalls });
        for (const call of res.toolCalls) {
          toolCalls++;
          messages.push(await this.callTool(run, spec, tools, call, spans));
        }
      }
      if (!answered) {
        status = 'error';
        error = `the run reached its iteration cap (${cap} model calls) without a final answer`;
      }
    } catch (err) {
      if (signal.aborted) {
        status = 'cancelled';
        error = signal.reason instanceof Error ? signal.reason.message : 'aborted';
      } else if (err instanceof LlmProviderError) {
        status = 'error';
        error = err.message;
      } else {
        this.deps.logger.error({ err, runId: run.runId }, 'goclaw run failed');
        status = 'error';
        error = 'internal error';
      }
    }
    usage.totalTokens = usage.promptTokens + usage.completionTokens;
    const usageBody = {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.totalTokens,
      cost: usage.cost,
    };
    if (status === 'completed') run.emit('run.completed', { content, usage: usageBody });
    else if (status === 'cancelled') run.emit('run.cancelled', { error, usage: usageBody });
    else run.emit('run.failed', { error, usage: usageBody });
    const endTime = new Date();
    const events = run.events;
    this.deps.writer.finished(
      run.traceId,
      {
        status,
        error: error ?? null,
        endTime,
        durationMs: endTime.getTime() - startTime.getTime(),
        outputPreview: preview(content),
        inputTokens: usage.promptTokens,
        outputTokens: usage.completionTokens,
        totalCost: usage.cost,
        spanCount: spans.length,
        llmCallCount: llmCalls,
        toolCallCount: toolCalls,
      },
      spans.map((s, i) => ({
        ...s,
        seq: i + 1,
        traceId: run.traceId,
        error: s.error ?? null,
        durationMs: s.endTime.getTime() - s.startTime.getTime(),
      })),
      events.map((e) => ({
        runId: run.runId,
        seq: e.seq,
        type: e.type,
        payload: e.payload as object,
        at: new Date(e.at),
      })),
    );
    return { runId: run.runId, traceId: run.traceId, status, content, usage, ...(error ? { error } : {}) };
  }

  private async callTool(
    run: LiveRun,
    spec: RunSpec,
    tools: Map<string, import('./tools.ts').GoClawTool>,
    call: LlmToolCall,
    spans: SpanRecord[],
  ): Promise<LlmMessage> {
    const start = new Date();
    run.emit('tool.call', { id: call.id, name: call.name, arguments: call.arguments });
    const tool = tools.get(call.name);
    let result: string;
    let isError = false;
    if (!tool) {
      result = `error: the tool "${call.name}" is not available to this agent`;
      isError = true;
    } else {
      try {
        result = await tool.execute(parseArgs(call.arguments) as Record<string, unknown>, {
          principal: spec.principal,
          agentId: spec.agent?.id ?? null,
          runId: run.runId,
          userId: spec.userId,
          signal: run.controller.signal,
        });
      } catch (err) {
        if (run.controller.signal.aborted) throw err;
        result = `error: ${(err as Error).message}`.slice(0, 2000);
        isError = true;
      }
    }
    if (result.length > maxToolResult) result = `${result.slice(0, maxToolResult)}… (truncated)`;
    run.emit('tool.result', { id: call.id, name: call.name, content: result, is_error: isError });
    spans.push({
      id: randomUUID(),
      spanType: 'tool_call',
      name: call.name,
      toolName: call.name,
      toolCallId: call.id,
      inputPreview: preview(call.arguments),
      outputPreview: preview(result),
      status: isError ? 'error' : 'completed',
      error: isError ? preview(result) : null,
      startTime: start,
      endTime: new Date(),
    });
    return { role: 'tool', toolCallId: call.id, name: call.name, content: result };
  }

  /** Aborts every run and waits for their outcomes (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.live.values()];
    for (const r of runs) r.abort('server shutting down');
    await Promise.allSettled(runs.map((r) => r.outcome));
    await this.deps.writer.flush();
  }
}
