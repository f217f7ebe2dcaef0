import { DomainError } from '../../core/errors.ts';

/** Malformed input: CA ids, label names, paths, messages, `prefer`, limits. 400 `{"error": ...}` over REST. */
export class FsInvalidInputError extends DomainError {
  override code = 'FS_INVALID_INPUT';
  override httpStatus = 400;
  constructor(message: string) {
    super(message);
    this.name = 'FsInvalidInputError';
  }
}

/** A well-formed CA id whose root tree node is not in the store. 400 (the contract's fs errors are 400s). */
export class FsUnknownSnapshotError extends DomainError {
  override code = 'FS_UNKNOWN_SNAPSHOT';
  override httpStatus = 400;
  constructor(readonly caId: string) {
    super(`unknown snapshot: ${caId}`);
    this.name = 'FsUnknownSnapshotError';
  }
}

/** A label the tenant does not have. 404 `{"error": "unknown label: <name>"}` on resolve. */
export class FsLabelNotFoundError extends DomainError {
  override code = 'FS_LABEL_NOT_FOUND';
  override httpStatus = 404;
  constructor(readonly label: string) {
    super(`unknown label: ${label}`);
    this.name = 'FsLabelNotFoundError';
  }
}

/** Reset to a CA id the label's reflog never held, without `allow_unlogged`. */
export class FsNotInReflogError extends DomainError {
  override code = 'FS_NOT_IN_REFLOG';
  override httpStatus = 400;
  constructor(caId: string, label: string) {
    super(`CA id ${caId} is not in the reflog for label '${label}'; pass allow_unlogged to reset anyway`);
    this.name = 'FsNotInReflogError';
  }
}

/** A tree or file beyond the documented limits (docs/snapshots.md). */
export class FsLimitExceededError extends DomainError {
  override code = 'FS_LIMIT_EXCEEDED';
  override httpStatus = 400;
  constructor(message: string) {
    super(message);
    this.name = 'FsLimitExceededError';
  }
}

/** Stored object whose bytes do not hash to its key, or a node that does not parse: a damaged store, not input. */
export class FsCorruptObjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FsCorruptObjectError';
  }
}
