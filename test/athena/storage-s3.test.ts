import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '../kit/app.ts';
import { type AthenaTestApp, athenaRest, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';

/*
 * G11 through real HTTP: S3 catalogs and credentials per client (secrets sealed, never returned; create with its
 * credential in one transaction; rotation only with both keys; soft delete), on REST and GraphQL.
 */

let t: AthenaTestApp;
let contract: ContractExpectations;
/** A second S3 server on loopback (s3rver, the embedded server's implementation) that raw operations target. */
let s3: { close(): Promise<void> } | undefined;
let s3Endpoint = '';
let s3Dir = '';

beforeAll(async () => {
  s3Dir = await mkdtemp(path.join(tmpdir(), 'ath-s3-'));
  const S3rver = createRequire(import.meta.url)('s3rver');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir, vhostBuckets: false });
  const address = await server.run();
  s3 = server;
  s3Endpoint = `http://127.0.0.1:${address.port}`;
  t = await startAthenaApp({ ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true' });
  contract = await contractValidator('athena');
});

afterAll(async () => {
  await t?.close();
  await s3?.close();
  if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
});

const catalogBody = {
  name: 'media',
  description: 'media bucket',
  endpoint: 'http://127.0.0.1:9000',
  region: 'us-east-1',
  bucket: 'media',
  provider: 'minio',
  access_key_id: 'AKIAFIRST',
  secret_key: 'first-secret-value',
  metadata: { team: 'web' },
};

describe('S3 catalogs and credentials', () => {
  it('creates, lists, rotates, soft deletes; never returns a secret', async () => {
    const created = await athenaRest(t, 'POST', '/storage/catalogs', { body: catalogBody });
    expect(created.status, created.text).toBe(200);
    contract.expectValidResponse('POST', '/storage/catalogs', 200, created.body);
    expect(created.body).toMatchObject({
      name: 'media',
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'media',
      provider: 'minio',
      is_active: true,
      active_access_key: 'AKIAFIRST',
    });
    expect(created.text).not.toContain('first-secret-value');
    const id = created.body.id as string;
    const firstCredential = created.body.active_credential_id as string;

    // Sealed at rest: the stored column is not the secret.
    const [row] = await t.app.services.prisma.athenaS3Credential.findMany({ where: { catalogId: id } });
    expect(row?.secretKeyEnc).toMatch(/^v1\./);
    expect(row?.secretKeyEnc).not.toContain('first-secret-value');

    const list = await athenaRest(t, 'GET', '/storage/catalogs');
    expect(list.status, list.text).toBe(200);
    contract.expectValidResponse('GET', '/storage/catalogs', 200, list.body);
    expect(list.body.data.map((c: { id: string }) => c.id)).toContain(id);

    const creds = await athenaRest(t, 'GET', '/storage/credentials');
    expect(creds.status, creds.text).toBe(200);
    contract.expectValidResponse('GET', '/storage/credentials', 200, creds.body);
    expect(creds.body.data).toEqual([
      expect.objectContaining({ id: firstCredential, s3_id: id, access_key: 'AKIAFIRST', name: 'media' }),
    ]);
    expect(creds.text).not.toContain('secret');

    // One key alone: metadata only, no rotation.
    const partial = await athenaRest(t, 'PATCH', `/storage/catalogs/${id}`, {
      body: { access_key_id: 'AKIAHALF', description: 'renamed' },
    });
    expect(partial.status, partial.text).toBe(200);
    contract.expectValidResponse('PATCH', '/storage/catalogs/{id}', 200, partial.body);
    expect(partial.body).toMatchObject({ description: 'renamed', active_access_key: 'AKIAFIRST' });
    expect(partial.body.active_credential_id).toBe(firstCredential);

    const rotated = await athenaRest(t, 'PATCH', `/storage/catalogs/${id}`, {
      body: { access_key_id: 'AKIASECOND', secret_key: 'second-secret-value', bucket: null },
    });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body).toMatchObject({ active_access_key: 'AKIASECOND', bucket: null });
    expect(rotated.body.active_credential_id).not.toBe(firstCredential);
    expect(rotated.text).not.toContain('second-secret-value');
    const all = await t.app.services.prisma.athenaS3Credential.findMany({ where: { catalogId: id } });
    expect(all.filter((c) => c.isActive).map((c) => c.accessKey)).toEqual(['AKIASECOND']);

    const credsAfter = await athenaRest(t, 'GET', '/storage/credentials');
    expect(credsAfter.body.data.map((c: { access_key: string }) => c.access_key)).toEqual(['AKIASECOND']);

    const deleted = await athenaRest(t, 'DELETE', `/storage/catalogs/${id}`);
    expect(deleted.status, deleted.text).toBe(200);
    contract.expectValidResponse('DELETE', '/storage/catalogs/{id}', 200, deleted.body);
    expect(deleted.body).toEqual({ id, deleted: true });
    const gone = await athenaRest(t, 'DELETE', `/storage/catalogs/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ status: 'error', code: 'not_found' });
    const listAfter = await athenaRest(t, 'GET', '/storage/catalogs');
    expect(listAfter.body.data.map((c: { id: string }) => c.id)).not.toContain(id);
    const stored = await t.app.services.prisma.athenaS3Catalog.findUnique({ where: { id } });
    expect(stored?.deletedAt).not.toBeNull();
    const remaining = await t.app.services.prisma.athenaS3Credential.count({
      where: { catalogId: id, isActive: true },
    });
    expect(remaining).toBe(0);
  });

  it('refuses bad input, unknown clients and non-admin callers in the envelope', async () => {
    const missing = await athenaRest(t, 'POST', '/storage/catalogs', { body: { name: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.body.status).toBe('error');
    const unknown = await athenaRest(t, 'GET', '/storage/catalogs', { client: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('unknown_client');
    const noClient = await athenaRest(t, 'GET', '/storage/credentials', { client: null });
    expect(noClient.status).toBe(400);
    const badId = await athenaRest(t, 'PATCH', '/storage/catalogs/not-a-uuid', { body: { name: 'y' } });
    expect(badId.status).toBeGreaterThanOrEqual(400);
    expect(badId.status).toBeLessThan(500);
    const anon = await athenaRest(t, 'GET', '/storage/catalogs', { key: null });
    expect(anon.status).toBe(401);
    const made = await athenaRest(t, 'POST', '/admin/api-keys', {
      body: { name: 'not admin', client_name: t.client, rights: ['gateway.fetch.execute'] },
    });
    expect(made.status, made.text).toBe(201);
    const clientKey = await athenaRest(t, 'GET', '/storage/catalogs', { key: made.body.api_key });
    // The contract declares 401 ("Invalid admin API key") and no 403 for these routes.
    expect(clientKey.status, clientKey.text).toBe(401);
    expect(clientKey.body.message).toBe('This operation needs the admin key');
  });

  it('serves catalogs and credentials as GraphQL nodes and connections', async () => {
    const created = await gql(
      t.baseUrl,
      `mutation($c: String!, $i: AthenaCreateS3CatalogInput!) { createAthenaS3Catalog(client: $c, input: $i) {
        __typename ... on MutationCreateAthenaS3CatalogSuccess { data { id uuid name activeAccessKey } } } }`,
      {
        c: t.client,
        i: { name: 'gql', endpoint: 'minio.local', region: 'eu-west-1', accessKeyId: 'AKIAGQL', secretKey: 's3cr3t' },
      },
      t.adminKey,
    );
    const data = created.body.data.createAthenaS3Catalog.data;
    expect(data).toMatchObject({ name: 'gql', activeAccessKey: 'AKIAGQL' });
    const listed = await gql(
      t.baseUrl,
      `query($c: String!) { athenaS3Catalogs(client: $c) { ... on QueryAthenaS3CatalogsSuccess { data { totalCount
        edges { node { uuid } } } } } athenaS3Credentials(client: $c) { ... on QueryAthenaS3CredentialsSuccess {
        data { totalCount edges { node { id accessKey catalog { uuid } } } } } } }`,
      { c: t.client },
      t.adminKey,
    );
    expect(listed.body.data.athenaS3Catalogs.data.edges.map((e: any) => e.node.uuid)).toContain(data.uuid);
    const cred = listed.body.data.athenaS3Credentials.data.edges.find((e: any) => e.node.catalog.uuid === data.uuid);
    expect(cred.node.accessKey).toBe('AKIAGQL');
    const node = await gql(
      t.baseUrl,
      `query($id: ID!) { node(id: $id) { __typename ... on AthenaS3Catalog { uuid endpoint } } }`,
      { id: data.id },
      t.adminKey,
    );
    expect(node.body.data.node).toEqual({ __typename: 'AthenaS3Catalog', uuid: data.uuid, endpoint: 'minio.local' });
    const credNode = await gql(
      t.baseUrl,
      `query($id: ID!) { node(id: $id) { __typename ... on AthenaS3Credential { accessKey } } }`,
      { id: cred.node.id },
      t.adminKey,
    );
    expect(credNode.body.data.node).toEqual({ __typename: 'AthenaS3Credential', accessKey: 'AKIAGQL' });
  });
});

describe('raw S3 objects and buckets', () => {
  let catalog = '';
  const raw = (op: string, body: Record<string, unknown>) =>
    athenaRest(t, 'POST', `/storage/${op}`, { body: { catalog, ...body } });
  const ok = async (op: string, body: Record<string, unknown>) => {
    const res = await raw(op, body);
    expect(res.status, `${op}: ${res.text}`).toBe(200);
    expect(res.body.status).toBe('success');
    return res.body.data;
  };

  beforeAll(async () => {
    const made = await athenaRest(t, 'POST', '/storage/catalogs', {
      body: {
        name: 'loopback',
        endpoint: s3Endpoint,
        region: 'us-east-1',
        bucket: 'raw-bucket',
        access_key_id: 'S3RVER',
        secret_key: 'S3RVER',
      },
    });
    expect(made.status, made.text).toBe(200);
    catalog = made.body.name;
  });

  it('inline endpoints are off by default; a catalog is used instead', async () => {
    const inline = await athenaRest(t, 'POST', '/storage/buckets/list', {
      body: { endpoint: s3Endpoint, region: 'us-east-1', access_key_id: 'S3RVER', secret_key: 'S3RVER' },
    });
    expect(inline.status).toBe(400);
    expect(inline.body).toMatchObject({ status: 'error', code: 's3_inline_endpoint_disabled', error_number: 1800 });
    const anon = await athenaRest(t, 'POST', '/storage/buckets/list', { key: null, body: { catalog } });
    expect(anon.status).toBe(401);
    const unknown = await athenaRest(t, 'POST', '/storage/buckets/list', { body: { catalog: 'nope' } });
    expect(unknown.status).toBe(404);
  });

  it('buckets, folders, objects through presigned URLs, metadata, copy, listing pages, rename, delete', async () => {
    expect(await ok('buckets/create', {})).toMatchObject({ bucket: 'raw-bucket', created: true });
    const buckets = await ok('buckets/list', {});
    expect(buckets.buckets.map((b: { name: string }) => b.name)).toContain('raw-bucket');
    const dup = await raw('buckets/create', {});
    expect(dup.status).toBe(409);

    const up = await ok('objects/upload-url', { key: 'docs/a b.txt', content_type: 'text/plain', expires_in: 600 });
    expect(up.method).toBe('PUT');
    const put = await fetch(up.url, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello raw' });
    expect(put.status, await put.text()).toBe(200);
    const down = await ok('objects/url', { key: 'docs/a b.txt' });
    const got = await fetch(down.url);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('hello raw');
    // s3rver does not check query signatures (the URLs are signed by @aws-sdk/s3-request-presigner).

    const head = await ok('objects/head', { key: 'docs/a b.txt' });
    expect(head).toMatchObject({ size: 9, content_type: 'text/plain' });
    const updated = await ok('objects/update', {
      key: 'docs/a b.txt',
      content_type: 'text/markdown',
      cache_control: 'max-age=60',
      metadata: { owner: 'ops' },
    });
    expect(updated.metadata_updated).toBe(true);
    const head2 = await ok('objects/head', { key: 'docs/a b.txt' });
    expect(head2).toMatchObject({
      content_type: 'text/markdown',
      cache_control: 'max-age=60',
      metadata: { owner: 'ops' },
    });
    const badAcl = await raw('objects/update', { key: 'docs/a b.txt', acl: 'everyone' });
    expect(badAcl.status).toBe(400);

    expect(await ok('objects/exists', { key: 'docs/a b.txt' })).toMatchObject({ exists: true, size: 9 });
    expect(await ok('objects/exists', { key: 'docs/none' })).toMatchObject({ exists: false });
    const valid = await ok('objects/validate', { key: 'docs/a b.txt', expected_size: 9 });
    expect(valid).toMatchObject({ valid: true, problems: [] });
    const invalid = await ok('objects/validate', { key: 'docs/a b.txt', expected_size: 10 });
    expect(invalid.valid).toBe(false);
    const pub = await ok('objects/public-url', { key: 'docs/a b.txt' });
    expect(pub.url).toBe(`${s3Endpoint}/raw-bucket/docs/a%20b.txt`);

    expect(await ok('objects/copy', { source_key: 'docs/a b.txt', destination_key: 'docs/copy.txt' })).toMatchObject({
      copied: true,
    });
    expect(await ok('objects/folder', { prefix: 'docs/sub' })).toMatchObject({ prefix: 'docs/sub/' });
    for (const n of [1, 2, 3]) {
      const u = await ok('objects/upload-url', { key: `docs/sub/f${n}.txt` });
      expect((await fetch(u.url, { method: 'PUT', body: `f${n}` })).status).toBe(200);
    }

    // Pages of 2 with an opaque continuation token until the listing ends.
    const seen: string[] = [];
    let token: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: any = await ok('objects', { prefix: 'docs/', max_keys: 2, continuation_token: token });
      seen.push(...page.objects.map((o: { key: string }) => o.key));
      token = page.next_continuation_token;
      if (!page.is_truncated) break;
      expect(token).toBeTruthy();
    }
    expect(seen).toEqual([
      'docs/a b.txt',
      'docs/copy.txt',
      'docs/sub/',
      'docs/sub/f1.txt',
      'docs/sub/f2.txt',
      'docs/sub/f3.txt',
    ]);
    const grouped = await ok('objects', { prefix: 'docs/', delimiter: '/' });
    expect(grouped.common_prefixes).toEqual(['docs/sub/']);

    const renamed = await ok('objects/folder/rename', { from_prefix: 'docs/sub', to_prefix: 'moved' });
    expect(renamed).toMatchObject({ total: 4, moved: 4, failed: 0, complete: true, failures: [] });
    const moved = await ok('objects', { prefix: 'moved/' });
    expect(moved.objects.map((o: { key: string }) => o.key)).toEqual([
      'moved/',
      'moved/f1.txt',
      'moved/f2.txt',
      'moved/f3.txt',
    ]);
    const notEmpty = await raw('buckets/delete', {});
    expect(notEmpty.status).toBe(409);
    const folderGone = await ok('objects/folder/delete', { prefix: 'moved' });
    expect(folderGone).toMatchObject({ deleted: 4, failed: 0 });
    expect(await ok('objects/delete', { key: 'docs/copy.txt' })).toMatchObject({ deleted: true });
    const missingHead = await raw('objects/head', { key: 'docs/copy.txt' });
    expect(missingHead.status).toBe(404);
    await ok('objects/delete', { key: 'docs/a b.txt' });
    expect(await ok('buckets/delete', {})).toMatchObject({ deleted: true });
  });

  it('CORS get/set/delete; versions and lifecycle answer 501 naming the backend', async () => {
    await ok('buckets/create', { bucket: 'cors-bucket' });
    expect(await ok('buckets/cors', { bucket: 'cors-bucket' })).toEqual({ bucket: 'cors-bucket', rules: [] });
    const rules = [
      {
        allowed_origins: ['https://app.example'],
        allowed_methods: ['GET', 'PUT'],
        allowed_headers: ['*'],
        expose_headers: ['ETag'],
        max_age_seconds: 300,
      },
    ];
    expect(await ok('buckets/cors/set', { bucket: 'cors-bucket', rules })).toMatchObject({ applied: true });
    const read = await ok('buckets/cors', { bucket: 'cors-bucket' });
    expect(read.rules).toEqual(rules);
    await ok('buckets/cors/delete', { bucket: 'cors-bucket' });
    expect((await ok('buckets/cors', { bucket: 'cors-bucket' })).rules).toEqual([]);
    const badRules = await raw('buckets/cors/set', { bucket: 'cors-bucket', rules: [{ allowed_origins: ['*'] }] });
    expect(badRules.status).toBe(400);

    const host = new URL(s3Endpoint).host;
    for (const [op, body] of [
      ['objects/versions', { key: 'k' }],
      ['objects/versions/restore', { key: 'k', version_id: 'v1' }],
      ['objects/versions/delete', { key: 'k', version_id: 'v1' }],
      ['buckets/lifecycle', {}],
      ['buckets/lifecycle/set', { rules: [{ id: 'expire', expiration_days: 30 }] }],
      ['buckets/lifecycle/delete', {}],
    ] as const) {
      const res = await raw(op, { bucket: 'cors-bucket', ...body });
      expect(res.status, `${op}: ${res.text}`).toBe(501);
      expect(res.body).toMatchObject({ status: 'error', code: 's3_feature_unavailable' });
      expect(res.body.message).toContain(host);
    }
    await ok('buckets/delete', { bucket: 'cors-bucket' });
  });

  it('serves the raw operations on GraphQL with the same results', async () => {
    const target = { client: t.client, catalog, bucket: 'gql-bucket' };
    const made = await gql(
      t.baseUrl,
      `mutation($t: AthenaS3TargetInput!) { createAthenaS3Bucket(target: $t) {
        __typename ... on MutationCreateAthenaS3BucketSuccess { data } } }`,
      { t: target },
      t.adminKey,
    );
    expect(made.body.data.createAthenaS3Bucket).toEqual({
      __typename: 'MutationCreateAthenaS3BucketSuccess',
      data: { bucket: 'gql-bucket', created: true },
    });
    const listed = await gql(
      t.baseUrl,
      `query($t: AthenaS3TargetInput!) { athenaS3Objects(target: $t, maxKeys: 10) {
        __typename ... on QueryAthenaS3ObjectsSuccess { data } ... on AthenaError { code } } }`,
      { t: target },
      t.adminKey,
    );
    expect(listed.body.data.athenaS3Objects.data).toMatchObject({
      bucket: 'gql-bucket',
      objects: [],
      is_truncated: false,
    });
    const refused = await gql(
      t.baseUrl,
      `query($t: AthenaS3TargetInput!) { athenaS3Buckets(target: $t) {
        __typename ... on AthenaError { code message } } }`,
      { t: { endpoint: s3Endpoint, region: 'us-east-1', accessKeyId: 'S3RVER', secretKey: 'S3RVER' } },
      t.adminKey,
    );
    expect(refused.body.data.athenaS3Buckets).toMatchObject({
      __typename: 'AthenaError',
      code: 's3_inline_endpoint_disabled',
    });
    const anonymous = await gql(
      t.baseUrl,
      `query($t: AthenaS3TargetInput!) { athenaS3Buckets(target: $t) { __typename } }`,
      {
        t: target,
      },
    );
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBeDefined();
    await gql(
      t.baseUrl,
      `mutation($t: AthenaS3TargetInput!) { deleteAthenaS3Bucket(target: $t) { __typename } }`,
      { t: target },
      t.adminKey,
    );
  });

  it('inline endpoints, when enabled, pass the outbound guard', async () => {
    // One app per file: the switch is flipped on the running service's config for this case only.
    const config = (t.app.services.athena.s3Raw as unknown as { deps: { config: { s3InlineEndpoints: boolean } } }).deps
      .config;
    config.s3InlineEndpoints = true;
    try {
      const inline = { region: 'us-east-1', access_key_id: 'S3RVER', secret_key: 'S3RVER' };
      const listed = await athenaRest(t, 'POST', '/storage/buckets/list', {
        body: { endpoint: s3Endpoint, ...inline },
      });
      expect(listed.status, listed.text).toBe(200);
      const metadata = await athenaRest(t, 'POST', '/storage/buckets/list', {
        body: { endpoint: 'http://169.254.169.254', ...inline },
      });
      expect(metadata.status).toBe(400);
      expect(metadata.body.code).toBe('s3_endpoint_refused');
      const partial = await athenaRest(t, 'POST', '/storage/buckets/list', { body: { endpoint: s3Endpoint } });
      expect(partial.status).toBe(400);
      const closed = await athenaRest(t, 'POST', '/storage/buckets/list', {
        body: { endpoint: 'http://127.0.0.1:1', ...inline },
      });
      expect(closed.status).toBe(503);
      expect(closed.body.code).toBe('s3_backend_unavailable');
      // (s3rver checks no signatures, so refused keys — 400 s3_credentials_refused — are not exercised here.)
    } finally {
      config.s3InlineEndpoints = false;
    }
  });
});
