import { DomainError } from '../../core/errors.ts';

/** No such GoClaw tool-catalogue resource (or one the caller may not see). */
export class GoClawNotFoundError extends DomainError {
  override code = 'GOCLAW_NOT_FOUND';
  override httpStatus = 404;
  constructor(what: string, id: string) {
    super(`${what} "${id}" not found`);
    this.name = 'GoClawNotFoundError';
  }
}

/** A field out of bounds or malformed; the message names it. */
export class GoClawInvalidInputError extends DomainError {
  override code = 'GOCLAW_INVALID_INPUT';
  override httpStatus = 400;
  constructor(message: string) {
    super(message);
    this.name = 'GoClawInvalidInputError';
  }
}

/** A name already taken (custom tools also may not reuse a built-in tool's name). */
export class GoClawConflictError extends DomainError {
  override code = 'GOCLAW_CONFLICT';
  override httpStatus = 409;
  constructor(message: string) {
    super(message);
    this.name = 'GoClawConflictError';
  }
}

/** The MCP server could not be reached, refused the handshake, or did not answer in time. */
export class GoClawMcpUnavailableError extends DomainError {
  override code = 'GOCLAW_MCP_UNAVAILABLE';
  override httpStatus = 502;
  constructor(message: string) {
    super(message);
    this.name = 'GoClawMcpUnavailableError';
  }
}

/** A custom tool's run failed: its body threw, timed out, or its arguments do not match its parameters. */
export class GoClawToolRunError extends DomainError {
  override code = 'GOCLAW_TOOL_RUN_FAILED';
  override httpStatus = 422;
  constructor(message: string) {
    super(message);
    this.name = 'GoClawToolRunError';
  }
}
