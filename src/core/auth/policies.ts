import { productAdminScope } from './api-key-format.ts';
import type { Principal, Product } from './principal.ts';

/** Whether the principal may manage (create, list, revoke) the API keys of a product. */
export function canManageApiKeys(principal: Principal, product: Product): boolean {
  if (principal.kind === 'admin') return true;
  if (principal.kind !== 'apiKey' || principal.product !== product) return false;
  const scope = productAdminScope[product];
  return scope !== undefined && principal.scopes.includes(scope);
}

/**
 * Whether the principal may use a product's resources at all (its REST door and its GraphQL fields):
 * the admin; API keys of that product or platform (`atrium`) keys; platform and session JWTs (query JWTs are
 * DeepStore read tokens); DeepStore service tokens only for DeepStore. Finer checks (scopes, ownership)
 * stay with each module.
 */
export function canUseProduct(principal: Principal, product: Product): boolean {
  switch (principal.kind) {
    case 'anonymous':
      return false;
    case 'admin':
      return true;
    case 'apiKey':
      return principal.product === product || principal.product === 'atrium';
    case 'jwt':
      return principal.tokenUse !== 'query' || product === 'deepstore';
    case 'serviceToken':
      return product === 'deepstore';
    case 'userSession':
      return product === principal.product;
  }
}
