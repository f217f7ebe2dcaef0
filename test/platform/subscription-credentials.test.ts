import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  PlatformAuditEventActionDocument,
  PlatformRevokeApiKeyDocument,
  SubCredCreateLogDatabaseDocument,
  SubCredExecutionStatusDocument,
  SubCredLogJobEventsDocument,
  SubCredRotateLogServiceTokenDocument,
  SubCredRunExecutionDocument,
} from '../generated/platform.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { issueJwt } from '../kit/deepstore.ts';
import { createApiKey } from '../kit/platform.ts';

/** Subscriptions end with their credential: revocation closes graphql-ws (4403) and ends SSE streams within 5 s. */
describe('subscriptions end with their credential', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  }, 60_000);
  afterAll(() => t?.close());

  function newKey(name: string, expiresInSeconds?: number) {
    return createApiKey(t.baseUrl, t.adminKey, {
      product: 'mcp_v8',
      name,
      scopes: [],
      ...(expiresInSeconds ? { expiresInSeconds } : {}),
    });
  }

  /** A run that stays `running` for a while (busy loop inside the sandbox), as the key's tenant. */
  async function longRun(key: string): Promise<string> {
    const r = await gql(
      t.baseUrl,
      SubCredRunExecutionDocument,
      {
        input: { code: 'const end = Date.now() + 12000; while (Date.now() < end) {} "done"', executionTimeoutSecs: 20 },
      },
      key,
    );
    const run = r.body.data?.runExecution;
    if (run?.__typename !== 'MutationRunExecutionSuccess') throw new Error(`no run: ${JSON.stringify(r.body)}`);
    return run.data.uuid;
  }

  const revoke = (id: string) => gql(t.baseUrl, PlatformRevokeApiKeyDocument, { id }, t.adminKey);

  const subscription = print(SubCredExecutionStatusDocument);

  it('graphql-ws: revoking the key closes the connection with 4403 within 5 s', async () => {
    const key = await newKey('ws-revoked');
    const uuid = await longRun(key.rawKey);
    let closedAt = 0;
    let code = 0;
    const closed = new Promise<void>((resolve) => {
      const client = createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${key.rawKey}` },
        retryAttempts: 0,
        on: {
          closed: (e) => {
            code = (e as { code: number }).code;
            closedAt = Date.now();
            resolve();
          },
        },
      });
      client.subscribe(
        { query: subscription, variables: { uuid } },
        {
          next: (v) => {
            if (
              (v.data as { executionStatusChanged?: { status: string } })?.executionStatusChanged?.status === 'running'
            ) {
              first();
            }
          },
          error: () => {},
          complete: () => {},
        },
      );
    });
    let first = () => {};
    await new Promise<void>((resolve) => {
      first = resolve;
    });
    const revokedAt = Date.now();
    await revoke(key.apiKey.id);
    await closed;
    expect(code).toBe(4403);
    expect(closedAt - revokedAt).toBeLessThan(5000);
  }, 30_000);

  it('graphql-ws: rotating a DeepStore service token closes its connection with 4403 within 5 s', async () => {
    const created = await gql(t.baseUrl, SubCredCreateLogDatabaseDocument, { name: 'rotating' }, t.adminKey);
    const database = created.body.data?.createLogDatabase;
    if (database?.__typename !== 'MutationCreateLogDatabaseSuccess') throw new Error(JSON.stringify(created.body));
    const { databaseId, serviceToken } = database.data;
    let code = 0;
    let acked = () => {};
    const connected = new Promise<void>((resolve) => {
      acked = resolve;
    });
    const closed = new Promise<void>((resolve) => {
      const client = createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${serviceToken}` },
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
        on: {
          connected: () => acked(),
          closed: (e) => {
            code = (e as { code: number }).code;
            resolve();
          },
        },
      });
      client.subscribe(
        {
          query: print(SubCredLogJobEventsDocument),
          variables: { databaseId },
        },
        { next: () => {}, error: () => {}, complete: () => {} },
      );
    });
    await connected;
    const rotatedAt = Date.now();
    const rotated = await gql(t.baseUrl, SubCredRotateLogServiceTokenDocument, { databaseId }, t.adminKey);
    expect(rotated.body.errors).toBeUndefined();
    await closed;
    expect(code).toBe(4403);
    expect(Date.now() - rotatedAt).toBeLessThan(5000);
  }, 30_000);

  it('graphql-ws: a JWT connection closes with 4401 when the token expires', async () => {
    const jwt = await issueJwt(t, 'expiring-user', 'platform', 2);
    const start = Date.now();
    const code = await new Promise<number>((resolve) => {
      createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${jwt}` },
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
        on: { closed: (e) => resolve((e as { code: number }).code) },
      });
    });
    expect(code).toBe(4401);
    // Issued with a 2 s lifetime (whole seconds): closed within 5 s of connecting.
    expect(Date.now() - start).toBeLessThan(5000);
  }, 30_000);

  it('graphql-ws: an API key connection closes with 4401 when the key expires', async () => {
    const key = await newKey('ws-expiring', 2);
    const start = Date.now();
    const code = await new Promise<number>((resolve) => {
      createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${key.rawKey}` },
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
        on: { closed: (e) => resolve((e as { code: number }).code) },
      });
    });
    expect(code).toBe(4401);
    // The key lives 2 s from its creation: the connection ends then, not at the next request.
    expect(Date.now() - start).toBeLessThan(5000);
  }, 30_000);

  it('SSE: revoking the key ends the stream with an UNAUTHENTICATED error within 5 s', async () => {
    const key = await newKey('sse-revoked');
    const uuid = await longRun(key.rawKey);
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${key.rawKey}`,
      },
      body: JSON.stringify({ query: subscription, variables: { uuid } }),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('running')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toContain('running');
    const revokedAt = Date.now();
    await revoke(key.apiKey.id);
    let ended = false;
    while (!ended) {
      const { value, done } = await reader.read();
      if (done) ended = true;
      else text += decoder.decode(value);
      if (text.includes('event: complete')) ended = true;
    }
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expect(text).toContain('was revoked');
    expect(text).toContain('UNAUTHENTICATED');
  }, 30_000);
});

describe('graphql-ws errors carry a code', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  }, 60_000);
  afterAll(() => t?.close());

  it('parse, validation and credential errors of a subscribe message all carry extensions.code', async () => {
    const client = createClient({
      url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const errorOf = (payload: { query: string; extensions?: Record<string, unknown> }) =>
      new Promise<{ message: string; extensions?: { code?: string } }[]>((resolve) => {
        client.subscribe(payload, {
          next: (v) => resolve((v.errors ?? []) as never),
          error: (e) => resolve(e as never),
          complete: () => resolve([]),
        });
      });
    for (const [payload, code] of [
      // Strings on purpose: a syntax error and an unknown field (no document could hold them).
      [{ query: 'subscription {' }, 'GRAPHQL_PARSE_FAILED'],
      [{ query: 'subscription { noSuchField }' }, 'GRAPHQL_VALIDATION_FAILED'],
      [
        {
          query: print(PlatformAuditEventActionDocument),
          extensions: { headers: { Authorization: 'Bearer nope' } },
        },
        'UNAUTHENTICATED',
      ],
    ] as const) {
      const errors = await errorOf(payload);
      expect(errors.length, payload.query).toBeGreaterThan(0);
      for (const e of errors) expect(e.extensions?.code, e.message).toBe(code);
    }
    await client.dispose();
  });
});
