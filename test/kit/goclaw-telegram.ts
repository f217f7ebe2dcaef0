import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the Telegram Bot API: `getMe` and long-polled `getUpdates` (offset, timeout) for the
 * bot tokens it knows; anything else answers Telegram's `{ok: false}` 401/404.
 */
export async function startTelegramStandIn(tokens: string[]) {
  const updates: { update_id: number; message: unknown }[] = [];
  const waiting = new Set<() => void>();
  const calls: { method: string; offset: number | undefined }[] = [];
  let nextId = 1000;
  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
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
    if (method !== 'getUpdates') return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const offset = url.searchParams.has('offset') ? Number(url.searchParams.get('offset')) : undefined;
    calls.push({ method, offset });
    const pending = () => updates.filter((u) => offset === undefined || u.update_id >= offset);
    const answer = (r: ServerResponse) => {
      r.writeHead(200, { 'content-type': 'application/json' });
      r.end(JSON.stringify({ ok: true, result: pending() }));
    };
    if (pending().length > 0) return answer(res);
    const timeoutMs = Number(url.searchParams.get('timeout') ?? '0') * 1000;
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
