import { createContractValidator } from '../../rest-shim/engine/contract.ts';
import { surfaces } from '../../rest-shim/surfaces.ts';
import type { Product } from '../../src/core/auth/principal.ts';

export interface ContractExpectations {
  /** Fails the test unless the contract defines a JSON body for the status and `body` matches its schema. */
  expectValidResponse(method: string, path: string, status: number, body: unknown): void;
}

/** Response checks against one product's contract (the patched routing copy the shim serves). */
export async function contractValidator(product: Product): Promise<ContractExpectations> {
  const surface = surfaces.find((s) => s.product === product);
  if (!surface) throw new Error(`no REST surface for ${product}`);
  const validator = await createContractValidator(surface.contract);
  return {
    expectValidResponse(method, path, status, body) {
      if (!validator.definesResponse(method, path, status)) {
        throw new Error(`${product} contract defines no JSON response for ${method} ${path} ${status}`);
      }
      const errors = validator.responseErrors(method, path, status, body);
      if (errors !== null) {
        throw new Error(
          `${method} ${path} ${status} breaks the ${product} contract: ${errors}\n${JSON.stringify(body)}`,
        );
      }
    },
  };
}
