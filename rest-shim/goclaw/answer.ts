import type { RestResponse } from '../engine/types.ts';

/** The status of each GoClaw failure type (GraphQL result unions) on the REST door. */
const statusOf: Record<string, number> = {
  GoClawResourceNotFoundError: 404,
  GoClawBadRequestError: 400,
  GoClawNameTakenError: 409,
  GoClawForbiddenError: 403,
  GoClawBusyError: 429,
};

export const goclawError = (status: number, message: string): RestResponse => ({ status, body: { error: message } });

/** A result union as a REST answer: the success through `ok`, a failure as `{error}` with its status. */
export function answer<R extends { __typename: string }>(
  result: R,
  ok: (success: Extract<R, { data: unknown }>) => RestResponse,
): RestResponse {
  if ('data' in result) return ok(result as Extract<R, { data: unknown }>);
  const message = (result as { message?: string }).message ?? 'Request failed';
  const status = statusOf[result.__typename] ?? 400;
  // Too many runs in flight: a slot frees as soon as any run ends.
  return status === 429
    ? { ...goclawError(status, message), headers: { 'retry-after': '1' } }
    : goclawError(status, message);
}

/** A header's one value (first of repeated ones). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
