import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Principal } from '../../../core/auth/principal.ts';
import type { Logger } from '../../../core/logger.ts';
import type { AppPubSub } from '../../../core/pubsub.ts';
import { ClientUnavailableError } from '../athena.errors.ts';
import type { AthenaClientsService } from '../clients.service.ts';
import type { Queryable } from '../gateway/catalog-types.ts';
import type { ClientDatabase } from '../pools.ts';
import {
  ChatAttachmentNotFoundError,
  ChatForbiddenError,
  ChatIdempotencyConflictError,
  ChatInvalidInputError,
  ChatMessageDeletedError,
  ChatNotFoundError,
  ChatRoomArchivedError,
  ChatSessionRequiredError,
  ChatUnavailableError,
  DuplicateDirectRoomError,
} from './chat.errors.ts';
import { migrateChatSchema } from './schema-runner.ts';
import { type EventSource, EventStream } from './stream.ts';

/*
 * Chat (G3, docs/athena.md "Chat (G3)") on each client's own database, schema `athena_chat` (schema-runner.ts).
 * Every caller is an Athena session (a user in one organization, bound to one client). Messages are ordered only by
 * `room_seq`, allocated in the send transaction under the room's row lock, so sequences are gap-free per room.
 * Every durable change writes a `chat_outbox` row in its own transaction; after the commit the outbox is published
 * on the platform pub/sub (Redis across instances) and marked published; a sweep republishes what a crash left.
 */

export type ChatRoomKind = 'dm' | 'group' | 'channel';
export type ChatMemberRole = 'owner' | 'admin' | 'member';

export interface ChatRoomView {
  id: string;
  organizationId: string;
  kind: ChatRoomKind;
  title: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  archivedAt: Date | null;
  lastMessageId: string | null;
  lastMessageSeq: number;
  lastMessageAt: Date | null;
  version: number;
}

export interface ChatMemberView {
  roomId: string;
  userId: string;
  role: ChatMemberRole;
  joinedAt: Date;
  lastReadSeq: number;
  lastReadMessageId: string | null;
  muted: boolean;
  notificationMode: string | null;
  hiddenAt: Date | null;
}

export interface ChatReactionCountView {
  emoji: string;
  count: number;
  reacted: boolean;
}

export interface ChatAttachmentView {
  fileId: string;
  ordinal: number;
}

export interface ChatMessageView {
  id: string;
  roomId: string;
  roomSeq: number;
  senderId: string;
  clientMessageId: string | null;
  bodyText: string | null;
  bodyJson: Record<string, unknown> | null;
  replyToMessageId: string | null;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  metadataJson: Record<string, unknown> | null;
  attachments: ChatAttachmentView[];
  reactions: ChatReactionCountView[];
}

export interface ChatReadCursorView {
  roomId: string;
  userId: string;
  lastReadSeq: number;
  lastReadMessageId: string | null;
}

export interface ChatReactionSummaryView {
  messageId: string;
  roomId: string;
  reactions: ChatReactionCountView[];
}

export interface ChatMessagePageView {
  items: ChatMessageView[];
  nextBeforeSeq: number | null;
  /** The room's last sequence when the page was read (is there more after the page?). */
  lastSeq: number;
}

export interface ChatMembersChangeView {
  roomId: string;
  members: ChatMemberView[];
  addedUserIds: string[];
  removedUserIds: string[];
}

export interface ChatTypingView {
  roomId: string;
  userId: string;
  at: Date;
}

export type ChatEventType =
  | 'room.created'
  | 'room.updated'
  | 'room.archived'
  | 'message.created'
  | 'message.updated'
  | 'message.deleted'
  | 'reaction.added'
  | 'reaction.removed'
  | 'read_cursor.advanced'
  | 'members.updated';

/** What crosses the pub/sub for one outbox row (ids and plain JSON). */
export interface ChatEventPayload {
  client: string;
  roomId: string;
  outboxId: number;
  type: ChatEventType;
  roomSeq: number | null;
  data: Record<string, unknown>;
}

export interface ChatTypingPayload {
  client: string;
  roomId: string;
  userId: string;
  at: string;
}

declare module '../../../core/pubsub.ts' {
  interface TopicMap {
    /** A committed chat change of one room (channel `<client>:<room_id>`), from the room's outbox. */
    'athena.chatEvent': [channel: string, payload: ChatEventPayload];
    /** Ephemeral: a member is typing in a room (channel `<client>:<room_id>`); never stored. */
    'athena.chatTyping': [channel: string, payload: ChatTypingPayload];
  }
}

export const chatTopics = ['athena.chatEvent', 'athena.chatTyping'] as const;

interface Actor {
  client: string;
  userId: string;
  organizationId: string;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const userIdPattern = /^[A-Za-z0-9._:@-]{1,200}$/;
const maxBodyText = 16_000;
const maxJsonBytes = 32_000;
const maxMembersPerCall = 200;
const sweepMs = 2_000;

const ts = (a: string, c: string) => `to_json(${a}.${c}) #>> '{}' AS ${c}`;
const roomCols = (a = 'r') =>
  [
    `${a}.id`,
    `${a}.organization_id`,
    `${a}.kind`,
    `${a}.title`,
    `${a}.created_by`,
    ts(a, 'created_at'),
    ts(a, 'updated_at'),
    ts(a, 'archived_at'),
    `${a}.last_message_id`,
    `${a}.last_message_seq`,
    ts(a, 'last_message_at'),
    `${a}.version`,
  ].join(', ');
const memberCols = (a = 'm') =>
  [
    `${a}.room_id`,
    `${a}.user_id`,
    `${a}.role`,
    ts(a, 'joined_at'),
    `${a}.last_read_seq`,
    `${a}.last_read_message_id`,
    `${a}.muted`,
    `${a}.notification_mode`,
    ts(a, 'hidden_at'),
  ].join(', ');
const messageCols = (a = 'x') =>
  [
    `${a}.id`,
    `${a}.room_id`,
    `${a}.room_seq`,
    `${a}.sender_id`,
    `${a}.client_message_id`,
    `${a}.body_text`,
    `${a}.body_json`,
    `${a}.reply_to_message_id`,
    ts(a, 'created_at'),
    ts(a, 'edited_at'),
    ts(a, 'deleted_at'),
    `${a}.metadata_json`,
  ].join(', ');

type Row = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(String(v)));
const num = (v: unknown) => Number(v ?? 0);
const json = (v: unknown) =>
  v === null || v === undefined ? null : ((typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>);

function toRoom(r: Row): ChatRoomView {
  return {
    id: String(r.id),
    organizationId: String(r.organization_id),
    kind: r.kind as ChatRoomKind,
    title: (r.title as string | null) ?? null,
    createdBy: String(r.created_by),
    createdAt: date(r.created_at) as Date,
    updatedAt: date(r.updated_at) as Date,
    archivedAt: date(r.archived_at),
    lastMessageId: (r.last_message_id as string | null) ?? null,
    lastMessageSeq: num(r.last_message_seq),
    lastMessageAt: date(r.last_message_at),
    version: num(r.version),
  };
}

function toMember(r: Row): ChatMemberView {
  return {
    roomId: String(r.room_id),
    userId: String(r.user_id),
    role: r.role as ChatMemberRole,
    joinedAt: date(r.joined_at) as Date,
    lastReadSeq: num(r.last_read_seq),
    lastReadMessageId: (r.last_read_message_id as string | null) ?? null,
    muted: r.muted === true,
    notificationMode: (r.notification_mode as string | null) ?? null,
    hiddenAt: date(r.hidden_at),
  };
}

function toMessage(r: Row): ChatMessageView {
  const deletedAt = date(r.deleted_at);
  return {
    id: String(r.id),
    roomId: String(r.room_id),
    roomSeq: num(r.room_seq),
    senderId: String(r.sender_id),
    clientMessageId: (r.client_message_id as string | null) ?? null,
    // Redaction: a deleted message keeps its slot in the timeline, never its content.
    bodyText: deletedAt ? null : ((r.body_text as string | null) ?? null),
    bodyJson: deletedAt ? null : json(r.body_json),
    replyToMessageId: (r.reply_to_message_id as string | null) ?? null,
    createdAt: date(r.created_at) as Date,
    editedAt: date(r.edited_at),
    deletedAt,
    metadataJson: deletedAt ? null : json(r.metadata_json),
    attachments: [],
    reactions: [],
  };
}

export interface SendMessageInput {
  roomId: string;
  clientMessageId?: string | null;
  bodyText?: string | null;
  bodyJson?: Record<string, unknown> | null;
  replyToMessageId?: string | null;
  metadataJson?: Record<string, unknown> | null;
  attachments?: { fileId: string; ordinal: number }[] | null;
}

export interface EditMessageInput {
  roomId: string;
  messageId: string;
  bodyText?: string | null;
  bodyJson?: Record<string, unknown> | null;
  metadataJson?: Record<string, unknown> | null;
}

export type ChatStreamKind = 'posted' | 'edited' | 'deleted' | 'reactions' | 'readCursor' | 'members' | 'typing';

export class AthenaChatService {
  private readonly ready = new Map<string, Promise<void>>();
  /** Clients this process wrote chat to: the sweep republishes their unpublished outbox rows. */
  private readonly active = new Set<string>();
  /** Just-posted messages, read once per process for all of a room's subscribers (kept a couple of seconds). */
  private readonly fresh = new Map<string, Promise<SharedMessage | null>>();
  /** Local fan-out: one pub/sub subscription per (topic, room channel). */
  private readonly hubs = new Map<
    string,
    { listeners: Set<(e: ChatEventPayload | ChatTypingPayload) => void>; stop: () => void }
  >();
  private sweeper: NodeJS.Timeout | undefined;
  /** Outbox rows this process published (tests, metrics). */
  published = 0;
  /** Realtime streams open on this process (tests, metrics). */
  openStreams = 0;

  constructor(
    private readonly deps: {
      clients: AthenaClientsService;
      pubsub: AppPubSub;
      logger: Logger;
      /**
       * Managed storage (G12): which of these file ids the session may read (live, uploaded files of its
       * organization with a read grant, or public). Absent: no file can be attached.
       */
      readableFiles?: (principal: Principal, fileIds: string[]) => Promise<Set<string>>;
    },
  ) {}

  start(): void {
    this.sweeper = setInterval(() => {
      for (const client of this.active) void this.dispatch(client);
    }, sweepMs);
    this.sweeper.unref();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  // ---- rooms ----

  async listRooms(
    principal: Principal,
    input: { includeArchived?: boolean | null; limit?: number | null; offset?: number | null },
  ): Promise<ChatRoomView[]> {
    const actor = actorOf(principal);
    const limit = bounded(input.limit, 50, 1, 1000, 'limit');
    const offset = bounded(input.offset, 0, 0, 1_000_000, 'offset');
    const db = await this.db(actor);
    const r = await db.query<Row>(
      `SELECT ${roomCols()} FROM athena_chat.chat_rooms r
       JOIN athena_chat.chat_room_members m ON m.room_id = r.id AND m.user_id = $1
       WHERE r.organization_id = $2 AND ($3::boolean OR r.archived_at IS NULL)
       ORDER BY coalesce(r.last_message_at, r.created_at) DESC, r.id
       LIMIT $4 OFFSET $5`,
      [actor.userId, actor.organizationId, input.includeArchived === true, limit, offset],
    );
    return r.rows.map(toRoom);
  }

  async createRoom(
    principal: Principal,
    input: { kind: ChatRoomKind; title?: string | null; memberUserIds?: string[] | null },
  ): Promise<ChatRoomView> {
    const actor = actorOf(principal);
    if (!['dm', 'group', 'channel'].includes(input.kind))
      throw new ChatInvalidInputError('kind must be dm, group or channel');
    const title = optionalTitle(input.title);
    const others = [...new Set((input.memberUserIds ?? []).map((u) => checkUserId(u)))].filter(
      (u) => u !== actor.userId,
    );
    if (others.length > maxMembersPerCall) throw new ChatInvalidInputError(`at most ${maxMembersPerCall} members`);
    let dmKey: string | null = null;
    if (input.kind === 'dm') {
      if (others.length !== 1) {
        throw new ChatInvalidInputError('a dm has exactly two members: member_user_ids names the one other user');
      }
      dmKey = JSON.stringify([actor.userId, others[0]].sort());
    }
    const db = await this.db(actor);
    const id = randomUUID();
    try {
      const room = await db.transaction({}, async (q) => {
        const r = await q.query<Row>(
          `INSERT INTO athena_chat.chat_rooms AS r (id, organization_id, kind, title, created_by, dm_key)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${roomCols()}`,
          [id, actor.organizationId, input.kind, title, actor.userId, dmKey],
        );
        await q.query(
          `INSERT INTO athena_chat.chat_room_members (room_id, user_id, role)
           SELECT $1, u, CASE WHEN u = $2 THEN 'owner' ELSE 'member' END FROM unnest($3::text[]) AS u`,
          [id, actor.userId, [actor.userId, ...others]],
        );
        await outbox(q, id, 'room.created', null, { addedUserIds: [actor.userId, ...others] });
        return toRoom(r.rows[0] as Row);
      });
      await this.afterCommit(actor.client);
      return room;
    } catch (err) {
      if (dmKey && isUniqueViolation(err)) {
        const existing = await db.query<{ id: string }>(
          `SELECT id FROM athena_chat.chat_rooms WHERE organization_id = $1 AND kind = 'dm' AND dm_key = $2`,
          [actor.organizationId, dmKey],
        );
        throw new DuplicateDirectRoomError(existing.rows[0]?.id ?? 'unknown');
      }
      throw err;
    }
  }

  async getRoom(principal: Principal, roomId: string): Promise<ChatRoomView> {
    const actor = actorOf(principal);
    const db = await this.db(actor);
    const { room } = await this.access(db, actor, roomId);
    return room;
  }

  async updateRoom(principal: Principal, input: { roomId: string; title?: string | null }): Promise<ChatRoomView> {
    const actor = actorOf(principal);
    const title = optionalTitle(input.title);
    const db = await this.db(actor);
    const room = await db.transaction({}, async (q) => {
      const { room, role } = await this.access(q, actor, input.roomId, true);
      requireManager(role, 'update the room');
      if (room.archivedAt) throw new ChatRoomArchivedError(room.id);
      const r = await q.query<Row>(
        `UPDATE athena_chat.chat_rooms AS r SET title = $2, updated_at = now(), version = version + 1
         WHERE id = $1 RETURNING ${roomCols()}`,
        [room.id, title],
      );
      await outbox(q, room.id, 'room.updated', null, {});
      return toRoom(r.rows[0] as Row);
    });
    await this.afterCommit(actor.client);
    return room;
  }

  /** Archives a room (idempotent: archiving an archived room answers it unchanged). */
  async archiveRoom(principal: Principal, roomId: string): Promise<ChatRoomView> {
    const actor = actorOf(principal);
    const db = await this.db(actor);
    let changed = false;
    const room = await db.transaction({}, async (q) => {
      const { room, role } = await this.access(q, actor, roomId, true);
      requireManager(role, 'archive the room');
      if (room.archivedAt) return room;
      const r = await q.query<Row>(
        `UPDATE athena_chat.chat_rooms AS r SET archived_at = now(), updated_at = now(), version = version + 1
         WHERE id = $1 RETURNING ${roomCols()}`,
        [room.id],
      );
      await outbox(q, room.id, 'room.archived', null, {});
      changed = true;
      return toRoom(r.rows[0] as Row);
    });
    if (changed) await this.afterCommit(actor.client);
    return room;
  }

  // ---- messages ----

  async listMessages(
    principal: Principal,
    input: { roomId: string; limit?: number | null; beforeSeq?: number | null; afterSeq?: number | null },
  ): Promise<ChatMessagePageView> {
    const actor = actorOf(principal);
    const limit = bounded(input.limit, 50, 1, 200, 'limit');
    const before = input.beforeSeq ?? null;
    const after = input.afterSeq ?? null;
    if (before !== null && (!Number.isSafeInteger(before) || before < 0)) {
      throw new ChatInvalidInputError('before_seq must be a non-negative integer');
    }
    if (after !== null && (!Number.isSafeInteger(after) || after < 0)) {
      throw new ChatInvalidInputError('after_seq must be a non-negative integer');
    }
    const db = await this.db(actor);
    const { room } = await this.access(db, actor, input.roomId);
    let rows: Row[];
    if (after !== null) {
      const r = await db.query<Row>(
        `SELECT ${messageCols()} FROM athena_chat.chat_messages x
         WHERE x.room_id = $1 AND x.room_seq > $2 AND ($3::bigint IS NULL OR x.room_seq < $3)
         ORDER BY x.room_seq LIMIT $4`,
        [room.id, after, before, limit],
      );
      rows = r.rows;
    } else {
      const r = await db.query<Row>(
        `SELECT ${messageCols()} FROM athena_chat.chat_messages x
         WHERE x.room_id = $1 AND ($2::bigint IS NULL OR x.room_seq < $2)
         ORDER BY x.room_seq DESC LIMIT $3`,
        [room.id, before, limit],
      );
      rows = r.rows.reverse();
    }
    const items = await this.decorate(db, actor.userId, rows.map(toMessage));
    const lowest = items[0]?.roomSeq;
    // Sequences are gap-free from 1: older messages exist exactly when the lowest in the page is above 1.
    return { items, nextBeforeSeq: lowest !== undefined && lowest > 1 ? lowest : null, lastSeq: room.lastMessageSeq };
  }

  async getMessage(principal: Principal, messageId: string): Promise<ChatMessageView> {
    const actor = actorOf(principal);
    const db = await this.db(actor);
    const message = await this.messageFor(db, actor, messageId);
    return (await this.decorate(db, actor.userId, [message]))[0] as ChatMessageView;
  }

  /**
   * Sends a message: `room_seq` comes from `UPDATE chat_rooms … RETURNING` under the room's row lock, with the
   * outbox row in the same transaction. A retry with the same `client_message_id` and payload answers the original
   * (`created: false`); the same id with another payload is a conflict.
   */
  async sendMessage(
    principal: Principal,
    input: SendMessageInput,
  ): Promise<{ message: ChatMessageView; created: boolean }> {
    const actor = actorOf(principal);
    const clientMessageId = input.clientMessageId ?? null;
    if (clientMessageId !== null && (clientMessageId.length === 0 || clientMessageId.length > 200)) {
      throw new ChatInvalidInputError('client_message_id must be 1-200 characters');
    }
    const bodyText = input.bodyText ?? null;
    const bodyJson = checkJson(input.bodyJson, 'body_json');
    const metadataJson = checkJson(input.metadataJson, 'metadata_json');
    checkBody(bodyText, bodyJson);
    const replyTo = input.replyToMessageId ?? null;
    if (replyTo !== null && !uuidPattern.test(replyTo))
      throw new ChatInvalidInputError('reply_to_message_id must be a uuid');
    const attachments = input.attachments ?? [];
    if (attachments.length > 20) throw new ChatInvalidInputError('at most 20 attachments');
    if (new Set(attachments.map((a) => a.ordinal)).size !== attachments.length) {
      throw new ChatInvalidInputError('attachment ordinals must be distinct');
    }
    const db = await this.db(actor);
    if (attachments.length > 0) {
      // Checked before the send transaction (the storage tables are read on their own connection).
      const readable = this.deps.readableFiles
        ? await this.deps.readableFiles(
            principal,
            attachments.map((a) => String(a.fileId)),
          )
        : new Set<string>();
      const missing = attachments.find((a) => !readable.has(String(a.fileId)));
      if (missing) throw new ChatAttachmentNotFoundError(String(missing.fileId));
    }
    const id = randomUUID();
    const result = await db.transaction({}, async (q) => {
      // The room's row lock serialises senders (and identical retries) of this room.
      const { room } = await this.access(q, actor, input.roomId, true);
      if (room.archivedAt) throw new ChatRoomArchivedError(room.id);
      if (clientMessageId !== null) {
        const prior = await q.query<Row>(
          `SELECT ${messageCols()} FROM athena_chat.chat_messages x
           WHERE x.room_id = $1 AND x.sender_id = $2 AND x.client_message_id = $3`,
          [room.id, actor.userId, clientMessageId],
        );
        const existing = prior.rows[0];
        if (existing) {
          const same =
            (existing.body_text ?? null) === bodyText &&
            isDeepStrictEqual(json(existing.body_json), bodyJson) &&
            isDeepStrictEqual(json(existing.metadata_json), metadataJson) &&
            (existing.reply_to_message_id ?? null) === replyTo &&
            (input.attachments ?? []).length === 0;
          if (!same || existing.deleted_at) throw new ChatIdempotencyConflictError(clientMessageId);
          return { message: toMessage(existing), created: false };
        }
      }
      if (replyTo !== null) {
        const parent = await q.query('SELECT 1 FROM athena_chat.chat_messages WHERE id = $1 AND room_id = $2', [
          replyTo,
          room.id,
        ]);
        if (parent.rows.length === 0) {
          throw new ChatInvalidInputError('reply_to_message_id does not name a message of this room');
        }
      }
      const seq = await q.query<{ last_message_seq: number }>(
        `UPDATE athena_chat.chat_rooms SET last_message_seq = last_message_seq + 1, last_message_id = $2,
           last_message_at = now(), version = version + 1
         WHERE id = $1 RETURNING last_message_seq`,
        [room.id, id],
      );
      const roomSeq = num(seq.rows[0]?.last_message_seq);
      const r = await q.query<Row>(
        `INSERT INTO athena_chat.chat_messages AS x
           (id, room_id, room_seq, sender_id, client_message_id, body_text, body_json, reply_to_message_id, metadata_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb) RETURNING ${messageCols()}`,
        [
          id,
          room.id,
          roomSeq,
          actor.userId,
          clientMessageId,
          bodyText,
          bodyJson === null ? null : JSON.stringify(bodyJson),
          replyTo,
          metadataJson === null ? null : JSON.stringify(metadataJson),
        ],
      );
      for (const a of attachments) {
        await q.query(
          'INSERT INTO athena_chat.chat_message_attachments (message_id, file_id, ordinal) VALUES ($1, $2, $3)',
          [id, String(a.fileId), a.ordinal],
        );
      }
      // The sender has read what it sent.
      await q.query(
        `UPDATE athena_chat.chat_room_members SET last_read_seq = GREATEST(last_read_seq, $3), last_read_message_id = $4
         WHERE room_id = $1 AND user_id = $2 AND last_read_seq < $3`,
        [room.id, actor.userId, roomSeq, id],
      );
      await outbox(q, room.id, 'message.created', roomSeq, { messageId: id, senderId: actor.userId });
      return { message: toMessage(r.rows[0] as Row), created: true };
    });
    if (result.created) await this.afterCommit(actor.client);
    const [message] = await this.decorate(db, actor.userId, [result.message]);
    return { message: message as ChatMessageView, created: result.created };
  }

  /** Edits a message: the sender only, not deleted, not in an archived room; sets `edited_at`. */
  async editMessage(principal: Principal, input: EditMessageInput): Promise<ChatMessageView> {
    const actor = actorOf(principal);
    const bodyJson = checkJson(input.bodyJson, 'body_json');
    const metadataJson = checkJson(input.metadataJson, 'metadata_json');
    if (input.bodyText === undefined && input.bodyJson === undefined && input.metadataJson === undefined) {
      throw new ChatInvalidInputError('nothing to edit: give body_text, body_json or metadata_json');
    }
    if (input.bodyText !== undefined && input.bodyText !== null && input.bodyText.length > maxBodyText) {
      throw new ChatInvalidInputError(`body_text is at most ${maxBodyText} characters`);
    }
    const db = await this.db(actor);
    const message = await db.transaction({}, async (q) => {
      const { room } = await this.access(q, actor, input.roomId);
      const m = await lockMessage(q, room.id, input.messageId);
      if (m.senderId !== actor.userId) throw new ChatForbiddenError('Only the sender may edit a message');
      if (m.deletedAt) throw new ChatMessageDeletedError(m.id);
      if (room.archivedAt) throw new ChatRoomArchivedError(room.id);
      const bodyText = input.bodyText === undefined ? m.bodyText : input.bodyText;
      const nextJson = input.bodyJson === undefined ? m.bodyJson : bodyJson;
      checkBody(bodyText, nextJson);
      const r = await q.query<Row>(
        `UPDATE athena_chat.chat_messages AS x SET body_text = $2, body_json = $3::jsonb, metadata_json = $4::jsonb,
           edited_at = now()
         WHERE id = $1 RETURNING ${messageCols()}`,
        [
          m.id,
          bodyText,
          nextJson === null ? null : JSON.stringify(nextJson),
          (input.metadataJson === undefined ? m.metadataJson : metadataJson) === null
            ? null
            : JSON.stringify(input.metadataJson === undefined ? m.metadataJson : metadataJson),
        ],
      );
      await outbox(q, room.id, 'message.updated', m.roomSeq, { messageId: m.id });
      return toMessage(r.rows[0] as Row);
    });
    await this.afterCommit(actor.client);
    return (await this.decorate(db, actor.userId, [message]))[0] as ChatMessageView;
  }

  /**
   * Soft-deletes a message: the sender, or an owner/admin of the room (moderation). The slot stays in the
   * timeline; the content is erased at rest (body, JSON, metadata, reactions). Deleting again answers ok.
   */
  async deleteMessage(
    principal: Principal,
    input: { roomId: string; messageId: string },
  ): Promise<{ messageId: string }> {
    const actor = actorOf(principal);
    const db = await this.db(actor);
    let changed = false;
    await db.transaction({}, async (q) => {
      const { room, role } = await this.access(q, actor, input.roomId);
      const m = await lockMessage(q, room.id, input.messageId);
      if (m.senderId !== actor.userId && role === 'member') {
        throw new ChatForbiddenError('Only the sender or a room owner/admin may delete a message');
      }
      if (m.deletedAt) return;
      await q.query(
        `UPDATE athena_chat.chat_messages SET deleted_at = now(), body_text = NULL, body_json = NULL,
           metadata_json = NULL WHERE id = $1`,
        [m.id],
      );
      await q.query('DELETE FROM athena_chat.chat_message_reactions WHERE message_id = $1', [m.id]);
      await outbox(q, room.id, 'message.deleted', m.roomSeq, { messageId: m.id });
      changed = true;
    });
    if (changed) await this.afterCommit(actor.client);
    return { messageId: input.messageId };
  }

  /** Moves the caller's read cursor forward only, clamped to the room's last sequence. */
  async markRead(
    principal: Principal,
    input: { roomId: string; messageId?: string | null; seq?: number | null },
  ): Promise<ChatReadCursorView> {
    const actor = actorOf(principal);
    const messageId = input.messageId ?? null;
    const seq = input.seq ?? null;
    if (messageId === null && seq === null) throw new ChatInvalidInputError('give message_id or seq');
    if (seq !== null && (!Number.isSafeInteger(seq) || seq < 0)) throw new ChatInvalidInputError('seq must be >= 0');
    if (messageId !== null && !uuidPattern.test(messageId))
      throw new ChatInvalidInputError('message_id must be a uuid');
    const db = await this.db(actor);
    let moved = false;
    const cursor = await db.transaction({}, async (q) => {
      const { room } = await this.access(q, actor, input.roomId, true);
      let target = seq ?? 0;
      if (messageId !== null) {
        const m = await q.query<{ room_seq: number }>(
          'SELECT room_seq FROM athena_chat.chat_messages WHERE id = $1 AND room_id = $2',
          [messageId, room.id],
        );
        if (m.rows.length === 0) throw new ChatNotFoundError(`Message "${messageId}" not found in this room`);
        target = Math.max(target, num(m.rows[0]?.room_seq));
      }
      target = Math.min(target, room.lastMessageSeq);
      const r = await q.query<Row>(
        `UPDATE athena_chat.chat_room_members SET last_read_seq = $3,
           last_read_message_id = (SELECT id FROM athena_chat.chat_messages WHERE room_id = $1 AND room_seq = $3)
         WHERE room_id = $1 AND user_id = $2 AND last_read_seq < $3
         RETURNING room_id, user_id, last_read_seq, last_read_message_id`,
        [room.id, actor.userId, target],
      );
      let row = r.rows[0];
      if (row) {
        moved = true;
        await outbox(q, room.id, 'read_cursor.advanced', null, {
          userId: actor.userId,
          lastReadSeq: num(row.last_read_seq),
          lastReadMessageId: row.last_read_message_id ?? null,
        });
      } else {
        const cur = await q.query<Row>(
          `SELECT room_id, user_id, last_read_seq, last_read_message_id FROM athena_chat.chat_room_members
           WHERE room_id = $1 AND user_id = $2`,
          [room.id, actor.userId],
        );
        row = cur.rows[0] as Row;
      }
      return {
        roomId: String(row.room_id),
        userId: String(row.user_id),
        lastReadSeq: num(row.last_read_seq),
        lastReadMessageId: (row.last_read_message_id as string | null) ?? null,
      };
    });
    if (moved) await this.afterCommit(actor.client);
    return cursor;
  }

  // ---- members ----

  async listMembers(principal: Principal, roomId: string): Promise<ChatMemberView[]> {
    const actor = actorOf(principal);
    const db = await this.db(actor);
    const { room } = await this.access(db, actor, roomId);
    return members(db, room.id);
  }

  /** Adds members (owner/admin only; existing members keep their role); answers every member. */
  async addMembers(
    principal: Principal,
    input: { roomId: string; userIds: string[]; role?: string | null },
  ): Promise<ChatMemberView[]> {
    const actor = actorOf(principal);
    const role = input.role ?? 'member';
    if (role !== 'member' && role !== 'admin') throw new ChatInvalidInputError('role must be member or admin');
    const userIds = [...new Set(input.userIds.map((u) => checkUserId(u)))];
    if (userIds.length === 0) throw new ChatInvalidInputError('user_ids must name at least one user');
    if (userIds.length > maxMembersPerCall) throw new ChatInvalidInputError(`at most ${maxMembersPerCall} user_ids`);
    const db = await this.db(actor);
    let added: string[] = [];
    const list = await db.transaction({}, async (q) => {
      const { room, role: mine } = await this.access(q, actor, input.roomId, true);
      requireManager(mine, 'change room membership');
      if (room.archivedAt) throw new ChatRoomArchivedError(room.id);
      if (room.kind === 'dm') throw new ChatInvalidInputError('a dm has exactly two members: members cannot be added');
      const r = await q.query<{ user_id: string }>(
        `INSERT INTO athena_chat.chat_room_members (room_id, user_id, role)
         SELECT $1, u, $3 FROM unnest($2::text[]) AS u
         ON CONFLICT (room_id, user_id) DO NOTHING RETURNING user_id`,
        [room.id, userIds, role],
      );
      added = r.rows.map((x) => x.user_id);
      if (added.length > 0) {
        await q.query('UPDATE athena_chat.chat_rooms SET version = version + 1, updated_at = now() WHERE id = $1', [
          room.id,
        ]);
        await outbox(q, room.id, 'members.updated', null, { addedUserIds: added, removedUserIds: [] });
      }
      return members(q, room.id);
    });
    if (added.length > 0) await this.afterCommit(actor.client);
    return list;
  }

  /** Removes a member: owners/admins remove others (never the owner); anyone may leave. */
  async removeMember(principal: Principal, input: { roomId: string; userId: string }): Promise<{ userId: string }> {
    const actor = actorOf(principal);
    const db = await this.db(actor);
    await db.transaction({}, async (q) => {
      const { room, role } = await this.access(q, actor, input.roomId, true);
      const target = await q.query<{ role: ChatMemberRole }>(
        'SELECT role FROM athena_chat.chat_room_members WHERE room_id = $1 AND user_id = $2',
        [room.id, input.userId],
      );
      const targetRole = target.rows[0]?.role;
      if (!targetRole) throw new ChatNotFoundError(`Room member "${input.userId}" not found`);
      if (input.userId !== actor.userId) {
        requireManager(role, 'remove room members');
        if (targetRole === 'owner') throw new ChatForbiddenError('The room owner cannot be removed');
        if (targetRole === 'admin' && role !== 'owner') throw new ChatForbiddenError('Only the owner removes an admin');
      }
      await q.query('DELETE FROM athena_chat.chat_room_members WHERE room_id = $1 AND user_id = $2', [
        room.id,
        input.userId,
      ]);
      await q.query('UPDATE athena_chat.chat_rooms SET version = version + 1, updated_at = now() WHERE id = $1', [
        room.id,
      ]);
      await outbox(q, room.id, 'members.updated', null, { addedUserIds: [], removedUserIds: [input.userId] });
    });
    await this.afterCommit(actor.client);
    return { userId: input.userId };
  }

  // ---- reactions ----

  async addReaction(
    principal: Principal,
    input: { messageId: string; emoji: string },
  ): Promise<ChatReactionSummaryView> {
    return this.react(principal, input, true);
  }

  async removeReaction(
    principal: Principal,
    input: { messageId: string; emoji: string },
  ): Promise<ChatReactionSummaryView> {
    return this.react(principal, input, false);
  }

  private async react(principal: Principal, input: { messageId: string; emoji: string }, add: boolean) {
    const actor = actorOf(principal);
    const emoji = input.emoji.normalize('NFC');
    if (emoji.trim() === '' || [...emoji].length > 32) throw new ChatInvalidInputError('emoji must be 1-32 characters');
    const db = await this.db(actor);
    let changed = false;
    const roomId = await db.transaction({}, async (q) => {
      const m = await this.messageFor(q, actor, input.messageId);
      if (add) {
        if (m.deletedAt) throw new ChatMessageDeletedError(m.id);
        const r = await q.query(
          `INSERT INTO athena_chat.chat_message_reactions (message_id, user_id, emoji) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING 1`,
          [m.id, actor.userId, emoji],
        );
        changed = r.rows.length > 0;
      } else {
        const r = await q.query(
          'DELETE FROM athena_chat.chat_message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3 RETURNING 1',
          [m.id, actor.userId, emoji],
        );
        if (r.rows.length === 0)
          throw new ChatNotFoundError(`Reaction "${emoji}" of this user not found on the message`);
        changed = true;
      }
      if (changed) {
        await outbox(q, m.roomId, add ? 'reaction.added' : 'reaction.removed', m.roomSeq, {
          messageId: m.id,
          userId: actor.userId,
          emoji,
        });
      }
      return m.roomId;
    });
    if (changed) await this.afterCommit(actor.client);
    return {
      messageId: input.messageId,
      roomId,
      reactions: (await reactions(db, [input.messageId], actor.userId)).get(input.messageId) ?? [],
    };
  }

  // ---- search ----

  /** Full-text search (`plainto_tsquery`) over the non-deleted messages of rooms the caller is a member of. */
  async search(
    principal: Principal,
    input: { query: string; roomId?: string | null; limit?: number | null },
  ): Promise<ChatMessageView[]> {
    const actor = actorOf(principal);
    const text = input.query.trim();
    if (text === '' || text.length > 500) throw new ChatInvalidInputError('query must be 1-500 characters');
    const limit = bounded(input.limit, 20, 1, 100, 'limit');
    const roomId = input.roomId ?? null;
    const db = await this.db(actor);
    if (roomId !== null) await this.access(db, actor, roomId);
    const r = await db.query<Row>(
      `SELECT ${messageCols()} FROM athena_chat.chat_messages x
       JOIN athena_chat.chat_rooms r ON r.id = x.room_id AND r.organization_id = $2
       JOIN athena_chat.chat_room_members m ON m.room_id = x.room_id AND m.user_id = $3
       WHERE x.deleted_at IS NULL AND x.search @@ plainto_tsquery('simple', $1)
         AND ($4::uuid IS NULL OR x.room_id = $4)
       ORDER BY ts_rank(x.search, plainto_tsquery('simple', $1)) DESC, x.created_at DESC, x.id
       LIMIT $5`,
      [text, actor.organizationId, actor.userId, roomId, limit],
    );
    return this.decorate(db, actor.userId, r.rows.map(toMessage));
  }

  // ---- typing ----

  /** Ephemeral: tells the room's subscribers the caller is typing (members of non-archived rooms only). */
  async typing(principal: Principal, roomId: string): Promise<ChatTypingView> {
    const actor = actorOf(principal);
    const db = await this.db(actor);
    const { room } = await this.access(db, actor, roomId);
    if (room.archivedAt) throw new ChatRoomArchivedError(room.id);
    const at = new Date();
    this.deps.pubsub.publish('athena.chatTyping', channel(actor.client, room.id), {
      client: actor.client,
      roomId: room.id,
      userId: actor.userId,
      at: at.toISOString(),
    });
    return { roomId: room.id, userId: actor.userId, at };
  }

  // ---- realtime ----

  /**
   * A room's events of one kind for the caller, authorised now (a member) and again whenever membership changes
   * (a removed member's stream ends with ChatForbiddenError). `posted` with `afterSeq` first replays the stored
   * messages after it, then goes live; every message arrives once, in `room_seq` order, without gaps (a live event
   * beyond the next sequence makes it read the missing ones from the table; one at or below it is a duplicate).
   */
  async stream(
    principal: Principal,
    input: { roomId: string; kind: ChatStreamKind; afterSeq?: number | null },
  ): Promise<AsyncIterableIterator<unknown>> {
    const actor = actorOf(principal);
    const db = await this.db(actor);
    const { room } = await this.access(db, actor, input.roomId);
    const afterSeq = input.afterSeq ?? null;
    if (afterSeq !== null && (!Number.isSafeInteger(afterSeq) || afterSeq < 0)) {
      throw new ChatInvalidInputError('afterSeq must be a non-negative integer');
    }
    const ch = channel(actor.client, room.id);
    type Ev = { topic: 'event'; e: ChatEventPayload } | { topic: 'typing'; e: ChatTypingPayload };
    const sources: EventSource<Ev>[] = [
      (push) => this.listen('athena.chatEvent', ch, (e) => push({ topic: 'event', e: e as ChatEventPayload })),
    ];
    if (input.kind === 'typing') {
      sources.push((push) =>
        this.listen('athena.chatTyping', ch, (e) => push({ topic: 'typing', e: e as ChatTypingPayload })),
      );
    }
    let lastSeq = afterSeq ?? room.lastMessageSeq;
    const readAfter = async (upTo: number | null): Promise<ChatMessageView[]> => {
      const out: ChatMessageView[] = [];
      for (;;) {
        const r = await db.query<Row>(
          `SELECT ${messageCols()} FROM athena_chat.chat_messages x
           WHERE x.room_id = $1 AND x.room_seq > $2 AND ($3::bigint IS NULL OR x.room_seq <= $3)
           ORDER BY x.room_seq LIMIT 500`,
          [room.id, lastSeq, upTo],
        );
        if (r.rows.length === 0) return out;
        const page = await this.decorate(db, actor.userId, r.rows.map(toMessage));
        for (const m of page) {
          // Gap-free: stop at a hole (a sequence whose row is not visible yet) rather than skip it.
          if (m.roomSeq !== lastSeq + 1) return out;
          out.push(m);
          lastSeq = m.roomSeq;
        }
        if (r.rows.length < 500) return out;
      }
    };
    const handle = async (ev: Ev): Promise<unknown[]> => {
      if (ev.topic === 'typing') {
        if (ev.e.userId === actor.userId) return [];
        return [{ roomId: ev.e.roomId, userId: ev.e.userId, at: new Date(ev.e.at) } satisfies ChatTypingView];
      }
      const e = ev.e;
      if (e.type === 'members.updated') {
        const removed = (e.data.removedUserIds as string[] | undefined) ?? [];
        if (removed.includes(actor.userId)) {
          const still = await db.query(
            'SELECT 1 FROM athena_chat.chat_room_members WHERE room_id = $1 AND user_id = $2',
            [room.id, actor.userId],
          );
          if (still.rows.length === 0) throw new ChatForbiddenError('You were removed from this room');
        }
        if (input.kind !== 'members') return [];
        return [
          {
            roomId: room.id,
            members: await members(db, room.id),
            addedUserIds: (e.data.addedUserIds as string[] | undefined) ?? [],
            removedUserIds: removed,
          } satisfies ChatMembersChangeView,
        ];
      }
      switch (input.kind) {
        case 'posted': {
          if (e.type !== 'message.created' || e.roomSeq === null || e.roomSeq <= lastSeq) return [];
          if (e.roomSeq !== lastSeq + 1) return readAfter(e.roomSeq);
          // The next message: one read per process and message, shared by every subscriber of the room.
          const shared = await this.sharedMessage(db, actor.client, String(e.data.messageId));
          if (!shared || shared.message.roomSeq !== e.roomSeq) return readAfter(e.roomSeq);
          lastSeq = e.roomSeq;
          return [{ ...shared.message, reactions: countReactions(shared.reactions, actor.userId) }];
        }
        case 'edited':
        case 'deleted': {
          if (e.type !== (input.kind === 'edited' ? 'message.updated' : 'message.deleted')) return [];
          const r = await db.query<Row>(`SELECT ${messageCols()} FROM athena_chat.chat_messages x WHERE x.id = $1`, [
            e.data.messageId,
          ]);
          return r.rows[0] ? this.decorate(db, actor.userId, [toMessage(r.rows[0])]) : [];
        }
        case 'reactions': {
          if (e.type !== 'reaction.added' && e.type !== 'reaction.removed' && e.type !== 'message.deleted') return [];
          const messageId = String(e.data.messageId);
          const counts = (await reactions(db, [messageId], actor.userId)).get(messageId) ?? [];
          return [{ messageId, roomId: room.id, reactions: counts } satisfies ChatReactionSummaryView];
        }
        case 'readCursor':
          if (e.type !== 'read_cursor.advanced') return [];
          return [
            {
              roomId: room.id,
              userId: String(e.data.userId),
              lastReadSeq: num(e.data.lastReadSeq),
              lastReadMessageId: (e.data.lastReadMessageId as string | null) ?? null,
            } satisfies ChatReadCursorView,
          ];
        default:
          return [];
      }
    };
    const replay = input.kind === 'posted' && afterSeq !== null ? () => readAfter(null) : undefined;
    this.openStreams++;
    return new EventStream<Ev, unknown>(sources, handle, replay, () => {
      this.openStreams--;
    });
  }

  // ---- internals ----

  /** The client database with its chat schema installed (once per client and process). */
  private async db(actor: Actor): Promise<ClientDatabase> {
    let db: ClientDatabase;
    try {
      db = (await this.deps.clients.database(actor.client)).db;
    } catch (err) {
      if (err instanceof ClientUnavailableError) throw new ChatUnavailableError(actor.client, err.message);
      throw err;
    }
    let ready = this.ready.get(actor.client);
    if (!ready) {
      ready = migrateChatSchema(db).then((applied) => {
        if (applied.length > 0) this.deps.logger.info({ client: actor.client, applied }, 'athena chat schema migrated');
      });
      this.ready.set(actor.client, ready);
      ready.catch(() => this.ready.delete(actor.client));
    }
    try {
      await ready;
    } catch (err) {
      this.deps.logger.warn({ client: actor.client, err: (err as Error).message }, 'athena chat schema failed');
      throw new ChatUnavailableError(actor.client, 'its chat schema could not be installed');
    }
    return db;
  }

  /** The room (in the caller's organization, else not found) and the caller's role (not a member: forbidden). */
  private async access(q: Queryable, actor: Actor, roomId: string, lock = false) {
    if (!uuidPattern.test(roomId)) throw new ChatInvalidInputError('room_id must be a uuid');
    const r = await q.query<Row>(
      `SELECT ${roomCols()} FROM athena_chat.chat_rooms r WHERE r.id = $1 AND r.organization_id = $2${lock ? ' FOR UPDATE' : ''}`,
      [roomId, actor.organizationId],
    );
    const row = r.rows[0];
    if (!row) throw new ChatNotFoundError(`Room "${roomId}" not found`);
    const m = await q.query<{ role: ChatMemberRole }>(
      'SELECT role FROM athena_chat.chat_room_members WHERE room_id = $1 AND user_id = $2',
      [roomId, actor.userId],
    );
    const role = m.rows[0]?.role;
    if (!role) throw new ChatForbiddenError('Caller is not a member of the room');
    return { room: toRoom(row), role };
  }

  /** A message the caller may read (a member of its room, in its organization). */
  private async messageFor(q: Queryable, actor: Actor, messageId: string): Promise<ChatMessageView> {
    if (!uuidPattern.test(messageId)) throw new ChatInvalidInputError('message_id must be a uuid');
    const r = await q.query<Row>(`SELECT ${messageCols()} FROM athena_chat.chat_messages x WHERE x.id = $1`, [
      messageId,
    ]);
    const row = r.rows[0];
    if (!row) throw new ChatNotFoundError(`Message "${messageId}" not found`);
    const m = toMessage(row);
    try {
      await this.access(q, actor, m.roomId);
    } catch (err) {
      // A message of another organization's room does not exist for this caller.
      if (err instanceof ChatNotFoundError) throw new ChatNotFoundError(`Message "${messageId}" not found`);
      throw err;
    }
    return m;
  }

  /** Adds reactions (with the caller's `reacted`) and attachments. */
  private async decorate(q: Queryable, userId: string, messages: ChatMessageView[]): Promise<ChatMessageView[]> {
    if (messages.length === 0) return messages;
    const ids = messages.map((m) => m.id);
    const counts = await reactions(q, ids, userId);
    const a = await q.query<{ message_id: string; file_id: string; ordinal: number }>(
      'SELECT message_id, file_id, ordinal FROM athena_chat.chat_message_attachments WHERE message_id = ANY($1::uuid[]) ORDER BY ordinal',
      [ids],
    );
    return messages.map((m) => ({
      ...m,
      reactions: counts.get(m.id) ?? [],
      attachments: m.deletedAt
        ? []
        : a.rows.filter((x) => x.message_id === m.id).map((x) => ({ fileId: x.file_id, ordinal: num(x.ordinal) })),
    }));
  }

  /**
   * One pub/sub subscription per (topic, room) and process, fanned out to the room's local streams: a room with a
   * thousand subscribers costs one Redis channel subscription and one listener, not a thousand.
   */
  private listen(
    topic: 'athena.chatEvent' | 'athena.chatTyping',
    ch: string,
    fn: (e: ChatEventPayload | ChatTypingPayload) => void,
  ): () => void {
    const key = `${topic}\u0000${ch}`;
    let hub = this.hubs.get(key);
    if (!hub) {
      const iterator = this.deps.pubsub.subscribe(topic, ch)[Symbol.asyncIterator]() as AsyncIterator<
        ChatEventPayload | ChatTypingPayload
      >;
      const listeners = new Set<(e: ChatEventPayload | ChatTypingPayload) => void>();
      const created = { listeners, stop: () => void Promise.resolve(iterator.return?.()).catch(() => {}) };
      hub = created;
      this.hubs.set(key, created);
      void (async () => {
        for (;;) {
          const n = await iterator.next();
          if (n.done) return;
          for (const l of [...listeners]) l(n.value);
        }
      })().catch((err: Error) => {
        this.deps.logger.warn({ topic, channel: ch, err: err.message }, 'athena chat subscription failed');
        if (this.hubs.get(key) === created) this.hubs.delete(key);
      });
    }
    const h = hub;
    h.listeners.add(fn);
    return () => {
      h.listeners.delete(fn);
      if (h.listeners.size === 0 && this.hubs.get(key) === h) {
        this.hubs.delete(key);
        h.stop();
      }
    };
  }

  /** A message with its raw reactions, read once for every subscriber of this process (fan-out). */
  private sharedMessage(db: ClientDatabase, client: string, messageId: string): Promise<SharedMessage | null> {
    const key = `${client}:${messageId}`;
    let hit = this.fresh.get(key);
    if (!hit) {
      hit = (async () => {
        const r = await db.query<Row>(`SELECT ${messageCols()} FROM athena_chat.chat_messages x WHERE x.id = $1`, [
          messageId,
        ]);
        if (!r.rows[0]) return null;
        const message = (await this.decorate(db, '', [toMessage(r.rows[0])]))[0] as ChatMessageView;
        const rx = await db.query<{ emoji: string; user_id: string }>(
          `SELECT emoji, user_id FROM athena_chat.chat_message_reactions WHERE message_id = $1
           ORDER BY created_at, emoji`,
          [messageId],
        );
        return { message, reactions: rx.rows };
      })();
      this.fresh.set(key, hit);
      hit.catch(() => this.fresh.delete(key));
      setTimeout(() => this.fresh.delete(key), 2_000).unref();
    }
    return hit;
  }

  private async afterCommit(client: string): Promise<void> {
    this.active.add(client);
    await this.dispatch(client);
  }

  /**
   * Publishes the client's unpublished outbox rows in id order and marks them (SKIP LOCKED: concurrent dispatchers
   * share the work). At least once: a crash between publish and mark republishes, and subscribers dedupe messages
   * by `room_seq`.
   */
  async dispatch(client: string): Promise<number> {
    try {
      const { db } = await this.deps.clients.database(client);
      return await db.transaction({}, async (q) => {
        const r = await q.query<Row>(
          `SELECT id, room_id, event_type, room_seq, payload FROM athena_chat.chat_outbox
           WHERE published_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED`,
        );
        if (r.rows.length === 0) return 0;
        for (const row of r.rows) {
          const roomId = String(row.room_id);
          this.deps.pubsub.publish('athena.chatEvent', channel(client, roomId), {
            client,
            roomId,
            outboxId: num(row.id),
            type: row.event_type as ChatEventType,
            roomSeq: row.room_seq === null || row.room_seq === undefined ? null : num(row.room_seq),
            data: json(row.payload) ?? {},
          });
        }
        await q.query('UPDATE athena_chat.chat_outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [
          r.rows.map((x) => x.id),
        ]);
        // Published rows are kept a day (debugging), then pruned.
        await q.query(`DELETE FROM athena_chat.chat_outbox WHERE published_at < now() - interval '1 day'`);
        this.published += r.rows.length;
        return r.rows.length;
      });
    } catch (err) {
      this.deps.logger.warn({ client, err: (err as Error).message }, 'athena chat outbox dispatch failed');
      return 0;
    }
  }
}

const channel = (client: string, roomId: string) => `${client}:${roomId}`;

function actorOf(principal: Principal): Actor {
  if (principal.kind !== 'userSession' || principal.product !== 'athena') throw new ChatSessionRequiredError();
  return { client: principal.tenant, userId: principal.userId, organizationId: principal.organizationId };
}

function requireManager(role: ChatMemberRole, what: string) {
  if (role === 'member') throw new ChatForbiddenError(`Only a room owner or admin may ${what}`);
}

function bounded(v: number | null | undefined, fallback: number, min: number, max: number, name: string): number {
  if (v === null || v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new ChatInvalidInputError(`${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function optionalTitle(title: string | null | undefined): string | null {
  if (title === undefined || title === null) return null;
  if (title.length > 200) throw new ChatInvalidInputError('title is at most 200 characters');
  return title;
}

function checkUserId(u: unknown): string {
  if (typeof u !== 'string' || !userIdPattern.test(u)) {
    throw new ChatInvalidInputError('user ids are 1-200 of A-Z a-z 0-9 . _ : @ -');
  }
  return u;
}

function checkJson(v: Record<string, unknown> | null | undefined, name: string): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ChatInvalidInputError(`${name} must be a JSON object`);
  const text = JSON.stringify(v);
  if (text.length > maxJsonBytes) throw new ChatInvalidInputError(`${name} is at most ${maxJsonBytes} bytes`);
  if (text.includes('\\u0000')) throw new ChatInvalidInputError(`${name} must not contain U+0000`);
  return v;
}

function checkBody(bodyText: string | null, bodyJson: Record<string, unknown> | null) {
  if ((bodyText === null || bodyText.trim() === '') && bodyJson === null) {
    throw new ChatInvalidInputError('a message needs body_text or body_json');
  }
  if (bodyText !== null && bodyText.length > maxBodyText) {
    throw new ChatInvalidInputError(`body_text is at most ${maxBodyText} characters`);
  }
}

async function outbox(q: Queryable, roomId: string, type: ChatEventType, roomSeq: number | null, data: object) {
  await q.query(
    'INSERT INTO athena_chat.chat_outbox (room_id, event_type, room_seq, payload) VALUES ($1, $2, $3, $4::jsonb)',
    [roomId, type, roomSeq, JSON.stringify(data)],
  );
}

async function lockMessage(q: Queryable, roomId: string, messageId: string): Promise<ChatMessageView> {
  if (!uuidPattern.test(messageId)) throw new ChatInvalidInputError('message_id must be a uuid');
  const r = await q.query<Row>(
    `SELECT ${messageCols()} FROM athena_chat.chat_messages x WHERE x.id = $1 AND x.room_id = $2 FOR UPDATE`,
    [messageId, roomId],
  );
  const row = r.rows[0];
  if (!row) throw new ChatNotFoundError(`Message "${messageId}" not found`);
  return toMessage(row);
}

async function members(q: Queryable, roomId: string): Promise<ChatMemberView[]> {
  const r = await q.query<Row>(
    `SELECT ${memberCols()} FROM athena_chat.chat_room_members m WHERE m.room_id = $1
     ORDER BY m.joined_at, CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.user_id`,
    [roomId],
  );
  return r.rows.map(toMember);
}

async function reactions(q: Queryable, messageIds: string[], userId: string) {
  const r = await q.query<{ message_id: string; emoji: string; count: number; reacted: boolean }>(
    `SELECT message_id, emoji, count(*)::int AS count, bool_or(user_id = $2) AS reacted
     FROM athena_chat.chat_message_reactions WHERE message_id = ANY($1::uuid[])
     GROUP BY message_id, emoji ORDER BY min(created_at), emoji`,
    [messageIds, userId],
  );
  const out = new Map<string, ChatReactionCountView[]>();
  for (const row of r.rows) {
    const list = out.get(row.message_id) ?? [];
    list.push({ emoji: row.emoji, count: num(row.count), reacted: row.reacted === true });
    out.set(row.message_id, list);
  }
  return out;
}

interface SharedMessage {
  message: ChatMessageView;
  reactions: { emoji: string; user_id: string }[];
}

/** Reaction counts per emoji (first reaction's order) with `reacted` for `userId`. */
function countReactions(rows: { emoji: string; user_id: string }[], userId: string): ChatReactionCountView[] {
  const out = new Map<string, ChatReactionCountView>();
  for (const r of rows) {
    const c = out.get(r.emoji) ?? { emoji: r.emoji, count: 0, reacted: false };
    c.count++;
    if (r.user_id === userId) c.reacted = true;
    out.set(r.emoji, c);
  }
  return [...out.values()];
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
