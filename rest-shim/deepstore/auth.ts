import type { Services } from '../../src/core/services.ts';
import { callerKind, type LogStoreOperation, operationAccess } from '../../src/modules/logstore/logstore.service.ts';
import { authenticateBearer } from '../bearer.ts';
import type { AuthResult, ProductSurface } from '../types.ts';

/** REST operationId → the service's access class (the token matrix in docs/logstore.md). */
const accessByOperation: Record<string, LogStoreOperation> = {
  createDatabase: 'createDatabase',
  getDatabase: 'getDatabase',
  deleteDatabase: 'deleteDatabase',
  commitDraft: 'commitDraft',
  listDrafts: 'listDrafts',
  listSplits: 'listSplits',
  leaseIndexingJob: 'lease',
  completeIndexingJob: 'complete',
  leaseCleanupJob: 'lease',
  completeCleanupJob: 'complete',
  leaseMergeJob: 'lease',
  completeMergeJob: 'complete',
  leaseSplitCleanupJob: 'lease',
  completeSplitCleanupJob: 'complete',
  rotateServiceToken: 'rotateServiceToken',
  revokeServiceTokens: 'revokeServiceTokens',
};

const kindName = { platform: 'platform JWT', service: 'service token', query: 'query JWT' } as const;

/**
 * DeepStore's door: one bearer header carrying a platform JWT (`token_use: platform`, or the admin key), a
 * query JWT (`token_use: query`, minted by `createLogQueryToken`) or an opaque `dss_` service token.
 * Missing, invalid, expired or revoked → 401; a valid token of a kind the operation does not accept → 403.
 * Binding to the path's database (403) and ownership (404) are checked by the service.
 */
export function deepstoreAuthenticator(services: Pick<Services, 'authenticator'>): ProductSurface['authenticate'] {
  return async (headers, operationId): Promise<AuthResult> => {
    const check = await authenticateBearer(services, headers, 'deepstore');
    if (!check.ok) return check;
    const op = accessByOperation[operationId];
    const kind = callerKind(check.principal);
    if (op !== undefined) {
      const allowed = operationAccess[op];
      if (kind === undefined || !allowed.includes(kind)) {
        return {
          ok: false,
          status: 403,
          message: `${operationId} requires a ${allowed.map((k) => kindName[k]).join(' or ')}`,
        };
      }
    }
    return { ok: true, principal: check.principal };
  };
}
