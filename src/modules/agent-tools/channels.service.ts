import type { GoClawChannelInstance, GoClawContact } from '../../../prisma/generated/client/client.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { ActivityLog } from './activity.ts';
import { GoClawConflictError, GoClawInvalidInputError, GoClawNotFoundError } from './agent-tools.errors.ts';
import { requireRole } from './roles.ts';
import { mergeMap, sealMap, stringMap } from './secrets.ts';
import { agentRef, isUuid, jsonObject, slug, text } from './validate.ts';

export const channelTypes = ['telegram', 'discord', 'slack', 'whatsapp', 'zalo', 'feishu'] as const;
export type ChannelType = (typeof channelTypes)[number];
export const peerKinds = ['direct', 'group'] as const;

export interface ChannelInstanceInput {
  name?: string | null;
  displayName?: string | null;
  channelType?: ChannelType | null;
  agentId?: string | null;
  credentials?: unknown;
  config?: unknown;
  enabled?: boolean | null;
  isDefault?: boolean | null;
}

export interface PendingGroup {
  channel: string;
  key: string;
  messageCount: number;
  firstMessageAt: Date;
  lastMessageAt: Date;
}

interface Deps {
  prisma: PrismaClient;
  box: SecretBox;
  activity: ActivityLog;
}

const like = (search: string) => ({ contains: search, mode: 'insensitive' as const });

/**
 * Channel instances (stored, credentials sealed), the contacts and pending group messages channel adapters record.
 * Telegram and Slack have adapters (telegram.ts, slack.ts); other types report `not_connected` (docs/goclaw-tools.md).
 */
export class ChannelService {
  constructor(private readonly deps: Deps) {}

  async create(principal: Principal, input: ChannelInstanceInput): Promise<GoClawChannelInstance> {
    requireRole(principal, 'operator');
    if (!input.name) throw new GoClawInvalidInputError('name is required');
    if (!input.channelType) throw new GoClawInvalidInputError(`channel_type is required (${channelTypes.join(', ')})`);
    const name = slug('name', input.name);
    checkType(input.channelType);
    const { prisma, box } = this.deps;
    if (await prisma.goClawChannelInstance.findUnique({ where: { name } })) {
      throw new GoClawConflictError(`A channel instance named "${name}" already exists`);
    }
    const row = await prisma.$transaction(async (tx) => {
      if (input.isDefault) {
        await tx.goClawChannelInstance.updateMany({
          where: { channelType: input.channelType as string },
          data: { isDefault: false },
        });
      }
      return tx.goClawChannelInstance.create({
        data: {
          name,
          displayName: text('display_name', input.displayName, 200) ?? null,
          channelType: input.channelType as string,
          agentId: agentRef('agent_id', input.agentId) ?? null,
          credentialsEnc:
            input.credentials === undefined || input.credentials === null
              ? null
              : sealMap(box, stringMap('credentials', input.credentials)),
          config: (input.config === undefined || input.config === null
            ? {}
            : jsonObject('config', input.config)) as object,
          enabled: input.enabled ?? true,
          isDefault: input.isDefault ?? false,
          createdBy: principalId(principal),
        },
      });
    });
    await this.deps.activity.record(principal, {
      action: 'channel_instance.create',
      entityType: 'channel_instance',
      entityId: row.id,
    });
    return row;
  }

  async update(principal: Principal, id: string, input: ChannelInstanceInput): Promise<GoClawChannelInstance> {
    requireRole(principal, 'operator');
    const row = await this.find(id);
    const { prisma, box } = this.deps;
    const name = input.name ? slug('name', input.name) : row.name;
    if (name !== row.name && (await prisma.goClawChannelInstance.findUnique({ where: { name } }))) {
      throw new GoClawConflictError(`A channel instance named "${name}" already exists`);
    }
    if (input.channelType) checkType(input.channelType);
    const channelType = input.channelType ?? row.channelType;
    const credentialsEnc = mergeMap(box, 'credentials', row.credentialsEnc, input.credentials);
    const updated = await prisma.$transaction(async (tx) => {
      if (input.isDefault) {
        await tx.goClawChannelInstance.updateMany({
          where: { channelType, id: { not: row.id } },
          data: { isDefault: false },
        });
      }
      return tx.goClawChannelInstance.update({
        where: { id: row.id },
        data: {
          name,
          channelType,
          ...(input.displayName !== undefined
            ? { displayName: text('display_name', input.displayName, 200) ?? null }
            : {}),
          ...(input.agentId !== undefined ? { agentId: agentRef('agent_id', input.agentId) ?? null } : {}),
          // New credentials or a re-enable: the adapter starts afresh (a stored failure no longer applies).
          ...(credentialsEnc !== undefined ? { credentialsEnc, lastError: null, pollOffset: null } : {}),
          ...(input.enabled === true ? { lastError: null } : {}),
          ...(input.config !== undefined && input.config !== null
            ? { config: jsonObject('config', input.config) as object }
            : {}),
          ...(input.enabled !== undefined && input.enabled !== null ? { enabled: input.enabled } : {}),
          ...(input.isDefault !== undefined && input.isDefault !== null ? { isDefault: input.isDefault } : {}),
        },
      });
    });
    await this.deps.activity.record(principal, {
      action: 'channel_instance.update',
      entityType: 'channel_instance',
      entityId: row.id,
    });
    return updated;
  }

  /** Deletes an instance; the default instance of its type cannot be deleted (make another the default first). */
  async delete(principal: Principal, id: string): Promise<{ id: string }> {
    requireRole(principal, 'operator');
    const row = await this.find(id);
    if (row.isDefault) {
      throw new GoClawInvalidInputError(
        `"${row.name}" is the default ${row.channelType} instance and cannot be deleted`,
      );
    }
    await this.deps.prisma.goClawChannelInstance.delete({ where: { id: row.id } });
    await this.deps.activity.record(principal, {
      action: 'channel_instance.delete',
      entityType: 'channel_instance',
      entityId: row.id,
    });
    return { id: row.id };
  }

  async list(
    principal: Principal,
    filter: { channelType?: string | null; search?: string | null; take: number; offset: number },
  ): Promise<{ items: GoClawChannelInstance[]; totalCount: number }> {
    requireRole(principal, 'viewer');
    if (filter.channelType) checkType(filter.channelType);
    const search = text('search', filter.search, 200);
    const where = {
      ...(filter.channelType ? { channelType: filter.channelType } : {}),
      ...(search ? { OR: [{ name: like(search) }, { displayName: like(search) }] } : {}),
    };
    const [items, totalCount] = await Promise.all([
      this.deps.prisma.goClawChannelInstance.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: filter.take,
        skip: filter.offset,
      }),
      this.deps.prisma.goClawChannelInstance.count({ where }),
    ]);
    return { items, totalCount };
  }

  async contacts(
    principal: Principal,
    filter: {
      search?: string | null;
      channelType?: string | null;
      peerKind?: string | null;
      take: number;
      offset: number;
    },
  ): Promise<{ items: GoClawContact[]; totalCount: number }> {
    requireRole(principal, 'viewer');
    if (filter.channelType) checkType(filter.channelType);
    if (filter.peerKind && !(peerKinds as readonly string[]).includes(filter.peerKind)) {
      throw new GoClawInvalidInputError(`peer_kind must be one of ${peerKinds.join(', ')}`);
    }
    const search = text('search', filter.search, 200);
    const where = {
      ...(filter.channelType ? { channelType: filter.channelType } : {}),
      ...(filter.peerKind ? { peerKind: filter.peerKind } : {}),
      ...(search
        ? { OR: [{ displayName: like(search) }, { username: like(search) }, { senderId: like(search) }] }
        : {}),
    };
    const [items, totalCount] = await Promise.all([
      this.deps.prisma.goClawContact.findMany({
        where,
        orderBy: [{ lastSeenAt: 'desc' }, { id: 'desc' }],
        take: filter.take,
        skip: filter.offset,
      }),
      this.deps.prisma.goClawContact.count({ where }),
    ]);
    return { items, totalCount };
  }

  /** Pending group messages, one entry per (channel, key), most recent first. */
  async pendingGroups(principal: Principal): Promise<PendingGroup[]> {
    requireRole(principal, 'viewer');
    const groups = await this.deps.prisma.goClawPendingMessage.groupBy({
      by: ['channel', 'key'],
      _count: { _all: true },
      _min: { createdAt: true },
      _max: { createdAt: true },
      orderBy: { _max: { createdAt: 'desc' } },
      take: 1000,
    });
    return groups.map((g) => ({
      channel: g.channel,
      key: g.key,
      messageCount: g._count._all,
      firstMessageAt: g._min.createdAt as Date,
      lastMessageAt: g._max.createdAt as Date,
    }));
  }

  /** Clears one (channel, key) group; clearing an empty group succeeds with 0. */
  async clearPending(principal: Principal, input: { channel: string; key: string }): Promise<{ deletedCount: number }> {
    requireRole(principal, 'operator');
    if (!input.channel || !input.key) throw new GoClawInvalidInputError('channel and key are required');
    text('channel', input.channel, 200);
    text('key', input.key, 500);
    const { count } = await this.deps.prisma.goClawPendingMessage.deleteMany({
      where: { channel: input.channel, key: input.key },
    });
    await this.deps.activity.record(principal, {
      action: 'pending_messages.clear',
      entityType: 'pending_message_group',
      entityId: `${input.channel}:${input.key}`.slice(0, 700),
      details: { deleted: count },
    });
    return { deletedCount: count };
  }

  private async find(id: string): Promise<GoClawChannelInstance> {
    const row = isUuid(id) ? await this.deps.prisma.goClawChannelInstance.findUnique({ where: { id } }) : null;
    if (!row) throw new GoClawNotFoundError('Channel instance', id);
    return row;
  }
}

function checkType(type: string): void {
  if (!(channelTypes as readonly string[]).includes(type)) {
    throw new GoClawInvalidInputError(`channel_type must be one of ${channelTypes.join(', ')}`);
  }
}
