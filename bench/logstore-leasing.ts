// DeepStore leasing throughput: leases/s and completes/s through the REST door (auth, validation, GraphQL,
// service, Prisma) against a baseline of the bare SQL statements of the same transactions run directly with
// `pg`, with 1, 4 and 16 concurrent workers, in the same run on the same PostgreSQL server.
//
//   npx tsx bench/logstore-leasing.ts          # needs PostgreSQL (ATRIUM_TEST_PG_URL, default 127.0.0.1:5432)
//   BENCH_DRAFTS=3000 BENCH_BATCH=10 npx tsx bench/logstore-leasing.ts
//
// Each scenario seeds BENCH_DRAFTS committed drafts, then phase 1 leases them all (maxDrafts = BENCH_BATCH) with
// W workers, phase 2 completes every leased job with W workers. The app runs in this process (load generation
// shares its event loop; the baseline pays no HTTP at all), so the ratios are an upper bound of the overhead.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { randomHex } from '../src/core/auth/secrets.ts';

const adminUrl = process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const draftsPerRun = Number(process.env.BENCH_DRAFTS ?? 2000);
const batch = Number(process.env.BENCH_BATCH ?? 10);
const workerCounts = [1, 4, 16];

const dbName = `atrium_bench_${randomHex(6)}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE "${dbName}"`);
await admin.end();
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const databaseUrl = url.toString();

const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-bench-'));
const adminKey = `bench-admin-${randomHex(24)}`;
const app = await createApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_ADMIN_KEY: adminKey,
    DATABASE_URL: databaseUrl,
  }),
);
const baseUrl = await app.listen(0, '127.0.0.1');
const pool = new pg.Pool({ connectionString: databaseUrl, max: 16 });

async function rest(method: string, p: string, token: string, body?: unknown) {
  const res = await fetch(`${baseUrl}/deepstore${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function newDatabase(): Promise<{ id: string; token: string }> {
  const r = await rest('POST', '/databases', adminKey, { name: 'bench' });
  return { id: r.databaseId as string, token: r.serviceToken as string };
}

async function seed(id: string): Promise<void> {
  await pool.query(
    `INSERT INTO log_drafts (database_id, draft_id, scope, size_bytes, num_docs, start_ts, end_ts, created_at, updated_at)
     SELECT $1, 'd' || lpad(g::text, 6, '0'), 'app', 100, 1, g, g, now() + g * interval '1 microsecond', now()
     FROM generate_series(1, $2::int) g`,
    [id, draftsPerRun],
  );
}

/** Runs `workers` loops of `step` until each returns false; returns operations per second. */
async function run(workers: number, step: () => Promise<boolean>): Promise<{ ops: number; perSecond: number }> {
  let ops = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (await step()) ops++;
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { ops, perSecond: ops / seconds };
}

const completeBody = (jobId: string, draftIds: string[]) => ({
  splitId: `s_${jobId}`,
  sizeBytes: 100 * draftIds.length,
  numDocs: draftIds.length,
  timeRangeStart: 0,
  timeRangeEnd: draftsPerRun,
  footerOffsets: { start: 0, end: 10 },
  indexedDraftIds: draftIds,
});

async function atrium(workers: number) {
  const { id, token } = await newDatabase();
  await seed(id);
  const jobs: { jobId: string; draftIds: string[] }[] = [];
  const lease = await run(workers, async () => {
    const r = await rest('POST', `/databases/${id}/indexing-jobs/lease`, token, { maxDrafts: batch });
    const job = r.job as { jobId: string; draftIds: string[] } | null;
    if (!job) return false;
    jobs.push(job);
    return true;
  });
  const queue = [...jobs];
  const complete = await run(workers, async () => {
    const job = queue.pop();
    if (!job) return false;
    const r = await rest(
      'POST',
      `/databases/${id}/indexing-jobs/${job.jobId}/complete`,
      token,
      completeBody(job.jobId, job.draftIds),
    );
    if (r.success !== true) throw new Error(JSON.stringify(r));
    return true;
  });
  const leased = jobs.reduce((n, j) => n + j.draftIds.length, 0);
  if (leased !== draftsPerRun) throw new Error(`leased ${leased} of ${draftsPerRun}`);
  return { lease, complete };
}

/** The same statements as the service's lease (one statement) and complete transaction (common path), nothing else. */
async function bare(workers: number) {
  const { id } = await newDatabase();
  await seed(id);
  // The service re-checks its caller's token in the lease statement (the door remembers verified tokens).
  const tokenId = (await pool.query<{ id: string }>('SELECT id FROM log_service_tokens WHERE database_id = $1', [id]))
    .rows[0]?.id;
  const jobs: { jobId: string; draftIds: string[] }[] = [];
  const lease = await run(workers, async () => {
    // The service's common lease: one statement, no interactive transaction (logstore.leases.ts,
    // leaseIndexingFast), with the same attempt cap (5) and TTL (15 min) as the app's defaults.
    const jobId = `job_${randomUUID().replaceAll('-', '')}`;
    const r = await pool.query<{ database: boolean; leased: boolean; itemIds: string[] | null }>(
      `WITH db AS (
         SELECT 1 FROM log_databases d
         WHERE d.id = $1 AND EXISTS (
           SELECT 1 FROM log_service_tokens t WHERE t.id = $6::uuid AND t.database_id = d.id AND t.revoked_at IS NULL)
         FOR KEY SHARE OF d),
       expired AS (
         SELECT 1 FROM log_jobs
         WHERE database_id = $1 AND type = 'indexing' AND status = 'active' AND expires_at < now() LIMIT 1),
       first AS (
         SELECT scope FROM log_drafts WHERE database_id = $1 AND status = 'committed'
         ORDER BY created_at, draft_id LIMIT 1 FOR UPDATE SKIP LOCKED),
       picked AS (
         SELECT d.draft_id, d.created_at, d.num_docs, d.size_bytes FROM log_drafts d, first
         WHERE d.database_id = $1 AND d.status = 'committed' AND d.scope = first.scope
         ORDER BY d.created_at, d.draft_id LIMIT $2 FOR UPDATE OF d SKIP LOCKED),
       decision AS (
         SELECT EXISTS (SELECT 1 FROM db) AS database,
                EXISTS (SELECT 1 FROM db) AND NOT EXISTS (SELECT 1 FROM expired)
                  AND ((SELECT count(*) FROM picked) = $2
                       OR NOT EXISTS (
                         SELECT 1 FROM log_drafts
                         WHERE database_id = $1 AND status = 'index_failed' AND attempts < $3
                           AND (next_eligible_at IS NULL OR next_eligible_at <= now()))) AS go),
       ids AS (SELECT array_agg(draft_id ORDER BY created_at, draft_id) AS item_ids FROM picked),
       job AS (
         INSERT INTO log_jobs (id, database_id, type, status, item_ids, leased_by, leased_at, expires_at)
         SELECT $4, $1, 'indexing', 'active', ids.item_ids, 'bench', now(),
                now() + $5::float8 * interval '1 millisecond'
         FROM ids, decision WHERE decision.go AND ids.item_ids IS NOT NULL),
       leased AS (
         UPDATE log_drafts d SET status = 'indexing', job_id = $4, attempts = d.attempts + 1, updated_at = now()
         FROM picked, decision
         WHERE decision.go AND d.database_id = $1 AND d.draft_id = picked.draft_id
         RETURNING d.num_docs, d.size_bytes)
       SELECT decision.database, decision.go AS leased, ids.item_ids AS "itemIds",
              (SELECT sum(num_docs) FROM leased)::bigint AS docs, (SELECT sum(size_bytes) FROM leased)::bigint AS bytes
       FROM decision, ids`,
      [id, batch, 5, jobId, 15 * 60 * 1000, tokenId],
    );
    const row = r.rows[0];
    if (!row?.database || !row.leased) throw new Error('bench: the lease fell off the common path');
    if (!row.itemIds || row.itemIds.length === 0) return false;
    jobs.push({ jobId, draftIds: row.itemIds });
    return true;
  });
  const queue = [...jobs];
  const complete = await run(workers, async () => {
    const job = queue.pop();
    if (!job) return false;
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      // authorize (database and live token), lockJob, owned drafts, then every write in one statement
      // (logstore.completes.ts, completeIndexingJob).
      await c.query(
        `SELECT d.owner_id, ($2::uuid IS NULL OR EXISTS (
           SELECT 1 FROM log_service_tokens t WHERE t.id = $2::uuid AND t.database_id = d.id AND t.revoked_at IS NULL))
         FROM log_databases d WHERE d.id = $1 FOR KEY SHARE OF d`,
        [id, tokenId],
      );
      await c.query(
        `SELECT id, type::text, status::text, item_ids, result_hash FROM log_jobs
         WHERE id = $1 AND database_id = $2 FOR UPDATE`,
        [job.jobId, id],
      );
      await c.query(
        `SELECT draft_id, scope FROM log_drafts WHERE database_id = $1 AND job_id = $2 AND status = 'indexing'
         ORDER BY draft_id FOR UPDATE`,
        [id, job.jobId],
      );
      const body = completeBody(job.jobId, job.draftIds);
      await c.query(
        `WITH split AS (
           INSERT INTO log_splits (database_id, split_id, state, time_range_start, time_range_end, num_docs, size_bytes,
                                   footer_start, footer_end, split_metadata_json, scopes, source_job_id,
                                   replaces_split_ids, published_at, created_at)
           SELECT $1, $2, 'published', 0, $3, $4, $5, 0, 10, NULL, '{app}', $6, '{}', now(), now()
           WHERE true
           ON CONFLICT DO NOTHING RETURNING 1),
         indexed AS (
           UPDATE log_drafts SET status = 'indexed', job_id = NULL, attempts = 0, next_eligible_at = NULL,
                  last_error = NULL, updated_at = now()
           WHERE database_id = $1 AND draft_id = ANY($7::text[]) RETURNING 1),
         failed AS (
           UPDATE log_drafts SET status = 'index_failed', job_id = NULL, last_error = 'reported failed by indexing job',
                  next_eligible_at = now() + LEAST(10000::float8 * power(2::float8, GREATEST(attempts - 1, 0)),
                                                   3600000::float8) * interval '1 millisecond',
                  updated_at = now()
           WHERE database_id = $1 AND draft_id = ANY('{}'::text[]) RETURNING 1),
         released AS (
           UPDATE log_drafts SET status = 'committed', job_id = NULL, updated_at = now()
           WHERE database_id = $1 AND job_id = $6 AND status = 'indexing'
             AND draft_id <> ALL($7::text[]) AND draft_id <> ALL('{}'::text[]) RETURNING 1),
         done AS (
           UPDATE log_jobs SET status = 'completed', completed_at = now(), result_hash = 'x', result = $8::jsonb
           WHERE id = $6 RETURNING 1)
         SELECT (SELECT count(*) FROM split)::int AS inserted`,
        [
          id,
          body.splitId,
          draftsPerRun,
          job.draftIds.length,
          100 * job.draftIds.length,
          job.jobId,
          job.draftIds,
          JSON.stringify(body),
        ],
      );
      await c.query('COMMIT');
      return true;
    } catch (e) {
      await c.query('ROLLBACK');
      throw e;
    } finally {
      c.release();
    }
  });
  return { lease, complete };
}

const fmt = (n: number) => n.toFixed(0).padStart(7);
const rows: string[] = [];
try {
  // Warm-up (JIT, connection pools, plans), not reported.
  await atrium(4);
  await bare(4);
  for (const w of workerCounts) {
    const a = await atrium(w);
    const b = await bare(w);
    rows.push(
      `| ${String(w).padStart(2)} | ${fmt(a.lease.perSecond)} | ${fmt(b.lease.perSecond)} | ${(a.lease.perSecond / b.lease.perSecond).toFixed(2)} | ${fmt(a.complete.perSecond)} | ${fmt(b.complete.perSecond)} | ${(a.complete.perSecond / b.complete.perSecond).toFixed(2)} |`,
    );
  }
  console.log(`DeepStore leasing, ${draftsPerRun} drafts per run, maxDrafts ${batch}, PostgreSQL`);
  console.log(
    '| workers | Atrium leases/s | bare SQL leases/s | ratio | Atrium completes/s | bare SQL completes/s | ratio |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  await pool.end();
  await app.close();
  await rm(dataDir, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await c.end();
}
