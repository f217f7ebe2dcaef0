import { OutboundBlockedError, outboundRequest } from '../../core/net/outbound.ts';
import { type AdapterDeps, LeasedChannelAdapter } from './channel-adapter.ts';
import { openMap } from './secrets.ts';

/** How the Telegram adapter reaches the Bot API and how long it long-polls. */
export interface TelegramAdapterConfig {
  /** The Bot API base (ATRIUM_GOCLAW_TELEGRAM_API_BASE, default https://api.telegram.org). */
  apiBase: string;
  /** `getUpdates` long-poll timeout, seconds. */
  pollTimeoutSecs: number;
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

/**
 * The Telegram Bot API adapter (the lease and recording are LeasedChannelAdapter's): checks the token with
 * `getMe`, then long-polls `getUpdates` from the stored offset through the outbound guard; replies with
 * `sendMessage`.
 */
export class TelegramAdapter extends LeasedChannelAdapter {
  readonly channelType = 'telegram' as const;

  constructor(
    deps: AdapterDeps,
    private readonly config: TelegramAdapterConfig,
  ) {
    super(deps);
  }

  async send(channel: string, chatId: string, text: string): Promise<void> {
    const token = (await this.credentialsOf(channel)).bot_token;
    if (!token) throw new Error(`channel "${channel}" has no bot_token`);
    // Telegram caps a message at 4096 characters: longer answers go in several messages.
    for (let i = 0; i < text.length; i += 4096) {
      await this.call(token, 'sendMessage', { chat_id: chatId, text: text.slice(i, i + 4096) }, 10);
    }
  }

  protected async serve(id: string, signal: AbortSignal): Promise<void> {
    let checked: { token: string; username: string } | undefined;
    while (!signal.aborted) {
      const row = await this.current(id);
      if (!row) return;
      const token = openMap(this.deps.box, row.credentialsEnc).bot_token;
      if (!token) {
        await this.fail(id, 'credentials.bot_token is missing');
        return;
      }
      try {
        if (token !== checked?.token) {
          const me = (await this.call(token, 'getMe', {}, 10)) as { username?: string };
          checked = { token, username: me.username ?? '' };
        }
        const offset = row.pollOffset === null ? undefined : Number(row.pollOffset);
        const updates = (await this.call(
          token,
          'getUpdates',
          {
            timeout: this.config.pollTimeoutSecs,
            allowed_updates: ['message'],
            ...(offset !== undefined ? { offset } : {}),
          },
          this.config.pollTimeoutSecs + 10,
        )) as TelegramUpdate[];
        if (signal.aborted) return;
        for (const u of updates) await this.receive(row.name, row.agentId, u, checked.username);
        const last = updates.reduce((max, u) => Math.max(max, u.update_id), -1);
        if (!(await this.renew(id, last >= 0 ? { pollOffset: BigInt(last + 1) } : {}))) return;
      } catch (err) {
        if (signal.aborted) return;
        await this.fail(id, err instanceof Error ? err.message : String(err));
        return;
      }
    }
  }

  private async receive(channel: string, agentId: string | null, u: TelegramUpdate, botName: string): Promise<void> {
    const m = u.message;
    if (!m?.from || !m.chat || m.from.is_bot) return;
    const text = m.text ?? m.caption ?? '';
    await this.received(
      {
        channel,
        channelType: 'telegram',
        agentId,
        chatId: String(m.chat.id),
        senderId: String(m.from.id),
        senderName: [m.from.first_name, m.from.last_name].filter(Boolean).join(' ').slice(0, 200) || null,
        text,
        group: m.chat.type === 'group' || m.chat.type === 'supergroup',
        mentioned: botName !== '' && text.toLowerCase().includes(`@${botName.toLowerCase()}`),
      },
      m.from.username?.slice(0, 200) ?? null,
    );
  }

  /** One Bot API call (POST with a JSON body) through the outbound guard; throws on `ok: false`. */
  private async call(
    token: string,
    method: string,
    params: Record<string, unknown>,
    timeoutSecs: number,
  ): Promise<unknown> {
    const url = `${this.config.apiBase.replace(/\/+$/, '')}/bot${encodeURIComponent(token)}/${method}`;
    let res: Awaited<ReturnType<typeof outboundRequest>>;
    try {
      res = await outboundRequest(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) },
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
