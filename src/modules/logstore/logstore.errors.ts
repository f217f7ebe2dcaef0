import { DomainError } from '../../core/errors.ts';

/** Unknown database, job or an owner mismatch that must not leak existence. */
export class LogStoreNotFoundError extends DomainError {
  override code = 'NOT_FOUND';
  override httpStatus = 404;
  constructor(message: string) {
    super(message);
    this.name = 'LogStoreNotFoundError';
  }
}

/** Malformed or inconsistent input (bad timestamps, limits, ids not in the job, overlapping lists…). */
export class LogStoreInvalidInputError extends DomainError {
  override code = 'INVALID_INPUT';
  override httpStatus = 400;
  constructor(message: string) {
    super(message);
    this.name = 'LogStoreInvalidInputError';
  }
}

/** The request conflicts with the current state (re-leased items, a completed job, an existing split id…). */
export class LogStoreConflictError extends DomainError {
  override code = 'CONFLICT';
  override httpStatus = 409;
  constructor(message: string) {
    super(message);
    this.name = 'LogStoreConflictError';
  }
}

/** A valid credential of the wrong kind, or bound to another database. */
export class LogStoreForbiddenError extends DomainError {
  override code = 'FORBIDDEN';
  override httpStatus = 403;
  constructor(message: string) {
    super(message);
    this.name = 'LogStoreForbiddenError';
  }
}

/** No credential (only reachable through GraphQL; the REST door rejects anonymous callers first). */
export class LogStoreUnauthenticatedError extends DomainError {
  override code = 'UNAUTHENTICATED';
  override httpStatus = 401;
  constructor(message: string) {
    super(message);
    this.name = 'LogStoreUnauthenticatedError';
  }
}
