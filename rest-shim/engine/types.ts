import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import type { CredentialEnd } from '../../src/core/auth/credential-watch.ts';
import type { Principal, Product } from '../../src/core/auth/principal.ts';
import type { Services } from '../../src/core/services.ts';
import type { ContractSource } from './specs.ts';

/** A REST request after routing, body parsing and contract validation. */
export interface RestRequest {
  method: string;
  /** Path below the product prefix, e.g. `/v1/api-keys/123`. */
  path: string;
  operationId: string;
  /** Decoded path parameters. */
  params: Record<string, string>;
  /** Raw query values (repeated keys become arrays). */
  query: Record<string, string | string[]>;
  /** The query string as sent, without `?` (grammars that need order, duplicates and their own decoding). */
  rawQuery: string;
  /**
   * Path and query values as validation coerced them to the contract's types (integers, booleans, arrays),
   * e.g. `coerced.query.limit` is a number where the contract declares `type: integer`.
   */
  coerced: { params: Record<string, unknown>; query: Record<string, unknown> };
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON for JSON bodies, a Buffer for any other content type, undefined without a body. */
  body: unknown;
  requestId: string;
  principal: Principal;
  /** Aborted when the client goes away before the response has been sent in full (long runs, streams). */
  signal?: AbortSignal;
  /**
   * The unread request body of a direct operation with `streamsBody` (uploads streamed on without buffering);
   * `body` is then undefined and the handler bounds what it reads.
   */
  stream?: Readable;
}

export interface RestResponse {
  status: number;
  /**
   * Serialised as JSON unless it is a string, a Buffer/Uint8Array or a Readable stream (then sent as is, with
   * `text/plain` or `application/octet-stream` unless `headers` name a content type).
   */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Executes a document (parsed and validated once at startup) against the schema as `principal`. */
export type GraphQLExecutor = <R, V>(
  document: TypedDocumentNode<R, V>,
  variables: V,
  principal: Principal,
  requestId: string,
) => Promise<ExecutionResult<R>>;

/**
 * Policy the engine itself applies to an operation, declared on the operation. A surface extends it with its own
 * fields (scopes, rights, caller kinds), which its `authenticate` reads.
 */
export interface OperationPolicy {
  /**
   * Whether a credential is required: `contract` (the default) follows the operation's `security`, `required` and
   * `none` override it (contracts that declare no security for operations that must have one, or the reverse).
   */
  auth?: 'contract' | 'required' | 'none';
  /**
   * `header`: Stripe-like `Idempotency-Key` replay. Per principal, the first request runs and its outcome (< 500) is
   * recorded sealed; a repeat with the same request gets it verbatim (`Idempotent-Replayed: true`), another
   * request with the same key 422, a repeat while the first runs 409.
   */
  idempotency?: 'header';
}

interface OperationBase<P extends OperationPolicy> {
  /** The operation's policy; checked before its document runs. */
  policy?: P;
  /**
   * Accept request bodies of any Content-Type, not only the contract's (mcp-v8's exec takes the raw script
   * for non-JSON types); the handler receives them as a Buffer and decides (e.g. 415 for multipart).
   */
  acceptsAnyBody?: boolean;
  /**
   * Query parameters the handler reads although the contract does not declare them (not rejected as unknown);
   * `any` for grammars whose keys are column names (PostgREST's `col=eq.1`).
   */
  extraQuery?: readonly string[] | 'any';
}

/**
 * The normal shape of a REST operation: translate the request to variables of one GraphQL document,
 * execute it, map `data` onto the contract's response. GraphQL errors with `extensions.code` are mapped
 * by the shim (UNAUTHENTICATED 401, FORBIDDEN 403, BAD_USER_INPUT 400, NOT_FOUND 404, else 500).
 */
export interface GraphQLRestOperation<R = unknown, V = unknown, P extends OperationPolicy = OperationPolicy>
  extends OperationBase<P> {
  kind: 'graphql';
  document: TypedDocumentNode<R, V>;
  /**
   * The document's variables. May read services (asynchronously) where the request's grammar depends on the
   * database — `GET /rpc/{fn}` tells arguments from filters by the function's declared argument names.
   */
  variables(req: RestRequest, services: Services): V | Promise<V>;
  respond(data: R, req: RestRequest): RestResponse;
  /**
   * Another GraphQL operation that serves this particular request, chosen after authentication and validation
   * (undefined: this one): a request the same route answers with a different field — Athena's `X-Athena-Defer`
   * stores the request instead of running it. Its own `instead` is not consulted.
   */
  instead?(req: RestRequest, services: Services): GraphQLRestOperation<any, any, P> | undefined;
}

/**
 * Operations a JSON GraphQL result cannot carry (byte streams, proxies, SSE, redirects, text bodies)
 * call services directly. Keep these rare; each one is listed in docs/rest-coverage.md with its reason.
 */
export interface DirectRestOperation<P extends OperationPolicy = OperationPolicy> extends OperationBase<P> {
  kind: 'direct';
  reason: string;
  /**
   * The engine neither reads nor size-checks the body: the handler gets it as `req.stream` and streams it on
   * (uploads larger than the JSON body limit), enforcing its own bound. Contract checks of the body are skipped.
   */
  streamsBody?: boolean;
  handle(req: RestRequest, services: Services): Promise<RestResponse>;
}

export type RestOperation<P extends OperationPolicy = OperationPolicy> =
  | GraphQLRestOperation<any, any, P>
  | DirectRestOperation<P>;

/** Operations of one capability group, keyed by operationId, with the test file that drives them. */
export interface OperationGroup<P extends OperationPolicy = OperationPolicy> {
  /** Names the group in the coverage index, e.g. `databases`. */
  name: string;
  /** The test file that drives these operations (checked to exist; listed in docs/rest-coverage.md). */
  test: string;
  operations: Readonly<Record<string, RestOperation<P>>>;
}

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403 | 429; message: string; code?: string; headers?: Record<string, string> };

/** Where a request came from, for credential checks that depend on it (IP allowlists). */
export interface RequestOrigin {
  /** The socket's peer address (proxies are not trusted). */
  remoteAddress: string | undefined;
}

/** What a surface's `authenticate` receives for one request (or WebSocket upgrade). */
export interface AuthRequest<P extends OperationPolicy = OperationPolicy> {
  headers: RestRequest['headers'];
  /** Decoded query values (WebSocket clients in browsers cannot set headers). */
  query: Record<string, string | string[]>;
  origin: RequestOrigin;
  /** The operation's id (or `ws:<path>` for a WebSocket endpoint) and its declared policy. */
  operationId: string;
  policy: P;
  services: Services;
}

/**
 * A WebSocket endpoint under a surface's prefix (GoClaw's `/ws` RPC, Athena's gateway). `auth: 'upgrade'` runs the
 * surface's `authenticate` on the upgrade request (refused upgrades get the HTTP status); `auth: 'protocol'` accepts
 * the socket and leaves credentials to the protocol's own handshake, which calls `ctx.authenticate`.
 */
export interface WebSocketEndpoint<P extends OperationPolicy = OperationPolicy> {
  auth: 'upgrade' | 'protocol';
  /** What the endpoint speaks (the operation index lists it). */
  description: string;
  /** The test file that drives it (must exist, like a group's). */
  test: string;
  policy?: P;
  /** Largest message accepted, bytes (default: the server's body limit). */
  maxPayload?: number;
  accept(socket: WebSocket, ctx: WebSocketContext): void;
}

export interface WebSocketContext {
  /** The upgrade's principal (`anonymous` for `auth: 'protocol'` until the protocol authenticates). */
  principal: Principal;
  request: IncomingMessage;
  requestId: string;
  services: Services;
  /** The surface's door applied to credentials the protocol carries (same codes and checks as REST). */
  authenticate(headers: RestRequest['headers']): Promise<AuthResult>;
  /**
   * Calls `onEnd` once when the principal's credential is revoked (core's `credential.revoked`, on every replica)
   * or expires; returns the disposer. The admin key never ends this way.
   */
  watchCredential(principal: Principal, onEnd: (end: CredentialEnd) => void): () => void;
}

/** One product's REST contract mounted under its prefix: the surface declaration. */
export interface RestSurface<P extends OperationPolicy = OperationPolicy> {
  product: Product;
  /** Mount prefix, e.g. `/goclaw`. */
  prefix: string;
  contract: ContractSource;
  /**
   * The contract's error body for a status and message. `operationId` is the routed operation (undefined before
   * routing), for contracts whose error schema differs per operation (mcp-v8's cancel answers `CancelResult`).
   */
  errorBody(status: number, message: string, code: string, requestId: string, operationId?: string): unknown;
  /**
   * Turns the product's own credential headers into a Principal and checks the operation's policy. Called for
   * operations that require a credential (see `OperationPolicy.auth`); absent, nothing is served (501).
   */
  authenticate?(request: AuthRequest<P>): Promise<AuthResult>;
  /** The policy of operations that declare none (e.g. `{ auth: 'required' }` for a contract without security). */
  defaultPolicy?: P;
  /** Capability groups; an operationId in two groups is a start-up error. */
  groups: readonly OperationGroup<P>[];
  /** WebSocket endpoints by path below the prefix, e.g. `/ws`. */
  websockets?: Readonly<Record<string, WebSocketEndpoint<P>>>;
}

/** A surface whatever its policy type (the list of surfaces). */
export type AnySurface = RestSurface<any>;
