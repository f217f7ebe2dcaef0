import type { RestRequest, RestResponse } from '../engine/types.ts';
import { polykomosErrorBody } from './surface.ts';

/** A Polykomos mutation/query result: the Success member (`data`) or a `PolykomosError` member. */
export type Outcome<T> = { __typename: string; data?: T; message?: string; code?: string; status?: number };

/** The Success member's data mapped to a response, or the error member as an ApiError with its own status. */
export function answer<T>(r: Outcome<T>, req: RestRequest, map: (data: T) => RestResponse): RestResponse {
  if ('data' in r && r.data !== undefined) return map(r.data);
  const status = r.status ?? 400;
  return {
    status,
    body: polykomosErrorBody(status, r.message ?? 'Request failed', (r.code ?? 'error').toLowerCase(), req.requestId),
  };
}

/** GraphQL DateTime (ISO string) or null → the contract's ISO-8601 form. */
export const isoOrNull = (v: string | null) => (v === null ? null : new Date(v).toISOString());
