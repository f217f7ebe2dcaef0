import { afterAll, beforeAll, expect, it } from 'vitest';
import { McpV8TestFsLabelsDocument, McpV8TestRunTypenameDocument } from '../generated/mcp-v8.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { deepstoreClient } from '../kit/deepstore.ts';

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

it("refuses credentials of another product's door: a DeepStore service token is not an mcp-v8 credential", async () => {
  const created = await deepstoreClient(t).call('POST', '/databases', { token: t.adminKey, body: { name: 'svc' } });
  expect(created.status).toBe(200);
  const serviceToken: string = created.body.serviceToken;
  expect(serviceToken).toMatch(/^dss_/);
  const res = await fetch(`${t.baseUrl}/mcp-v8/api/version`, { headers: { authorization: `Bearer ${serviceToken}` } });
  expect(res.status).toBe(401);
  expect(await res.json()).toEqual({ error: expect.any(String) });
});

it("keeps other products' keys out of mcp-v8 over REST and GraphQL", async () => {
  const created = await fetch(`${t.baseUrl}/goclaw/v1/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'goclaw-only', scopes: ['operator.admin'] }),
  });
  const { key } = (await created.json()) as { key: string };
  const rest = await fetch(`${t.baseUrl}/mcp-v8/api/fs/labels`, { headers: { authorization: `Bearer ${key}` } });
  expect(rest.status).toBe(401);
  const graphql = await gql(t.baseUrl, McpV8TestFsLabelsDocument, { first: 1 }, key);
  expect(graphql.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(graphql.body.data ?? null).toBeNull();
  const execution = await gql(t.baseUrl, McpV8TestRunTypenameDocument, { input: { code: '1+1' } }, key);
  expect(execution.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
});
