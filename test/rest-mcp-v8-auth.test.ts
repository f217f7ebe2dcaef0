import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './kit/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

it('requires a bearer credential on every mcp-v8 operation, answering 401 in the ApiError shape', async () => {
  const attempts: Record<string, string>[] = [
    {},
    { authorization: 'Bearer not-a-key' },
    { authorization: `Basic ${t.adminKey}` },
  ];
  for (const headers of attempts) {
    const res = await fetch(`${t.baseUrl}/mcp-v8/api/version`, { headers });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: expect.any(String) });
  }
});

it('lets an authenticated caller through to the operation', async () => {
  const res = await fetch(`${t.baseUrl}/mcp-v8/api/executions`, { headers: { authorization: `Bearer ${t.adminKey}` } });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ executions: [] });
});
