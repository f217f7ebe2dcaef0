import { type FormattedExecutionResult, print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { randomHex } from '../../src/core/auth/secrets.ts';
import {
  PlatformAuditEventSubjectDocument,
  type PlatformAuditEventSubjectSubscription,
} from '../generated/platform.ts';
import { createTestDatabase } from '../kit/app.ts';
import { graphqlAs, keyWithControls, restAs } from '../kit/key-controls.ts';
import { createApiKey } from '../kit/platform.ts';
import { reachable } from '../kit/reachable.ts';
import { type ServerProcess, startServerProcess, stopServerProcess } from '../kit/server-process.ts';

/*
 * Two real server processes share one Postgres and one Redis. An audit event committed through one
 * must reach a graphql-ws subscriber connected to the other, and a key's rate limit is one budget across both.
 * (One file, one pair of servers: Redis pub/sub channels are not namespaced per deployment, so two pairs running
 * at once would see each other's events.)
 * CI sets ATRIUM_REQUIRE_SERVICES=1 so this cannot skip there; on a laptop without Redis or Postgres
 * it skips with the reason.
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.ATRIUM_REQUIRE_SERVICES === '1';

const servicesUp =
  (await reachable(redisUrl)) && (await reachable(process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://127.0.0.1:5432'));
if (!servicesUp && required) throw new Error('Redis or PostgreSQL is not reachable but ATRIUM_REQUIRE_SERVICES=1');

type Node = ServerProcess;
const nodes: Node[] = [];
let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
const adminKey = `test-admin-${randomHex(24)}`;

async function startNode(databaseUrl: string): Promise<Node> {
  const node = await startServerProcess({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    ATRIUM_ADMIN_KEY: adminKey,
  });
  nodes.push(node);
  return node;
}

beforeAll(async () => {
  if (!servicesUp) return;
  database = await createTestDatabase();
  // Sequential starts: the first applies migrations, the second finds them applied.
  await startNode(database.url);
  await startNode(database.url);
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await stopServerProcess(n);
  await database?.drop();
});

it.skipIf(!servicesUp)('an event published on one server reaches a subscriber on another through Redis', async () => {
  const [a, b] = nodes as [Node, Node];
  expect(a.baseUrl).not.toBe(b.baseUrl);
  const client = createClient({
    url: `${a.baseUrl.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${adminKey}` },
    retryAttempts: 0,
  });
  try {
    const received = new Promise<FormattedExecutionResult<PlatformAuditEventSubjectSubscription, unknown>>(
      (resolve, reject) => {
        client.subscribe<PlatformAuditEventSubjectSubscription>(
          { query: print(PlatformAuditEventSubjectDocument) },
          { next: resolve, error: reject, complete: () => {} },
        );
      },
    );
    // Give the subscription time to register with Redis before publishing on the other node.
    await new Promise((r) => setTimeout(r, 500));
    const { uuid } = (await createApiKey(b.baseUrl, adminKey, { product: 'atrium', name: 'cross-node', scopes: [] }))
      .apiKey;
    const event = await received;
    expect(event.data?.auditEventRecorded).toEqual({ action: 'apiKey.created', subjectId: uuid });
  } finally {
    await client.dispose();
  }
});

// The token bucket lives in Redis (one atomic script), so requests spread over both servers exhaust one budget;
// with per-process buckets each server would allow the full limit and the last requests below would pass.
it.skipIf(!servicesUp)(
  'two servers on one Redis share a key’s requests-per-minute budget',
  async () => {
    const [a, b] = nodes as [Node, Node];
    const k = await keyWithControls(a.baseUrl, adminKey, { requestsPerMinute: 4 });
    // Two requests on each server (GraphQL and REST): four tokens of the one bucket.
    expect((await graphqlAs(a.baseUrl, k.raw)).status).toBe(200);
    expect((await restAs(b.baseUrl, k.raw)).status).toBe(200);
    expect((await restAs(a.baseUrl, k.raw)).status).toBe(200);
    expect((await graphqlAs(b.baseUrl, k.raw)).status).toBe(200);
    // The budget is spent on both servers, though each has seen only two requests.
    expect(await graphqlAs(b.baseUrl, k.raw)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const r = await restAs(a.baseUrl, k.raw);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('rate_limited');
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
  },
  60_000,
);

it.skipIf(!servicesUp)('both servers report ready and shut down cleanly on SIGTERM', async () => {
  for (const n of nodes) {
    const ready = await fetch(`${n.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
  }
  const last = nodes.pop() as Node;
  expect(await stopServerProcess(last)).toBe(0);
});
