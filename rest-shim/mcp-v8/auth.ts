import type { Services } from '../../src/core/services.ts';
import { authenticateBearer } from '../bearer.ts';
import type { ProductSurface } from '../types.ts';

/**
 * mcp-v8's contract declares no security, but remote code execution cannot be open on a shared platform
 * (docs/decisions.md): every operation takes `Authorization: Bearer <platform JWT | mcp-v8 API key | admin key>`,
 * and executions, heaps, snapshots and labels are namespaced per principal (`principalId`). Failures answer
 * 401 in the contract's `ApiError` shape.
 */
export function mcpV8Authenticator(services: Pick<Services, 'authenticator'>): ProductSurface['authenticate'] {
  return (headers) => authenticateBearer(services, headers, 'mcp_v8');
}

/** Every mcp-v8 operation requires a credential, although the contract declares no security scheme. */
export const mcpV8RequiresAuth = (_operationId: string) => true;
