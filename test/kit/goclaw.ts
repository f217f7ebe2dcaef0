import { expect } from 'vitest';
import { createContractValidator } from '../../rest-shim/engine/contract.ts';
import { goclawSurface } from '../../rest-shim/goclaw/surface.ts';
import type { TestApp } from './app.ts';

/** A GoClaw REST call: JSON in and out (or a raw body with its content type). */
export async function goclawCall(
  t: TestApp,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: BodyInit; contentType?: string; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${t.baseUrl}/goclaw${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
      ...opts.headers,
    },
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * A call whose answer is checked against the contract: its schema where the contract declares one for that
 * operation and status (most GoClaw responses have only a description), and the `Error` shape `{error: string}`
 * for every 4xx/5xx.
 */
export async function contractCaller(t: TestApp) {
  const validator = await createContractValidator(goclawSurface.contract);
  return async (method: string, path: string, opts: Parameters<typeof goclawCall>[3] = {}) => {
    const res = await goclawCall(t, method, path, opts);
    const route = path.split('?')[0] ?? path;
    if (validator.definesResponse(method, route, res.status)) {
      const errors = validator.responseErrors(method, route, res.status, res.body);
      if (errors !== null) throw new Error(`${method} ${route} ${res.status} breaks the goclaw contract: ${errors}`);
    }
    if (res.status >= 400) {
      expect(Object.keys(res.body ?? {}), JSON.stringify(res.body)).toEqual(['error']);
      expect(typeof res.body.error).toBe('string');
    }
    return res;
  };
}

/** GoClaw API keys with the given scopes (created with the admin key). */
export async function goclawKey(t: TestApp, scopes: string[]): Promise<string> {
  const res = await goclawCall(t, 'POST', '/v1/api-keys', {
    token: t.adminKey,
    body: { name: scopes.join('+'), scopes },
  });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.key as string;
}

/**
 * Checks GoClaw bodies against the contract where it declares a JSON schema for the status (most GoClaw
 * responses have only a description; those are checked by the tests' own assertions).
 */
export async function goclawContract() {
  const validator = await createContractValidator(goclawSurface.contract);
  return {
    check(method: string, path: string, status: number, body: unknown): void {
      if (!validator.definesResponse(method, path, status)) return;
      const errors = validator.responseErrors(method, path, status, body);
      if (errors !== null) {
        throw new Error(`${method} ${path} ${status} breaks the goclaw contract: ${errors}\n${JSON.stringify(body)}`);
      }
    },
  };
}
type ContractCheck = Awaited<ReturnType<typeof goclawContract>>;

export interface GoClawAnswer {
  status: number;
  headers: Headers;
  body: any;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request to the GoClaw surface; with `contract`, the body is checked against the contract's schema. */
export function goclawClient(t: TestApp, contract?: ContractCheck) {
  return async (method: string, path: string, opts: CallOptions = {}): Promise<GoClawAnswer> => {
    const res = await fetch(`${t.baseUrl}/goclaw${path}`, {
      method,
      headers: {
        authorization: `Bearer ${opts.token ?? t.adminKey}`,
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    const body = text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
    contract?.check(method, path.split('?')[0] as string, res.status, body);
    return { status: res.status, headers: res.headers, body };
  };
}
