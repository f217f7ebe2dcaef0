import type { RestRequest, RestResponse } from '../engine/types.ts';
import { polykomosErrorBody } from './surface.ts';

/** A Polykomos mutation/query result: the Success member (`data`) or one of the error members. */
export type Outcome<T> = { __typename: string; data?: T; message?: string; code?: string };

/** The REST status of each GraphQL error type (GraphQL carries no HTTP statuses). */
const statusByType: Record<string, number> = {
  PolykomosNotFoundError: 404,
  PolykomosForbiddenError: 403,
  PolykomosInvalidInputError: 400,
  PolykomosRejectedError: 422,
  PolykomosConflictError: 409,
};
/** The generic `PolykomosError` (webhook fields): by code; anything else is a 422. */
const statusByCode: Record<string, number> = {
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  INSUFFICIENT_SCOPE: 403,
  INVALID_API_KEY: 403,
  INVALID_PARAMETER: 400,
  CONFLICT: 409,
};

/** The REST status of an error member. */
export function statusOf(r: { __typename: string; code?: string }): number {
  return statusByType[r.__typename] ?? statusByCode[r.code ?? ''] ?? 422;
}

/** The Success member's data mapped to a response, or the error member as an ApiError with its status. */
export function answer<T>(r: Outcome<T>, req: RestRequest, map: (data: T) => RestResponse): RestResponse {
  if ('data' in r && r.data !== undefined) return map(r.data);
  const status = statusOf(r);
  return {
    status,
    body: polykomosErrorBody(status, r.message ?? 'Request failed', (r.code ?? 'error').toLowerCase(), req.requestId),
  };
}

/** GraphQL DateTime (ISO string) or null → the contract's ISO-8601 form. */
export const isoOrNull = (v: string | null) => (v === null ? null : new Date(v).toISOString());
