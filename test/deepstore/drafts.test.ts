import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { deepstoreClient, draftBody, expectError, issueJwt } from '../kit/deepstore.ts';

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

/** Everything observable about the database: a bad request must leave it unchanged. */
async function snapshot() {
  const p = t.app.services.prisma;
  return {
    drafts: await p.logDraft.findMany({ where: { databaseId: id }, orderBy: { draftId: 'asc' } }),
    splits: await p.logSplit.findMany({ where: { databaseId: id }, orderBy: { splitId: 'asc' } }),
    jobs: await p.logJob.findMany({ where: { databaseId: id }, orderBy: { id: 'asc' } }),
  };
}

describe('DeepStore drafts: commit and list; bad input is 4xx with the error body, never 500, never a partial write', () => {
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

  it('answers 400, not 500, for control characters (NUL) in a draft scope', async () => {
    const before = await snapshot();
    for (const scope of ['a\u0000b', '\u0000']) {
      const r = await ds.call('POST', `/databases/${id}/commit-draft`, {
        token: svc,
        body: { ...draftBody('nul1', 0, 1), scope },
      });
      expectError(r, 400, /control characters|U\+0000/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('rejects list parameters out of range', async () => {
    for (const limit of ['0', '1001', 'abc', '-1', '1.5']) {
      expectError(await ds.call('GET', `/databases/${id}/drafts?limit=${limit}`, { token: svc }), 400, /limit/);
    }
    expect((await ds.call('GET', `/databases/${id}/drafts?limit=1000`, { token: svc })).status).toBe(200);
  });
});
