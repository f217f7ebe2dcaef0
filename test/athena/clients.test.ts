import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientUnavailableError, UnknownClientError } from '../../src/modules/athena/athena.errors.ts';
import {
  AthenaTestClientCreateDocument,
  AthenaTestClientDeleteDocument,
  AthenaTestClientFreezeDocument,
  AthenaTestClientGetDocument,
  AthenaTestClientNodeDocument,
  AthenaTestClientsCreateKeyDocument,
  AthenaTestClientsListDocument,
  AthenaTestClientUpdateDocument,
  AthenaTestConfigsDocument,
  AthenaTestConfigUpsertDocument,
  AthenaTestLinkPolykomosDocument,
  AthenaTestPoolsDocument,
  AthenaTestPublicRouteCreateDocument,
  AthenaTestPublicRoutesDocument,
  AthenaTestTenantHostnameDocument,
} from '../generated/athena.ts';
import { createTestDatabase, gql, type TestApp, testDb } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import { createPolykomosKey, polykomosClient, polykomosPostgresUrl, startPolykomosApp } from '../kit/polykomos.ts';

/*
 * G5 through real HTTP: the client catalog, configs, pools, public/service routes and tenant hostnames (REST, every
 * JSON body the contract schemas checked against the contract), their GraphQL mirror, and the Polykomos link.
 */

let t: TestApp;
let contract: ContractExpectations;
let seedDir: string;
let seedFile: string;
const databases: { url: string; drop(): Promise<void> }[] = [];

interface Res {
  status: number;
  body: any;
}

const callAthena = (method: string, p: string) => call(method, p);

/** One Athena REST call with the admin key (`apikey`), unless `key` says otherwise (`null`: no credential). */
async function call(method: string, p: string, opts: { body?: unknown; key?: string | null; header?: string } = {}) {
  const key = opts.key === undefined ? t.adminKey : opts.key;
  const res = await fetch(`${t.baseUrl}/athena${p}`, {
    method,
    headers: {
      ...(key !== null ? { [opts.header ?? 'apikey']: key } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined } as Res;
}

/** Expects the Athena error envelope with `status` and `code`. */
function expectError(r: Res, status: number, code?: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toMatchObject({ status: 'error', message: expect.any(String), error: expect.any(String) });
  if (code) expect(r.body.code).toBe(code);
}

const valid = (method: string, p: string, r: Res) => contract.expectValidResponse(method, p, r.status, r.body);
const name = (prefix = 'c') => `${prefix}_${randomUUID().slice(0, 8)}`;
const services = () => t.app.services.athena;

async function newDatabase() {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

async function currentDatabase(clientName: string): Promise<string> {
  const { db } = await services().clients.database(clientName);
  const r = await db.query<{ db: string }>('SELECT current_database() AS db');
  return r.rows[0]?.db ?? '';
}

beforeAll(async () => {
  seedDir = await mkdtemp(path.join(tmpdir(), 'athena-seed-'));
  seedFile = path.join(seedDir, 'athena.json');
  // No MySQL: the link test needs only the Postgres engine (when there is one).
  t = await startPolykomosApp({ ATRIUM_DATABASES_MYSQL_URL: '', ATRIUM_ATHENA_CONFIG_FILE: seedFile });
  contract = await contractValidator('athena');
});

afterAll(async () => {
  await t?.close();
  for (const db of databases) await db.drop().catch(() => undefined);
  await rm(seedDir, { recursive: true, force: true });
});

describe('client catalog (REST)', () => {
  it('a fresh server has the default local client, listed with its runtime view', async () => {
    const r = await call('GET', '/admin/clients');
    expect(r.status).toBe(200);
    valid('GET', '/admin/clients', r);
    const local = r.body.clients.find((c: { client_name: string }) => c.client_name === 'local');
    expect(local).toMatchObject({ is_active: true, is_frozen: false, deleted_at: null });
    expect(['embedded', 'provisioned']).toContain(local.source);
    expect(r.body.runtime.map((c: { client_name: string }) => c.client_name)).toContain('local');
    // The default client answers queries.
    expect(await currentDatabase('local')).not.toBe('');
  });

  it('needs the admin key: 401 without, 401 with a wrong one, through every carrier', async () => {
    expectError(await call('GET', '/admin/clients', { key: null }), 401, 'unauthorized');
    expectError(await call('GET', '/admin/clients', { key: 'nope' }), 401, 'unauthorized');
    expectError(await call('GET', '/admin/public-routes', { key: null }), 401);
    expectError(await call('GET', '/admin/pools', { key: null }), 401);
    expect((await call('GET', '/admin/clients', { header: 'x-athena-key' })).status).toBe(200);
    expect((await call('GET', '/admin/public-routes', { header: 'x-athena-key' })).status).toBe(200);
    expect((await call('GET', '/admin/service-routes', { header: 'x-api-key' })).status).toBe(200);
  });

  it('a client-bound Athena key is not the admin: 403 on REST, FORBIDDEN on GraphQL', async () => {
    const created = await gql(
      t.baseUrl,
      AthenaTestClientsCreateKeyDocument,
      { input: { product: 'athena', name: 'bound', scopes: ['client:local', 'gateway.fetch.execute'] } },
      t.adminKey,
    );
    const r = created.body.data?.createApiKey;
    if (r?.__typename !== 'MutationCreateApiKeySuccess') throw new Error(JSON.stringify(created.body));
    const key = r.data.rawKey;
    expectError(await call('GET', '/admin/clients', { key }), 403, 'forbidden');
    expectError(await call('POST', '/admin/public-routes', { key, header: 'x-athena-key', body: {} }), 403);
    expectError(await call('PUT', '/admin/tenant-hostnames/acme', { key, body: {} }), 403);
    const list = await gql(t.baseUrl, AthenaTestClientsListDocument, { first: 5 }, key);
    expect(list.body.data?.athenaClients ?? null).toBeNull();
    expect(list.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('create seals the URI (not the plain text in the platform DB), redacts it, reveals it on ?reveal=true', async () => {
    const db = await newDatabase();
    const clientName = name();
    const created = await call('POST', '/admin/clients', {
      body: { client_name: clientName, pg_uri: db.url, description: 'test db' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    valid('POST', '/admin/clients', created);
    expect(created.body.client).toMatchObject({ client_name: clientName, source: 'catalog', description: 'test db' });
    expect(created.body.client.pg_uri).not.toBe(db.url);
    const row = await t.app.services.prisma.athenaClient.findFirstOrThrow({ where: { clientName } });
    expect(row.pgUriEnc).toBeTruthy();
    expect(row.pgUriEnc).not.toContain(new URL(db.url).hostname === '127.0.0.1' ? '127.0.0.1' : db.url);
    expect(row.pgUriEnc).not.toContain(new URL(db.url).pathname.slice(1));

    const listed = await call('GET', '/admin/clients');
    const redacted = listed.body.clients.find((c: { client_name: string }) => c.client_name === clientName);
    const revealed = (await call('GET', '/admin/clients?reveal=true')).body.clients.find(
      (c: { client_name: string }) => c.client_name === clientName,
    );
    expect(new URL(revealed.pg_uri).pathname).toBe(new URL(db.url).pathname);
    expect(new URL(revealed.pg_uri).hostname).toBe(new URL(db.url).hostname);
    // The password (when the URI has one) never appears unless revealed.
    const withPassword = await newDatabase();
    const pwUrl = new URL(withPassword.url);
    pwUrl.username = 'someone';
    pwUrl.password = 's3cret-pw';
    const pwName = name();
    const pw = await call('POST', '/admin/clients', { body: { client_name: pwName, pg_uri: pwUrl.toString() } });
    expect(pw.status).toBe(201);
    expect(pw.body.client.pg_uri).toContain('***');
    expect(pw.body.client.pg_uri).not.toContain('s3cret-pw');
    const all = await call('GET', '/admin/clients?reveal=true');
    expect(all.body.clients.find((c: { client_name: string }) => c.client_name === pwName).pg_uri).toContain(
      's3cret-pw',
    );
    expect(JSON.stringify((await call('GET', '/admin/clients')).body)).not.toContain('s3cret-pw');
    expect(redacted.pg_uri).toBeTruthy();

    // Registered and routable: a real Postgres behind it (both passes).
    expect(await currentDatabase(clientName)).toBe(new URL(db.url).pathname.slice(1));
    const runtime = (await call('GET', '/admin/clients')).body.runtime.find(
      (c: { client_name: string }) => c.client_name === clientName,
    );
    expect(runtime.pool_connected).toBe(true);
    // Use records last_seen_at (off the request path) without touching updated_at.
    let seen = await t.app.services.prisma.athenaClient.findFirstOrThrow({ where: { clientName, deletedAt: null } });
    for (let i = 0; i < 50 && seen.lastSeenAt === null; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await t.app.services.prisma.athenaClient.findFirstOrThrow({ where: { clientName, deletedAt: null } });
    }
    expect(seen.lastSeenAt).not.toBeNull();
    expect(seen.updatedAt.getTime()).toBe(row.updatedAt.getTime());
    const record = (await call('GET', '/admin/clients')).body.clients.find(
      (c: { client_name: string }) => c.client_name === clientName,
    );
    expect(record.last_seen_at).toMatch(/^\d{4}-/);
  });

  it('refuses a duplicate name (409), bad names and URIs (400), a body without a connection (400)', async () => {
    const db = await newDatabase();
    const clientName = name();
    expect((await call('POST', '/admin/clients', { body: { client_name: clientName, pg_uri: db.url } })).status).toBe(
      201,
    );
    expectError(
      await call('POST', '/admin/clients', { body: { client_name: clientName, pg_uri: db.url } }),
      409,
      'conflict',
    );
    expectError(await call('POST', '/admin/clients', { body: { client_name: 'Bad Name', pg_uri: db.url } }), 400);
    expectError(await call('POST', '/admin/clients', { body: { client_name: name(), pg_uri: 'mysql://x/y' } }), 400);
    expectError(await call('POST', '/admin/clients', { body: { client_name: name() } }), 400);
    expectError(await call('POST', '/admin/clients', { body: { pg_uri: db.url } }), 400);
    expectError(await call('POST', '/admin/clients', { body: { client_name: name(), pg_uri_env_var: 'lower' } }), 400);
    expectError(await call('POST', '/admin/clients', { body: { client_name: 5 } }), 400);
  });

  it('PATCH changes the URI and the name, rebuilding the pool; 404 for an unknown client', async () => {
    const a = await newDatabase();
    const b = await newDatabase();
    const clientName = name();
    await call('POST', '/admin/clients', { body: { client_name: clientName, pg_uri: a.url } });
    expect(await currentDatabase(clientName)).toBe(new URL(a.url).pathname.slice(1));

    const patched = await call('PATCH', `/admin/clients/${clientName}`, { body: { pg_uri: b.url } });
    expect(patched.status).toBe(200);
    valid('PATCH', `/admin/clients/${clientName}`, patched);
    expect(await currentDatabase(clientName)).toBe(new URL(b.url).pathname.slice(1));

    const routeKey = `rn-${randomUUID().slice(0, 8)}`;
    expect(
      (
        await call('POST', '/admin/public-routes', {
          body: { route_key: routeKey, client_name: clientName, allowed_ops: ['fetch'] },
        })
      ).status,
    ).toBe(201);
    expect((await call('PUT', `/admin/client-configs/${clientName}`, { body: { config: { k: 1 } } })).status).toBe(200);
    const renamed = name();
    const r = await call('PATCH', `/admin/clients/${clientName}`, {
      body: { client_name: renamed, description: 'renamed' },
    });
    expect(r.status).toBe(200);
    expect(r.body.client).toMatchObject({ client_name: renamed, description: 'renamed' });
    await expect(services().clients.database(clientName)).rejects.toBeInstanceOf(UnknownClientError);
    expect(await currentDatabase(renamed)).toBe(new URL(b.url).pathname.slice(1));
    // Its route and config override follow the name.
    const routes = (await call('GET', '/admin/public-routes')).body.data.routes;
    expect(routes.find((x: { route_key: string }) => x.route_key === routeKey)?.client_name).toBe(renamed);
    expect((await call('GET', `/admin/client-configs/${renamed}`)).body.data.config.config).toEqual({ k: 1 });
    expectError(await call('GET', `/admin/client-configs/${clientName}`), 404);

    expectError(await call('PATCH', `/admin/clients/${name()}`, { body: { description: 'x' } }), 404, 'not_found');
    expectError(await call('PATCH', `/admin/clients/${renamed}`, { body: { pg_uri: 'nope' } }), 400);
    expectError(await call('PATCH', `/admin/clients/${renamed}`, { body: { client_name: 'local' } }), 409);
  });

  it('freeze → database() throws ClientUnavailableError (503); unfreeze restores it; 404 unknown', async () => {
    const db = await newDatabase();
    const clientName = name();
    await call('POST', '/admin/clients', { body: { client_name: clientName, pg_uri: db.url } });
    const frozen = await call('PUT', `/admin/clients/${clientName}/freeze`, { body: { is_frozen: true } });
    expect(frozen.status).toBe(200);
    valid('PUT', `/admin/clients/${clientName}/freeze`, frozen);
    expect(frozen.body.client.is_frozen).toBe(true);
    const err = await services()
      .clients.database(clientName)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientUnavailableError);
    expect((err as ClientUnavailableError).httpStatus).toBe(503);
    expect((err as ClientUnavailableError).code).toBe('client_frozen');
    const thawed = await call('PUT', `/admin/clients/${clientName}/freeze`, { body: { is_frozen: false } });
    expect(thawed.body.client.is_frozen).toBe(false);
    expect(await currentDatabase(clientName)).toBe(new URL(db.url).pathname.slice(1));
    expectError(await call('PUT', `/admin/clients/${name()}/freeze`, { body: { is_frozen: true } }), 404);
    expectError(await call('PUT', `/admin/clients/${clientName}/freeze`, { body: {} }), 400);
  });

  it('soft delete: removed from routing and the list, the row kept, the name free again; 404 twice', async () => {
    const db = await newDatabase();
    const clientName = name();
    const first = await call('POST', '/admin/clients', { body: { client_name: clientName, pg_uri: db.url } });
    await currentDatabase(clientName);
    const routeKey = `del-${randomUUID().slice(0, 8)}`;
    await call('POST', '/admin/public-routes', {
      body: { route_key: routeKey, client_name: clientName, allowed_ops: ['fetch'] },
    });
    const deleted = await call('DELETE', `/admin/clients/${clientName}`);
    expect(deleted.status).toBe(200);
    valid('DELETE', `/admin/clients/${clientName}`, deleted);
    expect(deleted.body.client.deleted_at).not.toBeNull();
    await expect(services().clients.database(clientName)).rejects.toBeInstanceOf(UnknownClientError);
    expect(services().clients.poolConnected(clientName)).toBe(false);
    const list = await call('GET', '/admin/clients');
    expect(list.body.clients.map((c: { client_name: string }) => c.client_name)).not.toContain(clientName);
    expect(await t.app.services.prisma.athenaClient.count({ where: { id: first.body.client.id } })).toBe(1);
    expectError(await call('DELETE', `/admin/clients/${clientName}`), 404);
    // Its public route is kept but no longer active (a new client of the name does not inherit a live alias).
    const route = (await call('GET', '/admin/public-routes')).body.data.routes.find(
      (x: { route_key: string }) => x.route_key === routeKey,
    );
    expect(route).toMatchObject({ client_name: clientName, is_active: false });
    const again = await call('POST', '/admin/clients', { body: { client_name: clientName, pg_uri: db.url } });
    expect(again.status).toBe(201);
    expect(again.body.client.id).not.toBe(first.body.client.id);
  });

  it('pg_uri_env_var: resolved when the pool is built, unconfigured (503) while the variable is unset', async () => {
    const db = await newDatabase();
    const clientName = name();
    const variable = `ATHENA_TEST_URI_${randomUUID().slice(0, 8).toUpperCase()}`;
    const r = await call('POST', '/admin/clients', { body: { client_name: clientName, pg_uri_env_var: variable } });
    expect(r.status).toBe(201);
    expect(r.body.client).toMatchObject({ pg_uri: null, pg_uri_env_var: variable });
    const err = await services()
      .clients.database(clientName)
      .catch((e: unknown) => e);
    expect((err as ClientUnavailableError).code).toBe('client_unconfigured');
    process.env[variable] = db.url;
    try {
      expect(await currentDatabase(clientName)).toBe(new URL(db.url).pathname.slice(1));
    } finally {
      delete process.env[variable];
    }
  });

  it('pool statistics list the open pools in the envelope', async () => {
    await currentDatabase('local');
    const r = await call('GET', '/admin/pools');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'success', data: { pools: expect.any(Array) } });
    const local = r.body.data.pools.find((p: { client_name: string }) => p.client_name === 'local');
    expect(local).toMatchObject({ engine: expect.stringMatching(/^(postgres|pglite)$/), max: expect.any(Number) });
    expect(local.init_time).toMatch(/^\d{4}-/);
  });
});

describe('client configs', () => {
  it('put / get / list / delete, 404 without an override, 400 for a non-object config', async () => {
    const clientName = name('cfg');
    expectError(await call('GET', `/admin/client-configs/${clientName}`), 404, 'not_found');
    const put = await call('PUT', `/admin/client-configs/${clientName}`, {
      body: { config: { insert_window_ms: 50, flags: { a: true } }, metadata: { by: 'test' } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      status: 'success',
      data: { config: { client_name: clientName, config: { insert_window_ms: 50 }, metadata: { by: 'test' } } },
    });
    const replaced = await call('PUT', `/admin/client-configs/${clientName}`, { body: { config: { x: 1 } } });
    expect(replaced.body.data.config).toMatchObject({ config: { x: 1 }, metadata: null });
    expect((await call('GET', `/admin/client-configs/${clientName}`)).body.data.config.config).toEqual({ x: 1 });
    const list = await call('GET', '/admin/client-configs');
    expect(list.body.data.configs.map((c: { client_name: string }) => c.client_name)).toContain(clientName);
    expect(list.body.data.total).toBe(list.body.data.configs.length);
    expectError(await call('PUT', `/admin/client-configs/${clientName}`, { body: { config: [1, 2] } }), 400);
    expectError(await call('PUT', `/admin/client-configs/${clientName}`, { body: {} }), 400);
    expectError(await call('PUT', '/admin/client-configs/Bad%20Name', { body: { config: {} } }), 400);
    const del = await call('DELETE', `/admin/client-configs/${clientName}`);
    expect(del.status).toBe(200);
    expect(del.body.data.deleted).toBe(true);
    expectError(await call('GET', `/admin/client-configs/${clientName}`), 404);
    expectError(await call('DELETE', `/admin/client-configs/${clientName}`), 404);
  });

  it('seed-from-config seeds clients (source config) and configs, repeatably; a broken file is 400', async () => {
    const db = await newDatabase();
    const seeded = name('seed');
    const config = {
      clients: [
        { client_name: seeded, pg_uri: db.url, description: 'from file' },
        { client_name: 'local', pg_uri: db.url },
      ],
      client_config: { [seeded]: { admission: { per_client_limit: 10 } } },
    };
    await writeFile(seedFile, JSON.stringify(config));
    const first = await call('POST', '/admin/client-configs/seed-from-config');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.data).toMatchObject({ clients_seeded: 1, configs_seeded: 1, skipped: ['local'] });
    const row = await t.app.services.prisma.athenaClient.findFirstOrThrow({ where: { clientName: seeded } });
    expect(row.source).toBe('config');
    expect(row.lastSyncedFromConfigAt).not.toBeNull();
    expect(await currentDatabase(seeded)).toBe(new URL(db.url).pathname.slice(1));

    // Repeat with a changed config: upserted, same row, newer sync time.
    config.client_config[seeded] = { admission: { per_client_limit: 20 } };
    await writeFile(seedFile, JSON.stringify(config));
    const second = await call('POST', '/admin/client-configs/seed-from-config');
    expect(second.status).toBe(200);
    const again = await t.app.services.prisma.athenaClient.findMany({ where: { clientName: seeded, deletedAt: null } });
    expect(again).toHaveLength(1);
    expect(again[0]?.id).toBe(row.id);
    const resynced = again[0]?.lastSyncedFromConfigAt ?? new Date(0);
    expect(resynced.getTime()).toBeGreaterThanOrEqual((row.lastSyncedFromConfigAt ?? new Date()).getTime());
    const cfg = await call('GET', `/admin/client-configs/${seeded}`);
    expect(cfg.body.data.config.config).toEqual({ admission: { per_client_limit: 20 } });
    // The local client was left alone.
    const local = await t.app.services.prisma.athenaClient.findFirstOrThrow({
      where: { clientName: 'local', deletedAt: null },
    });
    expect(local.source).not.toBe('config');

    await writeFile(seedFile, '{"clients": [{"client_name": "x"}]}');
    expectError(await call('POST', '/admin/client-configs/seed-from-config'), 400);
    const untouched = name('seed');
    await writeFile(
      seedFile,
      JSON.stringify({
        clients: [
          { client_name: untouched, pg_uri: db.url },
          { client_name: name(), pg_uri: 'http://x' },
        ],
      }),
    );
    expectError(await call('POST', '/admin/client-configs/seed-from-config'), 400);
    expect(await t.app.services.prisma.athenaClient.count({ where: { clientName: untouched } })).toBe(0);
    await writeFile(seedFile, 'not json');
    expectError(await call('POST', '/admin/client-configs/seed-from-config'), 400);
  });
});

describe('public routes, service routes, tenant hostnames', () => {
  it('public routes: create 201, duplicate 409, validation 400, update, delete, 404', async () => {
    const routeKey = `r-${randomUUID().slice(0, 8)}`;
    const created = await call('POST', '/admin/public-routes', {
      header: 'x-athena-key',
      body: { route_key: routeKey, client_name: 'local', allowed_ops: ['fetch', 'query', 'fetch'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.data.route).toMatchObject({
      route_key: routeKey,
      client_name: 'local',
      allowed_ops: ['fetch', 'query'],
      is_active: true,
    });
    expectError(
      await call('POST', '/admin/public-routes', {
        body: { route_key: routeKey, client_name: 'local', allowed_ops: ['fetch'] },
      }),
      409,
      'conflict',
    );
    expectError(
      await call('POST', '/admin/public-routes', {
        body: { route_key: 'x1', client_name: 'local', allowed_ops: ['drop'] },
      }),
      400,
    );
    expectError(
      await call('POST', '/admin/public-routes', { body: { route_key: 'x2', client_name: 'local', allowed_ops: [] } }),
      400,
    );
    expectError(
      await call('POST', '/admin/public-routes', {
        body: { route_key: 'x3', client_name: name(), allowed_ops: ['fetch'] },
      }),
      400,
      'unknown_client',
    );
    expectError(await call('POST', '/admin/public-routes', { body: { route_key: 'x4', client_name: 'local' } }), 400);
    const list = await call('GET', '/admin/public-routes');
    expect(list.body.data.routes.map((r: { route_key: string }) => r.route_key)).toContain(routeKey);

    const patched = await call('PATCH', `/admin/public-routes/${routeKey}`, {
      body: { allowed_ops: ['insert'], is_active: false },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data.route).toMatchObject({ allowed_ops: ['insert'], is_active: false });
    expectError(await call('PATCH', `/admin/public-routes/${routeKey}`, { body: { allowed_ops: 'fetch' } }), 400);
    expectError(await call('PATCH', '/admin/public-routes/missing-route', { body: {} }), 404);
    expect((await call('DELETE', `/admin/public-routes/${routeKey}`)).status).toBe(200);
    expectError(await call('DELETE', `/admin/public-routes/${routeKey}`), 404);
  });

  it('service routes: the upstream passes the outbound guard; create, list, update, delete', async () => {
    const routeKey = `svc-${randomUUID().slice(0, 8)}`;
    const body = {
      route_key: routeKey,
      service_key: 'api',
      client_name: 'local',
      upstream_url: 'https://93.184.215.14/v1',
    };
    const created = await call('POST', '/admin/service-routes', { body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.data.route).toMatchObject({ route_key: routeKey, service_key: 'api', is_active: true });
    expectError(await call('POST', '/admin/service-routes', { body }), 409);
    for (const upstream of [
      'http://127.0.0.1:8080/',
      'http://169.254.169.254/',
      'https://u:p@93.184.215.14/',
      'ftp://x/',
    ]) {
      expectError(
        await call('POST', '/admin/service-routes', {
          body: { ...body, service_key: 'other', upstream_url: upstream },
        }),
        400,
      );
    }
    expectError(await call('POST', '/admin/service-routes', { body: { ...body, service_key: undefined } }), 400);
    const list = await call('GET', '/admin/service-routes');
    expect(list.body.data.routes.some((r: { route_key: string }) => r.route_key === routeKey)).toBe(true);
    const patched = await call('PATCH', `/admin/service-routes/${routeKey}/api`, {
      body: { upstream_url: 'https://93.184.215.15/v2', metadata: { team: 'x' } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.data.route).toMatchObject({
      upstream_url: 'https://93.184.215.15/v2',
      metadata: { team: 'x' },
    });
    expectError(
      await call('PATCH', `/admin/service-routes/${routeKey}/api`, { body: { upstream_url: 'http://10.0.0.1/' } }),
      400,
    );
    expectError(await call('PATCH', `/admin/service-routes/${routeKey}/nope`, { body: {} }), 404);
    expect((await call('DELETE', `/admin/service-routes/${routeKey}/api`)).status).toBe(200);
    expectError(await call('DELETE', `/admin/service-routes/${routeKey}/api`), 404);
    expectError(await call('GET', '/admin/service-routes', { key: null }), 401);
  });

  it('tenant hostnames: 404 unknown client; persist_in_catalog → client metadata; enable_http_route → route', async () => {
    const db = await newDatabase();
    const clientName = name('tenant');
    await call('POST', '/admin/clients', { body: { client_name: clientName, pg_uri: db.url } });
    const tenant = `acme-${randomUUID().slice(0, 6)}`;
    expectError(
      await call('PUT', `/admin/tenant-hostnames/${tenant}`, { header: 'x-athena-key', body: { client_name: name() } }),
      404,
    );
    const r = await call('PUT', `/admin/tenant-hostnames/${tenant}`, {
      header: 'x-athena-key',
      body: {
        client_name: clientName,
        allowed_ops: ['fetch', 'insert'],
        enable_http_route: true,
        public_host: `${tenant}.example.com`,
        public_port: 443,
        persist_in_catalog: true,
        route_metadata: { plan: 'pro' },
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.status).toBe('success');
    expect(r.body.message).toMatch(/no DNS or TLS/);
    expect(r.body.data).toMatchObject({
      dns_configured: false,
      tenant: { tenant, client_name: clientName, public_host: `${tenant}.example.com`, public_port: 443 },
      public_route: { route_key: tenant, client_name: clientName, allowed_ops: ['fetch', 'insert'] },
    });
    const row = await t.app.services.prisma.athenaClient.findFirstOrThrow({ where: { clientName, deletedAt: null } });
    expect((row.metadata as any).tenant_hostnames[tenant]).toMatchObject({ public_host: `${tenant}.example.com` });
    const routes = await call('GET', '/admin/public-routes');
    expect(routes.body.data.routes.find((x: { route_key: string }) => x.route_key === tenant)).toBeTruthy();

    // Update: keeps the client, changes ops (the route follows), drops it from the catalog metadata.
    const again = await call('PUT', `/admin/tenant-hostnames/${tenant}`, {
      body: { allowed_ops: ['query'], persist_in_catalog: false },
    });
    expect(again.status).toBe(200);
    expect(again.body.data.public_route.allowed_ops).toEqual(['query']);
    const after = await t.app.services.prisma.athenaClient.findFirstOrThrow({ where: { clientName, deletedAt: null } });
    expect((after.metadata as any).tenant_hostnames?.[tenant]).toBeUndefined();
    expect(await t.app.services.prisma.athenaTenantHostname.count({ where: { tenant } })).toBe(1);

    expectError(await call('PUT', `/admin/tenant-hostnames/${tenant}`, { body: { public_port: 70000 } }), 400);
    expectError(await call('PUT', `/admin/tenant-hostnames/${tenant}`, { body: { public_host: 'bad host!' } }), 400);
    expectError(await call('PUT', `/admin/tenant-hostnames/new-${tenant}`, { body: {} }), 400);
    expectError(await call('PUT', `/admin/tenant-hostnames/${tenant}`, { key: null, body: {} }), 401);
  });
});

describe('GraphQL', () => {
  it('athenaClients is a Relay connection of Nodes with totalCount; node(id) resolves a client', async () => {
    const db = await newDatabase();
    const clientName = name('gql');
    const created = await gql(
      t.baseUrl,
      AthenaTestClientCreateDocument,
      { input: { clientName, pgUri: db.url, description: 'from graphql' } },
      t.adminKey,
    );
    const c = created.body.data?.createAthenaClient;
    expect(c?.__typename).toBe('MutationCreateAthenaClientSuccess');
    if (c?.__typename !== 'MutationCreateAthenaClientSuccess') return;
    expect(c.data.source).toBe('catalog');

    const page = await gql(t.baseUrl, AthenaTestClientsListDocument, { first: 1 }, t.adminKey);
    const conn = page.body.data?.athenaClients;
    if (conn?.__typename !== 'QueryAthenaClientsSuccess') throw new Error(JSON.stringify(page.body));
    expect(conn.data.edges).toHaveLength(1);
    expect(conn.data.pageInfo.hasNextPage).toBe(true);
    expect(conn.data.totalCount).toBeGreaterThanOrEqual(2);
    const all = await gql(t.baseUrl, AthenaTestClientsListDocument, { first: 1000, reveal: true }, t.adminKey);
    const allConn = all.body.data?.athenaClients;
    if (allConn?.__typename !== 'QueryAthenaClientsSuccess') throw new Error('list failed');
    expect(allConn.data.edges.map((e) => e.node.clientName)).toContain(clientName);
    expect(allConn.data.totalCount).toBe(allConn.data.edges.length);
    const mine = allConn.data.edges.find((e) => e.node.clientName === clientName)?.node;
    expect(mine?.pgUri && new URL(mine.pgUri).pathname).toBe(new URL(db.url).pathname);

    const node = await gql(t.baseUrl, AthenaTestClientNodeDocument, { id: c.data.id }, t.adminKey);
    expect(node.body.data?.node).toMatchObject({ __typename: 'AthenaClient', clientName, deletedAt: null });
    // Without the admin key the node is null, like an unknown id.
    const hidden = await gql(t.baseUrl, AthenaTestClientNodeDocument, { id: c.data.id });
    expect(hidden.body.data?.node ?? null).toBeNull();

    const one = await gql(t.baseUrl, AthenaTestClientGetDocument, { clientName }, t.adminKey);
    expect(one.body.data?.athenaClient).toMatchObject({ data: { clientName, config: null } });
    const missing = await gql(t.baseUrl, AthenaTestClientGetDocument, { clientName: name() }, t.adminKey);
    expect(missing.body.data?.athenaClient).toMatchObject({ __typename: 'AthenaError', code: 'not_found' });

    const dup = await gql(
      t.baseUrl,
      AthenaTestClientCreateDocument,
      { input: { clientName, pgUri: db.url } },
      t.adminKey,
    );
    expect(dup.body.data?.createAthenaClient).toMatchObject({ __typename: 'AthenaError', code: 'conflict' });
    const badMeta = await gql(
      t.baseUrl,
      AthenaTestClientCreateDocument,
      { input: { clientName: name(), pgUri: db.url, metadata: [1] } },
      t.adminKey,
    );
    expect(badMeta.body.data?.createAthenaClient).toMatchObject({ __typename: 'AthenaError', code: 'invalid_request' });

    const upd = await gql(
      t.baseUrl,
      AthenaTestClientUpdateDocument,
      { clientName, input: { description: 'changed' } },
      t.adminKey,
    );
    expect(upd.body.data?.updateAthenaClient, JSON.stringify(upd.body)).toMatchObject({
      data: { description: 'changed' },
    });
    const fr = await gql(t.baseUrl, AthenaTestClientFreezeDocument, { clientName, isFrozen: true }, t.adminKey);
    expect(fr.body.data?.setAthenaClientFrozen).toMatchObject({ data: { isFrozen: true } });
    const del = await gql(t.baseUrl, AthenaTestClientDeleteDocument, { clientName }, t.adminKey);
    expect(del.body.data?.deleteAthenaClient).toMatchObject({ data: { id: c.data.id } });
    // A deleted client's node shows its tombstone.
    const tomb = await gql(t.baseUrl, AthenaTestClientNodeDocument, { id: c.data.id }, t.adminKey);
    expect((tomb.body.data?.node as { deletedAt?: string } | null)?.deletedAt).toBeTruthy();
  });

  it('needs the admin: anonymous callers get errors, not data', async () => {
    const r = await gql(t.baseUrl, AthenaTestClientsListDocument, { first: 5 });
    expect(r.body.data?.athenaClients ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions?.code).toMatch(/UNAUTHENTICATED|FORBIDDEN/);
    const pools = await gql(t.baseUrl, AthenaTestPoolsDocument, {}, t.adminKey);
    expect(pools.body.data?.athenaPools.__typename).toBe('QueryAthenaPoolsSuccess');
  });

  it('configs, public routes and tenant hostnames through GraphQL', async () => {
    const clientName = name('gcfg');
    const up = await gql(t.baseUrl, AthenaTestConfigUpsertDocument, { clientName, config: { a: 1 } }, t.adminKey);
    expect(up.body.data?.upsertAthenaClientConfig).toMatchObject({ data: { clientName, config: { a: 1 } } });
    const bad = await gql(t.baseUrl, AthenaTestConfigUpsertDocument, { clientName, config: 'x' }, t.adminKey);
    expect(bad.body.data?.upsertAthenaClientConfig).toMatchObject({
      __typename: 'AthenaError',
      code: 'invalid_request',
    });
    const configs = await gql(t.baseUrl, AthenaTestConfigsDocument, {}, t.adminKey);
    const cc = configs.body.data?.athenaClientConfigs;
    if (cc?.__typename !== 'QueryAthenaClientConfigsSuccess') throw new Error('configs failed');
    expect(cc.data.edges.map((e) => e.node.clientName)).toContain(clientName);

    const routeKey = `g-${randomUUID().slice(0, 8)}`;
    const route = await gql(
      t.baseUrl,
      AthenaTestPublicRouteCreateDocument,
      { input: { routeKey, clientName: 'local', allowedOps: ['fetch', 'delete'] } },
      t.adminKey,
    );
    expect(route.body.data?.createAthenaPublicRoute).toMatchObject({
      data: { routeKey, allowedOps: ['fetch', 'delete'] },
    });
    const dup = await gql(
      t.baseUrl,
      AthenaTestPublicRouteCreateDocument,
      { input: { routeKey, clientName: 'local', allowedOps: ['fetch'] } },
      t.adminKey,
    );
    expect(dup.body.data?.createAthenaPublicRoute).toMatchObject({ __typename: 'AthenaError', code: 'conflict' });
    const routes = await gql(t.baseUrl, AthenaTestPublicRoutesDocument, {}, t.adminKey);
    const rc = routes.body.data?.athenaPublicRoutes;
    if (rc?.__typename !== 'QueryAthenaPublicRoutesSuccess') throw new Error('routes failed');
    expect(rc.data.totalCount).toBeGreaterThanOrEqual(1);

    const tenant = `gt-${randomUUID().slice(0, 6)}`;
    const host = await gql(
      t.baseUrl,
      AthenaTestTenantHostnameDocument,
      { tenant, input: { clientName: 'local', publicHost: `*.${tenant}.example.org` } },
      t.adminKey,
    );
    expect(host.body.data?.upsertAthenaTenantHostname).toMatchObject({
      data: { dnsConfigured: false, hostname: { tenant }, publicRoute: { routeKey: tenant, allowedOps: ['fetch'] } },
    });
  });
});

describe('linkPolykomosDatabaseToAthena (one credential, two products)', () => {
  // Polykomos provisions only on a configured Postgres engine (test/kit/polykomos.ts finds the local server).
  const engine = polykomosPostgresUrl !== '';
  if (!engine)
    console.warn(`linkPolykomosDatabaseToAthena skipped on the ${testDb} pass: no Postgres engine for Polykomos`);

  it.skipIf(!engine)(
    'the owner links its database: provisioned client, same credential, queries run (needs a Postgres engine)',
    async () => {
      const call = polykomosClient(t);
      const key = await createPolykomosKey(t);
      const other = await createPolykomosKey(t);
      const created = await call('POST', '/api/v1/databases?wait=true&timeout=60', {
        key: key.raw,
        body: { name: `athena-${randomUUID().slice(0, 6)}` },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const uuid = created.body.data.uuid as string;
      try {
        const clientName = name('pk');
        // Another owner's key cannot see it (not found, like an unknown uuid); anonymous callers are refused.
        const stranger = await gql(
          t.baseUrl,
          AthenaTestLinkPolykomosDocument,
          { databaseUuid: uuid, clientName },
          other.raw,
        );
        expect(stranger.body.data?.linkPolykomosDatabaseToAthena).toMatchObject({
          __typename: 'AthenaError',
          code: 'not_found',
        });
        const anon = await gql(t.baseUrl, AthenaTestLinkPolykomosDocument, { databaseUuid: uuid, clientName });
        expect(anon.body.data?.linkPolykomosDatabaseToAthena ?? null).toBeNull();

        const linked = await gql(
          t.baseUrl,
          AthenaTestLinkPolykomosDocument,
          { databaseUuid: uuid, clientName },
          key.raw,
        );
        expect(linked.body.data?.linkPolykomosDatabaseToAthena, JSON.stringify(linked.body)).toMatchObject({
          __typename: 'MutationLinkPolykomosDatabaseToAthenaSuccess',
          data: { clientName, source: 'provisioned', polykomosDatabaseUuid: uuid },
        });
        const view = linked.body.data?.linkPolykomosDatabaseToAthena;
        if (view?.__typename === 'MutationLinkPolykomosDatabaseToAthenaSuccess') {
          expect(view.data.pgUri).toContain('***');
          expect(view.data.pgUri).not.toContain(created.body.data.db_password);
        }
        expect(await currentDatabase(clientName)).toBe(created.body.data.db_name);
        const got = await gql(t.baseUrl, AthenaTestClientGetDocument, { clientName }, t.adminKey);
        expect(got.body.data?.athenaClient).toMatchObject({
          data: { source: 'provisioned', polykomosDatabaseUuid: uuid },
        });
        // One live client per database; the name is taken too.
        const twice = await gql(
          t.baseUrl,
          AthenaTestLinkPolykomosDocument,
          { databaseUuid: uuid, clientName: name('pk') },
          key.raw,
        );
        expect(twice.body.data?.linkPolykomosDatabaseToAthena).toMatchObject({
          __typename: 'AthenaError',
          code: 'conflict',
        });
        const unknown = await gql(
          t.baseUrl,
          AthenaTestLinkPolykomosDocument,
          { databaseUuid: randomUUID(), clientName: name('pk') },
          t.adminKey,
        );
        expect(unknown.body.data?.linkPolykomosDatabaseToAthena).toMatchObject({
          __typename: 'AthenaError',
          code: 'not_found',
        });
        expect((await callAthena('DELETE', `/admin/clients/${clientName}`)).status).toBe(200);
      } finally {
        await call('DELETE', `/api/v1/databases/${uuid}`, { key: key.raw });
      }
    },
  );
});
