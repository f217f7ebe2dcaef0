import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../../src/core/db.ts';
import {
  type JobContext,
  type JobKind,
  JobRunner,
  type JobView,
  LeaseLostError,
  PermanentJobError,
} from '../../src/core/jobs/runner.ts';
import { testDb } from '../kit/app.ts';
import {
  countRows,
  eventually,
  fastJobs,
  gate,
  type JobsTestDb,
  makeRunner,
  openJobsTestDb,
  silent,
  sleep,
} from '../kit/jobs.ts';

let t: JobsTestDb;
let prisma: PrismaClient;
const runners: JobRunner[] = [];

beforeAll(async () => {
  t = await openJobsTestDb();
  prisma = t.prisma;
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.close({ graceMs: 200 })));
});
afterAll(async () => {
  await t?.close();
});

/** A runner closed after the test. */
function runner(kinds: JobKind<any, any>[], opts: Parameters<typeof makeRunner>[2] = {}) {
  const r = makeRunner(prisma, kinds, opts);
  runners.push(r);
  return r;
}

let seq = 0;
/** A kind name of its own per test, so the runners of one test never claim another test's jobs. */
const uniqueKind = (verb: string) => `test.${verb}${++seq}`;

const writeEffect = (ctx: JobContext, instance: string) =>
  ctx.fenced(
    (tx) => tx.$executeRaw`INSERT INTO job_test_effects (job_id, instance) VALUES (${ctx.jobId}::uuid, ${instance})`,
  );

async function runningJobs(kind: string) {
  const rows = await prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM jobs WHERE kind = ${kind} AND state = 'running'`;
  return rows[0]?.n ?? 0;
}

describe(`job runner on ${testDb}`, () => {
  it('runs a job: succeeded with its result, one attempt, the lease owner recorded, every change reported', async () => {
    const changes: JobView[] = [];
    const kind = uniqueKind('ok');
    const r = runner([{ kind, run: async (p: { n: number }) => ({ doubled: p.n * 2 }) }], {
      instanceId: 'inst-a',
      onChange: (j) => changes.push(j),
    });
    r.start();
    const { id, deduped } = await r.enqueue(kind, { n: 21 });
    expect(deduped).toBe(false);
    const done = await r.waitFor(id, 5000);
    expect(done).toMatchObject({
      id,
      kind,
      state: 'succeeded',
      payload: { n: 21 },
      result: { doubled: 42 },
      attempts: 1,
      leaseOwner: 'inst-a',
      lastError: null,
      runAt: null,
      leaseExpiresAt: null,
    });
    expect(done?.finishedAt).toBeInstanceOf(Date);
    expect(done?.startedAt).toBeInstanceOf(Date);
    expect(done?.version).toBeGreaterThanOrEqual(2); // claimed, finished (and any heartbeat between)
    // In version order. Enqueue and claim answer on different connections on Postgres: when the claim's answer is
    // handled first, the older 'queued' view is dropped rather than reported after 'running'.
    // onChange follows the commit; waitFor, reading on another connection, may see the commit first.
    await eventually(
      async () => changes.some((c) => c.id === id && c.state === 'succeeded'),
      3000,
      'succeeded reported',
    );
    const mine = changes.filter((c) => c.id === id);
    expect(['queued,running,succeeded', 'running,succeeded']).toContain(mine.map((c) => c.state).join());
    const versions = mine.map((c) => c.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(versions.length);
    expect(await runningJobs(kind)).toBe(0);
  });

  it('retries with exponential backoff, then succeeds; last_error is a bounded message without stack or paths', async () => {
    const kind = uniqueKind('flaky');
    const starts: number[] = [];
    const queuedViews: JobView[] = [];
    const r = runner(
      [
        {
          kind,
          backoff: { baseMs: 150, maxMs: 10_000 },
          maxAttempts: 4,
          run: async (_p, ctx) => {
            starts.push(Date.now());
            if (ctx.attempt < 3) {
              const e = new Error(`upstream refused (attempt ${ctx.attempt}) reading /work/secret/app/config.ts:12:3`);
              e.stack = `${e.message}\n    at handler (/work/wt-jobs/src/x.ts:1:1)`;
              throw e;
            }
            return 'ok';
          },
        },
      ],
      { onChange: (j) => j.state === 'queued' && j.attempts > 0 && queuedViews.push(j) },
    );
    r.start();
    const { id } = await r.enqueue(kind, {});
    const done = await r.waitFor(id, 10_000);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 3, maxAttempts: 4, result: 'ok' });
    // Retry n waits base * 2^(n-1): ≥ 150 ms, then ≥ 300 ms.
    expect(starts).toHaveLength(3);
    const [s1 = 0, s2 = 0, s3 = 0] = starts;
    expect(s2 - s1).toBeGreaterThanOrEqual(150);
    expect(s3 - s2).toBeGreaterThanOrEqual(300);
    // While waiting, the job was queued again with a future runAt and the failure recorded.
    expect(queuedViews.map((v) => v.attempts)).toEqual([1, 2]);
    for (const v of queuedViews) {
      expect(v.runAt?.getTime()).toBeGreaterThan(v.updatedAt.getTime() + 100);
      expect(v.leaseOwner).toBeNull();
    }
    expect(queuedViews[1]?.lastError).toBe('upstream refused (attempt 2) reading <path>');
    expect(done?.lastError).toBe('upstream refused (attempt 2) reading <path>');
  });

  it('is dead after maxAttempts; onDead runs once, inside the transaction that marks it dead', async () => {
    const kind = uniqueKind('doomed');
    let runs = 0;
    let deadCalls = 0;
    const r = runner([
      {
        kind,
        maxAttempts: 3,
        run: async () => {
          runs++;
          throw new Error(`boom ${runs}`);
        },
        onDead: async (payload: { tag: string }, error, { jobId, tx }) => {
          deadCalls++;
          expect(payload.tag).toBe('x');
          await tx.$executeRaw`INSERT INTO job_test_dead (job_id, error) VALUES (${jobId}::uuid, ${error})`;
        },
      },
    ]);
    r.start();
    const { id } = await r.enqueue(kind, { tag: 'x' });
    const done = await r.waitFor(id, 10_000);
    expect(done).toMatchObject({ state: 'dead', attempts: 3, lastError: 'boom 3', runAt: null });
    await sleep(200); // nothing runs after dead
    expect(runs).toBe(3);
    expect(deadCalls).toBe(1);
    expect(await countRows(prisma, 'dead', id)).toBe(1);
  });

  it('PermanentJobError: dead at once, no retry, onDead once', async () => {
    const kind = uniqueKind('permanent');
    let runs = 0;
    let deadCalls = 0;
    const r = runner([
      {
        kind,
        maxAttempts: 5,
        run: async () => {
          runs++;
          throw new PermanentJobError('unsupported database type');
        },
        onDead: async () => {
          deadCalls++;
        },
      },
    ]);
    r.start();
    const { id } = await r.enqueue(kind, {});
    expect(await r.waitFor(id, 5000)).toMatchObject({
      state: 'dead',
      attempts: 1,
      lastError: 'unsupported database type',
    });
    await sleep(150);
    expect(runs).toBe(1);
    expect(deadCalls).toBe(1);
  });

  it('an onDead that throws rolls back its own writes and the job is dead anyway', async () => {
    const kind = uniqueKind('deadhookfails');
    const r = runner([
      {
        kind,
        maxAttempts: 1,
        run: async () => {
          throw new Error('no');
        },
        onDead: async (_p, error, { jobId, tx }) => {
          await tx.$executeRaw`INSERT INTO job_test_dead (job_id, error) VALUES (${jobId}::uuid, ${error})`;
          throw new Error('hook broke');
        },
      },
    ]);
    r.start();
    const { id } = await r.enqueue(kind, {});
    expect(await r.waitFor(id, 5000)).toMatchObject({ state: 'dead', lastError: 'no' });
    expect(await countRows(prisma, 'dead', id)).toBe(0);
  });

  it('cancels a queued job at once; it never runs; a second cancel and unknown ids answer false', async () => {
    const kind = uniqueKind('cancelq');
    let runs = 0;
    const r = runner([
      {
        kind,
        run: async () => {
          runs++;
        },
      },
    ]);
    r.start();
    const { id } = await r.enqueue(kind, {}, { runAt: new Date(Date.now() + 300) });
    expect((await r.get(id))?.runAt?.getTime()).toBeGreaterThan(Date.now());
    expect(await r.cancel(id)).toBe(true);
    const view = await r.get(id);
    expect(view).toMatchObject({ state: 'cancelled', cancelRequested: true, attempts: 0, runAt: null });
    expect(view?.finishedAt).toBeInstanceOf(Date);
    await sleep(500); // past its runAt
    expect(runs).toBe(0);
    expect(await r.cancel(id)).toBe(false);
    expect(await r.cancel('00000000-0000-4000-8000-000000000000')).toBe(false);
    expect(await r.cancel('not-a-uuid')).toBe(false);
    expect(await r.get('not-a-uuid')).toBeNull();
  });

  it('cancels a running job: the handler signal is aborted and the job ends cancelled (same runner and another)', async () => {
    const kind = uniqueKind('cancelr');
    const reasons: string[] = [];
    const started: string[] = [];
    const run = async (_p: unknown, ctx: JobContext) => {
      started.push(ctx.jobId);
      await new Promise<void>((_, reject) => {
        ctx.signal.addEventListener('abort', () => {
          reasons.push((ctx.signal.reason as { reason: string }).reason);
          reject(ctx.signal.reason);
        });
      });
    };
    const r = runner([{ kind, run, leaseMs: 600 }]);
    // Another instance (running nothing) cancels through the database: the runner sees it on its next heartbeat.
    const other = runner([{ kind, run }], { instanceId: 'other', config: { concurrency: 0 } });
    r.start();
    const local = await r.enqueue(kind, {});
    const remote = await r.enqueue(kind, {});
    await eventually(async () => started.length === 2, 5000, 'both running');

    expect(await r.cancel(local.id)).toBe(true);
    expect(await r.waitFor(local.id, 1000)).toMatchObject({ state: 'cancelled', lastError: 'cancelled' });

    const asked = Date.now();
    expect(await other.cancel(remote.id)).toBe(true);
    expect((await other.get(remote.id))?.state).toBe('running');
    expect(await other.waitFor(remote.id, 3000)).toMatchObject({ state: 'cancelled', cancelRequested: true });
    // Seen on the runner's next heartbeat (every leaseMs / 3 = 200 ms); generous for a loaded machine.
    expect(Date.now() - asked).toBeLessThan(1500);
    expect(reasons).toEqual(['cancelled', 'cancelled']);
  });

  it('a running job whose handler finishes despite a cancel request is succeeded', async () => {
    const kind = uniqueKind('cancelignored');
    const hold = gate();
    const r = runner([
      {
        kind,
        run: async () => {
          await hold.promise;
          return 'done anyway';
        },
      },
    ]);
    r.start();
    const { id } = await r.enqueue(kind, {});
    await eventually(async () => (await r.get(id))?.state === 'running');
    expect(await r.cancel(id)).toBe(true);
    hold.open();
    expect(await r.waitFor(id, 3000)).toMatchObject({
      state: 'succeeded',
      result: 'done anyway',
      cancelRequested: true,
    });
  });

  it('progress is stored and visible through get() while the job runs', async () => {
    const kind = uniqueKind('progress');
    const hold = gate();
    const r = runner([
      {
        kind,
        run: async (_p, ctx) => {
          await ctx.progress({ done: 1, total: 3, message: 'copying' });
          await hold.promise;
          await ctx.progress({ done: 3, total: 3, message: 'x'.repeat(2000) });
        },
      },
    ]);
    r.start();
    const { id } = await r.enqueue(kind, {});
    const view = await eventually(async () => {
      const v = await r.get(id);
      return v?.progress ? v : undefined;
    });
    expect(view).toMatchObject({ state: 'running', progress: { done: 1, total: 3, message: 'copying' } });
    expect(view.leaseExpiresAt?.getTime()).toBeGreaterThan(Date.now());
    hold.open();
    const done = await r.waitFor(id, 3000);
    expect(done?.state).toBe('succeeded');
    expect(done?.progress).toMatchObject({ done: 3, total: 3 });
    expect(done?.progress?.message).toHaveLength(500);
  });

  it('dedupeKey: the same key of the same kind returns the existing job; other kinds and no key do not', async () => {
    const kind = uniqueKind('dedupe');
    const otherKind = uniqueKind('dedupe');
    const r = runner([
      { kind, run: async () => {} },
      { kind: otherKind, run: async () => {} },
    ]);
    const a = await r.enqueue(kind, { v: 1 }, { dedupeKey: 'db-42' });
    const b = await r.enqueue(kind, { v: 2 }, { dedupeKey: 'db-42' });
    expect(b).toEqual({ id: a.id, deduped: true });
    expect((await r.get(a.id))?.payload).toEqual({ v: 1 });
    const c = await r.enqueue(otherKind, {}, { dedupeKey: 'db-42' });
    expect(c.id).not.toBe(a.id);
    const d = await r.enqueue(kind, {});
    const e = await r.enqueue(kind, {});
    expect(new Set([a.id, d.id, e.id]).size).toBe(3);
    // Also inside a transaction (ON CONFLICT never aborts the caller's transaction).
    const inTx = await prisma.$transaction((tx) => r.enqueue(kind, {}, { tx, dedupeKey: 'db-42' }));
    expect(inTx).toEqual({ id: a.id, deduped: true });
  });

  it('enqueue inside a rolled-back transaction leaves no job; inside a committed one the job runs', async () => {
    const kind = uniqueKind('outbox');
    const r = runner([{ kind, run: async () => 'ran' }]);
    r.start();
    let rolledBack: string | undefined;
    await expect(
      prisma.$transaction(async (tx) => {
        rolledBack = (await r.enqueue(kind, { n: 1 }, { tx })).id;
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    expect(rolledBack).toBeDefined();
    expect(await r.get(rolledBack as string)).toBeNull();
    const committed = await prisma.$transaction((tx) => r.enqueue(kind, { n: 2 }, { tx }));
    r.wake();
    expect(await r.waitFor(committed.id, 3000)).toMatchObject({ state: 'succeeded', result: 'ran' });
    const rows = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM jobs WHERE kind = ${kind}`;
    expect(rows[0]?.n).toBe(1);
  });

  it('reclaims a job whose lease expired; the old holder can neither write fenced nor finish it', async () => {
    const kind = uniqueKind('reclaim');
    const cut = partitionable(prisma);
    const hold = gate();
    const seen: {
      attempt: number;
      startedAt: number;
      abortedAt?: number;
      reason?: string;
      fencedError?: unknown;
      finished?: boolean;
    }[] = [];
    const def = (instance: string): JobKind => ({
      kind,
      leaseMs: 1500, // A aborts ~1000 ms after its claim, ~500 ms before B can take the job
      run: async (_p, ctx) => {
        const me: (typeof seen)[number] = { attempt: ctx.attempt, startedAt: Date.now() };
        seen.push(me);
        ctx.signal.addEventListener('abort', () => {
          me.abortedAt = Date.now();
        });
        if (instance === 'a') {
          cut.partitioned = true; // runner A loses the database: no more heartbeats
          await hold.promise; // … and its handler hangs on until the test lets it go
          me.reason = (ctx.signal.reason as { reason?: string } | undefined)?.reason;
          cut.partitioned = false;
          try {
            await writeEffect(ctx, instance);
          } catch (e) {
            me.fencedError = e;
          }
          me.finished = true;
          return { by: instance };
        }
        await writeEffect(ctx, instance);
        return { by: instance };
      },
    });
    const a = new JobRunner({ prisma: cut.client, logger: silent, instanceId: 'a', config: fastJobs });
    runners.push(a);
    a.define(def('a'));
    a.start();
    const { id } = await a.enqueue(kind, {});
    await eventually(async () => seen.length === 1, 5000, 'A running');

    const b = runner([def('b')], { instanceId: 'b' });
    b.start();
    const done = await b.waitFor(id, 5000);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, leaseOwner: 'b', result: { by: 'b' } });
    expect(done?.lastError).toMatch(/lease expired/);

    hold.open(); // A's handler now tries to write and finish
    const first = seen[0] ?? { attempt: 0, startedAt: 0 };
    await eventually(async () => first.finished === true, 5000, 'A done');
    expect(first.reason).toBe('lease-lost');
    expect(first.fencedError).toBeInstanceOf(LeaseLostError);
    await sleep(100);
    expect(await b.get(id)).toMatchObject({ state: 'succeeded', leaseOwner: 'b', result: { by: 'b' } });
    expect(await countRows(prisma, 'effects', id)).toBe(1);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2]);
    // Cut off from the database, A stopped its handler before the lease could expire and B start the job.
    expect(first.abortedAt).toBeLessThan(seen[1]?.startedAt ?? 0);
  });

  it('a lost lease on the last attempt makes the job dead, with onDead, without running it again', async () => {
    const kind = uniqueKind('lastlease');
    const cut = partitionable(prisma);
    let runs = 0;
    const deadErrors: string[] = [];
    const def: JobKind = {
      kind,
      leaseMs: 600,
      maxAttempts: 1,
      run: async () => {
        runs++;
        cut.partitioned = true;
        await new Promise(() => {});
      },
      onDead: async (_p, error) => {
        deadErrors.push(error);
      },
    };
    const a = new JobRunner({ prisma: cut.client, logger: silent, instanceId: 'a', config: fastJobs });
    a.define(def);
    a.start();
    const { id } = await a.enqueue(kind, {});
    await eventually(async () => runs === 1, 5000, 'A running');
    const b = runner([def], { instanceId: 'b' });
    b.start();
    expect(await b.waitFor(id, 5000)).toMatchObject({ state: 'dead', attempts: 1, lastError: /lease expired/ });
    expect(runs).toBe(1);
    expect(deadErrors).toEqual([expect.stringMatching(/lease expired/)]);
    cut.partitioned = false;
    await a.close({ graceMs: 50 });
    expect((await b.get(id))?.state).toBe('dead');
  });

  it('several runners share the queue: every job completes exactly once, within each runner’s concurrency', async () => {
    const kind = uniqueKind('many');
    let active = 0;
    let peak = 0;
    const byRunner = new Map<string, number>();
    const def = (instance: string): JobKind => ({
      kind,
      run: async (_p, ctx) => {
        active++;
        peak = Math.max(peak, active);
        await sleep(5);
        await writeEffect(ctx, instance);
        byRunner.set(instance, (byRunner.get(instance) ?? 0) + 1);
        active--;
      },
    });
    const rs = ['r1', 'r2', 'r3'].map((i) => runner([def(i)], { instanceId: i, config: { concurrency: 2 } }));
    const [r1, r2] = rs as [JobRunner, JobRunner, JobRunner];
    const ids: string[] = [];
    for (let n = 0; n < 30; n++) ids.push((await r1.enqueue(kind, { n })).id);
    for (const r of rs) r.start();
    for (const id of ids) expect((await r2.waitFor(id, 20_000))?.state).toBe('succeeded');
    const rows = await prisma.$queryRaw<{ n: number; attempts: number }[]>`
      SELECT count(*)::int AS n, max(attempts)::int AS attempts FROM jobs WHERE kind = ${kind}`;
    expect(rows[0]).toEqual({ n: 30, attempts: 1 });
    const effects = await prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM job_test_effects WHERE job_id = ANY(${ids}::uuid[])`;
    expect(effects[0]?.n).toBe(30);
    expect([...byRunner.values()].reduce((x, y) => x + y, 0)).toBe(30);
    expect(peak).toBeLessThanOrEqual(6);
    expect(await runningJobs(kind)).toBe(0);
  });

  it('claims only kinds it defines, and a runner with concurrency 0 runs nothing', async () => {
    const mine = uniqueKind('mine');
    const foreign = uniqueKind('foreign');
    const producer = runner([{ kind: foreign, run: async () => {} }], { config: { concurrency: 0 } });
    producer.start();
    const consumer = runner([{ kind: mine, run: async () => {} }]);
    consumer.start();
    const f = await producer.enqueue(foreign, {});
    const m = await consumer.enqueue(mine, {});
    expect((await consumer.waitFor(m.id, 3000))?.state).toBe('succeeded');
    await sleep(150);
    expect(await producer.get(f.id)).toMatchObject({ state: 'queued', attempts: 0 });
  });

  it('close() puts running jobs back in the queue without counting the attempt, even when handlers hang', async () => {
    const kind = uniqueKind('shutdown');
    const started: string[] = [];
    const r = makeRunner(prisma, [
      {
        kind,
        run: async (p: { polite: boolean }, ctx) => {
          started.push(ctx.jobId);
          if (p.polite) {
            await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
          }
          await new Promise(() => {});
        },
      },
    ]);
    r.start();
    const polite = await r.enqueue(kind, { polite: true });
    const stubborn = await r.enqueue(kind, { polite: false });
    await eventually(async () => started.length === 2, 5000, 'both running');
    const t0 = Date.now();
    await r.close({ graceMs: 100 });
    expect(Date.now() - t0).toBeLessThan(2000);
    for (const id of [polite.id, stubborn.id]) {
      expect(await r.get(id)).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null });
    }
    expect(await runningJobs(kind)).toBe(0);
  });

  it('prunes finished jobs older than the retention, and only those', async () => {
    const kind = uniqueKind('prune');
    const r = runner([{ kind, run: async () => {} }], { config: { retentionHours: 1 } });
    r.start();
    const old = await r.enqueue(kind, {});
    const recent = await r.enqueue(kind, {});
    const queued = await r.enqueue(kind, {}, { runAt: new Date(Date.now() + 3600_000) });
    await r.waitFor(old.id, 3000);
    await r.waitFor(recent.id, 3000);
    await prisma.$executeRaw`UPDATE jobs SET finished_at = now() - interval '2 hours' WHERE id = ${old.id}::uuid`;
    await prisma.$executeRaw`UPDATE jobs SET created_at = now() - interval '2 hours' WHERE id = ${queued.id}::uuid`;
    expect(await r.prune()).toBe(1);
    expect(await r.get(old.id)).toBeNull();
    expect((await r.get(recent.id))?.state).toBe('succeeded');
    expect((await r.get(queued.id))?.state).toBe('queued');
  });

  it('refuses duplicate kinds, malformed names, definitions after start() and unknown kinds', async () => {
    const kind = uniqueKind('defs');
    const r = runner([{ kind, run: async () => {} }]);
    expect(() => r.define({ kind, run: async () => {} })).toThrow(/already defined/);
    expect(() => r.define({ kind: 'NoModule', run: async () => {} })).toThrow(/<module>.<verb>/);
    expect(() => r.define({ kind: uniqueKind('lease'), leaseMs: 10, run: async () => {} })).toThrow(/leaseMs/);
    await expect(r.enqueue('test.nowhere', {})).rejects.toThrow(/unknown job kind/);
    await expect(r.enqueue(kind, {}, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
    r.start();
    expect(() => r.define({ kind: uniqueKind('late'), run: async () => {} })).toThrow(/before start/);
  });
});

/** The same client, except that every query fails while `partitioned` (a runner cut off from the database). */
function partitionable(client: PrismaClient) {
  const state = { partitioned: false, client: client };
  state.client = new Proxy(client, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.partitioned && typeof key === 'string' && key.startsWith('$')) {
          return Promise.reject(new Error('network partition (test)'));
        }
        return value.apply(target, args);
      };
    },
  });
  return state;
}
