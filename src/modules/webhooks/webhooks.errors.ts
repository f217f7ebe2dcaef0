import { DomainError } from '../../core/errors.ts';

/**
 * Expected failures of the webhook engine. `code` is upper-case (INVALID_URL, URL_NOT_ALLOWED, INVALID_EVENT_TYPE,
 * ENDPOINT_LIMIT_REACHED, ENDPOINT_REVOKED, NOT_FOUND, INVALID_PARAMETER); products map them onto their own error
 * shape (Polykomos: `PolykomosError` with the same code and status).
 */
export class WebhookError extends DomainError {
  constructor(
    override readonly code: string,
    override readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

export const endpointNotFound = (id: number | string) =>
  new WebhookError('NOT_FOUND', 404, `Webhook endpoint ${id} not found`);
export const invalidParameter = (message: string) => new WebhookError('INVALID_PARAMETER', 400, message);
export const unprocessable = (code: string, message: string) => new WebhookError(code, 422, message);
