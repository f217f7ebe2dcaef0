import { randomUUID } from 'node:crypto';
import type { Prisma } from '../../../prisma/generated/client/client.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { DomainError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { AppPubSub } from '../../core/pubsub.ts';
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
import { type ToolRegistry, ToolSourceError } from './tools.ts';

/*
 * The agent run: one event stream per run (docs/goclaw.md "Runs"). The loop calls the provider (streamed when the
 * caller streams), runs the tool calls it asks for, feeds the results back, and stops at a plain answer, the
 * iteration cap, an error or an abort. Every view — the OpenAI SSE response, the JSON response, wake, the GraphQL
 * subscription — reads the same LiveRun's events. The trace, its spans and the event log are written by the
 * TraceWriter off the response path: the trace queued when the run starts and ends, each event as it happens,
 * never awaited by the run. Once a batch of events is stored it is published on `goclaw.runEvents:<runId>`, which
 * is how a follower on another instance sees the run live (`followStored`).
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

/** An abort request crossing instances (`goclaw.runAbortRequested`). */
export interface RunAbortRequest {
  runId?: string;
  sessionKey?: string;
  /** The requester's principal id: runs it started may be aborted. */
  by: string;
  /** An admin may abort any run. */
  admin: boolean;
  reason: string;
}

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
    /** Called with every event as it is emitted (the run service queues it for storage and publication). */
    private readonly sink?: (event: RunEvent) => void,
  ) {}

  emit(type: RunEventType, payload: Record<string, unknown>): RunEvent {
    const event = { seq: this.events.length + 1, type, payload, at: new Date().toISOString() };
    this.events.push(event);
    this.sink?.(event);
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

interface PendingTrace {
  runId: string;
  /** Not in the database yet: inserted whole (with its final state when the run ended meanwhile). */
  create?: TraceCreate;
  /** Already inserted (running): its final state. */
  update?: TraceUpdate;
  spans: SpanCreate[];
  /** Events emitted since the last batch, in seq order. */
  events: RunEvent[];
}

/**
 * Trace writes off the response path, batched: runs that start and end within one batch window are inserted once
 * with their final state; a batch is one transaction (traces, updates, spans, events) every `delayMs`, or at once
 * when a reader flushes. Writes are chained, so an update never precedes its insert. After a batch commits, each
 * run's new events are published (one message per run and batch) on `goclaw.runEvents:<runId>`: a published event
 * is always already stored. A failed batch is logged, and its events are still published (live followers go on).
 */
export class TraceWriter {
  private pending = new Map<string, PendingTrace>();
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
    private readonly delayMs = 200,
    private readonly pubsub?: AppPubSub,
  ) {}

  private entry(traceId: string, runId: string): PendingTrace {
    let entry = this.pending.get(traceId);
    if (!entry) {
      entry = { runId, spans: [], events: [] };
      this.pending.set(traceId, entry);
    }
    return entry;
  }

  started(trace: TraceCreate): void {
    this.entry(trace.id as string, trace.runId).create = trace;
    this.schedule();
  }

  /** Queues one event of a running run (stored, then published, with the next batch). */
  event(traceId: string, runId: string, event: RunEvent): void {
    this.entry(traceId, runId).events.push(event);
    this.schedule();
  }

  finished(traceId: string, runId: string, update: TraceUpdate, spans: SpanCreate[]): void {
    const entry = this.entry(traceId, runId);
    if (entry.create) Object.assign(entry.create, update);
    else entry.update = update;
    entry.spans.push(...spans);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.delayMs);
    this.timer.unref();
  }

  /** Writes what is pending now; resolves when it (and every earlier batch) is written and published. */
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
      })
      .then(() => this.publish(batch));
    return this.tail;
  }

  private publish(batch: [string, PendingTrace][]): void {
    if (!this.pubsub) return;
    for (const [, p] of batch) {
      if (p.events.length === 0) continue;
      try {
        this.pubsub.publish('goclaw.runEvents', p.runId, { events: p.events });
      } catch (err) {
        this.logger.error({ err, runId: p.runId }, 'goclaw run events publish failed');
      }
    }
  }

  private async write(batch: [string, PendingTrace][]): Promise<void> {
    const creates = batch.flatMap(([, p]) => (p.create ? [p.create as Prisma.GoclawTraceCreateManyInput] : []));
    const updates = batch.flatMap(([id, p]) => (p.update ? [{ id, data: p.update }] : []));
    const spans = batch.flatMap(([, p]) => p.spans);
    const events = batch.flatMap(([, p]) =>
      p.events.map((e) => ({
        runId: p.runId,
        seq: e.seq,
        type: e.type,
        payload: e.payload as object,
        at: new Date(e.at),
      })),
    );
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
  private abortRequests: AsyncIterator<RunAbortRequest> | undefined;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      tools: ToolRegistry;
      writer: TraceWriter;
      maxConcurrentRuns: number;
      /** Where stored events are announced (`goclaw.runEvents`); followers on other instances listen there. */
      pubsub?: AppPubSub;
      /** How long a follower of a run on another instance waits without news before re-reading the table. */
      followIdleMs?: number;
    },
  ) {
    if (deps.pubsub) this.listenForAborts(deps.pubsub);
  }

  /** Aborts this instance's copy of a run when any instance asks (`requestAbort`). */
  private listenForAborts(pubsub: AppPubSub): void {
    const iterator = pubsub.subscribe('goclaw.runAbortRequested')[Symbol.asyncIterator]();
    this.abortRequests = iterator;
    void (async () => {
      for (;;) {
        const n = await iterator.next();
        if (n.done) return;
        for (const run of this.matching(n.value)) run.abort(n.value.reason);
      }
    })().catch((err: unknown) => this.deps.logger.error({ err }, 'goclaw run abort subscription failed'));
  }

  /** This instance's unfinished runs an abort request names and its requester may abort. */
  matching(req: RunAbortRequest): LiveRun[] {
    const mayAbort = (r: LiveRun) => !r.finished && (req.admin || r.createdBy === req.by);
    if (req.runId) {
      const run = this.live.get(req.runId);
      return run && mayAbort(run) && (!req.sessionKey || run.sessionKey === req.sessionKey) ? [run] : [];
    }
    return req.sessionKey ? this.runningInSession(req.sessionKey).filter(mayAbort) : [];
  }

  /**
   * Aborts the runs a request names: this instance's at once (returned), and, unless the run asked for by id is
   * here, asks every other instance to abort theirs (`goclaw.runAbortRequested`; each checks the requester
   * against its own runs). Callers check roles.
   */
  requestAbort(req: RunAbortRequest): LiveRun[] {
    const here = this.matching(req);
    for (const r of here) r.abort(req.reason);
    const onlyHere = req.runId !== undefined && this.live.has(req.runId);
    if (this.deps.pubsub && !onlyHere) this.deps.pubsub.publish('goclaw.runAbortRequested', req);
    return here;
  }

  /** The stored events of a run after `after`, in order. */
  async storedEvents(runId: string, after: number): Promise<RunEvent[]> {
    const rows = await this.deps.prisma.goclawRunEvent.findMany({
      where: { runId, seq: { gt: after } },
      orderBy: { seq: 'asc' },
    });
    return rows.map((r) => ({
      seq: r.seq,
      type: r.type as RunEventType,
      payload: r.payload as Record<string, unknown>,
      at: r.at.toISOString(),
    }));
  }

  /**
   * Follows a run from its stored log and the `goclaw.runEvents` channel: for a run that lives on another instance
   * (or none: a finished run). Subscribes first, then reads the table after `after`, then yields published events
   * in seq order, each once. An event is published only after it is stored, so one published before the
   * subscription took hold is in the table: a gap in the published seqs, or a quiet spell of `followIdleMs`,
   * re-reads the table. Ends after the terminal event (or when `signal` aborts).
   */
  async *followStored(runId: string, after = 0, signal?: AbortSignal): AsyncGenerator<RunEvent> {
    const idleMs = this.deps.followIdleMs ?? 2_000;
    const queue: RunEvent[] = [];
    let wake: (() => void) | undefined;
    const iterator = this.deps.pubsub?.subscribe('goclaw.runEvents', runId)[Symbol.asyncIterator]();
    let pumpFailed = false;
    const pump = iterator
      ? (async () => {
          for (;;) {
            const n = await iterator.next();
            if (n.done) return;
            queue.push(...n.value.events);
            wake?.();
          }
        })().catch((err: unknown) => {
          pumpFailed = true;
          this.deps.logger.warn({ err, runId }, 'goclaw run events subscription failed');
          wake?.();
        })
      : undefined;
    let last = Math.max(0, after);
    /** The published seq that last sent us back to the table for a gap before it. */
    let gapAt = 0;
    try {
      for (;;) {
        for (const e of await this.storedEvents(runId, last)) {
          if (e.seq !== last + 1) break;
          last = e.seq;
          yield e;
          if (terminal.has(e.type)) return;
        }
        // Published events, in order, until a gap or a quiet spell sends us back to the table.
        for (;;) {
          if (signal?.aborted) return;
          while (queue.length > 0 && (queue[0] as RunEvent).seq <= last) queue.shift();
          const head = queue[0];
          if (head && head.seq === last + 1) {
            queue.shift();
            last = head.seq;
            yield head;
            if (terminal.has(head.type)) return;
            continue;
          }
          if (head && gapAt !== head.seq) {
            gapAt = head.seq;
            break;
          }
          if (head) {
            // Still a gap after re-reading the table: those events were never stored (a failed batch). Go on.
            queue.shift();
            last = head.seq;
            yield head;
            if (terminal.has(head.type)) return;
            continue;
          }
          const quiet = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), pumpFailed || !iterator ? Math.min(idleMs, 500) : idleMs);
            timer.unref();
            const done = () => {
              clearTimeout(timer);
              resolve(false);
            };
            wake = done;
            signal?.addEventListener('abort', done, { once: true });
          });
          wake = undefined;
          if (quiet) break;
        }
      }
    } finally {
      await iterator?.return?.();
      await pump;
    }
  }

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
    const runId = randomUUID();
    const traceId = randomUUID();
    const run = new LiveRun(runId, traceId, principalId(spec.principal), spec.sessionKey ?? '', (event) =>
      this.deps.writer.event(traceId, runId, event),
    );
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
      // Instructions of the offered tools (the skills section) follow the leading system messages.
      const instructions = [...tools.values()].flatMap((t) => (t.instructions ? [t.instructions] : []));
      if (instructions.length > 0) {
        const at = messages.findIndex((m) => m.role !== 'system');
        messages.splice(at === -1 ? messages.length : at, 0, { role: 'system', content: instructions.join('\n\n') });
      }
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
      } else if (err instanceof ToolSourceError) {
        // The run's tools could not be assembled (a settings read, a grant lookup, …): the run fails, saying which.
        if (!(err.cause instanceof DomainError)) {
          this.deps.logger.error({ err: err.cause, runId: run.runId, source: err.source }, 'goclaw tool source failed');
        }
        status = 'error';
        error = `the run's tools are unavailable (${err.source}): ${err.cause instanceof DomainError ? err.cause.message : 'internal error'}`;
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
    this.deps.writer.finished(
      run.traceId,
      run.runId,
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
    await this.abortRequests?.return?.();
    await this.deps.writer.flush();
  }
}
