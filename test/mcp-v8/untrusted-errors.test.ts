import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsMountProvider } from '../../src/modules/runtime/runtime.service.ts';
import { McpV8TestExecutionDocument, McpV8TestRunDocument } from '../generated/mcp-v8.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

/*
 * Untrusted code's errors are data (issue 10 §2): whatever a script throws becomes the run's recorded error, bounded,
 * storable by PostgreSQL, without the server's stack frames or paths, and the run ends at once. Every case goes
 * through both doors: REST (`POST /api/exec`, `GET /api/executions/{id}`) and GraphQL (`runExecution`, `execution`).
 */
let t: TestApp;
const contract = await contractValidator('mcp_v8');
const { call } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

interface Recorded {
  status: string;
  error: string | null;
  /** Milliseconds from submit to the terminal status. */
  tookMs: number;
}

async function viaRest(code: string, timeoutSecs = 10): Promise<Recorded> {
  const started = Date.now();
  const accepted = await call('POST', '/api/exec', { body: { code, execution_timeout_secs: timeoutSecs }, contract });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  const id = accepted.body.execution_id as string;
  for (;;) {
    const res = await call('GET', `/api/executions/${id}`, { contract });
    expect(res.status).toBe(200);
    if (res.body.status !== 'running')
      return { status: res.body.status, error: res.body.error, tookMs: Date.now() - started };
    if (Date.now() - started > 20_000) throw new Error(`${id} still running`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function viaGraphql(code: string, timeoutSecs = 10): Promise<Recorded> {
  const started = Date.now();
  const run = await gql(
    t.baseUrl,
    McpV8TestRunDocument,
    { input: { code, executionTimeoutSecs: timeoutSecs } },
    t.adminKey,
  );
  const result = run.body.data?.runExecution;
  if (result?.__typename !== 'MutationRunExecutionSuccess') throw new Error(`not started: ${JSON.stringify(run.body)}`);
  for (;;) {
    const res = await gql(t.baseUrl, McpV8TestExecutionDocument, { uuid: result.data.uuid }, t.adminKey);
    expect(res.body.errors).toBeUndefined();
    const e = res.body.data?.execution;
    if (!e) throw new Error('execution vanished');
    if (e.status !== 'running') return { status: e.status, error: e.error, tookMs: Date.now() - started };
    if (Date.now() - started > 20_000) throw new Error(`${result.data.uuid} still running`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** No host frames, paths, SQL or Prisma text; no raw control characters; bounded. */
function expectClean(error: string | null) {
  expect(error).toEqual(expect.any(String));
  const text = error ?? '';
  expect(text.length).toBeLessThanOrEqual(8 * 1024 + 100);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
  expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  expect(text).not.toMatch(
    /file:|node:internal|worker\.mjs|\/work\/|node_modules|isolated-vm boundary|prisma|SELECT|INSERT/i,
  );
}

const busy = (ms: number) => `{ const end = Date.now() + ${ms}; while (Date.now() < end) {} }`;

/** Each script, what its recorded error must look like. */
const cases: { name: string; code: string; error: RegExp }[] = [
  { name: 'an Error whose message is NUL', code: 'throw new Error(String.fromCharCode(0))', error: /^Error: \\u0000/ },
  {
    name: 'NUL after a 100 ms busy loop (not an inline run)',
    code: `${busy(100)} throw new Error("a" + String.fromCharCode(0) + "b")`,
    error: /^Error: a\\u0000b/,
  },
  { name: 'a huge message', code: 'throw new Error("x".repeat(5e6))', error: /^Error: x{1000,}.*… \(truncated\)$/s },
  {
    name: 'control characters',
    code: 'throw new Error("\\x07\\x1b[31m\\x7f")',
    error: /^Error: \\u0007\\u001b\[31m\\u007f/,
  },
  { name: 'a cyclic object', code: 'const o = {}; o.self = o; throw o', error: /^Uncaught exception/ },
  {
    name: 'an object with throwing getters, toString and Symbol.toPrimitive',
    code: 'throw { get message() { throw 1 }, get stack() { throw 2 }, toString() { throw 3 }, [Symbol.toPrimitive]() { throw 4 } }',
    error: /^Uncaught exception/,
  },
  { name: 'a number', code: 'throw 42', error: /^Uncaught 42$/ },
  { name: 'undefined', code: 'throw undefined', error: /^Uncaught undefined$/ },
  { name: 'a string with NUL', code: 'throw "bad\\u0000value"', error: /^Uncaught bad\\u0000value$/ },
  { name: 'a BigInt', code: 'throw 10n', error: /^Uncaught 10$/ },
  { name: 'a Symbol', code: 'throw Symbol("s")', error: /^Uncaught exception/ },
  // An unhandled rejection fails the run like a throw; a value that is not an Error cannot be described there.
  {
    name: 'a rejected cyclic object',
    code: 'const o = {}; o.self = o; Promise.reject(o)',
    error: /^Uncaught exception/,
  },
  {
    name: 'a rejected Proxy whose traps throw',
    code: `Promise.reject(new Proxy({}, { get() { throw 1 }, getPrototypeOf() { throw 2 }, ownKeys() { throw 3 },
      getOwnPropertyDescriptor() { throw 4 }, has() { throw 5 } }))`,
    error: /^Uncaught exception/,
  },
  { name: 'a rejected number', code: 'Promise.reject(7); 1', error: /^Uncaught 7$/ },
  // A thenable settles inside the sandbox, where the value it rejects with is described.
  {
    name: 'a thenable rejecting with a cyclic object',
    code: 'const o = {}; o.self = o; ({ then(resolve, reject) { reject(o) } })',
    error: /^Uncaught \[object Object\]$/,
  },
  {
    name: 'a thenable rejecting with an object whose every hook throws',
    code: `({ then(_, reject) { reject({ toJSON() { throw 1 }, toString() { throw 2 }, get [Symbol.toStringTag]() { throw 3 } }) } })`,
    error: /^Uncaught \[object\]$/,
  },
  {
    name: 'a thenable rejecting with a Proxy whose traps throw',
    code: `({ then(_, reject) { reject(new Proxy({}, { get() { throw 1 }, getPrototypeOf() { throw 2 } })) } })`,
    error: /^Uncaught \[object\]$/,
  },
  {
    name: 'a thenable rejecting with a Symbol',
    code: '({ then(_, reject) { reject(Symbol("sym")) } })',
    error: /^Uncaught Symbol\(sym\)$/,
  },
  {
    name: 'a thenable rejecting with an Error whose stack getter throws',
    code: `const e = new RangeError("m"); Object.defineProperty(e, "stack", { get() { throw 1 } });
      ({ then(_, reject) { reject(e) } })`,
    error: /^RangeError: m$/,
  },
  {
    name: 'a thenable rejecting with a huge string with NUL',
    code: '({ then(_, reject) { reject("z\\u0000".repeat(3e6)) } })',
    error: /^Uncaught z\\u0000z.*… \(truncated\)$/s,
  },
  {
    name: 'an async throw with NUL after a busy loop',
    code: `(async () => { ${busy(100)} throw new TypeError("late" + String.fromCharCode(0)) })()`,
    error: /^TypeError: late\\u0000/,
  },
  {
    name: 'an Error whose stack getter throws',
    code: 'const e = new RangeError("m"); Object.defineProperty(e, "stack", { get() { throw 1 } }); Promise.reject(e)',
    error: /^RangeError: m$/,
  },
  {
    name: 'an Error whose message is not a string',
    code: 'const e = new Error("m"); e.message = { toString() { throw 1 } }; throw e',
    error: /^Error/,
  },
  {
    name: 'a huge rejected string',
    code: 'Promise.reject("y".repeat(3e6))',
    error: /^Uncaught y{1000,}… \(truncated\)$/,
  },
];

describe.each([
  ['REST', viaRest],
  ['GraphQL', viaGraphql],
])('thrown values recorded through %s', (_door, submit) => {
  it.each(cases)('$name', async ({ code, error }) => {
    const recorded = await submit(code);
    expect(recorded.status).toBe('failed');
    expectClean(recorded.error);
    expect(recorded.error).toMatch(error);
    // It ends when the script does, not at a heartbeat timeout.
    expect(recorded.tookMs).toBeLessThan(5_000);
  });

  it('ends a run whose error getter never returns at its timeout', async () => {
    const code =
      'const e = new Error("m"); Object.defineProperty(e, "stack", { get() { for (;;) {} } }); Promise.reject(e)';
    const recorded = await submit(code, 1);
    expect(recorded).toMatchObject({ status: 'timed_out', error: 'Execution timed out' });
    expect(recorded.tookMs).toBeLessThan(5_000);
  });

  it('keeps a script frame but never the worker’s', async () => {
    const recorded = await submit('function inner() { throw new Error("deep") }\ninner()');
    expect(recorded.status).toBe('failed');
    expectClean(recorded.error);
    expect(recorded.error).toMatch(/^Error: deep\n\s+at inner \(script\.js:1:\d+\)/);
  });

  it('does not take a script that says "timed out" or "memory limit" for the sandbox', async () => {
    expect(await submit('throw new Error("Script execution timed out.")')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^Error: Script execution timed out\./),
    });
    expect(await submit('throw new Error("memory limit")')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^Error: memory limit/),
    });
  });
});

describe('host-side failures', () => {
  it("records a failed flush without the storage error's text", async () => {
    const leaky: FsMountProvider = {
      load: async () => ({ baseCaId: '0'.repeat(64), files: new Map() }),
      flush: async () => {
        throw new Error(
          'Invalid `prisma.fsObject.create()` invocation in /work/main/src/modules/snapshots/tree.ts:42:7 SELECT 1',
        );
      },
    };
    t.app.services.runtime.useFilesystem(leaky);
    try {
      const accepted = await call('POST', '/api/exec', {
        body: { code: 'fs.writeFile("a.txt", "x")', fs: 'leaky' },
        contract,
      });
      expect(accepted.status).toBe(202);
      let info: { status: string; error: string | null };
      const started = Date.now();
      do {
        await new Promise((r) => setTimeout(r, 20));
        info = (await call('GET', `/api/executions/${accepted.body.execution_id}`, { contract })).body;
      } while (info.status === 'running' && Date.now() - started < 10_000);
      expect(info).toMatchObject({ status: 'failed', error: 'Filesystem flush failed' });
    } finally {
      t.app.services.runtime.useFilesystem(t.app.services.snapshots.mount);
    }
  });
});
