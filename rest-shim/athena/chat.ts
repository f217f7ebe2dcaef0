import { ChatInvalidInputError } from '../../src/modules/athena/chat/chat.errors.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';
import {
  AthenaChatAddMembersDocument,
  AthenaChatAddReactionDocument,
  AthenaChatArchiveRoomDocument,
  AthenaChatCreateRoomDocument,
  AthenaChatDeleteMessageDocument,
  AthenaChatEditMessageDocument,
  AthenaChatGetRoomDocument,
  AthenaChatListMembersDocument,
  AthenaChatListMessagesDocument,
  AthenaChatListRoomsDocument,
  AthenaChatMarkReadDocument,
  type AthenaChatMemberFieldsFragment,
  type AthenaChatMessageFieldsFragment,
  AthenaChatRemoveMemberDocument,
  AthenaChatRemoveReactionDocument,
  type AthenaChatRoomFieldsFragment,
  AthenaChatSearchDocument,
  AthenaChatSendMessageDocument,
  AthenaChatUpdateRoomDocument,
  type ChatMemberRole,
  type ChatRoomKind,
} from '../generated/graphql.ts';
import { athenaErrorBody, iso, statusOfCode } from './answer.ts';
import { graphql, group } from './policy.ts';

/*
 * G3 — chat (docs/athena.md, "Chat (G3)"). Every route needs an Athena session bound to `X-Athena-Client` (the
 * door's `chat` policy). Reads and updates answer the contract's bare objects (`ChatRoom`, `ChatMessagePage`, a
 * `ChatMember` array, …); the two creates answer the `{status, message, data}` envelope.
 */

const chat = { chat: true } as const;

type Body = Record<string, unknown>;
const bodyOf = (req: RestRequest): Body =>
  req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Body) : {};

/** A union result: a chat (or Athena) error to the error envelope with its catalog status, else `map`. */
function answer<T extends { __typename: string }>(
  r: T | null | undefined,
  map: (data: Extract<T, { data: unknown }>['data']) => RestResponse,
): RestResponse {
  if (!r) throw new Error('Athena chat: GraphQL result without data');
  if ('data' in r) return map((r as Extract<T, { data: unknown }>).data);
  const e = r as unknown as { code: string; message: string };
  const status = statusOfCode(e.code);
  return { status, body: athenaErrorBody(status, e.message, e.code) };
}

/** An int64 query or body value the service takes as a GraphQL Int (larger values are refused, not overflowed). */
function int(v: unknown, name: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 2_147_483_647) {
    throw new ChatInvalidInputError(`${name} must be an integer from 0 to 2147483647`);
  }
  return v;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const obj = (v: unknown): Body | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : null;

export const roomBody = (r: AthenaChatRoomFieldsFragment) => ({
  id: r.uuid,
  organization_id: r.organizationId,
  kind: r.kind,
  title: r.title ?? null,
  created_by: r.createdBy,
  created_at: iso(r.createdAt),
  updated_at: iso(r.updatedAt),
  archived_at: iso(r.archivedAt),
  last_message_id: r.lastMessageId ?? null,
  last_message_seq: r.lastMessageSeq,
  last_message_at: iso(r.lastMessageAt),
  version: r.version,
});

export const messageBody = (m: AthenaChatMessageFieldsFragment) => ({
  id: m.uuid,
  room_id: m.roomId,
  room_seq: m.roomSeq,
  sender_id: m.senderId,
  client_message_id: m.clientMessageId ?? null,
  body_text: m.bodyText ?? null,
  body_json: m.bodyJson ?? null,
  reply_to_message_id: m.replyToMessageId ?? null,
  created_at: iso(m.createdAt),
  edited_at: iso(m.editedAt),
  deleted_at: iso(m.deletedAt),
  metadata_json: m.metadataJson ?? null,
  attachments: m.attachments.map((a) => ({
    file_id: a.fileId,
    ordinal: a.ordinal,
    authorized_url_path: a.authorizedUrlPath,
    proxy_url_path: a.proxyUrlPath,
    public_url_path: a.publicUrlPath,
  })),
  reactions: m.reactions.map((x) => ({ emoji: x.emoji, count: x.count, reacted: x.reacted })),
});

const memberBody = (m: AthenaChatMemberFieldsFragment) => ({
  room_id: m.roomId,
  user_id: m.userId,
  role: m.role,
  joined_at: iso(m.joinedAt),
  last_read_seq: m.lastReadSeq,
  last_read_message_id: m.lastReadMessageId ?? null,
  muted: m.muted,
  notification_mode: m.notificationMode ?? null,
  hidden_at: iso(m.hiddenAt),
});

const roomId = (req: RestRequest) => req.params.room_id ?? '';
const messageId = (req: RestRequest) => req.params.message_id ?? '';

const get_chat_rooms = graphql({
  policy: chat,
  document: AthenaChatListRoomsDocument,
  variables: (req) => {
    const limit = int(req.coerced.query.limit, 'limit') ?? 50;
    const offset = int(req.coerced.query.offset, 'offset') ?? 0;
    if (limit < 1 || limit > 200) throw new ChatInvalidInputError('limit must be from 1 to 200');
    return {
      first: limit,
      // Offset cursors of the connection (Pothos: base64 of `OffsetConnection:<n>`, the last offset before the page).
      after: offset > 0 ? Buffer.from(`OffsetConnection:${offset - 1}`).toString('base64') : null,
      includeArchived: req.coerced.query.include_archived === true,
    };
  },
  respond: ({ chatRooms: r }) =>
    answer(r, (c) => ({ status: 200, body: { items: c.edges.map((e) => roomBody(e.node)) } })),
});

const post_chat_rooms = graphql({
  policy: chat,
  document: AthenaChatCreateRoomDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      kind: b.kind as ChatRoomKind,
      title: str(b.title),
      memberUserIds: Array.isArray(b.member_user_ids) ? (b.member_user_ids as string[]) : null,
    };
  },
  respond: ({ createChatRoom: r }) =>
    answer(r, (room) => ({
      status: 201,
      body: { status: 'success', message: 'Chat room created', data: roomBody(room) },
    })),
});

const get_chat_rooms_by_room_id = graphql({
  policy: chat,
  document: AthenaChatGetRoomDocument,
  variables: (req) => ({ roomId: roomId(req) }),
  respond: ({ chatRoom: r }) => answer(r, (room) => ({ status: 200, body: roomBody(room) })),
});

const patch_chat_rooms_by_room_id = graphql({
  policy: chat,
  document: AthenaChatUpdateRoomDocument,
  variables: (req) => ({ roomId: roomId(req), title: str(bodyOf(req).title) }),
  respond: ({ updateChatRoom: r }) => answer(r, (room) => ({ status: 200, body: roomBody(room) })),
});

const post_chat_rooms_by_room_id_archive = graphql({
  policy: chat,
  document: AthenaChatArchiveRoomDocument,
  variables: (req) => ({ roomId: roomId(req) }),
  respond: ({ archiveChatRoom: r }) => answer(r, (room) => ({ status: 200, body: roomBody(room) })),
});

const get_chat_rooms_by_room_id_messages = graphql({
  policy: chat,
  document: AthenaChatListMessagesDocument,
  variables: (req) => ({
    roomId: roomId(req),
    first: int(req.coerced.query.limit, 'limit'),
    beforeSeq: int(req.coerced.query.before_seq, 'before_seq'),
    afterSeq: int(req.coerced.query.after_seq, 'after_seq'),
  }),
  respond: ({ chatMessages: r }) =>
    answer(r, (page) => ({
      status: 200,
      body: { items: page.edges.map((e) => messageBody(e.node)), next_before_seq: page.nextBeforeSeq ?? null },
    })),
});

const post_chat_rooms_by_room_id_messages = graphql({
  policy: chat,
  document: AthenaChatSendMessageDocument,
  variables: (req) => {
    const b = bodyOf(req);
    const attachments = Array.isArray(b.attachments) ? (b.attachments as { file_id: string; ordinal: number }[]) : [];
    return {
      roomId: roomId(req),
      clientMessageId: str(b.client_message_id),
      bodyText: str(b.body_text),
      bodyJson: obj(b.body_json),
      replyToMessageId: str(b.reply_to_message_id),
      metadataJson: obj(b.metadata_json),
      attachmentFileIds: [...attachments].sort((x, y) => x.ordinal - y.ordinal).map((a) => a.file_id),
    };
  },
  // An identical retry answers the original message with 201, like the first send.
  respond: ({ sendChatMessage: r }) =>
    answer(r, (sent) => ({
      status: 201,
      body: {
        status: 'success',
        message: sent.created ? 'Chat message sent' : 'Chat message already sent (idempotent retry)',
        data: messageBody(sent.message),
      },
    })),
});

const patch_chat_rooms_by_room_id_messages_by_message_id = graphql({
  policy: chat,
  document: AthenaChatEditMessageDocument,
  variables: (req) => {
    const b = bodyOf(req);
    // Omitted fields stay as they are; an explicit null clears.
    return {
      roomId: roomId(req),
      messageId: messageId(req),
      ...('body_text' in b ? { bodyText: str(b.body_text) } : {}),
      ...('body_json' in b ? { bodyJson: obj(b.body_json) } : {}),
      ...('metadata_json' in b ? { metadataJson: obj(b.metadata_json) } : {}),
    };
  },
  respond: ({ editChatMessage: r }) => answer(r, (m) => ({ status: 200, body: messageBody(m) })),
});

const delete_chat_rooms_by_room_id_messages_by_message_id = graphql({
  policy: chat,
  document: AthenaChatDeleteMessageDocument,
  variables: (req) => ({ roomId: roomId(req), messageId: messageId(req) }),
  respond: ({ deleteChatMessage: r }) => answer(r, (ok) => ({ status: 200, body: { ok: true, message_id: ok.id } })),
});

const post_chat_rooms_by_room_id_read_cursor = graphql({
  policy: chat,
  document: AthenaChatMarkReadDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return { roomId: roomId(req), messageId: str(b.message_id), seq: int(b.seq, 'seq') };
  },
  respond: ({ markChatRoomRead: r }) =>
    answer(r, (c) => ({
      status: 200,
      body: {
        room_id: c.roomId,
        user_id: c.userId,
        last_read_seq: c.lastReadSeq,
        last_read_message_id: c.lastReadMessageId ?? null,
      },
    })),
});

const get_chat_rooms_by_room_id_members = graphql({
  policy: chat,
  document: AthenaChatListMembersDocument,
  variables: (req) => ({ roomId: roomId(req) }),
  respond: ({ chatRoomMembers: r }) =>
    answer(r, (c) => ({ status: 200, body: c.edges.map((e) => memberBody(e.node)) })),
});

const post_chat_rooms_by_room_id_members = graphql({
  policy: chat,
  document: AthenaChatAddMembersDocument,
  variables: (req) => {
    const b = bodyOf(req);
    const role = b.role ?? null;
    if (role !== null && role !== 'member' && role !== 'admin') {
      throw new ChatInvalidInputError('role must be member or admin');
    }
    return { roomId: roomId(req), userIds: b.user_ids as string[], role: role as ChatMemberRole | null };
  },
  respond: ({ addChatRoomMembers: r }) => answer(r, (list) => ({ status: 200, body: list.map(memberBody) })),
});

const delete_chat_rooms_by_room_id_members_by_user_id = graphql({
  policy: chat,
  document: AthenaChatRemoveMemberDocument,
  variables: (req) => ({ roomId: roomId(req), userId: req.params.user_id ?? '' }),
  respond: ({ removeChatRoomMember: r }) => answer(r, (ok) => ({ status: 200, body: { ok: true, user_id: ok.id } })),
});

const summary = (s: { messageId: string; reactions: { emoji: string; count: number; reacted: boolean }[] }) => ({
  status: 200,
  body: {
    message_id: s.messageId,
    reactions: s.reactions.map((x) => ({ emoji: x.emoji, count: x.count, reacted: x.reacted })),
  },
});

const post_chat_messages_by_message_id_reactions = graphql({
  policy: chat,
  document: AthenaChatAddReactionDocument,
  variables: (req) => ({ messageId: messageId(req), emoji: String(bodyOf(req).emoji ?? '') }),
  respond: ({ addChatReaction: r }) => answer(r, summary),
});

const delete_chat_messages_by_message_id_reactions_by_emoji = graphql({
  policy: chat,
  document: AthenaChatRemoveReactionDocument,
  // The path parameter arrives percent-decoded (Unicode emoji).
  variables: (req) => ({ messageId: messageId(req), emoji: req.params.emoji ?? '' }),
  respond: ({ removeChatReaction: r }) => answer(r, summary),
});

const post_chat_messages_search = graphql({
  policy: chat,
  document: AthenaChatSearchDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return { query: String(b.query ?? ''), roomId: str(b.room_id), limit: int(b.limit, 'limit') };
  },
  respond: ({ searchChatMessages: r }) =>
    answer(r, (c) => ({
      status: 200,
      body: { items: c.edges.map((e) => ({ room_id: e.node.roomId, message: messageBody(e.node) })) },
    })),
});

export const athenaChatOperations = group('chat', 'test/athena/chat.test.ts', {
  get_chat_rooms,
  post_chat_rooms,
  get_chat_rooms_by_room_id,
  patch_chat_rooms_by_room_id,
  post_chat_rooms_by_room_id_archive,
  get_chat_rooms_by_room_id_messages,
  post_chat_rooms_by_room_id_messages,
  patch_chat_rooms_by_room_id_messages_by_message_id,
  delete_chat_rooms_by_room_id_messages_by_message_id,
  post_chat_rooms_by_room_id_read_cursor,
  get_chat_rooms_by_room_id_members,
  post_chat_rooms_by_room_id_members,
  delete_chat_rooms_by_room_id_members_by_user_id,
  post_chat_messages_by_message_id_reactions,
  delete_chat_messages_by_message_id_reactions_by_emoji,
  post_chat_messages_search,
});
