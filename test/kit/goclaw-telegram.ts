import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the Telegram Bot API: `getMe`, long-polled `getUpdates` (offset, timeout) and
 * `sendMessage` (recorded in `sent`) for the bot tokens it knows, with parameters in the query string or a JSON
 * body as the Bot API takes them; anything else answers Telegram's `{ok: false}` 401/404.
 */
export async function startTelegramStandIn(tokens: string[]) {
  const updates: { update_id: number; message: unknown }[] = [];
  const waiting = new Set<() => void>();
  const calls: { method: string; offset: number | undefined }[] = [];
  const sent: { chat_id: string; text: string }[] = [];
  let nextId = 1000;
  const http = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const json = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : {};
    const param = (name: string) =>
      url.searchParams.get(name) ?? (json[name] === undefined ? null : String(json[name]));
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!match || !tokens.includes(decodeURIComponent(match[1] ?? ''))) {
      return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const method = match[2];
    if (method === 'getMe') return reply(200, { ok: true, result: { id: 42, is_bot: true, username: 'stand_in_bot' } });
    if (method === 'sendMessage') {
      const chatId = param('chat_id');
      const text = param('text');
      if (!chatId || !text)
        return reply(400, { ok: false, error_code: 400, description: 'Bad Request: text is empty' });
      sent.push({ chat_id: chatId, text });
      return reply(200, { ok: true, result: { message_id: sent.length, chat: { id: Number(chatId) }, text } });
    }
    if (method !== 'getUpdates') return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const offset = param('offset') !== null ? Number(param('offset')) : undefined;
    calls.push({ method, offset });
    const pending = () => updates.filter((u) => offset === undefined || u.update_id >= offset);
    const answer = (r: ServerResponse) => {
      r.writeHead(200, { 'content-type': 'application/json' });
      r.end(JSON.stringify({ ok: true, result: pending() }));
    };
    if (pending().length > 0) return answer(res);
    const timeoutMs = Number(param('timeout') ?? '0') * 1000;
    const wake = () => {
      waiting.delete(wake);
      clearTimeout(timer);
      if (!res.writableEnded) answer(res);
    };
    const timer = setTimeout(wake, timeoutMs);
    waiting.add(wake);
    res.on('close', () => {
      waiting.delete(wake);
      clearTimeout(timer);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    apiBase: `http://127.0.0.1:${port}`,
    calls,
    /** Messages the bot sent (`sendMessage`). */
    sent,
    /** Queues a message update (delivered to the next or a waiting getUpdates). */
    push(message: unknown) {
      updates.push({ update_id: nextId++, message });
      for (const wake of [...waiting]) wake();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const wake of [...waiting]) wake();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
