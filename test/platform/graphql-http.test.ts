import { readFileSync } from 'node:fs';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printedSchema } from '../../src/schema.ts';
import {
  type CreateApiKeyInput,
  HttpAtriumKeysDocument,
  HttpAuditEventsDocument,
  HttpCreateAccessTokenDocument,
  HttpCreateKeyDocument,
  HttpFirstAuditEventDocument,
  HttpFirstKeyDocument,
  HttpNodeApiKeyDocument,
  HttpNodeIdDocument,
  HttpRevokeKeyDocument,
  HttpViewerDocument,
  HttpViewerProductDocument,
  HttpViewerScopesDocument,
  PlatformAuditEventSubjectDocument,
  PlatformRevokeApiKeyDocument,
  PlatformViewerKindDocument,
} from '../generated/platform.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const createKey = HttpCreateKeyDocument;

async function newKey(input: CreateApiKeyInput) {
  const res = await gql(t.baseUrl, createKey, { input }, t.adminKey);
  expect(res.body.errors).toBeUndefined();
  const created = res.body.data?.createApiKey;
  if (created?.__typename !== 'MutationCreateApiKeySuccess') throw new Error(`no key: ${JSON.stringify(res.body)}`);
  return created.data;
}

it('the committed schema/schema.graphql matches the code (run `npm run generate` when this fails)', () => {
  const committed = readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
  expect(printedSchema()).toBe(committed);
});

describe('viewer and credentials', () => {
  it('is anonymous without credentials and admin with the admin key', async () => {
    expect((await gql(t.baseUrl, HttpViewerDocument)).body.data?.viewer).toEqual({ kind: 'anonymous', id: null });
    expect((await gql(t.baseUrl, HttpViewerDocument, {}, t.adminKey)).body.data?.viewer).toEqual({
      kind: 'admin',
      id: 'admin',
    });
  });

  it('answers 401 UNAUTHENTICATED for a wrong credential instead of downgrading to anonymous', async () => {
    const res = await gql(t.baseUrl, PlatformViewerKindDocument, {}, 'atr_not-a-real-key');
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('accepts issued JWTs, and refuses them once tampered', async () => {
    const issued = await gql(
      t.baseUrl,
      HttpCreateAccessTokenDocument,
      { input: { subject: 'svc-1', tokenUse: 'platform', scopes: ['logs:read'], ttlSeconds: 60 } },
      t.adminKey,
    );
    const access = issued.body.data?.createAccessToken;
    if (access?.__typename !== 'MutationCreateAccessTokenSuccess') throw new Error(JSON.stringify(issued.body));
    const { token } = access.data;
    const me = await gql(t.baseUrl, HttpViewerScopesDocument, {}, token);
    expect(me.body.data?.viewer).toEqual({ kind: 'jwt', id: 'svc-1', scopes: ['logs:read'] });
    const jwks = (await (await fetch(`${t.baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; d?: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toContain(access.data.kid);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    expect((await gql(t.baseUrl, PlatformViewerKindDocument, {}, `${token.slice(0, -2)}xx`)).status).toBe(401);
  });
});

describe('API keys', () => {
  it('creates a key shown once, lists it without the hash, and revokes it with immediate effect', async () => {
    const { rawKey, apiKey } = await newKey({ product: 'atrium', name: 'ci', scopes: ['read'] });
    expect(rawKey).toMatch(/^atr_[0-9a-f]{48}$/);
    expect(apiKey.prefix).toBe(rawKey.slice(0, 8));

    const me = await gql(t.baseUrl, HttpViewerProductDocument, {}, rawKey);
    expect(me.body.data?.viewer).toEqual({ kind: 'apiKey', id: apiKey.uuid, product: 'atrium', scopes: ['read'] });

    const list = await gql(t.baseUrl, HttpAtriumKeysDocument, {}, t.adminKey);
    const nodes = list.body.data?.apiKeys?.edges.map((e) => e.node);
    expect(nodes).toContainEqual(expect.objectContaining({ uuid: apiKey.uuid, name: 'ci', revoked: false }));
    expect(JSON.stringify(list.body)).not.toContain(rawKey);

    const revoke = await gql(t.baseUrl, HttpRevokeKeyDocument, { id: apiKey.id }, t.adminKey);
    const revoked = revoke.body.data?.revokeApiKey;
    expect(revoked?.__typename === 'MutationRevokeApiKeySuccess' && revoked.data.apiKey.revoked).toBe(true);
    expect((await gql(t.baseUrl, PlatformViewerKindDocument, {}, rawKey)).status).toBe(401);
  });

  it('returns typed errors for bad input', async () => {
    const res = await gql(
      t.baseUrl,
      createKey,
      { input: { product: 'goclaw', name: 'x', scopes: ['root'] } },
      t.adminKey,
    );
    expect(res.body.data?.createApiKey).toMatchObject({
      __typename: 'InvalidApiKeyInputError',
      code: 'INVALID_API_KEY_INPUT',
    });
    const blank = await gql(t.baseUrl, createKey, { input: { product: 'atrium', name: '  ', scopes: [] } }, t.adminKey);
    expect(blank.body.data?.createApiKey.__typename).toBe('InvalidApiKeyInputError');
    const expiry = await gql(
      t.baseUrl,
      createKey,
      { input: { product: 'atrium', name: 'x', scopes: [], expiresInSeconds: -5 } },
      t.adminKey,
    );
    expect(expiry.body.data?.createApiKey.__typename).toBe('InvalidApiKeyInputError');
  });

  it('refuses expired keys', async () => {
    const { rawKey } = await newKey({ product: 'atrium', name: 'short', scopes: [], expiresInSeconds: 1 });
    expect((await gql(t.baseUrl, PlatformViewerKindDocument, {}, rawKey)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await gql(t.baseUrl, PlatformViewerKindDocument, {}, rawKey)).status).toBe(401);
  });

  it('is admin-only: anonymous callers get UNAUTHENTICATED, other keys FORBIDDEN; Query.node answers null, as for a missing id', async () => {
    const anon = await gql(t.baseUrl, HttpFirstKeyDocument);
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const reader = await newKey({ product: 'atrium', name: 'reader', scopes: ['read'] });
    const denied = await gql(t.baseUrl, HttpFirstKeyDocument, {}, reader.rawKey);
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const viaNode = await gql(t.baseUrl, HttpNodeApiKeyDocument, { id: reader.apiKey.id }, reader.rawKey);
    // A forbidden id is indistinguishable from a missing one: null, no error.
    expect(viaNode.body.data).toEqual({ node: null });
    expect(viaNode.body.errors).toBeUndefined();

    const create = await gql(
      t.baseUrl,
      createKey,
      { input: { product: 'atrium', name: 'x', scopes: [] } },
      reader.rawKey,
    );
    expect(create.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lets a GoClaw operator.admin key manage GoClaw keys only', async () => {
    const goAdmin = await newKey({ product: 'goclaw', name: 'go-admin', scopes: ['operator.admin'] });
    const ok = await gql(t.baseUrl, createKey, { input: { product: 'goclaw', name: 'x', scopes: [] } }, goAdmin.rawKey);
    expect(ok.body.data?.createApiKey.__typename).toBe('MutationCreateApiKeySuccess');
    const other = await gql(
      t.baseUrl,
      createKey,
      { input: { product: 'atrium', name: 'x', scopes: [] } },
      goAdmin.rawKey,
    );
    expect(other.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const atriumKey = await newKey({ product: 'atrium', name: 'not-yours', scopes: [] });
    const revoke = await gql(t.baseUrl, PlatformRevokeApiKeyDocument, { id: atriumKey.apiKey.id }, goAdmin.rawKey);
    expect(revoke.body.data?.revokeApiKey.__typename).toBe('ApiKeyNotFoundError');
  });

  it('records audit events readable by admins only', async () => {
    await newKey({ product: 'atrium', name: 'audited', scopes: [] });
    const events = await gql(t.baseUrl, HttpAuditEventsDocument, {}, t.adminKey);
    const actions = events.body.data?.auditEvents?.edges.map((e) => e.node.action);
    expect(actions).toContain('apiKey.created');
    expect(actions).toContain('apiKey.revoked');
    expect((await gql(t.baseUrl, HttpFirstAuditEventDocument)).body.errors?.[0]?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
  });
});

describe('bad input over HTTP', () => {
  it('answers 400 with a GraphQL error for malformed JSON, syntax errors and wrong variable types', async () => {
    const malformed = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { errors: unknown[] }).errors.length).toBeGreaterThan(0);

    // A string on purpose: a syntax error.
    expect((await gql(t.baseUrl, '{ viewer { ')).status).toBe(400);
    // The document printed to a string on purpose: its variables are of the wrong types, which the typed call refuses.
    const wrongType = await gql(
      t.baseUrl,
      print(createKey),
      { input: { product: 'nope', name: 1, scopes: 'x' } },
      t.adminKey,
    );
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors?.length).toBeGreaterThan(0);
  });

  it('answers 413 for an oversized body without reading it all', async () => {
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: print(PlatformViewerKindDocument), pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('answers 413 for an oversized chunked body (no content-length) and keeps serving', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // A literal on purpose: the first bytes of a JSON body that never ends well (streamed past the limit).
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"query":"{ viewer { kind } }","pad":"'));
        if (sent >= 64) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.headers.get('content-length')).not.toBeNull();
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect((await gql(t.baseUrl, PlatformViewerKindDocument)).status).toBe(200);
  });

  it('masks unexpected errors: a missing record surfaces no internals', async () => {
    const res = await gql(
      t.baseUrl,
      HttpNodeIdDocument,
      { id: Buffer.from('ApiKey:00000000-0000-0000-0000-000000000000').toString('base64') },
      t.adminKey,
    );
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/prisma|stack|at .*\.ts/i);
  });

  it('answers JSON bodies that are not a GraphQL request with 400 (JSON bodies reach yoga parsed)', async () => {
    // Literal bodies on purpose: none of them is a well-formed GraphQL request.
    for (const body of [
      'null',
      '{}',
      '[]',
      '"x"',
      '42',
      '{"query": 1}',
      '{bad json',
      '{"query": "{ viewer { kind } }"',
    ]) {
      const res = await fetch(`${t.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body,
        signal: AbortSignal.timeout(5000),
      });
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { errors?: unknown[] }).errors?.length, body).toBeGreaterThan(0);
    }
    const ok = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: print(PlatformViewerKindDocument) }),
    });
    expect(ok.status).toBe(200);
  });
});

describe('GraphiQL and SSE', () => {
  it('serves GraphiQL to browsers, with its assets inline (works offline)', async () => {
    const res = await fetch(`${t.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Atrium GraphiQL');
    expect(html).not.toMatch(/<script[^>]+src="https?:\/\//);
  });

  it('sends GraphiQL compressed and cacheable: br or gzip by Accept-Encoding, ETag with 304', async () => {
    const { request } = await import('node:http');
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; headers: Record<string, unknown>; bytes: number }>((resolve, reject) => {
        const req = request(`${t.baseUrl}/graphql`, { headers: { accept: 'text/html', ...headers } }, (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
        });
        req.on('error', reject);
        req.end();
      });
    const plain = await get({});
    const br = await get({ 'accept-encoding': 'gzip, deflate, br' });
    const gzip = await get({ 'accept-encoding': 'gzip' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(br.headers['content-encoding']).toBe('br');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    console.log(`GraphiQL bytes: identity ${plain.bytes}, gzip ${gzip.bytes}, br ${br.bytes}`);
    expect(br.bytes).toBeLessThan(plain.bytes / 3);
    expect(gzip.bytes).toBeLessThan(plain.bytes / 3);
    expect(br.headers['cache-control']).toContain('must-revalidate');
    const etag = String(br.headers.etag);
    expect(etag).toMatch(/^".+"$/);
    const again = await get({ 'accept-encoding': 'br', 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.bytes).toBe(0);
  });

  it('streams a subscription over SSE', async () => {
    const abort = new AbortController();
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${t.adminKey}`,
      },
      body: JSON.stringify({ query: print(PlatformAuditEventSubjectDocument) }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const created = newKey({ product: 'atrium', name: 'sse', scopes: [] });
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!text.includes('apiKey.created') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const { apiKey } = await created;
    expect(text).toContain('apiKey.created');
    expect(text).toContain(apiKey.uuid);
    abort.abort();
  });
});
