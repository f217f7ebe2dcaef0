import { randomBytes, randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { adminPrincipal } from '../../src/core/auth/principal.ts';
import { gql } from '../kit/app.ts';
import { type AthenaTestApp, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';

/*
 * G12 managed storage through real HTTP against the real embedded S3 (docs/athena.md, "Managed storage (G12)"):
 * Athena sessions at the door, every operation, permissions checked before any S3 call, all-or-nothing batches,
 * streamed uploads, the proxy's Range and Content-Disposition, cached view URLs, soft delete / restore / purge,
 * multipart, the 501s of a backend without versioning or object lock, audit, and storageFileEvents over graphql-ws.
 * Every JSON body the contract describes is validated against it.
 */

let t: AthenaTestApp;
let contract: ContractExpectations;
let s3Id = '';
const sockets: Client[] = [];
const org = `org_${randomUUID().slice(0, 8)}`;
const otherOrg = `org_${randomUUID().slice(0, 8)}`;
const tokens: Record<string, string> = {};
const maxUpload = 12 * 1024 * 1024;

beforeAll(async () => {
  t = await startAthenaApp({
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ATRIUM_ATHENA_STORAGE_MAX_UPLOAD_BYTES: String(maxUpload),
  });
  contract = await contractValidator('athena');
  const { athena, objectStore } = t.app.services;
  const catalog = await athena.s3Catalogs.create(adminPrincipal, t.client, {
    name: 'managed',
    endpoint: objectStore.endpoint,
    region: 'us-east-1',
    bucket: 'managed-files',
    accessKeyId: 'S3RVER',
    secretKey: 'S3RVER',
  });
  s3Id = catalog.id;
  await athena.s3Raw.createBucket(adminPrincipal, { client: t.client, catalog: s3Id });
  for (const [user, organizationId] of [
    ['alice', org],
    ['bob', org],
    ['carol', otherOrg],
  ] as const) {
    const { token } = await athena.sessions.create(adminPrincipal, {
      clientName: t.client,
      userId: user,
      organizationId,
    });
    tokens[user] = token;
  }
}, 120_000);

afterAll(async () => {
  for (const c of sockets) await c.dispose();
  await t?.close();
});

interface Res {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

type Who = 'alice' | 'bob' | 'carol' | 'anonymous' | 'admin';

/** One storage call as a session (`X-Athena-Auth-Session-Token`), anonymous, or with the admin key. */
async function call(
  who: Who,
  method: string,
  path: string,
  options: { body?: unknown; raw?: BodyInit; headers?: Record<string, string>; validate?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = { 'x-athena-client': t.client, ...options.headers };
  if (who === 'admin') headers.apikey = t.adminKey;
  else if (who !== 'anonymous') headers['x-athena-auth-session-token'] = tokens[who] as string;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.baseUrl}/athena${path}`, {
    method,
    headers,
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    ...(options.raw instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {}
  const r = { status: res.status, headers: res.headers, body, text };
  if (options.validate) contract.expectValidResponse(method, options.validate, res.status, body);
  return r;
}

/** upload-url + PUT to the presigned URL + confirm-upload: an uploaded file of `who`. */
async function uploaded(who: Who, storageKey: string, bytes: Buffer, extra: Record<string, unknown> = {}) {
  const u = await call(who, 'POST', '/storage/files/upload-url', {
    body: { s3_id: s3Id, storage_key: storageKey, mime_type: 'text/plain', ...extra },
    validate: '/storage/files/upload-url',
  });
  expect(u.status, u.text).toBe(201);
  const put = await fetch(u.body.data.upload.url, {
    method: 'PUT',
    headers: u.body.data.upload.headers,
    body: new Uint8Array(bytes),
  });
  expect(put.status).toBe(200);
  const c = await call(who, 'POST', `/storage/files/${encodeURIComponent(u.body.data.file.id)}/confirm-upload`, {
    body: {},
    validate: '/storage/files/{file_id}/confirm-upload',
  });
  expect(c.status, c.text).toBe(200);
  return c.body.data.file as { id: string; storage_key: string; size_bytes: number; status: string };
}

const fileUrl = (id: string, rest = '') => `/storage/files/${encodeURIComponent(id)}${rest}`;

describe('the storage door', () => {
  it('answers 401 "Missing user or organization context" without a session, and never trusts X-User-Id', async () => {
    const none = await call('anonymous', 'POST', '/storage/files/list', { body: { s3_id: s3Id, prefix: '' } });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ status: 'error', code: 'storage_session_required' });
    expect(none.body.message).toBe('Missing user or organization context');
    const headers = await call('anonymous', 'POST', '/storage/files/list', {
      body: { s3_id: s3Id, prefix: '' },
      headers: { 'x-user-id': 'alice', 'x-organization-id': org },
    });
    expect(headers.status).toBe(401);
    const admin = await call('admin', 'POST', '/storage/files/list', { body: { s3_id: s3Id, prefix: '' } });
    expect(admin.status).toBe(401);
    const bad = await call('anonymous', 'POST', '/storage/files/list', {
      body: { s3_id: s3Id, prefix: '' },
      headers: { 'x-athena-auth-session-token': 'aths_not-a-session' },
    });
    expect(bad.status).toBe(401);
    // The cookie and the bearer carry the session too.
    const cookie = await fetch(`${t.baseUrl}/athena/storage/files/list`, {
      method: 'POST',
      headers: {
        'x-athena-client': t.client,
        'content-type': 'application/json',
        cookie: `athena-auth.session-token=${tokens.alice}`,
      },
      body: JSON.stringify({ s3_id: s3Id, prefix: '' }),
    });
    expect(cookie.status).toBe(200);
    const bearer = await fetch(`${t.baseUrl}/athena/storage/files/list`, {
      method: 'POST',
      headers: {
        'x-athena-client': t.client,
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.alice}`,
      },
      body: JSON.stringify({ s3_id: s3Id, prefix: '' }),
    });
    expect(bearer.status).toBe(200);
    // A session bound to this client, sent for another X-Athena-Client: 403 (401 where the contract lists no 403).
    const other = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'x.txt' },
      headers: { 'x-athena-client': 'some-other-client' },
    });
    expect(other.status, other.text).toBe(403);
  });

  it('refuses bad input with 400 in the error envelope', async () => {
    const missing = await call('alice', 'POST', '/storage/files/upload-url', { body: { storage_key: 'x.txt' } });
    expect(missing.status).toBe(400);
    expect(missing.body.status).toBe('error');
    const notUuid = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: 'nope', storage_key: 'x.txt' },
    });
    expect(notUuid.status).toBe(400);
    const dots = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'a/../../etc/passwd' },
    });
    expect(dots.status).toBe(400);
    expect(dots.body.code).toBe('storage_invalid_request');
    const unknownCatalog = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: randomUUID(), storage_key: 'x.txt' },
    });
    expect(unknownCatalog.status).toBe(400);
    const json = await call('alice', 'POST', '/storage/files/search', {
      raw: '{"oops',
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(400);
    const badMime = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'x.txt', mime_type: 'not a type' },
    });
    expect(badMime.status).toBe(400);
    const badPurpose = await call('alice', 'GET', `${fileUrl('whatever', '/url')}?purpose=shout`);
    expect(badPurpose.status).toBe(400);
    // Anonymous public reads still need a known X-Athena-Client.
    const unknown = await call('anonymous', 'GET', fileUrl('whatever'), { headers: { 'x-athena-client': 'nobody' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('unknown_client');
    const noClient = await fetch(`${t.baseUrl}/athena${fileUrl('whatever')}`);
    expect(noClient.status).toBe(400);
    const tooLong = await call('alice', 'GET', fileUrl('x'.repeat(600)));
    expect(tooLong.status).toBe(400);
  });
});

describe('limits and availability', () => {
  it('refuses uploads above the limit (413), declared or streamed', async () => {
    const u = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'limit/too-big.bin' },
    });
    const id = u.body.data.file.id as string;
    const declared = await call('alice', 'PUT', fileUrl(id, '/upload'), {
      raw: new Uint8Array(maxUpload + 1),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(declared.status).toBe(413);
    expect(declared.body.code).toBe('storage_payload_too_large');
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent > maxUpload) return controller.close();
        const piece = new Uint8Array(1024 * 1024);
        sent += piece.length;
        controller.enqueue(piece);
      },
    });
    const streamed = await call('alice', 'PUT', fileUrl(id, '/upload'), {
      raw: stream,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(streamed.status).toBe(413);
    const after = await call('alice', 'GET', fileUrl(id));
    expect(after.body.data.file.status).toBe('pending_upload');
  });

  it('answers 503 storage_unavailable while the client is frozen', async () => {
    const { clients } = t.app.services.athena;
    await clients.freeze(adminPrincipal, t.client, true);
    try {
      const r = await call('alice', 'POST', '/storage/files/list', { body: { s3_id: s3Id, prefix: '' } });
      expect(r.status).toBe(503);
      expect(r.body.code).toBe('storage_unavailable');
    } finally {
      await clients.freeze(adminPrincipal, t.client, false);
    }
  });
});

describe('files', () => {
  it('upload-url, presigned PUT, confirm, get, list, search — readable only with a grant', async () => {
    const bytes = Buffer.from('hello managed storage\n');
    const f = await uploaded('alice', 'docs/hello.txt', bytes, { file_id: 'free text: ünïcode & spaces/ok' });
    expect(f).toMatchObject({ id: 'free text: ünïcode & spaces/ok', status: 'uploaded', size_bytes: bytes.length });

    const got = await call('alice', 'GET', fileUrl(f.id), { validate: '/storage/files/{file_id}' });
    expect(got.status).toBe(200);
    expect(got.body.data.file).toMatchObject({
      storage_key: 'docs/hello.txt',
      is_public: false,
      organization_id: org,
      uploaded_by_user_id: 'alice',
      extension: 'txt',
      prefix_path: 'docs/',
    });
    expect(got.body.data.file.public).toBeUndefined();

    const list = await call('alice', 'POST', '/storage/files/list', {
      body: { s3_id: s3Id, prefix: 'docs/' },
      validate: '/storage/files/list',
    });
    expect(list.status).toBe(200);
    expect(list.body.data.files.map((x: { id: string }) => x.id)).toContain(f.id);

    // Same organization, no grant: 403 on the file, absent from lists; another organization: 404.
    expect((await call('bob', 'GET', fileUrl(f.id))).status).toBe(403);
    const bobList = await call('bob', 'POST', '/storage/files/list', { body: { s3_id: s3Id, prefix: 'docs/' } });
    expect(bobList.body.data.files.map((x: { id: string }) => x.id)).not.toContain(f.id);
    expect((await call('carol', 'GET', fileUrl(f.id))).status).toBe(404);
    expect((await call('alice', 'GET', fileUrl('no-such-file'))).status).toBe(404);

    const search = await call('alice', 'POST', '/storage/files/search', {
      body: { query: 'hello', mime_type: 'text/plain' },
      validate: '/storage/files/search',
    });
    expect(search.status).toBe(200);
    expect(search.body.data.count).toBeGreaterThanOrEqual(1);
    expect(search.body.data.files.map((x: { id: string }) => x.id)).toContain(f.id);
    const bobSearch = await call('bob', 'POST', '/storage/files/search', { body: { query: 'hello' } });
    expect(bobSearch.body.data.files.map((x: { id: string }) => x.id)).not.toContain(f.id);

    // Confirming an upload nobody made is a conflict, not a fake success.
    const empty = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'docs/empty.txt' },
    });
    const confirm = await call('alice', 'POST', fileUrl(empty.body.data.file.id, '/confirm-upload'), { body: {} });
    expect(confirm.status).toBe(409);
  });

  it('refuses to overwrite another user’s file, and the batch is all-or-nothing', async () => {
    const a = await uploaded('alice', 'shared/a.txt', Buffer.from('a'));
    const over = await call('bob', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'shared/a.txt' },
    });
    expect(over.status).toBe(403);
    const byId = await call('bob', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'shared/elsewhere.txt', file_id: a.id },
    });
    expect(byId.status).toBe(403);

    const batch = await call('bob', 'POST', '/storage/files/upload-urls', {
      body: {
        files: [
          { s3_id: s3Id, storage_key: 'shared/bob-new.txt' },
          { s3_id: s3Id, storage_key: 'shared/a.txt' },
        ],
      },
    });
    expect(batch.status).toBe(403);
    const none = await call('bob', 'POST', '/storage/files/list', { body: { s3_id: s3Id, prefix: 'shared/' } });
    expect(none.body.data.files).toEqual([]);

    const ok = await call('bob', 'POST', '/storage/files/upload-urls', {
      body: {
        files: [
          { s3_id: s3Id, storage_key: 'shared/b1.txt', content_type: 'text/plain' },
          { s3_id: s3Id, storage_key: 'shared/b2.txt' },
        ],
      },
      validate: '/storage/files/upload-urls',
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.data.files).toHaveLength(2);
    expect(ok.body.data.files[0].upload).toMatchObject({
      purpose: 'upload',
      cache_hit: false,
      storage_key: 'shared/b1.txt',
    });
    expect(ok.body.data.files[0].upload.expires_in).toBe(3600);
    // Owner to the uploader.
    const check = await call('bob', 'POST', '/storage/permissions/check', {
      body: { file_id: ok.body.data.files[0].file.id, permission: 'owner' },
      validate: '/storage/permissions/check',
    });
    expect(check.body.data).toMatchObject({ allowed: true, effective_permission: 'owner' });
  });

  it('streams uploads through Athena: a few MiB with Content-Length, and chunked without one', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const u = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'media/big.bin', mime_type: 'application/octet-stream' },
    });
    const id = u.body.data.file.id as string;
    const put = await call('alice', 'PUT', fileUrl(id, '/upload'), {
      raw: new Uint8Array(big),
      headers: { 'content-type': 'application/octet-stream' },
      validate: '/storage/files/{file_id}/upload',
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body.data.file).toMatchObject({ status: 'uploaded', size_bytes: big.length });
    const back = await fetch(`${t.baseUrl}/athena${fileUrl(id, '/proxy')}`, {
      headers: { 'x-athena-client': t.client, 'x-athena-auth-session-token': tokens.alice as string },
    });
    expect(Buffer.from(await back.arrayBuffer()).equals(big)).toBe(true);

    // Without Content-Length (a stream): 9 MiB go up as 8 MiB parts of a multipart upload.
    const chunked = randomBytes(9 * 1024 * 1024 + 5);
    const u2 = await call('alice', 'POST', '/storage/files/upload-url', {
      body: { s3_id: s3Id, storage_key: 'media/chunked.bin' },
    });
    const id2 = u2.body.data.file.id as string;
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent >= chunked.length) return controller.close();
        const piece = chunked.subarray(sent, sent + 256 * 1024);
        sent += piece.length;
        controller.enqueue(piece);
      },
    });
    const put2 = await call('alice', 'PUT', fileUrl(id2, '/upload'), {
      raw: stream,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put2.status, put2.text).toBe(200);
    expect(put2.body.data.file.size_bytes).toBe(chunked.length);
    const back2 = await fetch(`${t.baseUrl}/athena${fileUrl(id2, '/proxy')}`, {
      headers: { 'x-athena-client': t.client, 'x-athena-auth-session-token': tokens.alice as string },
    });
    expect(Buffer.from(await back2.arrayBuffer()).equals(chunked)).toBe(true);

    // Someone without write permission cannot upload bytes over it.
    const bob = await call('bob', 'PUT', fileUrl(id, '/upload'), {
      raw: new Uint8Array(Buffer.from('x')),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(bob.status).toBe(403);
  });

  it('answers cached view URLs with their expiry fields, and proxies with Range and Content-Disposition', async () => {
    const bytes = Buffer.from('0123456789abcdefghij');
    const f = await uploaded('alice', 'view/report.txt', bytes, { name: 'Rapport été.txt' });
    const first = await call('alice', 'GET', `${fileUrl(f.id, '/url')}?purpose=download`, {
      validate: '/storage/files/{file_id}/url',
    });
    expect(first.status, first.text).toBe(200);
    const d = first.body.data;
    expect(d).toMatchObject({
      file_id: f.id,
      purpose: 'download',
      cache_hit: false,
      cache_layer: 'none',
      expires_in: 3600,
    });
    expect(d.expires_at_epoch_seconds).toBe(Math.floor(Date.parse(d.expires_at) / 1000));
    const again = await call('alice', 'GET', `${fileUrl(f.id, '/url')}?purpose=download`);
    expect(again.body.data).toMatchObject({ cache_hit: true, cache_layer: 'memory', url: d.url });
    const fetched = await fetch(d.url);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(bytes)).toBe(true);
    expect(fetched.headers.get('content-disposition')).toContain('attachment');
    expect((await call('bob', 'GET', fileUrl(f.id, '/url'))).status).toBe(403);

    const proxy = (q: string, headers: Record<string, string> = {}) =>
      fetch(`${t.baseUrl}/athena${fileUrl(f.id, '/proxy')}${q}`, {
        headers: { 'x-athena-client': t.client, 'x-athena-auth-session-token': tokens.alice as string, ...headers },
      });
    const inline = await proxy('');
    expect(inline.status).toBe(200);
    expect(inline.headers.get('content-disposition')).toBe(
      `inline; filename="Rapport _t_.txt"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.txt`,
    );
    expect(inline.headers.get('content-type')).toBe('text/plain');
    expect(await inline.text()).toBe(bytes.toString());
    const download = await proxy('?purpose=download');
    expect(download.headers.get('content-disposition')?.startsWith('attachment;')).toBe(true);
    await download.arrayBuffer();
    const stream = await proxy('?purpose=stream');
    expect(stream.headers.get('content-disposition')?.startsWith('inline;')).toBe(true);
    await stream.arrayBuffer();
    const ranged = await proxy('', { range: 'bytes=2-5' });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 2-5/${bytes.length}`);
    expect(await ranged.text()).toBe('2345');
    const suffix = await proxy('', { range: 'bytes=-3' });
    expect(suffix.status).toBe(206);
    expect(await suffix.text()).toBe('hij');
    const outside = await proxy('', { range: 'bytes=500-600' });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    await outside.arrayBuffer();
    const denied = await fetch(`${t.baseUrl}/athena${fileUrl(f.id, '/proxy')}`, {
      headers: { 'x-athena-client': t.client, 'x-athena-auth-session-token': tokens.bob as string },
    });
    expect(denied.status).toBe(403);
    await denied.arrayBuffer();
  });

  it('visibility: public files are readable anonymously; public-url only when public', async () => {
    const f = await uploaded('alice', 'pub/logo.txt', Buffer.from('logo'));
    // Anonymous callers (and other organizations) cannot tell a private file from a missing one.
    expect((await call('anonymous', 'GET', fileUrl(f.id))).status).toBe(404);
    const notPublic = await call('alice', 'GET', fileUrl(f.id, '/public-url'));
    expect(notPublic.status).toBe(409);
    const bobSets = await call('bob', 'PATCH', fileUrl(f.id, '/visibility'), { body: { public: true } });
    expect(bobSets.status).toBe(403);
    const on = await call('alice', 'PATCH', fileUrl(f.id, '/visibility'), {
      body: { public: true },
      validate: '/storage/files/{file_id}/visibility',
    });
    expect(on.status).toBe(200);
    expect(on.body.data.file.is_public).toBe(true);
    const anon = await call('anonymous', 'GET', fileUrl(f.id), { validate: '/storage/files/{file_id}' });
    expect(anon.status).toBe(200);
    const anonProxy = await fetch(`${t.baseUrl}/athena${fileUrl(f.id, '/proxy')}`, {
      headers: { 'x-athena-client': t.client },
    });
    expect(await anonProxy.text()).toBe('logo');
    expect((await call('bob', 'GET', fileUrl(f.id))).status).toBe(200);
    expect((await call('carol', 'GET', fileUrl(f.id))).status).toBe(200);
    const pub = await call('alice', 'GET', fileUrl(f.id, '/public-url'), {
      validate: '/storage/files/{file_id}/public-url',
    });
    expect(pub.status).toBe(200);
    expect(pub.body.data.url).toBe(`${t.app.services.objectStore.endpoint}/managed-files/pub/logo.txt`);
    const off = await call('alice', 'POST', fileUrl(f.id, '/visibility'), {
      body: { public: false },
      validate: '/storage/files/{file_id}/visibility',
    });
    expect(off.body.data.file.is_public).toBe(false);
    expect((await call('anonymous', 'GET', fileUrl(f.id))).status).toBe(404);
    const bad = await call('alice', 'POST', fileUrl(f.id, '/visibility'), { body: { public: 'yes' } });
    expect(bad.status).toBe(400);
  });

  it('permissions: grant, check, list, revoke; the last owner stays; prefix grants cover the prefix', async () => {
    const f = await uploaded('alice', 'perm/p.txt', Buffer.from('p'));
    const grant = await call('alice', 'POST', '/storage/permissions/grant', {
      body: { file_id: f.id, principal_type: 'user', principal_id: 'bob', permission: 'read' },
      validate: '/storage/permissions/grant',
    });
    expect(grant.status, grant.text).toBe(200);
    expect(grant.body.data.permission).toMatchObject({ principal_id: 'bob', permission: 'read', granted_by: 'alice' });
    expect((await call('bob', 'GET', fileUrl(f.id))).status).toBe(200);
    const bobWrite = await call('bob', 'PATCH', fileUrl(f.id), { body: { storage_key: 'perm/moved.txt' } });
    expect(bobWrite.status).toBe(403);
    // Bob cannot grant (manage needed).
    const bobGrant = await call('bob', 'POST', '/storage/permissions/grant', {
      body: { file_id: f.id, principal_type: 'user', principal_id: 'bob', permission: 'owner' },
    });
    expect(bobGrant.status).toBe(403);
    const check = await call('alice', 'POST', '/storage/permissions/check', {
      body: { file_id: f.id, permission: 'write', principal_type: 'user', principal_id: 'bob' },
    });
    expect(check.body.data).toMatchObject({ allowed: false, effective_permission: 'read' });
    const bobChecksOther = await call('bob', 'POST', '/storage/permissions/check', {
      body: { file_id: f.id, permission: 'read', principal_id: 'alice' },
    });
    expect(bobChecksOther.status).toBe(403);
    const list = await call('alice', 'POST', '/storage/permissions/list', {
      body: { file_id: f.id },
      validate: '/storage/permissions/list',
    });
    expect(
      list.body.data.permissions
        .map((p: { principal_id: string; permission: string }) => `${p.principal_id}:${p.permission}`)
        .sort(),
    ).toEqual(['alice:owner', 'bob:read']);
    const revoke = await call('alice', 'POST', '/storage/permissions/revoke', {
      body: { permission_id: grant.body.data.permission.id },
      validate: '/storage/permissions/revoke',
    });
    expect(revoke.body.data).toMatchObject({ revoked: 1 });
    expect((await call('bob', 'GET', fileUrl(f.id))).status).toBe(403);
    const lastOwner = await call('alice', 'POST', '/storage/permissions/revoke', {
      body: { file_id: f.id, principal_type: 'user', principal_id: 'alice', permission: 'owner' },
    });
    expect(lastOwner.status).toBe(409);
    const badType = await call('alice', 'POST', '/storage/permissions/grant', {
      body: { file_id: f.id, principal_type: 'team', principal_id: 'x', permission: 'read' },
    });
    expect(badType.status).toBe(400);

    // An organization-wide write grant on a prefix: bob can now write every file under it.
    const org2 = await call('alice', 'POST', '/storage/permissions/grant', {
      body: { s3_id: s3Id, prefix: 'perm/', principal_type: 'organization', principal_id: org, permission: 'write' },
    });
    expect(org2.status, org2.text).toBe(200);
    const moved = await call('bob', 'PATCH', fileUrl(f.id), {
      body: { storage_key: 'perm/moved.txt' },
      validate: '/storage/files/{file_id}',
    });
    expect(moved.status, moved.text).toBe(200);
    expect((await call('carol', 'GET', fileUrl(f.id))).status).toBe(404);
  });

  it('moves (copy + delete, cached URLs forgotten), copies, deletes, restores and purges', async () => {
    const { s3Raw } = t.app.services.athena;
    const exists = async (key: string) =>
      (await s3Raw.exists(adminPrincipal, { client: t.client, catalog: s3Id }, key)).exists;
    const f = await uploaded('alice', 'life/one.txt', Buffer.from('one'));
    const url1 = await call('alice', 'GET', fileUrl(f.id, '/url'));
    expect(url1.body.data.cache_hit).toBe(false);
    const moved = await call('alice', 'PATCH', fileUrl(f.id), { body: { storage_key: 'life/renamed.txt' } });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.data.file.storage_key).toBe('life/renamed.txt');
    expect(await exists('life/one.txt')).toBe(false);
    expect(await exists('life/renamed.txt')).toBe(true);
    const url2 = await call('alice', 'GET', fileUrl(f.id, '/url'));
    expect(url2.body.data).toMatchObject({ cache_hit: false, storage_key: 'life/renamed.txt' });

    const taken = await uploaded('alice', 'life/taken.txt', Buffer.from('t'));
    const clash = await call('alice', 'PATCH', fileUrl(f.id), { body: { storage_key: taken.storage_key } });
    expect(clash.status).toBe(409);

    const copy = await call('alice', 'POST', fileUrl(f.id, '/copy'), {
      body: { storage_key: 'life/copy.txt', new_file_id: 'life-copy' },
      validate: '/storage/files/{file_id}/copy',
    });
    expect(copy.status, copy.text).toBe(200);
    expect(copy.body.data.file).toMatchObject({ id: 'life-copy', storage_key: 'life/copy.txt', status: 'uploaded' });
    expect(await exists('life/copy.txt')).toBe(true);

    const del = await call('alice', 'DELETE', fileUrl(f.id), { validate: '/storage/files/{file_id}' });
    expect(del.status).toBe(200);
    expect(del.body.data.file).toMatchObject({ status: 'deleted' });
    expect(del.body.data.file.deleted_at).not.toBeNull();
    expect((await call('alice', 'GET', fileUrl(f.id))).status).toBe(404);
    // Bytes kept until purge, so restore is honest.
    expect(await exists('life/renamed.txt')).toBe(true);
    const deletedSearch = await call('alice', 'POST', '/storage/files/search', { body: { status: 'deleted' } });
    expect(deletedSearch.body.data.files.map((x: { id: string }) => x.id)).toContain(f.id);
    const restored = await call('alice', 'POST', fileUrl(f.id, '/restore'), {
      validate: '/storage/files/{file_id}/restore',
    });
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body.data.file).toMatchObject({ status: 'uploaded', deleted_at: null });
    expect((await call('alice', 'POST', fileUrl(f.id, '/restore'))).status).toBe(409);

    expect((await call('bob', 'DELETE', fileUrl(f.id, '/purge'))).status).toBe(403);
    const purged = await call('alice', 'DELETE', fileUrl(f.id, '/purge'), {
      validate: '/storage/files/{file_id}/purge',
    });
    expect(purged.status).toBe(200);
    expect(purged.body.data.file.status).toBe('purged');
    expect(await exists('life/renamed.txt')).toBe(false);
    expect((await call('alice', 'GET', fileUrl(f.id))).status).toBe(404);

    // Restore refuses when the bytes are gone (never a DB-flag-only restore).
    const gone = await uploaded('alice', 'life/gone.txt', Buffer.from('g'));
    await call('alice', 'DELETE', fileUrl(gone.id));
    await s3Raw.deleteObject(adminPrincipal, { client: t.client, catalog: s3Id }, 'life/gone.txt');
    const broken = await call('alice', 'POST', fileUrl(gone.id, '/restore'));
    expect(broken.status).toBe(409);
    expect(broken.body.message).toContain('no longer exists');
  });

  it('bulk delete, update and visibility: all authorised first', async () => {
    const a = await uploaded('alice', 'bulk/a.txt', Buffer.from('a'));
    const b = await uploaded('alice', 'bulk/b.txt', Buffer.from('b'));
    const bobs = await uploaded('bob', 'bulk/bob.txt', Buffer.from('c'));
    const mixed = await call('alice', 'POST', '/storage/files/delete-many', { body: { file_ids: [a.id, bobs.id] } });
    expect(mixed.status).toBe(403);
    expect((await call('alice', 'GET', fileUrl(a.id))).status).toBe(200);
    const vis = await call('alice', 'POST', '/storage/files/visibility-many', {
      body: { file_ids: [a.id, b.id], public: true },
      validate: '/storage/files/visibility-many',
    });
    expect(vis.status).toBe(200);
    expect(vis.body.data.files.every((x: { is_public: boolean }) => x.is_public)).toBe(true);
    const upd = await call('alice', 'POST', '/storage/files/update-many', {
      body: {
        files: [
          { file_id: a.id, storage_key: 'bulk/a2.txt' },
          { file_id: b.id, storage_key: 'bulk/b2.txt' },
        ],
      },
      validate: '/storage/files/update-many',
    });
    expect(upd.status, upd.text).toBe(200);
    expect(upd.body.data).toMatchObject({ requested: 2, updated: 2, failed: 0 });
    const upd403 = await call('alice', 'POST', '/storage/files/update-many', {
      body: { files: [{ file_id: bobs.id, storage_key: 'bulk/x.txt' }] },
    });
    expect(upd403.status).toBe(403);
    const del = await call('alice', 'POST', '/storage/files/delete-many', {
      body: { file_ids: [a.id, b.id] },
      validate: '/storage/files/delete-many',
    });
    expect(del.body.data.deleted).toBe(2);
    expect((await call('alice', 'POST', '/storage/files/delete-many', { body: { file_ids: [] } })).status).toBe(400);
  });
});

describe('folders', () => {
  it('lists and builds the tree from tracked files; move and delete authorise every file first', async () => {
    await uploaded('alice', 'tree/x/1.txt', Buffer.from('1'));
    await uploaded('alice', 'tree/x/y/2.txt', Buffer.from('22'));
    await uploaded('alice', 'tree/z/3.txt', Buffer.from('333'));
    const list = await call('alice', 'POST', '/storage/folders/list', {
      body: { s3_id: s3Id, prefix: 'tree/' },
      validate: '/storage/folders/list',
    });
    expect(list.body.data.folders).toEqual([
      { prefix: 'tree/x/', name: 'x', file_count: 2, total_bytes: 3 },
      { prefix: 'tree/z/', name: 'z', file_count: 1, total_bytes: 3 },
    ]);
    const tree = await call('alice', 'POST', '/storage/folders/tree', {
      body: { s3_id: s3Id, prefix: 'tree/' },
      validate: '/storage/folders/tree',
    });
    expect(tree.body.data.tree.file_count).toBe(3);
    expect(tree.body.data.tree.children[0].children[0]).toMatchObject({ prefix: 'tree/x/y/', file_count: 1 });
    // Bob sees no folders there (no readable files).
    const bobList = await call('bob', 'POST', '/storage/folders/list', { body: { s3_id: s3Id, prefix: 'tree/' } });
    expect(bobList.body.data.folders).toEqual([]);
    const bobMove = await call('bob', 'POST', '/storage/folders/move', {
      body: { s3_id: s3Id, from_prefix: 'tree/x/', to_prefix: 'tree/w/' },
    });
    expect(bobMove.status).toBe(403);

    const move = await call('alice', 'POST', '/storage/folders/move', {
      body: { s3_id: s3Id, from_prefix: 'tree/x', to_prefix: 'tree/w/' },
      validate: '/storage/folders/move',
    });
    expect(move.status, move.text).toBe(200);
    expect(move.body.data).toMatchObject({ s3_id: s3Id, prefix: 'tree/x/', processed_files: 2 });
    const after = await call('alice', 'POST', '/storage/files/list', { body: { s3_id: s3Id, prefix: 'tree/w/' } });
    expect(after.body.data.files.map((f: { storage_key: string }) => f.storage_key)).toEqual([
      'tree/w/1.txt',
      'tree/w/y/2.txt',
    ]);
    const del = await call('alice', 'POST', '/storage/folders/delete', {
      body: { s3_id: s3Id, prefix: 'tree/w/' },
      validate: '/storage/folders/delete',
    });
    expect(del.body.data).toMatchObject({ prefix: 'tree/w/', processed_files: 2 });
    const empty = await call('alice', 'POST', '/storage/folders/delete', { body: { s3_id: s3Id, prefix: 'tree/w/' } });
    expect(empty.status).toBe(404);
    const nothing = await call('alice', 'POST', '/storage/folders/move', {
      body: { s3_id: s3Id, from_prefix: 'nowhere/', to_prefix: 'x/' },
    });
    expect(nothing.status).toBe(404);
  });
});

describe('multipart, versions, retention, audit', () => {
  it('creates, signs parts, lists parts, completes; aborts another', async () => {
    const created = await call('alice', 'POST', '/storage/multipart/create', {
      body: { s3_id: s3Id, storage_key: 'mp/big.bin', mime_type: 'application/octet-stream' },
      validate: '/storage/multipart/create',
    });
    expect(created.status, created.text).toBe(200);
    const uploadId = created.body.data.upload_id as string;
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(1234);
    const etags: string[] = [];
    for (const [n, bytes] of [
      [1, part1],
      [2, part2],
    ] as const) {
      const signed = await call('alice', 'POST', '/storage/multipart/sign-part', {
        body: { upload_id: uploadId, part_number: n },
        validate: '/storage/multipart/sign-part',
      });
      expect(signed.status, signed.text).toBe(200);
      const put = await fetch(signed.body.data.url, { method: 'PUT', body: new Uint8Array(bytes) });
      expect(put.status).toBe(200);
      etags.push(put.headers.get('etag') as string);
    }
    const parts = await call('alice', 'POST', '/storage/multipart/list-parts', {
      body: { upload_id: uploadId },
      validate: '/storage/multipart/list-parts',
    });
    expect(parts.status, parts.text).toBe(200);
    expect(parts.body.data.parts.map((p: { part_number: number }) => p.part_number)).toEqual([1, 2]);
    expect((await call('bob', 'POST', '/storage/multipart/list-parts', { body: { upload_id: uploadId } })).status).toBe(
      403,
    );
    const done = await call('alice', 'POST', '/storage/multipart/complete', {
      body: { upload_id: uploadId, parts: etags.map((etag, i) => ({ part_number: i + 1, etag })) },
      validate: '/storage/multipart/complete',
    });
    expect(done.status, done.text).toBe(200);
    expect(done.body.data.file).toMatchObject({ status: 'uploaded', size_bytes: part1.length + part2.length });

    const other = await call('alice', 'POST', '/storage/multipart/create', {
      body: { s3_id: s3Id, storage_key: 'mp/aborted.bin' },
    });
    const abort = await call('alice', 'POST', '/storage/multipart/abort', {
      body: { upload_id: other.body.data.upload_id },
      validate: '/storage/multipart/abort',
    });
    expect(abort.status, abort.text).toBe(200);
    expect(abort.body.data).toMatchObject({ status: 'aborted' });
    const signAborted = await call('alice', 'POST', '/storage/multipart/sign-part', {
      body: { upload_id: other.body.data.upload_id, part_number: 1 },
    });
    expect(signAborted.status).toBe(409);
    const badPart = await call('alice', 'POST', '/storage/multipart/sign-part', {
      body: { upload_id: uploadId, part_number: 0 },
    });
    expect(badPart.status).toBe(400);
  });

  it('answers 501 naming the backend for versions and retention (the embedded S3 has neither)', async () => {
    const f = await uploaded('alice', 'ver/v.txt', Buffer.from('v'));
    const host = new URL(t.app.services.objectStore.endpoint).host;
    const list = await call('alice', 'GET', fileUrl(f.id, '/versions'));
    expect(list.status, list.text).toBe(501);
    expect(list.body).toMatchObject({ status: 'error', code: 'storage_feature_unavailable' });
    expect(list.body.message).toContain(host);
    expect((await call('alice', 'POST', fileUrl(f.id, '/versions/v1/restore'))).status).toBe(501);
    expect((await call('alice', 'DELETE', fileUrl(f.id, '/versions/v1'))).status).toBe(501);
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const ret = await call('alice', 'POST', fileUrl(f.id, '/retention'), {
      body: { mode: 'governance', retain_until: future },
    });
    expect(ret.status, ret.text).toBe(501);
    // Authorisation first: bob gets 403, not 501.
    expect((await call('bob', 'GET', fileUrl(f.id, '/versions'))).status).toBe(403);
    expect(
      (await call('alice', 'POST', fileUrl(f.id, '/retention'), { body: { mode: 'forever', retain_until: future } }))
        .status,
    ).toBe(400);
  });

  it('lists the audit trail the caller may see', async () => {
    const f = await uploaded('alice', 'audit/a.txt', Buffer.from('a'));
    const audit = await call('alice', 'POST', '/storage/audit/list', {
      body: { file_id: f.id },
      validate: '/storage/audit/list',
    });
    expect(audit.status).toBe(200);
    expect(audit.body.data.events.map((e: { action: string }) => e.action)).toEqual([
      'file.uploaded',
      'file.upload_url_created',
    ]);
    expect(audit.body.data.events[0]).toMatchObject({ actor_user_id: 'alice', organization_id: org });
    const bob = await call('bob', 'POST', '/storage/audit/list', { body: { file_id: f.id } });
    expect(bob.body.data.events).toEqual([]);
    const carol = await call('carol', 'POST', '/storage/audit/list', { body: {} });
    expect(carol.body.data.events).toEqual([]);
  });
});

describe('GraphQL', () => {
  it('serves files and folders as Nodes, connections with totals, mutations and typed errors', async () => {
    const f = await uploaded('alice', 'gql/a/one.txt', Buffer.from('one'));
    await uploaded('alice', 'gql/b/two.txt', Buffer.from('two'));
    const list = await gql(
      t.baseUrl,
      `query ($s3Id: String!) {
        athenaStorageFiles(s3Id: $s3Id, prefix: "gql/", first: 1) {
          __typename
          ... on QueryAthenaStorageFilesSuccess { data { totalCount edges { node { id fileId storageKey status sizeBytes } } } }
          ... on Error { code message }
        }
        athenaStorageFolders(s3Id: $s3Id, prefix: "gql/") {
          ... on QueryAthenaStorageFoldersSuccess { data { totalCount edges { node { id prefix fileCount } } } }
        }
      }`,
      { s3Id },
      tokens.alice,
    );
    expect(list.body.errors).toBeUndefined();
    const files = list.body.data.athenaStorageFiles.data;
    expect(files.totalCount).toBe(2);
    expect(files.edges).toHaveLength(1);
    expect(files.edges[0].node).toMatchObject({ fileId: f.id, storageKey: 'gql/a/one.txt', status: 'uploaded' });
    const folders = list.body.data.athenaStorageFolders.data;
    expect(folders.edges.map((e: { node: { prefix: string } }) => e.node.prefix)).toEqual(['gql/a/', 'gql/b/']);

    const nodes = await gql(
      t.baseUrl,
      `query ($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on AthenaStorageFile { fileId } ... on AthenaStorageFolder { prefix fileCount } } }`,
      { ids: [files.edges[0].node.id, folders.edges[0].node.id] },
      tokens.alice,
    );
    expect(nodes.body.data.nodes).toEqual([
      { __typename: 'AthenaStorageFile', fileId: f.id },
      { __typename: 'AthenaStorageFolder', prefix: 'gql/a/', fileCount: 1 },
    ]);
    // Bob cannot read it: node answers null, the field a typed error.
    const bobNode = await gql(
      t.baseUrl,
      `query ($id: ID!) { node(id: $id) { id } }`,
      { id: files.edges[0].node.id },
      tokens.bob,
    );
    expect(bobNode.body.data.node).toBeNull();
    const bobField = await gql(
      t.baseUrl,
      `query ($fileId: String!) { athenaStorageFile(fileId: $fileId) { __typename ... on Error { code } } }`,
      { fileId: f.id },
      tokens.bob,
    );
    expect(bobField.body.data.athenaStorageFile).toEqual({
      __typename: 'StorageForbiddenError',
      code: 'storage_forbidden',
    });

    const vis = await gql(
      t.baseUrl,
      `mutation ($fileId: String!) {
        setAthenaStorageFileVisibility(fileId: $fileId, public: true) {
          __typename ... on MutationSetAthenaStorageFileVisibilitySuccess { data { isPublic } }
        }
      }`,
      { fileId: f.id },
      tokens.alice,
    );
    expect(vis.body.data.setAthenaStorageFileVisibility.data.isPublic).toBe(true);
    const url = await gql(
      t.baseUrl,
      `query ($fileId: String!) {
        athenaStorageFileUrl(fileId: $fileId, purpose: download) {
          ... on QueryAthenaStorageFileUrlSuccess { data { purpose cacheHit cacheLayer expiresIn } }
        }
      }`,
      { fileId: f.id },
      tokens.alice,
    );
    expect(url.body.data.athenaStorageFileUrl.data).toMatchObject({ purpose: 'download', cacheHit: false });
    // Without a session: the typed 401 error of storage.
    const anon = await gql(
      t.baseUrl,
      `query ($s3Id: String!) { athenaStorageFiles(s3Id: $s3Id) { __typename ... on Error { code message } } }`,
      { s3Id },
    );
    expect(anon.body.data.athenaStorageFiles).toMatchObject({
      __typename: 'StorageSessionRequiredError',
      message: 'Missing user or organization context',
    });
  });
});

describe('chat attachments', () => {
  it('attach uploaded files the sender can read; anything else is chat_attachment_not_found', async () => {
    const f = await uploaded('alice', 'chat/photo.txt', Buffer.from('photo'));
    const room = await fetch(`${t.baseUrl}/athena/chat/rooms`, {
      method: 'POST',
      headers: {
        'x-athena-client': t.client,
        authorization: `Bearer ${tokens.alice}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ kind: 'group', member_user_ids: ['bob'] }),
    });
    expect(room.status).toBe(201);
    const roomId = ((await room.json()) as any).data.id as string;
    const sent = await fetch(`${t.baseUrl}/athena/chat/rooms/${roomId}/messages`, {
      method: 'POST',
      headers: {
        'x-athena-client': t.client,
        authorization: `Bearer ${tokens.alice}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ body_text: 'look', attachments: [{ file_id: f.id, ordinal: 0 }] }),
    });
    const body = (await sent.json()) as any;
    expect(sent.status, JSON.stringify(body)).toBe(201);
    expect(body.data.attachments.map((a: { file_id: string }) => a.file_id)).toEqual([f.id]);
    // Bob is in the room but cannot read the file: he cannot attach it.
    const bobSends = await fetch(`${t.baseUrl}/athena/chat/rooms/${roomId}/messages`, {
      method: 'POST',
      headers: {
        'x-athena-client': t.client,
        authorization: `Bearer ${tokens.bob}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ body_text: 'mine', attachments: [{ file_id: f.id, ordinal: 0 }] }),
    });
    expect(bobSends.status).toBe(404);
    expect(((await bobSends.json()) as any).code).toBe('chat_attachment_not_found');
  });
});

describe('storageFileEvents', () => {
  it('delivers committed events under a prefix to subscribers who can read the file', async () => {
    const open = () => t.app.services.athena.storage.openStreams;
    const query = `subscription ($client: String!, $prefix: String) {
      storageFileEvents(client: $client, prefix: $prefix) { eventId action fileId actorUserId file { fileId status } }
    }`;
    const subscribe = async (who: 'alice' | 'bob') => {
      const client = createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${tokens[who]}` },
        retryAttempts: 0,
      });
      sockets.push(client);
      const events: any[] = [];
      const errors: unknown[] = [];
      const before = open();
      client.subscribe(
        { query, variables: { client: t.client, prefix: 'events/' } },
        {
          next: (r) => (r.data ? events.push(r.data.storageFileEvents) : errors.push(r.errors)),
          error: (e) => errors.push(e),
          complete: () => {},
        },
      );
      const start = Date.now();
      while (open() <= before && errors.length === 0 && Date.now() - start < 10_000)
        await new Promise((r) => setTimeout(r, 10));
      return { events, errors };
    };
    const alice = await subscribe('alice');
    const bob = await subscribe('bob');
    expect(alice.errors).toEqual([]);
    await uploaded('alice', 'elsewhere/ignored.txt', Buffer.from('i'));
    const f = await uploaded('alice', 'events/e.txt', Buffer.from('e'));
    const start = Date.now();
    while (alice.events.length < 2 && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 10));
    expect(alice.events.map((e) => e.action)).toEqual(['file.upload_url_created', 'file.uploaded']);
    expect(alice.events[1]).toMatchObject({
      fileId: f.id,
      actorUserId: 'alice',
      file: { fileId: f.id, status: 'uploaded' },
    });
    // Bob cannot read it: nothing for him.
    await new Promise((r) => setTimeout(r, 200));
    expect(bob.events).toEqual([]);

    // Another client name than the session's is refused.
    const wrong = createClient({
      url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${tokens.alice}` },
      retryAttempts: 0,
    });
    sockets.push(wrong);
    const failure = await new Promise<unknown>((resolve) => {
      wrong.subscribe(
        { query, variables: { client: 'not-mine' } },
        { next: (r) => resolve(r.errors), error: resolve, complete: () => resolve('completed') },
      );
    });
    expect(JSON.stringify(failure)).toContain('storage_forbidden');
  });
});
