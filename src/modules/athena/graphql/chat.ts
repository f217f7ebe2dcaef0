import { resolveArrayConnection, resolveOffsetConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import type { AthenaSession } from '../../../../prisma/generated/client/client.ts';
import { builder } from '../../../core/builder.ts';
import type { Context } from '../../../core/context.ts';
import { DomainError } from '../../../core/errors.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import { AthenaError } from '../athena.errors.ts';
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
} from '../chat/chat.errors.ts';
import type {
  ChatAttachmentView,
  ChatMembersChangeView,
  ChatMemberView,
  ChatMessageView,
  ChatReactionCountView,
  ChatReactionSummaryView,
  ChatReadCursorView,
  ChatRoomView,
  ChatStreamKind,
  ChatTypingView,
} from '../chat/chat.service.ts';

/*
 * Chat (G3) in GraphQL (docs/athena.md, "Chat (G3)"). The caller is an Athena session (`Authorization: Bearer
 * aths_…`, on HTTP or as graphql-ws connection params): it names the client, the user and the organization, so no
 * field takes them. Rooms, messages and members are Nodes; lists are connections; every REST operation has its
 * mutation; realtime is seven subscriptions, each authorised per room on subscribe and whenever membership changes.
 */

const described = (cls: new (...args: any[]) => DomainError, name: string, description: string) =>
  builder.objectType(cls, { name, description, interfaces: [ErrorInterface] });

described(ChatNotFoundError, 'ChatNotFoundError', 'No such room, message, member or reaction for this session.');
described(ChatForbiddenError, 'ChatForbiddenError', 'Not a member of the room, not the sender, or not an owner/admin.');
described(ChatRoomArchivedError, 'ChatRoomArchivedError', 'The room is archived: readable, but nothing new goes in.');
described(
  DuplicateDirectRoomError,
  'DuplicateDirectRoomError',
  'A direct room between these two users already exists in the organization.',
);
described(
  ChatIdempotencyConflictError,
  'ChatIdempotencyConflictError',
  'The clientMessageId was sent before with a different payload.',
);
described(ChatMessageDeletedError, 'ChatMessageDeletedError', 'The message is deleted; it cannot change any more.');
described(
  ChatAttachmentNotFoundError,
  'ChatAttachmentNotFoundError',
  'An attachment names no uploaded managed-storage file (G12) of this client that the sender may read.',
);
described(ChatInvalidInputError, 'ChatInvalidInputError', 'A malformed or inconsistent chat input.');
described(
  ChatUnavailableError,
  'ChatUnavailableError',
  'The client database cannot serve chat now (down, frozen, inactive, or its chat schema failed).',
);
described(
  ChatSessionRequiredError,
  'ChatSessionRequiredError',
  'The caller is not an Athena session (chat needs one: createAthenaChatSession).',
);

type ErrorClass = abstract new (...args: never[]) => DomainError;
const chatErrors = (...types: ErrorClass[]) => ({
  types: [...types, ChatInvalidInputError, ChatUnavailableError, ChatSessionRequiredError, AthenaError] as never[],
  union: { description: 'The result, or one of the expected failures of this field.' },
  result: { description: 'The field succeeded.' },
  dataField: { description: 'The result.' },
});
const readErrors = chatErrors(ChatNotFoundError, ChatForbiddenError);
const writeErrors = chatErrors(ChatNotFoundError, ChatForbiddenError, ChatRoomArchivedError);

const ChatRoomKindEnum = builder.enumType('ChatRoomKind', {
  description: 'What a chat room is.',
  values: {
    dm: { description: 'A direct room of exactly two users, unique per pair and organization.' },
    group: { description: 'A private group of members.' },
    channel: { description: 'A named channel.' },
  } as const,
});

const ChatMemberRoleEnum = builder.enumType('ChatMemberRole', {
  description: 'A member’s role in a room.',
  values: {
    owner: { description: 'The creator: manages the room and its admins.' },
    admin: { description: 'Manages the room’s title, archive and members.' },
    member: { description: 'Reads and posts.' },
  } as const,
});

const isRoom = (v: unknown): v is ChatRoomView =>
  typeof v === 'object' && v !== null && 'organizationId' in v && 'lastMessageSeq' in v;
const isMessage = (v: unknown): v is ChatMessageView =>
  typeof v === 'object' && v !== null && 'roomSeq' in v && 'senderId' in v;
const isMember = (v: unknown): v is ChatMemberView =>
  typeof v === 'object' && v !== null && 'joinedAt' in v && 'role' in v;

export const ChatRoomRef = builder.node(builder.objectRef<ChatRoomView>('ChatRoom'), {
  id: { resolve: (r) => r.id },
  description: 'A chat room of a client database, visible to its members inside its organization.',
  isTypeOf: isRoom,
  loadOne: (id, ctx) => ctx.services.athena.chat.getRoom(ctx.principal, id).catch(() => null),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The room id as a plain UUID (REST’s `id`).' }),
    organizationId: t.exposeString('organizationId', { description: 'The organization it belongs to.' }),
    kind: t.field({ type: ChatRoomKindEnum, description: 'What the room is.', resolve: (r) => r.kind }),
    title: t.exposeString('title', { nullable: true, description: 'Its title, if any.' }),
    createdBy: t.exposeString('createdBy', { description: 'The user who created it (its owner).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    archivedAt: t.expose('archivedAt', { type: 'DateTime', nullable: true, description: 'When it was archived.' }),
    lastMessageId: t.exposeString('lastMessageId', { nullable: true, description: 'Its latest message.' }),
    lastMessageSeq: t.exposeInt('lastMessageSeq', { description: 'The latest room_seq (0: no message yet).' }),
    lastMessageAt: t.expose('lastMessageAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the latest message was sent.',
    }),
    version: t.exposeInt('version', { description: 'Bumped by every change of the room row (optimistic checks).' }),
  }),
});

const ChatAttachmentRef = builder.objectRef<ChatAttachmentView>('ChatAttachment').implement({
  description: 'A managed-storage file attached to a message.',
  fields: (t) => ({
    fileId: t.exposeString('fileId', { description: 'The managed-storage file id.' }),
    ordinal: t.exposeInt('ordinal', { description: 'Its position among the message’s attachments.' }),
    authorizedUrlPath: t.string({
      description: 'The Athena route answering a presigned URL for the file.',
      resolve: (a) => `/storage/files/${a.fileId}/url`,
    }),
    proxyUrlPath: t.string({
      description: 'The Athena route streaming the file through Athena.',
      resolve: (a) => `/storage/files/${a.fileId}/proxy`,
    }),
    publicUrlPath: t.string({
      description: 'The Athena route resolving the public URL of a public file.',
      resolve: (a) => `/storage/files/${a.fileId}/public-url`,
    }),
  }),
});

const ChatReactionCountRef = builder.objectRef<ChatReactionCountView>('ChatReactionCount').implement({
  description: 'One emoji on a message: how many reacted, and whether the caller did.',
  fields: (t) => ({
    emoji: t.exposeString('emoji', { description: 'The emoji.' }),
    count: t.exposeInt('count', { description: 'How many users reacted with it.' }),
    reacted: t.exposeBoolean('reacted', { description: 'Whether the caller is one of them.' }),
  }),
});

export const ChatMessageRef = builder.node(builder.objectRef<ChatMessageView>('ChatMessage'), {
  id: { resolve: (m) => m.id },
  description:
    'A message of a room, ordered by roomSeq only. A deleted message keeps its slot; its content is redacted.',
  isTypeOf: isMessage,
  loadOne: (id, ctx) => ctx.services.athena.chat.getMessage(ctx.principal, id).catch(() => null),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The message id as a plain UUID (REST’s `id`).' }),
    roomId: t.exposeString('roomId', { description: 'The room it was posted in.' }),
    roomSeq: t.exposeInt('roomSeq', { description: 'Its gap-free position in the room (1, 2, 3, …).' }),
    senderId: t.exposeString('senderId', { description: 'The user who sent it.' }),
    clientMessageId: t.exposeString('clientMessageId', {
      nullable: true,
      description: 'The sender’s idempotency id, if it gave one.',
    }),
    bodyText: t.exposeString('bodyText', { nullable: true, description: 'The text (null once deleted).' }),
    bodyJson: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Structured content (null once deleted).',
      resolve: (m) => m.bodyJson,
    }),
    replyToMessageId: t.exposeString('replyToMessageId', { nullable: true, description: 'The message it answers.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was sent.' }),
    editedAt: t.expose('editedAt', { type: 'DateTime', nullable: true, description: 'When it was last edited.' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'When it was deleted.' }),
    metadataJson: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Free-form metadata (null once deleted).',
      resolve: (m) => m.metadataJson,
    }),
    attachments: t.field({
      type: [ChatAttachmentRef],
      description: 'Its attachments, by ordinal.',
      resolve: (m) => m.attachments,
    }),
    reactions: t.field({
      type: [ChatReactionCountRef],
      description: 'Its reactions, with the caller’s `reacted`.',
      resolve: (m) => m.reactions,
    }),
  }),
});

export const ChatMemberRef = builder.node(builder.objectRef<ChatMemberView>('ChatMember'), {
  id: { resolve: (m) => `${m.roomId}:${m.userId}` },
  description: 'A member of a room, with their role and read cursor.',
  isTypeOf: isMember,
  loadOne: async (id, ctx) => {
    const [roomId, ...rest] = String(id).split(':');
    const userId = rest.join(':');
    const list = await ctx.services.athena.chat.listMembers(ctx.principal, roomId ?? '').catch(() => []);
    return list.find((m) => m.userId === userId) ?? null;
  },
  fields: (t) => ({
    roomId: t.exposeString('roomId', { description: 'The room.' }),
    userId: t.exposeString('userId', { description: 'The user.' }),
    role: t.field({ type: ChatMemberRoleEnum, description: 'Their role.', resolve: (m) => m.role }),
    joinedAt: t.expose('joinedAt', { type: 'DateTime', description: 'When they joined.' }),
    lastReadSeq: t.exposeInt('lastReadSeq', { description: 'Their read cursor (only ever moves forward).' }),
    lastReadMessageId: t.exposeString('lastReadMessageId', {
      nullable: true,
      description: 'The message at their read cursor.',
    }),
    muted: t.exposeBoolean('muted', { description: 'Whether they muted the room.' }),
    notificationMode: t.exposeString('notificationMode', { nullable: true, description: 'Their notification mode.' }),
    hiddenAt: t.expose('hiddenAt', { type: 'DateTime', nullable: true, description: 'When they hid the room.' }),
  }),
});

const ChatReactionSummaryRef = builder.objectRef<ChatReactionSummaryView>('ChatReactionSummary').implement({
  description: 'The reactions of one message, with the caller’s `reacted`.',
  fields: (t) => ({
    messageId: t.exposeString('messageId', { description: 'The message.' }),
    roomId: t.exposeString('roomId', { description: 'Its room.' }),
    reactions: t.field({ type: [ChatReactionCountRef], description: 'Per emoji.', resolve: (s) => s.reactions }),
  }),
});

const ChatReadCursorRef = builder.objectRef<ChatReadCursorView>('ChatReadCursor').implement({
  description: 'A member’s read cursor in a room.',
  fields: (t) => ({
    roomId: t.exposeString('roomId', { description: 'The room.' }),
    userId: t.exposeString('userId', { description: 'The member.' }),
    lastReadSeq: t.exposeInt('lastReadSeq', { description: 'The highest roomSeq they have read.' }),
    lastReadMessageId: t.exposeString('lastReadMessageId', {
      nullable: true,
      description: 'The message at that seq.',
    }),
  }),
});

const ChatMembersChangeRef = builder.objectRef<ChatMembersChangeView>('ChatMembersChange').implement({
  description: 'The membership of a room changed: who joined or left, and the members now.',
  fields: (t) => ({
    roomId: t.exposeString('roomId', { description: 'The room.' }),
    members: t.field({ type: [ChatMemberRef], description: 'Every member now.', resolve: (c) => c.members }),
    addedUserIds: t.exposeStringList('addedUserIds', { description: 'Users who joined.' }),
    removedUserIds: t.exposeStringList('removedUserIds', { description: 'Users who left or were removed.' }),
  }),
});

const ChatTypingRef = builder.objectRef<ChatTypingView>('ChatTyping').implement({
  description: 'Ephemeral: a member is typing in a room (never stored).',
  fields: (t) => ({
    roomId: t.exposeString('roomId', { description: 'The room.' }),
    userId: t.exposeString('userId', { description: 'Who is typing.' }),
    at: t.expose('at', { type: 'DateTime', description: 'When they said so.' }),
  }),
});

const SentChatMessageRef = builder
  .objectRef<{ message: ChatMessageView; created: boolean }>('SentChatMessage')
  .implement({
    description: 'A sent message; `created` is false for an identical retry (same clientMessageId and payload).',
    fields: (t) => ({
      message: t.field({ type: ChatMessageRef, description: 'The message.', resolve: (s) => s.message }),
      created: t.exposeBoolean('created', { description: 'Whether this call created it.' }),
    }),
  });

const ChatOkRef = builder.objectRef<{ id: string }>('ChatOk').implement({
  description: 'The change was made (or had been made already).',
  fields: (t) => ({ id: t.exposeString('id', { description: 'What it applied to (message id, user id).' }) }),
});

export const AthenaChatSessionRef = builder.node(builder.objectRef<AthenaSession>('AthenaChatSession'), {
  id: { resolve: (s) => s.id },
  description: 'An Athena session: a user acting in one organization on one client. Its token is never shown again.',
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'tokenHash' in v,
  loadOne: (id, ctx) => ctx.services.athena.sessions.get(ctx.principal, String(id)).catch(() => null),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The session id as a plain UUID.' }),
    clientName: t.exposeString('clientName', { description: 'The client it acts on.' }),
    userId: t.exposeString('userId', { description: 'The user.' }),
    organizationId: t.exposeString('organizationId', { description: 'The active organization.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was issued.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops being valid.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked.' }),
  }),
});

const CreatedAthenaChatSessionRef = builder
  .objectRef<{ session: AthenaSession; token: string }>('CreatedAthenaChatSession')
  .implement({
    description: 'A new session and its token (shown once: only its hash is kept).',
    fields: (t) => ({
      session: t.field({ type: AthenaChatSessionRef, description: 'The session.', resolve: (c) => c.session }),
      token: t.exposeString('token', { description: 'The bearer token `aths_…`, for chat calls.' }),
    }),
  });

const connectionOptions = { description: 'A page of results.' };
const edgeOptions = { description: 'One result and its cursor.' };

// ---- queries ----

builder.queryField('chatRooms', (t) =>
  t.connection(
    {
      type: ChatRoomRef,
      description: 'Rooms the session’s user is a member of in its organization, latest activity first.',
      errors: chatErrors(),
      args: {
        includeArchived: t.arg.boolean({ required: false, description: 'Include archived rooms (default false).' }),
      },
      resolve: (_r, args, ctx) =>
        resolveOffsetConnection({ args, defaultSize: 50, maxSize: 200 }, ({ limit, offset }) =>
          ctx.services.athena.chat.listRooms(ctx.principal, { includeArchived: args.includeArchived, limit, offset }),
        ),
    },
    connectionOptions,
    edgeOptions,
  ),
);

builder.queryField('chatRoom', (t) =>
  t.field({
    type: ChatRoomRef,
    description: 'One room the session’s user is a member of.',
    errors: readErrors,
    args: { roomId: t.arg.string({ required: true, description: 'The room id (uuid).' }) },
    resolve: (_r, { roomId }, ctx) => ctx.services.athena.chat.getRoom(ctx.principal, roomId),
  }),
);

interface MessagePage {
  edges: { cursor: string; node: ChatMessageView }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  nextBeforeSeq: number | null;
}

builder.queryField('chatMessages', (t) =>
  t.connection(
    {
      type: ChatMessageRef,
      description:
        'A room’s timeline page in roomSeq order: the newest `first` (default 50, at most 200) before `beforeSeq`, ' +
        'or the oldest after `afterSeq`. Cursors are roomSeq values.',
      errors: readErrors,
      args: {
        roomId: t.arg.string({ required: true, description: 'The room id (uuid).' }),
        beforeSeq: t.arg.int({ required: false, description: 'Only messages with a lower roomSeq (exclusive).' }),
        afterSeq: t.arg.int({ required: false, description: 'Only messages with a higher roomSeq (exclusive).' }),
      },
      resolve: async (_r, args, ctx): Promise<MessagePage> => {
        if (args.last != null || args.before != null || args.after != null) {
          throw new ChatInvalidInputError('page with first, beforeSeq and afterSeq');
        }
        const page = await ctx.services.athena.chat.listMessages(ctx.principal, {
          roomId: args.roomId,
          limit: args.first,
          beforeSeq: args.beforeSeq,
          afterSeq: args.afterSeq,
        });
        const edges = page.items.map((node) => ({ cursor: String(node.roomSeq), node }));
        const last = page.items.at(-1);
        return {
          edges,
          pageInfo: {
            hasPreviousPage: page.nextBeforeSeq !== null,
            hasNextPage: last !== undefined && last.roomSeq < page.lastSeq,
            startCursor: edges[0]?.cursor ?? null,
            endCursor: edges.at(-1)?.cursor ?? null,
          },
          nextBeforeSeq: page.nextBeforeSeq,
        };
      },
    },
    {
      description: 'A timeline page.',
      fields: (c) => ({
        nextBeforeSeq: c.int({
          nullable: true,
          description: 'The lowest roomSeq of the page when older messages exist (pass it as beforeSeq), else null.',
          resolve: (p) => (p as unknown as MessagePage).nextBeforeSeq,
        }),
      }),
    },
    edgeOptions,
  ),
);

builder.queryField('chatRoomMembers', (t) =>
  t.connection(
    {
      type: ChatMemberRef,
      description: 'The members of a room, by join time.',
      errors: readErrors,
      args: { roomId: t.arg.string({ required: true, description: 'The room id (uuid).' }) },
      resolve: async (_r, args, ctx) =>
        resolveArrayConnection(
          { args, defaultSize: 100, maxSize: 1000 },
          await ctx.services.athena.chat.listMembers(ctx.principal, args.roomId),
        ),
    },
    connectionOptions,
    edgeOptions,
  ),
);

builder.queryField('searchChatMessages', (t) =>
  t.connection(
    {
      type: ChatMessageRef,
      description:
        'Full-text search (plainto_tsquery) over the non-deleted messages of rooms the session’s user belongs to, ' +
        'best match first.',
      errors: readErrors,
      args: {
        query: t.arg.string({ required: true, description: 'Words to find.' }),
        roomId: t.arg.string({ required: false, description: 'Only this room.' }),
        limit: t.arg.int({ required: false, description: 'At most this many hits (default 20, at most 100).' }),
      },
      resolve: async (_r, args, ctx) =>
        resolveArrayConnection(
          { args, defaultSize: 100, maxSize: 100 },
          await ctx.services.athena.chat.search(ctx.principal, {
            query: args.query,
            roomId: args.roomId,
            limit: args.limit,
          }),
        ),
    },
    connectionOptions,
    edgeOptions,
  ),
);

// ---- mutations ----

const JsonArg = (t: any, description: string) => t.arg({ type: 'JSON', required: false, description });

builder.mutationField('createAthenaChatSession', (t) =>
  t.field({
    type: CreatedAthenaChatSessionRef,
    description:
      'Issues an Athena session for a user in an organization on a client (the contract has no session route). ' +
      'The admin, or a key bound to the client holding chat.sessions.issue; the token is shown once.',
    authScopes: { authenticated: true },
    errors: chatErrors(),
    args: {
      clientName: t.arg.string({ required: true, description: 'The client (X-Athena-Client).' }),
      userId: t.arg.string({ required: true, description: 'The user the session speaks for.' }),
      organizationId: t.arg.string({ required: true, description: 'The user’s active organization.' }),
      ttlSeconds: t.arg.int({ required: false, description: 'Lifetime, 60 s to 30 days (default 24 h).' }),
    },
    resolve: (_r, a, ctx) => ctx.services.athena.sessions.create(ctx.principal, a),
  }),
);

builder.mutationField('revokeAthenaChatSession', (t) =>
  t.field({
    type: AthenaChatSessionRef,
    description: 'Revokes a session: its next call is refused and its open subscriptions end. Idempotent.',
    authScopes: { authenticated: true },
    errors: chatErrors(ChatNotFoundError),
    args: { id: t.arg.string({ required: true, description: 'The session uuid.' }) },
    resolve: (_r, { id }, ctx) => ctx.services.athena.sessions.revoke(ctx.principal, id),
  }),
);

builder.mutationField('createChatRoom', (t) =>
  t.field({
    type: ChatRoomRef,
    description: 'Creates a room; the caller becomes its owner, memberUserIds its members. A dm is unique per pair.',
    errors: chatErrors(DuplicateDirectRoomError),
    args: {
      kind: t.arg({ type: ChatRoomKindEnum, required: true, description: 'dm, group or channel.' }),
      title: t.arg.string({ required: false, description: 'Its title.' }),
      memberUserIds: t.arg.stringList({ required: false, description: 'The other members (a dm: exactly one).' }),
    },
    resolve: (_r, a, ctx) => ctx.services.athena.chat.createRoom(ctx.principal, a),
  }),
);

builder.mutationField('updateChatRoom', (t) =>
  t.field({
    type: ChatRoomRef,
    description: 'Changes a room’s title (owner or admin); bumps its version.',
    errors: writeErrors,
    args: {
      roomId: t.arg.string({ required: true, description: 'The room id.' }),
      title: t.arg.string({ required: false, description: 'The new title (null clears it).' }),
    },
    resolve: (_r, a, ctx) => ctx.services.athena.chat.updateRoom(ctx.principal, a),
  }),
);

builder.mutationField('archiveChatRoom', (t) =>
  t.field({
    type: ChatRoomRef,
    description: 'Archives a room (owner or admin), keeping its history. Idempotent.',
    errors: readErrors,
    args: { roomId: t.arg.string({ required: true, description: 'The room id.' }) },
    resolve: (_r, a, ctx) => ctx.services.athena.chat.archiveRoom(ctx.principal, a.roomId),
  }),
);

builder.mutationField('sendChatMessage', (t) =>
  t.field({
    type: SentChatMessageRef,
    description:
      'Posts a message; its roomSeq is allocated in the same transaction. An identical retry with the same ' +
      'clientMessageId answers the original (created false); another payload is ChatIdempotencyConflictError.',
    errors: chatErrors(
      ChatNotFoundError,
      ChatForbiddenError,
      ChatRoomArchivedError,
      ChatIdempotencyConflictError,
      ChatAttachmentNotFoundError,
    ),
    args: {
      roomId: t.arg.string({ required: true, description: 'The room id.' }),
      clientMessageId: t.arg.string({ required: false, description: 'The sender’s idempotency id.' }),
      bodyText: t.arg.string({ required: false, description: 'The text.' }),
      bodyJson: JsonArg(t, 'Structured content (a JSON object).'),
      replyToMessageId: t.arg.string({ required: false, description: 'The message it answers (same room).' }),
      metadataJson: JsonArg(t, 'Free-form metadata (a JSON object).'),
      attachmentFileIds: t.arg.stringList({
        required: false,
        description: 'Managed-storage file ids to attach, in order.',
      }),
    },
    resolve: (_r, a, ctx) =>
      ctx.services.athena.chat.sendMessage(ctx.principal, {
        roomId: a.roomId,
        clientMessageId: a.clientMessageId,
        bodyText: a.bodyText,
        bodyJson: a.bodyJson as Record<string, unknown> | null,
        replyToMessageId: a.replyToMessageId,
        metadataJson: a.metadataJson as Record<string, unknown> | null,
        attachments: (a.attachmentFileIds ?? []).map((fileId, ordinal) => ({ fileId, ordinal })),
      }),
  }),
);

builder.mutationField('editChatMessage', (t) =>
  t.field({
    type: ChatMessageRef,
    description: 'Edits a message: the sender only, while not deleted; sets editedAt. Omitted fields stay.',
    errors: chatErrors(ChatNotFoundError, ChatForbiddenError, ChatRoomArchivedError, ChatMessageDeletedError),
    args: {
      roomId: t.arg.string({ required: true, description: 'The room id.' }),
      messageId: t.arg.string({ required: true, description: 'The message id.' }),
      bodyText: t.arg.string({ required: false, description: 'The new text.' }),
      bodyJson: JsonArg(t, 'The new structured content.'),
      metadataJson: JsonArg(t, 'The new metadata.'),
    },
    resolve: (_r, a, ctx) =>
      ctx.services.athena.chat.editMessage(ctx.principal, {
        roomId: a.roomId,
        messageId: a.messageId,
        ...(a.bodyText !== undefined ? { bodyText: a.bodyText } : {}),
        ...(a.bodyJson !== undefined ? { bodyJson: a.bodyJson as Record<string, unknown> | null } : {}),
        ...(a.metadataJson !== undefined ? { metadataJson: a.metadataJson as Record<string, unknown> | null } : {}),
      }),
  }),
);

builder.mutationField('deleteChatMessage', (t) =>
  t.field({
    type: ChatOkRef,
    description: 'Soft-deletes a message (the sender, or a room owner/admin): its slot stays, its content goes.',
    errors: readErrors,
    args: {
      roomId: t.arg.string({ required: true, description: 'The room id.' }),
      messageId: t.arg.string({ required: true, description: 'The message id.' }),
    },
    resolve: async (_r, a, ctx) => ({
      id: (await ctx.services.athena.chat.deleteMessage(ctx.principal, a)).messageId,
    }),
  }),
);

builder.mutationField('markChatRoomRead', (t) =>
  t.field({
    type: ChatReadCursorRef,
    description: 'Advances the caller’s read cursor to a message or seq: never backwards, clamped to the last seq.',
    errors: readErrors,
    args: {
      roomId: t.arg.string({ required: true, description: 'The room id.' }),
      messageId: t.arg.string({ required: false, description: 'Read up to this message.' }),
      seq: t.arg.int({ required: false, description: 'Read up to this roomSeq.' }),
    },
    resolve: (_r, a, ctx) => ctx.services.athena.chat.markRead(ctx.principal, a),
  }),
);

builder.mutationField('addChatRoomMembers', (t) =>
  t.field({
    type: [ChatMemberRef],
    description: 'Adds members (owner or admin); existing members keep their role. Answers every member.',
    errors: writeErrors,
    args: {
      roomId: t.arg.string({ required: true, description: 'The room id.' }),
      userIds: t.arg.stringList({ required: true, description: 'Users to add.' }),
      role: t.arg({ type: ChatMemberRoleEnum, required: false, description: 'Their role: member (default) or admin.' }),
    },
    resolve: (_r, a, ctx) => ctx.services.athena.chat.addMembers(ctx.principal, a),
  }),
);

builder.mutationField('removeChatRoomMember', (t) =>
  t.field({
    type: ChatOkRef,
    description: 'Removes a member (owner/admin; never the owner) or leaves the room (yourself).',
    errors: readErrors,
    args: {
      roomId: t.arg.string({ required: true, description: 'The room id.' }),
      userId: t.arg.string({ required: true, description: 'The member to remove.' }),
    },
    resolve: async (_r, a, ctx) => ({ id: (await ctx.services.athena.chat.removeMember(ctx.principal, a)).userId }),
  }),
);

builder.mutationField('addChatReaction', (t) =>
  t.field({
    type: ChatReactionSummaryRef,
    description: 'Adds the caller’s reaction (once per emoji); answers the message’s reactions.',
    errors: chatErrors(ChatNotFoundError, ChatForbiddenError, ChatMessageDeletedError),
    args: {
      messageId: t.arg.string({ required: true, description: 'The message id.' }),
      emoji: t.arg.string({ required: true, description: 'The emoji.' }),
    },
    resolve: (_r, a, ctx) => ctx.services.athena.chat.addReaction(ctx.principal, a),
  }),
);

builder.mutationField('removeChatReaction', (t) =>
  t.field({
    type: ChatReactionSummaryRef,
    description: 'Removes the caller’s reaction; answers the message’s reactions.',
    errors: readErrors,
    args: {
      messageId: t.arg.string({ required: true, description: 'The message id.' }),
      emoji: t.arg.string({ required: true, description: 'The emoji.' }),
    },
    resolve: (_r, a, ctx) => ctx.services.athena.chat.removeReaction(ctx.principal, a),
  }),
);

builder.mutationField('sendChatTyping', (t) =>
  t.field({
    type: ChatTypingRef,
    description: 'Ephemeral: tells the room’s chatTyping subscribers the caller is typing. Nothing is stored.',
    errors: writeErrors,
    args: { roomId: t.arg.string({ required: true, description: 'The room id.' }) },
    resolve: (_r, a, ctx) => ctx.services.athena.chat.typing(ctx.principal, a.roomId),
  }),
);

// ---- subscriptions ----

/** Subscriptions have no result union: expected failures surface with their code (not masked). */
function surfaced(e: unknown): unknown {
  return e instanceof DomainError ? new GraphQLError(e.message, { extensions: { code: e.code } }) : e;
}

async function subscribeRoom(
  ctx: Context,
  roomId: string,
  kind: ChatStreamKind,
  afterSeq?: number | null,
): Promise<AsyncIterable<unknown>> {
  let source: AsyncIterableIterator<unknown>;
  try {
    source = await ctx.services.athena.chat.stream(ctx.principal, { roomId, kind, afterSeq });
  } catch (e) {
    throw surfaced(e);
  }
  const mapped: AsyncIterableIterator<unknown> = {
    [Symbol.asyncIterator]: () => mapped,
    next: async () => {
      try {
        return await source.next();
      } catch (e) {
        throw surfaced(e);
      }
    },
    return: () => source.return?.() ?? Promise.resolve({ done: true, value: undefined }),
  };
  return mapped;
}

const roomArg = (t: any) => t.arg.string({ required: true, description: 'The room id (uuid).' });

builder.subscriptionField('chatMessagePosted', (t) =>
  t.field({
    type: ChatMessageRef,
    description:
      'Messages posted in a room, in roomSeq order without gaps or duplicates. With afterSeq, the stored messages ' +
      'after it come first (resume after a disconnect), then live ones. Ends when the caller leaves the room.',
    args: {
      roomId: roomArg(t),
      afterSeq: t.arg.int({ required: false, description: 'The last roomSeq the client has; replay from there.' }),
    },
    subscribe: (_r, a, ctx) => subscribeRoom(ctx, a.roomId as string, 'posted', a.afterSeq) as never,
    resolve: (m) => m as ChatMessageView,
  }),
);

builder.subscriptionField('chatMessageEdited', (t) =>
  t.field({
    type: ChatMessageRef,
    description: 'Messages edited in a room (the edited message).',
    args: { roomId: roomArg(t) },
    subscribe: (_r, a, ctx) => subscribeRoom(ctx, a.roomId as string, 'edited') as never,
    resolve: (m) => m as ChatMessageView,
  }),
);

builder.subscriptionField('chatMessageDeleted', (t) =>
  t.field({
    type: ChatMessageRef,
    description: 'Messages deleted in a room (redacted: deletedAt set, content null).',
    args: { roomId: roomArg(t) },
    subscribe: (_r, a, ctx) => subscribeRoom(ctx, a.roomId as string, 'deleted') as never,
    resolve: (m) => m as ChatMessageView,
  }),
);

builder.subscriptionField('chatReactionsChanged', (t) =>
  t.field({
    type: ChatReactionSummaryRef,
    description: 'A message’s reactions changed (with the subscriber’s own `reacted`).',
    args: { roomId: roomArg(t) },
    subscribe: (_r, a, ctx) => subscribeRoom(ctx, a.roomId as string, 'reactions') as never,
    resolve: (s) => s as ChatReactionSummaryView,
  }),
);

builder.subscriptionField('chatReadCursorMoved', (t) =>
  t.field({
    type: ChatReadCursorRef,
    description: 'A member’s read cursor moved forward.',
    args: { roomId: roomArg(t) },
    subscribe: (_r, a, ctx) => subscribeRoom(ctx, a.roomId as string, 'readCursor') as never,
    resolve: (c) => c as ChatReadCursorView,
  }),
);

builder.subscriptionField('chatMembersChanged', (t) =>
  t.field({
    type: ChatMembersChangeRef,
    description: 'Members joined or left the room. A subscriber who is removed gets an error and the stream ends.',
    args: { roomId: roomArg(t) },
    subscribe: (_r, a, ctx) => subscribeRoom(ctx, a.roomId as string, 'members') as never,
    resolve: (c) => c as ChatMembersChangeView,
  }),
);

builder.subscriptionField('chatTyping', (t) =>
  t.field({
    type: ChatTypingRef,
    description: 'Ephemeral typing notices of the other members of a room.',
    args: { roomId: roomArg(t) },
    subscribe: (_r, a, ctx) => subscribeRoom(ctx, a.roomId as string, 'typing') as never,
    resolve: (c) => c as ChatTypingView,
  }),
);
