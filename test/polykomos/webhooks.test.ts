import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PolykomosTestWebhookDeliveryIdsDocument,
  PolykomosTestWebhookEndpointCountDocument,
  PolykomosTestWebhookNodeDocument,
} from '../generated/polykomos.ts';
import { gql, type TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import {
  createPolykomosKey,
  expectApiError,
  type PolykomosKey,
  polykomosClient,
  setControls,
  startPolykomosApp,
} from '../kit/polykomos.ts';

/**
 * A loopback webhook receiver: verifies the Polykomos-Signature against the secret it is told, and answers per
 * mode (200, 500, or never).
 */
interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  signatureValid: boolean;
}
let receiver: Server;
let receiverUrl: string;
let mode: 'ok' | 'fail' | 'hang' = 'ok';
const received: Received[] = [];
const secrets = new Set<string>();

function verify(header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const [, t, v1] = m as unknown as [string, string, string];
  if (Math.abs(Date.now() / 1000 - Number(t)) > 300) return false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
    if (timingSafeEqual(expected, Buffer.from(v1, 'hex'))) return true;
  }
  return false;
}

let t: TestApp;
let strictApp: TestApp;
let contract: ContractExpectations;
let call: ReturnType<typeof polykomosClient>;
let key: PolykomosKey;
let other: PolykomosKey;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      received.push({
        headers: req.headers,
        body,
        signatureValid: verify(req.headers['polykomos-signature'] as string | undefined, body),
      });
      if (mode === 'hang') return;
      res.writeHead(mode === 'ok' ? 200 : 500).end(mode === 'ok' ? 'ok' : 'boom');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  t = await startPolykomosApp({
    ATRIUM_POLYKOMOS_POSTGRES_URL: '',
    ATRIUM_POLYKOMOS_MYSQL_URL: '',
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ATRIUM_POLYKOMOS_WEBHOOK_TIMEOUT_MS: '500',
  });
  contract = await contractValidator('polykomos');
  call = polykomosClient(t, contract);
  key = await createPolykomosKey(t, ['webhooks:read', 'webhooks:write']);
  await setControls(t, key.id, { userId: 'user-a', userName: 'A', userEmail: 'a@example.test' });
  other = await createPolykomosKey(t, ['webhooks:read', 'webhooks:write']);
  await setControls(t, other.id, { userId: 'user-b', userName: 'B', userEmail: 'b@example.test' });
});

afterAll(async () => {
  await t?.close();
  await strictApp?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function createEndpoint(k: PolykomosKey = key, body: unknown = { url: receiverUrl }) {
  const r = await call('POST', '/api/v1/webhook_endpoints', { key: k.raw, body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  secrets.add(r.body.secret);
  return r.body as { data: { id: number }; secret: string };
}

describe('Polykomos webhook endpoints', () => {
  it('creates an endpoint: 201, the secret once, stored encrypted; the list never shows it', async () => {
    const r = await call('POST', '/api/v1/webhook_endpoints', {
      key: key.raw,
      body: { url: receiverUrl, events: ['database.provisioned', 'database.deleted'] },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      message: expect.any(String),
      data: {
        object: 'webhook_endpoint',
        id: expect.any(Number),
        url: receiverUrl,
        events: ['database.provisioned', 'database.deleted'],
        status: 'active',
        last_success_at: null,
        last_failure_at: null,
      },
      request_id: r.headers.get('x-request-id'),
    });
    expect(r.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(new Date(r.body.data.created_at).toISOString()).toBe(r.body.data.created_at);
    const row = await t.app.services.prisma.webhookEndpoint.findUniqueOrThrow({
      where: { id: r.body.data.id },
    });
    expect(row.secretEnc).not.toContain(r.body.secret);
    expect(row.secretEnc.startsWith('v1.')).toBe(true);
    const list = await call('GET', '/api/v1/webhook_endpoints', { key: key.raw });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(r.body.secret);
    expect(list.body.data.map((e: { id: number }) => e.id)).toContain(r.body.data.id);
  });

  it('422 for unknown event types and bad URLs; 400 without Idempotency-Key', async () => {
    const bad = await call('POST', '/api/v1/webhook_endpoints', {
      key: key.raw,
      body: { url: receiverUrl, events: ['database.provisioned', 'database.exploded'] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_event_type');
    expect(bad.body.error.message).toContain('database.exploded');
    for (const url of ['ftp://example.com/x', 'http://user:pw@127.0.0.1/', `http://${'a'.repeat(2050)}.com/`]) {
      const r = await call('POST', '/api/v1/webhook_endpoints', { key: key.raw, body: { url } });
      expect(r.status, url).toBe(422);
      expect(r.body.error.code).toBe('invalid_url');
    }
    // Not a URI at all: the contract's `format: uri` is checked at the door (400).
    const notUri = await call('POST', '/api/v1/webhook_endpoints', { key: key.raw, body: { url: 'not a url' } });
    expect(notUri.status).toBe(400);
    expectApiError(notUri.body);
    const noKey = await call('POST', '/api/v1/webhook_endpoints', {
      key: key.raw,
      body: { url: receiverUrl },
      idempotencyKey: null,
    });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.code).toBe('missing_idempotency_key');
  });

  it('replays a create with the same Idempotency-Key (same endpoint, same secret)', async () => {
    const idem = randomUUID();
    const a = await call('POST', '/api/v1/webhook_endpoints', {
      key: key.raw,
      body: { url: receiverUrl },
      idempotencyKey: idem,
    });
    const b = await call('POST', '/api/v1/webhook_endpoints', {
      key: key.raw,
      body: { url: receiverUrl },
      idempotencyKey: idem,
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.body).toEqual(a.body);
    const count = await t.app.services.prisma.webhookEndpoint.count({ where: { id: a.body.data.id } });
    expect(count).toBe(1);
    // The stored response that replays it is sealed: the secret is not in the database in clear.
    const records = await t.app.services.prisma.idempotencyRecord.findMany({ where: { key: idem } });
    expect(records).toHaveLength(1);
    expect(JSON.stringify(records[0]?.responseBody)).not.toContain(a.body.secret);
  });

  it('needs webhooks:read to list and webhooks:write to create, revoke and test', async () => {
    const readOnly = await createPolykomosKey(t, ['webhooks:read']);
    const dbOnly = await createPolykomosKey(t, ['databases:read', 'databases:write']);
    const list = await call('GET', '/api/v1/webhook_endpoints', { key: dbOnly.raw });
    expect(list.status).toBe(403);
    expect(list.body.error.code).toBe('insufficient_scope');
    expect((await call('GET', '/api/v1/webhook_endpoints', { key: readOnly.raw })).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/v1/webhook_endpoints', { url: receiverUrl }],
      ['DELETE', '/api/v1/webhook_endpoints/1', undefined],
      ['POST', '/api/v1/webhook_endpoints/1/test_deliveries', undefined],
    ] as const) {
      const r = await call(method, path, {
        key: readOnly.raw,
        body,
        idempotencyKey: path.endsWith('test_deliveries') ? null : undefined,
      });
      expect(r.status, path).toBe(403);
      expect(r.body.error.code).toBe('insufficient_scope');
    }
  });
});

describe('Polykomos test deliveries', () => {
  it('POSTs a signed webhook.test event for real and records it as delivered', async () => {
    mode = 'ok';
    const { data, secret } = await createEndpoint();
    const before = received.length;
    const r = await call('POST', `/api/v1/webhook_endpoints/${data.id}/test_deliveries`, {
      key: key.raw,
      idempotencyKey: null,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      data: {
        object: 'webhook_delivery',
        id: expect.any(Number),
        endpoint_id: data.id,
        event_type: 'webhook.test',
        status: 'delivered',
        response_code: 200,
        error_message: null,
        attempt_count: 1,
      },
      request_id: r.headers.get('x-request-id'),
    });
    expect(received.length).toBe(before + 1);
    const got = received.at(-1) as Received;
    expect(got.signatureValid).toBe(true);
    // Signed with this endpoint's secret specifically.
    const [, ts, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(got.headers['polykomos-signature'] as string) ?? [];
    expect(createHmac('sha256', secret).update(`${ts}.${got.body}`).digest('hex')).toBe(v1);
    const envelope = JSON.parse(got.body);
    expect(envelope).toMatchObject({ id: expect.stringMatching(/^evt_/), type: 'webhook.test' });
    expect(got.headers['polykomos-event-id']).toBe(envelope.id);
    expect(got.headers['polykomos-event-type']).toBe('webhook.test');
    const list = await call('GET', '/api/v1/webhook_endpoints', { key: key.raw });
    const ep = list.body.data.find((e: { id: number }) => e.id === data.id);
    expect(ep.last_success_at).not.toBeNull();
    expect(ep.last_failure_at).toBeNull();
  });

  it('records a 500 as failed with its response code, and a hang as a timeout', async () => {
    const { data } = await createEndpoint();
    mode = 'fail';
    const failed = await call('POST', `/api/v1/webhook_endpoints/${data.id}/test_deliveries`, {
      key: key.raw,
      idempotencyKey: null,
    });
    expect(failed.status).toBe(200);
    expect(failed.body.data).toMatchObject({ status: 'failed', response_code: 500, attempt_count: 1 });
    expect(failed.body.data.error_message).toContain('500');
    expect((received.at(-1) as Received).signatureValid).toBe(true);

    mode = 'hang';
    const started = Date.now();
    const hung = await call('POST', `/api/v1/webhook_endpoints/${data.id}/test_deliveries`, {
      key: key.raw,
      idempotencyKey: null,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(hung.status).toBe(200);
    expect(hung.body.data).toMatchObject({ status: 'failed', response_code: null, attempt_count: 1 });
    expect(hung.body.data.error_message).toMatch(/timed out/);
    mode = 'ok';

    const list = await call('GET', '/api/v1/webhook_endpoints?limit=100', { key: key.raw });
    const ep = list.body.data.find((e: { id: number }) => e.id === data.id);
    expect(ep.last_failure_at).not.toBeNull();
    expect(ep.last_success_at).toBeNull();
  });

  it('lists deliveries newest first with integer cursors; unknown cursor is 400', async () => {
    mode = 'ok';
    const { data } = await createEndpoint();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call('POST', `/api/v1/webhook_endpoints/${data.id}/test_deliveries`, {
        key: key.raw,
        idempotencyKey: null,
      });
      ids.push(r.body.data.id);
    }
    const first = await call('GET', `/api/v1/webhook_endpoints/${data.id}/deliveries?limit=2`, { key: key.raw });
    expect(first.status).toBe(200);
    expect(first.body.has_more).toBe(true);
    expect(first.body.data.map((d: { id: number }) => d.id)).toEqual([ids[2], ids[1]]);
    const last = first.body.data.at(-1).id;
    const second = await call('GET', `/api/v1/webhook_endpoints/${data.id}/deliveries?limit=2&starting_after=${last}`, {
      key: key.raw,
    });
    expect(second.body.data.map((d: { id: number }) => d.id)).toEqual([ids[0]]);
    expect(second.body.has_more).toBe(false);
    const unknown = await call('GET', `/api/v1/webhook_endpoints/${data.id}/deliveries?starting_after=999999`, {
      key: key.raw,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('invalid_parameter');
    const badLimit = await call('GET', `/api/v1/webhook_endpoints/${data.id}/deliveries?limit=101`, { key: key.raw });
    expect(badLimit.status).toBe(400);
  });

  it('revoke is soft: {id}, status revoked, deliveries still listed, a test is 422', async () => {
    const { data } = await createEndpoint();
    await call('POST', `/api/v1/webhook_endpoints/${data.id}/test_deliveries`, { key: key.raw, idempotencyKey: null });
    const r = await call('DELETE', `/api/v1/webhook_endpoints/${data.id}`, { key: key.raw });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ message: expect.any(String), data: { id: data.id }, request_id: expect.any(String) });
    const list = await call('GET', '/api/v1/webhook_endpoints?limit=100', { key: key.raw });
    expect(list.body.data.find((e: { id: number }) => e.id === data.id).status).toBe('revoked');
    const deliveries = await call('GET', `/api/v1/webhook_endpoints/${data.id}/deliveries`, { key: key.raw });
    expect(deliveries.body.data.length).toBe(1);
    const before = received.length;
    const test = await call('POST', `/api/v1/webhook_endpoints/${data.id}/test_deliveries`, {
      key: key.raw,
      idempotencyKey: null,
    });
    expect(test.status).toBe(422);
    expect(test.body.error.code).toBe('endpoint_revoked');
    expect(received.length).toBe(before);
  });

  it("another user's endpoints are invisible (404), and lists are per user", async () => {
    const { data } = await createEndpoint();
    for (const [method, path] of [
      ['GET', `/api/v1/webhook_endpoints/${data.id}/deliveries`],
      ['POST', `/api/v1/webhook_endpoints/${data.id}/test_deliveries`],
      ['DELETE', `/api/v1/webhook_endpoints/${data.id}`],
    ] as const) {
      const r = await call(method, path, {
        key: other.raw,
        idempotencyKey: path.endsWith('test_deliveries') ? null : undefined,
      });
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    const list = await call('GET', '/api/v1/webhook_endpoints', { key: other.raw });
    expect(list.body.data.map((e: { id: number }) => e.id)).not.toContain(data.id);
    const cursor = await call('GET', `/api/v1/webhook_endpoints?starting_after=${data.id}`, { key: other.raw });
    expect(cursor.status).toBe(400);
    // Paths with ids that cannot exist are 404 too.
    const huge = await call('DELETE', '/api/v1/webhook_endpoints/99999999999', { key: key.raw });
    expect(huge.status).toBe(404);
  });
});

describe('Polykomos webhooks over GraphQL', () => {
  const fields = 'id endpointId url events status lastSuccessAt lastFailureAt createdAt';
  it('create, list, test delivery and revoke with the same checks', async () => {
    mode = 'ok';
    const created = await gql(
      t.baseUrl,
      `mutation($i: CreatePolykomosWebhookEndpointInput!) { createPolykomosWebhookEndpoint(input: $i) {
        __typename ... on MutationCreatePolykomosWebhookEndpointSuccess { data { secret endpoint { ${fields} } } }
        ... on Error { code } } }`,
      { i: { url: receiverUrl, events: ['webhook.test'] } },
      key.raw,
    );
    const payload = created.body.data?.createPolykomosWebhookEndpoint;
    expect(payload?.__typename, JSON.stringify(created.body)).toBe('MutationCreatePolykomosWebhookEndpointSuccess');
    secrets.add(payload.data.secret);
    const id = payload.data.endpoint.endpointId as number;
    const globalId = payload.data.endpoint.id as string;

    const bad = await gql(
      t.baseUrl,
      `mutation { createPolykomosWebhookEndpoint(input: {url: "${receiverUrl}", events: ["nope"]}) {
        __typename ... on Error { code } } }`,
      {},
      key.raw,
    );
    expect(bad.body.data?.createPolykomosWebhookEndpoint).toEqual({
      __typename: 'PolykomosRejectedError',
      code: 'INVALID_EVENT_TYPE',
    });

    const test = await gql(
      t.baseUrl,
      `mutation($e: Int!) { createPolykomosWebhookTestDelivery(endpointId: $e) {
        __typename ... on MutationCreatePolykomosWebhookTestDeliverySuccess { data { status responseCode isTest } }
        ... on Error { code } } }`,
      { e: id },
      key.raw,
    );
    expect(test.body.data?.createPolykomosWebhookTestDelivery.data).toEqual({
      status: 'delivered',
      responseCode: 200,
      isTest: true,
    });
    expect((received.at(-1) as Received).signatureValid).toBe(true);

    const foreign = await gql(
      t.baseUrl,
      `query($e: Int!) { polykomosWebhookDeliveries(endpointId: $e) { __typename ... on Error { code } } }`,
      { e: id },
      other.raw,
    );
    expect(foreign.body.data?.polykomosWebhookDeliveries).toEqual({
      __typename: 'PolykomosNotFoundError',
      code: 'NOT_FOUND',
    });

    const deliveries = await gql(
      t.baseUrl,
      `query($e: Int!) { polykomosWebhookDeliveries(endpointId: $e, first: 10) {
        ... on QueryPolykomosWebhookDeliveriesSuccess { data { edges { node { eventType status } } } } } }`,
      { e: id },
      key.raw,
    );
    expect(deliveries.body.data?.polykomosWebhookDeliveries.data.edges).toEqual([
      { node: { eventType: 'webhook.test', status: 'delivered' } },
    ]);

    // Node ids: the owner resolves endpoint and delivery; another user and a read-less key get null, as for a
    // missing id. Lists carry totalCount.
    const ids = await gql(t.baseUrl, PolykomosTestWebhookDeliveryIdsDocument, { endpointId: id }, key.raw);
    const idsData = ids.body.data?.polykomosWebhookDeliveries;
    if (idsData?.__typename !== 'QueryPolykomosWebhookDeliveriesSuccess') throw new Error(JSON.stringify(ids.body));
    expect(idsData.data.totalCount).toBe(1);
    const deliveryNode = idsData.data.edges[0]?.node;
    expect(deliveryNode?.id).not.toBe(String(deliveryNode?.deliveryId));
    const own = await gql(t.baseUrl, PolykomosTestWebhookNodeDocument, { id: globalId }, key.raw);
    expect(own.body.data?.node).toEqual({ __typename: 'PolykomosWebhookEndpoint', endpointId: id, status: 'active' });
    const ownDelivery = await gql(t.baseUrl, PolykomosTestWebhookNodeDocument, { id: deliveryNode?.id ?? '' }, key.raw);
    expect(ownDelivery.body.data?.node).toEqual({
      __typename: 'PolykomosWebhookDelivery',
      deliveryId: deliveryNode?.deliveryId,
      endpointId: id,
      deliveryStatus: 'delivered',
    });
    const noReadKey = await createPolykomosKey(t, ['databases:read']);
    for (const k of [other.raw, noReadKey.raw]) {
      for (const nodeId of [globalId, deliveryNode?.id ?? '']) {
        const r = await gql(t.baseUrl, PolykomosTestWebhookNodeDocument, { id: nodeId }, k);
        expect(r.body.errors, JSON.stringify(r.body)).toBeUndefined();
        expect(r.body.data?.node).toBeNull();
      }
    }
    const count = await gql(t.baseUrl, PolykomosTestWebhookEndpointCountDocument, undefined, key.raw);
    const countData = count.body.data?.polykomosWebhookEndpoints;
    if (countData?.__typename !== 'QueryPolykomosWebhookEndpointsSuccess') throw new Error(JSON.stringify(count.body));
    const rows = await t.app.services.prisma.webhookEndpoint.count({
      where: { product: 'polykomos', ownerId: 'user-a' },
    });
    expect(rows).toBeGreaterThan(1);
    expect(countData.data.edges).toHaveLength(1);
    expect(countData.data.totalCount).toBe(rows);

    const revoked = await gql(
      t.baseUrl,
      `mutation($e: Int!) { revokePolykomosWebhookEndpoint(endpointId: $e) {
        ... on MutationRevokePolykomosWebhookEndpointSuccess { data { status } } } }`,
      { e: id },
      key.raw,
    );
    expect(revoked.body.data?.revokePolykomosWebhookEndpoint.data.status).toBe('revoked');

    const readOnly = await createPolykomosKey(t, ['databases:read']);
    const scoped = await gql(
      t.baseUrl,
      `query { polykomosWebhookEndpoints { __typename ... on Error { code } } }`,
      {},
      readOnly.raw,
    );
    expect(scoped.body.data?.polykomosWebhookEndpoints).toEqual({
      __typename: 'PolykomosForbiddenError',
      code: 'INSUFFICIENT_SCOPE',
    });
  });
});

describe('SSRF: private targets refused when ATRIUM_ALLOW_PRIVATE_OUTBOUND is off (the default)', () => {
  it('create is 422 url_not_allowed with the ApiError shape, and no request is made', async () => {
    strictApp = await startPolykomosApp({ ATRIUM_POLYKOMOS_POSTGRES_URL: '', ATRIUM_POLYKOMOS_MYSQL_URL: '' });
    const strictCall = polykomosClient(strictApp, contract);
    const k = await createPolykomosKey(strictApp, ['webhooks:read', 'webhooks:write']);
    const port = new URL(receiverUrl).port;
    const before = received.length;
    for (const url of [
      receiverUrl,
      `http://localhost:${port}/hooks`,
      `http://[::1]:${port}/hooks`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/hook',
      'http://[::ffff:127.0.0.1]/hook',
    ]) {
      const r = await strictCall('POST', '/api/v1/webhook_endpoints', { key: k.raw, body: { url } });
      expect(r.status, url).toBe(422);
      expectApiError(r.body);
      expect(r.body.error.code, url).toBe('url_not_allowed');
      expect(r.headers.get('x-request-id')).toBe(r.body.request_id);
    }
    expect(received.length).toBe(before);
    const list = await strictCall('GET', '/api/v1/webhook_endpoints', { key: k.raw });
    expect(list.body.data).toEqual([]);
  });
});
