import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomHex } from '../../src/core/auth/secrets.ts';
import { createTestDatabase } from '../kit/app.ts';
import { graphqlAs, keyWithControls, restAs } from '../kit/key-controls.ts';
import { reachable } from '../kit/reachable.ts';

/*
 * Two real server processes on one Postgres and one Redis share each key's rate limit: the token bucket lives in
 * Redis (one atomic script), so requests spread over both servers exhaust one budget. With per-process buckets
 * each server would allow the full limit and the last request below would pass.
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.ATRIUM_REQUIRE_SERVICES === '1';
const servicesUp =
  (await reachable(redisUrl)) && (await reachable(process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://127.0.0.1:5432'));
if (!servicesUp && required) throw new Error('Redis or PostgreSQL is not reachable but ATRIUM_REQUIRE_SERVICES=1');
if (!servicesUp) console.warn('Redis or PostgreSQL is not reachable: the shared rate-limit test skips');

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
