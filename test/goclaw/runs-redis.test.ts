import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { randomHex } from '../../src/core/auth/secrets.ts';
import {
  GoClawTestAbortRunDocument,
  GoClawTestAbortRunsDocument,
  GoClawTestRunEventsDocument,
  GoClawTestSendMessageDocument,
} from '../generated/goclaw.ts';
import { createTestDatabase, gql } from '../kit/app.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';
import { reachable } from '../kit/reachable.ts';
import { type ServerProcess, startServerProcess, stopServerProcess } from '../kit/server-process.ts';

/*
 * Two real server processes share one Postgres and one Redis. A run started on A is followed over
 * `agentRunEvents` on B: from the start, from a cursor, while it runs and after it ended — every event once, in
 * order, no gaps. CI sets ATRIUM_REQUIRE_SERVICES=1 so this cannot skip there; without Redis or Postgres it skips
 * with the reason.
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.ATRIUM_REQUIRE_SERVICES === '1';
const servicesUp =
  (await reachable(redisUrl)) && (await reachable(process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://127.0.0.1:5432'));
if (!servicesUp && required) throw new Error('Redis or PostgreSQL is not reachable but ATRIUM_REQUIRE_SERVICES=1');

const nodes: ServerProcess[] = [];
let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
let llm: LlmStandin;
const adminKey = `test-admin-${randomHex(24)}`;
let owner = '';
let stranger = '';

async function rest(base: string, method: string, path: string, body?: unknown, token = adminKey) {
  const res = await fetch(`${base}/goclaw${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

interface Ev {
  seq: number;
  type: string;
  payload: any;
}

/** Follows a run over graphql-ws on `base` until the subscription completes; `onEvent` sees each event. */
function follow(base: string, token: string, runId: string, after?: number, onEvent?: (e: Ev) => void) {
  return new Promise<Ev[]>((resolve, reject) => {
    const got: Ev[] = [];
    const ws = createClient({
      url: `${base.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    ws.subscribe(
      { query: print(GoClawTestRunEventsDocument), variables: { runId, ...(after !== undefined ? { after } : {}) } },
      {
        next: (v) => {
          if (v.errors) {
            void ws.dispose();
            reject(new Error(JSON.stringify(v.errors)));
            return;
          }
          const e = (v.data as { agentRunEvents: Ev }).agentRunEvents;
          got.push(e);
          onEvent?.(e);
        },
        error: (e) => {
          void ws.dispose();
          reject(e instanceof Error ? e : new Error(JSON.stringify(e)));
        },
        complete: () => {
          void ws.dispose();
          resolve(got);
        },
      },
    );
  });
}

/** Reads an SSE response's `data:` payloads as they arrive. */
async function* sseData(res: Response): AsyncGenerator<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (true) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let at = buffer.indexOf('\n\n');
    while (at !== -1) {
      const frame = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      for (const line of frame.split('\n')) if (line.startsWith('data: ')) yield line.slice(6);
      at = buffer.indexOf('\n\n');
    }
  }
}

beforeAll(async () => {
  if (!servicesUp) return;
  llm = await startLlmStandin();
  database = await createTestDatabase();
  // Sequential starts: the first applies migrations, the second finds them applied.
  for (let i = 0; i < 2; i++) {
    nodes.push(
      await startServerProcess({
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        ATRIUM_ADMIN_KEY: adminKey,
        ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
      }),
    );
  }
  const a = (nodes[0] as ServerProcess).baseUrl;
  expect(
    (await rest(a, 'POST', '/v1/providers', { name: 'p', provider_type: 'openai_compat', api_base: llm.openaiBase }))
      .status,
  ).toBe(201);
  const agent = await rest(a, 'POST', '/v1/agents', { name: 'relay', provider: 'p', model: 'standin-small' });
  expect(agent.status, JSON.stringify(agent.body)).toBe(201);
  owner = (await rest(a, 'POST', '/v1/api-keys', { name: 'owner', scopes: ['operator.write'] })).body.key;
  stranger = (await rest(a, 'POST', '/v1/api-keys', { name: 'stranger', scopes: ['operator.write'] })).body.key;
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await stopServerProcess(n);
  await database?.drop();
  await llm?.close();
});

it.skipIf(!servicesUp)(
  'a run on server A is followed live on server B from the start and from a cursor, each event once, in order',
  async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    llm.script({ text: 'live one two three', gate });
    const res = await fetch(`${a.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent:relay', messages: [{ role: 'user', content: 'go' }], stream: true }),
    });
    expect(res.status).toBe(200);
    const runId = res.headers.get('x-goclaw-run-id') as string;
    const reader = sseData(res);
    // Read by hand: a `for await … break` would close the stream.
    for (let n = await reader.next(); !n.done; n = await reader.next()) if (n.value.includes('"live "')) break;

    // The stranger may not follow it on B either (the run is not B's: the check reads the stored trace).
    await expect(follow(b.baseUrl, stranger, runId)).rejects.toThrow(/not found/);

    // Two followers on B join while A holds the stream after its first chunk: one from the start, one after seq 1.
    let fromStartSawLive: () => void = () => {};
    const sawLive = new Promise<void>((resolve) => {
      fromStartSawLive = resolve;
    });
    const fromStart = follow(b.baseUrl, owner, runId, 0, (e) => {
      if (e.type === 'chunk' && e.payload.content === 'live ') fromStartSawLive();
    });
    const fromCursor = follow(b.baseUrl, owner, runId, 1);
    await sawLive;
    // Give the cursor follower its catch-up read too, then let the run go on (what follows arrives through Redis).
    await new Promise((r) => setTimeout(r, 300));
    release();
    let text = '';
    for (let n = await reader.next(); !n.done; n = await reader.next()) {
      if (n.value !== '[DONE]') text += JSON.parse(n.value).choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('one two three');

    const all = await fromStart;
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all.map((e) => e.type)).toEqual(['run_started', 'chunk', 'chunk', 'chunk', 'chunk', 'run_completed']);
    expect(all.slice(1, 5).map((e) => e.payload.content)).toEqual(['live ', 'one ', 'two ', 'three']);
    expect(all[5]?.payload).toMatchObject({ content: 'live one two three' });
    expect((await fromCursor).map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);

    // After the end, on either server, a late subscriber replays from its cursor.
    expect((await follow(b.baseUrl, owner, runId, 4)).map((e) => `${e.seq}:${e.type}`)).toEqual([
      '5:chunk',
      '6:run_completed',
    ]);
    expect((await follow(a.baseUrl, adminKey, runId, 5)).map((e) => e.seq)).toEqual([6]);
  },
  60_000,
);

it.skipIf(!servicesUp)('a follower on B that joins right after the run starts on A misses nothing', async () => {
  const [a, b] = nodes as [ServerProcess, ServerProcess];
  for (let round = 0; round < 3; round++) {
    llm.script({ text: `quick answer ${round}` });
    const res = await fetch(`${a.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent:relay', messages: [{ role: 'user', content: 'go' }], stream: true }),
    });
    const runId = res.headers.get('x-goclaw-run-id') as string;
    // Subscribed on B at once: the trace may not be stored yet (the writer batches every 200 ms).
    const events = await follow(b.baseUrl, owner, runId);
    await res.text();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.type).toBe('run_started');
    expect(events.at(-1)).toMatchObject({ type: 'run_completed', payload: { content: `quick answer ${round}` } });
  }
});

it.skipIf(!servicesUp)(
  'a run on A is aborted from B: it ends as run_cancelled for every follower',
  async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    llm.script({ text: 'never finished text', gate });
    const res = await fetch(`${a.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent:relay', messages: [{ role: 'user', content: 'go' }], stream: true }),
    });
    const runId = res.headers.get('x-goclaw-run-id') as string;
    const reader = sseData(res);
    for (let n = await reader.next(); !n.done; n = await reader.next()) if (n.value.includes('"never "')) break;
    const following = follow(b.baseUrl, owner, runId);
    await new Promise((r) => setTimeout(r, 500));
    const abort = (token: string) => gql(b.baseUrl, GoClawTestAbortRunDocument, { runId }, token);
    expect((await abort(stranger)).body.data?.abortAgentRun.__typename).toBe('GoClawResourceNotFoundError');
    expect((await abort(owner)).body.data?.abortAgentRun).toMatchObject({
      __typename: 'MutationAbortAgentRunSuccess',
      data: { runId, outcome: 'requested' },
    });
    const events = await following;
    release();
    expect(events.at(-1)).toMatchObject({ type: 'run_cancelled', payload: { error: 'aborted by request' } });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // The SSE response on A ends too: the abort's error frame, then [DONE].
    const frames: string[] = [];
    for (let n = await reader.next(); !n.done; n = await reader.next()) frames.push(n.value);
    expect(frames).toEqual([JSON.stringify({ error: { message: 'aborted by request', type: 'api_error' } }), '[DONE]']);
    const trace = await rest(a.baseUrl, 'GET', `/v1/traces/${runId}`);
    expect(trace.body.trace.status).toBe('cancelled');
    expect((await abort(owner)).body.data?.abortAgentRun).toMatchObject({ data: { outcome: 'finished' } });
  },
  60_000,
);

it.skipIf(!servicesUp)(
  'abortGoClawRuns by session on B aborts the session’s run on A (the caller’s own only)',
  async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    llm.script({ text: 'held in session', gate });
    const sessionKey = 'agent:relay:cross-instance';
    const sent = await gql(
      a.baseUrl,
      GoClawTestSendMessageDocument,
      { input: { sessionKey, message: 'go', agentId: 'relay', stream: true } },
      owner,
    );
    expect(sent.body.data?.sendGoClawMessage.__typename).toBe('MutationSendGoClawMessageSuccess');
    const runId = (sent.body.data as { sendGoClawMessage: { data: { runId: string } } }).sendGoClawMessage.data.runId;
    const events: Ev[] = [];
    let sawChunk: () => void = () => {};
    const chunked = new Promise<void>((resolve) => {
      sawChunk = resolve;
    });
    const following = follow(b.baseUrl, owner, runId, 0, (e) => {
      events.push(e);
      if (e.type === 'chunk') sawChunk();
    });
    await chunked;
    const abortRuns = (token: string) => gql(b.baseUrl, GoClawTestAbortRunsDocument, { sessionKey }, token);
    // The stranger's request reaches A too, and A leaves the run alone (not the stranger's).
    expect((await abortRuns(stranger)).body.data?.abortGoClawRuns).toMatchObject({ data: [] });
    await new Promise((r) => setTimeout(r, 500));
    expect(events.at(-1)?.type).toBe('chunk');
    // The owner's: B runs none of the session's runs (answers []), A aborts its one.
    expect((await abortRuns(owner)).body.data?.abortGoClawRuns).toMatchObject({ data: [] });
    await following;
    release();
    expect(events.at(-1)).toMatchObject({ type: 'run_cancelled', payload: { error: 'aborted by the client' } });
  },
  60_000,
);
