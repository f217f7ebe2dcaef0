/**
 * Expected failures. Plain classes (no GraphQL import) so the REST shim maps the same classes onto each
 * product's error body. GraphQL exposes them as union members through the errors plugin.
 */
export class DomainError extends Error {
  code = 'DOMAIN_ERROR';
  httpStatus = 400;
  /** The code as REST doors spell it, when it is not `code` lower-cased (PostgREST's `PGRST100`, a SQLSTATE). */
  restCode?: string;
  /** Fields REST doors add to their error body verbatim (PostgREST's `details` and `hint`). */
  restFields?: Record<string, unknown>;
}

export class NotFoundError extends DomainError {
  override code = 'NOT_FOUND';
  override httpStatus = 404;
  constructor(what: string, id: string) {
    super(`${what} "${id}" not found`);
    this.name = 'NotFoundError';
  }
}

export class InvalidInputError extends DomainError {
  override code = 'INVALID_INPUT';
  override httpStatus = 400;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/** Error codes carried in GraphQL `extensions.code` for protocol and authorization failures. */
export const ErrorCodes = {
  unauthenticated: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  badUserInput: 'BAD_USER_INPUT',
  notFound: 'NOT_FOUND',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
} as const;

/**
 * The caller may not do this. Services throw it (they never import graphql); GraphQL turns it into a top-level
 * error with `extensions.code` UNAUTHENTICATED (anonymous callers) or FORBIDDEN, REST into 401 or 403.
 */
export class AuthorizationError extends Error {
  readonly code: typeof ErrorCodes.unauthenticated | typeof ErrorCodes.forbidden;
  constructor(message: string, principal?: { kind: string }) {
    super(message);
    this.name = 'AuthorizationError';
    this.code = principal?.kind === 'anonymous' ? ErrorCodes.unauthenticated : ErrorCodes.forbidden;
  }
}
