import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { createRestShim } from '../rest-shim/engine/shim.ts';
import { surfaces, validateSurfaceDocuments } from '../rest-shim/surfaces.ts';
import type { AdminKeySource } from './core/auth/admin-key.ts';
import { bearerToken } from './core/auth/authenticator.ts';
import { constantTimeEqual } from './core/auth/secrets.ts';
import type { Config } from './core/config.ts';
import { createGraphQLServer, graphqlPath } from './core/graphql/server.ts';
import { readLimited } from './core/http-body.ts';
import { rawPathOf, unsafePathReason } from './core/input-guard.ts';
import { createLogger, type Logger } from './core/logger.ts';
import type { Services } from './core/services.ts';
import { startPlatform } from './platform.ts';
import { schema } from './schema.ts';

export interface App {
  server: Server;
  services: Services;
  adminKey: AdminKeySource;
  restPrefixes: string[];
  /** Starts listening; resolves with the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Graceful shutdown: stop accepting, drain HTTP and WebSocket, close pub/sub, storage and database. */
  close(): Promise<void>;
}

const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;
// Request ids only need to be unique and unguessable enough for logs: randomUUID draws from a cached entropy pool,
// where randomBytes per request is a call into the system's generator each time.
const newRequestId = () => `req_${randomUUID().slice(24)}`;
const readinessTimeoutMs = 3000;

/** Builds the whole server from validated config: core services, every module in registry order, GraphQL, REST. */
export async function createApp(config: Config, options: { logger?: Logger } = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config);
  const platform = await startPlatform(config, logger);
  const { services, adminKey } = platform;
  const { db, objectStore, tokens, metrics } = services;

  const graphql = createGraphQLServer(schema, services);
  validateSurfaceDocuments(schema, surfaces);
  const shim = createRestShim({
    surfaces,
    services,
    execute: graphql.execute,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    onOperation: (product, operationId, status, seconds) => metrics.observeRest(product, operationId, status, seconds),
  });

  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  const server = createServer((req, res) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : newRequestId();
    const start = performance.now();
    inFlight++;
    res.setHeader('x-request-id', requestId);
    if (draining) res.setHeader('connection', 'close');
    res.on('close', () => {
      inFlight--;
      logger.info(
        {
          requestId,
          method: req.method,
          url: redactCredentials(req.url),
          status: res.statusCode,
          ms: Math.round((performance.now() - start) * 100) / 100,
        },
        'request',
      );
      if (draining && inFlight === 0) drained?.();
    });
    route(req, res, requestId).catch((err: unknown) => {
      logger.error({ err, requestId }, 'unhandled request error');
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error', request_id: requestId });
      else res.destroy();
    });
  });
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  const ws = graphql.webSockets(newRequestId);
  // One upgrade listener: graphql-ws on /graphql, a surface's WebSocket endpoints under its prefix, else 404.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://atrium.local');
    if (shim.handleUpgrade(req, socket, head, url, newRequestId())) return;
    if (unsafePathReason(rawPathOf(req.url)) !== undefined) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (url.pathname === graphqlPath) return ws.handleUpgrade(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  async function route(req: IncomingMessage, res: ServerResponse, requestId: string) {
    const url = new URL(req.url ?? '/', 'http://atrium.local');
    const path = url.pathname;
    // Dot segments and backslashes are judged on the raw path (the URL parser has resolved them in `url`):
    // under a product prefix the surface answers 400 in its error shape, elsewhere the generic body does.
    const unsafe = unsafePathReason(rawPathOf(req.url));
    if (unsafe !== undefined) {
      if (await shim.handle(req, res, url, requestId)) return;
      sendJson(res, 400, { error: unsafe });
      return;
    }
    if (path === graphqlPath || path === `${graphqlPath}/`) return serveGraphQL(req, res, requestId);
    if (await shim.handle(req, res, url, requestId)) return;
    const start = performance.now();
    const status = await serveSystem(req, res, path);
    metrics.observeSystem(path, status, (performance.now() - start) / 1000);
  }

  async function serveSystem(req: IncomingMessage, res: ServerResponse, path: string): Promise<number> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { error: `Method ${method} not allowed` });
    switch (path) {
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        const checks = await readiness();
        const ok = Object.values(checks).every((c) => c === 'ok');
        return sendJson(res, ok && !draining ? 200 : 503, { status: ok && !draining ? 'ok' : 'unavailable', checks });
      }
      case '/metrics': {
        // Operational data (routes, load, process): the admin key or ATRIUM_METRICS_TOKEN, compared in constant time.
        const token = bearerToken(header(req.headers.authorization));
        const allowed =
          token !== undefined &&
          (constantTimeEqual(token, adminKey.key) ||
            (config.metricsToken !== undefined && constantTimeEqual(token, config.metricsToken)));
        if (!allowed) {
          res.setHeader('www-authenticate', 'Bearer realm="metrics"');
          return sendJson(res, 401, { error: 'The metrics need the admin key or the metrics token (Bearer)' });
        }
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
        return 200;
      }
      case '/.well-known/jwks.json':
        return sendJson(res, 200, tokens.publicJwks());
      case '/':
        return sendJson(res, 200, {
          name: 'atrium',
          graphql: graphqlPath,
          rest: Object.fromEntries(surfaces.map((s) => [s.product, s.prefix])),
          health: '/healthz',
          ready: '/readyz',
          metrics: '/metrics',
        });
      default:
        return sendJson(res, 404, { error: `No route for ${path}` });
    }
  }

  async function readiness(): Promise<Record<string, string>> {
    const probe = async (fn: () => Promise<void>) => {
      try {
        await withTimeout(fn(), readinessTimeoutMs);
        return 'ok';
      } catch (e) {
        return `error: ${e instanceof Error ? e.message : String(e)}`;
      }
    };
    const [database, objectStorage] = await Promise.all([probe(() => db.check()), probe(() => objectStore.check())]);
    return { database, objectStorage };
  }

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, requestId: string) {
    if (graphql.graphiql?.serve(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = await readLimited(req, config.maxBodyBytes);
      if (body === undefined) {
        sendJson(res, 413, {
          errors: [
            { message: `Request body exceeds ${config.maxBodyBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } },
          ],
        });
        return;
      }
      // yoga's node adapter takes an already-read body from `req.body` (the body-parser convention). A JSON body is
      // handed over parsed: given bytes, the adapter pipes them through a stream again, and every finished
      // pipeline allocates an AbortError with its stack (measured: ~3% of a list query's CPU). Anything the adapter
      // would not take as parsed (not JSON, unparsable, null, `{}`) stays bytes, and yoga answers it as before.
      (req as IncomingMessage & { body?: unknown }).body = parsedJsonBody(req, body) ?? body;
    }
    // handle(req, res, ctx) converts, runs yoga and writes the Response to `res` (handleNodeRequestAndResponse only returns it).
    await graphql.yoga.handle(req, res, { requestId });
  }

  return {
    server,
    services,
    adminKey,
    restPrefixes: surfaces.map((s) => s.prefix),
    listen: (port = config.port, host = config.host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const { port: actual } = server.address() as AddressInfo;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${actual}`);
        });
      }),
    close: async () => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await ws.close();
      await shim.close();
      if (inFlight > 0) {
        await withTimeout(
          new Promise<void>((resolve) => {
            drained = resolve;
          }),
          config.shutdownGraceMs,
        ).catch(() => logger.warn({ inFlight }, 'shutdown grace period over; closing remaining connections'));
      }
      server.closeAllConnections();
      await closed;
      await platform.close();
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): number {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return status;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A request's JSON body as a non-empty object or array, or undefined (not JSON, unparsable, empty, a scalar). */
function parsedJsonBody(req: IncomingMessage, body: Buffer): object | undefined {
  if (!/\bjson\b/i.test(req.headers['content-type'] ?? '')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && Object.keys(parsed).length > 0 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The request target as logged: credentials some doors accept in the query (`?token=` for GoClaw media) masked. */
function redactCredentials(url: string | undefined): string | undefined {
  return url?.replace(/([?&](?:token|access_token|api_key|apikey)=)[^&#]*/gi, '$1***');
}
