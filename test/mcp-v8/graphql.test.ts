import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { randomHex } from '../../src/core/auth/secrets.ts';
import {
  McpV8TestCancelDocument,
  McpV8TestExecutionDocument,
  McpV8TestExecutionNodeDocument,
  McpV8TestExecutionsDocument,
  McpV8TestOutputDocument,
  McpV8TestOutputPageDocument,
  type McpV8TestOutputSubscription,
  McpV8TestRunDocument,
  McpV8TestStatusDocument,
  type RunExecutionInput,
} from '../generated/mcp-v8.ts';
import { createTestDatabase, gql, startTestApp, type TestApp, testDb } from '../kit/app.ts';
import { mcpV8Key } from '../kit/mcp-v8.ts';
import { reachable } from '../kit/reachable.ts';

let t: TestApp;
const clients: Client[] = [];
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await t?.close();
});

function wsClient(baseUrl: string, token: string) {
  const client = createClient({
    url: `${baseUrl.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  clients.push(client);
  return client;
}

/** Collects every event of a subscription until it completes. */
function collect<T, V>(client: Client, document: TypedDocumentNode<T, V>, variables: V): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const events: T[] = [];
    client.subscribe<T>(
      { query: print(document), variables: variables as Record<string, unknown> },
      {
        next: (r) => {
          if (r.errors) reject(new Error(JSON.stringify(r.errors)));
          else events.push(r.data as T);
        },
        error: reject,
        complete: () => resolve(events),
      },
    );
  });
}

type OutputEvent = McpV8TestOutputSubscription;

/** `runExecution` as the union member it answered (failures included). */
async function runResult(baseUrl: string, token: string, code: string, extra: Partial<RunExecutionInput> = {}) {
  const res = await gql(baseUrl, McpV8TestRunDocument, { input: { code, ...extra } }, token);
  const result = res.body.data?.runExecution;
  if (!result) throw new Error(`runExecution: ${JSON.stringify(res.body)}`);
  return result;
}

/** Starts a run that must be accepted; its id, uuid and status. */
async function runGql(baseUrl: string, token: string, code: string, extra: Partial<RunExecutionInput> = {}) {
  const result = await runResult(baseUrl, token, code, extra);
  if (result.__typename !== 'MutationRunExecutionSuccess') throw new Error(`not started: ${JSON.stringify(result)}`);
  return result;
}

/** Slow output: 30 lines, `gapMs` apart (busy wait: the sandbox has no timers). */
const slowOutput = (gapMs: number) =>
  `for (let i = 0; i < 30; i++) { console.log("line " + i + " é"); const end = Date.now() + ${gapMs}; while (Date.now() < end) {} } "fin"`;
const slowScript = slowOutput(10);
/** Long enough (~2.4 s) that a subscriber connecting on a loaded machine still sees the run live. */
const liveScript = slowOutput(80);
const slowText = Array.from({ length: 30 }, (_, i) => `line ${i} é\n`).join('');

function checkCoordinates(events: OutputEvent['executionOutput'][], fromByte: number, full: string) {
  const bytes = Buffer.from(full);
  let cursor = fromByte;
  for (const e of events.filter((x) => !x.done)) {
    expect(e.startByte).toBe(cursor);
    expect(Buffer.byteLength(e.data)).toBe(e.endByte - e.startByte);
    expect(bytes.subarray(e.startByte, e.endByte).toString()).toBe(e.data);
    expect(e.startLine).toBe(bytes.subarray(0, e.startByte).toString().split('\n').length - 1);
    cursor = e.endByte;
  }
  expect(cursor).toBe(bytes.length);
  const last = events[events.length - 1];
  expect(last).toMatchObject({ done: true, status: 'completed', startByte: bytes.length });
}

describe('GraphQL executions', () => {
  it('runs, lists (relay connection) and reads output pages', async () => {
    const run = await runGql(t.baseUrl, t.adminKey, 'console.log("hi"); 7 * 6');
    expect(run.__typename).toBe('MutationRunExecutionSuccess');
    expect(run.data.status).toBe('running');
    const uuid = run.data.uuid as string;
    const client = wsClient(t.baseUrl, t.adminKey);
    const statuses = await collect(client, McpV8TestStatusDocument, { uuid });
    expect(statuses[statuses.length - 1]?.executionStatusChanged).toMatchObject({ status: 'completed', result: '42' });
    const list = await gql(t.baseUrl, McpV8TestExecutionsDocument, { first: 5 }, t.adminKey);
    const node = list.body.data?.executions.edges.find((e) => e?.node.uuid === uuid)?.node;
    if (!node) throw new Error('the run is not listed');
    const byNode = await gql(t.baseUrl, McpV8TestExecutionNodeDocument, { id: node.id }, t.adminKey);
    expect(byNode.body.data?.node).toEqual({ id: node.id, uuid, result: '42' });
    const page = await gql(t.baseUrl, McpV8TestOutputPageDocument, { uuid, lineOffset: 0 }, t.adminKey);
    expect(page.body.data?.executionOutput).toEqual({
      __typename: 'QueryExecutionOutputSuccess',
      data: { data: 'hi\n', totalLines: 1, hasMore: false },
    });
  });

  it('returns expected failures as error union members', async () => {
    const syntax = await runResult(t.baseUrl, t.adminKey, '1 +');
    expect(syntax).toMatchObject({ __typename: 'ScriptSyntaxError', code: 'SYNTAX_ERROR' });
    const heap = await runResult(t.baseUrl, t.adminKey, '1', { heap: 'abc' });
    expect(heap).toMatchObject({ __typename: 'InvalidInputError', code: 'INVALID_INPUT' });
    const fs = await runResult(t.baseUrl, t.adminKey, '1', { fs: '0'.repeat(64) });
    expect(fs).toMatchObject({ __typename: 'InvalidInputError', code: 'INVALID_INPUT' });
    const anon = await gql(t.baseUrl, McpV8TestRunDocument, { input: { code: '1' } });
    expect(anon.body.errors?.[0]?.message).toMatch(/Authentication required/);
  });

  it('cancels through a mutation whose errors are the union members it can produce', async () => {
    const loop = await runGql(t.baseUrl, t.adminKey, 'for (;;) {}', { executionTimeoutSecs: 30 });
    const cancel = await gql(t.baseUrl, McpV8TestCancelDocument, { uuid: loop.data.uuid }, t.adminKey);
    expect(cancel.body.data?.cancelExecution).toEqual({
      __typename: 'MutationCancelExecutionSuccess',
      data: { uuid: loop.data.uuid, status: 'cancelled' },
    });
    const again = await gql(t.baseUrl, McpV8TestCancelDocument, { uuid: loop.data.uuid }, t.adminKey);
    expect(again.body.data?.cancelExecution).toEqual({
      __typename: 'ExecutionNotRunningError',
      status: 'cancelled',
      code: 'NOT_RUNNING',
      message: `Execution '${loop.data.uuid}' is not running (status: cancelled)`,
    });
    const unknown = await gql(t.baseUrl, McpV8TestCancelDocument, { uuid: 'nope' }, t.adminKey);
    expect(unknown.body.data?.cancelExecution).toEqual({
      __typename: 'ExecutionNotFoundError',
      code: 'NOT_FOUND',
      message: "Execution 'nope' not found",
    });
  });

  it('streams output over graphql-ws with REST coordinates, live, then done', async () => {
    const run = await runGql(t.baseUrl, t.adminKey, liveScript);
    const events = await collect(wsClient(t.baseUrl, t.adminKey), McpV8TestOutputDocument, { uuid: run.data.uuid });
    const outputs = events.map((e) => e.executionOutput);
    expect(outputs.some((e) => e.status === 'running' && !e.done)).toBe(true);
    checkCoordinates(outputs, 0, slowText);
  });

  it('resumes from a byte offset (replays stored output, then live) and finishes at once for finished runs', async () => {
    const run = await runGql(t.baseUrl, t.adminKey, slowScript);
    await new Promise((r) => setTimeout(r, 120));
    const from = Buffer.byteLength('line 0 é\nline 1 é\n');
    const events = await collect(wsClient(t.baseUrl, t.adminKey), McpV8TestOutputDocument, {
      uuid: run.data.uuid,
      fromByte: from,
    });
    checkCoordinates(
      events.map((e) => e.executionOutput),
      from,
      slowText,
    );
    const again = await collect(wsClient(t.baseUrl, t.adminKey), McpV8TestOutputDocument, {
      uuid: run.data.uuid,
      fromByte: 0,
    });
    checkCoordinates(
      again.map((e) => e.executionOutput),
      0,
      slowText,
    );
  });

  it('streams over SSE (graphql-sse distinct connections)', async () => {
    const run = await runGql(t.baseUrl, t.adminKey, 'console.log("sse"); 1');
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${t.adminKey}`,
      },
      body: JSON.stringify({ query: print(McpV8TestOutputDocument), variables: { uuid: run.data.uuid } }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const payloads = text
      .split('\n')
      .filter((l) => l.startsWith('data:') && l.length > 6)
      .map((l) => JSON.parse(l.slice(5)) as { data?: OutputEvent });
    const events = payloads.flatMap((p) => (p.data ? [p.data.executionOutput] : []));
    expect(events.map((e) => e.data).join('')).toBe('sse\n');
    expect(events[events.length - 1]?.done).toBe(true);
  });

  it("refuses another tenant's execution in subscriptions and queries", async () => {
    const other = await mcpV8Key(t, 'gql-other');
    const run = await runGql(t.baseUrl, t.adminKey, '"private"');
    const q = await gql(t.baseUrl, McpV8TestExecutionDocument, { uuid: run.data.uuid }, other);
    expect(q.body.data?.execution).toBeNull();
    const node = await gql(t.baseUrl, McpV8TestExecutionNodeDocument, { id: run.data.id }, other);
    expect(node.body.errors).toBeUndefined();
    expect(node.body.data?.node).toBeNull();
    const variables = { uuid: run.data.uuid };
    await expect(collect(wsClient(t.baseUrl, other), McpV8TestOutputDocument, variables)).rejects.toThrow(
      /Execution '.*' not found/,
    );
    await expect(collect(wsClient(t.baseUrl, other), McpV8TestStatusDocument, variables)).rejects.toThrow(
      /Execution '.*' not found/,
    );
  });
});

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const twoInstances = testDb === 'postgres' && (await reachable(redisUrl));

describe.runIf(twoInstances)('across instances (shared Postgres, Redis pub/sub)', () => {
  it('follows a run owned by instance A from instance B, and routes B’s cancel to A', async () => {
    const database = await createTestDatabase();
    const adminKey = `test-admin-${randomHex(24)}`;
    const apps: App[] = [];
    const dirs: string[] = [];
    try {
      const urls: string[] = [];
      for (const name of ['a', 'b']) {
        const dataDir = await mkdtemp(path.join(tmpdir(), `atrium-rt-${name}-`));
        dirs.push(dataDir);
        const app = await createApp(
          loadConfig({
            NODE_ENV: 'test',
            LOG_LEVEL: 'silent',
            ATRIUM_DATA_DIR: dataDir,
            ATRIUM_ADMIN_KEY: adminKey,
            DATABASE_URL: database.url,
            REDIS_URL: redisUrl,
            ATRIUM_INSTANCE_ID: `instance-${name}`,
          }),
        );
        apps.push(app);
        urls.push(await app.listen(0, '127.0.0.1'));
      }
      const [urlA, urlB] = urls as [string, string];
      const run = await runGql(urlA, adminKey, slowScript);
      const events = await collect(wsClient(urlB, adminKey), McpV8TestOutputDocument, { uuid: run.data.uuid });
      checkCoordinates(
        events.map((e) => e.executionOutput),
        0,
        slowText,
      );

      const loop = await runGql(urlA, adminKey, 'for (;;) {}', { executionTimeoutSecs: 60 });
      await new Promise((r) => setTimeout(r, 200));
      const cancel = await gql(urlB, McpV8TestCancelDocument, { uuid: loop.data.uuid }, adminKey);
      expect(cancel.body.data?.cancelExecution).toEqual({
        __typename: 'MutationCancelExecutionSuccess',
        data: { uuid: loop.data.uuid, status: 'cancelled' },
      });
      // A's worker is freed by the routed cancel: A runs the next script promptly.
      const next = await runGql(urlA, adminKey, '"after"');
      const statuses = await collect(wsClient(urlA, adminKey), McpV8TestStatusDocument, { uuid: next.data.uuid });
      expect(statuses[statuses.length - 1]?.executionStatusChanged.status).toBe('completed');
    } finally {
      for (const c of clients.splice(0)) await c.dispose();
      for (const app of apps) await app.close();
      await database.drop();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    }
  });
});
