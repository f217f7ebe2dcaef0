import { bearerToken } from '../../src/core/auth/authenticator.ts';
import type { Services } from '../../src/core/services.ts';
import type { AuthResult, RequestOrigin, RestRequest } from '../types.ts';
import { polykomosWebhookScopes } from './webhooks.ts';

/**
 * The scope each served operation needs (docs/polykomos.md; inferred names from the design). getMe needs a valid key
 * only. Operations not listed (not served yet) need a valid key; their 501 follows.
 */
export const polykomosOperationScopes: Record<string, string | undefined> = {
  getMe: undefined,
  getDatabaseTypes: 'databases:read',
  listDatabases: 'databases:read',
  getDatabase: 'databases:read',
  createDatabase: 'databases:write',
  updateDatabase: 'databases:write',
  deleteDatabase: 'databases:write',
  updateDatabaseQuotas: 'databases:write',
  ...polykomosWebhookScopes,
  listBlueprints: 'blueprints:read',
  getBlueprint: 'blueprints:read',
  createBlueprint: 'blueprints:write',
  updateBlueprint: 'blueprints:write',
  deleteBlueprint: 'blueprints:write',
  createBlueprintValidation: 'blueprints:read',
  createDatabaseBlueprintApplication: 'databases:write',
  getBlueprintApplication: 'blueprints:read',
};

const reasons = {
  invalid: { code: 'invalid_api_key', message: 'Invalid API key' },
  wrong_product: { code: 'invalid_api_key', message: 'Invalid API key' },
  revoked: { code: 'api_key_revoked', message: 'This API key has been revoked' },
  expired: { code: 'api_key_expired', message: 'This API key has expired' },
} as const;

/**
 * Polykomos' door, with the contract's statuses: 401 only for a missing or malformed `Authorization` header; a
 * well-formed but unknown, revoked or expired key, another product's credential, a blocked IP or a missing scope is
 * 403; the per-key rate limit and monthly quota are 429 with Retry-After. Only `pk_live_` keys open it.
 */
export function polykomosAuthenticator(services: Pick<Services, 'authenticator' | 'polykomos'>) {
  return async (headers: RestRequest['headers'], operationId: string, origin: RequestOrigin): Promise<AuthResult> => {
    const header = headers.authorization;
    if (header === undefined || header === '') {
      return { ok: false, status: 401, code: 'missing_authorization', message: 'Missing Authorization header' };
    }
    const token = bearerToken(header);
    if (token === undefined) {
      return {
        ok: false,
        status: 401,
        code: 'invalid_authorization_header',
        message: 'Malformed Authorization header (expected "Bearer pk_live_...")',
      };
    }
    const check = token.startsWith('pk_live_')
      ? await services.authenticator.authenticate(token, 'polykomos')
      : ({ ok: false, reason: 'invalid' } as const);
    if (!check.ok) return { ok: false, status: 403, ...reasons[check.reason] };
    const { principal } = check;
    if (principal.kind !== 'apiKey' || principal.product !== 'polykomos') {
      return { ok: false, status: 403, ...reasons.invalid };
    }
    const refusal = await services.polykomos.checkAccess(
      principal.id,
      check.previousUse ?? new Date(),
      origin.remoteAddress,
    );
    if (refusal) {
      return {
        ok: false,
        status: refusal.status,
        code: refusal.code,
        message: refusal.message,
        ...(refusal.retryAfter !== undefined ? { headers: { 'retry-after': String(refusal.retryAfter) } } : {}),
      };
    }
    const scope = polykomosOperationScopes[operationId];
    if (scope !== undefined && !principal.scopes.includes(scope)) {
      return { ok: false, status: 403, code: 'insufficient_scope', message: `This API key lacks the "${scope}" scope` };
    }
    return { ok: true, principal };
  };
}
