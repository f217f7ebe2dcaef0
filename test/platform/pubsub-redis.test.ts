import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

interface Node {
  proc: ChildProcess;
  baseUrl: string;
  dataDir: string;
}
const nodes: Node[] = [];
let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
const adminKey = `test-admin-${randomHex(24)}`;

async function startNode(databaseUrl: string): Promise<Node> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-node-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      ATRIUM_DATA_DIR: dataDir,
      ATRIUM_ADMIN_KEY: adminKey,
      ATRIUM_POLYKOMOS_POSTGRES_URL: '',
      ATRIUM_POLYKOMOS_MYSQL_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`node exited with ${code}:\n${output}`)));
  });
  const node = { proc, baseUrl, dataDir };
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
  for (const n of nodes) {
    const exited = new Promise((r) => n.proc.once('exit', r));
    n.proc.kill('SIGTERM');
    await exited;
    await rm(n.dataDir, { recursive: true, force: true });
  }
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
  const code = await new Promise<number | null>((resolve) => {
    last.proc.once('exit', resolve);
    last.proc.kill('SIGTERM');
  });
  expect(code).toBe(0);
  await rm(last.dataDir, { recursive: true, force: true });
});
