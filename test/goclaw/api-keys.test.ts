import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';

let t: TestApp;
const contract = await contractValidator('goclaw');
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function call(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string } = {}) {
  const res = await fetch(`${t.baseUrl}/goclaw${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined || opts.raw !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Calls and checks the response body against the contract's schema for that operation and status. */
async function contractCall(method: string, path: string, opts: Parameters<typeof call>[2] = {}) {
  const res = await call(method, path, opts);
  contract.expectValidResponse(method, path, res.status, res.body);
  return res;
}

describe('GoClaw /v1/api-keys through the REST shim', () => {
  it('creates (201, raw key once), lists (bare array, no hash) and revokes (200) keys', async () => {
    const created = await contractCall('POST', '/v1/api-keys', {
      token: t.adminKey,
      body: { name: 'ci-deploy', scopes: ['operator.read', 'operator.write'], expires_in: 2592000 },
    });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^goclaw_[0-9a-f]{32}$/);
    expect(created.body.prefix).toBe(created.body.key.slice(0, 8));
    expect(created.body.scopes).toEqual(['operator.read', 'operator.write']);
    expect(Date.parse(created.body.expires_at) - Date.now()).toBeGreaterThan(2591000 * 1000);

    const list = await contractCall('GET', '/v1/api-keys', { token: t.adminKey });
    expect(list.status).toBe(200);
    expect(Array.isArray(list.body)).toBe(true);
    const mine = list.body.find((k: { id: string }) => k.id === created.body.id);
    expect(mine).toMatchObject({ name: 'ci-deploy', revoked: false, created_by: 'admin', last_used_at: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    expect(Object.keys(mine)).not.toContain('key_hash');

    const revoked = await contractCall('DELETE', `/v1/api-keys/${created.body.id}`, { token: t.adminKey });
    expect(revoked).toMatchObject({ status: 200, body: { status: 'revoked' } });
    const after = await call('GET', '/v1/api-keys', { token: t.adminKey });
    expect(after.body.find((k: { id: string }) => k.id === created.body.id).revoked).toBe(true);
    expect((await call('DELETE', `/v1/api-keys/${created.body.id}`, { token: t.adminKey })).status).toBe(200);
  });

  it('accepts GoClaw keys: operator.admin manages keys, operator.read gets the contract 401, revoked keys 401', async () => {
    const admin = await call('POST', '/v1/api-keys', {
      token: t.adminKey,
      body: { name: 'adm', scopes: ['operator.admin'] },
    });
    const reader = await call('POST', '/v1/api-keys', {
      token: admin.body.key,
      body: { name: 'rd', scopes: ['operator.read'] },
    });
    expect(reader.status).toBe(201);
    const listed = await call('GET', '/v1/api-keys', { token: admin.body.key });
    expect(listed.body.find((k: { id: string }) => k.id === reader.body.id).created_by).toBe(`apikey:${admin.body.id}`);

    // The contract lists no 403 for this path: a key without the right answers its 401, naming no resolver.
    const denied = await contractCall('GET', '/v1/api-keys', { token: reader.body.key });
    expect(denied.status).toBe(401);
    expect(denied.body.error).toBe('This credential may not do this');
    expect(JSON.stringify(denied.body)).not.toMatch(/Query\.|resolve/);

    await call('DELETE', `/v1/api-keys/${admin.body.id}`, { token: t.adminKey });
    const gone = await contractCall('GET', '/v1/api-keys', { token: admin.body.key });
    expect(gone.status).toBe(401);
  });

  it('only shows GoClaw keys, and keys of other products do not authenticate here', async () => {
    const atrium = await gql(
      t.baseUrl,
      `mutation { createApiKey(input: { product: atrium, name: "platform-only", scopes: ["admin"] }) {
        ... on MutationCreateApiKeySuccess { data { rawKey apiKey { uuid } } } } }`,
      {},
      t.adminKey,
    );
    const { rawKey, apiKey } = atrium.body.data.createApiKey.data;
    const list = await call('GET', '/v1/api-keys', { token: t.adminKey });
    expect(list.body.map((k: { id: string }) => k.id)).not.toContain(apiKey.uuid);
    expect((await call('GET', '/v1/api-keys', { token: rawKey })).status).toBe(401);
    expect((await call('DELETE', `/v1/api-keys/${apiKey.uuid}`, { token: t.adminKey })).status).toBe(404);
  });
});

describe('GoClaw bad input', () => {
  it('401 without or with a wrong bearer, in the contract error shape', async () => {
    for (const token of [undefined, 'goclaw_00000000000000000000000000000000', 'x'.repeat(5000)]) {
      const res = await contractCall('GET', '/v1/api-keys', { token });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: expect.any(String) });
    }
    const basic = await fetch(`${t.baseUrl}/goclaw/v1/api-keys`, { headers: { authorization: `Basic ${t.adminKey}` } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toMatch(/Bearer/);
  });

  it('400 for malformed JSON, missing fields, wrong types and scopes outside the enum', async () => {
    const cases = [
      { raw: '{"name": "x", ' },
      { body: { scopes: ['operator.read'] } },
      { body: { name: 42, scopes: ['operator.read'] } },
      { body: { name: 'x', scopes: 'operator.read' } },
      { body: { name: 'x', scopes: ['operator.root'] } },
      { body: { name: 'x', scopes: [], expires_in: 'soon' } },
      { body: { name: 'x', scopes: [], expires_in: -1 } },
      { body: { name: '', scopes: [] } },
    ];
    for (const c of cases) {
      const res = await contractCall('POST', '/v1/api-keys', { token: t.adminKey, ...c });
      expect(res.status, JSON.stringify(c)).toBe(400);
      expect(res.body).toEqual({ error: expect.any(String) });
    }
  });

  it('400 for a non-UUID id, 404 for an unknown one', async () => {
    const bad = await call('DELETE', '/v1/api-keys/not-a-uuid', { token: t.adminKey });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.any(String) });
    const unknown = await contractCall('DELETE', '/v1/api-keys/7b0f4a53-3c43-4a0c-9d0f-6a1f6f2f2f2f', {
      token: t.adminKey,
    });
    expect(unknown.status).toBe(404);
  });

  it('413 for an oversized body', async () => {
    const res = await call('POST', '/v1/api-keys', {
      token: t.adminKey,
      raw: JSON.stringify({ name: 'x'.repeat(3 * 1024 * 1024), scopes: [] }),
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: expect.any(String) });
  });

  it('serves the original contract document', async () => {
    const res = await fetch(`${t.baseUrl}/goclaw/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      info: { title: string };
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    expect(doc.info.title).toMatch(/GoClaw/);
    expect(doc.paths['/v1/api-keys']?.get?.operationId).toBeUndefined();
  });
});
