import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import type { GraphQLError } from 'graphql';
import type { OpenAPIBackend, Operation, Request, ValidationResult } from 'openapi-backend';
import { WebSocketServer } from 'ws';
import { type CredentialWatch, createCredentialWatch } from '../../src/core/auth/credential-watch.ts';
import { anonymous, type Principal } from '../../src/core/auth/principal.ts';
import { AuthorizationError, DomainError, ErrorCodes } from '../../src/core/errors.ts';
import { readLimited } from '../../src/core/http-body.ts';
import {
  findNul,
  hasControlCharacter,
  jsonDeeperThan,
  maxJsonDepth,
  rawPathOf,
  unsafePathReason,
} from '../../src/core/input-guard.ts';
import type { Logger } from '../../src/core/logger.ts';
import type { Services } from '../../src/core/services.ts';
import { createBackend, useRoutedParams, validateRouted } from './backend.ts';
import { mountedOperations } from './builtins.ts';
import { IdempotencyRefusal, withIdempotency } from './idempotency.ts';
import { compileRouter, type Router } from './router.ts';
import { type LoadedSpec, loadSpec, resolveLocal, type SecurityRequirement } from './specs.ts';
import type {
  AnySurface,
  AuthRequest,
  GraphQLExecutor,
  OperationPolicy,
  RestOperation,
  RestRequest,
  RestResponse,
  WebSocketEndpoint,
} from './types.ts';

type ErrorObject = NonNullable<ValidationResult['errors']>[number];

export interface RestShimOptions {
  surfaces: readonly AnySurface[];
  /** What direct operations, authenticators and WebSocket endpoints are given. */
  services: Services;
  execute: GraphQLExecutor;
  logger: Logger;
  /** Request bodies above this many bytes answer 413. */
  maxBodyBytes: number;
  /** Called once per request under a prefix (metrics). Unrouted requests report `unmatched`. */
  onOperation?: (product: string, operationId: string, status: number, seconds: number) => void;
}

export interface RestShim {
  /** Serves the request if its path is under a product prefix; false means "not mine, continue". */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<boolean>;
  /**
   * Takes a WebSocket upgrade whose path is under a product prefix (answering 404 where the surface declares no
   * endpoint there); false means "not mine".
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, requestId: string): boolean;
  /** Closes every WebSocket the surfaces accepted (1001 going away). */
  close(): Promise<void>;
}

interface CompiledOperation {
  operationId: string;
  method: string;
  path: string;
  operation: Operation;
  handler: RestOperation | undefined;
  policy: OperationPolicy;
  requiresAuth: boolean;
  /** `WWW-Authenticate` value for 401s, from the contract's security scheme. */
  challenge: string;
  /** Media types the contract declares for the request body, parameters stripped; undefined without a body. */
  bodyMediaTypes: string[] | undefined;
  /** The response statuses the contract lists for the operation (`200`, `4XX`, `default`). */
  statuses: Set<string>;
}

interface Mount {
  surface: AnySurface;
  prefix: string;
  prefixSlash: string;
  spec: LoadedSpec;
  api: OpenAPIBackend;
  ready: Promise<unknown>;
  router: Router;
  operations: Map<string, CompiledOperation>;
  websockets: Map<string, { endpoint: WebSocketEndpoint; server: WebSocketServer }>;
}

/** Why a request ended early, carried to the one place that writes errors. */
class RestFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly headers?: Record<string, string>,
    /** Added to the surface's error body (a DomainError's `restFields`). */
    readonly fields?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const graphqlStatus: Record<string, { status: number; code: string }> = {
  [ErrorCodes.unauthenticated]: { status: 401, code: 'unauthorized' },
  [ErrorCodes.forbidden]: { status: 403, code: 'forbidden' },
  [ErrorCodes.badUserInput]: { status: 400, code: 'invalid_parameter' },
  [ErrorCodes.notFound]: { status: 404, code: 'not_found' },
  [ErrorCodes.payloadTooLarge]: { status: 413, code: 'payload_too_large' },
};

const noBodyStatuses = new Set([204, 205, 304]);

/**
 * Mounts the five REST contracts. Per request: prefix → `<prefix>/openapi.json` (the original file) → compiled
 * router (404/405) → 413 on a declared oversize body → authentication (401/403) → body read with the size limit
 * and JSON parse (413/400/415) → openapi-backend validation (400) → handler (501 without one) → GraphQL execution
 * or direct handler → response. Every error is the product's own error body; every response has `x-request-id`.
 */
export function createRestShim(options: RestShimOptions): RestShim {
  const { execute, logger, maxBodyBytes, onOperation, services } = options;
  const mounts = options.surfaces.map(mount).sort((a, b) => b.prefix.length - a.prefix.length);
  // Ends WebSocket connections with their credential; one pub/sub subscription, started by the first watch.
  let credentialWatch: CredentialWatch | undefined;
  const prefixes = new Set<string>();
  for (const m of mounts) {
    if (prefixes.has(m.prefix)) throw new Error(`two REST surfaces share the prefix ${m.prefix}`);
    prefixes.add(m.prefix);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<boolean> {
    // The prefix is decided on the raw path: the URL parser has already resolved `%2e%2e` and `\` in `url`.
    const raw = rawPathOf(req.url);
    const unsafe = unsafePathReason(raw);
    const m = mountFor(unsafe ? raw.replaceAll('\\', '/') : url.pathname);
    if (!m) return false;
    const start = performance.now();
    res.setHeader('x-request-id', requestId);
    const state = { operationId: 'unmatched' };
    let status: number;
    try {
      if (unsafe) throw new RestFailure(400, unsafe, 'invalid_path');
      status = await serve(m, req, res, url, requestId, state);
    } catch (err) {
      status = fail(m, req, res, requestId, err, state.operationId);
    }
    onOperation?.(m.surface.product, state.operationId, status, (performance.now() - start) / 1000);
    return true;
  }

  async function serve(
    m: Mount,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    requestId: string,
    state: { operationId: string },
  ): Promise<number> {
    const method = (req.method ?? 'GET').toUpperCase();
    const relative = url.pathname.length === m.prefix.length ? '/' : url.pathname.slice(m.prefix.length);
    const head = method === 'HEAD';
    if ((method === 'GET' || head) && (relative === '/openapi.json' || relative === '/openapi.json/')) {
      state.operationId = 'openapi.json';
      return send(res, { status: 200, body: m.spec.original, headers: { 'content-type': jsonType } }, head);
    }

    const route = m.router.match(method, relative);
    if (route.kind === 'not-found' && m.websockets.has(trimTrailingSlash(relative))) {
      // A WebSocket endpoint asked for without an upgrade (e.g. the contract's "POST /ws").
      throw new RestFailure(
        426,
        `${relative} is a WebSocket endpoint: open it with GET and Upgrade: websocket`,
        'upgrade_required',
        { upgrade: 'websocket' },
      );
    }
    if (route.kind === 'not-found') throw new RestFailure(404, `No route for ${method} ${relative}`, 'not_found');
    if (route.kind === 'method-not-allowed') {
      throw new RestFailure(405, `Method ${method} is not allowed for ${relative}`, 'method_not_allowed', {
        allow: route.allow.join(', '),
      });
    }
    if (route.kind === 'bad-path') {
      // The operation is known: its error body (and metrics label) are the operation's.
      state.operationId = route.operationId;
      throw new RestFailure(400, route.message, 'invalid_parameter');
    }
    const op = m.operations.get(route.operationId) as CompiledOperation;
    state.operationId = op.operationId;

    // Refuse a declared oversize body before anything else, and read no body for a caller that fails auth.
    // A streaming upload (`streamsBody`) is bounded by its handler instead.
    const streaming = op.handler?.kind === 'direct' && op.handler.streamsBody === true;
    if (!streaming && declaredLength(req) > maxBodyBytes) throw tooLarge(req);

    // Without a door (a product whose credentials are not served yet) the request still gets the contract's own
    // 4xx first; it then answers 501 like an operation without a handler.
    const door = op.requiresAuth && m.surface.authenticate !== undefined;
    const principal = door ? await authenticate(m, op.operationId, op.policy, req, url, op.challenge) : anonymous;

    const body = streaming ? undefined : await readRequestBody(req, op);
    const query = parseQuery(url.searchParams);
    refuseControlCharacters(query);
    await m.ready;
    // An unread stream is validated like a byte body (the handler parses it): body checks are skipped.
    const coerced = validate(m, op, method, url.pathname, req, query, route.params, streaming ? Buffer.alloc(0) : body);

    const handler = op.requiresAuth && !door ? undefined : op.handler;
    if (!handler) {
      throw new RestFailure(
        501,
        `${op.method} ${op.path} (${op.operationId}) is not implemented yet`,
        'not_implemented',
      );
    }
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const restRequest: RestRequest = {
      signal: gone.signal,
      method,
      path: relative,
      operationId: op.operationId,
      params: route.params,
      query,
      rawQuery: url.search.startsWith('?') ? url.search.slice(1) : url.search,
      coerced,
      headers: req.headers,
      body,
      ...(streaming ? { stream: req } : {}),
      requestId,
      principal,
    };

    const run = async (): Promise<RestResponse> => {
      if (handler.kind === 'graphql') {
        const chosen = handler.instead?.(restRequest, services) ?? handler;
        const variables = await chosen.variables(restRequest, services);
        const result = await execute(chosen.document, variables, principal, requestId);
        if (result.errors && result.errors.length > 0) {
          throw graphqlFailure(m, op, result.errors, result.data === undefined, requestId);
        }
        if (result.data === null || result.data === undefined)
          throw new Error('GraphQL result has neither data nor errors');
        return chosen.respond(result.data, restRequest);
      }
      return handler.handle(restRequest, services);
    };
    const response =
      op.policy.idempotency === 'header'
        ? // The store records outcomes, so expected failures become responses before it sees them.
          await withIdempotency(services, restRequest, () =>
            run().catch((err: unknown) => {
              const expected = expectedFailure(err);
              if (!expected) throw err;
              const failure = inContract(op, expected);
              const body = m.surface.errorBody(
                failure.status,
                failure.message,
                failure.code,
                requestId,
                op.operationId,
              );
              return { status: failure.status, body, headers: { ...failure.headers, 'content-type': jsonType } };
            }),
          )
        : await run();
    return send(res, response, head);
  }

  /** Runs the surface's door for an operation (or WebSocket endpoint); throws the refusal as a RestFailure. */
  async function authenticate(
    m: Mount,
    operationId: string,
    policy: OperationPolicy,
    req: IncomingMessage,
    url: URL,
    challenge: string,
  ): Promise<Principal> {
    const door = m.surface.authenticate;
    if (!door) {
      throw new RestFailure(501, `Authentication for ${m.surface.product} is not implemented yet`, 'not_implemented');
    }
    const auth = await door(authRequest(operationId, policy, req.headers, parseQuery(url.searchParams), req));
    if (!auth.ok) {
      const challengeHeader = auth.status === 401 ? { 'www-authenticate': challenge } : undefined;
      throw new RestFailure(auth.status, auth.message, auth.code ?? statusCode(auth.status), {
        ...challengeHeader,
        ...auth.headers,
      });
    }
    return auth.principal;
  }

  function authRequest(
    operationId: string,
    policy: OperationPolicy,
    headers: RestRequest['headers'],
    query: Record<string, string | string[]>,
    req: IncomingMessage,
  ): AuthRequest {
    return { headers, query, origin: { remoteAddress: req.socket.remoteAddress }, operationId, policy, services };
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, requestId: string): boolean {
    const raw = rawPathOf(req.url);
    const unsafe = unsafePathReason(raw);
    const m = mountFor(unsafe ? raw.replaceAll('\\', '/') : url.pathname);
    if (!m) return false;
    if (unsafe) {
      rejectUpgrade(socket, 400, m.surface.errorBody(400, unsafe, 'invalid_path', requestId));
      return true;
    }
    const relative = trimTrailingSlash(url.pathname.slice(m.prefix.length) || '/');
    const ws = m.websockets.get(relative);
    if (!ws) {
      rejectUpgrade(
        socket,
        404,
        m.surface.errorBody(404, `No WebSocket endpoint at ${relative}`, 'not_found', requestId),
      );
      return true;
    }
    const { endpoint, server } = ws;
    const operationId = `ws:${relative}`;
    const policy: OperationPolicy = endpoint.policy ?? m.surface.defaultPolicy ?? {};
    const challenge = `Bearer realm="${m.surface.product}"`;
    const accept = (principal: Principal) => {
      server.handleUpgrade(req, socket, head, (client) => {
        endpoint.accept(client, {
          principal,
          request: req,
          requestId,
          services,
          authenticate: async (headers) => {
            const door = m.surface.authenticate;
            if (!door) return { ok: false, status: 401, message: 'Authentication is not available' };
            return door(authRequest(operationId, policy, headers, parseQuery(url.searchParams), req));
          },
          watchCredential: (who, onEnd) => {
            credentialWatch ??= createCredentialWatch(services.pubsub);
            return credentialWatch.watch(who, onEnd);
          },
        });
      });
    };
    if (endpoint.auth === 'protocol') {
      accept(anonymous);
      return true;
    }
    authenticate(m, operationId, policy, req, url, challenge).then(accept, (err: unknown) => {
      const failure = expectedFailure(err) ?? new RestFailure(500, 'Internal server error', 'internal_error');
      if (failure.status === 500)
        logger.error({ err, requestId, product: m.surface.product }, 'WebSocket upgrade failed');
      const body = m.surface.errorBody(failure.status, failure.message, failure.code, requestId);
      rejectUpgrade(socket, failure.status, body, failure.headers);
    });
    return true;
  }

  function mountFor(path: string): Mount | undefined {
    for (const candidate of mounts) {
      if (path === candidate.prefix || path.startsWith(candidate.prefixSlash)) return candidate;
    }
    return undefined;
  }

  function expectedFailure(err: unknown): RestFailure | undefined {
    if (err instanceof RestFailure) return err;
    if (err instanceof DomainError) {
      return new RestFailure(
        err.httpStatus,
        err.message,
        err.restCode ?? err.code.toLowerCase(),
        undefined,
        err.restFields,
      );
    }
    if (err instanceof IdempotencyRefusal) return new RestFailure(err.status, err.message, err.code);
    if (err instanceof AuthorizationError) {
      const status = err.code === ErrorCodes.unauthenticated ? 401 : 403;
      return new RestFailure(status, err.message, statusCode(status));
    }
    return undefined;
  }

  function graphqlFailure(
    m: Mount,
    op: CompiledOperation,
    errors: readonly GraphQLError[],
    requestError: boolean,
    requestId: string,
  ): Error {
    for (const error of errors) {
      const mapped = graphqlStatus[String(error.extensions?.code)];
      if (mapped) {
        const challenge = mapped.status === 401 ? { 'www-authenticate': op.challenge } : undefined;
        return new RestFailure(mapped.status, error.message, mapped.code, challenge);
      }
    }
    // A request error (no data at all) is the variables failing coercion: a value the contract allows but the
    // schema cannot hold (an integer beyond Int, …). That is the caller's input, so 400, not 500.
    const coercion = requestError
      ? errors.find((e) => e.path === undefined && e.message.startsWith('Variable "$'))
      : undefined;
    if (coercion) return new RestFailure(400, describeCoercionError(coercion.message), 'invalid_parameter');
    logger.error(
      { requestId, product: m.surface.product, operationId: op.operationId, errors: errors.map((e) => e.message) },
      'GraphQL errors without a REST mapping',
    );
    return new RestFailure(500, 'Internal server error', 'internal_error');
  }

  /** Writes the product's error body for `err`; unexpected errors are logged and answer a generic 500. */
  function fail(
    m: Mount,
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    err: unknown,
    operationId: string,
  ): number {
    // A body the request still sends (a refused or failed upload) is not read: the connection is not reused.
    if (!req.complete && !res.headersSent) res.setHeader('connection', 'close');
    let failure = expectedFailure(err);
    if (!failure) {
      logger.error({ err, requestId, product: m.surface.product, operationId }, 'REST operation failed');
      failure = new RestFailure(500, 'Internal server error', 'internal_error');
    }
    const op = m.operations.get(operationId);
    if (op) failure = inContract(op, failure);
    if (res.headersSent) {
      res.destroy();
      return failure.status;
    }
    const routed = operationId === 'unmatched' ? undefined : operationId;
    const base = m.surface.errorBody(failure.status, failure.message, failure.code, requestId, routed);
    const body = failure.fields && base !== null && typeof base === 'object' ? { ...base, ...failure.fields } : base;
    const headers = { ...failure.headers, 'content-type': jsonType };
    return send(res, { status: failure.status, body, headers }, req.method === 'HEAD');
  }

  function mount(surface: AnySurface): Mount {
    if (!/^\/[A-Za-z0-9._-]+$/.test(surface.prefix)) throw new Error(`bad REST prefix "${surface.prefix}"`);
    const spec = loadSpec(surface.contract);
    const handlers = mountedOperations(surface);
    const api = createBackend(spec, { apiRoot: surface.prefix, quick: true });
    // quick + an in-memory document: init() finishes synchronously; `ready` is awaited anyway before validating.
    const ready = api.init().then(() => useRoutedParams(api));
    ready.catch((err: unknown) => logger.error({ err, product: surface.product }, 'OpenAPI backend failed to start'));
    if (!api.initialized) throw new Error(`${surface.product}: openapi-backend did not initialise synchronously`);
    // getOperation() rebuilds the whole operation list per call; index it once.
    const dereferenced = new Map(api.getOperations().map((op) => [op.operationId as string, op]));
    const operations = new Map<string, CompiledOperation>();
    for (const { operationId, method, path } of spec.operations) {
      const operation = dereferenced.get(operationId);
      if (!operation) throw new Error(`${surface.product}: openapi-backend lost operation ${operationId}`);
      const security = (operation.security ?? []) as SecurityRequirement[];
      const contractRequires = security.length > 0 && !security.some((r) => Object.keys(r).length === 0);
      const content = (operation.requestBody as { content?: Record<string, unknown> } | undefined)?.content;
      const handler = handlers.get(operationId)?.operation;
      const policy: OperationPolicy = { ...surface.defaultPolicy, ...handler?.policy };
      const auth = policy.auth ?? 'contract';
      operations.set(operationId, {
        operationId,
        method,
        path,
        operation,
        handler,
        policy,
        requiresAuth: auth === 'contract' ? contractRequires : auth === 'required',
        challenge: challengeFor(spec, security, surface.product),
        bodyMediaTypes: content ? Object.keys(content).map(mediaType) : undefined,
        statuses: new Set(Object.keys((operation.responses ?? {}) as Record<string, unknown>)),
      });
    }
    const websockets = new Map<string, { endpoint: WebSocketEndpoint; server: WebSocketServer }>();
    for (const [path, endpoint] of Object.entries(surface.websockets ?? {})) {
      if (!/^\/[A-Za-z0-9._/-]*$/.test(path)) throw new Error(`${surface.product}: bad WebSocket path "${path}"`);
      const server = new WebSocketServer({ noServer: true, maxPayload: endpoint.maxPayload ?? maxBodyBytes });
      websockets.set(trimTrailingSlash(path), { endpoint, server });
    }
    return {
      surface,
      prefix: surface.prefix,
      prefixSlash: `${surface.prefix}/`,
      spec,
      api,
      ready,
      router: compileRouter(spec.operations),
      operations,
      websockets,
    };
  }

  async function readRequestBody(req: IncomingMessage, op: CompiledOperation): Promise<unknown> {
    if (!hasBody(req)) return undefined;
    const raw = await readLimited(req, maxBodyBytes);
    if (raw === undefined) throw tooLarge(req);
    const type = mediaType(header(req.headers['content-type']) ?? '');
    if (isJson(type)) {
      if (raw.length === 0) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8')) as unknown;
      } catch (err) {
        throw new RestFailure(400, `Malformed JSON body: ${(err as Error).message}`, 'invalid_json');
      }
      if (jsonDeeperThan(parsed, maxJsonDepth)) {
        throw new RestFailure(400, `JSON body nests deeper than ${maxJsonDepth} levels`, 'invalid_json');
      }
      const at = findNul(parsed);
      if (at !== undefined) {
        throw new RestFailure(400, `body.${at}: must not contain U+0000 (NUL)`.slice(0, 300), 'invalid_parameter');
      }
      return parsed;
    }
    if (raw.length === 0) return undefined;
    const anyBody = op.handler?.kind === 'graphql' && op.handler.acceptsAnyBody === true;
    if (!anyBody && op.bodyMediaTypes && !op.bodyMediaTypes.some((declared) => mediaMatches(declared, type))) {
      const accepted = op.bodyMediaTypes.join(', ');
      throw new RestFailure(
        415,
        `Content-Type "${type}" is not accepted here (use ${accepted})`,
        'unsupported_media_type',
      );
    }
    return raw;
  }

  async function close(): Promise<void> {
    await Promise.all(
      mounts.flatMap((m) =>
        [...m.websockets.values()].map(
          ({ server }) =>
            new Promise<void>((resolve) => {
              for (const client of server.clients) client.close(1001, 'Server shutting down');
              server.close(() => resolve());
            }),
        ),
      ),
    );
    await credentialWatch?.close();
    credentialWatch = undefined;
  }

  return { handle, handleUpgrade, close };
}

/**
 * A refusal in a status the operation's contract lists: a credential that may not do this (403) answers the
 * contract's 401 where the contract has no 403 (GoClaw's key operations), with the refusal's own message.
 */
function inContract(op: CompiledOperation, failure: RestFailure): RestFailure {
  const listed = (status: number) =>
    op.statuses.has(String(status)) || op.statuses.has(`${String(status)[0]}XX`) || op.statuses.has('default');
  if (failure.status !== 403 || listed(403) || !listed(401)) return failure;
  return new RestFailure(401, failure.message, 'unauthorized', {
    'www-authenticate': op.challenge,
    ...failure.headers,
  });
}

function trimTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.replace(/\/+$/, '') || '/' : path;
}

/** Answers a refused WebSocket upgrade with an HTTP response in the product's error body, then closes. */
function rejectUpgrade(socket: Duplex, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Connection: close',
    `Content-Type: ${jsonType}`,
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

function validate(
  m: Mount,
  op: CompiledOperation,
  method: string,
  fullPath: string,
  req: IncomingMessage,
  query: Record<string, string | string[]>,
  params: Record<string, string>,
  body: unknown,
): RestRequest['coerced'] {
  const bytes = Buffer.isBuffer(body);
  const request: Request = {
    method,
    path: fullPath,
    headers: req.headers as Request['headers'],
    query,
    // Non-JSON bodies (uploads) are the handler's to parse; openapi-backend only knows JSON-shaped bodies.
    body: bytes ? undefined : body,
  };
  const result = validateRouted(m.api, request, params, op.operation);
  let errors = result.errors ?? [];
  if (bytes) errors = errors.filter((e) => !isBodyError(e));
  const extra = op.handler?.extraQuery;
  if (extra) errors = errors.filter((e) => !isExtraQuery(e, extra));
  if (errors.length > 0) {
    const first = errors[0] as ErrorObject;
    const missing = String((first.params as { missingProperty?: unknown }).missingProperty ?? '');
    // A missing required header names itself (`missing_idempotency_key`); other missing values are fields.
    const code =
      first.keyword !== 'required'
        ? 'invalid_parameter'
        : first.instancePath === '/header'
          ? `missing_${missing.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`
          : 'missing_required_field';
    throw new RestFailure(400, describeErrors(errors), code);
  }
  const coerced = result.coerced as { params?: Record<string, unknown>; query?: Record<string, unknown> } | undefined;
  return { params: coerced?.params ?? { ...params }, query: coerced?.query ?? { ...query } };
}

/** Query keys and values are identifiers and plain text: a control character in one is refused (400). */
function refuseControlCharacters(query: Record<string, string | string[]>): void {
  for (const [key, value] of Object.entries(query)) {
    const values = Array.isArray(value) ? value : [value];
    if (hasControlCharacter(key) || values.some(hasControlCharacter)) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
      const name = key.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 100);
      throw new RestFailure(400, `query.${name}: must not contain control characters`, 'invalid_parameter');
    }
  }
}

/**
 * graphql-js' variable coercion message (`Variable "$input" got invalid value 2147483648 at "input.expiresIn";
 * Int cannot represent …`) in the contract's terms: where, and why, without the GraphQL variable plumbing.
 */
export function describeCoercionError(message: string): string {
  const match = /^Variable "\$([^"]+)" got invalid value [\s\S]*?(?: at "([^"]+)")?; ([\s\S]*)$/.exec(message);
  const text = match ? `${match[2] ?? match[1]}: ${match[3]}` : 'A value in the request is invalid';
  return text.replaceAll('\u0000', '\\u0000').slice(0, 300);
}

function isExtraQuery(e: ErrorObject, extra: readonly string[] | 'any'): boolean {
  if (e.keyword !== 'additionalProperties' || e.instancePath !== '/query') return false;
  return extra === 'any' || extra.includes(String((e.params as { additionalProperty?: string }).additionalProperty));
}

function isBodyError(e: ErrorObject): boolean {
  return (
    e.instancePath.startsWith('/requestBody') ||
    (e.keyword === 'required' && (e.params as { missingProperty?: string }).missingProperty === 'requestBody')
  );
}

const locations: Record<string, string> = { requestBody: 'body', path: 'path', query: 'query', header: 'header' };

/** `body.name: must be string; query.limit: must be integer` — Ajv's messages with request locations. */
export function describeErrors(errors: readonly ErrorObject[]): string {
  const parts = errors.slice(0, 5).map((e) => {
    const segments = e.instancePath.split('/').slice(1);
    const where = segments.map((s, i) => (i === 0 ? (locations[s] ?? s) : /^\d+$/.test(s) ? `[${s}]` : `.${s}`));
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required') {
      const missing = String(params.missingProperty);
      if (where.length === 0) return `${locations[missing] ?? missing}: is required`;
      return `${where.join('')}.${e.instancePath.startsWith('/header') ? missing.toLowerCase() : missing}: is required`;
    }
    if (e.keyword === 'additionalProperties') {
      const extra = String(params.additionalProperty);
      return `${where.join('')}.${extra}: is not allowed${where[0] === 'query' ? ' (unknown query parameter)' : ''}`;
    }
    if (e.keyword === 'parse') return `${where.join('') || 'body'}: ${e.message}`;
    const allowed = e.keyword === 'enum' ? ` (${(params.allowedValues as unknown[]).join(', ')})` : '';
    return `${where.join('') || 'request'}: ${e.message ?? 'is invalid'}${allowed}`;
  });
  const more = errors.length > 5 ? `; and ${errors.length - 5} more` : '';
  return `${parts.join('; ')}${more}`.slice(0, 1000);
}

const jsonType = 'application/json; charset=utf-8';

/** Writes a response; returns its status. */
function send(res: ServerResponse, response: RestResponse, head: boolean): number {
  const { status } = response;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
  const body = response.body;
  if (body instanceof Readable) {
    headers['content-type'] ??= 'application/octet-stream';
    res.writeHead(status, headers);
    if (head || noBodyStatuses.has(status)) {
      body.destroy();
      res.end();
    } else {
      body.on('error', () => res.destroy());
      // A client that goes away ends the stream's producer too (pipe only unpipes).
      res.once('close', () => {
        if (!body.readableEnded) body.destroy();
      });
      body.pipe(res);
    }
    return status;
  }
  let bytes: Buffer | undefined;
  if (body === undefined || noBodyStatuses.has(status)) bytes = undefined;
  else if (typeof body === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    bytes = Buffer.from(body, 'utf8');
  } else if (body instanceof Uint8Array) {
    headers['content-type'] ??= 'application/octet-stream';
    bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  } else {
    headers['content-type'] ??= jsonType;
    bytes = Buffer.from(JSON.stringify(body), 'utf8');
  }
  if (!noBodyStatuses.has(status)) headers['content-length'] = String(bytes?.length ?? 0);
  res.writeHead(status, headers);
  res.end(head ? undefined : bytes);
  return status;
}

function tooLarge(req: IncomingMessage): RestFailure {
  // Whatever is left of the body is discarded by Node once the response is sent.
  req.resume();
  return new RestFailure(413, 'Request body is too large', 'payload_too_large');
}

function declaredLength(req: IncomingMessage): number {
  const value = req.headers['content-length'];
  return value === undefined ? 0 : Number(value);
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads at most `limit` bytes; undefined (and the rest discarded) when the body is larger. */
function parseQuery(params: URLSearchParams): Record<string, string | string[]> {
  // No prototype: a `__proto__` query key must stay a key.
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of params) {
    const previous = query[key];
    query[key] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return query;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function mediaType(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

function isJson(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

function mediaMatches(declared: string, actual: string): boolean {
  if (declared === actual || declared === '*/*') return true;
  return declared.endsWith('/*') && actual.startsWith(declared.slice(0, -1));
}

function statusCode(status: number): string {
  return status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'error';
}

/**
 * The 401 challenge for an operation: its first security scheme, else the document's first scheme, else Bearer
 * (a 401 must carry one; Athena, which declares none, also takes `Authorization: Bearer`).
 */
function challengeFor(spec: LoadedSpec, security: SecurityRequirement[], product: string): string {
  const schemes = (spec.document.components?.securitySchemes ?? {}) as Record<string, unknown>;
  const name = security.flatMap((r) => Object.keys(r))[0] ?? Object.keys(schemes)[0];
  if (name === undefined) return `Bearer realm="${product}"`;
  const scheme = resolveLocal(spec.document, schemes[name]) as { type?: string; scheme?: string; name?: string };
  if (scheme?.type === 'http' && scheme.scheme) {
    const title = scheme.scheme.charAt(0).toUpperCase() + scheme.scheme.slice(1).toLowerCase();
    return `${title} realm="${product}"`;
  }
  if (scheme?.type === 'apiKey') return `ApiKey realm="${product}", header="${scheme.name ?? ''}"`;
  return `Bearer realm="${product}"`;
}
