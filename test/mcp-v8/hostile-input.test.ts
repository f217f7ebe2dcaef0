import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTree } from '../../src/modules/snapshots/snapshots.service.ts';
import { McpV8TestRunDocument } from '../generated/mcp-v8.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

/*
 * mcp-v8 input that used to reach a 500 (issue 10 §1): NUL in strings PostgreSQL stores, integers past GraphQL's
 * Int, and cancel's 400 that must be a `CancelResult`. Each answers 4xx in the contract's shape.
 */
let t: TestApp;
const contract = await contractValidator('mcp_v8');
const { call, run } = mcpV8Client(
  () => t,
  () => t.adminKey,
);
const nul = String.fromCharCode(0);
let caId: string;

beforeAll(async () => {
  t = await startTestApp();
  caId = await writeTree(t.app.services, new Map([['a.txt', new TextEncoder().encode('a')]]));
});
afterAll(async () => {
  await t?.close();
});

/** The contract's `ApiError` (for operations whose contract declares no 4xx body, the same shape). */
const apiError = { error: expect.any(String) };

describe('cancel', () => {
  it('answers its validation 400s as a CancelResult', async () => {
    const malformed = await call('POST', '/api/executions/x/cancel', {
      raw: '{',
      contentType: 'application/json',
      contract,
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ ok: false, error: expect.any(String) });
    const unknownQuery = await call('POST', '/api/executions/x/cancel?bogus=1', { contract });
    expect(unknownQuery.status).toBe(400);
    expect(unknownQuery.body.ok).toBe(false);
    const nulId = await call('POST', '/api/executions/%00/cancel', { contract });
    expect(nulId.status).toBe(400);
    expect(nulId.body).toEqual({ ok: false, error: expect.any(String) });
  });
});

describe('NUL in stored strings', () => {
  it.each([
    ['session', { code: '1', session: `s${nul}` }],
    ['a tag key', { code: '1', tags: { [`k${nul}`]: 'v' } }],
    ['a tag value', { code: '1', tags: { k: `v${nul}` } }],
    ['heap', { code: '1', heap: `h${nul}` }],
    ['fs', { code: '1', fs: `l${nul}` }],
  ])('exec refuses NUL in %s with 400', async (_what, body) => {
    const res = await call('POST', '/api/exec', { body, contract });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(apiError);
  });

  it('refuses NUL in a raw script’s query options with 400', async () => {
    const res = await call('POST', '/api/exec?session=%00', { raw: '1', contentType: 'text/plain', contract });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(apiError);
  });

  it('runs code that makes NUL (it reaches results and output, not text columns)', async () => {
    const info = await run('console.log("x\\u0000y"); "a\\u0000b".length');
    expect(info).toMatchObject({ status: 'completed', result: '3' });
  });

  it.each([
    ['label', 'POST', '/api/fs/labels', () => ({ name: 'n1', ca_id: caId, message: `m${nul}` })],
    ['push', 'POST', '/api/fs/push', () => ({ label: 'n2', ca_id: caId, message: `m${nul}` })],
    ['reset', 'POST', '/api/fs/reset', () => ({ label: 'n3', ca_id: caId, allow_unlogged: true, message: nul })],
  ] as const)('refuses NUL in a %s message with 400', async (_what, method, path, body) => {
    const res = await call(method, path, { body: body() });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(apiError);
  });

  it('refuses NUL in label names and paths with 400 or 404, never 500', async () => {
    const set = await call('POST', '/api/fs/labels', { body: { name: `a${nul}`, ca_id: caId } });
    expect(set.status).toBe(400);
    expect((await call('GET', '/api/fs/labels/%00')).status).toBe(400);
    expect((await call('GET', '/api/fs/labels/%00/log')).status).toBe(400);
    const merge = await call('POST', '/api/fs/merge', { body: { ours: caId, theirs: caId, prefer: nul } });
    expect(merge.status).toBe(400);
  });
});

describe('integers past 2^31', () => {
  it.each([
    ['execution_timeout_secs', 2 ** 31],
    ['execution_timeout_secs', 2 ** 53],
    ['execution_timeout_secs', 1e300],
    ['heap_memory_max_mb', 2 ** 31],
    ['heap_memory_max_mb', 2 ** 40],
  ])('exec answers %s = %d with 400', async (field, value) => {
    const res = await call('POST', '/api/exec', { body: { code: '1', [field]: value }, contract });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(apiError);
  });

  it('answers a raw script’s huge query options with 400', async () => {
    for (const q of ['execution_timeout_secs=2147483648', 'heap_memory_max_mb=99999999999999']) {
      const res = await call('POST', `/api/exec?${q}`, { raw: '1', contentType: 'text/plain', contract });
      expect(res.status, q).toBe(400);
      expect(res.body).toEqual(apiError);
    }
  });

  it('answers fs log ?limit past 2^31 with 400', async () => {
    await call('POST', '/api/fs/labels', { body: { name: 'big-limit', ca_id: caId } });
    for (const limit of ['2147483648', '9007199254740993', '1e400']) {
      const res = await call('GET', `/api/fs/labels/big-limit/log?limit=${limit}`);
      expect(res.status, limit).toBe(400);
      expect(res.body).toEqual(apiError);
    }
    // The fs contract gives its 200 bodies no schema (docs/snapshots.md has upstream's shapes).
    const ok = await call('GET', '/api/fs/labels/big-limit/log?limit=2147483647');
    expect(ok.status).toBe(200);
  });

  it('answers output windows past 2^31 (int64 in the contract) without a 500', async () => {
    const info = await run('console.log("x"); 1');
    const res = await call('GET', `/api/executions/${info.execution_id}/output?line_offset=4294967296&line_limit=3`, {
      contract,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ data: '', start_line: 1, total_lines: 1 });
  });

  it('answers GraphQL out-of-range integers as errors, not 500', async () => {
    const res = await gql(
      t.baseUrl,
      McpV8TestRunDocument,
      { input: { code: '1', executionTimeoutSecs: 2 ** 31 } },
      t.adminKey,
    );
    expect(res.status).toBeLessThan(500);
    expect(res.body.errors?.[0]?.message).toMatch(/Int|32-bit/);
  });
});
