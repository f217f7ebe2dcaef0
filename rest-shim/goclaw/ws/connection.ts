import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import type { Principal } from '../../../src/core/auth/principal.ts';
import { TokenBucket } from '../../../src/core/token-bucket.ts';
import { type GoClawRole, goclawRole } from '../../../src/modules/goclaw/roles.ts';
import type { LiveRun } from '../../../src/modules/goclaw/runs.service.ts';
import type { WebSocketContext, WebSocketEndpoint } from '../../engine/types.ts';
import { type MethodContext, methods } from './methods.ts';
import {
  type EventFrame,
  errorShape,
  failedRequestId,
  parseRequest,
  protocolVersion,
  type RequestFrame,
  type ResponseFrame,
  type RpcErrorShape,
  serverInfo,
} from './protocol.ts';

/*
 * One `/goclaw/ws` connection (docs/goclaw.md "WebSocket RPC"). The socket is accepted without a credential; the
 * first request must be `connect {token, user_id}`, resolved by the surface's own door (the gateway token — the
 * admin key, compared in constant time — or a GoClaw API key, role from its scopes). A wrong token is refused
 * (UNAUTHORIZED, then close 4401): there is no viewer fallback. The connection then lives as long as its credential
 * (revoked: close 4403, expired: 4401). Per connection: a token bucket over every frame (RESOURCE_EXHAUSTED,
 * retryable, retryAfterMs), a ping every `pingIntervalMs` and a drop after `idleTimeoutMs` of silence (also the
 * time allowed for `connect`), a bound on bytes queued to a client that does not read (close 1013), and a `seq`
 * on events, monotonic per connection. Requests run concurrently; each `res` carries its request's id.
 */

/** Largest frame read (upstream's 512 KiB read limit): larger ones close the connection with 1009. */
export const maxFrameBytes = 512 * 1024;

const closeCodes = { unauthorized: 4401, revoked: 4403, connectTimeout: 4408, tooSlow: 1013 } as const;

/** Open connections per app (by its services), for `health` and `status`. */
const openConnections = new WeakMap<object, Set<WebSocket>>();

function accept(socket: WebSocket, ctx: WebSocketContext): void {
  const { services } = ctx;
  const config = services.goclaw.config.ws;
  const logger = services.logger.child({ component: 'goclaw-ws', requestId: ctx.requestId });
  const connectionId = randomUUID();
  const bucket = new TokenBucket(config.requestsPerSecond, config.burst);
  const closed = new AbortController();
  const runs = new Set<LiveRun>();
  let seq = 0;
  let session: { principal: Principal; role: GoClawRole; userId: string } | undefined;
  let connecting = false;
  let endWatch: (() => void) | undefined;
  let lastHeard = Date.now();
  const openedAt = lastHeard;

  let open = openConnections.get(services);
  if (!open) {
    open = new Set();
    openConnections.set(services, open);
  }
  const connections = open;

  const close = (code: number, reason: string) => {
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  };

  /** Sends a frame; a client that lets too much queue up is disconnected rather than silently losing frames. */
  const send = (frame: ResponseFrame | EventFrame) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > config.maxBufferedBytes) {
      logger.warn({ buffered: socket.bufferedAmount }, 'goclaw ws client too slow; closing');
      close(closeCodes.tooSlow, 'send buffer full');
      return;
    }
    socket.send(JSON.stringify(frame));
  };
  const ok = (id: string, payload: unknown) => send({ type: 'res', id, ok: true, payload });
  const fail = (id: string, error: RpcErrorShape) => send({ type: 'res', id, ok: false, error });

  const keepalive = setInterval(() => {
    const now = Date.now();
    // A peer silent past the deadline is gone (no close handshake to wait for); one that never connects is closed.
    if (now - lastHeard > config.idleTimeoutMs) return socket.terminate();
    if (!session && now - openedAt > config.idleTimeoutMs) return close(closeCodes.connectTimeout, 'connect timeout');
    if (socket.readyState === socket.OPEN) socket.ping();
  }, config.pingIntervalMs);
  keepalive.unref();

  socket.on('pong', () => {
    lastHeard = Date.now();
  });
  socket.on('close', () => {
    clearInterval(keepalive);
    connections.delete(socket);
    endWatch?.();
    closed.abort();
    // A client that goes away aborts the runs it started (as an HTTP client that disconnects does).
    for (const run of runs) run.abort('client disconnected');
  });
  socket.on('error', (err) => logger.debug({ err }, 'goclaw ws socket error'));

  async function connect(req: RequestFrame): Promise<void> {
    if (session) return fail(req.id, { code: 'INVALID_REQUEST', message: 'already connected' });
    if (connecting) return fail(req.id, { code: 'INVALID_REQUEST', message: 'connect is in progress' });
    const token = req.params.token;
    const userId = req.params.user_id;
    if (userId !== undefined && userId !== null && (typeof userId !== 'string' || userId.length > 255)) {
      return fail(req.id, { code: 'INVALID_REQUEST', message: 'user_id must be a string of at most 255 characters' });
    }
    connecting = true;
    const auth =
      typeof token === 'string' && token !== ''
        ? await ctx.authenticate({ authorization: `Bearer ${token}` })
        : ({ ok: false, status: 401, message: 'a token is required' } as const);
    connecting = false;
    const role = auth.ok ? goclawRole(auth.principal) : undefined;
    if (!auth.ok || role === undefined) {
      if (!auth.ok && auth.status === 429) {
        const retryAfter = Number(auth.headers?.['retry-after'] ?? 1);
        fail(req.id, {
          code: 'RESOURCE_EXHAUSTED',
          message: auth.message,
          retryable: true,
          retryAfterMs: Math.max(1, retryAfter) * 1000,
        });
        return close(closeCodes.tooSlow, 'rate limited');
      }
      fail(req.id, { code: 'UNAUTHORIZED', message: auth.ok ? 'This credential may not use GoClaw' : auth.message });
      return close(closeCodes.unauthorized, 'unauthorized');
    }
    if (socket.readyState !== socket.OPEN) return;
    session = { principal: auth.principal, role, userId: typeof userId === 'string' ? userId : '' };
    endWatch = ctx.watchCredential(auth.principal, (end) =>
      close(end === 'revoked' ? closeCodes.revoked : closeCodes.unauthorized, `credential ${end}`),
    );
    connections.add(socket);
    ok(req.id, { protocol: protocolVersion, role, user_id: session.userId, server: serverInfo });
  }

  async function dispatch(req: RequestFrame): Promise<void> {
    if (req.method === 'connect') return connect(req);
    if (!session) return fail(req.id, { code: 'UNAUTHORIZED', message: "first request must be 'connect'" });
    const spec = Object.hasOwn(methods, req.method) ? methods[req.method] : undefined;
    if (!spec) {
      return fail(req.id, { code: 'INVALID_REQUEST', message: `unknown method: ${req.method.slice(0, 100)}` });
    }
    if (spec.role !== null && !atLeast(session.role, spec.role)) {
      return fail(req.id, {
        code: 'UNAUTHORIZED',
        message: `permission denied: ${req.method} needs the ${spec.role} role`,
      });
    }
    const context: MethodContext = {
      ...session,
      connectionId,
      services,
      signal: closed.signal,
      event: (event, payload) => send({ type: 'event', event, payload, seq: ++seq }),
      track: (run) => {
        runs.add(run);
        return () => runs.delete(run);
      },
      clients: () => connections.size,
    };
    try {
      const params = spec.params(req.params);
      ok(req.id, await spec.handle(context, params));
    } catch (err) {
      const { shape, unexpected } = errorShape(err);
      if (unexpected) logger.error({ err, method: req.method }, 'goclaw ws method failed');
      fail(req.id, shape);
    }
  }

  socket.on('message', (data: RawData, isBinary: boolean) => {
    lastHeard = Date.now();
    const allowed = bucket.take();
    let req: RequestFrame;
    try {
      if (isBinary) throw Object.assign(new Error('binary frames are not accepted'), { requestId: '' });
      req = parseRequest(rawText(data));
    } catch (err) {
      const id = failedRequestId(err);
      if (!allowed.ok) return refuseRate(id, allowed.retryAfterMs);
      return fail(id, { code: 'INVALID_REQUEST', message: (err as Error).message });
    }
    if (!allowed.ok) return refuseRate(req.id, allowed.retryAfterMs);
    void dispatch(req).catch((err: unknown) => logger.error({ err }, 'goclaw ws dispatch failed'));
  });

  function refuseRate(id: string, retryAfterMs: number) {
    fail(id, { code: 'RESOURCE_EXHAUSTED', message: 'rate limit exceeded', retryable: true, retryAfterMs });
  }
}

const rank: Record<GoClawRole, number> = { viewer: 0, operator: 1, admin: 2 };
const atLeast = (role: GoClawRole, needed: GoClawRole) => rank[role] >= rank[needed];

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** GoClaw's `/ws` endpoint: RPC protocol v3, credentials in the `connect` request. */
export const goclawWsEndpoint: WebSocketEndpoint = {
  auth: 'protocol',
  description:
    'GoClaw WebSocket RPC protocol v3: connect-first handshake, req/res by id, agent events with seq, per-method roles',
  test: 'test/goclaw/ws-rpc.test.ts',
  maxPayload: maxFrameBytes,
  accept,
};
