import { bearerToken } from '../../src/core/auth/authenticator.ts';
import { anonymous, type Principal } from '../../src/core/auth/principal.ts';
import { boundClient, holdsRight, isAthenaAdmin } from '../../src/modules/athena/athena.access.ts';
import { sessionCookie } from '../../src/modules/athena/chat/sessions.ts';
import { directUriOf } from '../../src/modules/athena/direct-uri.ts';
import { d1RequestErrorBody } from '../../src/modules/athena/sql/d1.ts';
import { refusalResult } from '../engine/credentials.ts';
import { defineSurface } from '../engine/operation.ts';
import type { AuthRequest, AuthResult } from '../engine/types.ts';
import { athenaErrorBody } from './answer.ts';
import { athenaChatOperations } from './chat.ts';
import { athenaClientOperations } from './clients.ts';
import { patchAthenaContract } from './contract-patch.ts';
import { athenaGatewayOperations } from './gateway.ts';
import { athenaGatewayQueueGroups } from './gateway-queue.ts';
import { athenaIpPolicyOperations } from './ip-policy.ts';
import { athenaKeyOperations } from './keys.ts';
import { athenaManagementOperations } from './management.ts';
import { metaOperations } from './meta.ts';
import type { AthenaPolicy } from './policy.ts';
import { athenaPostgrestOperations } from './postgrest.ts';
import { athenaSchemaOperations } from './schema.ts';
import { athenaStorageFileOperations } from './storage-files.ts';
import { athenaS3CatalogOperations } from './storage-s3.ts';

export { athenaErrorBody };

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * The credential of a request, wherever Athena's clients put it: `apikey`, `x-api-key`, `x-athena-key`,
 * `Authorization: Bearer`, or `?api_key=` (docs/athena.md, Access).
 */
export function athenaCredential(request: Pick<AuthRequest, 'headers' | 'query'>): string | undefined {
  const h = request.headers;
  const value =
    first(h.apikey) ??
    first(h['x-api-key']) ??
    first(h['x-athena-key']) ??
    bearerToken(first(h.authorization)) ??
    first(request.query.api_key);
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Athena's door. A presented credential must be valid (401 otherwise), whatever the operation; then the policy:
 * `admin` needs the admin key (401 without a credential, 403 with another); `right` needs the admin key or an
 * `ath_` key bound to `X-Athena-Client` holding the right (403), unless enforcement is off and no key was sent.
 */
export const athenaSurface = defineSurface<AthenaPolicy>({
  product: 'athena',
  prefix: '/athena',
  contract: { file: 'athena.openapi.json', patch: patchAthenaContract },
  // The D1 migration's 400 is its preview body (`D1MigrationPreviewResponse`), whatever refused the request.
  errorBody: (status, message, code, requestId, operationId) =>
    operationId === 'post_gateway_sql_d1_migrate' && status === 400
      ? d1RequestErrorBody(message)
      : athenaErrorBody(status, message, code, requestId),
  defaultPolicy: { auth: 'required' },
  async authenticate(request): Promise<AuthResult> {
    const { policy, services } = request;
    const sessionRoute = policy.chat === true || policy.storage !== undefined;
    const credential =
      (policy.storage ? first(request.headers['x-athena-auth-session-token']) || undefined : undefined) ??
      athenaCredential(request) ??
      (sessionRoute ? sessionCookie(request.headers.cookie) : undefined);
    let principal: Principal = anonymous;
    if (credential !== undefined) {
      const check = await services.authenticator.authenticate(credential, {
        product: 'athena',
        remoteAddress: request.origin.remoteAddress,
        forwardedFor: first(request.headers['x-forwarded-for']),
      });
      if (!check.ok) {
        if (check.reason === 'refused') return refusalResult(check.refusal);
        const detail = check.reason === 'expired' || check.reason === 'revoked' ? ` (${check.reason})` : '';
        return { ok: false, status: 401, code: 'unauthorized', message: `Invalid API key${detail}` };
      }
      principal = check.principal;
      const session = principal.kind === 'userSession' && principal.product === 'athena';
      if (session && !sessionRoute) {
        return {
          ok: false,
          status: 401,
          code: 'unauthorized',
          message: 'An Athena session is valid on /chat and managed-storage routes only',
        };
      }
      if (!isAthenaAdmin(principal) && !session && !(principal.kind === 'apiKey' && principal.product === 'athena')) {
        return { ok: false, status: 401, code: 'unauthorized', message: 'This credential is not valid for Athena' };
      }
    }
    if (policy.chat) {
      // Chat identity is the session's, never a header's (docs/athena.md, Chat (G3)).
      if (principal.kind !== 'userSession') {
        return { ok: false, status: 401, code: 'chat_session_required', message: 'Missing or invalid chat session' };
      }
      const client = first(request.headers['x-athena-client']);
      if (client !== undefined && client !== principal.tenant) {
        return {
          ok: false,
          status: 403,
          code: 'forbidden',
          message: 'The chat session belongs to another X-Athena-Client',
        };
      }
      return { ok: true, principal };
    }
    if (policy.storage) {
      // Storage identity is the session's; the deprecated X-User-Id / X-Organization-Id are never trusted.
      if (principal.kind !== 'userSession') {
        if (policy.storage === 'public-read' && principal.kind === 'anonymous') return { ok: true, principal };
        return {
          ok: false,
          status: 401,
          code: 'storage_session_required',
          message: 'Missing user or organization context',
        };
      }
      const client = first(request.headers['x-athena-client']);
      if (client !== undefined && client !== principal.tenant) {
        return {
          ok: false,
          status: 403,
          code: 'forbidden',
          message: 'The Athena session belongs to another X-Athena-Client',
        };
      }
      return { ok: true, principal };
    }
    if (policy.admin) {
      if (principal.kind === 'anonymous') {
        return { ok: false, status: 401, code: 'unauthorized', message: 'The admin key is required (apikey header)' };
      }
      if (!isAthenaAdmin(principal)) {
        return { ok: false, status: 403, code: 'forbidden', message: 'This operation needs the admin key' };
      }
    }
    const right = policy.right;
    // A direct URI's own credentials authorize it (the gateway checks them); the key binding does not apply.
    const direct = policy.directUri === true && directUriOf(request.headers) !== undefined;
    if (right !== undefined && !direct && !isAthenaAdmin(principal)) {
      if (principal.kind === 'anonymous') {
        const enforce = services.athena.clients.enforces(first(request.headers['x-athena-client']));
        if (enforce || !right.startsWith('gateway.')) {
          return { ok: false, status: 401, code: 'unauthorized', message: 'An API key is required (apikey header)' };
        }
      } else {
        const client = first(request.headers['x-athena-client']);
        if (boundClient(principal) !== client) {
          return {
            ok: false,
            status: 403,
            code: 'forbidden',
            message: 'The API key is not bound to the X-Athena-Client of this request',
          };
        }
        if (!holdsRight(principal, right)) {
          return { ok: false, status: 403, code: 'forbidden', message: `The API key lacks the right ${right}` };
        }
      }
    }
    return { ok: true, principal };
  },
  groups: [
    athenaGatewayOperations,
    athenaPostgrestOperations,
    metaOperations,
    athenaClientOperations,
    athenaSchemaOperations,
    athenaManagementOperations,
    ...athenaGatewayQueueGroups,
    athenaKeyOperations,
    athenaIpPolicyOperations,
    athenaChatOperations,
    athenaS3CatalogOperations,
    athenaStorageFileOperations,
  ],
});
