import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAdminUrl, startTestApp, type TestApp, testDb } from '../kit/app.ts';
import { deepstoreClient, issueJwt } from '../kit/deepstore.ts';
import { reachable } from '../kit/reachable.ts';

/*
 * 16 workers lease and complete 10,000 drafts through REST on a real PostgreSQL server (FOR UPDATE SKIP LOCKED),
 * while a 17th worker dies holding a lease whose drafts must be reclaimed after the TTL.
 * Runs when PostgreSQL answers (always with ATRIUM_TEST_DB=postgres); CI sets ATRIUM_REQUIRE_SERVICES=1 so it
 * cannot skip there.
 */
const required = process.env.ATRIUM_REQUIRE_SERVICES === '1';
const pgUp = testDb === 'postgres' || (await reachable(postgresAdminUrl));
if (!pgUp && required) throw new Error('PostgreSQL is not reachable but ATRIUM_REQUIRE_SERVICES=1');

const drafts = 10_000;
const workers = 16;
// Leases of 40: 250 lease/complete pairs keep the run to seconds on a loaded 2-core machine.
const batch = 40;
const ttlMs = 3000;

let t: TestApp;
let dropDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  if (!pgUp) return;
  const env = { ATRIUM_LOGSTORE_INDEXING_LEASE_MS: String(ttlMs) };
  if (testDb === 'postgres') t = await startTestApp(env);
  else {
    const db = await createTestDatabase();
    dropDatabase = db.drop;
    t = await startTestApp({ ...env, DATABASE_URL: db.url });
  }
}, 60_000);
afterAll(async () => {
  await t?.close();
  await dropDatabase?.();
});

describe.skipIf(!pgUp)('DeepStore leasing on PostgreSQL (skipped: PostgreSQL not reachable)', () => {
  it(`${workers} workers index ${drafts} drafts exactly once; a dead worker's lease is reclaimed`, async () => {
    const ds = deepstoreClient(t);
    const platform = await issueJwt(t, 'alice', 'platform');
    const created = await ds.call('POST', '/databases', { token: platform, body: { name: 'load' } });
    const id: string = created.body.databaseId;
    const svc: string = created.body.serviceToken;
    // Seeding 10,000 commits is not what this test measures: one INSERT, then a few commits through REST.
    await t.app.services.prisma.$executeRaw`
      INSERT INTO log_drafts (database_id, draft_id, scope, size_bytes, num_docs, start_ts, end_ts, created_at, updated_at)
      SELECT ${id}, 'd' || lpad(g::text, 5, '0'), 'app', 100, 1, g, g, now() + g * interval '1 microsecond', now()
      FROM generate_series(1, ${drafts - 10}) g`;
    for (let g = drafts - 9; g <= drafts; g++) {
      const r = await ds.call('POST', `/databases/${id}/commit-draft`, {
        token: svc,
        body: {
          draftId: `d${String(g).padStart(5, '0')}`,
          sizeBytes: 100,
          numDocs: 1,
          startTimestamp: g,
          endTimestamp: g,
          scope: 'app',
        },
      });
      expect(r.status).toBe(200);
    }

    // The dying worker leases first and never completes.
    const dead = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 10 } });
    const deadIds: string[] = dead.body.job.draftIds;
    const deadAt = Date.now();
    expect(deadIds).toHaveLength(10);

    const leases: { worker: number; jobId: string; draftIds: string[]; at: number }[] = [];
    const indexedBy = new Map<string, string>();
    const problems: string[] = [];
    let nextSplit = 0;
    const deadline = Date.now() + 45_000;

    const worker = async (w: number) => {
      while (Date.now() < deadline && indexedBy.size < drafts) {
        const l = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, {
          token: svc,
          body: { maxDrafts: batch },
        });
        if (l.status !== 200) {
          problems.push(`lease ${l.status} ${JSON.stringify(l.body)}`);
          return;
        }
        if (!l.body.job) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const job = l.body.job as { jobId: string; draftIds: string[] };
        leases.push({ worker: w, jobId: job.jobId, draftIds: job.draftIds, at: Date.now() });
        const c = await ds.call('POST', `/databases/${id}/indexing-jobs/${job.jobId}/complete`, {
          token: svc,
          body: {
            splitId: `s${nextSplit++}`,
            sizeBytes: 100 * job.draftIds.length,
            numDocs: job.draftIds.length,
            timeRangeStart: 0,
            timeRangeEnd: drafts,
            footerOffsets: { start: 0, end: 10 },
            indexedDraftIds: job.draftIds,
          },
        });
        if (c.status !== 200 || c.body.success !== true) {
          problems.push(`complete ${c.status} ${JSON.stringify(c.body)}`);
          continue;
        }
        for (const d of job.draftIds) {
          if (indexedBy.has(d)) problems.push(`draft ${d} indexed twice`);
          indexedBy.set(d, job.jobId);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));

    expect(problems).toEqual([]);
    // Zero double leases among the live workers; every draft leased and indexed exactly once.
    const leased = leases.flatMap((l) => l.draftIds);
    expect(new Set(leased).size).toBe(leased.length);
    expect(leased).toHaveLength(drafts);
    expect(indexedBy.size).toBe(drafts);
    // The dead worker's drafts were re-leased only after its TTL.
    const reclaimed = leases.filter((l) => l.draftIds.some((d) => deadIds.includes(d)));
    expect(reclaimed.length).toBeGreaterThan(0);
    for (const l of reclaimed) expect(l.at - deadAt).toBeGreaterThanOrEqual(ttlMs - 100);
    expect(new Set(reclaimed.flatMap((l) => l.draftIds.filter((d) => deadIds.includes(d))))).toEqual(new Set(deadIds));
    expect(new Set(leases.map((l) => l.worker)).size).toBeGreaterThan(1);

    // The database agrees: all indexed, one published split per completed job, docs counted once.
    const p = t.app.services.prisma;
    expect(await p.logDraft.count({ where: { databaseId: id, status: 'indexed' } })).toBe(drafts);
    const splits = await p.logSplit.aggregate({
      where: { databaseId: id, state: 'published' },
      _count: true,
      _sum: { numDocs: true },
    });
    expect(splits._count).toBe(leases.length);
    expect(Number(splits._sum.numDocs)).toBe(drafts);
    const deadJob = await p.logJob.findUniqueOrThrow({ where: { id: dead.body.job.jobId } });
    expect(deadJob.status).toBe('expired');
    // The dead worker wakes up: its complete is fenced.
    const late = await ds.call('POST', `/databases/${id}/indexing-jobs/${deadJob.id}/complete`, {
      token: svc,
      body: {
        splitId: 'zombie',
        sizeBytes: 10,
        numDocs: 10,
        timeRangeStart: 0,
        timeRangeEnd: 1,
        footerOffsets: { start: 0, end: 10 },
        indexedDraftIds: deadIds,
      },
    });
    expect(late.status).toBe(409);
  }, 60_000);
});
