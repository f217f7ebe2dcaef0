import { bearerToken } from '../../src/core/auth/authenticator.ts';
import { canUseProduct } from '../../src/core/auth/policies.ts';
import type { Product } from '../../src/core/auth/principal.ts';
import type { AuthRequest, AuthResult } from './types.ts';

/**
 * The common door of the products that take `Authorization: Bearer <credential>`: the credential must resolve
 * (admin key, JWT, the product's API key or token) and may use the product (`canUseProduct`); anything else is
 * 401 with a message that names expiry or revocation but never which check failed beyond that. A key control's
 * refusal (IP, rate, quota) keeps its own status (403, 429 with Retry-After).
 */
export async function authenticateBearer(request: AuthRequest<any>, product: Product): Promise<AuthResult> {
  const token = bearerToken(request.headers.authorization);
  if (token === undefined) {
    return { ok: false, status: 401, message: 'Missing or malformed Authorization header (expected Bearer token)' };
  }
  const check = await request.services.authenticator.authenticate(token, {
    product,
    remoteAddress: request.origin.remoteAddress,
    forwardedFor: first(request.headers['x-forwarded-for']),
  });
  if (!check.ok) {
    if (check.reason === 'refused') return refusalResult(check.refusal);
    const detail = check.reason === 'expired' || check.reason === 'revoked' ? ` (${check.reason})` : '';
    return { ok: false, status: 401, message: `Invalid token${detail}` };
  }
  if (!canUseProduct(check.principal, product)) {
    return { ok: false, status: 401, message: `This credential is not valid for ${product}` };
  }
  return { ok: true, principal: check.principal };
}

/** A key control's refusal as a door's answer (429s carry Retry-After). */
export function refusalResult(refusal: {
  status: 403 | 429;
  code: string;
  message: string;
  retryAfter?: number;
}): AuthResult {
  return {
    ok: false,
    status: refusal.status,
    code: refusal.code,
    message: refusal.message,
    ...(refusal.retryAfter !== undefined ? { headers: { 'retry-after': String(refusal.retryAfter) } } : {}),
  };
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v);
