import { bearerToken } from '../../src/core/auth/authenticator.ts';
import { canUseProduct } from '../../src/core/auth/policies.ts';
import type { Services } from '../../src/core/services.ts';
import type { AuthResult, ProductSurface } from '../types.ts';

/**
 * mcp-v8's contract declares no security, but remote code execution cannot be open on a shared platform
 * (docs/decisions.md): every operation takes `Authorization: Bearer <platform JWT | mcp-v8 API key | admin key>`,
 * and executions, heaps, snapshots and labels are namespaced per principal (`principalId`). Failures answer
 * 401 in the contract's `ApiError` shape.
 */
export function mcpV8Authenticator(services: Pick<Services, 'authenticator'>): ProductSurface['authenticate'] {
  return async (headers): Promise<AuthResult> => {
    const token = bearerToken(headers.authorization);
    if (token === undefined) {
      return { ok: false, status: 401, message: 'Missing or malformed Authorization header (expected Bearer token)' };
    }
    const check = await services.authenticator.authenticate(token, 'mcp_v8');
    if (!check.ok) {
      const detail = check.reason === 'expired' || check.reason === 'revoked' ? ` (${check.reason})` : '';
      return { ok: false, status: 401, message: `Invalid token${detail}` };
    }
    if (!canUseProduct(check.principal, 'mcp_v8')) {
      return { ok: false, status: 401, message: 'This credential is not valid for mcp-v8' };
    }
    return { ok: true, principal: check.principal };
  };
}

/** Every mcp-v8 operation requires a credential, although the contract declares no security scheme. */
export const mcpV8RequiresAuth = (_operationId: string) => true;
