import { authenticateBearer } from '../engine/credentials.ts';
import { defineSurface } from '../engine/operation.ts';
import { mcpV8ExecutionOperations, mcpV8ServerOperations } from './exec.ts';
import { mcpV8FsOperations } from './fs.ts';

/** mcp-v8's error body: `{error: message}`; cancel's 400 is its `CancelResult` (`{ok: false, error}`). */
export function mcpV8ErrorBody(
  status: number,
  message: string,
  _code: string,
  _requestId: string,
  operationId?: string,
) {
  return operationId === 'cancel_execution_handler' && status === 400
    ? { ok: false, error: message }
    : { error: message };
}

/**
 * mcp-v8's contract declares no security, but remote code execution cannot be open on a shared platform
 * (docs/decisions.md): every operation takes `Authorization: Bearer <platform JWT | mcp-v8 API key | admin key>`,
 * and executions, heaps, snapshots and labels are namespaced per principal (`principalId`). Failures answer
 * 401 in the contract's `ApiError` shape.
 */
export const mcpV8Surface = defineSurface({
  product: 'mcp_v8',
  prefix: '/mcp-v8',
  contract: { file: 'mcp-v8.openapi.json' },
  errorBody: mcpV8ErrorBody,
  authenticate: (request) => authenticateBearer(request, 'mcp_v8'),
  defaultPolicy: { auth: 'required' },
  groups: [mcpV8ExecutionOperations, mcpV8ServerOperations, mcpV8FsOperations],
});
