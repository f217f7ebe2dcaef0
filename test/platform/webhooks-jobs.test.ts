import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, startTestApp, type TestApp } from '../kit/app.ts';
import { reachable } from '../kit/reachable.ts';

/*
 * The shared webhook engine on the durable job runner, across instances: server A (no job slots) records the event
 * in the caller's transaction and relays it into a delivery and its job; server B, on the same PostgreSQL, claims
 * and sends it. A receiver that always fails makes the job dead after the last attempt and the delivery failed (the
 * dead letter); an emit whose transaction rolls back sends nothing.
 */
const pgUp = await reachable(process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://127.0.0.1:5432');
if (!pgUp && process.env.ATRIUM_REQUIRE_SERVICES === '1') throw new Error('PostgreSQL is not reachable');
if (!pgUp) console.warn('PostgreSQL is not reachable: the cross-instance webhook test skips');

const hits: { path: string; id: string; type: string; signature: string; body: string }[] = [];
let receiver: Server;
let base: string;
let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  if (!pgUp) return;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const envelope = JSON.parse(body);
      hits.push({
        path: req.url ?? '',
        id: envelope.id,
        type: envelope.type,
        signature: String(req.headers['polykomos-signature'] ?? ''),
        body,
      });
      res.writeHead(req.url === '/fail' ? 500 : 204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  database = await createTestDatabase();
  const env = {
    DATABASE_URL: database.url,
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ATRIUM_POLYKOMOS_POSTGRES_URL: '',
    ATRIUM_POLYKOMOS_MYSQL_URL: '',
    ATRIUM_WEBHOOKS_POLL_MS: '50',
    ATRIUM_WEBHOOKS_RETRY_BASE_MS: '50',
    ATRIUM_WEBHOOKS_MAX_ATTEMPTS: '2',
    ATRIUM_WEBHOOKS_TIMEOUT_MS: '2000',
    ATRIUM_JOBS_POLL_MS: '50',
    // Instances share the key that seals endpoint secrets (each would generate its own otherwise).
    ATRIUM_SECRET_KEY: randomBytes(32).toString('hex'),
  };
  a = await startTestApp({ ...env, ATRIUM_JOBS_CONCURRENCY: '0', ATRIUM_INSTANCE_ID: 'webhooks-a' });
  b = await startTestApp({ ...env, ATRIUM_JOBS_CONCURRENCY: '2', ATRIUM_INSTANCE_ID: 'webhooks-b' });
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
  receiver?.closeAllConnections();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
});

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) {
      const state = {
        events: await a.app.services.prisma.webhookEvent.findMany(),
        deliveries: await a.app.services.prisma.webhookDelivery.findMany(),
        jobs: await a.app.services.prisma.job.findMany(),
      };
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

it.skipIf(!pgUp)(
  'an event emitted on one instance is delivered by another; the last failure is a dead letter',
  async () => {
    const owner = { product: 'polykomos', ownerId: 'owner-1' };
    const webhooksA = a.app.services.webhooks;
    const ok = await webhooksA.createEndpoint(owner, { url: `${base}/ok`, events: ['database.created'] });
    const failing = await webhooksA.createEndpoint(owner, { url: `${base}/fail` });
    const elsewhere = await webhooksA.createEndpoint(
      { product: 'polykomos', ownerId: 'owner-2' },
      { url: `${base}/x` },
    );

    // Rolled back: the event never existed, nothing is sent.
    await expect(
      a.app.services.prisma.$transaction(async (tx) => {
        await webhooksA.emit(tx, 'polykomos', { ownerId: 'owner-1', type: 'database.updated', payload: { n: 0 } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const eventId = await a.app.services.prisma.$transaction((tx) =>
      webhooksA.emit(tx, 'polykomos', { ownerId: 'owner-1', type: 'database.created', payload: { n: 1 } }),
    );

    const delivered = await until('delivered', async () => {
      const d = await b.app.services.prisma.webhookDelivery.findFirst({
        where: { endpointId: ok.endpoint.id, eventId, status: 'delivered' },
      });
      return d ?? undefined;
    });
    expect(delivered).toMatchObject({ responseCode: 204, attemptCount: 1, errorMessage: null });
    const job = await b.app.services.jobs.get(delivered.jobId as string);
    expect(job).toMatchObject({ kind: 'webhooks.deliver', state: 'succeeded', leaseOwner: 'webhooks-b' });

    const okHit = hits.find((h) => h.path === '/ok');
    expect(okHit).toMatchObject({ id: eventId, type: 'database.created' });
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(okHit?.signature ?? '');
    const expected = createHmac('sha256', ok.secret).update(`${m?.[1]}.${okHit?.body}`).digest('hex');
    expect(m?.[2]).toBe(expected);
    expect(JSON.parse(okHit?.body ?? '{}')).toEqual({
      id: eventId,
      type: 'database.created',
      created_at: expect.any(String),
      data: { n: 1 },
    });

    const dead = await until('dead letter', async () => {
      const d = await b.app.services.prisma.webhookDelivery.findFirst({
        where: { endpointId: failing.endpoint.id, eventId, status: 'failed' },
      });
      return d ?? undefined;
    });
    expect(dead).toMatchObject({ responseCode: 500, attemptCount: 2, errorMessage: 'HTTP 500' });
    expect(await b.app.services.jobs.get(dead.jobId as string)).toMatchObject({ state: 'dead', attempts: 2 });
    expect(hits.filter((h) => h.path === '/fail').map((h) => h.id)).toEqual([eventId, eventId]);

    // Another owner's endpoint and the rolled-back event got nothing.
    expect(hits.filter((h) => h.path === '/x')).toEqual([]);
    expect(hits.some((h) => h.type === 'database.updated')).toBe(false);
    expect(await a.app.services.prisma.webhookDelivery.count({ where: { endpointId: elsewhere.endpoint.id } })).toBe(0);
  },
  60_000,
);
