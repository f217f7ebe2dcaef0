import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import {
  createPolykomosKey,
  type PolykomosKey,
  polykomosClient,
  polykomosPostgresUrl,
  setControls,
  startPolykomosApp,
} from '../kit/polykomos.ts';

/*
 * Database events through the outbox and the delivery loop, to a loopback receiver that verifies signatures and can
 * fail a number of requests (500) to force retries. Needs the Postgres engine (skips otherwise).
 */

interface Hit {
  path: string;
  type: string;
  envelope: any;
  signatureValid: boolean;
  answered: number;
}
let receiver: Server;
let base: string;
let failNext = 0;
const hits: Hit[] = [];
const secrets = new Map<string, string>();

let t: TestApp;
let contract: ContractExpectations;
let call: ReturnType<typeof polykomosClient>;
let key: PolykomosKey;
let other: PolykomosKey;

const describeIf = polykomosPostgresUrl ? describe : describe.skip;

beforeAll(async () => {
  if (!polykomosPostgresUrl) return;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const path = req.url ?? '';
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['polykomos-signature'] ?? ''));
      const secret = secrets.get(path);
      const signatureValid =
        !!m &&
        !!secret &&
        timingSafeEqual(
          createHmac('sha256', secret).update(`${m[1]}.${body}`).digest(),
          Buffer.from(m[2] as string, 'hex'),
        );
      const answered = failNext > 0 ? 500 : 200;
      if (failNext > 0) failNext--;
      const envelope = JSON.parse(body);
      hits.push({ path, type: envelope.type, envelope, signatureValid, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await startPolykomosApp({
    ATRIUM_POLYKOMOS_MYSQL_URL: '',
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ATRIUM_POLYKOMOS_WEBHOOK_TIMEOUT_MS: '1000',
    ATRIUM_POLYKOMOS_WEBHOOK_POLL_MS: '50',
    ATRIUM_POLYKOMOS_WEBHOOK_RETRY_BASE_MS: '100',
    ATRIUM_POLYKOMOS_WEBHOOK_MAX_ATTEMPTS: '3',
  });
  contract = await contractValidator('polykomos');
  call = polykomosClient(t, contract);
  const scopes = ['databases:read', 'databases:write', 'webhooks:read', 'webhooks:write'];
  key = await createPolykomosKey(t, scopes);
  await setControls(t, key.id, { userId: 'events-a', userName: 'A', userEmail: 'a@example.test' });
  other = await createPolykomosKey(t, scopes);
  await setControls(t, other.id, { userId: 'events-b', userName: 'B', userEmail: 'b@example.test' });
});

afterAll(async () => {
  await t?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
});

async function endpoint(k: PolykomosKey, path: string, events: string[] = []): Promise<number> {
  const r = await call('POST', '/api/v1/webhook_endpoints', { key: k.raw, body: { url: `${base}${path}`, events } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  secrets.set(path, r.body.secret);
  return r.body.data.id;
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeIf('Polykomos database events: outbox, delivery loop, retries', () => {
  it('delivers created/provisioned/updated/deleted events, signed, to subscribed endpoints of the owner only', async () => {
    const all = await endpoint(key, '/all');
    await endpoint(key, '/deleted-only', ['database.deleted']);
    await endpoint(other, '/other-user');

    const created = await call('POST', '/api/v1/databases?wait=true&timeout=60', {
      key: key.raw,
      body: { name: 'evented' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const uuid = created.body.data.uuid as string;

    await until('created + provisioned', () => (hits.filter((h) => h.path === '/all').length >= 2 ? true : undefined));
    const allHits = hits.filter((h) => h.path === '/all');
    expect(allHits.map((h) => h.type).sort()).toEqual(['database.created', 'database.provisioned']);
    for (const h of allHits) {
      expect(h.signatureValid).toBe(true);
      expect(h.envelope.id).toMatch(/^evt_/);
      expect(h.envelope.data.uuid).toBe(uuid);
      expect(h.envelope.data).not.toHaveProperty('db_password');
    }
    expect(allHits.find((h) => h.type === 'database.provisioned')?.envelope.data.status).toBe('active');

    // An update whose first attempt gets a 500: retried with backoff, then delivered.
    failNext = 1;
    const renamed = await call('PATCH', `/api/v1/databases/${uuid}`, { key: key.raw, body: { name: 'renamed' } });
    expect(renamed.status).toBe(200);
    const updated = await until('updated delivered', async () => {
      const r = await call('GET', `/api/v1/webhook_endpoints/${all}/deliveries`, { key: key.raw });
      return r.body.data.find((d: any) => d.event_type === 'database.updated' && d.status === 'delivered');
    });
    expect(updated).toMatchObject({ attempt_count: 2, response_code: 200 });
    const updateHits = hits.filter((h) => h.type === 'database.updated');
    expect(updateHits.map((h) => h.answered)).toEqual([500, 200]);
    expect(updateHits[0]?.envelope.id).toBe(updateHits[1]?.envelope.id);

    // Delete with the receiver failing every attempt: after max attempts (3) the deliveries are failed.
    failNext = 1000;
    const deleted = await call('DELETE', `/api/v1/databases/${uuid}`, { key: key.raw });
    expect(deleted.status).toBe(200);
    for (const path of ['/all', '/deleted-only']) {
      await until(`${path} deleted failed`, () =>
        hits.filter((h) => h.path === path && h.type === 'database.deleted').length >= 3 ? true : undefined,
      );
    }
    const failed = await until('deleted marked failed', async () => {
      const r = await call('GET', `/api/v1/webhook_endpoints/${all}/deliveries`, { key: key.raw });
      return r.body.data.find((d: any) => d.event_type === 'database.deleted' && d.status === 'failed');
    });
    expect(failed).toMatchObject({ attempt_count: 3, response_code: 500 });
    failNext = 0;

    // The deleted-only endpoint got nothing but deletes; the other user's endpoint got nothing.
    expect(new Set(hits.filter((h) => h.path === '/deleted-only').map((h) => h.type))).toEqual(
      new Set(['database.deleted']),
    );
    expect(hits.filter((h) => h.path === '/other-user')).toEqual([]);
    const list = await call('GET', '/api/v1/webhook_endpoints', { key: key.raw });
    const ep = list.body.data.find((e: any) => e.id === all);
    expect(ep.last_success_at).not.toBeNull();
    expect(ep.last_failure_at).not.toBeNull();
  }, 60_000);
});
