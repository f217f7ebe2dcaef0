import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  AthenaTestCreateAthenaKeyDocument,
  AthenaTestKeyNodeDocument,
  AthenaTestKeyRowsDocument,
  AthenaTestKeysConnectionDocument,
  AthenaTestSetEnforcementDocument,
} from '../generated/athena.ts';
import { gql } from '../kit/app.ts';
import { type AthenaTestApp, athenaRest, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';

/*
 * G4 through real HTTP: API keys (created through the admin API, shown once, used at once), rights CRUD and the
 * rights catalog, the enforcement switch (global and per client), and what a change does on the next request —
 * on REST and GraphQL alike. Every JSON body the contract defines is checked against it.
 */

let t: AthenaTestApp;
let contract: ContractExpectations;

const fetchNotes = (key: string | null, client?: string | null) =>
  athenaRest(t, 'POST', '/gateway/fetch', { key, client, body: { table_name: 'g4_notes' } });

async function createKey(body: Record<string, unknown>) {
  const res = await athenaRest(t, 'POST', '/admin/api-keys', { body });
  expect(res.status, res.text).toBe(201);
  contract.expectValidResponse('POST', '/admin/api-keys', 201, res.body);
  return res.body as { api_key: string; record: { id: string; public_id: string; rights: string[] } };
}

beforeAll(async () => {
  t = await startAthenaApp();
  contract = await contractValidator('athena');
  await t.sql('CREATE TABLE g4_notes (id int PRIMARY KEY, body text)');
  await t.sql("INSERT INTO g4_notes VALUES (1, 'one')");
});

afterAll(async () => {
  await t?.close();
});

describe('API keys', () => {
  it('creates a key shown once as ath_<public>.<secret>, lists it, and the key works at once', async () => {
    const created = await createKey({
      name: 'reader',
      description: 'dashboard',
      client_name: t.client,
      rights: ['gateway.fetch.execute', 'gateway.fetch.execute'],
    });
    expect(created.api_key).toMatch(/^ath_[0-9a-f]{16}\.[0-9a-f]{48}$/);
    expect(created.api_key.slice(4, 20)).toBe(created.record.public_id);
    expect(created.record).toMatchObject({
      name: 'reader',
      description: 'dashboard',
      client_name: t.client,
      is_active: true,
      rights: ['gateway.fetch.execute'],
    });
    const ok = await fetchNotes(created.api_key);
    expect(ok.status, ok.text).toBe(200);

    const list = await athenaRest(t, 'GET', '/admin/api-keys');
    expect(list.status).toBe(200);
    contract.expectValidResponse('GET', '/admin/api-keys', 200, list.body);
    const mine = list.body.api_keys.find((k: { id: string }) => k.id === created.record.id);
    expect(mine.public_id).toBe(created.record.public_id);
    expect(JSON.stringify(list.body)).not.toContain(created.api_key.split('.')[1]);
    const paged = await athenaRest(t, 'GET', '/admin/api-keys?limit=1&offset=0');
    expect(paged.body.api_keys).toHaveLength(1);
  });

  it('refuses unknown rights, a missing name, a bad client name and a past expiry with 400', async () => {
    const unknown = await athenaRest(t, 'POST', '/admin/api-keys', { body: { name: 'x', rights: ['gateway.nope'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ status: 'error', code: 'unknown_right' });
    expect((await athenaRest(t, 'POST', '/admin/api-keys', { body: { rights: [] } })).status).toBe(400);
    expect(
      (await athenaRest(t, 'POST', '/admin/api-keys', { body: { name: 'x', client_name: 'Bad Name' } })).status,
    ).toBe(400);
    const past = await athenaRest(t, 'POST', '/admin/api-keys', {
      body: { name: 'x', expires_at: '2001-01-01T00:00:00Z' },
    });
    expect(past.status).toBe(400);
    const notAdmin = await athenaRest(t, 'POST', '/admin/api-keys', { key: null, body: { name: 'x' } });
    expect(notAdmin.status).toBe(401);
  });

  it('PATCH replaces the rights: a removed right is refused on the next request (REST and GraphQL)', async () => {
    const { api_key, record } = await createKey({
      name: 'shrinking',
      client_name: t.client,
      rights: ['gateway.fetch.execute', 'gateway.query.execute'],
    });
    expect((await fetchNotes(api_key)).status).toBe(200);
    const viaGraphql = await gql(
      t.baseUrl,
      AthenaTestKeyRowsDocument,
      { client: t.client, table: 'g4_notes' },
      api_key,
    );
    expect(viaGraphql.body.data?.athenaRows.__typename).toBe('QueryAthenaRowsSuccess');

    const patched = await athenaRest(t, 'PATCH', `/admin/api-keys/${record.id}`, {
      body: { rights: ['gateway.query.execute'], name: 'shrunk' },
    });
    expect(patched.status, patched.text).toBe(200);
    contract.expectValidResponse('PATCH', '/admin/api-keys/{id}', 200, patched.body);
    expect(patched.body.record).toMatchObject({ name: 'shrunk', rights: ['gateway.query.execute'] });

    const refused = await fetchNotes(api_key);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ status: 'error', code: 'forbidden' });
    const gqlRefused = await gql(
      t.baseUrl,
      AthenaTestKeyRowsDocument,
      { client: t.client, table: 'g4_notes' },
      api_key,
    );
    expect(gqlRefused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const unknown = await athenaRest(t, 'PATCH', `/admin/api-keys/${record.id}`, { body: { rights: ['nope.nope'] } });
    expect(unknown.status).toBe(400);
    const missing = await athenaRest(t, 'PATCH', '/admin/api-keys/00000000-0000-4000-8000-000000000000', {
      body: { name: 'x' },
    });
    expect(missing.status).toBe(404);
  });

  it('binding: a key bound to another client, or unbound, is refused; is_active false refuses it', async () => {
    const other = await createKey({ name: 'elsewhere', client_name: 'elsewhere', rights: ['gateway.fetch.execute'] });
    expect((await fetchNotes(other.api_key)).status).toBe(403);
    const unbound = await createKey({ name: 'unbound', rights: ['management.read'] });
    expect((await athenaRest(t, 'GET', '/management/capabilities', { key: unbound.api_key })).status).toBe(403);
    const rebound = await athenaRest(t, 'PATCH', `/admin/api-keys/${other.record.id}`, {
      body: { client_name: t.client },
    });
    expect(rebound.body.record.rights).toEqual(['gateway.fetch.execute']);
    expect((await fetchNotes(other.api_key)).status).toBe(200);
    await athenaRest(t, 'PATCH', `/admin/api-keys/${other.record.id}`, { body: { is_active: false } });
    expect((await fetchNotes(other.api_key)).status).toBe(401);
    await athenaRest(t, 'PATCH', `/admin/api-keys/${other.record.id}`, { body: { is_active: true } });
    expect((await fetchNotes(other.api_key)).status).toBe(200);
  });

  it('a right change ends the key’s open subscriptions (graphql-ws closes with 4403)', async () => {
    const { api_key, record } = await createKey({
      name: 'subscriber',
      client_name: t.client,
      rights: ['gateway.fetch.execute', 'gateway.insert.execute'],
    });
    let code = 0;
    let delivered = () => {};
    const firstEvent = new Promise<void>((resolve) => {
      delivered = resolve;
    });
    const closed = new Promise<void>((resolve) => {
      const client = createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${api_key}` },
        retryAttempts: 0,
        on: {
          closed: (e) => {
            code = (e as { code: number }).code;
            resolve();
          },
        },
      });
      client.subscribe(
        {
          query: `subscription ($client: String!) {
            gatewayRowsChanged(client: $client, table: "g4_notes", select: [{ column: "body" }]) { op }
          }`,
          variables: { client: t.client },
        },
        { next: () => delivered(), error: () => {}, complete: () => {} },
      );
    });
    // Writes until the subscription is live (its set-up is asynchronous), then change the key's rights.
    for (let id = 100; ; id++) {
      const ins = await athenaRest(t, 'PUT', '/gateway/insert', {
        headers: { 'x-company-id': 'c1', 'x-organization-id': 'o1' },
        body: { table_name: 'g4_notes', insert_body: { id, body: 'x' } },
      });
      expect(ins.status, ins.text).toBe(200);
      const live = await Promise.race([
        firstEvent.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 200)),
      ]);
      if (live) break;
      if (id > 150) throw new Error('the subscription never delivered');
    }
    await athenaRest(t, 'PATCH', `/admin/api-keys/${record.id}`, { body: { rights: ['gateway.insert.execute'] } });
    await closed;
    expect(code).toBe(4403);
  }, 30_000);

  it('DELETE is soft: the key is refused on the next request, gone from lists, and 404 afterwards', async () => {
    const { api_key, record } = await createKey({
      name: 'doomed',
      client_name: t.client,
      rights: ['gateway.fetch.execute'],
    });
    expect((await fetchNotes(api_key)).status).toBe(200);
    const deleted = await athenaRest(t, 'DELETE', `/admin/api-keys/${record.id}`);
    expect(deleted.status).toBe(200);
    contract.expectValidResponse('DELETE', '/admin/api-keys/{id}', 200, deleted.body);
    expect(deleted.body).toEqual({ id: record.id });
    const refused = await fetchNotes(api_key);
    expect(refused.status).toBe(401);
    const list = await athenaRest(t, 'GET', '/admin/api-keys');
    expect(list.body.api_keys.some((k: { id: string }) => k.id === record.id)).toBe(false);
    expect((await athenaRest(t, 'DELETE', `/admin/api-keys/${record.id}`)).status).toBe(404);
    expect((await athenaRest(t, 'PATCH', `/admin/api-keys/${record.id}`, { body: { name: 'x' } })).status).toBe(404);
  });

  it('GraphQL: keys are Nodes in a connection; createAthenaApiKey answers the raw key once', async () => {
    const created = await gql(
      t.baseUrl,
      AthenaTestCreateAthenaKeyDocument,
      { input: { name: 'via graphql', clientName: t.client, rights: ['gateway.fetch.execute'] } },
      t.adminKey,
    );
    const r = created.body.data?.createAthenaApiKey;
    if (r?.__typename !== 'MutationCreateAthenaApiKeySuccess') throw new Error(JSON.stringify(created.body));
    expect(r.data.apiKey.startsWith(`ath_${r.data.key.publicId}.`)).toBe(true);
    const node = await gql(t.baseUrl, AthenaTestKeyNodeDocument, { id: r.data.key.id }, t.adminKey);
    expect(node.body.data?.node).toMatchObject({ __typename: 'AthenaApiKey', uuid: r.data.key.uuid });
    const conn = await gql(t.baseUrl, AthenaTestKeysConnectionDocument, {}, t.adminKey);
    const page = conn.body.data?.athenaApiKeys;
    if (page?.__typename !== 'QueryAthenaApiKeysSuccess') throw new Error(JSON.stringify(conn.body));
    expect(page.data.totalCount).toBeGreaterThanOrEqual(1);
    expect(page.data.edges.some((e) => e.node.uuid === r.data.key.uuid)).toBe(true);
    const bad = await gql(
      t.baseUrl,
      AthenaTestCreateAthenaKeyDocument,
      { input: { name: 'bad', rights: ['no.such'] } },
      t.adminKey,
    );
    expect(bad.body.data?.createAthenaApiKey).toMatchObject({ __typename: 'AthenaError', code: 'unknown_right' });
    const anonymous = await gql(t.baseUrl, AthenaTestKeysConnectionDocument, {});
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('rights', () => {
  it('CRUD of dynamic rights; the catalog lists native and dynamic; renames keep grants, deletes drop them', async () => {
    const created = await athenaRest(t, 'POST', '/admin/api-key-rights', {
      body: { name: 'reports.read', description: 'read reports' },
    });
    expect(created.status, created.text).toBe(201);
    contract.expectValidResponse('POST', '/admin/api-key-rights', 201, created.body);
    const id = created.body.right.id as string;
    expect((await athenaRest(t, 'POST', '/admin/api-key-rights', { body: { name: 'reports.read' } })).status).toBe(409);
    expect(
      (await athenaRest(t, 'POST', '/admin/api-key-rights', { body: { name: 'gateway.fetch.execute' } })).status,
    ).toBe(409);
    expect((await athenaRest(t, 'POST', '/admin/api-key-rights', { body: { name: 'Bad Name!' } })).status).toBe(400);

    const list = await athenaRest(t, 'GET', '/admin/api-key-rights');
    contract.expectValidResponse('GET', '/admin/api-key-rights', 200, list.body);
    expect(list.body.rights.map((r: { name: string }) => r.name)).toContain('reports.read');

    const catalog = await athenaRest(t, 'GET', '/admin/rights/catalog');
    expect(catalog.status).toBe(200);
    contract.expectValidResponse('GET', '/admin/rights/catalog', 200, catalog.body);
    expect(catalog.body.data.native).toContain('gateway.rpc.execute');
    expect(catalog.body.data.dynamic).toEqual(['reports.read']);

    const key = await createKey({ name: 'reporter', client_name: t.client, rights: ['reports.read'] });
    const renamed = await athenaRest(t, 'PATCH', `/admin/api-key-rights/${id}`, { body: { name: 'reports.view' } });
    expect(renamed.status).toBe(200);
    contract.expectValidResponse('PATCH', '/admin/api-key-rights/{id}', 200, renamed.body);
    const keys = await athenaRest(t, 'GET', '/admin/api-keys');
    const holder = keys.body.api_keys.find((k: { id: string }) => k.id === key.record.id);
    expect(holder.rights).toEqual(['reports.view']);

    const removed = await athenaRest(t, 'DELETE', `/admin/api-key-rights/${id}`);
    expect(removed.status).toBe(200);
    contract.expectValidResponse('DELETE', '/admin/api-key-rights/{id}', 200, removed.body);
    expect(removed.body).toEqual({ id });
    const after = await athenaRest(t, 'GET', '/admin/api-keys');
    expect(after.body.api_keys.find((k: { id: string }) => k.id === key.record.id).rights).toEqual([]);
    expect((await athenaRest(t, 'DELETE', `/admin/api-key-rights/${id}`)).status).toBe(404);
    expect((await athenaRest(t, 'PATCH', `/admin/api-key-rights/${id}`, { body: { name: 'x.y' } })).status).toBe(404);
  });
});

describe('enforcement switch', () => {
  it('global off lets keyless gateway requests through; a client override wins; deleting it falls back', async () => {
    const initial = await athenaRest(t, 'GET', '/admin/api-key-config');
    expect(initial.status).toBe(200);
    contract.expectValidResponse('GET', '/admin/api-key-config', 200, initial.body);
    expect(initial.body.global.enforce_api_keys).toBe(true);
    expect((await fetchNotes(null)).status).toBe(401);

    const off = await athenaRest(t, 'PUT', '/admin/api-key-config', { body: { enforce_api_keys: false } });
    expect(off.status).toBe(200);
    contract.expectValidResponse('PUT', '/admin/api-key-config', 200, off.body);
    expect(off.body.global.enforce_api_keys).toBe(false);
    expect((await fetchNotes(null)).status).toBe(200);
    // A presented key is still validated with enforcement off.
    expect((await fetchNotes('ath_0000000000000000.bogus')).status).toBe(401);
    // Management routes always need a key.
    expect((await athenaRest(t, 'GET', '/management/capabilities', { key: null })).status).toBe(401);

    const on = await athenaRest(t, 'PUT', `/admin/api-key-clients/${t.client}`, { body: { enforce_api_keys: true } });
    expect(on.status).toBe(200);
    contract.expectValidResponse('PUT', '/admin/api-key-clients/{client_name}', 200, on.body);
    expect(on.body.client).toMatchObject({ client_name: t.client, enforce_api_keys: true });
    expect((await fetchNotes(null)).status).toBe(401);
    const gqlAnon = await gql(t.baseUrl, AthenaTestKeyRowsDocument, { client: t.client, table: 'g4_notes' });
    expect(gqlAnon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const clients = await athenaRest(t, 'GET', '/admin/api-key-clients');
    contract.expectValidResponse('GET', '/admin/api-key-clients', 200, clients.body);
    expect(clients.body.clients).toEqual([expect.objectContaining({ client_name: t.client, enforce_api_keys: true })]);

    const dropped = await athenaRest(t, 'DELETE', `/admin/api-key-clients/${t.client}`);
    expect(dropped.status).toBe(200);
    contract.expectValidResponse('DELETE', '/admin/api-key-clients/{client_name}', 200, dropped.body);
    expect(dropped.body).toEqual({ client_name: t.client });
    expect((await fetchNotes(null)).status).toBe(200);
    const gqlOpen = await gql(t.baseUrl, AthenaTestKeyRowsDocument, { client: t.client, table: 'g4_notes' });
    expect(gqlOpen.body.data?.athenaRows.__typename).toBe('QueryAthenaRowsSuccess');
    expect((await athenaRest(t, 'DELETE', `/admin/api-key-clients/${t.client}`)).status).toBe(404);

    // Global on, the client off: the client's override wins.
    const back = await gql(t.baseUrl, AthenaTestSetEnforcementDocument, { enforce: true }, t.adminKey);
    expect(back.body.data?.setAthenaApiKeyEnforcement.__typename).toBe('MutationSetAthenaApiKeyEnforcementSuccess');
    expect((await fetchNotes(null)).status).toBe(401);
    await athenaRest(t, 'PUT', `/admin/api-key-clients/${t.client}`, { body: { enforce_api_keys: false } });
    expect((await fetchNotes(null)).status).toBe(200);
    const config = await athenaRest(t, 'GET', '/admin/api-key-config');
    expect(config.body).toMatchObject({
      global: { enforce_api_keys: true },
      clients: [{ client_name: t.client, enforce_api_keys: false }],
    });
    await athenaRest(t, 'DELETE', `/admin/api-key-clients/${t.client}`);
    expect((await fetchNotes(null)).status).toBe(401);
    expect((await athenaRest(t, 'PUT', '/admin/api-key-config', { body: { enforce_api_keys: 'yes' } })).status).toBe(
      400,
    );
  });
});
