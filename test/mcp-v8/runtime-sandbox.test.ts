import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

/*
 * Escape attempts, resource exhaustion and crash containment against real sandbox worker processes.
 * Every attempt must fail closed, and the server must keep serving afterwards.
 */
let t: TestApp;
const { call, run } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

beforeAll(async () => {
  t = await startTestApp({ ATRIUM_RUNTIME_WORKERS: '3' });
});
afterAll(async () => {
  await t?.close();
});

async function healthy() {
  expect(await run('40 + 2')).toMatchObject({ status: 'completed', result: '42' });
  expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
}

describe('no host access from the sandbox', () => {
  it('has no require, process, module, timers, fetch or Buffer', async () => {
    const info = await run(
      `["require","process","module","exports","setTimeout","setInterval","setImmediate","queueMicrotask","fetch","Buffer","global","XMLHttpRequest","WebSocket","Deno","Bun"].filter((n) => typeof globalThis[n] !== "undefined")`,
    );
    expect(info).toMatchObject({ status: 'completed', result: '[]' });
  });

  it('cannot reach the host through constructor chains', async () => {
    const attempts = [
      'this.constructor.constructor("return typeof process")()',
      'console.log.constructor("return typeof process")()',
      'Function("return typeof require")()',
      '(async function(){}).constructor("return typeof process")()',
      'Object.getPrototypeOf(console).constructor.constructor("return typeof process")()',
      'try { console.log.call.call(console.log.constructor, null, "return process")() } catch (e) { "threw" }',
      // Stack frames' receivers are isolate objects: none of them leads to the host's process or require.
      'Error.prepareStackTrace = (e, s) => s; const frames = new Error().stack; frames.some((f) => { const r = f.getThis(); return r && (typeof r.process !== "undefined" || typeof r.require !== "undefined") }) ? "escaped" : "undefined"',
    ];
    for (const code of attempts) {
      const info = await run(code);
      expect(
        ['"undefined"', '"threw"', '"no frames"'].includes(info.result ?? '') || info.status === 'failed',
        code,
      ).toBe(true);
      expect(info.result ?? '').not.toMatch(/object|function/);
    }
  });

  it('cannot import modules, statically or dynamically', async () => {
    const stat = await run('import fs from "fs"; export default typeof fs');
    expect(stat.status).toBe('failed');
    expect(stat.error).toMatch(/not supported/);
    const dynamic = await run('await import("node:child_process")');
    expect(dynamic.status).toBe('failed');
  });

  it('runs in workers with an empty environment (no inherited secrets)', async () => {
    await run('1');
    const pids = t.app.services.runtime.sandbox().pids();
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) {
      expect(pid).not.toBe(process.pid);
      // Only the IPC channel variables Node itself sets for a forked child.
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      expect(
        env.every((v) => v.startsWith('NODE_CHANNEL_')),
        env.join(' '),
      ).toBe(true);
    }
  });
});

describe('resource limits', () => {
  it('stops infinite loops at the timeout', async () => {
    const started = Date.now();
    const info = await run('for (;;) {}', { execution_timeout_secs: 1 });
    expect(info).toMatchObject({ status: 'timed_out', error: 'Execution timed out' });
    expect(Date.now() - started).toBeLessThan(5_000);
    await healthy();
  });

  it('bounds async work: endless promise chains, awaited loops and never-settling promises', async () => {
    const codes = [
      'function spin() { Promise.resolve().then(spin) } spin(); 1',
      'for (;;) await null',
      'new Promise(() => {})',
      '(async () => { for (;;) await Promise.resolve() })()',
      'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)',
    ];
    const infos = await Promise.all(codes.map((code) => run(code, { execution_timeout_secs: 1 })));
    for (const [i, info] of infos.entries()) expect(info.status, codes[i]).toBe('timed_out');
    // A chain that returns each new promise also keeps every one alive: on a fast machine it reaches the memory
    // limit before the timeout. Either sandbox verdict ends it, with its own message.
    const growing = await run('function spin() { return Promise.resolve().then(spin) } spin(); 1', {
      execution_timeout_secs: 1,
      heap_memory_max_mb: 64,
    });
    expect([
      { status: 'timed_out', error: 'Execution timed out' },
      { status: 'failed', error: 'Memory limit exceeded (64 MB)' },
    ]).toContainEqual({ status: growing.status, error: growing.error });
    await healthy();
  });

  it('fails runs that exhaust their heap limit and keeps serving', async () => {
    const info = await run('const a = []; for (;;) a.push(new Array(100000).fill(1.5))', { heap_memory_max_mb: 16 });
    expect(info.status).toBe('failed');
    expect(info.error).toMatch(/[Mm]emory/);
    const strings = await run('let s = "x"; for (;;) s += s', { heap_memory_max_mb: 16 });
    expect(strings.status).toBe('failed');
    await healthy();
  });

  it('contains a dead worker: its run fails, the worker is replaced, the server keeps serving', async () => {
    const res = await call('POST', '/api/exec', { body: { code: 'for (;;) {}', execution_timeout_secs: 30 } });
    const id = res.body.execution_id as string;
    const pool = t.app.services.runtime.sandbox();
    const before = pool.pids();
    await new Promise((r) => setTimeout(r, 300));
    for (const pid of before) process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    let info: { status: string; error: string | null } = { status: 'running', error: null };
    while (info.status === 'running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      info = (await call('GET', `/api/executions/${id}`)).body;
    }
    expect(info.status).toBe('failed');
    expect(info.error).toMatch(/worker died/);
    await healthy();
    expect(pool.pids().some((pid) => before.includes(pid))).toBe(false);
  });
});
