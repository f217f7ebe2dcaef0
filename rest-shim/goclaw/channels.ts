import { offsetToCursor } from '@pothos/plugin-relay';
import { InvalidInputError } from '../../src/core/errors.ts';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestRequest } from '../engine/types.ts';
import {
  type CreateGoClawChannelInstanceInput,
  type GoClawChannelInstanceFieldsFragment,
  type GoClawChannelType,
  GoClawClearPendingMessagesDocument,
  GoClawCreateChannelInstanceDocument,
  GoClawDeleteChannelInstanceDocument,
  GoClawGetChannelInstanceDocument,
  GoClawListChannelInstancesDocument,
  GoClawListContactsDocument,
  GoClawListPendingMessageGroupsDocument,
  type GoClawPeerKind,
  GoClawUpdateChannelInstanceDocument,
  type UpdateGoClawChannelInstanceInput,
} from '../generated/graphql.ts';
import { bool, defined, failure, globalId, jsonBody, notFound, object, paging, queryValue, str } from './tool-body.ts';

const channelTypes = new Set(['telegram', 'discord', 'slack', 'whatsapp', 'zalo', 'feishu']);

function channelType(value: string | null | undefined, field = 'channel_type'): GoClawChannelType | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (!channelTypes.has(value)) throw new InvalidInputError(`${field} must be one of ${[...channelTypes].join(', ')}`);
  return value as GoClawChannelType;
}

/** An instance as GoClaw returns it: credentials masked, `status` as the adapter last recorded it. */
export function toGoClawChannelInstance(c: GoClawChannelInstanceFieldsFragment) {
  return {
    id: c.uuid,
    name: c.name,
    display_name: c.displayName,
    channel_type: c.channelType,
    agent_id: c.agentId,
    credentials: c.maskedCredentials,
    config: c.config,
    enabled: c.enabled,
    is_default: c.isDefault,
    status: c.status,
    last_error: c.lastError,
    last_connected_at: c.lastConnectedAt,
    created_by: c.createdBy,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}

function instanceInput(req: RestRequest): UpdateGoClawChannelInstanceInput {
  const b = jsonBody(req);
  return defined({
    name: str(b, 'name'),
    displayName: str(b, 'display_name'),
    channelType: channelType(str(b, 'channel_type')),
    agentId: str(b, 'agent_id'),
    credentials: object(b, 'credentials'),
    config: object(b, 'config'),
    enabled: bool(b, 'enabled'),
    isDefault: bool(b, 'is_default'),
  });
}

const after = (offset: number) => (offset > 0 ? offsetToCursor(offset - 1) : null);

const listInstances = graphqlOperation({
  extraQuery: ['channel_type', 'search', 'limit', 'offset'],
  document: GoClawListChannelInstancesDocument,
  variables: (req) => {
    const { limit, offset } = paging(req);
    return {
      first: limit,
      after: after(offset),
      channelType: channelType(queryValue(req, 'channel_type')) ?? null,
      search: queryValue(req, 'search') ?? null,
    };
  },
  respond: (data, req) => {
    const { limit, offset } = paging(req);
    const c = data.goClawChannelInstances;
    return {
      status: 200,
      body: { instances: c.edges.map(({ node }) => toGoClawChannelInstance(node)), total: c.totalCount, limit, offset },
    };
  },
});

const createInstance = graphqlOperation({
  document: GoClawCreateChannelInstanceDocument,
  variables: (req) => {
    const input = instanceInput(req);
    if (!input.name) throw new InvalidInputError('name is required');
    if (!input.channelType) throw new InvalidInputError(`channel_type is required (${[...channelTypes].join(', ')})`);
    return { input: input as CreateGoClawChannelInstanceInput };
  },
  respond: ({ createGoClawChannelInstance: r }) =>
    r.__typename === 'MutationCreateGoClawChannelInstanceSuccess'
      ? { status: 201, body: toGoClawChannelInstance(r.data) }
      : failure(r),
});

const getInstance = graphqlOperation({
  document: GoClawGetChannelInstanceDocument,
  variables: (req) => ({ id: globalId('GoClawChannelInstance', req) }),
  respond: (data, req) =>
    data.node?.__typename === 'GoClawChannelInstance'
      ? { status: 200, body: toGoClawChannelInstance(data.node) }
      : notFound('Channel instance', req),
});

const updateInstance = graphqlOperation({
  document: GoClawUpdateChannelInstanceDocument,
  variables: (req) => ({ id: globalId('GoClawChannelInstance', req), input: instanceInput(req) }),
  respond: ({ updateGoClawChannelInstance: r }) =>
    r.__typename === 'MutationUpdateGoClawChannelInstanceSuccess'
      ? { status: 200, body: { status: 'updated' } }
      : failure(r),
});

const deleteInstance = graphqlOperation({
  document: GoClawDeleteChannelInstanceDocument,
  variables: (req) => ({ id: globalId('GoClawChannelInstance', req) }),
  respond: ({ deleteGoClawChannelInstance: r }) =>
    r.__typename === 'MutationDeleteGoClawChannelInstanceSuccess'
      ? { status: 200, body: { status: 'deleted' } }
      : failure(r),
});

const peerKinds = new Set(['direct', 'group']);

/** GET /v1/contacts — `{contacts, total, limit, offset}`; filters `search`, `channel_type`, `peer_kind`. */
const listContacts = graphqlOperation({
  extraQuery: ['search', 'channel_type', 'peer_kind', 'limit', 'offset'],
  document: GoClawListContactsDocument,
  variables: (req) => {
    const { limit, offset } = paging(req);
    const peerKind = queryValue(req, 'peer_kind');
    if (peerKind && !peerKinds.has(peerKind)) throw new InvalidInputError('peer_kind must be direct or group');
    return {
      first: limit,
      after: after(offset),
      search: queryValue(req, 'search') ?? null,
      channelType: channelType(queryValue(req, 'channel_type')) ?? null,
      peerKind: (peerKind || null) as GoClawPeerKind | null,
    };
  },
  respond: (data, req) => {
    const { limit, offset } = paging(req);
    const c = data.goClawContacts;
    return {
      status: 200,
      body: {
        contacts: c.edges.map(({ node: n }) => ({
          id: n.uuid,
          channel_type: n.channelType,
          channel: n.channel,
          sender_id: n.senderId,
          display_name: n.displayName,
          username: n.username,
          peer_kind: n.peerKind,
          first_seen_at: n.firstSeenAt,
          last_seen_at: n.lastSeenAt,
        })),
        total: c.totalCount,
        limit,
        offset,
      },
    };
  },
});

const listPending = graphqlOperation({
  document: GoClawListPendingMessageGroupsDocument,
  variables: () => ({}),
  respond: (data) => ({
    status: 200,
    body: {
      groups: data.goClawPendingMessageGroups.map((g) => ({
        channel: g.channel,
        key: g.key,
        message_count: g.messageCount,
        first_message_at: g.firstMessageAt,
        last_message_at: g.lastMessageAt,
      })),
    },
  }),
});

/** DELETE /v1/pending-messages?channel=…&key=… — as upstream, both are required (400 otherwise). */
const clearPending = graphqlOperation({
  extraQuery: ['channel', 'key'],
  document: GoClawClearPendingMessagesDocument,
  variables: (req) => {
    const channel = queryValue(req, 'channel');
    const key = queryValue(req, 'key');
    if (!channel || !key) throw new InvalidInputError('query parameters channel and key are required');
    return { channel, key };
  },
  respond: ({ clearGoClawPendingMessages: r }) =>
    r.__typename === 'MutationClearGoClawPendingMessagesSuccess' ? { status: 200, body: { status: 'ok' } } : failure(r),
});

/** Channel instances (credentials sealed; Telegram polled by its adapter), contacts, pending messages. */
export const goclawChannelOperations = operationsFor<OperationPolicy>().group(
  'channels',
  'test/goclaw/channels.test.ts',
  {
    get_v1_channels_instances: listInstances,
    post_v1_channels_instances: createInstance,
    get_v1_channels_instances_by_id: getInstance,
    put_v1_channels_instances_by_id: updateInstance,
    delete_v1_channels_instances_by_id: deleteInstance,
    get_v1_contacts: listContacts,
    get_v1_pending_messages: listPending,
    delete_v1_pending_messages: clearPending,
  },
);
