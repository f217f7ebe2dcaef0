import { bearerToken } from '../src/core/auth/authenticator.ts';
import { canUseProduct } from '../src/core/auth/policies.ts';
import type { Product } from '../src/core/auth/principal.ts';
import type { Services } from '../src/core/services.ts';
import type { AuthResult, RestRequest } from './types.ts';

/**
 * The common door of the products that take `Authorization: Bearer <credential>`: the credential must resolve
 * (admin key, JWT, the product's API key or token) and may use the product (`canUseProduct`); anything else is
 * 401 with a message that names expiry or revocation but never which check failed beyond that.
 */
export async function authenticateBearer(
  services: Pick<Services, 'authenticator'>,
  headers: RestRequest['headers'],
  product: Product,
): Promise<AuthResult> {
  const token = bearerToken(headers.authorization);
  if (token === undefined) {
    return { ok: false, status: 401, message: 'Missing or malformed Authorization header (expected Bearer token)' };
  }
  const check = await services.authenticator.authenticate(token, product);
  if (!check.ok) {
    const detail = check.reason === 'expired' || check.reason === 'revoked' ? ` (${check.reason})` : '';
    return { ok: false, status: 401, message: `Invalid token${detail}` };
  }
  if (!canUseProduct(check.principal, product)) {
    return { ok: false, status: 401, message: `This credential is not valid for ${product}` };
  }
  return { ok: true, principal: check.principal };
}
