import { DomainError } from '../../../core/errors.ts';

/*
 * Managed storage's expected failures (docs/athena.md, "Managed storage (G12)"): each with the stable code of
 * Athena's error catalog and its REST status; GraphQL lists them as union members of the fields that produce them.
 * Failures of the S3 backend itself keep G11's AthenaError codes (s3_backend_error, s3_feature_unavailable, …).
 */

abstract class StorageError extends DomainError {
  constructor(
    override readonly code: string,
    override readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

/** No such file, folder, grant or upload in the caller's organization. */
export class StorageNotFoundError extends StorageError {
  constructor(message: string) {
    super('storage_not_found', 404, message);
    this.name = 'StorageNotFoundError';
  }
}

/** The caller lacks the permission the operation needs (checked before any S3 call). */
export class StorageForbiddenError extends StorageError {
  constructor(message: string) {
    super('storage_forbidden', 403, message);
    this.name = 'StorageForbiddenError';
  }
}

/** The file's state does not allow it (a live file at the key, restore without bytes, not public, …). */
export class StorageConflictError extends StorageError {
  constructor(message: string) {
    super('storage_conflict', 409, message);
    this.name = 'StorageConflictError';
  }
}

/** A malformed or inconsistent storage input. */
export class StorageInvalidInputError extends StorageError {
  constructor(message: string) {
    super('storage_invalid_request', 400, message);
    this.name = 'StorageInvalidInputError';
  }
}

/** No user or organization: managed storage needs an Athena session. */
export class StorageSessionRequiredError extends StorageError {
  constructor(message = 'Missing user or organization context') {
    super('storage_session_required', 401, message);
    this.name = 'StorageSessionRequiredError';
  }
}

/** The client's database cannot hold managed-storage metadata now (down, frozen, or its schema failed). */
export class StorageUnavailableError extends StorageError {
  constructor(clientName: string, reason: string) {
    super(
      'storage_unavailable',
      503,
      `Managed storage metadata unavailable for Athena client "${clientName}": ${reason}`,
    );
    this.name = 'StorageUnavailableError';
  }
}

/** The S3 backend lacks versioning or object lock (the contract's 501). */
export class StorageFeatureUnavailableError extends StorageError {
  constructor(message: string) {
    super('storage_feature_unavailable', 501, `Storage feature not available on this Athena runtime: ${message}`);
    this.name = 'StorageFeatureUnavailableError';
  }
}

/** The uploaded body is larger than the server accepts. */
export class StorageTooLargeError extends StorageError {
  constructor(max: number) {
    super('storage_payload_too_large', 413, `The upload is larger than ${max} bytes`);
    this.name = 'StorageTooLargeError';
  }
}
