import { DomainError } from '../../core/errors.ts';

export class ExecutionNotFoundError extends DomainError {
  override code = 'NOT_FOUND';
  override httpStatus = 404;
  constructor(id: string) {
    super(`Execution '${id}' not found`);
    this.name = 'ExecutionNotFoundError';
  }
}

/** Cancel of an execution that already reached a terminal status (it keeps that status). */
export class ExecutionNotRunningError extends DomainError {
  override code = 'NOT_RUNNING';
  override httpStatus = 400;
  constructor(
    id: string,
    readonly status: string,
  ) {
    super(`Execution '${id}' is not running (status: ${status})`);
    this.name = 'ExecutionNotRunningError';
  }
}

/** The script does not parse as JavaScript or TypeScript; nothing was run. */
export class ScriptSyntaxError extends DomainError {
  override code = 'SYNTAX_ERROR';
  override httpStatus = 400;
  constructor(message: string) {
    super(message);
    this.name = 'ScriptSyntaxError';
  }
}

/** The caller already has as many runs in flight as one tenant may; nothing was started. */
export class RuntimeBusyError extends DomainError {
  override code = 'TOO_MANY_RUNS';
  override httpStatus = 429;
  constructor(limit: number) {
    super(`Too many executions in flight (limit ${limit} per caller); wait for some to finish`);
    this.name = 'RuntimeBusyError';
  }
}
