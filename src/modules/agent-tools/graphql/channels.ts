import { builder } from '../../../core/builder.ts';
import { GoClawConflictError, GoClawInvalidInputError, GoClawNotFoundError } from '../agent-tools.errors.ts';
import { channelStatus } from '../channel-adapter.ts';
import type { PendingGroup } from '../channels.service.ts';
import { offsetConnection } from '../paging.ts';
import { maskMap } from '../secrets.ts';
import { userInput } from './errors.ts';
import { DeletedGoClawObjectRef } from './mcp.ts';

export const GoClawChannelTypeEnum = builder.enumType('GoClawChannelType', {
  description: 'The messaging platform a channel instance connects to.',
  values: {
    telegram: { description: 'Telegram Bot API (credential bot_token).' },
    discord: { description: 'Discord.' },
    slack: { description: 'Slack (Socket Mode; credentials bot_token and app_token).' },
    whatsapp: { description: 'WhatsApp.' },
    zalo: { description: 'Zalo.' },
    feishu: { description: 'Feishu / Lark.' },
  } as const,
});

const GoClawChannelStatusEnum = builder.enumType('GoClawChannelStatus', {
  description: 'Whether a channel instance is connected to its platform.',
  values: {
    connected: { description: 'An adapter holds its connection and talked to the platform within 30 seconds.' },
    error: { description: 'The adapter failed (see `lastError`); it retries.' },
    not_connected: { description: 'No adapter holds a connection for it (disabled, or a type without an adapter).' },
  } as const,
});

const totalCountOf = (conn: object) => (conn as { totalCount?: number }).totalCount ?? 0;

export const GoClawChannelInstanceRef = builder.prismaNode('GoClawChannelInstance', {
  id: { field: 'id' },
  description: 'A channel instance routing one platform account to an agent. Credentials are sealed and masked.',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The instance id as a plain UUID (the form REST uses).' }),
    name: t.exposeString('name', { description: 'Unique slug.' }),
    displayName: t.exposeString('displayName', { nullable: true, description: 'A label for people.' }),
    channelType: t.field({
      type: GoClawChannelTypeEnum,
      description: 'Its platform.',
      resolve: (c) => c.channelType as 'telegram',
    }),
    agentId: t.exposeString('agentId', { nullable: true, description: 'The agent it routes to (id or slug).' }),
    maskedCredentials: t.field({
      type: 'JSON',
      description: 'The credential names, every value masked as "***".',
      select: { credentialsEnc: true },
      resolve: (c, _a, ctx) => maskMap(ctx.services.secrets, c.credentialsEnc),
    }),
    config: t.expose('config', { type: 'JSON', description: 'Platform-specific settings.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether it should be connected.' }),
    isDefault: t.exposeBoolean('isDefault', { description: 'The default instance of its type (cannot be deleted).' }),
    status: t.field({
      type: GoClawChannelStatusEnum,
      description: 'Its connection, as the adapter last recorded it (Telegram and Slack have adapters).',
      select: { channelType: true, enabled: true, leaseUntil: true, lastConnectedAt: true, lastError: true },
      resolve: (c) => channelStatus(c),
    }),
    lastError: t.exposeString('lastError', { nullable: true, description: "The adapter's last failure, if any." }),
    lastConnectedAt: t.expose('lastConnectedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'The last successful exchange with the platform.',
    }),
    createdBy: t.exposeString('createdBy', { description: 'Who created it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.queryField('goClawChannelInstances', (t) =>
  t.connection(
    {
      type: GoClawChannelInstanceRef,
      description: 'Channel instances, newest first, offset-paged (GoClaw viewers and up).',
      authScopes: { product: 'goclaw' },
      args: {
        channelType: t.arg({ type: GoClawChannelTypeEnum, required: false, description: 'Only this platform.' }),
        search: t.arg.string({ required: false, description: 'Case-insensitive match on name or display name.' }),
      },
      resolve: (_root, args, ctx) =>
        userInput(() =>
          offsetConnection(args, ({ take, offset }) =>
            ctx.services.agenttools.channels.list(ctx.principal, {
              channelType: args.channelType,
              search: args.search,
              take,
              offset,
            }),
          ),
        ),
    },
    {
      description: 'A page of channel instances, with the total.',
      fields: (c) => ({ totalCount: c.int({ description: 'All matching instances.', resolve: totalCountOf }) }),
    },
    { description: 'One channel instance and its cursor.' },
  ),
);

const instanceFields = {
  displayName: 'A label for people.',
  agentId: 'The agent it routes to (id or slug; format-checked only).',
  credentials: 'Platform credentials (strings; sealed). On update a value "***" keeps the stored one.',
  config: 'Platform-specific settings (a JSON object).',
  enabled: 'Whether it should be connected (default true).',
  isDefault: 'Make it the default instance of its type (the previous default stops being it).',
};

const CreateGoClawChannelInstanceInput = builder.inputType('CreateGoClawChannelInstanceInput', {
  description: 'A new channel instance.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique slug.' }),
    channelType: t.field({ type: GoClawChannelTypeEnum, required: true, description: 'Its platform.' }),
    displayName: t.string({ required: false, description: instanceFields.displayName }),
    agentId: t.string({ required: false, description: instanceFields.agentId }),
    credentials: t.field({ type: 'JSON', required: false, description: instanceFields.credentials }),
    config: t.field({ type: 'JSON', required: false, description: instanceFields.config }),
    enabled: t.boolean({ required: false, description: instanceFields.enabled }),
    isDefault: t.boolean({ required: false, description: instanceFields.isDefault }),
  }),
});

const UpdateGoClawChannelInstanceInput = builder.inputType('UpdateGoClawChannelInstanceInput', {
  description: 'Changes to a channel instance; absent fields keep their values.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'Unique slug.' }),
    channelType: t.field({ type: GoClawChannelTypeEnum, required: false, description: 'Its platform.' }),
    displayName: t.string({ required: false, description: instanceFields.displayName }),
    agentId: t.string({ required: false, description: instanceFields.agentId }),
    credentials: t.field({ type: 'JSON', required: false, description: instanceFields.credentials }),
    config: t.field({ type: 'JSON', required: false, description: instanceFields.config }),
    enabled: t.boolean({ required: false, description: instanceFields.enabled }),
    isDefault: t.boolean({ required: false, description: instanceFields.isDefault }),
  }),
});

builder.mutationField('createGoClawChannelInstance', (t) =>
  t.prismaField({
    type: 'GoClawChannelInstance',
    description: 'Creates a channel instance (GoClaw operators and up).',
    errors: { types: [GoClawInvalidInputError, GoClawConflictError] },
    authScopes: { product: 'goclaw' },
    args: { input: t.arg({ type: CreateGoClawChannelInstanceInput, required: true, description: 'The instance.' }) },
    resolve: async (query, _root, { input }, ctx) => {
      const { id } = await ctx.services.agenttools.channels.create(ctx.principal, input);
      return ctx.services.prisma.goClawChannelInstance.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

builder.mutationField('updateGoClawChannelInstance', (t) =>
  t.prismaField({
    type: 'GoClawChannelInstance',
    description: 'Changes a channel instance (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError, GoClawConflictError] },
    authScopes: { product: 'goclaw' },
    args: {
      id: t.arg.globalID({ required: true, for: GoClawChannelInstanceRef, description: 'The instance.' }),
      input: t.arg({ type: UpdateGoClawChannelInstanceInput, required: true, description: 'The changes.' }),
    },
    resolve: async (query, _root, { id, input }, ctx) => {
      await ctx.services.agenttools.channels.update(ctx.principal, id.id, input);
      return ctx.services.prisma.goClawChannelInstance.findUniqueOrThrow({ ...query, where: { id: id.id } });
    },
  }),
);

builder.mutationField('deleteGoClawChannelInstance', (t) =>
  t.field({
    type: DeletedGoClawObjectRef,
    description: 'Deletes a channel instance; not the default one of its type (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: { id: t.arg.globalID({ required: true, for: GoClawChannelInstanceRef, description: 'The instance.' }) },
    resolve: (_root, { id }, ctx) => ctx.services.agenttools.channels.delete(ctx.principal, id.id),
  }),
);

const GoClawPeerKindEnum = builder.enumType('GoClawPeerKind', {
  description: 'Whether a contact was seen in a direct or a group chat.',
  values: { direct: { description: 'A one-to-one chat.' }, group: { description: 'A group chat.' } } as const,
});

export const GoClawContactRef = builder.prismaNode('GoClawContact', {
  id: { field: 'id' },
  description: 'A person seen on a channel (recorded by channel adapters).',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The contact id as a plain UUID.' }),
    channelType: t.field({
      type: GoClawChannelTypeEnum,
      description: 'The platform.',
      resolve: (c) => c.channelType as 'telegram',
    }),
    channel: t.exposeString('channel', { description: 'The channel instance name it was seen on.' }),
    senderId: t.exposeString('senderId', { description: "The platform's id for the person." }),
    displayName: t.exposeString('displayName', { nullable: true, description: 'Their display name.' }),
    username: t.exposeString('username', { nullable: true, description: 'Their user name.' }),
    peerKind: t.field({
      type: GoClawPeerKindEnum,
      description: 'Direct or group.',
      resolve: (c) => c.peerKind as 'direct',
    }),
    firstSeenAt: t.expose('firstSeenAt', { type: 'DateTime', description: 'First message seen.' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime', description: 'Last message seen.' }),
  }),
});

builder.queryField('goClawContacts', (t) =>
  t.connection(
    {
      type: GoClawContactRef,
      description: 'Contacts, most recently seen first, offset-paged (GoClaw viewers and up).',
      authScopes: { product: 'goclaw' },
      args: {
        search: t.arg.string({ required: false, description: 'Matches display name, user name or sender id.' }),
        channelType: t.arg({ type: GoClawChannelTypeEnum, required: false, description: 'Only this platform.' }),
        peerKind: t.arg({ type: GoClawPeerKindEnum, required: false, description: 'Only direct or group contacts.' }),
      },
      resolve: (_root, args, ctx) =>
        userInput(() =>
          offsetConnection(args, ({ take, offset }) =>
            ctx.services.agenttools.channels.contacts(ctx.principal, {
              search: args.search,
              channelType: args.channelType,
              peerKind: args.peerKind,
              take,
              offset,
            }),
          ),
        ),
    },
    {
      description: 'A page of contacts, with the total.',
      fields: (c) => ({ totalCount: c.int({ description: 'All matching contacts.', resolve: totalCountOf }) }),
    },
    { description: 'One contact and its cursor.' },
  ),
);

const GoClawPendingMessageGroupRef = builder.objectRef<PendingGroup>('GoClawPendingMessageGroup').implement({
  description: 'Group-chat messages buffered for an agent, per channel and conversation key.',
  fields: (t) => ({
    channel: t.exposeString('channel', { description: 'The channel instance name.' }),
    key: t.exposeString('key', { description: 'The conversation key (chat id).' }),
    messageCount: t.exposeInt('messageCount', { description: 'Messages waiting.' }),
    firstMessageAt: t.expose('firstMessageAt', { type: 'DateTime', description: 'The oldest waiting message.' }),
    lastMessageAt: t.expose('lastMessageAt', { type: 'DateTime', description: 'The newest waiting message.' }),
  }),
});

builder.queryField('goClawPendingMessageGroups', (t) =>
  t.field({
    type: [GoClawPendingMessageGroupRef],
    description: 'Pending message groups, most recent first (at most 1000; GoClaw viewers and up).',
    authScopes: { product: 'goclaw' },
    resolve: (_root, _args, ctx) => ctx.services.agenttools.channels.pendingGroups(ctx.principal),
  }),
);

const ClearedPendingMessagesRef = builder
  .objectRef<{ deletedCount: number }>('ClearedGoClawPendingMessages')
  .implement({
    description: 'What clearing a pending message group removed.',
    fields: (t) => ({ deletedCount: t.exposeInt('deletedCount', { description: 'Messages removed.' }) }),
  });

builder.mutationField('clearGoClawPendingMessages', (t) =>
  t.field({
    type: ClearedPendingMessagesRef,
    description: 'Clears one pending message group (GoClaw operators and up); an empty group clears 0.',
    errors: { types: [GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: {
      channel: t.arg.string({ required: true, description: 'The channel instance name.' }),
      key: t.arg.string({ required: true, description: 'The conversation key.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.agenttools.channels.clearPending(ctx.principal, args),
  }),
);
