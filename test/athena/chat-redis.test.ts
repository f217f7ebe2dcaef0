import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { randomHex } from '../../src/core/auth/secrets.ts';
import { AthenaTestChatCreateSessionDocument } from '../generated/athena.ts';
import { createTestDatabase } from '../kit/app.ts';
import { reachable } from '../kit/reachable.ts';
import { type ServerProcess, startServerProcess, stopServerProcess } from '../kit/server-process.ts';

/*
 * Chat across two server processes on one platform Postgres and one Redis (docs/athena.md, "Chat (G3)"): messages
 * posted through one server reach a chatMessagePosted subscriber on the other, in room_seq order, and a subscriber
 * that resumes on the other server from its last seq gets exactly what it missed. The chat client is a fresh
 * PostgreSQL database both servers reach. Skips without Redis or Postgres (CI sets ATRIUM_REQUIRE_SERVICES=1).
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pgUrl = process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://127.0.0.1:5432';
const servicesUp = (await reachable(redisUrl)) && (await reachable(pgUrl));
if (!servicesUp && process.env.ATRIUM_REQUIRE_SERVICES === '1') {
  throw new Error('Redis or PostgreSQL is not reachable but ATRIUM_REQUIRE_SERVICES=1');
}

type Node = ServerProcess;
const nodes: Node[] = [];
const databases: Awaited<ReturnType<typeof createTestDatabase>>[] = [];
const adminKey = `test-admin-${randomHex(24)}`;
const secretKey = randomHex(32);
const clientName = `chatredis_${randomHex(4)}`;
let redis: Redis | undefined;
const namespace = `chat-redis-${randomHex(6)}`;

async function startNode(databaseUrl: string): Promise<Node> {
  const node = await startServerProcess({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    // One namespace for both servers (one deployment), none shared with other test files.
    ATRIUM_PUBSUB_NAMESPACE: namespace,
    ATRIUM_ADMIN_KEY: adminKey,
    // One secret box for both: the client's URI is sealed by one server and opened by the other.
    ATRIUM_SECRET_KEY: secretKey,
  });
  nodes.push(node);
  return node;
}

beforeAll(async () => {
  if (!servicesUp) return;
  const platform = await createTestDatabase();
  const chatDb = await createTestDatabase();
  databases.push(platform, chatDb);
  // Sequential starts: the first applies migrations, the second finds them applied.
  await startNode(platform.url);
  await startNode(platform.url);
  redis = new Redis(redisUrl, { lazyConnect: false });
  const created = await graphql(nodes[0] as Node, adminKey, CREATE_CLIENT, {
    input: { clientName, pgUri: chatDb.url },
  });
  expect(created.data?.createAthenaClient.__typename, JSON.stringify(created)).toBe(
    'MutationCreateAthenaClientSuccess',
  );
}, 180_000);

afterAll(async () => {
  for (const n of nodes) await stopServerProcess(n);
  redis?.disconnect();
  for (const d of databases) await d.drop();
});

const CREATE_CLIENT = `mutation ($input: CreateAthenaClientInput!) {
  createAthenaClient(input: $input) { __typename ... on Error { code message } }
}`;

async function graphql(node: Node, token: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(`${node.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: unknown[] };
}

async function session(node: Node, userId: string): Promise<string> {
  const r = await graphql(node, adminKey, print(AthenaTestChatCreateSessionDocument), {
    clientName,
    userId,
    organizationId: 'org-redis',
  });
  const token = r.data?.createAthenaChatSession?.data?.token;
  if (!token) throw new Error(JSON.stringify(r));
  return token;
}

async function rest(node: Node, token: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${node.baseUrl}/athena${p}`, {
    method,
    headers: {
      'x-athena-client': clientName,
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Subscribes on `node`; resolves once Redis has the room's channel subscribed (the server is listening). */
async function subscribe(node: Node, token: string, roomId: string, afterSeq?: number) {
  const client = createClient({
    url: `${node.baseUrl.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const seqs: number[] = [];
  const errors: unknown[] = [];
  const before = await subscribers(roomId);
  client.subscribe<{ chatMessagePosted: { roomSeq: number } }>(
    {
      query: `subscription ($roomId: String!, $afterSeq: Int) {
        chatMessagePosted(roomId: $roomId, afterSeq: $afterSeq) { roomSeq }
      }`,
      variables: { roomId, afterSeq },
    },
    {
      next: (r) => {
        if (r.data) seqs.push(r.data.chatMessagePosted.roomSeq);
        if (r.errors) errors.push(r.errors);
      },
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  await until(async () => (await subscribers(roomId)) > before || errors.length > 0, 'the Redis subscription');
  return { seqs, errors, dispose: () => client.dispose() };
}

/** Redis subscribers of the room's chat channel (any namespace). */
async function subscribers(roomId: string): Promise<number> {
  const channels = (await redis?.pubsub('CHANNELS', `*athena.chatEvent*${roomId}*`)) as string[];
  if (channels.length === 0) return 0;
  const counts = (await redis?.pubsub('NUMSUB', ...channels)) as (string | number)[];
  let n = 0;
  for (let i = 1; i < counts.length; i += 2) n += Number(counts[i]);
  return n;
}

it.skipIf(!servicesUp)(
  'a message posted on one server reaches a subscriber on the other, in order; resume crosses servers',
  async () => {
    const [a, b] = nodes as [Node, Node];
    const alice = await session(a, 'alice');
    const bob = await session(b, 'bob');
    const created = await rest(a, alice, 'POST', '/chat/rooms', { kind: 'group', member_user_ids: ['bob'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const room = created.body.data.id as string;

    const onB = await subscribe(b, bob, room);
    for (let i = 0; i < 5; i++) {
      const r = await rest(a, alice, 'POST', `/chat/rooms/${room}/messages`, {
        body_text: `m${i}`,
        client_message_id: randomUUID(),
      });
      expect(r.status).toBe(201);
    }
    await until(() => onB.seqs.length >= 5, 'five messages on the other server');
    expect(onB.seqs).toEqual([1, 2, 3, 4, 5]);
    await onB.dispose();

    // Posted on B while nobody listens; resumed on A from seq 5.
    for (let i = 0; i < 3; i++) await rest(b, bob, 'POST', `/chat/rooms/${room}/messages`, { body_text: `b${i}` });
    const onA = await subscribe(a, alice, room, 5);
    await rest(b, bob, 'POST', `/chat/rooms/${room}/messages`, { body_text: 'live' });
    await until(() => onA.seqs.length >= 4, 'replay then live across servers');
    expect(onA.seqs).toEqual([6, 7, 8, 9]);
    expect([onB.errors, onA.errors]).toEqual([[], []]);
    await onA.dispose();
  },
  60_000,
);
