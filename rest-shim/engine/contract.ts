import type { OpenAPIBackend, Operation } from 'openapi-backend';
import { createBackend } from './backend.ts';
import { compileRouter } from './router.ts';
import { type ContractSource, loadSpec } from './specs.ts';

export interface ContractValidator {
  /**
   * Checks a response body against the contract's schema for the operation behind `method path` (path below the
   * prefix) and `status`. Returns null when valid or when the contract defines no JSON schema for that status;
   * otherwise a description of the mismatch. Throws when the request does not route to an operation.
   */
  responseErrors(method: string, path: string, status: number, body: unknown): string | null;
  /** Whether the contract defines a JSON body schema for the operation and status. */
  definesResponse(method: string, path: string, status: number): boolean;
  operation(method: string, path: string): Operation;
}

/** Response validation for tests and development: openapi-backend's `validateResponse` on the patched contract. */
export async function createContractValidator(contract: ContractSource): Promise<ContractValidator> {
  const spec = loadSpec(contract);
  const api: OpenAPIBackend = createBackend(spec, { apiRoot: '/', quick: true });
  await api.init();
  const router = compileRouter(spec.operations);
  const operations = new Map(api.getOperations().map((op) => [op.operationId as string, op]));
  const operation = (method: string, path: string): Operation => {
    const match = router.match(method, path);
    if (match.kind !== 'found') throw new Error(`${method} ${path} does not route (${match.kind}) in ${contract.file}`);
    return operations.get(match.operationId) as Operation;
  };
  const schemaFor = (op: Operation, status: number) => {
    const responses = (op.responses ?? {}) as Record<string, { content?: Record<string, { schema?: unknown }> }>;
    const response = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    return response?.content?.['application/json']?.schema;
  };
  return {
    operation,
    definesResponse: (method, path, status) => schemaFor(operation(method, path), status) !== undefined,
    responseErrors(method, path, status, body) {
      const op = operation(method, path);
      if (schemaFor(op, status) === undefined) return null;
      const result = api.validateResponse(body, op, status);
      if (result.valid) return null;
      return (result.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? e.keyword}`).join('; ');
    },
  };
}
