import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { deepstoreClient, draftBody, expectError, issueJwt } from '../kit/deepstore.ts';

let t: TestApp;
let ds: ReturnType<typeof deepstoreClient>;
let platform: string;
const contract = await contractValidator('deepstore');

beforeAll(async () => {
  t = await startTestApp({ ATRIUM_LOGSTORE_SPLIT_DELETION_GRACE_MS: '0', ATRIUM_LOGSTORE_RETRY_BACKOFF_MS: '0' });
  ds = deepstoreClient(t, contract);
  platform = await issueJwt(t, 'alice', 'platform');
});
afterAll(async () => {
  await t?.close();
});

const split = (over: Record<string, unknown> = {}) => ({
  splitId: 'sp1',
  sizeBytes: 100,
  numDocs: 10,
  timeRangeStart: 0,
  timeRangeEnd: 99,
  footerOffsets: { start: 90, end: 100 },
  indexedDraftIds: ['d1'],
  ...over,
});

async function newDatabase(name = 'logs') {
  const r = await ds.call('POST', '/databases', { token: platform, body: { name } });
  expect(r.status).toBe(200);
  return { id: r.body.databaseId as string, svc: r.body.serviceToken as string };
}

describe('DeepStore split lifecycle (metastore cases)', () => {
  // The lease TTL of this app is the default (15 min): no lease can expire during the burst.
  it('never hands one draft to two concurrent leases', async () => {
    const { id, svc } = await newDatabase();
    for (let i = 0; i < 40; i++) {
      await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody(`c${i}`, i, i) });
    }
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 3 } }),
      ),
    );
    const seen: string[] = burst.flatMap((r) => (r.body.job ? r.body.job.draftIds : []));
    expect(new Set(seen).size).toBe(seen.length);
    // Whatever a busy burst skipped is still leasable afterwards.
    for (;;) {
      const r = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 100 } });
      if (!r.body.job) break;
      seen.push(...r.body.job.draftIds);
    }
    expect(new Set(seen).size).toBe(40);
    expect(seen).toHaveLength(40);
  });

  it('stages and publishes a split, marks drafts indexed, lists by time-range overlap', async () => {
    const { id, svc } = await newDatabase();
    expect(svc).toMatch(/^dss_[A-Za-z0-9_-]{43}$/);
    const ranges: [number, number][] = [
      [1000, 1999],
      [2000, 2999],
      [3000, 3999],
    ];
    for (const [i, [s, e]] of ranges.entries()) {
      const r = await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody(`d${i}`, s, e) });
      expect(r).toEqual({ status: 200, body: { success: true } });
    }
    const lease = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 2 } });
    expect(lease.body.job).toMatchObject({ draftIds: ['d0', 'd1'], inputNumDocs: 20, inputSizeBytes: 2000 });
    const drafts = await ds.call('GET', `/databases/${id}/drafts`, { token: svc });
    expect(drafts.body.drafts.map((d: { status: string }) => d.status)).toEqual(['indexing', 'indexing', 'committed']);

    const done = await ds.call('POST', `/databases/${id}/indexing-jobs/${lease.body.job.jobId}/complete`, {
      token: svc,
      body: {
        splitId: 's1',
        sizeBytes: 500,
        numDocs: 20,
        timeRangeStart: 1000,
        timeRangeEnd: 2999,
        footerOffsets: { start: 400, end: 500 },
        indexedDraftIds: ['d0', 'd1'],
        splitMetadataJson: '{"k":1}',
      },
    });
    expect(done).toEqual({ status: 200, body: { success: true } });
    const after = await ds.call('GET', `/databases/${id}/drafts`, { token: svc });
    expect(after.body.drafts.map((d: { status: string }) => d.status)).toEqual(['indexed', 'indexed', 'committed']);

    // Overlap: a range straddling the split's end still finds it; one just after does not.
    const hit = await ds.call('GET', `/databases/${id}/splits?startTimestamp=2999&endTimestamp=5000`, { token: svc });
    expect(hit.body.splits).toEqual([
      expect.objectContaining({
        splitId: 's1',
        state: 'published',
        timeRangeStart: 1000,
        timeRangeEnd: 2999,
        footerOffsets: { start: 400, end: 500 },
      }),
    ]);
    const miss = await ds.call('GET', `/databases/${id}/splits?startTimestamp=3000&endTimestamp=5000`, { token: svc });
    expect(miss.body.splits).toEqual([]);
    const iso = await ds.call(
      'GET',
      `/databases/${id}/splits?startTimestamp=1970-01-01T00:00:00.000Z&endTimestamp=1970-01-01T00:00:01.500Z`,
      { token: svc },
    );
    expect(iso.body.splits.map((s: { splitId: string }) => s.splitId)).toEqual(['s1']);

    const info = await ds.call('GET', `/databases/${id}`, { token: platform });
    expect(info.body).toMatchObject({ databaseId: id, name: 'logs', draftCount: 3, splitCount: 1 });
  });

  it('replaces splits on merge atomically, marks them for deletion, deletes only marked splits', async () => {
    const { id, svc } = await newDatabase();
    // Three published splits from three indexing jobs.
    for (let i = 0; i < 3; i++) {
      await ds.call('POST', `/databases/${id}/commit-draft`, {
        token: svc,
        body: draftBody(`d${i}`, i * 1000, i * 1000 + 999),
      });
      const l = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 1 } });
      const c = await ds.call('POST', `/databases/${id}/indexing-jobs/${l.body.job.jobId}/complete`, {
        token: svc,
        body: {
          splitId: `s${i}`,
          sizeBytes: 100,
          numDocs: 10,
          timeRangeStart: i * 1000,
          timeRangeEnd: i * 1000 + 999,
          footerOffsets: { start: 90, end: 100 },
          indexedDraftIds: [`d${i}`],
        },
      });
      expect(c.body).toEqual({ success: true });
    }
    // Nothing is marked yet: split cleanup has no work.
    const none = await ds.call('POST', `/databases/${id}/split-cleanup-jobs/lease`, { token: svc });
    expect(none).toEqual({ status: 200, body: { job: null } });
    // maxSplits 1 can never merge.
    const one = await ds.call('POST', `/databases/${id}/merge-jobs/lease`, { token: svc, body: { maxSplits: 1 } });
    expect(one.body).toEqual({ job: null });

    const m = await ds.call('POST', `/databases/${id}/merge-jobs/lease`, { token: svc, body: { maxSplits: 2 } });
    expect(m.body.job.splitIds).toEqual(['s0', 's1']);
    // The merged splits stay published (searchable) while the merge runs.
    const during = await ds.call('GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=9999`, { token: svc });
    expect(during.body.splits.map((s: { splitId: string }) => s.splitId)).toEqual(['s0', 's1', 's2']);

    const merged = await ds.call('POST', `/databases/${id}/merge-jobs/${m.body.job.jobId}/complete`, {
      token: svc,
      body: {
        newSplitId: 'm01',
        sizeBytes: 180,
        numDocs: 20,
        timeRangeStart: 0,
        timeRangeEnd: 1999,
        footerOffsets: { start: 170, end: 180 },
        mergedSplitIds: ['s1', 's0'],
      },
    });
    expect(merged).toEqual({ status: 200, body: { success: true } });
    const now = await ds.call('GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=9999`, { token: svc });
    expect(now.body.splits.map((s: { splitId: string }) => s.splitId)).toEqual(['m01', 's2']);

    const sc = await ds.call('POST', `/databases/${id}/split-cleanup-jobs/lease`, { token: svc });
    expect(sc.body.job.splitIds.sort()).toEqual(['s0', 's1']);
    // A published split cannot be reported cleaned by this job.
    const wrong = await ds.call('POST', `/databases/${id}/split-cleanup-jobs/${sc.body.job.jobId}/complete`, {
      token: svc,
      body: { cleanedSplitIds: ['s2'] },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.success).toBe(false);
    const cleaned = await ds.call('POST', `/databases/${id}/split-cleanup-jobs/${sc.body.job.jobId}/complete`, {
      token: svc,
      body: { cleanedSplitIds: ['s0'], failedSplitIds: ['s1'] },
    });
    expect(cleaned.body).toEqual({ success: true });
    // s1 failed: it stays marked and is leased again (backoff 0 in this app).
    const again = await ds.call('POST', `/databases/${id}/split-cleanup-jobs/lease`, { token: svc });
    expect(again.body.job.splitIds).toEqual(['s1']);
    const info = await ds.call('GET', `/databases/${id}`, { token: svc });
    expect(info.body.splitCount).toBe(2);
  });

  it('cleans indexed drafts: cleaned rows leave, failed ones retry, others return to indexed', async () => {
    const { id, svc } = await newDatabase();
    for (let i = 0; i < 3; i++) {
      await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody(`d${i}`, 0, 10) });
    }
    // Nothing indexed yet.
    expect((await ds.call('POST', `/databases/${id}/cleanup-jobs/lease`, { token: svc })).body).toEqual({ job: null });
    const l = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
    await ds.call('POST', `/databases/${id}/indexing-jobs/${l.body.job.jobId}/complete`, {
      token: svc,
      body: {
        splitId: 'sx',
        sizeBytes: 10,
        numDocs: 30,
        timeRangeStart: 0,
        timeRangeEnd: 10,
        footerOffsets: { start: 0, end: 10 },
        indexedDraftIds: ['d0', 'd1', 'd2'],
      },
    });
    const c = await ds.call('POST', `/databases/${id}/cleanup-jobs/lease`, { token: svc });
    expect(c.body.job.draftIds).toEqual(['d0', 'd1', 'd2']);
    const r = await ds.call('POST', `/databases/${id}/cleanup-jobs/${c.body.job.jobId}/complete`, {
      token: svc,
      body: { cleanedDraftIds: ['d0'], failedDraftIds: ['d1'] },
    });
    expect(r.body).toEqual({ success: true });
    const drafts = await ds.call('GET', `/databases/${id}/drafts`, { token: svc });
    expect(drafts.body.drafts.map((d: { draftId: string; status: string }) => [d.draftId, d.status])).toEqual([
      ['d1', 'cleanup_failed'],
      ['d2', 'indexed'],
    ]);
    // Fresh work (indexed) is leased before retries (cleanup_failed).
    const again = await ds.call('POST', `/databases/${id}/cleanup-jobs/lease`, { token: svc });
    expect(again.body.job.draftIds).toEqual(['d2', 'd1']);
  });
});

describe('DeepStore jobs: bad input is 4xx with the error body, never 500, never a partial write', () => {
  let id: string;
  let svc: string;
  beforeAll(async () => {
    ({ id, svc } = await newDatabase('input'));
  });

  /** Everything observable about the database: a bad request must leave it unchanged. */
  async function snapshot() {
    const p = t.app.services.prisma;
    return {
      drafts: await p.logDraft.findMany({ where: { databaseId: id }, orderBy: { draftId: 'asc' } }),
      splits: await p.logSplit.findMany({ where: { databaseId: id }, orderBy: { splitId: 'asc' } }),
      jobs: await p.logJob.findMany({ where: { databaseId: id }, orderBy: { id: 'asc' } }),
    };
  }

  it('rejects lease sizes out of range', async () => {
    for (const [path, field, bad] of [
      ['indexing-jobs', 'maxDrafts', [0, 101, 2.5, '3']],
      ['cleanup-jobs', 'maxDrafts', [0, 101]],
      ['merge-jobs', 'maxSplits', [0, 101]],
      ['split-cleanup-jobs', 'maxSplits', [0, 201]],
    ] as const) {
      for (const v of bad) {
        const r = await ds.call('POST', `/databases/${id}/${path}/lease`, { token: svc, body: { [field]: v } });
        expectError(r, 400);
      }
    }
    // 150 is within split cleanup's own bound (1..200).
    const sc = await ds.call('POST', `/databases/${id}/split-cleanup-jobs/lease`, {
      token: svc,
      body: { maxSplits: 150 },
    });
    expect(sc).toEqual({ status: 200, body: { job: null } });
  });

  it('rejects bad completes without writing anything', async () => {
    await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('d1', 0, 99) });
    await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('d2', 0, 99) });
    await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('d9', 0, 99) });
    const lease = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 2 } });
    expect(lease.body.job.draftIds).toEqual(['d1', 'd2']);
    const job = lease.body.job.jobId;
    const url = `/databases/${id}/indexing-jobs/${job}/complete`;
    const before = await snapshot();

    expectError(
      await ds.call('POST', `/databases/${id}/indexing-jobs/job_nope/complete`, { token: svc, body: split() }),
      404,
    );
    expectError(
      await ds.call('POST', `/databases/${id}/cleanup-jobs/${job}/complete`, {
        token: svc,
        body: { cleanedDraftIds: [] },
      }),
      404,
    );
    expectError(
      await ds.call('POST', url, { token: svc, body: split({ indexedDraftIds: ['d1', 'd9'] }) }),
      400,
      /not in job/,
    );
    expectError(
      await ds.call('POST', url, { token: svc, body: split({ indexedDraftIds: ['nope'] }) }),
      400,
      /not in job/,
    );
    expectError(
      await ds.call('POST', url, {
        token: svc,
        body: split({ indexedDraftIds: ['d1'], failedDraftIds: ['d1', 'd2'] }),
      }),
      400,
      /overlap/,
    );
    expectError(
      await ds.call('POST', url, { token: svc, body: split({ footerOffsets: { start: 90, end: 101 } }) }),
      400,
      /outside/,
    );
    expectError(
      await ds.call('POST', url, { token: svc, body: split({ footerOffsets: { start: 95, end: 90 } }) }),
      400,
    );
    expectError(
      await ds.call('POST', url, { token: svc, body: split({ timeRangeStart: 100, timeRangeEnd: 99 }) }),
      400,
    );
    expectError(await ds.call('POST', url, { token: svc, body: split({ timeRangeStart: 'soon' }) }), 400);
    expectError(await ds.call('POST', url, { token: svc, body: split({ splitMetadataJson: '{nope' }) }), 400);
    // Fractions where GraphQL carries BigInt: DeepStore's 400, not a GraphQL variable error.
    expectError(await ds.call('POST', url, { token: svc, body: split({ sizeBytes: 100.5 }) }), 400, /sizeBytes/);
    expectError(
      await ds.call('POST', url, { token: svc, body: split({ footerOffsets: { start: 1.5, end: 100 } }) }),
      400,
      /footerOffsets.start/,
    );
    expectError(await ds.call('POST', url, { token: svc, body: split({ numDocs: 0 }) }), 400);
    expectError(await ds.call('POST', url, { token: svc, body: split({ indexedDraftIds: ['d1', 'd1'] }) }), 400);
    expectError(await ds.call('POST', url, { token: svc }), 400);
    expectError(await ds.call('POST', url, { token: svc, body: { ...split(), indexedDraftIds: undefined } }), 400);
    expect(await snapshot()).toEqual(before);

    // A split id already used: 409, drafts still leased to the job (nothing half-done).
    expect((await ds.call('POST', url, { token: svc, body: split({ indexedDraftIds: ['d1'] }) })).status).toBe(200);
    const lease2 = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
    const url2 = `/databases/${id}/indexing-jobs/${lease2.body.job.jobId}/complete`;
    const before2 = await snapshot();
    expectError(
      await ds.call('POST', url2, { token: svc, body: split({ indexedDraftIds: lease2.body.job.draftIds }) }),
      409,
    );
    expect(await snapshot()).toEqual(before2);
  });

  it('rejects bad merges without writing anything', async () => {
    const p = t.app.services.prisma;
    const c = await ds.call('POST', '/databases', { token: platform, body: { name: 'merge' } });
    const mid = c.body.databaseId;
    const msvc = c.body.serviceToken;
    for (let i = 0; i < 3; i++) {
      await ds.call('POST', `/databases/${mid}/commit-draft`, {
        token: msvc,
        body: draftBody(`m${i}`, i * 10, i * 10 + 9),
      });
      const l = await ds.call('POST', `/databases/${mid}/indexing-jobs/lease`, { token: msvc, body: { maxDrafts: 1 } });
      await ds.call('POST', `/databases/${mid}/indexing-jobs/${l.body.job.jobId}/complete`, {
        token: msvc,
        body: split({ splitId: `s${i}`, timeRangeStart: i * 10, timeRangeEnd: i * 10 + 9, indexedDraftIds: [`m${i}`] }),
      });
    }
    const m = await ds.call('POST', `/databases/${mid}/merge-jobs/lease`, { token: msvc });
    expect(m.body.job.splitIds).toEqual(['s0', 's1', 's2']);
    const url = `/databases/${mid}/merge-jobs/${m.body.job.jobId}/complete`;
    const merge = (over: Record<string, unknown> = {}) => ({
      newSplitId: 'merged',
      sizeBytes: 300,
      numDocs: 30,
      timeRangeStart: 0,
      timeRangeEnd: 29,
      footerOffsets: { start: 290, end: 300 },
      mergedSplitIds: ['s0', 's1', 's2'],
      ...over,
    });
    const before = await p.logSplit.findMany({ where: { databaseId: mid }, orderBy: { splitId: 'asc' } });
    expectError(
      await ds.call('POST', url, { token: msvc, body: merge({ mergedSplitIds: ['s0', 's1'] }) }),
      400,
      /every split/,
    );
    expectError(
      await ds.call('POST', url, { token: msvc, body: merge({ mergedSplitIds: ['s0', 's1', 's2', 'x'] }) }),
      400,
    );
    expectError(await ds.call('POST', url, { token: msvc, body: merge({ timeRangeEnd: 20 }) }), 400, /cover/);
    expectError(await ds.call('POST', url, { token: msvc, body: merge({ numDocs: 31 }) }), 400);
    expectError(await ds.call('POST', url, { token: msvc, body: merge({ newSplitId: 's0' }) }), 400);
    expectError(
      await ds.call('POST', url, { token: msvc, body: merge({ footerOffsets: { start: 0, end: 301 } }) }),
      400,
    );
    expect(await p.logSplit.findMany({ where: { databaseId: mid }, orderBy: { splitId: 'asc' } })).toEqual(before);
    expect((await ds.call('POST', url, { token: msvc, body: merge() })).status).toBe(200);
  });
});
