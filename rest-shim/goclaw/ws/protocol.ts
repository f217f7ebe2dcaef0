import { AuthorizationError, DomainError } from '../../../src/core/errors.ts';

/*
 * GoClaw's WebSocket RPC, protocol v3 (upstream `pkg/protocol`): JSON text frames discriminated by `type`.
 *   req   client → server  {type: "req", id, method, params?}
 *   res   server → client  {type: "res", id, ok, payload?, error?: {code, message, details?, retryable?, retryAfterMs?}}
 *   event server → client  {type: "event", event, payload?, seq}
 */

export const protocolVersion = 3;
export const serverInfo = { name: 'goclaw', version: '0.2.0' } as const;

/** Upstream's error codes (`pkg/protocol/errors.go`); the ones this server answers are listed in docs/goclaw.md. */
export type RpcErrorCode =
  | 'INVALID_REQUEST'
  | 'UNAVAILABLE'
  | 'AGENT_TIMEOUT'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'INTERNAL';

export interface RpcErrorShape {
  code: RpcErrorCode;
  message: string;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

export interface ResponseFrame {
  type: 'res';
  id: string;
  ok: boolean;
  payload?: unknown;
  error?: RpcErrorShape;
}

export interface EventFrame {
  type: 'event';
  event: string;
  payload?: unknown;
  seq: number;
}

export interface RequestFrame {
  type: 'req';
  id: string;
  method: string;
  params: Record<string, unknown>;
}

/** A method's expected refusal, answered as `res {ok: false, error}`. */
export class RpcError extends Error {
  constructor(
    readonly code: RpcErrorCode,
    message: string,
    readonly extra: Pick<RpcErrorShape, 'details' | 'retryable' | 'retryAfterMs'> = {},
  ) {
    super(message);
    this.name = 'RpcError';
  }

  shape(): RpcErrorShape {
    return { code: this.code, message: this.message, ...this.extra };
  }
}

export const invalid = (message: string) => new RpcError('INVALID_REQUEST', message);

const maxIdLength = 256;

/**
 * Parses one text frame into a request, or throws an RpcError carrying the id it could read ('' when none):
 * malformed JSON, a frame that is not `req`, a missing id or method, params that are not an object.
 */
export function parseRequest(text: string): RequestFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    throw Object.assign(invalid('invalid frame: malformed JSON'), { requestId: '' });
  }
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
    throw Object.assign(invalid('invalid frame: expected a JSON object'), { requestId: '' });
  }
  const f = frame as Record<string, unknown>;
  const id = typeof f.id === 'string' && f.id.length <= maxIdLength ? f.id : '';
  const fail = (message: string) => Object.assign(invalid(message), { requestId: id });
  if (f.type !== 'req') throw fail(`unexpected frame type: ${typeof f.type === 'string' ? f.type.slice(0, 40) : ''}`);
  if (typeof f.id !== 'string' || f.id === '' || f.id.length > maxIdLength)
    throw fail(`id must be a string of 1–${maxIdLength} characters`);
  if (typeof f.method !== 'string' || f.method === '') throw fail('method must be a non-empty string');
  if (f.params !== undefined && f.params !== null && (typeof f.params !== 'object' || Array.isArray(f.params)))
    throw fail('params must be an object');
  return { type: 'req', id: f.id, method: f.method, params: (f.params ?? {}) as Record<string, unknown> };
}

/** The id a parse failure could still read, so the refusal is correlated when possible. */
export const failedRequestId = (err: unknown) => (err as { requestId?: string }).requestId ?? '';

/**
 * A thrown error as the protocol's error shape: RpcErrors as they are; the services' expected failures by their
 * REST status (400 INVALID_REQUEST, 403 and role refusals UNAUTHORIZED as upstream, 404 NOT_FOUND, 409
 * ALREADY_EXISTS, 429 RESOURCE_EXHAUSTED retryable); anything else INTERNAL without details (it is logged).
 */
export function errorShape(err: unknown): { shape: RpcErrorShape; unexpected: boolean } {
  if (err instanceof RpcError) return { shape: err.shape(), unexpected: false };
  if (err instanceof AuthorizationError)
    return { shape: { code: 'UNAUTHORIZED', message: err.message }, unexpected: false };
  if (err instanceof DomainError) {
    const status = err.httpStatus;
    const code: RpcErrorCode =
      status === 401 || status === 403
        ? 'UNAUTHORIZED'
        : status === 404
          ? 'NOT_FOUND'
          : status === 409
            ? 'ALREADY_EXISTS'
            : status === 429
              ? 'RESOURCE_EXHAUSTED'
              : status >= 500
                ? 'UNAVAILABLE'
                : 'INVALID_REQUEST';
    return {
      shape: { code, message: err.message, ...(status === 429 ? { retryable: true, retryAfterMs: 1000 } : {}) },
      unexpected: false,
    };
  }
  return { shape: { code: 'INTERNAL', message: 'internal error' }, unexpected: true };
}
