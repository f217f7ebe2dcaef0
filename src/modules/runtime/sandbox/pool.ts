import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../core/logger.ts';

/** How a run ended inside (or because of) its worker. */
export interface RunOutcome {
  status: 'completed' | 'failed' | 'timed_out' | 'cancelled';
  result: string | null;
  error: string | null;
  /** The mounted tree after a completed run that changed it (path → bytes); null otherwise. */
  fsTree?: Map<string, Uint8Array> | null;
  /** Serialised data globals of a completed run that asked for a heap snapshot; null otherwise. */
  heapOut?: Uint8Array | null;
}

export interface RunRequest {
  runId: string;
  code: string;
  memoryMb: number;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Files of a mounted snapshot (path → bytes), exposed copy-on-write as `fs` inside the sandbox. */
  fsFiles?: Map<string, Uint8Array>;
  /** Capture a heap snapshot after the run, restoring `restore` (serialised globals) before it. */
  heap?: { restore: Uint8Array | null };
  /** Console output, whole lines, in order. */
  onOutput(text: string): void;
}

export interface SandboxPoolOptions {
  size: number;
  logger: Logger;
  /** Extra time after `timeoutMs` before the pool kills a worker that did not stop the run itself. */
  killGraceMs?: number;
  /** isolated-vm packages the workers try, in order (default: `isolated-vm`; tests name others). */
  ivmPackages?: readonly string[];
}

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  run: ActiveRun | undefined;
  dead: boolean;
  wasReady: boolean;
  /** When the slot last became free (performance.now()). */
  idleSince: number;
}

interface QueuedRun {
  request: RunRequest;
  resolve(outcome: RunOutcome): void;
  /** performance.now() by which the run must have ended (submit + its timeout). */
  deadline: number;
  /** Ends the run `timed_out` if it is still queued at its deadline. */
  timer?: NodeJS.Timeout;
}

interface ActiveRun {
  request: RunRequest;
  /** What is left of the run's timeout when it reached a worker. */
  timeoutMs: number;
  resolve(outcome: RunOutcome): void;
  /** Outcome to report if the worker has to be killed (hard timeout, cancel that was not honoured). */
  killOutcome: RunOutcome | undefined;
  hardTimer: NodeJS.Timeout;
}

const workerEntry = fileURLToPath(new URL('./worker.mjs', import.meta.url));

/**
 * A fixed-size pool of sandbox worker processes, one run per worker at a time, runs beyond the pool size wait in
 * FIFO order. A worker that dies (isolate crash, V8 fatal OOM, kill) fails its run and is replaced; the server
 * process never evaluates untrusted code. Workers are forked with an empty environment, no argv, `--no-node-snapshot`
 * (isolated-vm needs it on Node ≥ 20) and stdout ignored; stderr is logged.
 */
export class SandboxPool {
  private readonly slots: Slot[] = [];
  private readonly queue: QueuedRun[] = [];
  private closed = false;
  private readonly killGraceMs: number;
  /** isolated-vm version the workers loaded (reported by the first worker). */
  ivmVersion: string | undefined;
  /** Why no worker can run anything here (no loadable isolated-vm); runs then fail at once with this reason. */
  unavailable: string | undefined;
  private versionWaiters: Array<(v: string | undefined) => void> = [];

  constructor(private readonly options: SandboxPoolOptions) {
    this.killGraceMs = options.killGraceMs ?? 2_000;
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn());
  }

  /** Resolves once a worker reported which isolated-vm it loaded (undefined if none could start). */
  async version(): Promise<string | undefined> {
    if (this.ivmVersion !== undefined) return this.ivmVersion;
    // Known to have none: answer now rather than wait for a report that will not come.
    if (this.unavailable !== undefined) return undefined;
    return new Promise((resolve) => {
      this.versionWaiters.push(resolve);
      setTimeout(() => resolve(this.ivmVersion), 10_000).unref();
    });
  }

  /** Pids of the live workers (tests, metrics). */
  pids(): number[] {
    return this.slots.flatMap((s) => (s.dead || s.child.pid === undefined ? [] : [s.child.pid]));
  }

  /** Workers that would start a run now (none busy, none starting, nothing queued ahead). */
  idleWorkers(): number {
    if (this.queue.length > 0) return 0;
    return this.slots.filter((s) => s.wasReady && !s.dead && !s.run && s.child.connected).length;
  }

  /**
   * Queues a run. Its timeout counts from here: time spent waiting for a worker is part of it, and a run still
   * queued at its deadline ends `timed_out` without starting.
   */
  run(request: RunRequest): Promise<RunOutcome> {
    if (this.closed) return Promise.resolve(failed('Sandbox pool is shut down'));
    if (this.unavailable) return Promise.resolve(failed(unavailableMessage(this.unavailable)));
    return new Promise((resolve) => {
      const entry: QueuedRun = { request, resolve, deadline: performance.now() + request.timeoutMs };
      this.queue.push(entry);
      this.dispatch();
      if (this.queue.includes(entry)) {
        entry.timer = setTimeout(() => {
          const index = this.queue.indexOf(entry);
          if (index < 0) return;
          this.queue.splice(index, 1);
          resolve(timedOut());
        }, request.timeoutMs);
        entry.timer.unref();
      }
    });
  }

  /** Stops a queued or running run. Returns false when the pool does not know the run. */
  cancel(runId: string): boolean {
    const cancelled: RunOutcome = { status: 'cancelled', result: null, error: 'Cancelled by user' };
    const queued = this.queue.findIndex((q) => q.request.runId === runId);
    if (queued >= 0) {
      const [entry] = this.queue.splice(queued, 1);
      if (entry?.timer) clearTimeout(entry.timer);
      entry?.resolve(cancelled);
      return true;
    }
    const slot = this.slots.find((s) => s.run?.request.runId === runId);
    if (!slot?.run) return false;
    slot.run.killOutcome = cancelled;
    slot.child.send({ type: 'cancel', runId });
    // A worker that does not stop the isolate promptly is killed.
    const child = slot.child;
    setTimeout(() => {
      if (slot.run?.request.runId === runId && slot.child === child) child.kill('SIGKILL');
    }, this.killGraceMs).unref();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) {
      if (q.timer) clearTimeout(q.timer);
      q.resolve(failed('Server shutting down'));
    }
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.dead) return resolve();
            if (slot.run) slot.run.killOutcome ??= failed('Server shut down while the execution was running');
            slot.child.once('exit', () => resolve());
            slot.child.kill('SIGKILL');
          }),
      ),
    );
  }

  private spawn(): Slot {
    const child = fork(workerEntry, this.options.ivmPackages ? [this.options.ivmPackages.join(',')] : [], {
      execPath: process.execPath,
      execArgv: ['--no-node-snapshot', '--max-old-space-size=256'],
      // No inherited secrets: the worker gets an empty environment and a neutral working directory.
      env: {},
      cwd: os.tmpdir(),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Structured clone: mounted trees cross as Map<string, Uint8Array>.
      serialization: 'advanced',
    });
    let markReady: () => void = () => {};
    const slot: Slot = {
      child,
      ready: new Promise((r) => (markReady = r)),
      run: undefined,
      dead: false,
      wasReady: false,
      idleSince: performance.now(),
    };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) =>
      this.options.logger.warn({ pid: child.pid, text }, 'sandbox worker stderr'),
    );
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') {
        this.ivmVersion ??= message.ivmVersion;
        for (const w of this.versionWaiters.splice(0)) w(this.ivmVersion);
        slot.wasReady = true;
        markReady();
        this.dispatch();
      } else if (message.type === 'unavailable') {
        if (this.unavailable === undefined)
          this.options.logger.error({ reason: message.reason }, 'JavaScript sandbox unavailable');
        this.unavailable = message.reason;
        if (slot.run) slot.run.killOutcome ??= failed(unavailableMessage(message.reason));
        for (const q of this.queue.splice(0)) {
          if (q.timer) clearTimeout(q.timer);
          q.resolve(failed(unavailableMessage(message.reason)));
        }
        for (const w of this.versionWaiters.splice(0)) w(undefined);
      } else if (message.type === 'output') {
        if (slot.run?.request.runId === message.runId) slot.run.request.onOutput(message.text);
      } else if (message.type === 'done') {
        if (slot.run?.request.runId !== message.runId) return;
        this.finish(slot, {
          status: message.status,
          result: message.result,
          error: message.error,
          fsTree: message.fsTree ?? null,
          heapOut: message.heapOut ?? null,
        });
      }
    });
    child.on('error', (err) => this.options.logger.error({ err, pid: child.pid }, 'sandbox worker error'));
    child.on('exit', (code, signal) => {
      slot.dead = true;
      if (slot.run) {
        const reason = signal ? `signal ${signal}` : `exit code ${code}`;
        this.finish(
          slot,
          slot.run.killOutcome ?? failed(`Sandbox worker died (${reason}); the run was stopped (out of memory?)`),
        );
      }
      if (this.closed || this.unavailable !== undefined) return;
      // A worker that could not even start is retried slowly, not in a tight loop.
      const respawn = () => {
        const index = this.slots.indexOf(slot);
        if (index >= 0 && !this.closed) this.slots[index] = this.spawn();
      };
      if (slot.wasReady) respawn();
      else setTimeout(respawn, 1_000).unref();
    });
    return slot;
  }

  private finish(slot: Slot, outcome: RunOutcome): void {
    const run = slot.run;
    if (!run) return;
    clearTimeout(run.hardTimer);
    slot.run = undefined;
    slot.idleSince = performance.now();
    run.resolve(outcome);
    this.dispatch();
  }

  private dispatch(): void {
    // Longest-idle first: a worker that just finished is still preparing its next isolate.
    const free = this.slots.filter((slot) => !slot.dead && !slot.run && slot.child.connected);
    free.sort((a, b) => a.idleSince - b.idleSince);
    for (const slot of free) {
      // Reserve the slot synchronously so one dispatch pass does not hand it two runs.
      let entry = this.queue.shift();
      let remainingMs = entry ? entry.deadline - performance.now() : 0;
      while (entry && remainingMs < 1) {
        if (entry.timer) clearTimeout(entry.timer);
        entry.resolve(timedOut());
        entry = this.queue.shift();
        remainingMs = entry ? entry.deadline - performance.now() : 0;
      }
      if (!entry) return;
      if (entry.timer) clearTimeout(entry.timer);
      const { request } = entry;
      const timeoutMs = Math.ceil(remainingMs);
      slot.run = {
        request,
        timeoutMs,
        resolve: entry.resolve,
        killOutcome: undefined,
        hardTimer: setTimeout(() => {
          if (slot.run?.request !== request) return;
          slot.run.killOutcome ??= timedOut();
          slot.child.kill('SIGKILL');
        }, timeoutMs + this.killGraceMs),
      };
      void slot.ready.then(() => this.start(slot));
    }
  }

  private start(slot: Slot): void {
    const run = slot.run;
    if (!run || slot.dead) return;
    const { runId, code, memoryMb, maxOutputBytes, fsFiles, heap } = run.request;
    const message = {
      type: 'run',
      runId,
      code,
      memoryMb,
      timeoutMs: run.timeoutMs,
      maxOutputBytes,
      fs: fsFiles ?? null,
      heap,
    };
    slot.child.send(message);
  }
}

const unavailableMessage = (reason: string) => `The JavaScript sandbox is unavailable on this server: ${reason}`;

type WorkerMessage =
  | { type: 'ready'; ivmVersion: string }
  | { type: 'unavailable'; reason: string }
  | { type: 'output'; runId: string; text: string }
  | {
      type: 'done';
      runId: string;
      status: RunOutcome['status'];
      result: string | null;
      error: string | null;
      fsTree?: Map<string, Uint8Array> | null;
      heapOut?: Uint8Array | null;
    };

const timedOut = (): RunOutcome => ({ status: 'timed_out', result: null, error: 'Execution timed out' });

function failed(error: string): RunOutcome {
  return { status: 'failed', result: null, error };
}
