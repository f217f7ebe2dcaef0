import { specFiles } from './specs.ts';
import type { ProductSurface } from './types.ts';

/** Athena's envelope (`DefaultServerError5xx`): `{status: "error", code, message, error}`. */
export function athenaErrorBody(_status: number, message: string, code: string, _requestId: string) {
  return { status: 'error', code, message, error: message };
}

/** DeepStore's only error vocabulary: `{success: false, errors: [message]}`. */
export function deepstoreErrorBody(_status: number, message: string, _code: string, _requestId: string) {
  return { success: false, errors: [message] };
}

/** Polykomos' `ApiError`: `{error: {code, message}, request_id}`. */
export function polykomosErrorBody(_status: number, message: string, code: string, requestId: string) {
  return { error: { code, message }, request_id: requestId };
}

/** GoClaw's `Error` schema: `{error: message}`. */
export function goclawErrorBody(_status: number, message: string, _code: string, _requestId: string) {
  return { error: message };
}

/** mcp-v8's error body: `{error: message}`. */
export function mcpV8ErrorBody(_status: number, message: string, _code: string, _requestId: string) {
  return { error: message };
}

/**
 * The five products' REST surfaces without handlers or authentication: every operation answers 501 in the
 * product's error shape. The application adds operations and `authenticate` to these.
 */
export function createProductSurfaces(): ProductSurface[] {
  return [
    { product: 'athena', prefix: '/athena', specFile: specFiles.athena, errorBody: athenaErrorBody, operations: {} },
    {
      product: 'deepstore',
      prefix: '/deepstore',
      specFile: specFiles.deepstore,
      errorBody: deepstoreErrorBody,
      operations: {},
    },
    {
      product: 'polykomos',
      prefix: '/polykomos',
      specFile: specFiles.polykomos,
      errorBody: polykomosErrorBody,
      operations: {},
    },
    { product: 'goclaw', prefix: '/goclaw', specFile: specFiles.goclaw, errorBody: goclawErrorBody, operations: {} },
    { product: 'mcp_v8', prefix: '/mcp-v8', specFile: specFiles.mcp_v8, errorBody: mcpV8ErrorBody, operations: {} },
  ];
}
