import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createRestShim, type RestShim } from '../../../rest-shim/engine/shim.ts';
import type { AnySurface, GraphQLExecutor } from '../../../rest-shim/engine/types.ts';
import { surfaces as appSurfaces } from '../../../rest-shim/surfaces.ts';
import { adminPrincipal } from '../../../src/core/auth/principal.ts';
import type { Services } from '../../../src/core/services.ts';

let server: Server;
let shim: RestShim;
let base: string;
const seen: { operationId: string; policy: unknown }[] = [];

beforeAll(async () => {
  const goclaw = appSurfaces.find((s) => s.product === 'goclaw') as AnySurface;
  const surface: AnySurface = {
    ...goclaw,
    groups: [],
    authenticate: async ({ headers, query, operationId, policy }) => {
      seen.push({ operationId, policy });
      const credential = headers.authorization ?? (query.token ? `Bearer ${String(query.token)}` : undefined);
      if (credential === 'Bearer good') return { ok: true, principal: adminPrincipal };
      if (credential === 'Bearer slow-down') {
        return { ok: false, status: 429, message: 'Too many requests', headers: { 'retry-after': '7' } };
      }
      return { ok: false, status: 401, message: 'Missing or invalid bearer token' };
    },
    websockets: {
      '/ws-echo': {
        auth: 'upgrade',
        description: 'echo',
        test: 'test/platform/rest-shim/websocket.test.ts',
        policy: { auth: 'required' },
        accept(socket, ctx) {
          socket.send(JSON.stringify({ hello: ctx.principal.kind, requestId: ctx.requestId }));
          socket.on('message', (data) => socket.send(String(data)));
        },
      },
      '/ws-protocol': {
        auth: 'protocol',
        description: 'protocol auth',
        test: 'test/platform/rest-shim/websocket.test.ts',
        accept(socket, ctx) {
          socket.send(JSON.stringify({ hello: ctx.principal.kind }));
          socket.on('message', async (data) => {
            const auth = await ctx.authenticate({ authorization: String(data) });
            socket.send(
              JSON.stringify(auth.ok ? { ok: true, kind: auth.principal.kind } : { ok: false, status: auth.status }),
            );
          });
        },
      },
    },
  };
  shim = createRestShim({
    surfaces: [surface],
    services: {} as Services,
    execute: (async () => ({ data: {} })) as GraphQLExecutor,
    logger: pino({ level: 'silent' }),
    maxBodyBytes: 1024,
  });
  server = createServer((_req, res) => res.end());
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://atrium.test');
    if (!shim.handleUpgrade(req, socket, head, url, `req_${randomBytes(6).toString('hex')}`)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await shim?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** Opens a socket; resolves with its first message, or with the HTTP status of a refused upgrade and its body. */
function open(path: string, headers: Record<string, string> = {}) {
  return new Promise<{ socket?: WebSocket; first?: unknown; status?: number; body?: unknown; retryAfter?: string }>(
    (resolve, reject) => {
      const socket = new WebSocket(`${base}${path}`, { headers });
      socket.once('message', (data) => resolve({ socket, first: JSON.parse(String(data)) }));
      socket.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            body: text ? JSON.parse(text) : undefined,
            retryAfter: res.headers['retry-after'] as string | undefined,
          }),
        );
      });
      socket.once('error', (err) => {
        if (!String(err.message).includes('Unexpected server response')) reject(err);
      });
    },
  );
}

function next(socket: WebSocket, send: string): Promise<unknown> {
  return new Promise((resolve) => {
    socket.once('message', (data) => resolve(String(data)));
    socket.send(send);
  });
}

it('accepts an upgrade the surface authenticates, with the endpoint policy, and hands the socket over', async () => {
  const r = await open('/goclaw/ws-echo', { authorization: 'Bearer good' });
  expect(r.first).toMatchObject({ hello: 'admin' });
  expect((r.first as { requestId: string }).requestId).toMatch(/^req_/);
  expect(await next(r.socket as WebSocket, 'ping')).toBe('ping');
  r.socket?.close();
  expect(seen.at(-1)).toEqual({ operationId: 'ws:/ws-echo', policy: { auth: 'required' } });
  // Browsers cannot set headers on a WebSocket: the surface may read the query instead.
  const q = await open('/goclaw/ws-echo?token=good');
  expect(q.first).toMatchObject({ hello: 'admin' });
  q.socket?.close();
});

it("refuses an upgrade with the door's status and the product's error body", async () => {
  const r = await open('/goclaw/ws-echo', { authorization: 'Bearer wrong' });
  expect(r.status).toBe(401);
  expect(r.body).toEqual({ error: 'Missing or invalid bearer token' });
  const limited = await open('/goclaw/ws-echo', { authorization: 'Bearer slow-down' });
  expect(limited.status).toBe(429);
  expect(limited.retryAfter).toBe('7');
});

it('leaves protocol-level authentication to the endpoint, through the same door', async () => {
  const r = await open('/goclaw/ws-protocol');
  expect(r.first).toEqual({ hello: 'anonymous' });
  const socket = r.socket as WebSocket;
  expect(JSON.parse(String(await next(socket, 'Bearer wrong')))).toEqual({ ok: false, status: 401 });
  expect(JSON.parse(String(await next(socket, 'Bearer good')))).toEqual({ ok: true, kind: 'admin' });
  socket.close();
});

it('answers 404 in the product shape for a path under the prefix without an endpoint, and ignores other paths', async () => {
  const r = await open('/goclaw/v1/api-keys', { authorization: 'Bearer good' });
  expect(r.status).toBe(404);
  expect(r.body).toEqual({ error: 'No WebSocket endpoint at /v1/api-keys' });
  const outside = await open('/graphql');
  expect(outside.status).toBe(404);
});

it('closes accepted sockets on shutdown with 1001', async () => {
  const r = await open('/goclaw/ws-echo', { authorization: 'Bearer good' });
  const socket = r.socket as WebSocket;
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await shim.close();
  expect(await closed).toBe(1001);
});
