import { DomainError } from '../../../core/errors.ts';

/*
 * The gateway's errors in PostgREST 12's shape: `{code, message, details, hint}` plus the HTTP status PostgREST
 * would answer. Compiler failures carry PostgREST's own codes (PGRST1xx request, PGRST2xx schema cache); database
 * failures keep their SQLSTATE and the database's own message/detail/hint, nothing else (no SQL text, no stack).
 */

/** PGRST201 lists the candidate relationships as objects, as PostgREST does; every other error has text or null. */
export interface RelationshipCandidate {
  cardinality: 'many-to-one' | 'one-to-many' | 'one-to-one' | 'many-to-many';
  embedding: string;
  relationship: string;
}

export type GatewayErrorDetails = string | RelationshipCandidate[] | null;

/** A gateway failure with PostgREST's error fields and the status it maps to. */
export class GatewayError extends DomainError {
  override code: string;
  override httpStatus: number;
  readonly details: GatewayErrorDetails;
  readonly hint: string | null;

  constructor(
    httpStatus: number,
    code: string,
    message: string,
    details: GatewayErrorDetails = null,
    hint: string | null = null,
  ) {
    super(message);
    this.name = 'GatewayError';
    this.httpStatus = httpStatus;
    this.code = code;
    this.details = details;
    this.hint = hint;
    // REST doors keep PostgREST's spelling of the code and add its fields to their error body.
    this.restCode = code;
    this.restFields = { details, hint };
  }

  /** The PostgREST response body. */
  toJSON(): { code: string; message: string; details: GatewayErrorDetails; hint: string | null } {
    return { code: this.code, message: this.message, details: this.details, hint: this.hint };
  }
}

/** A malformed request the compiler refuses (PostgREST's parse/request error class). */
export function requestError(message: string, details: string | null = null, hint: string | null = null): GatewayError {
  return new GatewayError(400, 'PGRST100', message, details, hint);
}

/**
 * PostgREST 12's SQLSTATE → HTTP status table (references/errors, "HTTP Status Codes"), exact codes before
 * class prefixes. 42501 depends on whether the request was anonymous, so it is decided by the caller's flag.
 */
const exactStatus: Record<string, number> = {
  '23503': 409,
  '23505': 409,
  '25006': 405,
  '53400': 500,
  P0001: 400,
  '42883': 404,
  '42P01': 404,
  '42P17': 500,
};
const classStatus: Record<string, number> = {
  '08': 503,
  '09': 500,
  '0L': 403,
  '0P': 403,
  '25': 500,
  '28': 403,
  '2D': 500,
  '38': 500,
  '39': 500,
  '3B': 500,
  '40': 500,
  '53': 503,
  '54': 500,
  '55': 500,
  '57': 500,
  '58': 500,
  F0: 500,
  HV: 500,
  P0: 500,
  XX: 500,
};

/** The HTTP status PostgREST answers for a SQLSTATE (`PTxyz` custom statuses included). */
export function statusForSqlState(sqlState: string, opts: { anonymous?: boolean } = {}): number {
  if (sqlState === '42501') return opts.anonymous ? 401 : 403;
  const exact = exactStatus[sqlState];
  if (exact !== undefined) return exact;
  // RAISE SQLSTATE 'PT404' sets the response status directly (PostgREST's custom status codes).
  const custom = /^PT([1-5]\d\d)$/.exec(sqlState);
  if (custom) return Number(custom[1]);
  return classStatus[sqlState.slice(0, 2)] ?? 400;
}

function textField(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/**
 * A pg or PGlite error (both carry `.code` SQLSTATE, `.message`, `.detail`, `.hint`) as a GatewayError with
 * PostgREST's status. Anything without a SQLSTATE is not a database error and is rethrown unchanged, so that
 * a programming error is not disguised as a client error. A GatewayError passes through.
 */
export function fromPostgresError(err: unknown, opts: { anonymous?: boolean } = {}): GatewayError {
  if (err instanceof GatewayError) return err;
  if (typeof err !== 'object' || err === null) throw err;
  const e = err as { code?: unknown; severity?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
  // A server error message always has a severity; socket errors (code 'EPIPE', …) do not.
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || typeof e.severity !== 'string') throw err;
  const message = textField(e.message) ?? 'database error';
  return new GatewayError(statusForSqlState(e.code, opts), e.code, message, textField(e.detail), textField(e.hint));
}

/**
 * PGRST116 (406): the caller asked for one object (`Accept: application/vnd.pgrst.object+json`, GraphQL single
 * lookups) and the statement's `page_total` is not 1.
 */
export function singularResultError(rows: number): GatewayError {
  return new GatewayError(
    406,
    'PGRST116',
    'JSON object requested, multiple (or no) rows returned',
    `The result contains ${rows} rows`,
  );
}

/** PGRST103 (416): an offset past the end of an exactly counted result (`Range: items=50-` of 10 rows). */
export function rangeNotSatisfiableError(offset: number, total: number): GatewayError {
  return new GatewayError(
    416,
    'PGRST103',
    'Requested range not satisfiable',
    `An offset of ${offset} was requested, but there are only ${total} rows.`,
  );
}
