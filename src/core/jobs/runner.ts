import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PrismaClient, Tx } from '../db.ts';
import type { Logger } from '../logger.ts';
import type { JobsConfig } from './config.ts';
import { errorText } from './error-text.ts';
import {
  type ClaimOutcome,
  claimJob,
  deleteFinished,
  extendLease,
  insertJob,
  type JobRow,
  type JobState,
  requestCancel,
  type Settlement,
  selectByDedupeKey,
  selectJob,
  settleJob,
  writeProgress,
} from './store.ts';

export type { JobState, JobsConfig };

/** What a handler reports while it runs; stored as JSON on the job and visible through `get()`. */
export interface JobProgress {
  done?: number;
  total?: number;
  message?: string;
}

/** A job as callers see it (the lease token stays internal). */
export interface JobView {
  id: string;
  kind: string;
  state: JobState;
  payload: unknown;
  /** The handler's return value (succeeded jobs). */
  result: unknown;
  progress: JobProgress | null;
  /** Bounded message of the latest failure; never a stack trace. */
  lastError: string | null;
  attempts: number;
  maxAttempts: number;
  /** +1 on every write of the job: of two views of one job, the higher version is the newer. */
  version: number;
  /** Queued: when the job is (next) due. */
  runAt: Date | null;
  /** Running: when the current lease ends unless its runner heartbeats. */
  leaseExpiresAt: Date | null;
  /** The instance running the job, or the one that finished it. */
  leaseOwner: string | null;
  cancelRequested: boolean;
  dedupeKey: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface JobContext {
  jobId: string;
  /** 1 on the first run; reclaims after a lost lease count too. */
  attempt: number;
  /** Aborted on cancel, lease loss or shutdown; `signal.reason` is a JobAbortedError. */
  signal: AbortSignal;
  /** Stores progress (fenced: ignored once the lease is lost). */
  progress(p: JobProgress): Promise<void>;
  /**
   * Runs `fn` in a transaction that holds this attempt's lease: the job row stays locked (nobody can reclaim it)
   * until the transaction ends, and it commits only if the lease was still held. Throws LeaseLostError otherwise.
   */
  fenced<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** A kind of job. Handlers run at least once per job: make them idempotent (key effects on `ctx.jobId`) or fenced. */
export interface JobKind<P = any, R = unknown> {
  /** `<module>.<verb>`, e.g. `polykomos.provision`. */
  kind: string;
  run(payload: P, ctx: JobContext): Promise<R>;
  /** Attempts before the job is dead (default: config.maxAttempts); set when the job is enqueued. */
  maxAttempts?: number;
  /** Lease of one attempt, milliseconds (default: config.leaseMs); the runner heartbeats every leaseMs/3. */
  leaseMs?: number;
  /** Retry n waits baseMs * 2^(n-1), at most maxMs, plus up to 10% jitter (default: config). */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Called once when the job becomes dead (attempts exhausted, PermanentJobError, or its last lease lost), inside
   * the transaction that marks it dead: writes through `tx` commit exactly with that transition. If it throws,
   * its writes roll back and the job is dead without them (logged).
   */
  onDead?(payload: P, error: string, job: { jobId: string; tx: Tx }): Promise<void>;
}

/** Typed helper for defining a kind: `defineJobKind<{ id: string }>({ kind: 'x.y', run: … })`. */
export const defineJobKind = <P, R = unknown>(kind: JobKind<P, R>): JobKind<P, R> => kind;

/** Thrown by a handler: the job is dead at once, without retries. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/** The attempt no longer holds its lease (it expired and another runner took the job, or it finished). */
export class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId}: lease lost`);
    this.name = 'LeaseLostError';
  }
}

export type JobAbortReason = 'cancelled' | 'lease-lost' | 'shutdown';

/** `ctx.signal.reason` when a runner aborts a handler. */
export class JobAbortedError extends Error {
  constructor(readonly reason: JobAbortReason) {
    super(
      reason === 'cancelled'
        ? 'job cancelled'
        : reason === 'lease-lost'
          ? 'job lease lost'
          : 'job runner shutting down',
    );
    this.name = 'AbortError';
  }
}

export interface EnqueueOptions {
  /** Insert inside the caller's transaction (outbox-style): the job exists only if that transaction commits. */
  tx?: Tx;
  /** Not before this time (default: now). */
  runAt?: Date;
  /** Unique per kind while the job row is kept: enqueueing the same key again returns the existing job. */
  dedupeKey?: string;
  maxAttempts?: number;
}

export interface JobRunnerDeps {
  prisma: PrismaClient;
  logger: Logger;
  /** Recorded as lease owner of the jobs this runner runs. */
  instanceId: string;
  config: JobsConfig;
  /**
   * Every change this runner makes or observes (enqueue, claim, progress, finish, cancel), after it is stored, in
   * version order per job: a view older than one already reported (answers race across connections) is dropped.
   */
  onChange?: (job: JobView) => void;
}

const terminalStates: readonly JobState[] = ['succeeded', 'dead', 'cancelled'];
export const isTerminal = (state: JobState) => terminalStates.includes(state);

const kindPattern = /^[a-z][a-z0-9_-]*(\.[a-z][a-zA-Z0-9_-]*)+$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const pruneEveryMs = 10 * 60_000;
const pruneBatch = 1000;
const maxMessageLength = 500;
const maxReported = 10_000;

interface Attempt {
  row: JobRow;
  kind: Required<Pick<JobKind, 'leaseMs'>> & JobKind;
  token: string;
  controller: AbortController;
  abortReason?: JobAbortReason;
  cancelRequested: boolean;
  /** Set when close() released the lease of a handler that did not stop in time. */
  released: boolean;
  stopHeartbeat(): void;
  done: Promise<void>;
}

/**
 * Durable jobs in the platform database (docs/jobs.md): claimed with `FOR UPDATE SKIP LOCKED`, leased and
 * heartbeated, retried with exponential backoff, dead after the last attempt, cancellable. Works on PGlite
 * (one process) and on Postgres shared by many processes.
 */
export class JobRunner {
  private readonly kinds = new Map<string, JobKind & { leaseMs: number }>();
  private readonly attempts = new Map<string, Attempt>();
  private readonly changes = new EventEmitter();
  /** Last version reported to onChange, per job (the most recent jobs only). */
  private readonly reported = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly log: Logger;
  private phase: 'idle' | 'started' | 'closing' | 'closed' = 'idle';
  private loop: Promise<void> | undefined;
  private woken = false;
  private wakeSleeper: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly deps: JobRunnerDeps) {
    this.log = deps.logger.child({ component: 'jobs', instanceId: deps.instanceId });
    this.changes.setMaxListeners(0);
  }

  /** Registers a kind; call before start(). A kind must be defined to be enqueued or run here. */
  define(kind: JobKind<any, any>): void {
    if (this.phase !== 'idle') throw new Error(`job kind ${kind.kind}: define kinds before start()`);
    if (!kindPattern.test(kind.kind) || kind.kind.length > 100) {
      throw new Error(`job kind "${kind.kind}" must look like <module>.<verb>`);
    }
    if (this.kinds.has(kind.kind)) throw new Error(`job kind ${kind.kind} is already defined`);
    const leaseMs = kind.leaseMs ?? this.deps.config.leaseMs;
    if (!Number.isInteger(leaseMs) || leaseMs < 300) throw new Error(`job kind ${kind.kind}: leaseMs must be ≥ 300`);
    if (kind.maxAttempts !== undefined) checkAttempts(kind.kind, kind.maxAttempts);
    this.kinds.set(kind.kind, { ...kind, leaseMs });
  }

  /** Adds a job; with `tx`, inside the caller's transaction. Returns the existing job for a known dedupeKey. */
  async enqueue<P>(
    kind: string | JobKind<P, any>,
    payload: P,
    opts: EnqueueOptions = {},
  ): Promise<{ id: string; deduped: boolean }> {
    const name = typeof kind === 'string' ? kind : kind.kind;
    const def = this.kinds.get(name);
    if (!def) throw new Error(`unknown job kind ${name}`);
    const maxAttempts = opts.maxAttempts ?? def.maxAttempts ?? this.deps.config.maxAttempts;
    checkAttempts(name, maxAttempts);
    if (opts.dedupeKey !== undefined && (opts.dedupeKey === '' || opts.dedupeKey.length > 200)) {
      throw new Error('dedupeKey must be 1 to 200 characters');
    }
    const db = opts.tx ?? this.deps.prisma;
    const row = await insertJob(db, {
      id: randomUUID(),
      kind: name,
      payload: toJson(payload),
      maxAttempts,
      runAt: opts.runAt,
      dedupeKey: opts.dedupeKey,
    });
    if (!row) {
      const existing = opts.dedupeKey ? await selectByDedupeKey(db, name, opts.dedupeKey) : undefined;
      if (!existing) throw new Error(`job ${name}: enqueue with dedupeKey raced with a rollback; retry`);
      return { id: existing.id, deduped: true };
    }
    if (!opts.tx) {
      this.changed(row);
      this.wakeAt(opts.runAt);
    }
    return { id: row.id, deduped: false };
  }

  async get(id: string): Promise<JobView | null> {
    if (!uuidPattern.test(id)) return null;
    const row = await selectJob(this.deps.prisma, id);
    return row ? toView(row) : null;
  }

  /**
   * Queued → cancelled at once. Running → its handler's signal is aborted (here at once, on another instance
   * within a heartbeat) and the job ends `cancelled` when the handler gives up (`succeeded` if it still finishes).
   * False when the job does not exist or is already finished.
   */
  async cancel(id: string): Promise<boolean> {
    if (!uuidPattern.test(id)) return false;
    const row = await requestCancel(this.deps.prisma, id);
    if (!row) return false;
    this.changed(row);
    const attempt = this.attempts.get(id);
    if (attempt && row.state === 'running') {
      attempt.cancelRequested = true;
      this.abort(attempt, 'cancelled');
    }
    return true;
  }

  /** Resolves when the job is finished or `timeoutMs` passed, with its latest state; null when it does not exist. */
  async waitFor(id: string, timeoutMs: number): Promise<JobView | null> {
    const deadline = Date.now() + timeoutMs;
    const pollMs = Math.min(this.deps.config.pollMs, 250);
    for (;;) {
      const view = await this.get(id);
      const left = deadline - Date.now();
      if (!view || isTerminal(view.state) || left <= 0) return view;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.changes.off(id, done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(pollMs, left));
        this.changes.on(id, done);
      });
    }
  }

  /** Makes idle claim loops look for jobs now (e.g. after committing a transaction that enqueued some). */
  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  /** Starts claiming, up to `config.concurrency` jobs at once (nothing when 0), and the hourly-ish pruning. */
  start(): void {
    if (this.phase !== 'idle') throw new Error('JobRunner already started');
    this.phase = 'started';
    if (this.deps.config.concurrency === 0) return;
    if (this.kinds.size === 0) this.log.warn('job runner started without job kinds: it will claim nothing');
    this.loop = this.dispatch();
    const prune = () => {
      this.prune().catch((e) => this.log.warn({ err: e }, 'pruning finished jobs failed'));
    };
    prune();
    const timer = setInterval(prune, pruneEveryMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Deletes jobs finished longer than `config.retentionHours` ago; returns how many. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await deleteFinished(this.deps.prisma, this.deps.config.retentionHours, pruneBatch);
      total += n;
      if (n < pruneBatch) return total;
    }
  }

  /**
   * Stops claiming; lets running handlers finish for up to `graceMs`, then aborts their signals (reason
   * `shutdown`) and puts their jobs back in the queue without counting the attempt. Resolves when the claim
   * loop has ended and no handler holds a lease of this runner any more.
   */
  close(opts: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(opts.graceMs ?? 10_000);
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------------------------

  private async shutdown(graceMs: number): Promise<void> {
    this.phase = 'closing';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wake();
    await this.loop;
    const settled = () => Promise.all([...this.attempts.values()].map((a) => a.done));
    if (!(await within(settled(), graceMs))) {
      for (const a of this.attempts.values()) this.abort(a, 'shutdown');
      // Handlers that honour the signal settle themselves (released); give them a moment, then release the rest.
      if (!(await within(settled(), Math.min(1000, graceMs)))) {
        await Promise.all([...this.attempts.values()].map((a) => this.release(a)));
      }
    }
    this.phase = 'closed';
  }

  private async dispatch(): Promise<void> {
    const { concurrency, pollMs } = this.deps.config;
    const kinds = [...this.kinds.keys()];
    const leaseMs = kinds.map((k) => this.kinds.get(k)?.leaseMs ?? this.deps.config.leaseMs);
    while (this.phase === 'started') {
      if (this.attempts.size >= concurrency || kinds.length === 0) {
        await this.sleep(pollMs);
        continue;
      }
      let row: (JobRow & { outcome: ClaimOutcome }) | undefined;
      const token = randomUUID();
      const claimedAt = Date.now();
      try {
        row = await claimJob(this.deps.prisma, { kinds, leaseMs, token, owner: this.deps.instanceId });
      } catch (e) {
        this.log.error({ err: e }, 'claiming a job failed');
        await this.sleep(pollMs);
        continue;
      }
      if (!row) {
        await this.sleep(pollMs);
        continue;
      }
      if (row.outcome !== 'cancel' && this.phase !== 'started') {
        // close() began while this claim was in flight: hand the job straight back.
        await settleJob(this.deps.prisma, row.id, token, {
          state: 'queued',
          refundAttempt: row.outcome !== 'exhausted',
        });
        continue;
      }
      this.changed(row);
      if (row.outcome !== 'cancel') this.begin(row, token, claimedAt);
    }
  }

  /** Waits `ms` or until woken; a wake that came while the loop was busy ends the next sleep at once. */
  private async sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeSleeper = undefined;
    this.woken = false;
  }

  private wakeAt(at: Date | undefined): void {
    const delay = at ? at.getTime() - Date.now() : 0;
    if (delay <= 0) {
      this.wake();
      return;
    }
    if (this.phase !== 'started' && this.phase !== 'idle') return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.wake();
    }, delay + 5);
    timer.unref();
    this.timers.add(timer);
  }

  private begin(row: JobRow & { outcome: ClaimOutcome }, token: string, claimedAt: number): void {
    const kind = this.kinds.get(row.kind);
    if (!kind) return; // cannot happen: the claim only takes defined kinds
    const attempt: Attempt = {
      row,
      kind,
      token,
      controller: new AbortController(),
      cancelRequested: row.cancelRequestedAt !== null,
      released: false,
      stopHeartbeat: () => {},
      done: Promise.resolve(),
    };
    this.attempts.set(row.id, attempt);
    attempt.stopHeartbeat = this.heartbeat(attempt, claimedAt);
    attempt.done = (
      row.outcome === 'exhausted' ? this.bury(attempt, row.lastError ?? 'attempts exhausted') : this.run(attempt)
    )
      .catch((e) => this.log.error({ err: e, jobId: row.id, kind: row.kind }, 'job bookkeeping failed'))
      .finally(() => {
        attempt.stopHeartbeat();
        this.attempts.delete(row.id);
        this.wake();
      });
  }

  private async run(a: Attempt): Promise<void> {
    const { row, kind } = a;
    const ctx: JobContext = {
      jobId: row.id,
      attempt: row.attempts,
      signal: a.controller.signal,
      progress: (p) => this.progress(a, p),
      fenced: (fn) => this.fenced(a, fn),
    };
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await kind.run(row.payload, ctx) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (a.released) return;
    if (outcome.ok) {
      let result: string;
      try {
        result = toJson(outcome.value);
      } catch (e) {
        return this.bury(a, `result is not JSON: ${errorText(e)}`);
      }
      await this.settle(a, { state: 'succeeded', result });
      return;
    }
    const error = outcome.error;
    const text = errorText(error);
    if (a.abortReason === 'shutdown') {
      await this.settle(a, { state: 'queued', refundAttempt: true, error: text });
    } else if (a.cancelRequested || a.abortReason === 'cancelled') {
      await this.settle(a, { state: 'cancelled', error: 'cancelled' });
    } else if (error instanceof PermanentJobError || row.attempts >= row.maxAttempts) {
      this.log.warn({ err: error, jobId: row.id, kind: row.kind, attempt: row.attempts }, 'job failed for good');
      await this.bury(a, text);
    } else {
      const delayMs = backoffMs(row.attempts, kind.backoff ?? this.backoffDefaults());
      this.log.info({ err: error, jobId: row.id, kind: row.kind, attempt: row.attempts, delayMs }, 'job failed; retry');
      if (await this.settle(a, { state: 'queued', error: text, delayMs })) {
        this.wakeAt(new Date(Date.now() + delayMs));
      }
    }
  }

  /** Marks the job dead in one transaction with its kind's onDead hook; without the hook's writes if it throws. */
  private async bury(a: Attempt, error: string): Promise<void> {
    const { row, kind } = a;
    const onDead = kind.onDead;
    if (onDead) {
      try {
        const ended = await this.fenced(a, async (tx) => {
          await onDead(row.payload, error, { jobId: row.id, tx });
          return settleJob(tx, row.id, a.token, { state: 'dead', error });
        });
        if (ended) this.changed(ended);
        return;
      } catch (e) {
        if (e instanceof LeaseLostError) return;
        this.log.error({ err: e, jobId: row.id, kind: row.kind }, 'onDead hook failed; the job is dead without it');
      }
    }
    await this.settle(a, { state: 'dead', error });
  }

  private async settle(a: Attempt, s: Settlement): Promise<boolean> {
    const row = await settleJob(this.deps.prisma, a.row.id, a.token, s);
    if (!row) {
      this.log.warn({ jobId: a.row.id, kind: a.row.kind }, 'job lease lost before it finished; outcome discarded');
      return false;
    }
    this.changed(row);
    return true;
  }

  /** Shutdown of a handler that ignored its signal: the job goes back to the queue (attempt not counted). */
  private async release(a: Attempt): Promise<void> {
    a.released = true;
    a.stopHeartbeat();
    await this.settle(a, { state: 'queued', refundAttempt: true }).catch((e) =>
      this.log.error({ err: e, jobId: a.row.id }, 'releasing a job lease failed; it will expire'),
    );
    this.attempts.delete(a.row.id);
  }

  private async progress(a: Attempt, p: JobProgress): Promise<void> {
    const clean: JobProgress = {};
    if (isCount(p.done)) clean.done = p.done;
    if (isCount(p.total)) clean.total = p.total;
    if (typeof p.message === 'string') clean.message = p.message.slice(0, maxMessageLength);
    const row = await writeProgress(this.deps.prisma, a.row.id, a.token, JSON.stringify(clean));
    if (row) this.changed(row);
    else this.abort(a, 'lease-lost');
  }

  private async fenced<T>(a: Attempt, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const { row, kind } = a;
    return this.deps.prisma.$transaction(
      async (tx) => {
        // Takes the row lock (nobody can reclaim the job until this transaction ends) and renews the lease.
        const held = await extendLease(tx, row.id, a.token, kind.leaseMs);
        if (!held) {
          this.abort(a, 'lease-lost');
          throw new LeaseLostError(row.id);
        }
        return fn(tx);
      },
      { maxWait: kind.leaseMs, timeout: Math.max(5000, kind.leaseMs) },
    );
  }

  /**
   * Renews the lease every leaseMs/3 until stopped; aborts the handler on cancellation, when the lease is gone, and
   * when renewals fail for so long that the lease would expire before the next one: a runner cut off from the
   * database tells its handler to stop before another runner can reclaim the job. `heldSince` is when the request
   * that last secured the lease was sent (the database counts the lease from a moment after that).
   */
  private heartbeat(a: Attempt, heldSince: number): () => void {
    const { row, kind } = a;
    const every = Math.floor(kind.leaseMs / 3);
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let lastHeld = heldSince;
    const beat = async () => {
      const sent = Date.now();
      try {
        const held = await extendLease(this.deps.prisma, row.id, a.token, kind.leaseMs);
        if (stopped) return;
        if (!held) {
          this.abort(a, 'lease-lost');
          return;
        }
        lastHeld = sent;
        if (held.cancelRequested && !a.cancelRequested) {
          a.cancelRequested = true;
          this.abort(a, 'cancelled');
        }
      } catch (e) {
        this.log.warn({ err: e, jobId: row.id }, 'job heartbeat failed');
        if (Date.now() + every - lastHeld >= kind.leaseMs) this.abort(a, 'lease-lost');
      }
      if (!stopped) timer = setTimeout(beat, every);
    };
    timer = setTimeout(beat, every);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  private abort(a: Attempt, reason: JobAbortReason): void {
    if (a.controller.signal.aborted) return;
    a.abortReason = reason;
    a.controller.abort(new JobAbortedError(reason));
  }

  private backoffDefaults() {
    return { baseMs: this.deps.config.backoffBaseMs, maxMs: this.deps.config.backoffMaxMs };
  }

  private changed(row: JobRow): void {
    this.changes.emit(row.id);
    if (!this.deps.onChange) return;
    const last = this.reported.get(row.id);
    if (last !== undefined && row.version <= last) return;
    this.reported.delete(row.id);
    this.reported.set(row.id, row.version);
    if (this.reported.size > maxReported) this.reported.delete(this.reported.keys().next().value as string);
    try {
      this.deps.onChange(toView(row));
    } catch (e) {
      this.log.warn({ err: e, jobId: row.id }, 'job onChange listener threw');
    }
  }
}

/** Delay before retry n (1-based): baseMs * 2^(n-1), capped at maxMs, plus up to 10% jitter. */
export function backoffMs(attempt: number, backoff: { baseMs: number; maxMs: number }): number {
  const delay = Math.min(backoff.baseMs * 2 ** Math.max(0, attempt - 1), backoff.maxMs);
  return Math.round(delay * (1 + Math.random() * 0.1));
}

function toView(row: JobRow): JobView {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    payload: row.payload,
    result: row.result ?? null,
    progress: (row.progress ?? null) as JobProgress | null,
    lastError: row.lastError,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    version: row.version,
    runAt: row.state === 'queued' ? row.dueAt : null,
    leaseExpiresAt: row.state === 'running' ? row.dueAt : null,
    leaseOwner: row.leaseOwner,
    cancelRequested: row.cancelRequestedAt !== null,
    dedupeKey: row.dedupeKey,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function checkAttempts(kind: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`job kind ${kind}: maxAttempts must be 1 to 1000`);
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
