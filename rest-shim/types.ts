import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { ExecutionResult } from 'graphql';
import type { Principal, Product } from '../src/core/auth/principal.ts';

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
 * The normal shape of a REST operation: translate the request to variables of one GraphQL document,
 * execute it, map `data` onto the contract's response. GraphQL errors with `extensions.code` are mapped
 * by the shim (UNAUTHENTICATED 401, FORBIDDEN 403, BAD_USER_INPUT 400, NOT_FOUND 404, else 500).
 */
export interface GraphQLRestOperation<R = unknown, V = unknown> {
  kind: 'graphql';
  /**
   * Accept request bodies of any Content-Type, not only the contract's (mcp-v8's exec takes the raw script
   * for non-JSON types); the handler receives them as a Buffer and decides (e.g. 415 for multipart).
   */
  acceptsAnyBody?: boolean;
  /** Query parameters the handler reads although the contract does not declare them (not rejected as unknown). */
  extraQuery?: readonly string[];
  document: TypedDocumentNode<R, V>;
  variables(req: RestRequest): V;
  respond(data: R, req: RestRequest): RestResponse;
}

/**
 * Operations a JSON GraphQL result cannot carry (byte streams, proxies, SSE, redirects, text bodies)
 * call services directly. Keep these rare; each one is listed by `directOperations()` for review.
 */
export interface DirectRestOperation {
  kind: 'direct';
  reason: string;
  handle(req: RestRequest): Promise<RestResponse>;
}

export type RestOperation = GraphQLRestOperation<any, any> | DirectRestOperation;

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403 | 429; message: string; code?: string; headers?: Record<string, string> };

/** Where a request came from, for credential checks that depend on it (IP allowlists). */
export interface RequestOrigin {
  /** The socket's peer address (proxies are not trusted). */
  remoteAddress: string | undefined;
}

/** One product's REST contract mounted under its prefix. */
export interface ProductSurface {
  product: Product;
  /** Mount prefix, e.g. `/goclaw`. */
  prefix: string;
  /** File name under rest-shim/specs/. */
  specFile: string;
  /** The contract's error body for a status and message. */
  errorBody(status: number, message: string, code: string, requestId: string): unknown;
  /**
   * Turns the product's own credential headers into a Principal. Called for operations whose contract
   * requires security; absent means the product's auth is not implemented yet (its operations answer 501).
   */
  authenticate?(headers: RestRequest['headers'], operationId: string, origin: RequestOrigin): Promise<AuthResult>;
  /**
   * Wraps every served operation after validation (Polykomos' Idempotency-Key store). `next` runs the handler and
   * returns its response, with expected failures (RestFailure, DomainError) already turned into error responses.
   */
  intercept?(req: RestRequest, next: () => Promise<RestResponse>): Promise<RestResponse>;
  /**
   * Overrides whether an operation requires authentication. By default the contract decides (operation
   * `security`, else the document's; `[]` means none). Athena declares no security at all (its credentials are
   * header parameters), so its surface will need this.
   */
  requiresAuth?(operationId: string): boolean;
  operations: Record<string, RestOperation>;
}
