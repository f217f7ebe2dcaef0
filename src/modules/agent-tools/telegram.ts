import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import { OutboundBlockedError, type OutboundPolicy, outboundRequest } from '../../core/net/outbound.ts';
import { openMap } from './secrets.ts';

/** How the Telegram adapter reaches the Bot API and how long it long-polls. */
export interface TelegramAdapterConfig {
  /** The Bot API base (ATRIUM_GOCLAW_TELEGRAM_API_BASE, default https://api.telegram.org). */
  apiBase: string;
  /** `getUpdates` long-poll timeout, seconds. */
  pollTimeoutSecs: number;
  /** Whether adapters run at all (ATRIUM_GOCLAW_CHANNEL_ADAPTERS, default true). */
  enabled: boolean;
}

interface Deps {
  prisma: PrismaClient;
  box: SecretBox;
  outbound: OutboundPolicy;
  logger: Logger;
  instanceId: string;
  config: TelegramAdapterConfig;
}

interface TelegramUpdate {
  update_id: number;
  message?: {
    text?: string;
    caption?: string;
    from?: { id: number; username?: string; first_name?: string; last_name?: string; is_bot?: boolean };
    chat?: { id: number; type?: string; title?: string };
  };
}

const leaseMs = 30_000;
const tickMs = 2_000;

/**
 * The Telegram Bot API adapter. Every enabled `telegram` instance with a `bot_token` credential is polled by
 * exactly one Atrium instance: it claims the row's lease (a conditional UPDATE, renewed on each poll), checks the
 * token with `getMe`, then long-polls `getUpdates` from the stored offset through the outbound guard. Each message
 * records its sender as a contact; group messages are buffered as pending messages keyed by chat id. Routing
 * messages to an agent (and replying with `sendMessage`) belongs to the agent loop, which this module does not run.
 */
export class TelegramAdapter {
  private readonly polling = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: Deps) {}

  start(): void {
    if (!this.deps.config.enabled) return;
    const tick = () => {
      this.claim()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'telegram adapter: claiming channels failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, tickMs).unref();
        });
    };
    tick();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const ids = [...this.polling.keys()];
    for (const controller of this.polling.values()) controller.abort();
    this.polling.clear();
    if (ids.length > 0) {
      await this.deps.prisma.goClawChannelInstance
        .updateMany({
          where: { id: { in: ids }, leaseOwner: this.deps.instanceId },
          data: { leaseOwner: null, leaseUntil: null },
        })
        .catch(() => {});
    }
  }

  /** Claims the lease of every enabled Telegram instance nobody holds, and starts polling the ones won. */
  private async claim(): Promise<void> {
    const { prisma, instanceId } = this.deps;
    const now = new Date();
    const candidates = await prisma.goClawChannelInstance.findMany({
      where: {
        channelType: 'telegram',
        enabled: true,
        credentialsEnc: { not: null },
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }, { leaseOwner: instanceId }],
      },
      select: { id: true },
      take: 100,
    });
    for (const { id } of candidates) {
      if (this.polling.has(id) || this.stopped) continue;
      const won = await prisma.goClawChannelInstance.updateMany({
        where: { id, OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }, { leaseOwner: instanceId }] },
        data: { leaseOwner: instanceId, leaseUntil: new Date(Date.now() + leaseMs) },
      });
      if (won.count !== 1) continue;
      const controller = new AbortController();
      this.polling.set(id, controller);
      void this.poll(id, controller.signal)
        .catch((err: unknown) => this.deps.logger.warn({ err, channelId: id }, 'telegram adapter: polling stopped'))
        .finally(() => {
          if (this.polling.get(id) === controller) this.polling.delete(id);
        });
    }
  }

  /** Polls one instance while it stays enabled, keeps its token and this instance keeps its lease. */
  private async poll(id: string, signal: AbortSignal): Promise<void> {
    const { prisma, box, instanceId } = this.deps;
    let checkedToken: string | undefined;
    while (!signal.aborted) {
      const row = await prisma.goClawChannelInstance.findUnique({ where: { id } });
      if (!row?.enabled || row.channelType !== 'telegram' || row.leaseOwner !== instanceId) return;
      const token = openMap(box, row.credentialsEnc).bot_token;
      if (!token) {
        await this.fail(id, 'credentials.bot_token is missing');
        return;
      }
      try {
        if (token !== checkedToken) {
          await this.call(token, 'getMe', {}, 10);
          checkedToken = token;
        }
        const offset = row.pollOffset === null ? undefined : Number(row.pollOffset);
        const updates = (await this.call(
          token,
          'getUpdates',
          {
            timeout: String(this.deps.config.pollTimeoutSecs),
            allowed_updates: '["message"]',
            ...(offset !== undefined ? { offset: String(offset) } : {}),
          },
          this.deps.config.pollTimeoutSecs + 10,
        )) as TelegramUpdate[];
        if (signal.aborted) return;
        await this.record(row.name, updates);
        const last = updates.reduce((max, u) => Math.max(max, u.update_id), -1);
        const renewed = await prisma.goClawChannelInstance.updateMany({
          where: { id, leaseOwner: instanceId },
          data: {
            leaseUntil: new Date(Date.now() + leaseMs),
            lastConnectedAt: new Date(),
            lastError: null,
            ...(last >= 0 ? { pollOffset: BigInt(last + 1) } : {}),
          },
        });
        if (renewed.count !== 1) return;
      } catch (err) {
        if (signal.aborted) return;
        await this.fail(id, err instanceof Error ? err.message : String(err));
        return;
      }
    }
  }

  /** Records a failure and gives the lease up (the next tick retries; the error stays visible until a success). */
  private async fail(id: string, message: string): Promise<void> {
    await this.deps.prisma.goClawChannelInstance
      .updateMany({
        where: { id, leaseOwner: this.deps.instanceId },
        data: { lastError: message.slice(0, 500), leaseOwner: null, leaseUntil: new Date(Date.now() + tickMs * 2) },
      })
      .catch(() => {});
  }

  private async record(channel: string, updates: TelegramUpdate[]): Promise<void> {
    const { prisma } = this.deps;
    for (const u of updates) {
      const m = u.message;
      if (!m?.from || !m.chat) continue;
      const group = m.chat.type === 'group' || m.chat.type === 'supergroup';
      const senderId = String(m.from.id);
      const displayName = [m.from.first_name, m.from.last_name].filter(Boolean).join(' ').slice(0, 200) || null;
      const username = m.from.username?.slice(0, 200) ?? null;
      await prisma.goClawContact.upsert({
        where: { channel_senderId: { channel, senderId } },
        create: {
          channelType: 'telegram',
          channel,
          senderId,
          displayName,
          username,
          peerKind: group ? 'group' : 'direct',
        },
        update: { displayName, username, lastSeenAt: new Date() },
      });
      const text = m.text ?? m.caption;
      if (group && text) {
        await prisma.goClawPendingMessage.create({
          data: {
            channel,
            key: String(m.chat.id),
            sender: displayName ?? username ?? senderId,
            content: text.slice(0, 10_000),
          },
        });
      }
    }
  }

  /** One Bot API call (GET with query parameters) through the outbound guard; throws on `ok: false`. */
  private async call(
    token: string,
    method: string,
    params: Record<string, string>,
    timeoutSecs: number,
  ): Promise<unknown> {
    const query = new URLSearchParams(params).toString();
    const url = `${this.deps.config.apiBase.replace(/\/+$/, '')}/bot${encodeURIComponent(token)}/${method}${query ? `?${query}` : ''}`;
    let res: Awaited<ReturnType<typeof outboundRequest>>;
    try {
      res = await outboundRequest(
        url,
        { method: 'GET' },
        { ...this.deps.outbound, timeoutMs: timeoutSecs * 1000, maxResponseBytes: 4 * 1024 * 1024 },
      );
    } catch (err) {
      // Never echo the URL: it carries the bot token.
      if (err instanceof OutboundBlockedError)
        throw new Error(`Telegram API refused by the outbound guard: ${err.reason}`);
      throw new Error(`Telegram API unreachable (${method}): ${(err as Error).message.replaceAll(token, '***')}`);
    }
    let body: { ok?: boolean; result?: unknown; description?: string };
    try {
      body = JSON.parse(res.body.toString('utf8')) as typeof body;
    } catch {
      throw new Error(`Telegram API ${method} answered ${res.status} without JSON`);
    }
    if (!body.ok)
      throw new Error(
        `Telegram API ${method} failed (${res.status}): ${String(body.description ?? 'no description').slice(0, 200)}`,
      );
    return body.result;
  }
}

/** What GoClaw reports for an instance: `connected` only while an adapter holds its lease and polled recently. */
export function channelStatus(row: {
  channelType: string;
  enabled: boolean;
  leaseUntil: Date | null;
  lastConnectedAt: Date | null;
  lastError: string | null;
}): 'connected' | 'error' | 'not_connected' {
  const now = Date.now();
  if (
    row.channelType === 'telegram' &&
    row.enabled &&
    row.leaseUntil !== null &&
    row.leaseUntil.getTime() > now &&
    row.lastConnectedAt !== null &&
    row.lastConnectedAt.getTime() > now - leaseMs &&
    row.lastError === null
  ) {
    return 'connected';
  }
  if (row.channelType === 'telegram' && row.enabled && row.lastError !== null) return 'error';
  return 'not_connected';
}
