import type { Principal } from '../../core/auth/principal.ts';
import { AuthorizationError } from '../../core/errors.ts';

/*
 * Who may do what in Athena (docs/athena.md, Access). The admin (the server's admin key, or a platform key with the
 * `admin` scope over GraphQL) may do everything. An `ath_` key is bound to one client by its `client:<name>` scope
 * and holds rights as scopes (`gateway.fetch.execute`, `management.tables.write`, …); `gateway.*`/`management.*`
 * grant a family, `*` every right. Binding and rights travel in the principal, so checking them costs no query.
 */

export const clientScopePrefix = 'client:';

/** The native rights catalog: every right an operation checks. */
export const athenaRights = [
  'gateway.fetch.execute',
  'gateway.insert.execute',
  'gateway.update.execute',
  'gateway.delete.execute',
  'gateway.query.execute',
  /** Raw SQL that writes (without it, raw statements must be read-only). */
  'gateway.query.write',
  'gateway.sql.execute',
  'gateway.rpc.execute',
  'gateway.count.execute',
  'management.read',
  'management.tables.write',
  'management.tables.drop',
  'management.columns.drop',
  'management.indexes.write',
  'management.indexes.drop',
  'management.views.write',
  'management.views.drop',
  'management.functions.read',
  'management.functions.write',
  'management.functions.drop',
  'management.extensions.write',
  /** Issue and revoke chat sessions of the key's client (`createAthenaChatSession`). */
  'chat.sessions.issue',
] as const;
export type AthenaRight = (typeof athenaRights)[number];

export function isAthenaAdmin(p: Principal): boolean {
  return p.kind === 'admin' || (p.kind === 'apiKey' && p.product === 'atrium' && p.scopes.includes('admin'));
}

/** The client an `ath_` key is bound to. */
export function boundClient(p: Principal): string | undefined {
  if (p.kind !== 'apiKey' || p.product !== 'athena') return undefined;
  const scope = p.scopes.find((s) => s.startsWith(clientScopePrefix));
  return scope?.slice(clientScopePrefix.length);
}

export function holdsRight(p: Principal, right: AthenaRight): boolean {
  if (isAthenaAdmin(p)) return true;
  if (p.kind !== 'apiKey' || p.product !== 'athena') return false;
  const family = `${right.split('.')[0]}.*`;
  return p.scopes.includes(right) || p.scopes.includes(family) || p.scopes.includes('*');
}

export function requireAdmin(p: Principal): void {
  if (!isAthenaAdmin(p)) throw new AuthorizationError('this operation needs the admin key', p);
}

/**
 * The caller may use `right` on `clientName`: the admin, or a key bound to that client holding the right. With
 * enforcement off, anonymous callers pass for gateway rights (a presented key is still checked, by the door).
 */
export function requireClientRight(p: Principal, clientName: string, right: AthenaRight, enforce: boolean): void {
  if (isAthenaAdmin(p)) return;
  if (p.kind === 'anonymous') {
    if (!enforce && right.startsWith('gateway.')) return;
    throw new AuthorizationError('an API key is required (apikey header)', p);
  }
  const client = boundClient(p);
  if (client === undefined) throw new AuthorizationError('the API key is not an Athena key', p);
  if (client !== clientName) {
    throw new AuthorizationError(`the API key is not bound to client "${clientName}"`, p);
  }
  if (!holdsRight(p, right)) throw new AuthorizationError(`the API key lacks the right ${right}`, p);
}
