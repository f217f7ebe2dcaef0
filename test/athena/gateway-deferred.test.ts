import { rm } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPrincipal } from '../../src/core/auth/principal.ts';
import { postgresAdminUrl, startTestApp, type TestApp, testDb } from '../kit/app.ts';
import { type AthenaTestApp, athenaKey, athenaRest, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import { eventually } from '../kit/jobs.ts';

/*
 * Deferred gateway requests: `X-Athena-Defer: true` on /gateway/fetch|update|insert|delete|query answers 202 and the
 * `athena.deferred` job runs the request later as its owner; /gateway/deferred/{id}, …/requeue and …/flush.
 */

let t: AthenaTestApp;
let contract: ContractExpectations;
const defer = { 'x-athena-defer': 'true' };
// /gateway/insert requires these (the contract); they do not change what the gateway does.
const deferInsert = { ...defer, 'x-company-id': 'c1', 'x-organization-id': 'o1' };

async function settled(app: AthenaTestApp | TestApp, id: string, key = app.adminKey) {
  return eventually(
    async () => {
      const res = await fetch(`${app.baseUrl}/athena/gateway/deferred/${id}`, { headers: { apikey: key } });
      const body = (await res.json()) as { data?: { state?: string } };
      return res.status === 200 && ['completed', 'failed'].includes(String(body.data?.state)) ? body : undefined;
    },
    15_000,
    `deferred request ${id} to finish`,
  ) as Promise<{ status: string; data: Record<string, any> }>;
}

beforeAll(async () => {
  t = await startAthenaApp({ ATRIUM_JOBS_POLL_MS: '20' });
  contract = await contractValidator('athena');
  await t.sql(`
    CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL DEFAULT 0);
    INSERT INTO items VALUES (1, 'one', 1), (2, 'two', 2);
  `);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('X-Athena-Defer', () => {
  it('defers an insert: 202 with a request id, then the job inserts the row and records the answer', async () => {
    const res = await athenaRest(t, 'PUT', '/gateway/insert', {
      headers: deferInsert,
      body: { table_name: 'items', insert_body: { id: 10, name: 'ten' } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      status: 'success',
      message: expect.any(String),
      data: { request_id: expect.any(String), status: 'queued' },
    });
    const done = await settled(t, res.body.data.request_id);
    contract.expectValidResponse('GET', `/gateway/deferred/${res.body.data.request_id}`, 200, done);
    expect(done.data).toMatchObject({
      request_id: res.body.data.request_id,
      state: 'completed',
      status: 'completed',
      route: '/gateway/insert',
      method: 'PUT',
      client_name: t.client,
      attempts: 1,
      result: {
        status: 'success',
        message: 'Row inserted',
        data: { table_name: 'items', row: { id: 10, name: 'ten', qty: 0 } },
      },
    });
    expect(typeof done.data.created_at).toBe('string');
    expect(typeof done.data.finished_at).toBe('string');
    expect(await t.sql('SELECT name FROM items WHERE id = $1', [10])).toEqual([{ name: 'ten' }]);
  });

  it('defers a fetch and a query for a bound key, which alone (with the admin) may see them', async () => {
    const key = await athenaKey(t, ['gateway.fetch.execute', 'gateway.query.execute']);
    const fetchRes = await athenaRest(t, 'POST', '/gateway/fetch', {
      key,
      headers: { ...defer, 'x-strip-nulls': 'true' },
      body: { table_name: 'items', conditions: [{ eq_column: 'id', eq_value: '1' }], columns: ['id', 'name'] },
    });
    expect(fetchRes.status).toBe(202);
    const fetched = await settled(t, fetchRes.body.data.request_id, key);
    expect(fetched.data.result).toEqual({
      status: 'success',
      message: 'Fetched 1 rows',
      data: [{ id: 1, name: 'one' }],
    });

    const queryRes = await athenaRest(t, 'POST', '/gateway/query', {
      key,
      headers: defer,
      body: { query: 'SELECT count(*)::int AS n FROM items' },
    });
    expect(queryRes.status).toBe(202);
    const queried = await settled(t, queryRes.body.data.request_id, key);
    expect(queried.data.result.data.rows).toEqual([{ n: expect.any(Number) }]);

    // Another client's key, and no key at all, see nothing.
    await t.app.services.athena.clients.create(adminPrincipal, {
      clientName: 'other_client',
      pgUri: 'postgres://u:p@127.0.0.1:1/none',
    });
    const stranger = await athenaKey(t, ['gateway.fetch.execute'], 'other_client');
    const hidden = await athenaRest(t, 'GET', `/gateway/deferred/${fetchRes.body.data.request_id}`, {
      key: stranger,
      client: 'other_client',
    });
    expect(hidden.status).toBe(404);
    expect(hidden.body.code).toBe('deferred_not_found');
    const anonymous = await athenaRest(t, 'GET', `/gateway/deferred/${fetchRes.body.data.request_id}`, { key: null });
    expect(anonymous.status).toBe(401);
    const unknown = await athenaRest(t, 'GET', '/gateway/deferred/3f1b7c1e-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
  });

  it('checks the body and the right when deferring: a malformed body is a 400 and nothing is stored', async () => {
    const before = await t.app.services.prisma.athenaDeferredRequest.count();
    const bad = await athenaRest(t, 'POST', '/gateway/update', {
      headers: defer,
      body: { table_name: 'items', set: { name: 'x' } },
    });
    expect(bad.status).toBe(400);
    const readOnly = await athenaKey(t, ['gateway.fetch.execute']);
    const refused = await athenaRest(t, 'DELETE', '/gateway/delete', {
      key: readOnly,
      headers: defer,
      body: { table_name: 'items', resource_id: 1 },
    });
    expect(refused.status).toBe(403);
    expect(await t.app.services.prisma.athenaDeferredRequest.count()).toBe(before);
  });

  it('records a failed run, requeues it with attempts + 1, refuses to requeue an unfinished one (409)', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/update', {
      headers: defer,
      body: { table_name: 'items', update_body: { qty: -1 }, conditions: [{ eq_column: 'nope', eq_value: '1' }] },
    });
    expect(res.status).toBe(202);
    const id = res.body.data.request_id as string;
    const failed = await settled(t, id);
    expect(failed.data.state).toBe('failed');
    expect(failed.data.error).toMatch(/nope/);
    expect(failed.data.attempts).toBe(1);

    const requeued = await athenaRest(t, 'POST', `/gateway/deferred/${id}/requeue`);
    expect(requeued.status).toBe(200);
    contract.expectValidResponse('POST', `/gateway/deferred/${id}/requeue`, 200, requeued.body);
    expect(requeued.body.data).toMatchObject({ request_id: id, state: 'queued', attempts: 2 });
    expect(typeof requeued.body.data.requeued_at).toBe('string');
    const again = await settled(t, id);
    expect(again.data).toMatchObject({ state: 'failed', attempts: 2 });

    // A request still queued cannot be requeued: hold it by setting it queued with no job for its attempt.
    await t.app.services.prisma.athenaDeferredRequest.update({ where: { requestId: id }, data: { status: 'queued' } });
    const conflict = await athenaRest(t, 'POST', `/gateway/deferred/${id}/requeue`);
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('deferred_not_requeueable');
    const missing = await athenaRest(t, 'POST', '/gateway/deferred/no-such-request/requeue');
    expect(missing.status).toBe(404);
  });

  it('never defers a direct-URI request (it runs inline; here the URI is refused, not queued)', async () => {
    const before = await t.app.services.prisma.athenaDeferredRequest.count();
    const res = await athenaRest(t, 'POST', '/gateway/fetch', {
      headers: { ...defer, 'x-pg-uri': 'postgres://u:p@127.0.0.1:5432/db' },
      body: { table_name: 'items' },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('direct_uri_disabled');
    expect(await t.app.services.prisma.athenaDeferredRequest.count()).toBe(before);
  });
});

describe('flush and worker restart (a server that runs no jobs, then one that does)', () => {
  let quiet: AthenaTestApp;
  let next: TestApp | undefined;
  let quietClosed = false;

  let clientDatabaseUrl: string | null = null;

  beforeAll(async () => {
    quiet = await startAthenaApp({ ATRIUM_JOBS_CONCURRENCY: '0' });
    await quiet.sql('CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL)');
    if (testDb === 'postgres') {
      clientDatabaseUrl = (await quiet.app.services.athena.clients.get(adminPrincipal, quiet.client, { reveal: true }))
        .pgUri;
    }
  }, 120_000);

  afterAll(async () => {
    await next?.close();
    if (!quietClosed) await quiet?.close();
    else {
      // The first server is closed already: remove what it left (its data dir and, on Postgres, its databases).
      await rm(quiet.dataDir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: postgresAdminUrl });
      if (testDb === 'postgres') {
        await admin.connect();
        for (const url of [quiet.databaseUrl, clientDatabaseUrl]) {
          if (!url) continue;
          await admin.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
        }
        await admin.end();
      }
    }
  });

  it('flush runs every queued request now and reports counts and the invalidated tables', async () => {
    const ids: string[] = [];
    for (const body of [
      { table_name: 'ledger', insert_body: { id: 1, note: 'a' } },
      { table_name: 'ledger', insert_body: { id: 2, note: 'b' } },
      { table_name: 'ledger', insert_body: { id: 1, note: 'duplicate' } },
    ]) {
      const res = await athenaRest(quiet, 'PUT', '/gateway/insert', { headers: deferInsert, body });
      expect(res.status).toBe(202);
      ids.push(res.body.data.request_id);
    }
    const queued = await athenaRest(quiet, 'GET', `/gateway/deferred/${ids[0]}`);
    expect(queued.body.data.state).toBe('queued');
    const flush = await athenaRest(quiet, 'POST', '/gateway/deferred/flush');
    expect(flush.status).toBe(200);
    expect(flush.body).toEqual({
      status: 'success',
      message: 'Flushed 3 deferred requests',
      data: { succeeded: 2, failed: 1, invalidated_tables: ['public.ledger'] },
    });
    const dup = await athenaRest(quiet, 'GET', `/gateway/deferred/${ids[2]}`);
    expect(dup.body.data).toMatchObject({ state: 'failed', result: { status: 'error', code: '23505' } });
    expect(await quiet.sql('SELECT id, note FROM ledger ORDER BY id', [])).toEqual([
      { id: 1, note: 'a' },
      { id: 2, note: 'b' },
    ]);
    const empty = await athenaRest(quiet, 'POST', '/gateway/deferred/flush');
    expect(empty.body.data).toEqual({ succeeded: 0, failed: 0, invalidated_tables: [] });
    expect((await athenaRest(quiet, 'POST', '/gateway/deferred/flush', { key: null })).status).toBe(401);
  });

  it('runs as the key that deferred it: a key revoked before the run fails the request', async () => {
    const { rawKey, apiKeyId } = await quiet.app.services.access.createApiKey(adminPrincipal, {
      product: 'athena',
      name: 'revoked later',
      scopes: [`client:${quiet.client}`, 'gateway.insert.execute'],
    });
    const res = await athenaRest(quiet, 'PUT', '/gateway/insert', {
      key: rawKey,
      headers: deferInsert,
      body: { table_name: 'ledger', insert_body: { id: 20, note: 'never' } },
    });
    expect(res.status).toBe(202);
    // The owner sees its request while the key is valid.
    const own = await athenaRest(quiet, 'GET', `/gateway/deferred/${res.body.data.request_id}`, { key: rawKey });
    expect(own.body.data.state).toBe('queued');
    await quiet.app.services.access.revokeApiKey(adminPrincipal, { id: apiKeyId });
    const flush = await athenaRest(quiet, 'POST', '/gateway/deferred/flush');
    expect(flush.body.data).toEqual({ succeeded: 0, failed: 1, invalidated_tables: [] });
    const done = await athenaRest(quiet, 'GET', `/gateway/deferred/${res.body.data.request_id}`);
    expect(done.body.data.state).toBe('failed');
    expect(done.body.data.error).toMatch(/no longer valid/);
    expect(await quiet.sql('SELECT id FROM ledger WHERE id = 20', [])).toHaveLength(0);
  });

  it('a request queued on one server, and one left running by a runner that died, finish on the next', async () => {
    const queuedRes = await athenaRest(quiet, 'PUT', '/gateway/insert', {
      headers: deferInsert,
      body: { table_name: 'ledger', insert_body: { id: 3, note: 'after restart' } },
    });
    const strandedRes = await athenaRest(quiet, 'PUT', '/gateway/insert', {
      headers: deferInsert,
      body: { table_name: 'ledger', insert_body: { id: 4, note: 'stranded' } },
    });
    const stranded = strandedRes.body.data.request_id as string;
    // A runner took it and died mid-way an hour ago: the row says running, the job is still there to reclaim.
    await quiet.app.services.prisma.athenaDeferredRequest.update({
      where: { requestId: stranded },
      data: { status: 'running', startedAt: new Date(Date.now() - 3_600_000) },
    });
    await quiet.app.close();
    quietClosed = true;
    next = await startTestApp({
      ATRIUM_DATA_DIR: quiet.dataDir,
      ...(quiet.databaseUrl ? { DATABASE_URL: quiet.databaseUrl } : {}),
      ATRIUM_JOBS_POLL_MS: '20',
    });
    const app = next;
    const restarted = { ...quiet, ...app, client: quiet.client, sql: quiet.sql } as AthenaTestApp;
    const first = await settled(restarted, queuedRes.body.data.request_id);
    expect(first.data).toMatchObject({ state: 'completed', result: { message: 'Row inserted' } });
    const second = await settled(restarted, stranded);
    expect(second.data).toMatchObject({ state: 'completed', attempts: 1 });
    const { db } = await app.app.services.athena.clients.database(quiet.client);
    const rows = await db.query<{ id: number; note: string }>('SELECT id, note FROM ledger WHERE id >= 3 ORDER BY id');
    expect(rows.rows).toEqual([
      { id: 3, note: 'after restart' },
      { id: 4, note: 'stranded' },
    ]);
  }, 60_000);
});
