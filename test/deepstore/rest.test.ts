import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { deepstoreClient, draftBody, issueJwt } from '../kit/deepstore.ts';

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

  it('deletes a database while workers lease and commit: every request answers 200, 401 or 404, never 500', async () => {
    const { id, svc } = await newDatabase();
    for (let i = 0; i < 20; i++) {
      await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody(`r${i}`, i, i) });
    }
    const calls = [
      ...Array.from({ length: 8 }, () =>
        ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 2 } }),
      ),
      ...Array.from({ length: 8 }, (_, i) =>
        ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody(`n${i}`, i, i) }),
      ),
      ds.call('DELETE', `/databases/${id}`, { token: platform }),
    ];
    const statuses = (await Promise.all(calls)).map((r) => r.status);
    for (const s of statuses) expect([200, 401, 404]).toContain(s);
    expect(statuses.at(-1)).toBe(200);
    expect(await t.app.services.prisma.logDraft.count({ where: { databaseId: id } })).toBe(0);
    expect(await t.app.services.prisma.logJob.count({ where: { databaseId: id } })).toBe(0);
  });

  it('deletes a database with its rows; its tokens stop working', async () => {
    const { id, svc } = await newDatabase();
    const store = t.app.services.objectStore;
    await store.putObject(`${id}/drafts/d0`, Buffer.from('{"msg":"hello"}\n'));
    await store.putObject(`${id}/splits/s0`, Buffer.from('split'));
    await store.putObject(`${id}x/keep`, Buffer.from('another prefix'));
    await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('d0', 0, 1) });
    const del = await ds.call('DELETE', `/databases/${id}`, { token: platform });
    expect(del).toEqual({ status: 200, body: { success: true } });
    // Its objects are purged; a neighbouring prefix is not.
    expect((await store.listObjects(`${id}/`)).keys).toEqual([]);
    expect((await store.listObjects(`${id}x/`)).keys).toEqual([`${id}x/keep`]);
    expect(await t.app.services.prisma.logDraft.count({ where: { databaseId: id } })).toBe(0);
    expect((await ds.call('GET', `/databases/${id}`, { token: platform })).status).toBe(404);
    expect((await ds.call('GET', `/databases/${id}/drafts`, { token: svc })).status).toBe(401);
  });
});
