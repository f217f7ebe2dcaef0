import type { Principal } from '../../core/auth/principal.ts';
import { AuthorizationError } from '../../core/errors.ts';

/** GoClaw's roles, lowest first (upstream `RoleFromScopes`: the highest scope wins). */
export type GoClawRole = 'viewer' | 'operator' | 'admin';
const rank: Record<GoClawRole, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * The caller's GoClaw role: the admin key (the gateway token) is admin; a GoClaw key is admin with
 * `operator.admin`, operator with write/approvals/pairing, else viewer; a platform (`atrium`) key is admin with
 * `admin`, else viewer; a platform JWT likewise by its scopes. Anything else has no role.
 */
export function goclawRole(principal: Principal): GoClawRole | undefined {
  switch (principal.kind) {
    case 'admin':
      return 'admin';
    case 'apiKey': {
      const s = principal.scopes;
      if (principal.product === 'goclaw') {
        if (s.includes('operator.admin')) return 'admin';
        if (s.some((x) => x === 'operator.write' || x === 'operator.approvals' || x === 'operator.pairing'))
          return 'operator';
        return 'viewer';
      }
      if (principal.product === 'atrium') return s.includes('admin') ? 'admin' : 'viewer';
      return undefined;
    }
    case 'jwt':
      return principal.tokenUse === 'query' ? undefined : principal.scopes.includes('admin') ? 'admin' : 'viewer';
    default:
      return undefined;
  }
}

/** Throws AuthorizationError unless the caller holds at least `needed`. Returns the caller's role. */
export function requireRole(principal: Principal, needed: GoClawRole): GoClawRole {
  const role = goclawRole(principal);
  if (role === undefined) throw new AuthorizationError('This credential may not use GoClaw', principal);
  if (rank[role] < rank[needed]) {
    throw new AuthorizationError(`This needs the ${needed} role (the credential is ${role})`, principal);
  }
  return role;
}
