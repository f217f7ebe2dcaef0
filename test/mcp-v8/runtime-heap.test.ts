import { afterAll, beforeAll, expect, it } from 'vitest';
import { McpV8TestHeapNodeDocument, McpV8TestSessionAndHeapDocument } from '../generated/mcp-v8.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { mcpV8Client, mcpV8Key } from '../kit/mcp-v8.ts';

/* Heap snapshots = data globals, structured-cloned, content-addressed in object storage; sessions log runs. */
let t: TestApp;
const contract = await contractValidator('mcp_v8');
const { call, run } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const output = async (id: string) => (await call('GET', `/api/executions/${id}/output`)).body.data as string;

it('restores data globals saved by an earlier run, chaining content-addressed keys', async () => {
  const first = await run(
    `var counter = 1;
     globalThis.data = { list: [1, 2], map: new Map([["k", { when: new Date(0) }]]), big: 10n, bytes: new Uint8Array([7, 8]) };
     data.self = data;
     counter`,
    { session: 's1', tags: { env: 'test' } },
  );
  expect(first).toMatchObject({ status: 'completed', result: '1' });
  expect(first.heap).toMatch(/^[0-9a-f]{64}$/);
  const got = await call('GET', `/api/executions/${first.execution_id}`, { contract });
  expect(got.body.heap).toBe(first.heap);

  const second = await run(
    `counter += 1;
     [counter, data.list.length, data.map.get("k").when instanceof Date, typeof data.big, data.bytes[1], data.self === data]`,
    { heap: first.heap, session: 's1' },
  );
  expect(second).toMatchObject({ status: 'completed', result: '[2,2,true,"bigint",8,true]' });
  expect(second.heap).toMatch(/^[0-9a-f]{64}$/);
  expect(second.heap).not.toBe(first.heap);

  // The first heap is immutable: restoring it again sees counter = 1.
  const branch = await run('counter', { heap: first.heap });
  expect(branch.result).toBe('1');
  // Equal state gives an equal key.
  const same = await run('var counter = 1; 0', { session: 'other' });
  const same2 = await run('var counter = 1; 0', { session: 'other' });
  expect(same.heap).toBe(same2.heap);

  const log = await gql(t.baseUrl, McpV8TestSessionAndHeapDocument, { session: 's1', key: first.heap }, t.adminKey);
  expect(log.body.data?.sessionLog).toEqual({
    totalCount: 2,
    edges: [
      { node: { executionUuid: first.execution_id, inputHeap: null, outputHeap: first.heap } },
      { node: { executionUuid: second.execution_id, inputHeap: first.heap, outputHeap: second.heap } },
    ],
  });
  const heap = log.body.data?.heapSnapshot;
  expect(heap).toMatchObject({ key: first.heap, parentKey: null, tags: [{ key: 'env', value: 'test' }] });
  // The snapshot is a Node of its tenant: another tenant's node(id) is null, like a missing one.
  const node = await gql(t.baseUrl, McpV8TestHeapNodeDocument, { id: heap?.id ?? '' }, t.adminKey);
  expect(node.body.data?.node).toEqual({ id: heap?.id, key: first.heap });
  const other = await mcpV8Key(t, 'heap-node-other');
  const hidden = await gql(t.baseUrl, McpV8TestHeapNodeDocument, { id: heap?.id ?? '' }, other);
  expect(hidden.body.errors).toBeUndefined();
  expect(hidden.body.data?.node).toBeNull();
});

it('says clearly which globals cannot be saved (functions), and does not save let/const', async () => {
  const info = await run('var keep = 1; function helper() {} globalThis.cb = () => 1; let local = 2; keep', {
    session: 's2',
  });
  expect(info.status).toBe('completed');
  expect(await output(info.execution_id)).toBe('[WARN] heap: not saved (not structured-cloneable): cb, helper\n');
  const next = await run('[typeof keep, typeof helper, typeof cb, typeof local]', { heap: info.heap });
  expect(next.result).toBe('["number","undefined","undefined","undefined"]');
});

it("refuses another tenant's heap as unknown", async () => {
  const mine = await run('var secret = 42', { session: 'mine' });
  const other = await mcpV8Key(t, 'heap-other');
  const res = await call('POST', '/api/exec', { token: other, body: { code: 'secret', heap: mine.heap }, contract });
  expect(res.status).toBe(400);
  expect(res.body.error).toBe(`unknown heap ${mine.heap}`);
});

it('produces no heap for plain runs, and none for failed runs', async () => {
  expect(await run('var x = 1')).toMatchObject({ heap: null });
  expect(await run('var x = 1; throw new Error("no")', { session: 's3' })).toMatchObject({
    status: 'failed',
    heap: null,
  });
});
