import { DomainError } from '../../core/errors.ts';

/** GoClaw's expected failures; REST answers `{error: message}` with `httpStatus`. */
export class GoClawError extends DomainError {
  constructor(
    override readonly code: string,
    override readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = 'GoClawError';
  }
}

/** The agent, provider or trace does not exist. REST 404. */
export class GoClawNotFoundError extends GoClawError {
  constructor(message: string) {
    super('NOT_FOUND', 404, message);
    this.name = 'GoClawNotFoundError';
  }
}

/** A malformed or missing argument. REST 400. */
export class GoClawInvalidInputError extends GoClawError {
  constructor(message: string) {
    super('INVALID_REQUEST', 400, message);
    this.name = 'GoClawInvalidInputError';
  }
}

/** The name or slug is taken. REST 409. */
export class GoClawConflictError extends GoClawError {
  constructor(message: string) {
    super('ALREADY_EXISTS', 409, message);
    this.name = 'GoClawConflictError';
  }
}

/** Only the agent's owner (or an admin) may do this. REST 403. */
export class GoClawForbiddenError extends GoClawError {
  constructor(message: string) {
    super('FORBIDDEN', 403, message);
    this.name = 'GoClawForbiddenError';
  }
}

/**
 * The provider another module was configured to use does not exist or is disabled (a configuration problem of
 * the server, not of the caller's request). REST 422 where a module surfaces it.
 */
export class GoClawProviderUnavailableError extends GoClawError {
  constructor(message: string) {
    super('PROVIDER_UNAVAILABLE', 422, message);
    this.name = 'GoClawProviderUnavailableError';
  }
}
