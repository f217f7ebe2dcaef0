import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { issueJwt } from '../kit/deepstore.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

// One worker and a generous inline window: a short run on the idle worker is recorded once, already terminal, so
// the first GET after the 202 sees its final status; anything else takes the `running` + terminal-update path.
let t: TestApp;
const { call, exec, waitDone } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

beforeAll(async () => {
  t = await startTestApp({ ATRIUM_RUNTIME_WORKERS: '1', ATRIUM_RUNTIME_INLINE_WAIT_MS: '1000' });
  await waitDone(await exec('0')); // the worker is up and idle
});
afterAll(async () => {
  await t?.close();
});

it('records a short run on an idle worker in one write: the first read after the 202 is terminal, in memory and in the database', async () => {
  // 300 ms of work: within the window, so the 202 comes once it is recorded finished (never seen running).
  const id = await exec('const end = Date.now() + 300; while (Date.now() < end) {} 1+1');
  const info = await call('GET', `/api/executions/${id}`);
  expect(info.body).toMatchObject({ execution_id: id, status: 'completed', result: '2', error: null });
  expect(info.body.completed_at).toEqual(expect.any(String));

  const stored = await t.app.services.prisma.execution.findUniqueOrThrow({ where: { id } });
  expect(stored).toMatchObject({ status: 'completed', result: '2', error: null, sourceLang: 'js' });
  expect(stored.startedAt.toISOString()).toBe(info.body.started_at);
  expect(stored.completedAt?.toISOString()).toBe(info.body.completed_at);
  expect(stored.completedAt?.getTime()).toBeGreaterThanOrEqual(stored.startedAt.getTime());
  expect(Number(stored.outputBytes)).toBe(0);

  const failed = await exec('throw new Error("boom")');
  const failedInfo = (await call('GET', `/api/executions/${failed}`)).body;
  expect(failedInfo).toMatchObject({ status: 'failed', result: null });
  expect(failedInfo.error).toMatch(/boom/);

  const listed = (await call('GET', '/api/executions')).body.executions.map((e: { execution_id: string }) => e);
  expect(listed).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ execution_id: id, status: 'completed' }),
      expect.objectContaining({ execution_id: failed, status: 'failed' }),
    ]),
  );
});

it('a run that prints keeps every line (its chunks need the row, so it is recorded running first)', async () => {
  const id = await exec('console.log("one"); console.log("two"); 3');
  const done = await waitDone(id);
  expect(done).toMatchObject({ status: 'completed', result: '3' });
  const output = await call('GET', `/api/executions/${id}/output`);
  expect(output.body).toMatchObject({ data: 'one\ntwo\n', total_lines: 2, total_bytes: 8, has_more: false });
});

it('answers finished runs from memory only to their owner', async () => {
  const id = await exec('"mine"');
  expect((await call('GET', `/api/executions/${id}`)).body.result).toBe('"mine"');
  const bob = await issueJwt(t, 'bob', 'platform');
  expect((await call('GET', `/api/executions/${id}`, { token: bob })).status).toBe(404);
  expect((await call('GET', `/api/executions/${id}/output`, { token: bob })).status).toBe(404);
});

it('classic scripts, TypeScript and syntax errors are told apart as before', async () => {
  expect(await waitDone(await exec('var a = [1, 2, 3]; a.map((x) => x * 2)'))).toMatchObject({ result: '[2,4,6]' });
  expect(await waitDone(await exec('const n: number = 21; n * 2'))).toMatchObject({ result: '42' });
  const bad = await call('POST', '/api/exec', { body: { code: 'let = ;' } });
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatch(/SyntaxError/);
});

it('time spent queued counts toward the timeout: a run still waiting for a worker at its deadline times out unstarted', async () => {
  // Occupies the only worker for 4 s; its submit waits out the inline window and records it running.
  const busy = await exec('const end = Date.now() + 4000; while (Date.now() < end) {} "done"', {
    execution_timeout_secs: 20,
  });
  expect((await call('GET', `/api/executions/${busy}`)).body.status).toBe('running');

  const queued = await exec('console.log("started"); 1', { execution_timeout_secs: 1 });
  const info = await waitDone(queued, undefined, 10_000);
  expect(info).toMatchObject({ status: 'timed_out', error: 'Execution timed out' });
  const waited = Date.parse(info.completed_at) - Date.parse(info.started_at);
  expect(waited).toBeGreaterThanOrEqual(900);
  expect(waited).toBeLessThan(3500);
  expect((await call('GET', `/api/executions/${busy}`)).body.status).toBe('running');
  expect((await call('GET', `/api/executions/${queued}/output`)).body).toMatchObject({ data: '', total_bytes: 0 });

  expect(await waitDone(busy)).toMatchObject({ status: 'completed', result: '"done"' });
});
