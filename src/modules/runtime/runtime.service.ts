import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseScript } from 'acorn';
import { transform } from 'esbuild';
import type { Execution, Prisma } from '../../../prisma/generated/client/client.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { DomainError, InvalidInputError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import type { AppPubSub } from '../../core/pubsub.ts';
import { hostFailure, recordableError } from './error-text.ts';
import { maxChunkBytes, type OutputPage, type OutputQuery, OutputReader } from './output.ts';
import type { RuntimeConfig } from './runtime.config.ts';
import {
  ExecutionNotFoundError,
  ExecutionNotRunningError,
  RuntimeBusyError,
  ScriptSyntaxError,
} from './runtime.errors.ts';
import { type RunOutcome, SandboxPool } from './sandbox/pool.ts';

export type { Execution };

export const terminalStatuses = new Set(['completed', 'failed', 'cancelled', 'timed_out']);

/**
 * Filesystem snapshots for runs that ask for `fs` (a label or 64-hex CA id): the snapshots module's mount provider.
 * Failures that are the caller's (unknown snapshot, malformed ref, limits) are DomainErrors.
 */
export interface FsMountProvider {
  /** Resolves a label or CA id for the tenant and loads the tree (path → bytes). Unknown labels load empty. */
  load(tenant: string, ref: string): Promise<{ baseCaId: string; files: Map<string, Uint8Array> }>;
  /** Stores a tree and returns its CA id. */
  flush(files: Map<string, Uint8Array>): Promise<string>;
}

export interface ExecInput {
  code: string;
  executionTimeoutSecs?: number | null;
  heapMemoryMaxMb?: number | null;
  fs?: string | null;
  heap?: string | null;
  session?: string | null;
  tags?: Record<string, string> | null;
}

/** The columns a submit sets; the rest take their defaults (or, for a run recorded finished, its outcome). */
type NewExecution = Pick<
  Execution,
  | 'id'
  | 'tenant'
  | 'codeRef'
  | 'sourceLang'
  | 'heapMemoryMaxMb'
  | 'timeoutSecs'
  | 'ownerInstance'
  | 'fsHandle'
  | 'heapIn'
  | 'session'
  | 'startedAt'
>;

/** Which page of an execution's output (`OutputQuery`), and of which execution. */
export interface OutputInput extends OutputQuery {
  id: string;
}

interface LiveRun {
  tenant: string;
  seq: number;
  bytes: number;
  lines: number;
  /** Output writes, serialised per run; finalisation waits for them. */
  writes: Promise<void>;
  /** Set once the run's status is terminal in the database; later output is dropped. */
  finalized: boolean;
  /** Settles once the run's terminal status is written (or failed to be). */
  done?: Promise<void>;
  /** The worker sent output (the run then takes the two-write path: its chunks need the row first). */
  sawOutput: boolean;
}

interface FinishContext {
  tenant: string;
  baseCaId: string | undefined;
  heapIn: string | null;
  session: string | null;
  tags: Record<string, string>;
  codeRef: string;
}

/** What a run records when its real outcome cannot be stored (the details are logged). */
const unrecordable: RunOutcome = {
  status: 'failed',
  result: null,
  error: 'The execution ended but its outcome could not be recorded',
};

const heapKeyPattern = /^[0-9a-f]{64}$/;
const heapObjectKey = (key: string) => `runtime/heaps/${key}`;

export interface RuntimeDeps {
  prisma: PrismaClient;
  /** Heap snapshots live here (content-addressed under runtime/heaps/). */
  objectStore?: ObjectStore;
  pubsub: AppPubSub;
  logger: Logger;
  config: RuntimeConfig;
  /** This process's name as the owner of the runs it executes (live events, restart recovery). */
  instanceId: string;
  /** Mounts `fs` snapshots into runs (the snapshots module's, which the runtime module needs). */
  fs: FsMountProvider;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (id: string) => uuidPattern.test(id);
const minHeapMb = 16;
const sweepIntervalMs = 60 * 60 * 1000;
const recentTtlMs = 60_000;
const recentMaxEntries = 512;
const recentMaxResultChars = 16 * 1024;
/** Scripts up to this size are syntax-checked in-process by acorn (a pure-JS parser: nothing is compiled). */
const fastParseMaxChars = 64 * 1024;

/**
 * Executions: submit (validate, transpile, persist as `running`, hand to the sandbox pool), durable output
 * chunks with byte/line coordinates, terminal transitions settled by one conditional update, cancel routed to
 * the owning instance, restart recovery and retention. Every read and write is scoped to a tenant.
 */
export class RuntimeService {
  private pool: SandboxPool | undefined;
  private readonly live = new Map<string, LiveRun>();
  /** Terminal executions recently written or read here, by id (insertion order = age). */
  private readonly recent = new Map<string, { row: Execution; at: number }>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private cancelListener: AsyncIterator<unknown> | undefined;
  private closed = false;

  private fsProvider: FsMountProvider;

  constructor(private readonly deps: RuntimeDeps) {
    this.fsProvider = deps.fs;
  }

  /** Replaces the snapshot mount provider (the runtime's own tests mount an in-memory store). */
  useFilesystem(provider: FsMountProvider): void {
    this.fsProvider = provider;
  }

  get instanceId(): string {
    return this.deps.instanceId;
  }

  /** Marks runs this instance left `running` (it died) as failed, starts retention sweeps and cancel routing. */
  async start(): Promise<void> {
    const { prisma, config, logger } = this.deps;
    const orphaned = await prisma.execution.updateMany({
      where: { status: 'running', ownerInstance: this.deps.instanceId },
      data: { status: 'failed', error: 'Server restarted while the execution was running', completedAt: new Date() },
    });
    if (orphaned.count > 0) logger.warn({ count: orphaned.count }, 'executions left running by a previous run failed');
    await this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), sweepIntervalMs);
    this.sweepTimer.unref();
    // Heartbeat six times per stale window, so one slow tick never makes a live run look abandoned.
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(100, config.staleAfterMs / 6));
    this.heartbeatTimer.unref();
    const subscription = this.deps.pubsub.subscribe('runtime.cancelRequested', this.deps.instanceId);
    const iterator = subscription[Symbol.asyncIterator]();
    this.cancelListener = iterator;
    void (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done || this.closed) return;
        this.abortLocal(next.value.executionId);
      }
    })().catch((err: unknown) => logger.error({ err }, 'runtime cancel listener failed'));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.cancelListener?.return?.();
    await this.pool?.close();
    // Killing the workers ends their runs (failed); wait until those statuses are written before the DB closes.
    await Promise.all([...this.live.values()].map((r) => r.done));
  }

  /** The worker pool, started on first use (so servers that never run code spawn no workers). */
  sandbox(): SandboxPool {
    this.pool ??= new SandboxPool({ size: this.deps.config.workers, logger: this.deps.logger });
    return this.pool;
  }

  /** Which isolated-vm the sandbox workers load, e.g. `5.0.4`; undefined when none could start. */
  async isolatedVmVersion(): Promise<string | undefined> {
    return this.sandbox().version();
  }

  /** Starts a run for `principal` (its executions, heaps and sessions are namespaced by `principalId`). */
  async submit(principal: Principal, input: ExecInput): Promise<Execution> {
    const { config } = this.deps;
    const tenant = principalId(principal);
    const tags = input.tags ?? {};
    if (input.session !== undefined && input.session !== null && !/^[^\0]{1,200}$/su.test(input.session)) {
      throw new InvalidInputError('session must be 1-200 characters, without U+0000');
    }
    const tagEntries = Object.entries(tags);
    if (tagEntries.length > 64 || tagEntries.some(([k, v]) => k.length > 200 || v.length > 1000)) {
      throw new InvalidInputError('tags: at most 64, keys up to 200 and values up to 1000 characters');
    }
    if (tagEntries.some(([k, v]) => typeof v !== 'string' || k.includes('\0') || v.includes('\0'))) {
      throw new InvalidInputError('tags: keys and values must be strings without U+0000');
    }
    const wantsHeap = Boolean(input.heap || input.session || tagEntries.length > 0);
    const fsProvider = this.fsProvider;
    const codeBytes = Buffer.byteLength(input.code);
    if (codeBytes > config.maxCodeBytes) {
      throw new InvalidInputError(`Script is ${codeBytes} bytes; the limit is ${config.maxCodeBytes} bytes`);
    }
    const timeoutSecs = input.executionTimeoutSecs ?? config.defaultTimeoutSecs;
    if (!Number.isInteger(timeoutSecs) || timeoutSecs < 1 || timeoutSecs > config.maxTimeoutSecs) {
      throw new InvalidInputError(`execution_timeout_secs must be between 1 and ${config.maxTimeoutSecs}`);
    }
    const heapMb = input.heapMemoryMaxMb ?? config.defaultHeapMb;
    if (!Number.isInteger(heapMb) || heapMb < 0 || heapMb > config.maxHeapMb) {
      throw new InvalidInputError(`heap_memory_max_mb must be between 0 and ${config.maxHeapMb}`);
    }
    let active = 0;
    for (const run of this.live.values()) if (run.tenant === tenant && !run.finalized) active++;
    if (active >= config.maxActivePerTenant) throw new RuntimeBusyError(config.maxActivePerTenant);
    const { code, lang } = await prepare(input.code);
    const heapIn = input.heap ? await this.loadHeap(tenant, input.heap) : null;
    let mount: { baseCaId: string; files: Map<string, Uint8Array> } | undefined;
    if (input.fs) {
      try {
        mount = await fsProvider.load(tenant, input.fs);
      } catch (err) {
        // Unknown snapshots, malformed refs, limits: the caller's input. Anything else is the server's failure.
        if (err instanceof DomainError) throw new InvalidInputError(`fs: ${err.message}`);
        throw err;
      }
    }

    // The run starts before its row exists (the id is ours); every output write waits on `live.writes`, which
    // opens once the row is written. A run that ends within the inline window (an idle worker, no output, no heap
    // or fs to store) is recorded once, already terminal; otherwise the row is inserted `running` and the terminal
    // status is a second, conditional write.
    const id = randomUUID();
    const codeRef = createHash('sha256').update(input.code).digest('hex');
    const row: NewExecution = {
      id,
      tenant,
      codeRef,
      sourceLang: lang,
      heapMemoryMaxMb: Math.max(minHeapMb, heapMb),
      timeoutSecs,
      ownerInstance: this.deps.instanceId,
      fsHandle: input.fs ?? null,
      heapIn: input.heap ?? null,
      session: input.session ?? null,
      startedAt: new Date(),
    };
    let openWrites: () => void = () => {};
    const live: LiveRun = {
      tenant,
      seq: 0,
      bytes: 0,
      lines: 0,
      writes: new Promise<void>((resolve) => (openWrites = resolve)),
      finalized: false,
      sawOutput: false,
    };
    this.live.set(id, live);
    const pool = this.sandbox();
    const inline = config.inlineWaitMs > 0 && !wantsHeap && !mount && pool.idleWorkers() > 0;
    const outcome = pool.run({
      runId: id,
      code,
      memoryMb: Math.max(minHeapMb, heapMb),
      timeoutMs: timeoutSecs * 1000,
      maxOutputBytes: config.maxOutputBytes,
      ...(mount ? { fsFiles: mount.files } : {}),
      ...(wantsHeap ? { heap: { restore: heapIn } } : {}),
      onOutput: (text) => {
        live.sawOutput = true;
        this.appendOutput(id, live, text);
      },
    });
    // `recorded` settles once: with the row when it is committed, or with the error if that never happens.
    let isRecorded = false;
    let settle: { resolve(row: Execution): void; reject(err: unknown): void } = { resolve() {}, reject() {} };
    const recorded = new Promise<Execution>((resolve, reject) => (settle = { resolve, reject }));
    const markRecorded = (created: Execution) => {
      isRecorded = true;
      settle.resolve(created);
    };
    const track = async () => {
      const early = inline ? await Promise.race([outcome, sleep(config.inlineWaitMs, undefined)]) : undefined;
      if (early && !live.sawOutput) {
        live.finalized = true;
        let created: Execution;
        try {
          created = await this.recordFinished(row, early);
        } catch (err) {
          this.deps.logger.error({ err, executionId: id }, 'recording an execution outcome failed');
          created = await this.recordFinished(row, unrecordable);
        }
        this.remember(created);
        markRecorded(created);
        await this.announceTerminal(id, early.status, 0);
        return;
      }
      let created: Execution;
      try {
        created = await this.deps.prisma.execution.create({ data: row });
      } catch (err) {
        live.finalized = true;
        pool.cancel(id);
        throw err;
      } finally {
        openWrites();
      }
      markRecorded(created);
      await this.finish(id, live, await outcome, {
        tenant,
        baseCaId: mount?.baseCaId,
        heapIn: input.heap ?? null,
        session: input.session ?? null,
        tags,
        codeRef,
      });
    };
    live.done = track()
      .catch((err: unknown) => {
        // Before the row exists the error is the submit's own (the caller gets it); after, it is only logged.
        if (isRecorded) this.deps.logger.error({ err, executionId: id }, 'execution bookkeeping failed');
        else settle.reject(err);
      })
      .finally(() => {
        openWrites();
        this.live.delete(id);
      });
    return recorded;
  }

  /**
   * One of the tenant's executions. Terminal rows never change again (every writer updates `WHERE status =
   * 'running'`; retention deletes them days later), so recently seen ones are answered from memory.
   */
  async get(principal: Principal, id: string): Promise<Execution | null> {
    if (!isUuid(id)) return null;
    const tenant = principalId(principal);
    const cached = this.recent.get(id);
    if (cached && cached.row.tenant === tenant && cached.at > Date.now() - recentTtlMs) return cached.row;
    const row = await this.deps.prisma.execution.findFirst({ where: { id, tenant } });
    if (row) this.remember(row);
    return row;
  }

  /**
   * Inserts a run that already ended, terminal from the start, and returns the row as stored. Raw SQL on purpose:
   * this insert is on the critical path of every short run, and Prisma's model create costs about a millisecond
   * more than the statement itself (docs/decisions.md).
   */
  private async recordFinished(row: NewExecution, outcome: RunOutcome): Promise<Execution> {
    const completed = outcome.status === 'completed';
    const created: Execution = {
      ...row,
      status: outcome.status,
      result: completed ? outcome.result : null,
      error: completed ? null : recordableError(outcome.error ?? 'Execution failed'),
      heapOut: null,
      fsOut: null,
      heartbeatAt: row.startedAt,
      completedAt: new Date(),
      outputBytes: 0n,
      outputLines: 0n,
    };
    const c = created; // short name for the statement below
    await this.deps.prisma.$executeRaw`
      INSERT INTO executions (id, tenant, status, code_ref, source_lang, heap_in, session, fs_handle,
        heap_memory_max_mb, timeout_secs, result, error, owner_instance, started_at, heartbeat_at, completed_at)
      VALUES (${c.id}::uuid, ${c.tenant}, ${c.status}::"ExecutionStatus", ${c.codeRef}, ${c.sourceLang}, ${c.heapIn},
        ${c.session}, ${c.fsHandle}, ${c.heapMemoryMaxMb}, ${c.timeoutSecs}, ${c.result}, ${c.error},
        ${c.ownerInstance}, ${c.startedAt}, ${c.heartbeatAt}, ${c.completedAt})`;
    return created;
  }

  /** Keeps a terminal row for `get` (bounded: the most recent few hundred, small results only). */
  private remember(row: Execution): void {
    if (!terminalStatuses.has(row.status) || (row.result?.length ?? 0) > recentMaxResultChars) return;
    this.recent.delete(row.id);
    this.recent.set(row.id, { row, at: Date.now() });
    if (this.recent.size > recentMaxEntries) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /**
   * Cancels one of the caller's running executions and returns it `cancelled`. ExecutionNotFoundError for unknown
   * (or another tenant's) ids, ExecutionNotRunningError when a terminal status won first.
   */
  async cancel(principal: Principal, id: string): Promise<Execution> {
    const { prisma, pubsub } = this.deps;
    const tenant = principalId(principal);
    const current = await this.get(principal, id);
    if (!current) throw new ExecutionNotFoundError(id);
    if (current.status !== 'running') throw new ExecutionNotRunningError(id, current.status);
    const won = await prisma.execution.updateMany({
      where: { id, tenant, status: 'running' },
      data: { status: 'cancelled', error: 'Cancelled by user', completedAt: new Date() },
    });
    if (won.count === 0) {
      const after = await this.get(principal, id);
      throw new ExecutionNotRunningError(id, after?.status ?? 'unknown');
    }
    if (current.ownerInstance === this.instanceId) this.abortLocal(id);
    else pubsub.publish('runtime.cancelRequested', current.ownerInstance, { executionId: id });
    await this.announceTerminal(id, 'cancelled');
    const cancelled = await prisma.execution.findFirst({ where: { id, tenant } });
    if (!cancelled) throw new ExecutionNotFoundError(id);
    this.remember(cancelled);
    return cancelled;
  }

  async output(principal: Principal, input: OutputInput): Promise<{ execution: Execution; page: OutputPage }> {
    const { id, ...query } = input;
    const values = [query.lineOffset, query.lineLimit, query.byteOffset, query.byteLimit];
    if (!values.every((v) => v === null || v === undefined || (Number.isSafeInteger(v) && v >= 0))) {
      throw new InvalidInputError('offsets and limits must be non-negative integers');
    }
    const execution = await this.get(principal, id);
    if (!execution) throw new ExecutionNotFoundError(id);
    const reader = new OutputReader(this.deps.prisma, id, Number(execution.outputBytes), Number(execution.outputLines));
    return { execution, page: await reader.page(query) };
  }

  /** Deletes executions (and their output) that finished before the retention window. */
  async sweep(): Promise<number> {
    const cutoff = new Date(Date.now() - this.deps.config.retentionHours * 3600 * 1000);
    try {
      const { count } = await this.deps.prisma.execution.deleteMany({ where: { completedAt: { lt: cutoff } } });
      return count;
    } catch (err) {
      this.deps.logger.error({ err }, 'execution retention sweep failed');
      return 0;
    }
  }

  /**
   * Refreshes this instance's running executions, then fails running executions of any instance whose heartbeat
   * is older than `staleAfterMs` (that instance died and did not come back with the same instance id).
   * Returns how many were failed.
   */
  async heartbeat(): Promise<number> {
    const { prisma, config, logger } = this.deps;
    try {
      if (this.live.size > 0) {
        await prisma.execution.updateMany({
          where: { status: 'running', ownerInstance: this.deps.instanceId, id: { in: [...this.live.keys()] } },
          data: { heartbeatAt: new Date() },
        });
      }
      const cutoff = new Date(Date.now() - config.staleAfterMs);
      const stale = await prisma.execution.findMany({
        where: { status: 'running', heartbeatAt: { lt: cutoff } },
        select: { id: true },
        take: 1000,
      });
      let failed = 0;
      for (const { id } of stale) {
        if (this.live.has(id)) continue; // ours and alive: the refresh above raced with this read
        const won = await prisma.execution.updateMany({
          where: { id, status: 'running', heartbeatAt: { lt: cutoff } },
          data: {
            status: 'failed',
            error: 'The server running this execution stopped responding',
            completedAt: new Date(),
          },
        });
        if (won.count === 1) {
          failed++;
          await this.announceTerminal(id, 'failed');
        }
      }
      if (failed > 0) logger.warn({ count: failed }, 'executions of an unresponsive instance failed');
      return failed;
    } catch (err) {
      logger.error({ err }, 'execution heartbeat failed');
      return 0;
    }
  }

  private abortLocal(id: string): void {
    const live = this.live.get(id);
    if (live) live.finalized = true;
    this.pool?.cancel(id);
  }

  private appendOutput(id: string, live: LiveRun, text: string): void {
    live.writes = live.writes
      .then(async () => {
        const buffer = Buffer.from(text, 'utf8');
        for (let offset = 0; offset < buffer.length; offset += maxChunkBytes) {
          if (live.finalized) return;
          const piece = buffer.subarray(offset, offset + maxChunkBytes);
          await this.storeChunk(id, live, piece);
        }
      })
      .catch((err: unknown) => this.deps.logger.error({ err, executionId: id }, 'storing execution output failed'));
  }

  /** Chunk first, then the counters (only while running): readers see a chunk only once the counters cover it. */
  private async storeChunk(id: string, live: LiveRun, piece: Buffer): Promise<void> {
    const { prisma, pubsub } = this.deps;
    let lineCount = 0;
    for (const byte of piece) if (byte === 0x0a) lineCount++;
    const seq = live.seq++;
    const startByte = live.bytes;
    const startLine = live.lines;
    await prisma.outputChunk.create({
      data: {
        executionId: id,
        seq,
        byteStart: BigInt(startByte),
        lineStart: BigInt(startLine),
        byteLength: piece.length,
        lineCount,
        bytes: new Uint8Array(piece),
      },
    });
    const updated = await prisma.execution.updateMany({
      where: { id, status: 'running' },
      data: { outputBytes: { increment: piece.length }, outputLines: { increment: lineCount } },
    });
    if (updated.count === 0) {
      live.finalized = true;
      await prisma.outputChunk.delete({ where: { executionId_seq: { executionId: id, seq } } });
      return;
    }
    live.bytes += piece.length;
    live.lines += lineCount;
    pubsub.publish('runtime.executionOutput', id, {
      chunk: {
        data: piece.toString('utf8'),
        startByte,
        endByte: startByte + piece.length,
        startLine,
        endLine: startLine + lineCount,
      },
      done: null,
    });
  }

  /**
   * Writes the terminal status (if no cancel won first). A mounted tree is flushed before, and its CA id stored in
   * the same update, so a client that stops polling at `completed` never misses `fs`. A failed flush fails the run.
   */
  private async finish(id: string, live: LiveRun, outcome: RunOutcome, run: FinishContext): Promise<void> {
    await live.writes;
    const { baseCaId } = run;
    let final = outcome;
    let fsOut: string | null = null;
    let heapOut: string | null = null;
    if (outcome.status === 'completed' && outcome.heapOut) {
      try {
        heapOut = await this.storeHeap(id, run, outcome.heapOut);
      } catch (err) {
        this.deps.logger.error({ err, executionId: id }, 'storing a heap snapshot failed');
        final = { status: 'failed', result: null, error: hostFailure('Heap snapshot store failed', err) };
      }
    }
    if (final.status === 'completed' && baseCaId !== undefined) {
      fsOut = baseCaId;
      if (outcome.fsTree) {
        try {
          fsOut = await this.fsProvider.flush(outcome.fsTree);
        } catch (err) {
          fsOut = null;
          this.deps.logger.error({ err, executionId: id }, 'flushing a mounted tree failed');
          final = { status: 'failed', result: null, error: hostFailure('Filesystem flush failed', err) };
        }
      }
    }
    live.finalized = true;
    const terminal = async (data: Prisma.ExecutionUpdateManyMutationInput) =>
      this.deps.prisma.execution.updateMany({
        where: { id, status: 'running' },
        data: { ...data, completedAt: new Date() },
      });
    let won: { count: number };
    try {
      won = await terminal({
        status: final.status,
        result: final.status === 'completed' ? final.result : null,
        error: final.status === 'completed' ? null : recordableError(final.error ?? 'Execution failed'),
        fsOut,
        heapOut: final.status === 'completed' ? heapOut : null,
      });
    } catch (err) {
      // The run ends now, whatever its outcome could not be stored as (never `running` until a heartbeat fails it).
      this.deps.logger.error({ err, executionId: id }, 'recording an execution outcome failed');
      final = unrecordable;
      fsOut = null;
      heapOut = null;
      won = await terminal({ status: 'failed', result: null, error: final.error, fsOut: null, heapOut: null });
    }
    if (won.count === 1 && run.session) {
      await this.deps.prisma.sessionLogEntry.create({
        data: {
          tenant: run.tenant,
          session: run.session,
          executionId: id,
          inputHeap: run.heapIn,
          outputHeap: final.status === 'completed' ? heapOut : null,
          outputFs: fsOut,
          codeRef: run.codeRef,
        },
      });
    }
    if (won.count === 1) await this.announceTerminal(id, final.status, live.bytes);
  }

  /** The serialised globals of one of the tenant's heap snapshots; unknown (or another tenant's): 400. */
  private async loadHeap(tenant: string, key: string): Promise<Uint8Array> {
    if (!heapKeyPattern.test(key)) throw new InvalidInputError(`heap must be a 64-hex heap key (got "${key}")`);
    const known = await this.deps.prisma.heapSnapshot.findUnique({ where: { tenant_key: { tenant, key } } });
    const stored = known ? await this.objectStore().getObject(heapObjectKey(key)) : null;
    if (!stored) throw new InvalidInputError(`unknown heap ${key}`);
    return new Uint8Array(stored.body);
  }

  /** Content-addressed: the key is the SHA-256 of the bytes; storing the same state twice is a no-op. */
  private async storeHeap(executionId: string, run: FinishContext, bytes: Uint8Array): Promise<string> {
    const key = createHash('sha256').update(bytes).digest('hex');
    await this.objectStore().putObject(heapObjectKey(key), bytes, { contentType: 'application/octet-stream' });
    const { prisma } = this.deps;
    await prisma.heapSnapshot.upsert({
      where: { tenant_key: { tenant: run.tenant, key } },
      create: {
        tenant: run.tenant,
        key,
        sizeBytes: bytes.byteLength,
        parentKey: run.heapIn,
        producedByExecutionId: executionId,
      },
      update: {},
    });
    for (const [tag, value] of Object.entries(run.tags)) {
      await prisma.heapTag.upsert({
        where: { tenant_heapKey_key: { tenant: run.tenant, heapKey: key, key: tag } },
        create: { tenant: run.tenant, heapKey: key, key: tag, value },
        update: { value },
      });
    }
    return key;
  }

  private objectStore(): ObjectStore {
    const store = this.deps.objectStore;
    if (!store) throw new Error('object storage is not configured for heap snapshots');
    return store;
  }

  private async announceTerminal(id: string, status: string, knownBytes?: number): Promise<void> {
    let totalBytes = knownBytes;
    if (totalBytes === undefined) {
      const row = await this.deps.prisma.execution.findUnique({ where: { id }, select: { outputBytes: true } });
      totalBytes = Number(row?.outputBytes ?? 0);
    }
    this.deps.pubsub.publish('runtime.executionOutput', id, { chunk: null, done: { status, totalBytes } });
    this.deps.pubsub.publish('runtime.executionStatusChanged', id, { status });
  }
}

/**
 * JavaScript runs as written; otherwise TypeScript is type-stripped by esbuild. Neither parses: 400. Small classic
 * scripts are recognised by acorn in-process (microseconds, against about a millisecond for a round trip to the
 * esbuild service); anything acorn refuses (modules, top-level await, TypeScript, newer syntax) goes to esbuild.
 */
async function prepare(source: string): Promise<{ code: string; lang: 'js' | 'ts' }> {
  if (source.length <= fastParseMaxChars && parsesAsClassicScript(source)) return { code: source, lang: 'js' };
  try {
    await transform(source, { loader: 'js', sourcefile: 'script.js', logLevel: 'silent' });
    return { code: source, lang: 'js' };
  } catch (jsError) {
    try {
      const out = await transform(source, { loader: 'ts', sourcefile: 'script.ts', logLevel: 'silent' });
      return { code: out.code, lang: 'ts' };
    } catch {
      throw new ScriptSyntaxError(`SyntaxError: ${describeEsbuildError(jsError)}`);
    }
  }
}

function parsesAsClassicScript(source: string): boolean {
  try {
    parseScript(source, { ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true });
    return true;
  } catch {
    return false;
  }
}

function describeEsbuildError(err: unknown): string {
  const errors = (err as { errors?: { text: string; location?: { line: number; column: number } | null }[] }).errors;
  const first = errors?.[0];
  if (!first) return err instanceof Error ? err.message : String(err);
  const where = first.location ? ` (line ${first.location.line}, column ${first.location.column + 1})` : '';
  return `${first.text}${where}`;
}

let cachedVersion: string | undefined;
/** The server version from package.json (what mcp-v8's `/api/version` reports). */
export function serverVersion(): string {
  cachedVersion ??= (
    JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return cachedVersion;
}
