import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A loopback stand-in for Slack: the Web API methods the adapter calls (`auth.test` and `chat.postMessage` with the
 * bot token, `apps.connections.open` with the app token, each `{ok: false, error: "invalid_auth"}` for an unknown
 * token) and a Socket Mode WebSocket that greets with `hello`, delivers `events_api` envelopes and records their
 * acknowledgements.
 */
export async function startSlackStandIn(tokens: { bot: string; app: string }) {
  const posted: { channel: string; text: string; thread_ts?: string }[] = [];
  const acks: string[] = [];
  const sockets = new Set<WebSocket>();
  let connections = 0;
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, any>) : {};
    const reply = (payload: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const method = (req.url ?? '').replace(/^\/api\//, '');
    if (method === 'apps.connections.open') {
      if (token !== tokens.app) return reply({ ok: false, error: 'invalid_auth' });
      return reply({ ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${randomUUID()}` });
    }
    if (token !== tokens.bot) return reply({ ok: false, error: 'invalid_auth' });
    if (method === 'auth.test') return reply({ ok: true, user_id: 'UBOT', team_id: 'T1', bot_id: 'B1' });
    if (method === 'chat.postMessage') {
      if (!body.channel || !body.text) return reply({ ok: false, error: 'no_text' });
      posted.push({ channel: body.channel, text: body.text, ...(body.thread_ts ? { thread_ts: body.thread_ts } : {}) });
      return reply({ ok: true, channel: body.channel, ts: `${Date.now() / 1000}` });
    }
    return reply({ ok: false, error: 'unknown_method' });
  });
  const wss = new WebSocketServer({ server: http, path: '/link/' });
  wss.on('connection', (ws) => {
    connections++;
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { envelope_id?: string };
      if (frame.envelope_id) acks.push(frame.envelope_id);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' } }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    apiBase: `http://127.0.0.1:${port}/api`,
    posted,
    acks,
    get connections() {
      return connections;
    },
    /** Delivers an Events API event to every connected socket; answers the envelope id. */
    push(event: Record<string, unknown>): string {
      const envelopeId = randomUUID();
      const frame = JSON.stringify({
        envelope_id: envelopeId,
        type: 'events_api',
        accepts_response_payload: false,
        payload: { type: 'event_callback', team_id: 'T1', event },
      });
      for (const ws of sockets) ws.send(frame);
      return envelopeId;
    },
    /** Asks every socket to reconnect, as Slack does before it rotates a connection. */
    disconnect() {
      for (const ws of sockets) ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested' }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
