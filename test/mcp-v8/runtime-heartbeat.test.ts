import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

let t: TestApp;
const { call, exec, waitDone } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

beforeAll(async () => {
  t = await startTestApp({ ATRIUM_RUNTIME_STALE_AFTER_MS: '1000' });
});
afterAll(async () => {
  await t?.close();
});

it('fails a running execution whose owning instance stopped refreshing it, and says why', async () => {
  const id = randomUUID();
  await t.app.services.prisma.execution.create({
    data: {
      id,
      tenant: 'admin',
      codeRef: '0'.repeat(64),
      sourceLang: 'js',
      heapMemoryMaxMb: 64,
      timeoutSecs: 30,
      ownerInstance: 'an-instance-that-died',
      heartbeatAt: new Date(Date.now() - 5_000),
    },
  });
  const deadline = Date.now() + 5_000;
  let info = (await call('GET', `/api/executions/${id}`)).body;
  while (info.status === 'running' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    info = (await call('GET', `/api/executions/${id}`)).body;
  }
  expect(info).toMatchObject({ status: 'failed', error: expect.stringMatching(/stopped responding/) });
  expect(info.completed_at).not.toBeNull();
});

it('keeps refreshing its own runs, so a run longer than the stale window completes', async () => {
  const id = await exec('const end = Date.now() + 2500; while (Date.now() < end) {} "done"', {
    execution_timeout_secs: 20,
  });
  await new Promise((r) => setTimeout(r, 1_500));
  const row = await t.app.services.prisma.execution.findUniqueOrThrow({ where: { id } });
  expect(row.status).toBe('running');
  // Other instances judge liveness by this column alone.
  expect(row.heartbeatAt.getTime() - row.startedAt.getTime()).toBeGreaterThanOrEqual(900);
  expect(await waitDone(id)).toMatchObject({ status: 'completed', result: '"done"' });
});
