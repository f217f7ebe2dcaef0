import { DomainError } from '../../core/errors.ts';

export class ApiKeyNotFoundError extends DomainError {
  override code = 'API_KEY_NOT_FOUND';
  override httpStatus = 404;
  constructor(id: string) {
    super(`API key "${id}" not found`);
    this.name = 'ApiKeyNotFoundError';
  }
}

export class InvalidApiKeyInputError extends DomainError {
  override code = 'INVALID_API_KEY_INPUT';
  override httpStatus = 400;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidApiKeyInputError';
  }
}
