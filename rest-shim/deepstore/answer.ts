import { canonicalStatus, requireBody } from '../../src/modules/logstore/logstore.input.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';
import type { DeepStoreResultFragment } from '../generated/graphql.ts';

/** A DeepStore field's result: the Success member (`data`) or an error member with its `code`. */
export type Outcome<T> = { __typename: string; data?: T; message?: string; code?: string };

/** Every DeepStore error, whatever the status: `{success: false, errors: [message]}`. */
function failure(result: { message: string; code: string }): RestResponse {
  return { status: canonicalStatus(result.code), body: { success: false, errors: [result.message] } };
}

/** The Success member's data mapped to a 200 body, or the error member as a DeepStore error response. */
export function ok<T>(r: Outcome<T> | null, map: (data: T) => unknown): RestResponse {
  // A null result comes only with GraphQL errors, which the engine answers before `respond` runs.
  if (r === null) throw new Error('DeepStore: GraphQL result without data');
  if ('data' in r && r.data !== undefined) return { status: 200, body: map(r.data) };
  return failure({ message: r.message ?? 'request failed', code: r.code ?? 'DOMAIN_ERROR' });
}

/** `{success}` alone, or with `errors` when there are any (deleteDatabase's partial object purge). */
export const result = (r: DeepStoreResultFragment) => (r.errors.length > 0 ? r : { success: r.success });

export const dbId = (req: RestRequest) => req.params.databaseId ?? '';
export const jobId = (req: RestRequest) => req.params.jobId ?? '';

/**
 * The request body as the contract describes it. The engine validated it against the contract before the
 * operation runs (types, required fields, bounds), so only what the contract cannot say is checked later; a
 * missing body is a 400 here.
 */
export function body<T>(req: RestRequest): T {
  return requireBody(req.body) as T;
}

/** An optional body (leases): absent means every default. */
export function optional<T>(req: RestRequest): Partial<T> {
  return req.body === undefined || req.body === null ? {} : body<Partial<T>>(req);
}
