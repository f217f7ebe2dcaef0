import { DomainError } from '../../core/errors.ts';

/**
 * Athena's expected failures. `code` is Athena's machine-readable code (the error catalog's), `httpStatus` the
 * REST status; GraphQL exposes them as union members.
 */
export class AthenaError extends DomainError {
  constructor(
    override readonly code: string,
    override readonly httpStatus: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AthenaError';
  }
}

/** `X-Athena-Client` missing or naming no live client (400, as the contract says everywhere). */
export class UnknownClientError extends AthenaError {
  constructor(clientName: string | undefined) {
    super(
      'unknown_client',
      400,
      clientName ? `Unknown X-Athena-Client "${clientName}"` : 'Missing or unknown X-Athena-Client',
    );
    this.name = 'UnknownClientError';
  }
}

/** The client exists but is frozen, inactive, or its database cannot be reached (503). */
export class ClientUnavailableError extends AthenaError {
  constructor(clientName: string, reason: 'frozen' | 'inactive' | 'unreachable' | 'unconfigured') {
    const text = {
      frozen: 'is frozen',
      inactive: 'is not active',
      unreachable: "database can't be reached",
      unconfigured: 'has no connection configured',
    }[reason];
    super(`client_${reason}`, 503, `Athena client "${clientName}" ${text}`);
    this.name = 'ClientUnavailableError';
  }
}

export class AthenaNotFoundError extends AthenaError {
  constructor(what: string, id: string) {
    super('not_found', 404, `${what} "${id}" not found`);
    this.name = 'AthenaNotFoundError';
  }
}

export class AthenaConflictError extends AthenaError {
  constructor(message: string) {
    super('conflict', 409, message);
    this.name = 'AthenaConflictError';
  }
}

export class AthenaInvalidInputError extends AthenaError {
  constructor(message: string, code = 'invalid_request') {
    super(code, 400, message);
    this.name = 'AthenaInvalidInputError';
  }
}
