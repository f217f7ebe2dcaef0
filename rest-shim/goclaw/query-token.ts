import type { AuthRequest, OperationPolicy } from '../engine/types.ts';

/** GoClaw operations may accept the credential as `?token=` (media served to `<img>` tags, which send no header). */
export interface GoClawPolicy extends OperationPolicy {
  tokenInQuery?: boolean;
}

/**
 * The request as the door should see it: for an operation that allows it and a request without an
 * Authorization header, `?token=<credential>` stands in for `Authorization: Bearer <credential>`.
 */
export function withQueryToken<P extends GoClawPolicy>(request: AuthRequest<P>): AuthRequest<P> {
  if (!request.policy.tokenInQuery || request.headers.authorization !== undefined) return request;
  const raw = request.query.token;
  const token = Array.isArray(raw) ? raw[0] : raw;
  if (!token) return request;
  return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
}
