import { canUseProduct } from '../../core/auth/policies.ts';
import type { Principal } from '../../core/auth/principal.ts';
import { AuthorizationError } from '../../core/errors.ts';

/** GoClaw's roles, lowest first: GET needs viewer, writes operator, API keys admin (docs/goclaw-tools.md). */
export type GoClawRole = 'viewer' | 'operator' | 'admin';
const rank: Record<GoClawRole, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * Upstream's RoleFromScopes: the highest scope wins. The Atrium admin key is GoClaw's gateway token (admin);
 * other principals that may use GoClaw get the role their scopes name, viewer when they name none.
 */
export function goclawRole(principal: Principal): GoClawRole | undefined {
  if (!canUseProduct(principal, 'goclaw')) return undefined;
  if (principal.kind === 'admin') return 'admin';
  const scopes = 'scopes' in principal ? principal.scopes : [];
  if (scopes.includes('operator.admin')) return 'admin';
  if (scopes.some((s) => s === 'operator.write' || s === 'operator.approvals' || s === 'operator.pairing')) {
    return 'operator';
  }
  return 'viewer';
}

/** Throws AuthorizationError unless the principal holds at least `role` in GoClaw. */
export function requireRole(principal: Principal, role: GoClawRole): void {
  const held = goclawRole(principal);
  if (held === undefined) throw new AuthorizationError('This credential is not valid for goclaw', principal);
  if (rank[held] < rank[role]) throw new AuthorizationError(`This needs the GoClaw ${role} role`, principal);
}
