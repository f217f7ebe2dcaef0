import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRunner } from '../../src/core/jobs/runner.ts';
import { testDb } from '../kit/app.ts';
import {
  countRows,
  eventually,
  exited,
  type JobsTestDb,
  makeRunner,
  openJobsTestDb,
  silent,
  sleep,
  spawnUntilReady,
} from '../kit/jobs.ts';
import { jobKinds } from './fixtures/job-kinds.ts';

/*
 * Runners in separate processes sharing one Postgres database: a worker killed with SIGKILL mid-job, and several
 * workers draining one queue. PGlite is one process by design, so these need the Postgres pass.
 */
const enabled = testDb === 'postgres';
if (!enabled) {
  console.warn('Skipping job runner process tests: they need ATRIUM_TEST_DB=postgres (PGlite serves one process)');
}

const standalone = fileURLToPath(new URL('../../src/core/jobs/standalone.ts', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/job-kinds.ts', import.meta.url));

let t: JobsTestDb;
const children: ChildProcess[] = [];
const runners: JobRunner[] = [];

beforeAll(async () => {
  if (enabled) t = await openJobsTestDb();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(runners.map((r) => r.close({ graceMs: 100 })));
  await t?.close();
});

/** Starts `src/core/jobs/standalone.ts` with the fixture kinds; resolves once it claims. */
async function startWorker(instanceId: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = await spawnUntilReady(
    instanceId,
    [standalone, fixture],
    {
      DATABASE_URL: t.url,
      ATRIUM_INSTANCE_ID: instanceId,
      ATRIUM_JOBS_POLL_MS: '20',
      ATRIUM_JOBS_CONCURRENCY: '1',
      LOG_LEVEL: 'error',
      ...env,
    },
    'jobs runner ready',
    30_000,
    children,
  );
  return child;
}

/** A runner in this process with the same kinds as the workers. */
async function localRunner(instanceId: string, concurrency: number) {
  const kinds = await jobKinds({ prisma: t.prisma, logger: silent, instanceId });
  const r = makeRunner(t.prisma, kinds, { instanceId, config: { concurrency, pollMs: 20 } });
  runners.push(r);
  return r;
}

describe.skipIf(!enabled)('job runners in several processes (Postgres)', () => {
  it('a worker killed with SIGKILL mid-job: its lease expires, another runner reclaims and finishes the job once', async () => {
    const worker = await startWorker('worker-a');
    const local = await localRunner('in-test', 1);
    const { id } = await local.enqueue('test.block', { blockOn: 'worker-a' });
    await eventually(async () => (await countRows(t.prisma, 'starts', id)) === 1, 10_000, 'worker-a started the job');

    // While worker-a heartbeats, a live runner next to it never takes the job (2 lease lengths).
    local.start();
    await sleep(2400);
    const held = await local.get(id);
    expect(held).toMatchObject({ state: 'running', leaseOwner: 'worker-a', attempts: 1 });
    expect(held?.leaseExpiresAt?.getTime()).toBeGreaterThan(Date.now() - 100);
    expect(await countRows(t.prisma, 'starts', id)).toBe(1);

    const killedAt = Date.now();
    worker.kill('SIGKILL');
    expect(await exited(worker)).toEqual({ code: null, signal: 'SIGKILL' });

    const done = await local.waitFor(id, 10_000);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, leaseOwner: 'in-test', result: { by: 'in-test' } });
    expect(done?.lastError).toMatch(/lease expired/);
    // Reclaimed once the lease (1200 ms, renewed every 400 ms) ran out, not before the kill.
    const reclaimedAfter = (done?.startedAt?.getTime() ?? 0) - killedAt;
    expect(reclaimedAfter).toBeGreaterThanOrEqual(-50);
    expect(reclaimedAfter).toBeLessThan(4000);

    const starts = await t.prisma.$queryRaw<{ attempt: number; instance: string }[]>`
      SELECT attempt, instance FROM job_test_starts WHERE job_id = ${id}::uuid ORDER BY attempt`;
    expect(starts).toEqual([
      { attempt: 1, instance: 'worker-a' },
      { attempt: 2, instance: 'in-test' },
    ]);
    const effects = await t.prisma.$queryRaw<{ instance: string }[]>`
      SELECT instance FROM job_test_effects WHERE job_id = ${id}::uuid`;
    expect(effects).toEqual([{ instance: 'in-test' }]);
    const running = await t.prisma.$queryRaw<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM jobs WHERE state = 'running'`;
    expect(running[0]?.n).toBe(0);
    await local.close(); // the next test's jobs are for the workers alone
  }, 60_000);

  it('three worker processes drain one queue: each of 60 jobs completes exactly once, on its claimer', async () => {
    const names = ['w1', 'w2', 'w3'];
    const workers = await Promise.all(names.map((n) => startWorker(n, { ATRIUM_JOBS_CONCURRENCY: '2' })));
    const producer = await localRunner('producer', 0);
    const ids: string[] = [];
    for (let n = 0; n < 60; n++) ids.push((await producer.enqueue('test.work', { ms: 15 })).id);
    await eventually(
      async () => {
        const rows = await t.prisma.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM jobs WHERE id = ANY(${ids}::uuid[]) AND state = 'succeeded'`;
        return rows[0]?.n === 60;
      },
      30_000,
      'all 60 jobs succeeded',
    );
    const jobs = await t.prisma.$queryRaw<{ id: string; attempts: number; owner: string; effectBy: string | null }[]>`
      SELECT j.id::text AS id, j.attempts, j.lease_owner AS owner, e.instance AS "effectBy"
      FROM jobs j LEFT JOIN job_test_effects e ON e.job_id = j.id WHERE j.id = ANY(${ids}::uuid[])`;
    expect(jobs).toHaveLength(60);
    for (const j of jobs) {
      expect(j.attempts).toBe(1);
      expect(names).toContain(j.owner);
      expect(j.effectBy).toBe(j.owner);
    }
    const starts = await t.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM job_test_starts WHERE job_id = ANY(${ids}::uuid[])`;
    expect(starts[0]?.n).toBe(60);
    expect(new Set(jobs.map((j) => j.owner)).size).toBeGreaterThanOrEqual(2);

    // SIGTERM: each worker closes its runner and exits 0.
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) expect(await exited(w)).toEqual({ code: 0, signal: null });
  }, 90_000);
});
