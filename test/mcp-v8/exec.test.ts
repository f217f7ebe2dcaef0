import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpV8TestRuntimeInfoDocument } from '../generated/mcp-v8.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { mcpV8Client, mcpV8Key } from '../kit/mcp-v8.ts';

const require = createRequire(import.meta.url);
let t: TestApp;
const contract = await contractValidator('mcp_v8');
const { call, exec, waitDone, run } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('mcp-v8 executions over REST', () => {
  it('runs 1+1 and reports the completion value as JSON', async () => {
    const accepted = await call('POST', '/api/exec', { body: { code: '1+1' }, contract });
    expect(accepted.status).toBe(202);
    const info = await waitDone(accepted.body.execution_id);
    expect(info).toMatchObject({ status: 'completed', result: '2', error: null, heap: null, fs: null });
    expect(info.completed_at).toEqual(expect.any(String));
    const got = await call('GET', `/api/executions/${accepted.body.execution_id}`, { contract });
    expect(got.status).toBe(200);
  });

  it('shows running executions with completed_at null, and lists them newest first', async () => {
    const id = await exec('for(;;){}', { execution_timeout_secs: 2 });
    const running = await call('GET', `/api/executions/${id}`, { contract });
    expect(running.body).toMatchObject({ status: 'running', completed_at: null });
    const later = await exec('"later"');
    const list = await call('GET', '/api/executions', { contract });
    expect(list.status).toBe(200);
    const ids = list.body.executions.map((e: { execution_id: string }) => e.execution_id);
    expect(ids.indexOf(later)).toBeLessThan(ids.indexOf(id));
    expect(Object.keys(list.body.executions[0]).sort()).toEqual([
      'completed_at',
      'execution_id',
      'started_at',
      'status',
    ]);
    const done = await waitDone(id);
    expect(done).toMatchObject({ status: 'timed_out', error: 'Execution timed out' });
  });

  it('awaits promises and top-level await; modules report their default export', async () => {
    expect(await run('Promise.resolve({a: [1, "x"]})')).toMatchObject({ result: '{"a":[1,"x"]}' });
    expect(await run('const v = await Promise.resolve(21); v * 2')).toMatchObject({ status: 'completed' });
    expect(await run('await null; export default {ok: true}')).toMatchObject({ result: '{"ok":true}' });
    expect(await run('undefined')).toMatchObject({ status: 'completed', result: null });
    expect(await run('10n')).toMatchObject({ status: 'completed', result: '"10"' });
  });

  it('transpiles TypeScript with a real transpiler (types stripped, enums compiled)', async () => {
    const info = await run(
      'enum Color { Red, Green }\nconst n: number = Color.Green;\ninterface P { x: number }\n({ x: n } as P).x + 1',
    );
    expect(info).toMatchObject({ status: 'completed', result: '2' });
  });

  it('reports thrown errors with their message as failed', async () => {
    const info = await run('function boom() { throw new TypeError("bad thing") }\nboom()');
    expect(info.status).toBe('failed');
    expect(info.error).toContain('TypeError: bad thing');
  });

  it('accepts a raw script body for non-JSON content types, options in the query string', async () => {
    const res = await call('POST', '/api/exec?execution_timeout_secs=5&heap_memory_max_mb=32', {
      raw: 'console.log("raw"); 6*7',
      contentType: 'application/javascript',
      contract,
    });
    expect(res.status).toBe(202);
    expect(await waitDone(res.body.execution_id)).toMatchObject({ status: 'completed', result: '42' });
    const plain = await call('POST', '/api/exec', { raw: '"text"', contentType: 'text/plain' });
    expect(await waitDone(plain.body.execution_id)).toMatchObject({ result: '"text"' });
  });

  it('answers 415 for multipart and 400 for malformed input, never 500', async () => {
    const multipart = await call('POST', '/api/exec', {
      raw: '--x\r\nContent-Disposition: form-data; name="code"\r\n\r\n1\r\n--x--\r\n',
      contentType: 'multipart/form-data; boundary=x',
      contract,
    });
    expect(multipart.status).toBe(415);
    expect(multipart.body.error).toMatch(/multipart/);
    const cases: Array<[string, Parameters<typeof call>[2]]> = [
      ['syntax error', { body: { code: '1 +' } }],
      ['missing code', { body: {} }],
      ['wrong type', { body: { code: 5 } }],
      ['non-string tag', { body: { code: '1', tags: { a: 1 } } }],
      ['negative timeout', { body: { code: '1', execution_timeout_secs: -1 } }],
      ['zero timeout', { body: { code: '1', execution_timeout_secs: 0 } }],
      ['timeout over the maximum', { body: { code: '1', execution_timeout_secs: 100000 } }],
      ['heap over the maximum', { body: { code: '1', heap_memory_max_mb: 100000 } }],
      ['bad JSON', { raw: '{"code": ', contentType: 'application/json' }],
      ['invalid UTF-8', { raw: Buffer.from([0x31, 0xff, 0xfe]), contentType: 'text/plain' }],
      ['bad query option', { raw: '1', contentType: 'text/plain' }],
    ];
    for (const [name, opts] of cases) {
      const path = name === 'bad query option' ? '/api/exec?execution_timeout_secs=abc' : '/api/exec';
      const res = await call('POST', path, { ...opts, contract });
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body).toEqual({ error: expect.any(String) });
    }
    const syntax = await call('POST', '/api/exec', { body: { code: 'let = ;' } });
    expect(syntax.body.error).toMatch(/SyntaxError/);
  });

  it('refuses scripts over the size limit with 4xx', async () => {
    const huge = `"${'x'.repeat(1100 * 1024)}"`;
    const res = await call('POST', '/api/exec', { raw: huge, contentType: 'text/plain' });
    expect([400, 413]).toContain(res.status);
    expect(res.body).toEqual({ error: expect.any(String) });
  });

  it('answers 400 for unknown or malformed heap keys, and for unknown or malformed fs snapshots', async () => {
    for (const heap of ['a'.repeat(64), 'not-a-key']) {
      const res = await call('POST', '/api/exec', { body: { code: '1', heap }, contract });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/unknown heap|64-hex/);
    }
    for (const [ref, message] of [
      ['b'.repeat(64), /unknown snapshot/i],
      ['no/such label', /label/i],
    ] as const) {
      const fs = await call('POST', '/api/exec', { body: { code: '1', fs: ref }, contract });
      expect(fs.status, ref).toBe(400);
      expect(fs.body.error).toMatch(message);
    }
  });

  it('answers unknown ids with 404 ApiError (400 CancelResult for cancel)', async () => {
    for (const id of ['nope', '7f1c7e5a-1a1a-4b4b-8c8c-000000000000']) {
      const get = await call('GET', `/api/executions/${id}`, { contract });
      expect(get.status).toBe(404);
      const out = await call('GET', `/api/executions/${id}/output`, { contract });
      expect(out.status).toBe(404);
      const cancel = await call('POST', `/api/executions/${id}/cancel`, { contract });
      expect(cancel.status).toBe(400);
      expect(cancel.body).toEqual({ ok: false, error: `Execution '${id}' not found` });
    }
  });

  it('rejects invalid output offsets with 400', async () => {
    const id = await exec('1');
    for (const q of ['line_offset=-1', 'byte_limit=x', 'line_limit=1.5']) {
      // The contract lists no 400 for output; the body is still its ApiError shape.
      const res = await call('GET', `/api/executions/${id}/output?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body).toEqual({ error: expect.any(String) });
    }
    const empty = await call('GET', `/api/executions/${id}/output?line_offset=&byte_offset=`, { contract });
    expect(empty.status).toBe(200);
  });
});

describe('cancellation', () => {
  it('cancels a running execution once; later cancels answer 400 not running', async () => {
    const id = await exec('for(;;){}', { execution_timeout_secs: 30 });
    await new Promise((r) => setTimeout(r, 100));
    const first = await call('POST', `/api/executions/${id}/cancel`, { contract });
    expect(first).toEqual({ status: 200, body: { ok: true, error: null } });
    const info = await waitDone(id);
    expect(info).toMatchObject({ status: 'cancelled', error: 'Cancelled by user' });
    const again = await call('POST', `/api/executions/${id}/cancel`, { contract });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ ok: false, error: `Execution '${id}' is not running (status: cancelled)` });
    // The worker was freed: the pool keeps serving.
    expect(await run('3')).toMatchObject({ result: '3' });
  });

  it('settles cancel-vs-completion races with exactly one terminal status', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => exec(`${i}`)));
    const cancels = await Promise.all(ids.map((id) => call('POST', `/api/executions/${id}/cancel`)));
    for (const [i, id] of ids.entries()) {
      const info = await waitDone(id);
      const cancel = cancels[i];
      if (cancel?.status === 200) expect(info.status).toBe('cancelled');
      else {
        expect(cancel?.status).toBe(400);
        expect(info).toMatchObject({ status: 'completed', result: `${i}` });
      }
      // The status never changes again.
      await new Promise((r) => setTimeout(r, 30));
      expect((await call('GET', `/api/executions/${id}`)).body.status).toBe(info.status);
    }
  });
});

describe('tenancy', () => {
  it("answers another tenant's executions as unknown", async () => {
    const otherKey = await mcpV8Key(t, 'other');
    const mine = await exec('console.log("secret"); "mine"');
    await waitDone(mine);
    expect((await call('GET', `/api/executions/${mine}`, { token: otherKey })).status).toBe(404);
    expect((await call('GET', `/api/executions/${mine}/output`, { token: otherKey })).status).toBe(404);
    const cancel = await call('POST', `/api/executions/${mine}/cancel`, { token: otherKey });
    expect(cancel.body).toEqual({ ok: false, error: `Execution '${mine}' not found` });
    const list = await call('GET', '/api/executions', { token: otherKey });
    expect(list.body.executions.map((e: { execution_id: string }) => e.execution_id)).not.toContain(mine);
    const theirs = await exec('"theirs"', {}, otherKey);
    expect(await waitDone(theirs, otherKey)).toMatchObject({ result: '"theirs"' });
    expect((await call('GET', `/api/executions/${theirs}`)).status).toBe(404);
  });
});

describe('version and CLI', () => {
  it('reports the server, the isolated-vm its workers loaded and the Node they run on (REST and GraphQL)', async () => {
    // The installed isolated-vm and the Node running this suite (the server and its workers use the same binary).
    const isolatedVm = require('isolated-vm/package.json').version as string;
    expect(isolatedVm).toMatch(/^7\./);
    const res = await call('GET', '/api/version');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ version: '0.1.0', isolated_vm: isolatedVm, node: process.version });
    const info = await gql(t.baseUrl, McpV8TestRuntimeInfoDocument, {}, t.adminKey);
    expect(info.body.data?.runtimeInfo).toEqual({
      serverVersion: '0.1.0',
      isolatedVmVersion: isolatedVm,
      nodeVersion: process.version,
    });
  });

  it('lists the three platforms as not embedded and answers 404 for downloads', async () => {
    const index = await call('GET', '/api/cli', { contract });
    expect(index.status).toBe(200);
    expect(index.body.assets.map((a: { platform: string }) => a.platform)).toEqual([
      'linux-x86_64',
      'linux-aarch64',
      'macos-aarch64',
    ]);
    expect(
      index.body.assets.every(
        (a: { available: boolean; url: string }) => !a.available && a.url.includes('/mcp-v8/api/cli/'),
      ),
    ).toBe(true);
    const known = await call('GET', '/api/cli/linux-x86_64', { contract });
    expect(known.status).toBe(404);
    expect(known.body.error).toMatch(/not embedded/);
    const unknown = await call('GET', '/api/cli/windows', { contract });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/Unknown platform 'windows'/);
  });
});
