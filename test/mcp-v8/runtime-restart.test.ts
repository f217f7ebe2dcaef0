import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { randomHex } from '../../src/core/auth/secrets.ts';
import { createTestDatabase, testDb } from '../kit/app.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

it('keeps finished output across a restart, fails runs a dead server left running, sweeps expired ones', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-restart-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const database = testDb === 'postgres' ? await createTestDatabase() : undefined;
  if (database) cleanups.push(() => database.drop());
  const adminKey = `test-admin-${randomHex(24)}`;
  const start = async () => {
    const app = await createApp(
      loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        ATRIUM_DATA_DIR: dataDir,
        ATRIUM_ADMIN_KEY: adminKey,
        ...(database ? { DATABASE_URL: database.url } : {}),
      }),
    );
    return { app, baseUrl: await app.listen(0, '127.0.0.1') };
  };
  const api = (baseUrl: string, p: string, init: RequestInit = {}) =>
    fetch(`${baseUrl}/mcp-v8${p}`, {
      ...init,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  let first: { app: App; baseUrl: string } | undefined = await start();
  let id: string;
  let orphan: string;
  let expired: string;
  try {
    const accepted = await api(first.baseUrl, '/api/exec', {
      method: 'POST',
      body: JSON.stringify({ code: 'for (let i = 0; i < 5; i++) console.log("kept " + i); "done"' }),
    });
    id = accepted.body.execution_id;
    for (;;) {
      const info = await api(first.baseUrl, `/api/executions/${id}`);
      if (info.body.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const prisma = first.app.services.prisma;
    const base = { tenant: 'admin', codeRef: 'x', sourceLang: 'js', heapMemoryMaxMb: 64, timeoutSecs: 30 };
    // What a crashed server leaves behind: a run it owned, still `running`.
    orphan = (await prisma.execution.create({ data: { ...base, ownerInstance: first.app.services.config.instanceId } }))
      .id;
    // A run that finished before the retention window.
    const old = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    expired = (
      await prisma.execution.create({
        data: { ...base, ownerInstance: 'gone', status: 'completed', startedAt: old, completedAt: old },
      })
    ).id;
  } finally {
    await first.app.close();
    first = undefined;
  }

  const second = await start();
  cleanups.push(() => second.app.close());
  const info = await api(second.baseUrl, `/api/executions/${id}`);
  expect(info.body).toMatchObject({ status: 'completed', result: '"done"' });
  const out = await api(second.baseUrl, `/api/executions/${id}/output`);
  expect(out.body.data).toBe('kept 0\nkept 1\nkept 2\nkept 3\nkept 4\n');
  const failed = await api(second.baseUrl, `/api/executions/${orphan}`);
  expect(failed.body).toMatchObject({ status: 'failed', error: 'Server restarted while the execution was running' });
  expect(failed.body.completed_at).toEqual(expect.any(String));
  expect((await api(second.baseUrl, `/api/executions/${expired}`)).status).toBe(404);
});
