// Athena chat fan-out (issue 13, item 5): one room, BENCH_SUBSCRIBERS graphql-ws subscribers of
// chatMessagePosted on loopback, BENCH_MESSAGES messages posted through REST. Prints post → delivery latency
// (p50, p99 over every delivery) when messages are posted one at a time, then the messages/s sustained when
// BENCH_CONCURRENCY senders post at once (a message counts when every subscriber has it).
//
//   npx tsx bench/athena-chat.ts                                   # one server, embedded PGlite client
//   BENCH_DB=postgres npx tsx bench/athena-chat.ts                 # one server, platform and client on PostgreSQL
//   BENCH_INSTANCES=2 npx tsx bench/athena-chat.ts                 # two servers on PostgreSQL and Redis
//   BENCH_SUBSCRIBERS=200 BENCH_MESSAGES=50 npx tsx bench/athena-chat.ts
//
// Servers run as separate processes (`src/main.ts serve`, as operators run them); the subscribers and the poster
// share this process. With two instances the subscribers are split evenly between them and every message is
// posted to the first, so half the deliveries cross Redis.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type Client, createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { randomHex } from '../src/core/auth/secrets.ts';
import { type ServerProcess, startServerProcess, stopServerProcess } from '../test/kit/server-process.ts';

const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const messages = Number(process.env.BENCH_MESSAGES ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const instances = Number(process.env.BENCH_INSTANCES ?? 1);
const usePostgres = process.env.BENCH_DB === 'postgres' || instances > 1;
const adminUrl = process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
// Extra node flags for the servers, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const databases: string[] = [];
async function createDatabase(): Promise<string> {
  const name = `atrium_bench_chat_${randomHex(6)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  databases.push(name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const adminKey = `bench-admin-${randomHex(24)}`;
const platformUrl = usePostgres ? await createDatabase() : undefined;
const chatUrl = usePostgres ? await createDatabase() : undefined;
const namespace = `bench-chat-${randomHex(4)}`;
const nodes: ServerProcess[] = [];
for (let i = 0; i < instances; i++) {
  // Sequential starts: the first applies the migrations.
  nodes.push(
    await startServerProcess(
      {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        ATRIUM_ADMIN_KEY: adminKey,
        ATRIUM_SECRET_KEY: 'b'.repeat(64),
        ...(platformUrl ? { DATABASE_URL: platformUrl } : {}),
        ...(instances > 1 ? { REDIS_URL: redisUrl, ATRIUM_PUBSUB_NAMESPACE: namespace } : {}),
      },
      serverNodeArgs,
    ),
  );
}
const first = nodes[0] as ServerProcess;

async function graphql(token: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(`${first.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: unknown[] };
}

let client = 'local';
if (chatUrl) {
  client = `benchchat_${randomHex(4)}`;
  const created = await graphql(
    adminKey,
    `mutation ($input: CreateAthenaClientInput!) { createAthenaClient(input: $input) { __typename ... on Error { message } } }`,
    { input: { clientName: client, pgUri: chatUrl } },
  );
  if (created.data?.createAthenaClient?.__typename !== 'MutationCreateAthenaClientSuccess') {
    throw new Error(JSON.stringify(created));
  }
}

const org = 'bench-org';
async function session(userId: string): Promise<string> {
  const r = await graphql(
    adminKey,
    `mutation ($c: String!, $u: String!, $o: String!) {
      createAthenaChatSession(clientName: $c, userId: $u, organizationId: $o) {
        ... on MutationCreateAthenaChatSessionSuccess { data { token } }
        ... on Error { message }
      }
    }`,
    { c: client, u: userId, o: org },
  );
  const token = r.data?.createAthenaChatSession?.data?.token;
  if (!token) throw new Error(JSON.stringify(r));
  return token as string;
}

async function rest(node: ServerProcess, token: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${node.baseUrl}/athena${p}`, {
    method,
    headers: {
      'x-athena-client': client,
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const ownerToken = await session('owner');
const createdRoom = await rest(first, ownerToken, 'POST', '/chat/rooms', { kind: 'channel', title: 'bench' });
if (createdRoom.status !== 201) throw new Error(JSON.stringify(createdRoom.body));
const roomId = createdRoom.body.data.id as string;
const tokens: string[] = [];
for (let i = 0; i < subscribers; i += 100) {
  const ids = Array.from({ length: Math.min(100, subscribers - i) }, (_, k) => `u${i + k}`);
  const added = await rest(first, ownerToken, 'POST', `/chat/rooms/${roomId}/members`, { user_ids: ids });
  if (added.status >= 300) throw new Error(JSON.stringify(added.body));
  tokens.push(...(await Promise.all(ids.map(session))));
}

const sentAt = new Map<number, number>();
const latencies: number[] = [];
const received = new Map<number, number>();
const seen = new Array<number>(subscribers).fill(0);
const sockets: Client[] = [];
let errors = 0;
tokens.forEach((token, i) => {
  const node = nodes[i % nodes.length] as ServerProcess;
  const c = createClient({
    url: `${node.baseUrl.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
  });
  sockets.push(c);
  c.subscribe<{ chatMessagePosted: { roomSeq: number } }>(
    {
      query: `subscription ($r: String!) { chatMessagePosted(roomId: $r) { roomSeq } }`,
      variables: { r: roomId },
    },
    {
      next: (r) => {
        const seq = r.data?.chatMessagePosted.roomSeq;
        if (seq === undefined) return;
        seen[i] = seq;
        const at = sentAt.get(seq);
        if (at !== undefined) latencies.push(performance.now() - at);
        received.set(seq, (received.get(seq) ?? 0) + 1);
      },
      error: (e) => {
        errors++;
        console.error('subscription error', e);
      },
      complete: () => {},
    },
  );
});

/** Posts one message; with `expectedSeq` (one sender) the send time is known before any delivery can arrive. */
async function post(text: string, expectedSeq?: number): Promise<number> {
  const t0 = performance.now();
  if (expectedSeq !== undefined) sentAt.set(expectedSeq, t0);
  const r = await rest(first, ownerToken, 'POST', `/chat/rooms/${roomId}/messages`, {
    body_text: text,
    client_message_id: randomUUID(),
  });
  if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  const seq = r.body.data.room_seq as number;
  if (expectedSeq === undefined) sentAt.set(seq, t0);
  else if (seq !== expectedSeq) throw new Error(`seq ${seq}, expected ${expectedSeq}`);
  return seq;
}

const allHave = async (seq: number) => {
  const t0 = performance.now();
  while ((received.get(seq) ?? 0) < subscribers) {
    if (performance.now() - t0 > 30_000) throw new Error(`message ${seq}: ${received.get(seq) ?? 0} deliveries`);
    await new Promise((r) => setImmediate(r));
  }
};

// Warm-up: post until every subscriber has received one (all subscriptions are live), then wait for the last.
let seq = 0;
for (;;) {
  seq = await post('warm-up');
  await new Promise((r) => setTimeout(r, 500));
  if (seen.every((s) => s > 0)) break;
  if (errors > 0) throw new Error('subscriptions failed');
}
await allHave(seq);
latencies.length = 0;

// Phase 1: one message at a time, each waited for at every subscriber.
for (let i = 0; i < messages; i++) await allHave(await post(`latency ${i}`, seq + i + 1));
seq += messages;
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

// Phase 2: `concurrency` senders at once; messages/s until every subscriber has every message.
let next = 0;
const start = performance.now();
const seqs: number[] = [];
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < messages) {
      next++;
      seqs.push(await post(`throughput ${next}`));
    }
  }),
);
for (const s of seqs) await allHave(s);
const seconds = (performance.now() - start) / 1000;

const backend = instances > 1 ? `${instances} instances, postgres + redis` : usePostgres ? 'postgres' : 'pglite';
console.log(
  `athena chat fan-out (${backend}), ${subscribers} subscribers, ${messages} messages:\n` +
    `  post → delivery p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms (${sorted.length} deliveries, one message at a time)\n` +
    `  sustained ${(messages / seconds).toFixed(0)} messages/s = ${((messages * subscribers) / seconds).toFixed(0)} deliveries/s (${concurrency} concurrent senders)`,
);

for (const c of sockets) await c.dispose();
for (const n of nodes) await stopServerProcess(n);
if (databases.length > 0) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}
process.exit(0);
