import { callerKind } from '../../src/modules/logstore/logstore.service.ts';
import { authenticateBearer } from '../engine/credentials.ts';
import { defineSurface } from '../engine/operation.ts';
import type { AuthResult } from '../engine/types.ts';
import { databaseOperations } from './databases.ts';
import { draftOperations } from './drafts.ts';
import { jobOperations } from './jobs.ts';
import type { DeepStorePolicy } from './policy.ts';
import { splitOperations } from './splits.ts';
import { tokenOperations } from './tokens.ts';

const kindName = { platform: 'platform JWT', service: 'service token', query: 'query JWT' } as const;

/** DeepStore's only error vocabulary: `{success: false, errors: [message]}`. */
export function deepstoreErrorBody(_status: number, message: string, _code: string, _requestId: string) {
  return { success: false, errors: [message] };
}

/**
 * DeepStore's door: one bearer header carrying a platform JWT (`token_use: platform`, or the admin key), a
 * query JWT (`token_use: query`, minted by `createLogQueryToken`) or an opaque `dss_` service token.
 * Missing, invalid, expired or revoked → 401; a valid token of a kind the operation does not accept → 403.
 * Binding to the path's database (403) and ownership (404) are checked by the service.
 */
export const deepstoreSurface = defineSurface<DeepStorePolicy>({
  product: 'deepstore',
  prefix: '/deepstore',
  contract: { file: 'deepstore.openapi.json' },
  errorBody: deepstoreErrorBody,
  async authenticate(request): Promise<AuthResult> {
    const check = await authenticateBearer(request, 'deepstore');
    if (!check.ok) return check;
    const allowed = request.policy.callers;
    const kind = callerKind(check.principal);
    if (kind === undefined || !allowed.includes(kind)) {
      return {
        ok: false,
        status: 403,
        message: `${request.operationId} requires a ${allowed.map((k) => kindName[k]).join(' or ')}`,
      };
    }
    return { ok: true, principal: check.principal };
  },
  groups: [databaseOperations, tokenOperations, draftOperations, splitOperations, jobOperations],
});
