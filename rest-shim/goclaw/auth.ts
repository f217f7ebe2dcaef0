import { bearerToken } from '../../src/core/auth/authenticator.ts';
import type { Services } from '../../src/core/services.ts';
import type { AuthResult, ProductSurface } from '../types.ts';

/**
 * GoClaw's door: `Authorization: Bearer <gateway token | API key>`. The Atrium admin key acts as the
 * gateway token (admin); API keys must be GoClaw keys. There is no "auth disabled" mode.
 */
export function goclawAuthenticator(services: Pick<Services, 'authenticator'>): ProductSurface['authenticate'] {
  return async (headers): Promise<AuthResult> => {
    const token = bearerToken(headers.authorization);
    if (token === undefined) {
      return { ok: false, status: 401, message: 'Missing or malformed Authorization header (expected Bearer token)' };
    }
    const check = await services.authenticator.authenticate(token, 'goclaw');
    if (!check.ok) {
      const detail = check.reason === 'expired' || check.reason === 'revoked' ? ` (${check.reason})` : '';
      return { ok: false, status: 401, message: `Invalid token${detail}` };
    }
    return { ok: true, principal: check.principal };
  };
}
