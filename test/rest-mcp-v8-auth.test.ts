import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './kit/app.ts';
import { deepstoreClient } from './kit/deepstore.ts';

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

it('lets an authenticated caller through to the operation (501 while the operation is not implemented)', async () => {
  const res = await fetch(`${t.baseUrl}/mcp-v8/api/executions`, { headers: { authorization: `Bearer ${t.adminKey}` } });
  expect(res.status).toBe(501);
  expect(await res.json()).toEqual({ error: expect.any(String) });
});

it("refuses credentials of another product's door: a DeepStore service token is not an mcp-v8 credential", async () => {
  const created = await deepstoreClient(t).call('POST', '/databases', { token: t.adminKey, body: { name: 'svc' } });
  expect(created.status).toBe(200);
  const serviceToken: string = created.body.serviceToken;
  expect(serviceToken).toMatch(/^dss_/);
  const res = await fetch(`${t.baseUrl}/mcp-v8/api/version`, { headers: { authorization: `Bearer ${serviceToken}` } });
  expect(res.status).toBe(401);
  expect(await res.json()).toEqual({ error: expect.any(String) });
});
