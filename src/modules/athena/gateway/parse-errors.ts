import { DomainError } from '../../../core/errors.ts';

/*
 * The one error every gateway request parser throws. PostgREST doors (`/rest/v1`) answer it in PostgREST's shape
 * (`{code, message, details, hint}` with `PGRST1xx` codes); the structured Athena routes answer it in Athena's
 * envelope with an Athena code string (`invalid_structured_select_request`, `invalid_request`). The parser picks
 * the code; the door picks the body.
 */

/** Fields of a parse failure, as PostgREST names them. */
export interface GatewayParseErrorFields {
  /** 400 unless stated (416 for an unsatisfiable Range). */
  httpStatus?: number;
  /** `PGRST100`, `PGRST103`, `PGRST108`, `PGRST122`, or an Athena code string. */
  code: string;
  message: string;
  details?: string | null;
  hint?: string | null;
}

/** A request the gateway cannot parse: always a 4xx, never a crash. */
export class GatewayParseError extends DomainError {
  override code: string;
  override httpStatus: number;
  readonly details: string | null;
  readonly hint: string | null;

  constructor(fields: GatewayParseErrorFields) {
    super(fields.message);
    this.name = 'GatewayParseError';
    this.code = fields.code;
    this.httpStatus = fields.httpStatus ?? 400;
    this.details = fields.details ?? null;
    this.hint = fields.hint ?? null;
    // REST doors keep the code as spelled (PGRST100) and add PostgREST's fields to their error body.
    this.restCode = this.code;
    this.restFields = { details: this.details, hint: this.hint };
  }

  /** The same failure under another code (a structured route reusing the PostgREST grammar). */
  withCode(code: string): GatewayParseError {
    return new GatewayParseError({
      httpStatus: this.httpStatus,
      code,
      message: this.message,
      details: this.details,
      hint: this.hint,
    });
  }
}
