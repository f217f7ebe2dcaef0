import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { Tx } from '../../core/db.ts';
import { LogStoreForbiddenError, LogStoreNotFoundError, LogStoreUnauthenticatedError } from './logstore.errors.ts';

// ---------------------------------------------------------------------------------------------------------
// Who may call what (docs/logstore.md, token matrix)

export type CallerKind = 'platform' | 'service' | 'query';

export type LogStoreOperation =
  | 'createDatabase'
  | 'getDatabase'
  | 'deleteDatabase'
  | 'commitDraft'
  | 'listDrafts'
  | 'listSplits'
  | 'lease'
  | 'complete'
  | 'rotateServiceToken'
  | 'revokeServiceTokens'
  | 'mintQueryToken'
  | 'readDatabase';

/** Which token kinds each operation accepts. A valid token of another kind is 403. */
export const operationAccess: Record<LogStoreOperation, readonly CallerKind[]> = {
  createDatabase: ['platform'],
  getDatabase: ['platform', 'service'],
  deleteDatabase: ['platform'],
  commitDraft: ['service'],
  listDrafts: ['platform', 'service', 'query'],
  listSplits: ['platform', 'service', 'query'],
  lease: ['service'],
  complete: ['service'],
  rotateServiceToken: ['platform'],
  revokeServiceTokens: ['platform'],
  mintQueryToken: ['platform'],
  // GraphQL reads of a LogDatabase (owner view: drafts, splits, jobs).
  readDatabase: ['platform', 'service'],
};

export const platformTokenUse = 'platform';
export const queryTokenUse = 'query';

/** The admin key and `token_use: platform` JWTs are platform callers; `query` JWTs and `dss_` tokens the others. */
export function callerKind(p: Principal): CallerKind | undefined {
  if (p.kind === 'admin') return 'platform';
  if (p.kind === 'jwt' && p.tokenUse === platformTokenUse) return 'platform';
  if (p.kind === 'jwt' && p.tokenUse === queryTokenUse) return 'query';
  if (p.kind === 'serviceToken') return 'service';
  return undefined;
}

/** Throws 401 for anonymous callers and 403 for a credential kind the operation does not accept. */
export function assertKind(p: Principal, op: LogStoreOperation): CallerKind {
  if (p.kind === 'anonymous') throw new LogStoreUnauthenticatedError('Authentication required');
  const kind = callerKind(p);
  const allowed = operationAccess[op];
  if (kind === undefined || !allowed.includes(kind)) {
    const names = allowed.map((k) => (k === 'service' ? 'service token' : `${k} JWT`)).join(' or ');
    throw new LogStoreForbiddenError(`This operation requires a ${names}`);
  }
  return kind;
}

export interface Access {
  kind: CallerKind;
  /** Scopes of a query JWT; undefined means unrestricted. */
  scopes: readonly string[] | undefined;
}

/**
 * Checks kind, binding and ownership for one database. Service tokens and query JWTs bound to another
 * database are 403; a database the platform caller does not own is 404 like an unknown one; a service token
 * that is no longer live (revoked, or its database gone) is 401.
 */
export async function authorize(
  db: Pick<Tx, '$queryRaw'>,
  p: Principal,
  op: LogStoreOperation,
  databaseId: string,
): Promise<Access> {
  const kind = assertKind(p, op);
  if (p.kind === 'serviceToken' && p.databaseId !== databaseId) {
    throw new LogStoreForbiddenError('The service token is bound to another database');
  }
  if (kind === 'query' && p.kind === 'jwt' && p.claims.db !== databaseId) {
    throw new LogStoreForbiddenError('The query token is bound to another database');
  }
  // FOR KEY SHARE: inside a transaction, a concurrent deleteDatabase waits for it to finish (instead of
  // deadlocking with its row locks or failing its inserts on the foreign key).
  // A service token is re-checked here, in the same statement (its door may have remembered it: service-tokens.ts):
  // revoked, rotated away or deleted with its database → 401, as at the door.
  const tokenId = p.kind === 'serviceToken' ? p.id : null;
  const [row] = await db.$queryRaw<{ ownerId: string; tokenLive: boolean }[]>`
    SELECT d.owner_id AS "ownerId",
           (${tokenId}::uuid IS NULL OR EXISTS (
              SELECT 1 FROM log_service_tokens t
              WHERE t.id = ${tokenId}::uuid AND t.database_id = d.id AND t.revoked_at IS NULL)) AS "tokenLive"
    FROM log_databases d WHERE d.id = ${databaseId} FOR KEY SHARE OF d`;
  if (tokenId !== null && !row?.tokenLive) throw new LogStoreUnauthenticatedError('The service token is not valid');
  if (!row || (kind === 'platform' && p.kind !== 'admin' && row.ownerId !== principalId(p))) {
    throw new LogStoreNotFoundError(`database "${databaseId}" not found`);
  }
  return { kind, scopes: kind === 'query' && p.kind === 'jwt' ? p.scopes : undefined };
}
