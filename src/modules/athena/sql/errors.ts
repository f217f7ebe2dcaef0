import { DomainError } from '../../../core/errors.ts';

/*
 * Typed failures of the SQL checks. Each is a DomainError with an HTTP status, so a route answers 4xx (or 503 for
 * D1) in its product's error shape instead of crashing on hostile SQL.
 */

/** Postgres's parser refused the text: its own message plus where (1-based, like Postgres' error position). */
export class SqlSyntaxError extends DomainError {
  override code = 'SQL_SYNTAX_ERROR';
  override httpStatus = 400;
  constructor(
    /** The parser's message, e.g. `syntax error at or near "SELEC"`. */
    readonly pgMessage: string,
    /** 1-based character position in the checked text (Postgres' `position`), when the parser gave one. */
    readonly position: number | undefined,
    readonly line: number | undefined,
    readonly column: number | undefined,
  ) {
    super(position === undefined ? pgMessage : `${pgMessage} at line ${line}, column ${column}`);
    this.name = 'SqlSyntaxError';
  }
}

/** Why a statement or fragment was refused by a check (valid SQL, not allowed here). */
export type SqlRejectionCode =
  | 'SQL_EMPTY'
  | 'SQL_MULTIPLE_STATEMENTS'
  | 'SQL_STATEMENT_REFUSED'
  | 'SQL_NOT_READ_ONLY'
  | 'INVALID_COUNT_QUERY'
  | 'INVALID_DEFAULT_EXPRESSION'
  | 'INVALID_VIEW_DEFINITION'
  | 'INVALID_FUNCTION_DDL'
  | 'INVALID_DATA_TYPE'
  | 'INVALID_IDENTIFIER'
  | 'INVALID_D1_MIGRATION_REQUEST';

/** A refused statement or fragment (400); `code` says which check refused it. */
export class SqlRejectedError extends DomainError {
  override httpStatus = 400;
  constructor(
    override code: SqlRejectionCode,
    message: string,
  ) {
    super(message);
    this.name = 'SqlRejectedError';
  }
}

/** Cloudflare D1 (or the stand-in) failed or answered with an error envelope: the route answers 503. */
export class D1RequestError extends DomainError {
  override code = 'D1_REQUEST_FAILED';
  override httpStatus = 503;
  constructor(
    message: string,
    /** Cloudflare's `errors[]` when the API answered with an envelope. */
    readonly apiErrors: { code: number; message: string }[] = [],
    /** The HTTP status D1 answered with, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'D1RequestError';
  }
}
