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

beforeAll(async () => {
  t = await startAthenaApp();
  contract = await contractValidator('athena');
});

afterAll(async () => {
  await t?.close();
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
