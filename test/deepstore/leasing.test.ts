import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { deepstoreClient, draftBody, issueJwt } from '../kit/deepstore.ts';

const ttlMs = 1000;
const backoffMs = 400;
let t: TestApp;
let ds: ReturnType<typeof deepstoreClient>;
let platform: string;
const contract = await contractValidator('deepstore');

beforeAll(async () => {
  t = await startTestApp({
    ATRIUM_LOGSTORE_INDEXING_LEASE_MS: String(ttlMs),
    ATRIUM_LOGSTORE_CLEANUP_LEASE_MS: String(ttlMs),
    ATRIUM_LOGSTORE_MERGE_LEASE_MS: String(ttlMs),
    ATRIUM_LOGSTORE_SPLIT_CLEANUP_LEASE_MS: String(ttlMs),
    ATRIUM_LOGSTORE_RETRY_BACKOFF_MS: String(backoffMs),
    ATRIUM_LOGSTORE_MAX_ATTEMPTS: '3',
    ATRIUM_LOGSTORE_SPLIT_DELETION_GRACE_MS: '0',
  });
  ds = deepstoreClient(t, contract);
  platform = await issueJwt(t, 'alice', 'platform');
});
afterAll(async () => {
  await t?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newDatabase(drafts: number, scope = 'app') {
  const c = await ds.call('POST', '/databases', { token: platform, body: { name: 'lease' } });
  const id: string = c.body.databaseId;
  const svc: string = c.body.serviceToken;
  for (let i = 0; i < drafts; i++) {
    const r = await ds.call('POST', `/databases/${id}/commit-draft`, {
      token: svc,
      body: draftBody(`d${String(i).padStart(3, '0')}`, i, i, scope),
    });
    expect(r.status).toBe(200);
  }
  return { id, svc };
}

const splitBody = (splitId: string, indexedDraftIds: string[], failedDraftIds: string[] = []) => ({
  splitId,
  sizeBytes: 10,
  numDocs: Math.max(indexedDraftIds.length, 1),
  timeRangeStart: 0,
  timeRangeEnd: 1000,
  footerOffsets: { start: 0, end: 10 },
  indexedDraftIds,
  failedDraftIds,
});

describe('DeepStore leasing under failure', () => {
  it('reclaims an expired lease; the late complete of the old job is fenced off', async () => {
    const { id, svc } = await newDatabase(2);
    const a = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
    expect(a.body.job.draftIds).toEqual(['d000', 'd001']);
    // Still leased: nothing else to lease.
    expect((await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc })).body).toEqual({ job: null });
    await sleep(ttlMs + 150);
    const b = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
    expect(b.body.job.draftIds).toEqual(['d000', 'd001']);
    const late = await ds.call('POST', `/databases/${id}/indexing-jobs/${a.body.job.jobId}/complete`, {
      token: svc,
      body: splitBody('late', ['d000', 'd001']),
    });
    expect(late.status).toBe(409);
    expect(late.body.errors[0]).toMatch(/re-leased/);
    const ok = await ds.call('POST', `/databases/${id}/indexing-jobs/${b.body.job.jobId}/complete`, {
      token: svc,
      body: splitBody('fresh', ['d000', 'd001']),
    });
    expect(ok.body).toEqual({ success: true });
    const splits = await ds.call('GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=9`, { token: svc });
    expect(splits.body.splits.map((s: { splitId: string }) => s.splitId)).toEqual(['fresh']);
    const jobs = await t.app.services.prisma.logJob.findMany({
      where: { databaseId: id },
      orderBy: { leasedAt: 'asc' },
    });
    expect(jobs.map((j) => j.status)).toEqual(['expired', 'completed']);
  });

  it('accepts a late complete when nobody re-leased the items (fencing by ownership)', async () => {
    const { id, svc } = await newDatabase(1);
    const a = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
    await sleep(ttlMs + 150);
    const late = await ds.call('POST', `/databases/${id}/indexing-jobs/${a.body.job.jobId}/complete`, {
      token: svc,
      body: splitBody('s', ['d000']),
    });
    expect(late.body).toEqual({ success: true });
  });

  it('answers a repeated complete idempotently, a different one with 409, concurrent repeats once', async () => {
    const { id, svc } = await newDatabase(2);
    const a = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
    const url = `/databases/${id}/indexing-jobs/${a.body.job.jobId}/complete`;
    const body = splitBody('s', ['d001', 'd000']);
    const results = await Promise.all([1, 2, 3, 4].map(() => ds.call('POST', url, { token: svc, body })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // Same content, ids in another order: still the same result.
    expect((await ds.call('POST', url, { token: svc, body: splitBody('s', ['d000', 'd001']) })).status).toBe(200);
    const different = await ds.call('POST', url, { token: svc, body: splitBody('s2', ['d000', 'd001']) });
    expect(different.status).toBe(409);
    expect(await t.app.services.prisma.logSplit.count({ where: { databaseId: id } })).toBe(1);
  });

  it('retries failed drafts with exponential backoff up to the attempt cap', async () => {
    const { id, svc } = await newDatabase(1);
    const fail = async (expectedAttempt: number) => {
      const l = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
      expect(l.body.job?.draftIds, `attempt ${expectedAttempt}`).toEqual(['d000']);
      const r = await ds.call('POST', `/databases/${id}/indexing-jobs/${l.body.job.jobId}/complete`, {
        token: svc,
        body: splitBody(`x${expectedAttempt}`, [], ['d000']),
      });
      expect(r.body).toEqual({ success: true });
      const d = await t.app.services.prisma.logDraft.findFirstOrThrow({ where: { databaseId: id } });
      expect(d).toMatchObject({ status: 'index_failed', attempts: expectedAttempt });
      return d;
    };
    let d = await fail(1);
    // Backoff 400 ms after the first failure: not eligible yet.
    expect((await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc })).body).toEqual({ job: null });
    await sleep(backoffMs + 100);
    d = await fail(2);
    // Second failure backs off twice as long.
    const wait = (d.nextEligibleAt?.getTime() ?? 0) - d.updatedAt.getTime();
    expect(wait).toBeGreaterThanOrEqual(2 * backoffMs - 50);
    await sleep(2 * backoffMs + 100);
    await fail(3);
    // Cap reached (3 attempts): never leased automatically again.
    await sleep(4 * backoffMs + 100);
    expect((await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc })).body).toEqual({ job: null });
    // A failure-only complete creates no split.
    expect(await t.app.services.prisma.logSplit.count({ where: { databaseId: id } })).toBe(0);
    // The owner resets it through GraphQL; a service token may not.
    const reset = `mutation($id: String!) { resetLogRetries(databaseId: $id, draftIds: ["d000"]) {
      __typename ... on MutationResetLogRetriesSuccess { data { drafts splits } } ... on Error { code } } }`;
    expect((await gql(t.baseUrl, reset, { id }, svc)).body.data.resetLogRetries.code).toBe('FORBIDDEN');
    expect((await gql(t.baseUrl, reset, { id }, platform)).body.data.resetLogRetries.data).toEqual({
      drafts: 1,
      splits: 0,
    });
    const l = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
    expect(l.body.job.draftIds).toEqual(['d000']);
  });

  it('reclaims expired cleanup, merge and split-cleanup leases', async () => {
    const { id, svc } = await newDatabase(4);
    for (let i = 0; i < 4; i++) {
      const l = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 1 } });
      await ds.call('POST', `/databases/${id}/indexing-jobs/${l.body.job.jobId}/complete`, {
        token: svc,
        body: splitBody(`s${i}`, l.body.job.draftIds),
      });
    }
    const c1 = await ds.call('POST', `/databases/${id}/cleanup-jobs/lease`, { token: svc, body: { maxDrafts: 100 } });
    expect(c1.body.job.draftIds).toHaveLength(4);
    const m1 = await ds.call('POST', `/databases/${id}/merge-jobs/lease`, { token: svc, body: { maxSplits: 2 } });
    expect(m1.body.job.splitIds).toEqual(['s0', 's1']);
    await sleep(ttlMs + 150);
    const c2 = await ds.call('POST', `/databases/${id}/cleanup-jobs/lease`, { token: svc, body: { maxDrafts: 100 } });
    expect(c2.body.job.draftIds).toHaveLength(4);
    const m2 = await ds.call('POST', `/databases/${id}/merge-jobs/lease`, { token: svc, body: { maxSplits: 2 } });
    expect(m2.body.job.splitIds).toEqual(['s0', 's1']);
    const stale = await ds.call('POST', `/databases/${id}/merge-jobs/${m1.body.job.jobId}/complete`, {
      token: svc,
      body: {
        newSplitId: 'old',
        sizeBytes: 10,
        numDocs: 2,
        timeRangeStart: 0,
        timeRangeEnd: 1000,
        footerOffsets: { start: 0, end: 10 },
        mergedSplitIds: ['s0', 's1'],
      },
    });
    expect(stale.status).toBe(409);
    const done = await ds.call('POST', `/databases/${id}/merge-jobs/${m2.body.job.jobId}/complete`, {
      token: svc,
      body: {
        newSplitId: 'm',
        sizeBytes: 10,
        numDocs: 2,
        timeRangeStart: 0,
        timeRangeEnd: 1000,
        footerOffsets: { start: 0, end: 10 },
        mergedSplitIds: ['s0', 's1'],
      },
    });
    expect(done.body).toEqual({ success: true });
    const sc1 = await ds.call('POST', `/databases/${id}/split-cleanup-jobs/lease`, { token: svc });
    expect(sc1.body.job.splitIds.sort()).toEqual(['s0', 's1']);
    await sleep(ttlMs + 150);
    const sc2 = await ds.call('POST', `/databases/${id}/split-cleanup-jobs/lease`, { token: svc });
    expect(sc2.body.job.splitIds.sort()).toEqual(['s0', 's1']);
  });
});
