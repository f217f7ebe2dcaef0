import { docsUrl, errorEntry } from '../../src/modules/athena/error-catalog.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';

/** Athena's envelope (`DefaultServerError5xx`), enriched from the error catalog when the code is registered. */
export function athenaErrorBody(_status: number, message: string, code: string, _requestId?: string) {
  const entry = errorEntry(code);
  return {
    status: 'error',
    code,
    message,
    error: message,
    ...(entry ? { error_number: entry.number, docs_url: docsUrl(entry.number) } : {}),
  };
}

/** A GraphQL result union member: the success payload, or an `AthenaError` (code, message, details). */
export type Outcome<T> = { __typename: string; code?: string; message?: string; data?: T } & Partial<T>;

/** The REST status of an Athena error code: the catalog's, else 400 (SQLSTATEs passed through are client errors). */
export function statusOfCode(code: string | undefined): number {
  return (code ? errorEntry(code)?.httpStatus : undefined) ?? 400;
}

/**
 * Maps a union result: errors to the envelope with their catalog status, success through `map`. The errors
 * plugin's default `BaseError` member (any DomainError a union also holds) is answered like an AthenaError.
 */
export function answer<T extends { __typename: string }>(
  r: T | null | undefined,
  _req: RestRequest,
  map: (data: Exclude<T, { __typename: 'AthenaError' | 'BaseError' }>) => RestResponse,
): RestResponse {
  if (!r) throw new Error('Athena: GraphQL result without data');
  if (r.__typename === 'AthenaError' || r.__typename === 'BaseError') {
    const e = r as unknown as { code: string; message: string };
    const status = statusOfCode(e.code);
    return { status, body: athenaErrorBody(status, e.message, e.code) };
  }
  return map(r as Exclude<T, { __typename: 'AthenaError' | 'BaseError' }>);
}

export const iso = (v: string | Date | null | undefined) =>
  v === null || v === undefined ? null : new Date(v).toISOString();
