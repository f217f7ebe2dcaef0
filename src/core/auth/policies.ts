import { productAdminScope } from './api-key-format.ts';
import type { Principal, Product } from './principal.ts';

/** Whether the principal may manage (create, list, revoke) the API keys of a product. */
export function canManageApiKeys(principal: Principal, product: Product): boolean {
  if (principal.kind === 'admin') return true;
  if (principal.kind !== 'apiKey' || principal.product !== product) return false;
  const scope = productAdminScope[product];
  return scope !== undefined && principal.scopes.includes(scope);
}
