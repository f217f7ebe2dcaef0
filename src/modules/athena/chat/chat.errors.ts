import { DomainError } from '../../../core/errors.ts';

/*
 * Chat's expected failures (docs/athena.md, "Chat (G3)"). Each has the stable code of Athena's error catalog and
 * its REST status; GraphQL lists them as union members of the fields that can produce them.
 */

abstract class ChatError extends DomainError {
  constructor(
    override readonly code: string,
    override readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

/** A room, message, member or reaction that does not exist (or lies outside the caller's organization). */
export class ChatNotFoundError extends ChatError {
  constructor(message: string) {
    super('chat_not_found', 404, message);
    this.name = 'ChatNotFoundError';
  }
}

/** The caller's session may not do this: not a member, not the sender, not an owner or admin of the room. */
export class ChatForbiddenError extends ChatError {
  constructor(message: string) {
    super('chat_forbidden', 403, message);
    this.name = 'ChatForbiddenError';
  }
}

/** The room is archived: its history stays readable, nothing new goes in. */
export class ChatRoomArchivedError extends ChatError {
  constructor(roomId: string) {
    super('chat_room_archived', 409, `Chat room "${roomId}" is archived`);
    this.name = 'ChatRoomArchivedError';
  }
}

/** A direct room between these two users already exists in the organization. */
export class DuplicateDirectRoomError extends ChatError {
  constructor(readonly roomId: string) {
    super(
      'chat_duplicate_direct_room',
      409,
      `Room creation conflicted with an existing durable room: a direct room between these users exists (${roomId})`,
    );
    this.name = 'DuplicateDirectRoomError';
  }
}

/** The same `client_message_id` was sent before with a different payload. */
export class ChatIdempotencyConflictError extends ChatError {
  constructor(clientMessageId: string) {
    super(
      'chat_idempotency_conflict',
      409,
      `Message idempotency conflict: client_message_id "${clientMessageId}" was sent with a different payload`,
    );
    this.name = 'ChatIdempotencyConflictError';
  }
}

/** The message is deleted: it cannot be edited or reacted to. */
export class ChatMessageDeletedError extends ChatError {
  constructor(messageId: string) {
    super('chat_message_deleted', 409, `Message update conflicted with durable state: "${messageId}" is deleted`);
    this.name = 'ChatMessageDeletedError';
  }
}

/** An attachment names no managed-storage file (G12) the sender may read in this client. */
export class ChatAttachmentNotFoundError extends ChatError {
  constructor(fileId: string) {
    super(
      'chat_attachment_not_found',
      404,
      `Room or attachment file not found: file "${fileId}" is not a readable uploaded file of this client's managed storage`,
    );
    this.name = 'ChatAttachmentNotFoundError';
  }
}

/** A malformed or inconsistent chat payload. */
export class ChatInvalidInputError extends ChatError {
  constructor(message: string) {
    super('chat_invalid_request', 400, message);
    this.name = 'ChatInvalidInputError';
  }
}

/** The client's database cannot serve chat (down, frozen, inactive, or its chat schema cannot be installed). */
export class ChatUnavailableError extends ChatError {
  constructor(clientName: string, reason: string) {
    super(
      'chat_unavailable',
      503,
      `Chat runtime unavailable for the selected Athena client "${clientName}": ${reason}`,
    );
    this.name = 'ChatUnavailableError';
  }
}

/** The caller's chat session is missing, invalid, or bound to another client. */
export class ChatSessionRequiredError extends ChatError {
  constructor(message = 'Missing or invalid chat session') {
    super('chat_session_required', 401, message);
    this.name = 'ChatSessionRequiredError';
  }
}

export const chatErrorClasses = [
  ChatNotFoundError,
  ChatForbiddenError,
  ChatRoomArchivedError,
  DuplicateDirectRoomError,
  ChatIdempotencyConflictError,
  ChatMessageDeletedError,
  ChatAttachmentNotFoundError,
  ChatInvalidInputError,
  ChatUnavailableError,
  ChatSessionRequiredError,
] as const;
