import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { issueJwt } from '../kit/deepstore.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

let t: TestApp;
const { call, exec, waitDone } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

beforeAll(async () => {
  t = await startTestApp({ ATRIUM_RUNTIME_MAX_ACTIVE_PER_TENANT: '2', ATRIUM_RUNTIME_WORKERS: '1' });
});
afterAll(async () => {
  await t?.close();
});

const spin = 'const end = Date.now() + 20000; while (Date.now() < end) {}';

it('answers 429 once a caller has its limit of runs in flight, without starting anything; other callers are unaffected', async () => {
  const first = await exec(spin, { execution_timeout_secs: 30 });
  const second = await exec(spin, { execution_timeout_secs: 30 });
  const listedBefore = (await call('GET', '/api/executions')).body.executions.length;

  const refused = await call('POST', '/api/exec', { body: { code: '1+1' } });
  expect(refused.status).toBe(429);
  expect(refused.body).toEqual({ error: expect.stringMatching(/Too many executions in flight \(limit 2/) });
  expect((await call('GET', '/api/executions')).body.executions.length).toBe(listedBefore);

  const bob = await issueJwt(t, 'bob', 'platform');
  const bobs = await call('POST', '/api/exec', { token: bob, body: { code: '1+1' } });
  expect(bobs.status).toBe(202);

  expect((await call('POST', `/api/executions/${first}/cancel`)).body).toEqual({ ok: true, error: null });
  await waitDone(first);
  expect((await call('POST', '/api/exec', { body: { code: '1+1' } })).status).toBe(202);
  await call('POST', `/api/executions/${second}/cancel`);
});
