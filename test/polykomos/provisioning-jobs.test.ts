import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomHex } from '../../src/core/auth/secrets.ts';
import { lockName } from '../../src/modules/databases/engines.ts';
import { type TestApp, testDb } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import { exited, spawnUntilReady } from '../kit/jobs.ts';
import {
  createPolykomosKey,
  type PolykomosKey,
  polykomosClient,
  polykomosPostgresUrl,
  startPolykomosApp,
} from '../kit/polykomos.ts';

/*
 * Provisioning on the durable job runner, across processes: the server only enqueues (no job slots); `atrium
 * worker` processes on the same platform database run the jobs. One is killed with SIGKILL in the middle of the
 * provisioning DDL; another finishes the job. Workers are separate processes on one Postgres, so this needs the
 * Postgres pass (PGlite serves one process).
 */
const enabled = testDb === 'postgres' && polykomosPostgresUrl !== '';
if (!enabled) {
  console.warn(
    'Skipping the Polykomos provisioning process test: it needs ATRIUM_TEST_DB=postgres and a Postgres engine server',
  );
}

const mainTs = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const secretKey = randomHex(32);
const leaseMs = 1500;

let t: TestApp;
let contract: ContractExpectations;
let call: ReturnType<typeof polykomosClient>;
let key: PolykomosKey;
let platform: pg.Client;
const children: ChildProcess[] = [];
const dirs: string[] = [];
const created: string[] = [];

beforeAll(async () => {
  if (!enabled) return;
  t = await startPolykomosApp({
    ATRIUM_SECRET_KEY: secretKey,
    ATRIUM_JOBS_CONCURRENCY: '0',
    ATRIUM_INSTANCE_ID: 'server',
  });
  contract = await contractValidator('polykomos');
  call = polykomosClient(t, contract);
  key = await createPolykomosKey(t, ['databases:read', 'databases:write', 'blueprints:read', 'blueprints:write']);
  platform = new pg.Client({ connectionString: t.databaseUrl });
  await platform.connect();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (t) {
    for (const uuid of created) await call('DELETE', `/api/v1/databases/${uuid}`, { key: key.raw }).catch(() => {});
  }
  await platform?.end();
  await t?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** `atrium worker` on the server's platform database and engine server; resolves once it runs. */
async function startWorker(instanceId: string): Promise<ChildProcess> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-worker-'));
  dirs.push(dataDir);
  return spawnUntilReady(
    instanceId,
    [mainTs, 'worker'],
    {
      NODE_ENV: 'test',
      DATABASE_URL: t.databaseUrl,
      ATRIUM_DATA_DIR: dataDir,
      ATRIUM_ADMIN_KEY: t.adminKey,
      ATRIUM_SECRET_KEY: secretKey,
      ATRIUM_DATABASES_POSTGRES_URL: polykomosPostgresUrl,
      ATRIUM_INSTANCE_ID: instanceId,
      ATRIUM_JOBS_CONCURRENCY: '1',
      ATRIUM_JOBS_POLL_MS: '50',
      ATRIUM_JOBS_LEASE_MS: String(leaseMs),
      LOG_LEVEL: 'error',
    },
    'Atrium worker',
    60_000,
    children,
  );
}

interface JobRow {
  id: string;
  state: string;
  attempts: number;
  lease_owner: string | null;
  last_error: string | null;
  progress: { message?: string } | null;
}

async function jobOf(kind: string, dedupeKey: string): Promise<JobRow | undefined> {
  const r = await platform.query<JobRow>(
    `SELECT id::text, state::text, attempts, lease_owner, last_error, progress FROM jobs
      WHERE kind = $1 AND dedupe_key = $2`,
    [kind, dedupeKey],
  );
  return r.rows[0];
}
const provisionJob = (uuid: string) => jobOf('polykomos.provision', `provision:${uuid}`);

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!enabled)('provisioning on the job runner, across processes (Postgres)', () => {
  it('kill -9 of a worker mid-provisioning: another instance finishes the job once, nothing stays provisioning', async () => {
    const r = await call('POST', '/api/v1/databases', { key: key.raw, body: { name: 'crash-me' } });
    expect(r.status).toBe(202);
    const db = r.body.data;
    created.push(db.uuid);
    expect(db.status).toBe('provisioning');
    const queued = await provisionJob(db.uuid);
    expect(queued).toMatchObject({ state: 'queued', attempts: 0 });

    // Hold the engine-side lock of this database: the worker's DDL will wait on it, mid-job.
    const engineAdmin = new pg.Client({ connectionString: polykomosPostgresUrl });
    await engineAdmin.connect();
    try {
      await engineAdmin.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockName(db.db_name)]);

      const a = await startWorker('worker-a');
      const first = await until('worker-a runs the DDL', async () => {
        const j = await provisionJob(db.uuid);
        return j?.state === 'running' && j.progress?.message?.startsWith('creating') ? j : undefined;
      });
      expect(first).toMatchObject({ lease_owner: 'worker-a', attempts: 1 });
      // It is blocked inside the DDL (waiting on the lock), not finished: the database does not exist yet.
      await until('worker-a waits on the lock', async () => {
        const w = await engineAdmin.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
        );
        return w.rows[0].n >= 1;
      });
      expect(await provisionJob(db.uuid)).toMatchObject({ state: 'running', lease_owner: 'worker-a' });

      a.kill('SIGKILL');
      expect(await exited(a)).toEqual({ code: null, signal: 'SIGKILL' });
      const b = await startWorker('worker-b');
      const second = await until('worker-b reclaims the job', async () => {
        const j = await provisionJob(db.uuid);
        return j?.lease_owner === 'worker-b' && j.state === 'running' ? j : undefined;
      });
      expect(second.attempts).toBe(2);
      expect(second.last_error).toMatch(/lease expired/);
      await engineAdmin.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockName(db.db_name)]);

      const done = await until('the job succeeds', async () => {
        const j = await provisionJob(db.uuid);
        return j?.state === 'succeeded' ? j : undefined;
      });
      expect(done).toMatchObject({ attempts: 2, lease_owner: 'worker-b' });

      // The row is active, through the poll URL; its credentials log in.
      const polled = await fetch(new URL(r.body.provisioning.poll_url, t.baseUrl), {
        headers: { authorization: `Bearer ${key.raw}` },
      });
      expect(polled.status).toBe(200);
      expect((await polled.json()).data).toMatchObject({ uuid: db.uuid, status: 'active' });
      const login = new pg.Client({
        host: db.host,
        port: db.port,
        database: db.db_name,
        user: db.db_username,
        password: db.db_password,
      });
      await login.connect();
      expect((await login.query('SELECT current_user AS u')).rows[0].u).toBe(db.db_username);
      await login.end();

      // Nothing completed twice: one created and one provisioned event, one job, no row left provisioning.
      const events = await platform.query<{ type: string; n: number }>(
        `SELECT type, count(*)::int AS n FROM webhook_events WHERE product = 'polykomos' AND payload->>'uuid' = $1 GROUP BY type
          ORDER BY type`,
        [db.uuid],
      );
      expect(events.rows).toEqual([
        { type: 'database.created', n: 1 },
        { type: 'database.provisioned', n: 1 },
      ]);
      const jobs = await platform.query(`SELECT count(*)::int AS n FROM jobs WHERE dedupe_key = $1`, [
        `provision:${db.uuid}`,
      ]);
      expect(jobs.rows[0].n).toBe(1);
      const stuck = await platform.query(
        `SELECT count(*)::int AS n FROM polykomos_databases WHERE status = 'provisioning'`,
      );
      expect(stuck.rows[0].n).toBe(0);
      const running = await platform.query(`SELECT count(*)::int AS n FROM jobs WHERE state = 'running'`);
      expect(running.rows[0].n).toBe(0);

      b.kill('SIGTERM');
      expect((await exited(b)).code).toBe(0);
    } finally {
      await engineAdmin.end();
    }
  }, 120_000);

  it('kill -9 of a worker mid-application: the target rolled back, the rerun applies once (completed)', async () => {
    const c = await startWorker('worker-c');
    const r = await call('POST', '/api/v1/databases?wait=true&timeout=60', {
      key: key.raw,
      body: { name: 'apply-crash' },
    });
    expect(r.status).toBe(201);
    const db = r.body.data;
    created.push(db.uuid);
    const bp = await call('POST', '/api/v1/blueprints', {
      key: key.raw,
      body: {
        name: 'crash-apply',
        sql_content:
          'CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\nSELECT pg_advisory_xact_lock(4242);\nCREATE TABLE b (id int);',
      },
    });
    expect(bp.status).toBe(201);

    // The test holds lock 4242 in the target database: statement 3 waits on it, mid-application.
    const target = new URL(polykomosPostgresUrl);
    target.pathname = `/${db.db_name}`;
    const holder = new pg.Client({ connectionString: target.toString() });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(4242)');
      const applied = await call('POST', `/api/v1/databases/${db.uuid}/blueprint_applications`, {
        key: key.raw,
        body: { blueprint_uuid: bp.body.data.uuid },
      });
      expect(applied.status).toBe(202);
      const id = applied.body.data.id as number;
      const applyJob = () => jobOf('polykomos.applyBlueprint', `apply:${id}`);
      await until('worker-c is at statement 3', async () => {
        const j = await applyJob();
        return j?.state === 'running' && j.progress?.message === 'statement 2 done';
      });
      await until('statement 3 waits on the lock', async () => {
        const w = await holder.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
        );
        return w.rows[0].n >= 1;
      });
      const midway = await call('GET', `/api/v1/blueprint_applications/${id}`, { key: key.raw });
      expect(midway.body.data.status).toBe('running');

      c.kill('SIGKILL');
      await exited(c);
      await holder.query('SELECT pg_advisory_unlock(4242)'); // the dead run's transaction now aborts
      await startWorker('worker-d');
      const done = await until('the application job succeeds', async () => {
        const j = await applyJob();
        return j?.state === 'succeeded' ? j : undefined;
      });
      expect(done).toMatchObject({ lease_owner: 'worker-d' });
      expect(done.attempts).toBeGreaterThanOrEqual(2);

      const final = await call('GET', `/api/v1/blueprint_applications/${id}`, { key: key.raw });
      expect(final.body.data).toMatchObject({
        status: 'completed',
        statements_total: 4,
        statements_succeeded: 4,
        statements_failed: 0,
        error_message: null,
      });
      // Applied once: the insert of the killed run was rolled back with its transaction.
      const rows = await holder.query('SELECT count(*)::int AS n FROM a');
      expect(rows.rows[0].n).toBe(1);
      expect((await holder.query("SELECT to_regclass('public.b') IS NOT NULL AS ok")).rows[0].ok).toBe(true);
      const left = await platform.query(
        `SELECT count(*)::int AS n FROM polykomos_blueprint_applications WHERE status IN ('pending', 'running')`,
      );
      expect(left.rows[0].n).toBe(0);
    } finally {
      await holder.end();
    }
  }, 120_000);
});
