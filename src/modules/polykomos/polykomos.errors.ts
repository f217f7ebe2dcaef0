import { DomainError } from '../../core/errors.ts';

/**
 * Polykomos' expected failures. `code` is the contract's `ApiError.error.code` upper-cased (the REST shim lower-cases
 * it). `httpStatus` stays on the server side (service callers and docs); GraphQL tells failures apart by type — the
 * subclasses below — and the REST door maps each type onto its status (rest-shim/polykomos/answer.ts).
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

/** The resource does not exist, or is not the caller's (indistinguishable). REST 404. */
export class PolykomosNotFoundError extends PolykomosError {
  constructor(message: string) {
    super('NOT_FOUND', 404, message);
    this.name = 'PolykomosNotFoundError';
  }
}

/** Codes of PolykomosForbiddenError. */
export type ForbiddenCode = 'FORBIDDEN' | 'INSUFFICIENT_SCOPE' | 'INVALID_API_KEY';

/** The credential may not do this: a missing scope, not the admin, not a Polykomos key. REST 403. */
export class PolykomosForbiddenError extends PolykomosError {
  constructor(code: ForbiddenCode, message: string) {
    super(code, 403, message);
    this.name = 'PolykomosForbiddenError';
  }
}

/** A malformed argument (code INVALID_PARAMETER). REST 400. */
export class PolykomosInvalidInputError extends PolykomosError {
  constructor(message: string) {
    super('INVALID_PARAMETER', 400, message);
    this.name = 'PolykomosInvalidInputError';
  }
}

/** A well-formed request that cannot be done (NAME_TAKEN, PLAN_LIMIT_REACHED, …; the code says which). REST 422. */
export class PolykomosRejectedError extends PolykomosError {
  constructor(code: string, message: string) {
    super(code, 422, message);
    this.name = 'PolykomosRejectedError';
  }
}

/** A concurrent change won; retrying may succeed (code CONFLICT). REST 409. */
export class PolykomosConflictError extends PolykomosError {
  constructor(message: string) {
    super('CONFLICT', 409, message);
    this.name = 'PolykomosConflictError';
  }
}

export const notFound = (uuid: string) => new PolykomosNotFoundError(`Database "${uuid}" not found`);
export const insufficientScope = (scope: string) =>
  new PolykomosForbiddenError('INSUFFICIENT_SCOPE', `This API key lacks the "${scope}" scope`);
export const invalidParameter = (message: string) => new PolykomosInvalidInputError(message);
export const unprocessable = (code: string, message: string) => new PolykomosRejectedError(code, message);
