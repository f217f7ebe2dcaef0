import { directOperation, type IndexedOperation, surfaceOperations } from './operation.ts';
import { type LoadedSpec, loadSpec } from './specs.ts';
import type { AnySurface } from './types.ts';

const documentPaths: Record<string, string> = {
  '/openapi.json': 'application/json; charset=utf-8',
  '/openapi.yaml': 'application/yaml; charset=utf-8',
  '/openapi.yml': 'application/yaml; charset=utf-8',
};

/** Where the built-ins are tested. */
const builtinTest = 'test/platform/rest-shim/shim.test.ts';

/**
 * Operations the shim serves itself when a surface declares none: a contract that declares a path for its own
 * document (Athena's `GET /openapi.yaml`) gets the original file. The file is JSON, which is valid YAML 1.2.
 */
export function builtinOperations(spec: LoadedSpec): Map<string, IndexedOperation> {
  const operations = new Map<string, IndexedOperation>();
  for (const { operationId, method, path } of spec.operations) {
    const contentType = documentPaths[path];
    if (method !== 'GET' || contentType === undefined) continue;
    operations.set(operationId, {
      group: 'contract documents',
      test: builtinTest,
      operation: directOperation({
        reason: 'serves the contract document itself (a text body, not a GraphQL result)',
        handle: async () => ({ status: 200, body: spec.original, headers: { 'content-type': contentType } }),
      }),
    });
  }
  return operations;
}

/**
 * Everything a surface serves, by operationId: its groups' operations and the built-ins it does not declare.
 * Throws on duplicates and on operations the contract does not have.
 */
export function mountedOperations(surface: AnySurface): Map<string, IndexedOperation> {
  const spec = loadSpec(surface.contract);
  const declared = surfaceOperations(surface);
  const known = new Set(spec.operations.map((op) => op.operationId));
  for (const operationId of declared.keys()) {
    if (!known.has(operationId)) {
      throw new Error(`${surface.product}: operation "${operationId}" is not in its contract (${spec.specFile})`);
    }
  }
  const mounted = builtinOperations(spec);
  for (const [operationId, entry] of declared) mounted.set(operationId, entry);
  return mounted;
}
