import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { deepstoreClient, draftBody, issueJwt } from '../kit/deepstore.ts';

let t: TestApp;
let ds: ReturnType<typeof deepstoreClient>;
let platform: string;
let id: string;
let svc: string;
const contract = await contractValidator('deepstore');

beforeAll(async () => {
  t = await startTestApp();
  ds = deepstoreClient(t, contract);
  platform = await issueJwt(t, 'alice', 'platform');
  const c = await ds.call('POST', '/databases', { token: platform, body: { name: 'input' } });
  id = c.body.databaseId;
  svc = c.body.serviceToken;
});
afterAll(async () => {
  await t?.close();
});

function expectError(r: { status: number; body: unknown }, status: number, pattern?: RegExp) {
  expect(r.status).toBe(status);
  expect(r.body).toEqual({ success: false, errors: [expect.any(String)] });
  if (pattern) expect((r.body as { errors: string[] }).errors[0]).toMatch(pattern);
}

/** Everything observable about the database: a bad request must leave it unchanged. */
async function snapshot() {
  const p = t.app.services.prisma;
  return {
    drafts: await p.logDraft.findMany({ where: { databaseId: id }, orderBy: { draftId: 'asc' } }),
    splits: await p.logSplit.findMany({ where: { databaseId: id }, orderBy: { splitId: 'asc' } }),
    jobs: await p.logJob.findMany({ where: { databaseId: id }, orderBy: { id: 'asc' } }),
  };
}

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

describe('DeepStore bad input: 4xx with the error body, never 500, never a partial write', () => {
  it('rejects bad databases, names and bodies', async () => {
    expectError(await ds.call('POST', '/databases', { token: platform, body: { name: '' } }), 400);
    expectError(await ds.call('POST', '/databases', { token: platform }), 400);
    expectError(await ds.call('POST', '/databases', { token: platform, raw: '{"name":' }), 400);
    expectError(await ds.call('POST', '/databases', { token: platform, body: { name: 'x'.repeat(256) } }), 400);
    expectError(await ds.call('GET', '/databases/nope', { token: platform }), 404);
    expectError(await ds.call('DELETE', '/databases/nope', { token: platform }), 404);
    expectError(await ds.call('POST', '/databases/nope/tokens/rotate', { token: platform }), 404);
  });

  it('rejects bad drafts: timestamps, sizes, ids, conflicts', async () => {
    const before = await snapshot();
    const bad: Record<string, unknown>[] = [
      { ...draftBody('d1', 0, 1), startTimestamp: 'yesterday' },
      { ...draftBody('d1', 0, 1), endTimestamp: '12abc' },
      { ...draftBody('d1', 0, 1), startTimestamp: 1.5 },
      draftBody('d1', 10, 5),
      { ...draftBody('d1', 0, 1), sizeBytes: -1 },
      { ...draftBody('d1', 0, 1), numDocs: 2.5 },
      { ...draftBody('d1', 0, 1), draftId: '../etc' },
      { ...draftBody('d1', 0, 1), scope: undefined },
    ];
    for (const body of bad)
      expectError(await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body }), 400);
    expectError(await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc }), 400);
    expect(await snapshot()).toEqual(before);

    // Numeric strings and ISO dates are epoch milliseconds.
    const ok = await ds.call('POST', `/databases/${id}/commit-draft`, {
      token: svc,
      body: { ...draftBody('d1', 0, 0), startTimestamp: '0', endTimestamp: '1970-01-01T00:00:00.099Z' },
    });
    expect(ok.body).toEqual({ success: true });
    // Same metadata again: idempotent. Different metadata: 409.
    const again = { ...draftBody('d1', 0, 99) };
    expect((await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: again })).status).toBe(200);
    expectError(
      await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: { ...again, numDocs: 11 } }),
      409,
    );
    const listed = await ds.call('GET', `/databases/${id}/drafts`, { token: svc });
    expect(listed.body.drafts[0]).toMatchObject({ draftId: 'd1', startTimestamp: 0, endTimestamp: 99 });
  });

  it('rejects list parameters out of range', async () => {
    for (const limit of ['0', '1001', 'abc', '-1', '1.5']) {
      expectError(await ds.call('GET', `/databases/${id}/drafts?limit=${limit}`, { token: svc }), 400, /limit/);
      expectError(
        await ds.call('GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=1&limit=${limit}`, { token: svc }),
        400,
      );
    }
    expect((await ds.call('GET', `/databases/${id}/drafts?limit=1000`, { token: svc })).status).toBe(200);
    expectError(await ds.call('GET', `/databases/${id}/splits?startTimestamp=5&endTimestamp=1`, { token: svc }), 400);
    expectError(await ds.call('GET', `/databases/${id}/splits?startTimestamp=x&endTimestamp=1`, { token: svc }), 400);
    expectError(await ds.call('GET', `/databases/${id}/splits?startTimestamp=1`, { token: svc }), 400);
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
