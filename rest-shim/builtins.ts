import { directOperation } from './operation.ts';
import type { LoadedSpec } from './specs.ts';
import type { RestOperation } from './types.ts';

const documentPaths: Record<string, string> = {
  '/openapi.json': 'application/json; charset=utf-8',
  '/openapi.yaml': 'application/yaml; charset=utf-8',
  '/openapi.yml': 'application/yaml; charset=utf-8',
};

/**
 * Operations the shim serves itself when a product registers none: a contract that declares a path for its own
 * document (Athena's `GET /openapi.yaml`) gets the original file. The file is JSON, which is valid YAML 1.2.
 */
export function builtinOperations(spec: LoadedSpec): Record<string, RestOperation> {
  const operations: Record<string, RestOperation> = {};
  for (const { operationId, method, path } of spec.operations) {
    const contentType = documentPaths[path];
    if (method !== 'GET' || contentType === undefined) continue;
    operations[operationId] = directOperation({
      reason: 'serves the contract document itself (a text body, not a GraphQL result)',
      handle: async () => ({ status: 200, body: spec.original, headers: { 'content-type': contentType } }),
    });
  }
  return operations;
}

/** The surface's operations with the built-ins it does not override. */
export function effectiveOperations(
  spec: LoadedSpec,
  registered: Record<string, RestOperation>,
): Record<string, RestOperation> {
  return { ...builtinOperations(spec), ...registered };
}
