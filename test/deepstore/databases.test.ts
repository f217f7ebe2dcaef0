import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { deepstoreClient, draftBody, expectError, issueJwt } from '../kit/deepstore.ts';

let t: TestApp;
let ds: ReturnType<typeof deepstoreClient>;
let platform: string;
const contract = await contractValidator('deepstore');

beforeAll(async () => {
  t = await startTestApp();
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

describe('DeepStore databases', () => {
  it('rejects bad databases, names and bodies', async () => {
    expectError(await ds.call('POST', '/databases', { token: platform, body: { name: '' } }), 400);
    expectError(await ds.call('POST', '/databases', { token: platform }), 400);
    expectError(await ds.call('POST', '/databases', { token: platform, raw: '{"name":' }), 400);
    expectError(await ds.call('POST', '/databases', { token: platform, body: { name: 'x'.repeat(256) } }), 400);
    expectError(await ds.call('GET', '/databases/nope', { token: platform }), 404);
    expectError(await ds.call('DELETE', '/databases/nope', { token: platform }), 404);
    expectError(await ds.call('POST', '/databases/nope/tokens/rotate', { token: platform }), 404);
  });

  it('answers 400, not 500, for control characters (NUL) in a database name', async () => {
    for (const name of ['a\u0000b', '\u0000', 'line\nbreak']) {
      expectError(
        await ds.call('POST', '/databases', { token: platform, body: { name } }),
        400,
        /control characters|U\+0000/,
      );
    }
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
