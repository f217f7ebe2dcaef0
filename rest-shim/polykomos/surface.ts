import { bearerToken } from '../../src/core/auth/authenticator.ts';
import { refusalResult } from '../engine/credentials.ts';
import { defineSurface } from '../engine/operation.ts';
import type { AuthResult } from '../engine/types.ts';
import { polykomosBlueprintOperations } from './blueprints.ts';
import { polykomosOperations } from './handlers.ts';
import type { PolykomosPolicy } from './policy.ts';
import { polykomosPrefix } from './prefix.ts';
import { polykomosQueryOperations } from './queries.ts';
import { polykomosWebhookOperations } from './webhooks.ts';

/** Polykomos' `ApiError`: `{error: {code, message}, request_id}`. */
export function polykomosErrorBody(_status: number, message: string, code: string, requestId: string) {
  return { error: { code, message }, request_id: requestId };
}

const reasons = {
  invalid: { code: 'invalid_api_key', message: 'Invalid API key' },
  wrong_product: { code: 'invalid_api_key', message: 'Invalid API key' },
  revoked: { code: 'api_key_revoked', message: 'This API key has been revoked' },
  expired: { code: 'api_key_expired', message: 'This API key has expired' },
} as const;

/**
 * Polykomos' door, with the contract's statuses: 401 only for a missing or malformed `Authorization` header; a
 * well-formed but unknown, revoked or expired key, another product's credential, a blocked IP or a missing scope is
 * 403; the per-key rate limit and monthly quota are 429 with Retry-After (the key controls are applied where the key
 * is verified, in the access module, so GraphQL refuses the same key). Only `pk_live_` keys open it.
 */
export const polykomosSurface = defineSurface<PolykomosPolicy>({
  product: 'polykomos',
  prefix: polykomosPrefix,
  contract: { file: 'polykomos.openapi.json' },
  errorBody: polykomosErrorBody,
  async authenticate({ headers, origin, policy, services }): Promise<AuthResult> {
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
      ? await services.authenticator.authenticate(token, {
          product: 'polykomos',
          remoteAddress: origin.remoteAddress,
        })
      : ({ ok: false, reason: 'invalid' } as const);
    if (!check.ok) {
      if (check.reason === 'refused') return refusalResult(check.refusal);
      return { ok: false, status: 403, ...reasons[check.reason] };
    }
    const { principal } = check;
    if (principal.kind !== 'apiKey' || principal.product !== 'polykomos') {
      return { ok: false, status: 403, ...reasons.invalid };
    }
    const scope = policy.scope;
    if (scope !== undefined && !principal.scopes.includes(scope)) {
      return { ok: false, status: 403, code: 'insufficient_scope', message: `This API key lacks the "${scope}" scope` };
    }
    return { ok: true, principal };
  },
  groups: [polykomosOperations, polykomosWebhookOperations, polykomosBlueprintOperations, polykomosQueryOperations],
});
