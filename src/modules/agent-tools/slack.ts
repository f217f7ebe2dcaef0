import { OutboundBlockedError, outboundRequest, outboundWebSocket } from '../../core/net/outbound.ts';
import { type AdapterDeps, LeasedChannelAdapter } from './channel-adapter.ts';
import { openMap } from './secrets.ts';

/** How the Slack adapter reaches Slack's Web API. */
export interface SlackAdapterConfig {
  /** The Web API base (ATRIUM_GOCLAW_SLACK_API_BASE, default https://slack.com/api). */
  apiBase: string;
}

interface SlackEvent {
  type?: string;
  subtype?: string;
  bot_id?: string;
  user?: string;
  text?: string;
  channel?: string;
  channel_type?: string;
  ts?: string;
  thread_ts?: string;
}

/** Frames of Socket Mode (https://api.slack.com/apis/socket-mode). */
interface SocketFrame {
  type?: string;
  envelope_id?: string;
  reason?: string;
  payload?: { type?: string; event?: SlackEvent };
}

const renewMs = 10_000;
const helloTimeoutMs = 10_000;
const reconnectDelayMs = 1_000;

/**
 * The Slack adapter, over Socket Mode: no public URL is needed, which suits a server on a laptop. The instance's
 * credentials are `bot_token` (xoxb-…, for `auth.test` and `chat.postMessage`) and `app_token` (xapp-…, for
 * `apps.connections.open`). It opens the Socket Mode WebSocket through the outbound guard, acknowledges every
 * envelope, takes `message` events (not bots', not edits), and reconnects when Slack asks (`disconnect`) or the
 * socket drops. While connected it renews the lease every 10 s.
 */
export class SlackAdapter extends LeasedChannelAdapter {
  readonly channelType = 'slack' as const;

  constructor(
    deps: AdapterDeps,
    private readonly config: SlackAdapterConfig,
  ) {
    super(deps);
  }

  async send(channel: string, chatId: string, text: string, threadId?: string): Promise<void> {
    const token = (await this.credentialsOf(channel)).bot_token;
    if (!token) throw new Error(`channel "${channel}" has no bot_token`);
    await this.call(token, 'chat.postMessage', {
      channel: chatId,
      text: text.slice(0, 40_000),
      ...(threadId ? { thread_ts: threadId } : {}),
    });
  }

  protected async serve(id: string, signal: AbortSignal): Promise<void> {
    let botUser: { token: string; userId: string } | undefined;
    while (!signal.aborted) {
      const row = await this.current(id);
      if (!row) return;
      const creds = openMap(this.deps.box, row.credentialsEnc);
      const { bot_token: botToken, app_token: appToken } = creds;
      if (!botToken || !appToken) {
        await this.fail(id, 'credentials.bot_token and credentials.app_token are required');
        return;
      }
      try {
        if (botToken !== botUser?.token) {
          const me = (await this.call(botToken, 'auth.test', {})) as { user_id?: string };
          botUser = { token: botToken, userId: me.user_id ?? '' };
        }
        const opened = (await this.call(appToken, 'apps.connections.open', {})) as { url?: string };
        if (typeof opened.url !== 'string') throw new Error('Slack apps.connections.open answered no url');
        const outcome = await this.connection(id, row.name, row.agentId, opened.url, botUser.userId, signal);
        if (outcome === 'stop') return;
        // A pause before reconnecting, so a socket Slack keeps closing does not spin.
        await new Promise((r) => setTimeout(r, reconnectDelayMs).unref());
      } catch (err) {
        if (signal.aborted) return;
        await this.fail(id, err instanceof Error ? err.message : String(err));
        return;
      }
    }
  }

  /** One Socket Mode connection: 'reconnect' when Slack closes it or asks to, 'stop' when serving must end. */
  private async connection(
    id: string,
    channel: string,
    agentId: string | null,
    url: string,
    botUserId: string,
    signal: AbortSignal,
  ): Promise<'reconnect' | 'stop'> {
    let socket: Awaited<ReturnType<typeof outboundWebSocket>>;
    try {
      socket = await outboundWebSocket(
        url,
        { ...this.deps.outbound, timeoutMs: helloTimeoutMs },
        { maxPayload: 1 << 20 },
      );
    } catch (err) {
      if (err instanceof OutboundBlockedError)
        throw new Error(`Slack socket refused by the outbound guard: ${err.reason}`);
      throw err;
    }
    const { ws, opened } = socket;
    return await new Promise<'reconnect' | 'stop'>((resolve, reject) => {
      let hello = false;
      let settled = false;
      const finish = (outcome: 'reconnect' | 'stop' | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(helloTimer);
        clearInterval(renewTimer);
        signal.removeEventListener('abort', onAbort);
        ws.removeAllListeners('message');
        ws.close();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const onAbort = () => finish('stop');
      signal.addEventListener('abort', onAbort, { once: true });
      const helloTimer = setTimeout(() => finish(new Error('Slack sent no hello')), helloTimeoutMs);
      // Renews the lease; a lease lost (or a renewal that fails) ends the serving.
      const renewOrStop = () =>
        this.renew(id).then(
          (held) => {
            if (!held) finish('stop');
          },
          () => finish('stop'),
        );
      const renewTimer = setInterval(() => void renewOrStop(), renewMs);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        let frame: SocketFrame;
        try {
          frame = JSON.parse(data.toString()) as SocketFrame;
        } catch {
          return;
        }
        // Every envelope is acknowledged at once, or Slack redelivers it.
        if (frame.envelope_id) ws.send(JSON.stringify({ envelope_id: frame.envelope_id }));
        if (frame.type === 'hello') {
          hello = true;
          clearTimeout(helloTimer);
          void renewOrStop();
        } else if (frame.type === 'disconnect') {
          finish('reconnect');
        } else if (frame.type === 'events_api' && hello) {
          const event = frame.payload?.event;
          if (event) {
            void this.receive(channel, agentId, event, botUserId).catch((err: unknown) =>
              this.deps.logger.warn({ err, channel }, 'slack adapter: recording a message failed'),
            );
          }
        }
      });
      ws.once('close', () => finish('reconnect'));
      ws.once('error', (err) => finish(new Error(`Slack socket failed: ${err.message}`)));
      opened.catch((err: Error) =>
        finish(
          err instanceof OutboundBlockedError
            ? new Error(`Slack socket refused by the outbound guard: ${err.reason}`)
            : new Error(`Slack socket unreachable: ${err.message}`),
        ),
      );
    });
  }

  private async receive(channel: string, agentId: string | null, e: SlackEvent, botUserId: string): Promise<void> {
    // Only new human messages: edits, joins and the bot's own posts carry a subtype or bot_id.
    if (e.type !== 'message' || e.subtype || e.bot_id || !e.user || !e.channel || e.user === botUserId) return;
    const text = e.text ?? '';
    const group = e.channel_type !== 'im';
    await this.received(
      {
        channel,
        channelType: 'slack',
        agentId,
        chatId: e.channel,
        ...(group && (e.thread_ts ?? e.ts) ? { threadId: e.thread_ts ?? e.ts } : {}),
        senderId: e.user,
        senderName: null,
        text,
        group,
        mentioned: botUserId !== '' && text.includes(`<@${botUserId}>`),
      },
      null,
    );
  }

  /** One Web API call (POST, JSON body, bearer token) through the outbound guard; throws on `ok: false`. */
  private async call(token: string, method: string, body: Record<string, unknown>): Promise<unknown> {
    let res: Awaited<ReturnType<typeof outboundRequest>>;
    try {
      res = await outboundRequest(
        `${this.config.apiBase.replace(/\/+$/, '')}/${method}`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(body),
        },
        { ...this.deps.outbound, timeoutMs: 10_000, maxResponseBytes: 1024 * 1024 },
      );
    } catch (err) {
      if (err instanceof OutboundBlockedError)
        throw new Error(`Slack API refused by the outbound guard: ${err.reason}`);
      throw new Error(`Slack API unreachable (${method}): ${(err as Error).message.replaceAll(token, '***')}`);
    }
    let parsed: { ok?: boolean; error?: string } & Record<string, unknown>;
    try {
      parsed = JSON.parse(res.body.toString('utf8')) as typeof parsed;
    } catch {
      throw new Error(`Slack API ${method} answered ${res.status} without JSON`);
    }
    if (!parsed.ok)
      throw new Error(
        `Slack API ${method} failed (${res.status}): ${String(parsed.error ?? 'no error').slice(0, 200)}`,
      );
    return parsed;
  }
}
