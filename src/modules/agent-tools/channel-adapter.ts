import type { GoClawChannelInstance } from '../../../prisma/generated/client/client.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import type { OutboundPolicy } from '../../core/net/outbound.ts';
import { openMap } from './secrets.ts';

/** Channel types with a real adapter; every other type is stored and reported `not_connected`. */
export const adapterTypes = ['telegram', 'slack'] as const;
export type AdapterType = (typeof adapterTypes)[number];

/** A message an adapter received, after recording its sender (and, in groups, the pending history). */
export interface InboundMessage {
  /** The channel instance's name. */
  channel: string;
  channelType: AdapterType;
  /** The agent the instance routes to; null: recorded only. */
  agentId: string | null;
  /** Where a reply goes: the Telegram chat id, the Slack conversation id. */
  chatId: string;
  /** Slack: the thread to answer in (the message's `thread_ts`, else its `ts`). */
  threadId?: string;
  senderId: string;
  senderName: string | null;
  text: string;
  /** A group conversation (answered only when the bot is mentioned). */
  group: boolean;
  /** The message mentions the bot (`@bot` on Telegram, `<@U…>` on Slack). */
  mentioned: boolean;
}

export type InboundHandler = (message: InboundMessage) => Promise<void>;

export interface AdapterDeps {
  prisma: PrismaClient;
  box: SecretBox;
  outbound: OutboundPolicy;
  logger: Logger;
  instanceId: string;
  /** Whether adapters run at all (ATRIUM_GOCLAW_CHANNEL_ADAPTERS, default true). */
  enabled: boolean;
}

export const leaseMs = 30_000;
const tickMs = 2_000;

/**
 * What the Telegram and Slack adapters share: every enabled instance of the adapter's type that has credentials is
 * served by exactly one Atrium instance. It claims the row's lease (a conditional UPDATE, renewed while it serves),
 * then `serve` runs until the instance is disabled, loses its lease, or fails (the error is stored and the lease
 * given up; the next tick retries). Received messages record their sender as a contact and, in groups, a pending
 * message; then the registered handlers (the agent router) get them.
 */
export abstract class LeasedChannelAdapter {
  abstract readonly channelType: AdapterType;
  private readonly serving = new Map<string, AbortController>();
  private readonly handlers: InboundHandler[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(protected readonly deps: AdapterDeps) {}

  /** Registers a handler for received messages (errors are logged, never fail the adapter). */
  onInbound(handler: InboundHandler): void {
    this.handlers.push(handler);
  }

  start(): void {
    if (!this.deps.enabled) return;
    const tick = () => {
      this.claim()
        .catch((err: unknown) =>
          this.deps.logger.warn({ err }, `${this.channelType} adapter: claiming channels failed`),
        )
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, tickMs).unref();
        });
    };
    tick();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const ids = [...this.serving.keys()];
    for (const controller of this.serving.values()) controller.abort();
    this.serving.clear();
    if (ids.length > 0) {
      await this.deps.prisma.goClawChannelInstance
        .updateMany({
          where: { id: { in: ids }, leaseOwner: this.deps.instanceId },
          data: { leaseOwner: null, leaseUntil: null },
        })
        .catch(() => {});
    }
  }

  /** Sends `text` to a conversation of the named instance (the agent's reply). */
  abstract send(channel: string, chatId: string, text: string, threadId?: string): Promise<void>;

  /** Serves one instance while it stays enabled and this process keeps its lease. */
  protected abstract serve(id: string, signal: AbortSignal): Promise<void>;

  /** The instance row while this process may serve it (enabled, of this type, lease held), else undefined. */
  protected async current(id: string): Promise<GoClawChannelInstance | undefined> {
    const row = await this.deps.prisma.goClawChannelInstance.findUnique({ where: { id } });
    if (!row?.enabled || row.channelType !== this.channelType || row.leaseOwner !== this.deps.instanceId) return;
    return row;
  }

  /** The instance's credentials by name, for sending (throws when missing or not of this type). */
  protected async credentialsOf(channel: string): Promise<Record<string, string>> {
    const row = await this.deps.prisma.goClawChannelInstance.findUnique({ where: { name: channel } });
    if (!row || row.channelType !== this.channelType) throw new Error(`no ${this.channelType} channel "${channel}"`);
    return openMap(this.deps.box, row.credentialsEnc);
  }

  /** Renews the lease (and marks the instance connected); false when the lease was lost. */
  protected async renew(id: string, data: { pollOffset?: bigint } = {}): Promise<boolean> {
    const renewed = await this.deps.prisma.goClawChannelInstance.updateMany({
      where: { id, leaseOwner: this.deps.instanceId },
      data: { leaseUntil: new Date(Date.now() + leaseMs), lastConnectedAt: new Date(), lastError: null, ...data },
    });
    return renewed.count === 1;
  }

  /** Records a failure and gives the lease up (the next tick retries; the error stays visible until a success). */
  protected async fail(id: string, message: string): Promise<void> {
    await this.deps.prisma.goClawChannelInstance
      .updateMany({
        where: { id, leaseOwner: this.deps.instanceId },
        data: { lastError: message.slice(0, 500), leaseOwner: null, leaseUntil: new Date(Date.now() + tickMs * 2) },
      })
      .catch(() => {});
  }

  /** Records the sender (and a group's pending message), then hands the message to the handlers. */
  protected async received(message: InboundMessage, username: string | null): Promise<void> {
    const { prisma } = this.deps;
    await prisma.goClawContact.upsert({
      where: { channel_senderId: { channel: message.channel, senderId: message.senderId } },
      create: {
        channelType: this.channelType,
        channel: message.channel,
        senderId: message.senderId,
        displayName: message.senderName,
        username,
        peerKind: message.group ? 'group' : 'direct',
      },
      update: { displayName: message.senderName, username, lastSeenAt: new Date() },
    });
    if (message.group && message.text) {
      await prisma.goClawPendingMessage.create({
        data: {
          channel: message.channel,
          key: message.chatId,
          sender: message.senderName ?? username ?? message.senderId,
          content: message.text.slice(0, 10_000),
        },
      });
    }
    for (const handler of this.handlers) {
      // Detached: an agent run must not hold up the adapter's receive loop.
      void handler(message).catch((err: unknown) =>
        this.deps.logger.warn(
          { err, channel: message.channel },
          `${this.channelType} adapter: handling a message failed`,
        ),
      );
    }
  }

  /** Claims the lease of every enabled instance of this type nobody holds, and starts serving the ones won. */
  private async claim(): Promise<void> {
    const { prisma, instanceId } = this.deps;
    const now = new Date();
    const candidates = await prisma.goClawChannelInstance.findMany({
      where: {
        channelType: this.channelType,
        enabled: true,
        credentialsEnc: { not: null },
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }, { leaseOwner: instanceId }],
      },
      select: { id: true },
      take: 100,
    });
    for (const { id } of candidates) {
      if (this.serving.has(id) || this.stopped) continue;
      const won = await prisma.goClawChannelInstance.updateMany({
        where: { id, OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }, { leaseOwner: instanceId }] },
        data: { leaseOwner: instanceId, leaseUntil: new Date(Date.now() + leaseMs) },
      });
      if (won.count !== 1) continue;
      const controller = new AbortController();
      this.serving.set(id, controller);
      void this.serve(id, controller.signal)
        .catch((err: unknown) => this.deps.logger.warn({ err, channelId: id }, `${this.channelType} adapter stopped`))
        .finally(() => {
          if (this.serving.get(id) === controller) this.serving.delete(id);
        });
    }
  }
}

/** What GoClaw reports for an instance: `connected` only while an adapter holds its lease and is connected. */
export function channelStatus(row: {
  channelType: string;
  enabled: boolean;
  leaseUntil: Date | null;
  lastConnectedAt: Date | null;
  lastError: string | null;
}): 'connected' | 'error' | 'not_connected' {
  const now = Date.now();
  const adapted = (adapterTypes as readonly string[]).includes(row.channelType);
  if (
    adapted &&
    row.enabled &&
    row.leaseUntil !== null &&
    row.leaseUntil.getTime() > now &&
    row.lastConnectedAt !== null &&
    row.lastConnectedAt.getTime() > now - leaseMs &&
    row.lastError === null
  ) {
    return 'connected';
  }
  if (adapted && row.enabled && row.lastError !== null) return 'error';
  return 'not_connected';
}

/** The running adapters, by type: one place to start, stop, subscribe to and reply through them. */
export class ChannelAdapters {
  constructor(private readonly adapters: Record<AdapterType, LeasedChannelAdapter>) {}

  start(): void {
    for (const a of Object.values(this.adapters)) a.start();
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.adapters).map((a) => a.close()));
  }

  /** Every received message of every adapter goes to `handler` (the agent router). */
  onInbound(handler: InboundHandler): void {
    for (const a of Object.values(this.adapters)) a.onInbound(handler);
  }

  /** Replies to the conversation a message came from. */
  reply(to: InboundMessage, text: string): Promise<void> {
    return this.adapters[to.channelType].send(to.channel, to.chatId, text, to.threadId);
  }
}
