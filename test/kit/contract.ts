import { createContractValidator } from '../../rest-shim/contract.ts';
import { specFiles } from '../../rest-shim/specs.ts';

export interface ContractExpectations {
  /** Fails the test unless the contract defines a JSON body for the status and `body` matches its schema. */
  expectValidResponse(method: string, path: string, status: number, body: unknown): void;
}

/** Response checks against one product's contract (the patched routing copy the shim serves). */
export async function contractValidator(product: keyof typeof specFiles): Promise<ContractExpectations> {
  const validator = await createContractValidator(specFiles[product]);
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
