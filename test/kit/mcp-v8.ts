import { expect } from 'vitest';
import { McpV8TestCreateKeyDocument } from '../generated/mcp-v8.ts';
import { gql, type TestApp } from './app.ts';
import type { ContractExpectations } from './contract.ts';

export interface CallOptions {
  token?: string;
  body?: unknown;
  raw?: string | Buffer;
  contentType?: string;
  contract?: ContractExpectations;
}

/** mcp-v8 REST client for tests: JSON in/out, optional contract check of the response body. */
export function mcpV8Client(t: () => TestApp, defaultToken: () => string) {
  async function call(method: string, path: string, opts: CallOptions = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? defaultToken()}` };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.contentType) headers['content-type'] = opts.contentType;
    const res = await fetch(`${t().baseUrl}/mcp-v8${path}`, {
      method,
      headers,
      body:
        typeof opts.raw === 'string' || opts.raw === undefined
          ? (opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)))
          : new Uint8Array(opts.raw),
    });
    const text = await res.text();
    const body = text ? (JSON.parse(text) as any) : undefined;
    if (opts.contract) {
      const templated = path
        .split('?')[0]
        ?.replace(/\/api\/executions\/[^/]+/, '/api/executions/{id}')
        .replace(/\/api\/cli\/[^/]+/, '/api/cli/{platform}');
      opts.contract.expectValidResponse(method, templated ?? path, res.status, body);
    }
    return { status: res.status, body };
  }

  async function exec(code: string, options: Record<string, unknown> = {}, token?: string): Promise<string> {
    const res = await call('POST', '/api/exec', { body: { code, ...options }, ...(token ? { token } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.execution_id as string;
  }

  async function waitDone(id: string, token?: string, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await call('GET', `/api/executions/${id}`, token ? { token } : {});
      if (res.status !== 200) throw new Error(`GET execution ${id}: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.body.status !== 'running') return res.body;
      if (Date.now() > deadline) throw new Error(`execution ${id} still running`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function run(code: string, options: Record<string, unknown> = {}, token?: string) {
    return waitDone(await exec(code, options, token), token);
  }

  return { call, exec, waitDone, run };
}

/** A new mcp-v8 API key (another tenant: principalId `apikey:<id>`), created by the admin through GraphQL. */
export async function mcpV8Key(t: TestApp, name: string): Promise<string> {
  const res = await gql(
    t.baseUrl,
    McpV8TestCreateKeyDocument,
    { input: { product: 'mcp_v8', name, scopes: [] } },
    t.adminKey,
  );
  const created = res.body.data?.createApiKey;
  if (created?.__typename !== 'MutationCreateApiKeySuccess') throw new Error(`no key: ${JSON.stringify(res.body)}`);
  return created.data.rawKey;
}
/** The `data` of a `…Success` union member; anything else fails the test with the member it got. */
export function success<T extends { __typename: string }>(
  result: T | null | undefined,
): Extract<T, { data: unknown }>['data'] {
  if (!result || !('data' in result)) throw new Error(`not a success: ${JSON.stringify(result)}`);
  return (result as Extract<T, { data: unknown }>).data;
}
