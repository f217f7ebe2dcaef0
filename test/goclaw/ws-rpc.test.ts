import { connect as tcpConnect } from 'node:net';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  GoClawTestAbortRunsDocument,
  GoClawTestRunEventsDocument,
  GoClawTestSendMessageDocument,
  GoClawTestSessionDocument,
  GoClawTestSessionNodeDocument,
  GoClawTestSessionsDocument,
} from '../generated/goclaw.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { goclawCall, goclawClient, goclawKey } from '../kit/goclaw.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';

/*
 * The GoClaw WebSocket RPC (protocol v3) at /goclaw/ws, driven by a real `ws` client against a real server and
 * the loopback LLM stand-in: handshake, token resolution, per-method roles, correlation, agent events, abort,
 * rate limit, frame limits, revocation, keepalive.
 */

let t: TestApp;
let llm: LlmStandin;
let wsUrl: string;
let viewer: string;
let operator: string;

beforeAll(async () => {
  llm = await startLlmStandin();
  t = await startTestApp({
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ATRIUM_GOCLAW_WS_PING_MS: '100',
    // Long enough that a client paused on purpose (the send-buffer test) is not first dropped as silent.
    ATRIUM_GOCLAW_WS_IDLE_TIMEOUT_MS: '5000',
    ATRIUM_GOCLAW_WS_RATE_PER_SECOND: '5',
    ATRIUM_GOCLAW_WS_BURST: '30',
    ATRIUM_GOCLAW_WS_MAX_BUFFERED_BYTES: String(256 * 1024),
  });
  wsUrl = `${t.baseUrl.replace('http', 'ws')}/goclaw/ws`;
  const call = goclawClient(t);
  viewer = await goclawKey(t, ['operator.read']);
  operator = await goclawKey(t, ['operator.write']);
  expect(
    (
      await call('POST', '/v1/providers', {
        body: { name: 'openai', provider_type: 'openai_compat', api_base: llm.openaiBase },
      })
    ).status,
  ).toBe(201);
  for (const name of ['default', 'helper']) {
    const made = await call('POST', '/v1/agents', {
      headers: { 'x-goclaw-user-id': 'ops' },
      body: { name, provider: 'openai', model: 'standin-small', system_prompt: `You are ${name}.` },
    });
    expect(made.status).toBe(201);
  }
});
afterAll(async () => {
  await t?.close();
  await llm?.close();
});

interface Res {
  type: 'res';
  id: string;
  ok: boolean;
  payload?: any;
  error?: { code: string; message: string; retryable?: boolean; retryAfterMs?: number; details?: any };
}
interface Ev {
  type: 'event';
  event: string;
  payload: any;
  seq: number;
}

/** A protocol client: requests by id, every frame recorded, the close code awaited. */
class Rpc {
  readonly frames: (Res | Ev)[] = [];
  readonly events: Ev[] = [];
  private readonly waiting = new Map<string, (r: Res) => void>();
  private readonly untagged: ((r: Res) => void)[] = [];
  private next = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.opened = new Promise((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Res | Ev;
      this.frames.push(frame);
      if (frame.type === 'event') {
        this.events.push(frame);
        return;
      }
      const waiter = this.waiting.get(frame.id);
      if (waiter) {
        this.waiting.delete(frame.id);
        waiter(frame);
      } else this.untagged.shift()?.(frame);
    });
  }

  static async open(opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<Rpc> {
    const rpc = new Rpc(new WebSocket(wsUrl, opts));
    await rpc.opened;
    return rpc;
  }

  /** Opens a socket and connects with the token; throws unless the handshake succeeds. */
  static async connected(token: string, userId = 'ops'): Promise<Rpc> {
    const rpc = await Rpc.open();
    const res = await rpc.request('connect', { token, user_id: userId });
    if (!res.ok) throw new Error(`connect failed: ${JSON.stringify(res.error)}`);
    return rpc;
  }

  request(method: string, params?: unknown, id = `r${++this.next}`): Promise<Res> {
    const answer = new Promise<Res>((resolve) => this.waiting.set(id, resolve));
    this.socket.send(JSON.stringify({ type: 'req', id, method, ...(params === undefined ? {} : { params }) }));
    return answer;
  }

  /** Sends raw text; resolves with the next response that is not for a pending id. */
  raw(text: string | Buffer, binary = false): Promise<Res> {
    const answer = new Promise<Res>((resolve) => this.untagged.push(resolve));
    this.socket.send(text, { binary });
    return answer;
  }

  async until(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (check()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  close() {
    this.socket.close();
  }
}

describe('the endpoint and the handshake', () => {
  it('answers a plain POST or GET to /ws with 426 in GoClaw’s error shape', async () => {
    for (const method of ['POST', 'GET']) {
      const res = await goclawCall(t, method, '/ws', { token: t.adminKey });
      expect(res.status).toBe(426);
      expect(res.headers.get('upgrade')).toBe('websocket');
      expect(Object.keys(res.body)).toEqual(['error']);
      expect(typeof res.body.error).toBe('string');
    }
  });

  it('requires connect first, then answers the protocol, role, user and server', async () => {
    const rpc = await Rpc.open();
    const early = await rpc.request('health');
    expect(early).toMatchObject({ type: 'res', id: 'r1', ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(early.error?.message).toBe("first request must be 'connect'");
    const hello = await rpc.request('connect', { token: t.adminKey, user_id: 'alice', locale: 'en' });
    expect(hello).toEqual({
      type: 'res',
      id: 'r2',
      ok: true,
      payload: { protocol: 3, role: 'admin', user_id: 'alice', server: { name: 'goclaw', version: '0.2.0' } },
    });
    const health = await rpc.request('health');
    expect(health.payload).toMatchObject({ status: 'ok', database: 'ok', clients: 1 });
    expect(typeof health.payload.currentId).toBe('string');
    expect((await rpc.request('connect', { token: t.adminKey })).error).toMatchObject({ code: 'INVALID_REQUEST' });
    rpc.close();
  });

  it('derives the role from the API key’s scopes', async () => {
    for (const [token, role] of [
      [viewer, 'viewer'],
      [operator, 'operator'],
      [await goclawKey(t, ['operator.admin']), 'admin'],
    ] as const) {
      const rpc = await Rpc.open();
      expect((await rpc.request('connect', { token })).payload).toMatchObject({ role, user_id: '' });
      rpc.close();
    }
  });

  it('refuses a wrong, missing or foreign token with UNAUTHORIZED and closes (no viewer fallback)', async () => {
    for (const params of [
      { token: 'goclaw_00000000000000000000000000000000' },
      { token: `${t.adminKey}x` },
      { token: 'not-a-token' },
      {},
      { token: 42 },
    ]) {
      const rpc = await Rpc.open();
      const res = await rpc.request('connect', params);
      expect(res).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
      expect(res.error?.message).not.toMatch(/sha|hash|prisma|select/i);
      expect((await rpc.closed).code).toBe(4401);
    }
  });

  it('closes a connection that never connects, after the idle deadline', async () => {
    const rpc = await Rpc.open();
    const started = Date.now();
    expect((await rpc.closed).code).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
  });

  it('pings, and drops a peer that stops answering', async () => {
    // A live client answers the server's pings (ws does by itself) and stays, past several deadlines.
    const live = await Rpc.connected(t.adminKey);
    let pings = 0;
    live.socket.on('ping', () => pings++);
    await new Promise((r) => setTimeout(r, 2000));
    expect(pings).toBeGreaterThanOrEqual(10);
    expect((await live.request('health')).ok).toBe(true);
    live.close();
    // A raw peer that completes the upgrade and connects but never answers a ping is dropped.
    const port = Number(new URL(t.baseUrl).port);
    const socket = tcpConnect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'GET /goclaw/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    await live.until(() => received.includes('\r\n\r\n'), 'the upgrade');
    expect(received).toMatch(/^HTTP\/1\.1 101/);
    const body = Buffer.from(
      JSON.stringify({ type: 'req', id: 'c', method: 'connect', params: { token: t.adminKey } }),
    );
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(body.map((b, i) => b ^ (mask[i % 4] as number)));
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | 126, body.length >> 8, body.length & 255]), mask, masked]));
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(received).toContain('"ok":true');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('frames', () => {
  it('answers malformed JSON, wrong frame types, bad ids and binary frames with INVALID_REQUEST and stays open', async () => {
    const rpc = await Rpc.connected(t.adminKey);
    expect(await rpc.raw('{not json')).toMatchObject({ id: '', ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await rpc.raw('[1,2]')).toMatchObject({ id: '', ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await rpc.raw(JSON.stringify({ type: 'event', id: 'e1', event: 'x' }))).toMatchObject({
      id: 'e1',
      ok: false,
      error: { code: 'INVALID_REQUEST', message: 'unexpected frame type: event' },
    });
    expect(await rpc.raw(JSON.stringify({ type: 'req', id: 7, method: 'health' }))).toMatchObject({
      id: '',
      error: { code: 'INVALID_REQUEST' },
    });
    expect(await rpc.raw(JSON.stringify({ type: 'req', id: 'p', method: 'health', params: [1] }))).toMatchObject({
      id: 'p',
      error: { code: 'INVALID_REQUEST', message: 'params must be an object' },
    });
    expect(await rpc.raw(Buffer.from('{"type":"req"}'), true)).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    expect((await rpc.request('health')).ok).toBe(true);
    rpc.close();
  });

  it('answers an unknown method INVALID_REQUEST "unknown method", prototype names included', async () => {
    const rpc = await Rpc.connected(t.adminKey);
    for (const name of ['config.apply', 'constructor', '__proto__', 'toString']) {
      const res = await rpc.request(name);
      expect(res.error).toMatchObject({ code: 'INVALID_REQUEST' });
      expect(res.error?.message).toMatch(/^unknown method/);
    }
    rpc.close();
  });

  it('closes the connection on a frame over 512 KiB (1009)', async () => {
    const rpc = await Rpc.connected(t.adminKey);
    rpc.socket.send(
      JSON.stringify({ type: 'req', id: 'big', method: 'health', params: { pad: 'x'.repeat(600 * 1024) } }),
    );
    expect((await rpc.closed).code).toBe(1009);
    // Just under the limit is read (and the method answers).
    const ok = await Rpc.connected(t.adminKey);
    const res = await ok.request('health', { pad: 'x'.repeat(500 * 1024) });
    expect(res.ok).toBe(true);
    ok.close();
  });

  it('closes (1013) a connection whose client stops reading once the send buffer bound is passed', async () => {
    const rpc = await Rpc.connected(operator);
    llm.script({ text: `big-${'x'.repeat(4_000_000)}` });
    // The client stops reading: what the server sends piles up in the kernel, then in the socket's buffer.
    const tcp = (rpc.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    const live = (t.app.services.goclaw.runs as unknown as { live: Map<string, { finished: boolean }> }).live;
    const before = new Set(live.keys());
    tcp.pause();
    void rpc.request('chat.send', { message: 'a lot, please' });
    await rpc.until(() => [...live].some(([id, r]) => !before.has(id) && r.finished), 'the run to finish');
    await new Promise((r) => setTimeout(r, 100));
    tcp.resume();
    expect((await rpc.closed).code).toBe(1013);
  });

  it('rate-limits each connection with a token bucket: RESOURCE_EXHAUSTED, retryable, retryAfterMs', async () => {
    const rpc = await Rpc.connected(t.adminKey);
    const answers = await Promise.all(Array.from({ length: 45 }, () => rpc.request('health')));
    const refused = answers.filter((a) => !a.ok);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    for (const r of refused) {
      expect(r.error).toMatchObject({ code: 'RESOURCE_EXHAUSTED', retryable: true });
      expect(r.error?.retryAfterMs).toBeGreaterThan(0);
      expect(r.error?.retryAfterMs).toBeLessThanOrEqual(200);
    }
    // Another connection has its own bucket; this one refills.
    const other = await Rpc.connected(t.adminKey);
    expect((await other.request('health')).ok).toBe(true);
    await new Promise((r) => setTimeout(r, (refused.at(-1)?.error?.retryAfterMs ?? 200) + 50));
    expect((await rpc.request('health')).ok).toBe(true);
    rpc.close();
    other.close();
  });
});

describe('method roles', () => {
  it('lets a viewer read but not chat or manage keys; an operator chat but not manage keys', async () => {
    const v = await Rpc.connected(viewer);
    expect((await v.request('agents.list')).payload.agents.map((a: any) => a.name)).toEqual(['default', 'helper']);
    expect((await v.request('status')).ok).toBe(true);
    expect((await v.request('usage.summary', { period: '1h' })).ok).toBe(true);
    const denied = await v.request('chat.send', { message: 'hi' });
    expect(denied.error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(denied.error?.message).toMatch(/permission denied: chat.send/);
    expect((await v.request('chat.abort', { runId: 'x' })).error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await v.request('api_keys.list')).error).toMatchObject({ code: 'UNAUTHORIZED' });
    // The refusal leaves the connection usable.
    expect((await v.request('health')).ok).toBe(true);
    v.close();
    const o = await Rpc.connected(operator);
    for (const m of ['api_keys.list', 'api_keys.create', 'api_keys.revoke']) {
      expect((await o.request(m, { name: 'x', scopes: [], id: 'x' })).error).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    o.close();
  });

  it('lets the gateway token manage API keys over the RPC (create shows the key once; revoke)', async () => {
    const rpc = await Rpc.connected(t.adminKey);
    const created = await rpc.request('api_keys.create', { name: 'ws-made', scopes: ['operator.read'] });
    expect(created.payload).toMatchObject({ name: 'ws-made', scopes: ['operator.read'], expires_at: null });
    expect(created.payload.key).toMatch(/^goclaw_[0-9a-f]{32}$/);
    const listed = await rpc.request('api_keys.list');
    const mine = listed.payload.find((k: any) => k.id === created.payload.id);
    expect(mine).toMatchObject({ name: 'ws-made', revoked: false });
    expect(mine.key).toBeUndefined();
    expect(JSON.stringify(listed.payload)).not.toContain(created.payload.key);
    expect((await rpc.request('api_keys.create', { name: 'bad', scopes: ['nope'] })).error).toMatchObject({
      code: 'INVALID_REQUEST',
    });
    expect((await rpc.request('api_keys.create', { name: 'bad', scopes: 'nope' })).error).toMatchObject({
      code: 'INVALID_REQUEST',
    });
    expect((await rpc.request('api_keys.revoke', { id: created.payload.id })).payload).toEqual({ status: 'revoked' });
    expect((await rpc.request('api_keys.revoke', { id: '00000000-0000-0000-0000-000000000000' })).error).toMatchObject({
      code: 'NOT_FOUND',
    });
    const after = await Rpc.open();
    expect((await after.request('connect', { token: created.payload.key })).error).toMatchObject({
      code: 'UNAUTHORIZED',
    });
    rpc.close();
  });

  it('closes the connection of a key the moment it is revoked (4403), and refuses it afterwards', async () => {
    const made = await goclawCall(t, 'POST', '/v1/api-keys', {
      token: t.adminKey,
      body: { name: 'short-lived', scopes: ['operator.write'] },
    });
    const rpc = await Rpc.connected(made.body.key);
    expect((await rpc.request('health')).ok).toBe(true);
    expect((await goclawCall(t, 'DELETE', `/v1/api-keys/${made.body.id}`, { token: t.adminKey })).status).toBe(200);
    const closed = await rpc.closed;
    expect(closed.code).toBe(4403);
    const again = await Rpc.open();
    const res = await again.request('connect', { token: made.body.key });
    expect(res.error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(res.error?.message).toMatch(/revoked/);
  });
});

describe('chat over the RPC', () => {
  it('streams the run as agent events with a monotonic seq, then answers {runId, content, usage}', async () => {
    llm.script({ text: 'Hello there, friend', usage: { input: 11, output: 4 } });
    const rpc = await Rpc.connected(operator);
    const res = await rpc.request('chat.send', { message: 'Hi', agentId: 'helper', stream: true });
    expect(res.ok).toBe(true);
    expect(res.payload).toEqual({
      runId: expect.any(String),
      content: 'Hello there, friend',
      usage: { promptTokens: 11, completionTokens: 4, totalTokens: 15, cost: 0 },
    });
    const events = rpc.events.filter((e) => e.payload.runId === res.payload.runId);
    expect(events.every((e) => e.event === 'agent')).toBe(true);
    const types = events.map((e) => e.payload.type);
    expect(types[0]).toBe('run.started');
    expect(types.at(-1)).toBe('run.completed');
    expect(types.filter((x) => x === 'chunk').length).toBeGreaterThanOrEqual(3);
    expect(
      events
        .filter((e) => e.payload.type === 'chunk')
        .map((e) => e.payload.payload.content)
        .join(''),
    ).toBe('Hello there, friend');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.payload).toMatchObject({ agentId: 'helper', channel: 'ws', userId: 'ops', runSeq: 1 });
    // The event frame arrives before the response frame.
    expect(rpc.frames.findIndex((f) => f.type === 'res' && f.id === 'r2')).toBeGreaterThan(
      rpc.frames.indexOf(events.at(-1) as Ev),
    );
    // The same run, followed through the GraphQL subscription, is the same event stream.
    const gqlEvents = await new Promise<any[]>((resolve, reject) => {
      const got: any[] = [];
      const ws = createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${operator}` },
        retryAttempts: 0,
      });
      ws.subscribe(
        { query: print(GoClawTestRunEventsDocument), variables: { runId: res.payload.runId, after: 0 } },
        {
          next: (v) => got.push((v.data as any).agentRunEvents),
          error: (e) => {
            void ws.dispose();
            reject(e);
          },
          complete: () => {
            void ws.dispose();
            resolve(got);
          },
        },
      );
    });
    expect(gqlEvents.map((e) => e.seq)).toEqual(events.map((e) => e.payload.runSeq));
    expect(gqlEvents.map((e) => e.payload)).toEqual(events.map((e) => e.payload.payload));
    // The system prompt went to the provider; the trace records the ws channel.
    expect(llm.requests.at(-1)?.body.messages).toEqual([
      { role: 'system', content: 'You are helper.' },
      { role: 'user', content: 'Hi' },
    ]);
    const trace = await goclawCall(t, 'GET', `/v1/traces/${res.payload.runId}`, { token: t.adminKey });
    expect(trace.body.trace).toMatchObject({ channel: 'ws', status: 'completed' });
    rpc.close();
  });

  it('correlates concurrent requests by id while a chat streams', async () => {
    let release!: () => void;
    llm.script({ text: 'slow answer here', gate: new Promise<void>((r) => (release = r)) });
    const rpc = await Rpc.connected(operator);
    const chat = rpc.request('chat.send', { message: 'wait', stream: true }, 'chat-1');
    await rpc.until(() => rpc.events.some((e) => e.payload.type === 'chunk'), 'the first chunk');
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const methodsFor = ['health', 'status', 'agents.list', 'usage.summary', 'sessions.list', 'usage.get'];
    const answers = await Promise.all(ids.map((id, i) => rpc.request(methodsFor[i] as string, {}, id)));
    expect(answers.map((a) => a.id)).toEqual(ids);
    expect(answers.every((a) => a.ok)).toBe(true);
    expect(answers[1]?.payload).toMatchObject({ agentTotal: 2, clients: expect.any(Number) });
    expect(answers[3]?.payload).toMatchObject({ period: '24h', current: { requests: expect.any(Number) } });
    release();
    const done = await chat;
    expect(done).toMatchObject({ id: 'chat-1', ok: true, payload: { content: 'slow answer here' } });
    rpc.close();
  });

  it('keeps a session: the next message carries the earlier turns; history and sessions list show it', async () => {
    const rpc = await Rpc.connected(operator);
    const sessionKey = 'agent:helper:ws-test-1';
    llm.script({ text: 'First answer' }, { text: 'Second answer' });
    expect((await rpc.request('chat.send', { message: 'First question', sessionKey })).ok).toBe(true);
    expect((await rpc.request('chat.send', { message: 'Second question', sessionKey })).ok).toBe(true);
    expect(llm.requests.at(-1)?.body.messages).toEqual([
      { role: 'system', content: 'You are helper.' },
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: 'First answer' },
      { role: 'user', content: 'Second question' },
    ]);
    const history = await rpc.request('chat.history', { sessionKey });
    expect(history.payload.messages.map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'First question'],
      ['assistant', 'First answer'],
      ['user', 'Second question'],
      ['assistant', 'Second answer'],
    ]);
    const preview = await rpc.request('sessions.preview', { key: sessionKey });
    expect(preview.payload.messages).toHaveLength(4);
    const sessions = await rpc.request('sessions.list', { agentId: 'helper' });
    expect(sessions.payload.sessions.find((s: any) => s.key === sessionKey)).toMatchObject({ runs: 2 });
    // Another principal does not see this session, nor gets its turns as context.
    const other = await Rpc.connected(t.adminKey);
    expect((await other.request('chat.history', { sessionKey })).payload.messages).toHaveLength(4);
    other.close();
    const stranger = await Rpc.connected(viewer);
    expect((await stranger.request('chat.history', { sessionKey })).payload.messages).toEqual([]);
    expect((await stranger.request('sessions.list')).payload.total).toBe(0);
    stranger.close();
    rpc.close();
  });

  it('aborts a run by id (chat.abort): the send answers cancelled, the trace is cancelled', async () => {
    let release!: () => void;
    llm.script({ text: 'never finished', gate: new Promise<void>((r) => (release = r)) });
    const rpc = await Rpc.connected(operator);
    const send = rpc.request('chat.send', { message: 'go', stream: true });
    await rpc.until(() => rpc.events.some((e) => e.payload.type === 'chunk'), 'the first chunk');
    const runId = rpc.events[0]?.payload.runId as string;
    // Another operator key cannot abort it; a viewer may not try.
    const otherOperator = await Rpc.connected(await goclawKey(t, ['operator.write']));
    expect((await otherOperator.request('chat.abort', { runId })).payload).toEqual({
      ok: true,
      aborted: false,
      runIds: [],
    });
    otherOperator.close();
    expect((await rpc.request('chat.abort', {})).error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect((await rpc.request('chat.abort', { runId })).payload).toEqual({ ok: true, aborted: true, runIds: [runId] });
    const answered = await send;
    expect(answered).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE', details: { runId, status: 'cancelled' } },
    });
    expect(rpc.events.at(-1)?.payload.type).toBe('run.cancelled');
    release();
    const trace = await goclawCall(t, 'GET', `/v1/traces/${runId}`, { token: t.adminKey });
    expect(trace.body.trace.status).toBe('cancelled');
    rpc.close();
  });

  it('aborts every running run of a session (chat.abort by sessionKey)', async () => {
    let release!: () => void;
    llm.script({ text: 'session run', gate: new Promise<void>((r) => (release = r)) });
    const rpc = await Rpc.connected(operator);
    const sessionKey = 'agent:default:abort-me';
    const send = rpc.request('chat.send', { message: 'go', stream: true, sessionKey });
    await rpc.until(() => rpc.events.some((e) => e.payload.type === 'chunk'), 'the first chunk');
    const runId = rpc.events[0]?.payload.runId as string;
    expect(rpc.events[0]?.payload.sessionKey).toBe(sessionKey);
    expect((await rpc.request('chat.abort', { sessionKey: 'agent:default:other' })).payload.aborted).toBe(false);
    expect((await rpc.request('chat.abort', { sessionKey })).payload).toEqual({
      ok: true,
      aborted: true,
      runIds: [runId],
    });
    expect((await send).error?.details).toEqual({ runId, status: 'cancelled' });
    release();
    rpc.close();
  });

  it('aborts the runs of a connection that goes away', async () => {
    let release!: () => void;
    llm.script({ text: 'left behind', gate: new Promise<void>((r) => (release = r)) });
    const rpc = await Rpc.connected(operator);
    void rpc.request('chat.send', { message: 'go', stream: true, sessionKey: 'agent:default:gone' });
    await rpc.until(() => rpc.events.some((e) => e.payload.type === 'chunk'), 'the first chunk');
    const runId = rpc.events[0]?.payload.runId as string;
    rpc.socket.terminate();
    const run = t.app.services.goclaw.runs.liveRun(runId);
    const outcome = await run?.outcome;
    expect(outcome?.status).toBe('cancelled');
    release();
  });

  it('answers the services’ refusals in the protocol’s codes, without internals', async () => {
    const rpc = await Rpc.connected(operator);
    expect((await rpc.request('chat.send', {})).error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'message is required',
    });
    expect((await rpc.request('chat.send', { message: 'x', agentId: 'nobody' })).error).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await rpc.request('chat.send', { message: 'x', stream: 'yes' })).error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'stream must be a boolean',
    });
    expect((await rpc.request('agent', { agentId: 'nobody' })).error).toMatchObject({ code: 'NOT_FOUND' });
    expect((await rpc.request('usage.summary', { period: '2h' })).error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect((await rpc.request('sessions.list', { limit: 0 })).error).toMatchObject({ code: 'INVALID_REQUEST' });
    // A provider failure is the run's failure, with the run id.
    llm.script({ status: 500, error: 'upstream exploded' });
    const failed = await rpc.request('chat.send', { message: 'x' });
    expect(failed.error).toMatchObject({ code: 'UNAVAILABLE', details: { status: 'error' } });
    rpc.close();
  });

  it('gets one agent for its owner (or an admin) and refuses others', async () => {
    const admin = await Rpc.connected(t.adminKey, 'someone');
    expect((await admin.request('agent', { agentId: 'helper' })).payload).toMatchObject({
      name: 'helper',
      systemPrompt: 'You are helper.',
      ownerId: 'ops',
    });
    admin.close();
    const stranger = await Rpc.connected(viewer, 'someone-else');
    expect((await stranger.request('agent', { agentId: 'helper' })).error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await stranger.request('agents.list')).payload.agents).toEqual([]);
    stranger.close();
  });
});

describe('the same sessions through GraphQL', () => {
  it('sends into a session (history first), lists and loads it, and aborts by session', async () => {
    const sessionKey = 'agent:helper:gql-1';
    llm.script({ text: 'GraphQL answer' });
    const rpc = await Rpc.connected(operator);
    expect((await rpc.request('chat.send', { message: 'Over the socket', sessionKey })).ok).toBe(true);
    rpc.close();
    let release!: () => void;
    llm.script({ text: 'held answer', gate: new Promise<void>((r) => (release = r)) });
    const sent = await gql(
      t.baseUrl,
      GoClawTestSendMessageDocument,
      { input: { message: 'Over GraphQL', sessionKey, stream: true } },
      operator,
    );
    const started = sent.body.data?.sendGoClawMessage;
    if (started?.__typename !== 'MutationSendGoClawMessageSuccess') throw new Error(JSON.stringify(sent.body));
    expect(started.data).toMatchObject({ agentKey: 'helper', sessionKey });
    // The socket turn is the GraphQL run's history.
    const run = t.app.services.goclaw.runs.liveRun(started.data.runId);
    await rpc.until(() => (run?.events.length ?? 0) >= 2, 'the first chunk');
    expect(llm.requests.at(-1)?.body.messages).toEqual([
      { role: 'system', content: 'You are helper.' },
      { role: 'user', content: 'Over the socket' },
      { role: 'assistant', content: 'GraphQL answer' },
      { role: 'user', content: 'Over GraphQL' },
    ]);
    const viewerAbort = await gql(t.baseUrl, GoClawTestAbortRunsDocument, { sessionKey }, viewer);
    expect(viewerAbort.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const aborted = await gql(t.baseUrl, GoClawTestAbortRunsDocument, { sessionKey }, operator);
    expect(aborted.body.data?.abortGoClawRuns).toEqual({
      __typename: 'MutationAbortGoClawRunsSuccess',
      data: [started.data.runId],
    });
    expect((await run?.outcome)?.status).toBe('cancelled');
    release();
    const listed = await gql(t.baseUrl, GoClawTestSessionsDocument, {}, operator);
    const page = listed.body.data?.goclawSessions;
    if (page?.__typename !== 'QueryGoclawSessionsSuccess') throw new Error(JSON.stringify(listed.body));
    const node = page.data.edges.find((e) => e?.node?.key === sessionKey)?.node;
    expect(node).toMatchObject({ runs: 2 });
    // Only completed runs are the conversation.
    expect(node?.messages.map((m) => m.content)).toEqual(['Over the socket', 'GraphQL answer']);
    const byNode = await gql(t.baseUrl, GoClawTestSessionNodeDocument, { id: node?.id as string }, operator);
    expect(byNode.body.data?.node).toEqual({ __typename: 'GoClawSession', key: sessionKey, runs: 2 });
    expect(
      (await gql(t.baseUrl, GoClawTestSessionNodeDocument, { id: node?.id as string }, viewer)).body.data?.node,
    ).toBeNull();
    const one = await gql(t.baseUrl, GoClawTestSessionDocument, { key: 'agent:helper:nobody' }, operator);
    expect(one.body.data?.goclawSession?.__typename).toBe('GoClawResourceNotFoundError');
    const bad = await gql(t.baseUrl, GoClawTestSessionDocument, { key: '' }, operator);
    expect(bad.body.data?.goclawSession?.__typename).toBe('GoClawBadRequestError');
    const trace = await goclawCall(t, 'GET', `/v1/traces/${started.data.runId}`, { token: t.adminKey });
    expect(trace.body.trace).toMatchObject({ channel: 'graphql', session_key: sessionKey, status: 'cancelled' });
  });
});
