import { DomainError } from '../../core/errors.ts';

/**
 * Polykomos' expected failures. `code` is the contract's `ApiError.error.code` upper-cased (the REST shim lower-cases
 * it); `httpStatus` is the status both the REST door and docs use.
 */
export class PolykomosError extends DomainError {
  constructor(
    override readonly code: string,
    override readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = 'PolykomosError';
  }
}

export const notFound = (uuid: string) => new PolykomosError('NOT_FOUND', 404, `Database "${uuid}" not found`);
export const insufficientScope = (scope: string) =>
  new PolykomosError('INSUFFICIENT_SCOPE', 403, `This API key lacks the "${scope}" scope`);
export const invalidParameter = (message: string) => new PolykomosError('INVALID_PARAMETER', 400, message);
export const unprocessable = (code: string, message: string) => new PolykomosError(code, 422, message);
