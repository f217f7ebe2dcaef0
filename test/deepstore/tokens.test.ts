import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { deepstoreClient, draftBody, expectError, issueJwt, mintQueryJwt } from '../kit/deepstore.ts';

let t: TestApp;
let ds: ReturnType<typeof deepstoreClient>;
let alice: string;
let bob: string;
let db: { id: string; svc: string };
let other: { id: string; svc: string };
const contract = await contractValidator('deepstore');

beforeAll(async () => {
  t = await startTestApp();
  ds = deepstoreClient(t, contract);
  alice = await issueJwt(t, 'alice', 'platform');
  bob = await issueJwt(t, 'bob', 'platform');
  const a = await ds.call('POST', '/databases', { token: alice, body: { name: 'a' } });
  const b = await ds.call('POST', '/databases', { token: alice, body: { name: 'b' } });
  db = { id: a.body.databaseId, svc: a.body.serviceToken };
  other = { id: b.body.databaseId, svc: b.body.serviceToken };
});
afterAll(async () => {
  await t?.close();
});

type Kind = 'platform' | 'service' | 'query';

/** One request per operation class, with the path's database `id`, and the token kinds it accepts. */
const operations = (id: string) =>
  [
    ['POST', '/databases', { name: 'x' }, ['platform']],
    ['GET', `/databases/${id}`, undefined, ['platform', 'service']],
    ['DELETE', `/databases/${id}`, undefined, ['platform']],
    ['POST', `/databases/${id}/commit-draft`, draftBody('zz', 0, 1), ['service']],
    ['GET', `/databases/${id}/drafts`, undefined, ['platform', 'service', 'query']],
    ['GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=1`, undefined, ['platform', 'service', 'query']],
    ['POST', `/databases/${id}/indexing-jobs/lease`, {}, ['service']],
    ['POST', `/databases/${id}/merge-jobs/lease`, {}, ['service']],
    ['POST', `/databases/${id}/cleanup-jobs/job_x/complete`, { cleanedDraftIds: [] }, ['service']],
    ['POST', `/databases/${id}/tokens/rotate`, undefined, ['platform']],
    ['POST', `/databases/${id}/tokens/revoke`, undefined, ['platform']],
  ] as const satisfies readonly (readonly [string, string, unknown, readonly Kind[]])[];

describe('DeepStore token matrix', () => {
  it('answers 401 without a token, with garbage, with an unknown service token and with an expired JWT', async () => {
    const expired = (
      await t.app.services.tokens.issue({ subject: 'alice', tokenUse: 'platform', scopes: [], ttlSeconds: -60 })
    ).token;
    for (const token of [undefined, 'nonsense', 'dss_unknown', 'a.b.c', expired]) {
      for (const [method, path, body] of operations(db.id)) {
        const r = await ds.call(method, path, { ...(token ? { token } : {}), body });
        expectError(r, 401);
      }
    }
  });

  it('answers 403 for a valid token of the wrong kind, and lets the right kinds through', async () => {
    const query = await mintQueryJwt(t, alice, db.id, ['app']);
    const session = await issueJwt(t, 'alice', 'session');
    // bob is a platform caller but not the owner: where platform tokens pass auth he gets 404, never 401/403.
    const kinds = { platform: bob, service: db.svc, query, session } as const;
    for (const [kind, token] of Object.entries(kinds)) {
      for (const [method, path, body, accepts] of operations(db.id)) {
        const r = await ds.call(method, path, { token, body });
        const label = `${kind} ${method} ${path}`;
        if ((accepts as readonly string[]).includes(kind)) {
          expect([401, 403], label).not.toContain(r.status);
          expect(r.status, label).toBeLessThan(500);
        } else {
          expect(r.status, label).toBe(403);
          expect(r.body.success, label).toBe(false);
        }
      }
    }
  });

  it('binds service tokens and query JWTs to their database (403) and hides others’ databases (404)', async () => {
    expectError(await ds.call('GET', `/databases/${db.id}`, { token: other.svc }), 403);
    expectError(await ds.call('POST', `/databases/${db.id}/indexing-jobs/lease`, { token: other.svc }), 403);
    const q = await mintQueryJwt(t, alice, other.id, ['app']);
    expectError(await ds.call('GET', `/databases/${db.id}/drafts`, { token: q }), 403);
    // bob cannot see, delete, rotate or revoke alice's database, nor mint query tokens for it.
    expectError(await ds.call('GET', `/databases/${db.id}`, { token: bob }), 404);
    expectError(await ds.call('DELETE', `/databases/${db.id}`, { token: bob }), 404);
    expectError(await ds.call('POST', `/databases/${db.id}/tokens/rotate`, { token: bob }), 404);
    expectError(await ds.call('POST', `/databases/${db.id}/tokens/revoke`, { token: bob }), 404);
    await expect(mintQueryJwt(t, bob, db.id, ['app'])).rejects.toThrow(/not found/);
    // The admin key is a platform caller that sees every database.
    expect((await ds.call('GET', `/databases/${db.id}`, { token: t.adminKey })).status).toBe(200);
    expectError(await ds.call('GET', '/databases/db_unknown', { token: alice }), 404);
  });

  it('filters listDrafts and listSplits by the query JWT scopes', async () => {
    const created = await ds.call('POST', '/databases', { token: alice, body: { name: 'scoped' } });
    const { databaseId: id, serviceToken: svc } = created.body;
    await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('a1', 0, 9, 'app') });
    await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('b1', 0, 9, 'billing') });
    await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('a2', 0, 9, 'app') });
    const q = await mintQueryJwt(t, alice, id, ['app']);
    const drafts = await ds.call('GET', `/databases/${id}/drafts`, { token: q });
    expect(drafts.body.drafts.map((d: { draftId: string }) => d.draftId)).toEqual(['a1', 'a2']);
    const none = await mintQueryJwt(t, alice, id, []);
    expect((await ds.call('GET', `/databases/${id}/drafts`, { token: none })).body.drafts).toEqual([]);
    const all = await ds.call('GET', `/databases/${id}/drafts`, { token: alice });
    expect(all.body.drafts).toHaveLength(3);

    // Indexing jobs are single-scope, so each split has one scope: app's split is visible, billing's not.
    for (let i = 0; i < 2; i++) {
      const l = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: { maxDrafts: 10 } });
      const ids: string[] = l.body.job.draftIds;
      await ds.call('POST', `/databases/${id}/indexing-jobs/${l.body.job.jobId}/complete`, {
        token: svc,
        body: {
          splitId: `split-${ids[0]}`,
          sizeBytes: 10,
          numDocs: 10,
          timeRangeStart: 0,
          timeRangeEnd: 9,
          footerOffsets: { start: 0, end: 10 },
          indexedDraftIds: ids,
        },
      });
    }
    const splits = await ds.call('GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=9`, { token: q });
    expect(splits.body.splits.map((s: { splitId: string }) => s.splitId)).toEqual(['split-a1']);
    const owner = await ds.call('GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=9`, { token: svc });
    expect(owner.body.splits).toHaveLength(2);
  });

  it('revokes on rotate immediately; revoke disables every service token until the next rotate', async () => {
    const created = await ds.call('POST', '/databases', { token: alice, body: { name: 'rot' } });
    const id = created.body.databaseId;
    const first = created.body.serviceToken;
    expect((await ds.call('GET', `/databases/${id}/drafts`, { token: first })).status).toBe(200);
    const rotated = await ds.call('POST', `/databases/${id}/tokens/rotate`, { token: alice });
    expect(rotated.status).toBe(200);
    expect(rotated.body.serviceToken).toMatch(/^dss_/);
    expectError(await ds.call('GET', `/databases/${id}/drafts`, { token: first }), 401);
    const second = rotated.body.serviceToken;
    expect((await ds.call('GET', `/databases/${id}/drafts`, { token: second })).status).toBe(200);
    const revoked = await ds.call('POST', `/databases/${id}/tokens/revoke`, { token: alice });
    expect(revoked).toEqual({ status: 200, body: { success: true } });
    expectError(await ds.call('GET', `/databases/${id}/drafts`, { token: second }), 401);
    const third = (await ds.call('POST', `/databases/${id}/tokens/rotate`, { token: t.adminKey })).body.serviceToken;
    expect((await ds.call('GET', `/databases/${id}/drafts`, { token: third })).status).toBe(200);
  });

  it('refuses a token revoked elsewhere (another instance) at once, although this door remembers it', async () => {
    const created = await ds.call('POST', '/databases', { token: alice, body: { name: 'elsewhere' } });
    const id = created.body.databaseId;
    const svc = created.body.serviceToken;
    // Verified once: the door now remembers the token (service-tokens.ts).
    expect((await ds.call('GET', `/databases/${id}/drafts`, { token: svc })).status).toBe(200);
    // Revoked behind this process's back, as another Atrium instance would.
    await t.app.services.prisma.logServiceToken.updateMany({
      where: { databaseId: id },
      data: { revokedAt: new Date() },
    });
    expectError(await ds.call('GET', `/databases/${id}/drafts`, { token: svc }), 401);
    expectError(await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc, body: {} }), 401);
    expectError(
      await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('late', 0, 1) }),
      401,
    );
    expectError(await ds.call('POST', `/databases/${id}/merge-jobs/lease`, { token: svc }), 401);
    expect(await t.app.services.prisma.logDraft.count({ where: { databaseId: id } })).toBe(0);
  });

  it('stores only the SHA-256 of service tokens', async () => {
    const rows = await t.app.services.prisma.logServiceToken.findMany({ where: { databaseId: db.id } });
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(db.svc);
  });
});
