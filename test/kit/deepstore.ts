import { expect } from 'vitest';
import { DsCreateQueryTokenDocument, DsKitIssueJwtDocument } from '../generated/deepstore.ts';
import { gql, type TestApp } from './app.ts';
import type { ContractExpectations } from './contract.ts';

export interface DeepStoreResponse {
  status: number;
  body: any;
}

/** A DeepStore REST client for one test app; `contract` (when given) validates every 200 body. */
export function deepstoreClient(t: TestApp, contract?: ContractExpectations) {
  const call = async (
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: string } = {},
  ): Promise<DeepStoreResponse> => {
    const res = await fetch(`${t.baseUrl}/deepstore${path}`, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined || opts.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    const body = text ? JSON.parse(text) : undefined;
    if (contract && res.status === 200) {
      contract.expectValidResponse(method, path.split('?')[0] ?? path, res.status, body);
    }
    return { status: res.status, body };
  };
  return { call };
}

/** Issues a JWT through the admin-only `createAccessToken` mutation. */
export async function issueJwt(t: TestApp, subject: string, tokenUse: string, ttlSeconds = 600): Promise<string> {
  const r = await gql(
    t.baseUrl,
    DsKitIssueJwtDocument,
    { i: { subject, tokenUse, scopes: [], ttlSeconds } },
    t.adminKey,
  );
  const result = r.body.data?.createAccessToken;
  const token = result?.__typename === 'MutationCreateAccessTokenSuccess' ? result.data.token : undefined;
  if (typeof token !== 'string') throw new Error(`could not issue a JWT: ${JSON.stringify(r.body)}`);
  return token;
}

/** Mints a query JWT for a database through GraphQL as `platformToken`. */
export async function mintQueryJwt(
  t: TestApp,
  platformToken: string,
  databaseId: string,
  scopes: string[],
  ttlSeconds = 600,
): Promise<string> {
  const r = await gql(
    t.baseUrl,
    DsCreateQueryTokenDocument,
    { id: databaseId, scopes, ttl: ttlSeconds },
    platformToken,
  );
  const result = r.body.data?.createLogQueryToken;
  if (result?.__typename !== 'MutationCreateLogQueryTokenSuccess') {
    throw new Error(`could not mint a query JWT: ${JSON.stringify(r.body)}`);
  }
  return result.data.token;
}

export function draftBody(draftId: string, start: number, end: number, scope = 'app', numDocs = 10, sizeBytes = 1000) {
  return { draftId, sizeBytes, numDocs, startTimestamp: start, endTimestamp: end, scope };
}

/** A DeepStore error answer: the status, the contract's `{ success: false, errors: [message] }`, the message. */
export function expectError(r: { status: number; body: unknown }, status: number, pattern?: RegExp) {
  expect(r.status).toBe(status);
  expect(r.body).toEqual({ success: false, errors: [expect.any(String)] });
  if (pattern) expect((r.body as { errors: string[] }).errors[0]).toMatch(pattern);
}
