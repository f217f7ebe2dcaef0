// Athena chat fan-out (issue 13, item 5): one room, BENCH_SUBSCRIBERS graphql-ws subscribers of
// chatMessagePosted on loopback, BENCH_MESSAGES messages posted through REST. Prints post → delivery latency
// (p50, p99 over every delivery) when messages are posted one at a time, then the messages/s one instance sustains
// when BENCH_CONCURRENCY senders post at once (a message counts when every subscriber has it).
//
//   npx tsx bench/athena-chat.ts                       # embedded PGlite client
//   BENCH_DB=postgres npx tsx bench/athena-chat.ts     # platform and client on PostgreSQL (ATRIUM_TEST_PG_URL)
//   BENCH_SUBSCRIBERS=200 BENCH_MESSAGES=50 npx tsx bench/athena-chat.ts
//
// The server and the subscribers share this process (one event loop), so the figures are an upper bound of what
// a separate server would show. Two instances on Redis are not measured here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Client, createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { randomHex } from '../src/core/auth/secrets.ts';

const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const messages = Number(process.env.BENCH_MESSAGES ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const usePostgres = process.env.BENCH_DB === 'postgres';
const adminUrl = process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

let databaseUrl: string | undefined;
const dbName = `atrium_bench_chat_${randomHex(6)}`;
if (usePostgres) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  databaseUrl = url.toString();
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-bench-chat-'));
const adminKey = `bench-admin-${randomHex(24)}`;
const app = await createApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_ADMIN_KEY: adminKey,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  }),
);
const baseUrl = await app.listen(0, '127.0.0.1');
const { athena } = app.services;
const client = 'local';
await athena.clients.database(client);

const { adminPrincipal } = await import('../src/core/auth/principal.ts');
const { toPrincipal } = await import('../src/modules/athena/chat/sessions.ts');
const org = 'bench-org';
const owner = await athena.sessions.create(adminPrincipal, {
  clientName: client,
  userId: 'owner',
  organizationId: org,
});
const ownerPrincipal = toPrincipal(owner.session);
const room = await athena.chat.createRoom(ownerPrincipal, { kind: 'channel', title: 'bench' });
const tokens: string[] = [];
for (let i = 0; i < subscribers; i += 200) {
  const ids = Array.from({ length: Math.min(200, subscribers - i) }, (_, k) => `u${i + k}`);
  await athena.chat.addMembers(ownerPrincipal, { roomId: room.id, userIds: ids });
  for (const userId of ids) {
    tokens.push(
      (await athena.sessions.create(adminPrincipal, { clientName: client, userId, organizationId: org })).token,
    );
  }
}

const sentAt = new Map<number, number>();
const latencies: number[] = [];
const received = new Map<number, number>();
const sockets: Client[] = [];
const wsUrl = `${baseUrl.replace('http', 'ws')}/graphql`;
const before = athena.chat.openStreams;
await Promise.all(
  tokens.map(async (token) => {
    const c = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: false,
    });
    sockets.push(c);
    c.subscribe<{ chatMessagePosted: { roomSeq: number } }>(
      { query: `subscription ($r: String!) { chatMessagePosted(roomId: $r) { roomSeq } }`, variables: { r: room.id } },
      {
        next: (r) => {
          const seq = r.data?.chatMessagePosted.roomSeq;
          if (seq === undefined) return;
          const at = sentAt.get(seq);
          if (at !== undefined) latencies.push(performance.now() - at);
          received.set(seq, (received.get(seq) ?? 0) + 1);
        },
        error: (e) => console.error('subscription error', e),
        complete: () => {},
      },
    );
  }),
);
while (athena.chat.openStreams - before < subscribers) await new Promise((r) => setTimeout(r, 20));

/** Posts one message; with `expectedSeq` (one sender) the send time is known before any delivery can arrive. */
async function post(text: string, expectedSeq?: number): Promise<number> {
  const t0 = performance.now();
  if (expectedSeq !== undefined) sentAt.set(expectedSeq, t0);
  const res = await fetch(`${baseUrl}/athena/chat/rooms/${room.id}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-athena-client': client, authorization: `Bearer ${owner.token}` },
    body: JSON.stringify({ body_text: text }),
  });
  const body = (await res.json()) as { data: { room_seq: number } };
  if (res.status !== 201) throw new Error(JSON.stringify(body));
  if (expectedSeq === undefined) sentAt.set(body.data.room_seq, t0);
  else if (body.data.room_seq !== expectedSeq) throw new Error(`seq ${body.data.room_seq}, expected ${expectedSeq}`);
  return body.data.room_seq;
}

const allHave = async (seq: number) => {
  while ((received.get(seq) ?? 0) < subscribers) await new Promise((r) => setImmediate(r));
};

// Phase 1: one message at a time, each waited for at every subscriber.
for (let i = 0; i < messages; i++) await allHave(await post(`latency ${i}`, i + 1));
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

console.log(
  `athena chat fan-out (${usePostgres ? 'postgres' : 'pglite'}), ${subscribers} subscribers, ${messages} messages:\n` +
    `  post → delivery p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms (${sorted.length} deliveries, one message at a time)\n` +
    `  sustained ${(messages / seconds).toFixed(0)} messages/s = ${((messages * subscribers) / seconds).toFixed(0)} deliveries/s (${concurrency} concurrent senders)`,
);

for (const c of sockets) await c.dispose();
await app.close();
await rm(dataDir, { recursive: true, force: true });
if (usePostgres) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
}
process.exit(0);
