import { createContractValidator } from '../../rest-shim/engine/contract.ts';
import { goclawSurface } from '../../rest-shim/goclaw/surface.ts';
import { adminPrincipal } from '../../src/core/auth/principal.ts';
import type { TestApp } from './app.ts';

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

/** A GoClaw API key with these scopes (operator.read, operator.write, operator.admin, …). */
export async function goclawKey(t: TestApp, scopes: string[]): Promise<string> {
  const { rawKey } = await t.app.services.access.createApiKey(adminPrincipal, {
    product: 'goclaw',
    name: `test ${scopes.join(' ')}`,
    scopes,
  });
  return rawKey;
}

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
