import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiKeyProduct, NodesTestLookupDocument } from '../generated/platform.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { createApiKey } from '../kit/platform.ts';

const globalId = (typename: string, id: string) => Buffer.from(`${typename}:${id}`).toString('base64');

describe('node(id) and nodes(ids)', () => {
  let t: TestApp;
  let keyId: string;
  let goclawKey: string;
  beforeAll(async () => {
    t = await startTestApp();
    const create = (product: ApiKeyProduct) =>
      createApiKey(t.baseUrl, t.adminKey, { product, name: `nodes-${product}`, scopes: [] });
    keyId = (await create('polykomos')).apiKey.id;
    goclawKey = (await create('goclaw')).rawKey;
  }, 60_000);
  afterAll(() => t?.close());

  const lookup = (ids: string[], token?: string) =>
    gql(t.baseUrl, NodesTestLookupDocument, { id: ids[0] ?? '', ids }, token);

  it('finds an existing node and answers null for missing, malformed, unknown-type and forbidden ids alike', async () => {
    const found = await lookup([keyId], t.adminKey);
    expect(found.body.errors).toBeUndefined();
    expect(found.body.data?.node).toEqual({ __typename: 'ApiKey', id: keyId });

    const candidates = [
      globalId('ApiKey', randomUUID()), // missing
      globalId('ApiKey', 'not-a-uuid'), // the store cannot read it
      globalId('AuditEvent', randomUUID()),
      globalId('Execution', randomUUID()),
      globalId('NoSuchType', '1'),
    ];
    for (const id of candidates) {
      const r = await lookup([id], t.adminKey);
      expect(r.body.errors, id).toBeUndefined();
      expect(r.body.data?.node, id).toBeNull();
    }
    // Another product's key, seen with a GoClaw key: the same null, the same (absent) errors as a missing id.
    const forbidden = await lookup([keyId], goclawKey);
    const missing = await lookup([globalId('ApiKey', randomUUID())], goclawKey);
    expect(forbidden.body).toEqual(missing.body);
    expect(forbidden.body.data?.node).toBeNull();
    const anonymous = await lookup([keyId]);
    expect(anonymous.body.errors).toBeUndefined();
    expect(anonymous.body.data?.node).toBeNull();
  });

  it('nodes(ids) answers in order, null for each id that cannot be seen', async () => {
    const other = globalId('AuditEvent', randomUUID());
    const r = await lookup([keyId, globalId('ApiKey', randomUUID()), other, keyId], t.adminKey);
    expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
    expect(r.body.data?.nodes).toEqual([
      { __typename: 'ApiKey', id: keyId },
      null,
      null,
      { __typename: 'ApiKey', id: keyId },
    ]);
    // Not a global id at all: a clear input error, never INTERNAL_SERVER_ERROR.
    const garbage = await lookup(['garbage'], t.adminKey);
    expect(garbage.body.errors?.[0]?.message).toContain('Invalid global ID');
    expect(JSON.stringify(garbage.body)).not.toContain('INTERNAL_SERVER_ERROR');
  });
});
