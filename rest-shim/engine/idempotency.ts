import { createHash } from 'node:crypto';
import { Prisma } from '../../prisma/generated/client/client.ts';
import { principalId } from '../../src/core/auth/principal.ts';
import type { CoreServices } from '../../src/core/services.ts';
import type { RestRequest, RestResponse } from './types.ts';

/** An answer the store gives instead of running the operation (the shim writes it in the product's error body). */
export class IdempotencyRefusal extends Error {
  constructor(
    readonly status: 409 | 422,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How long a recorded outcome is replayed. */
export const idempotencyTtlMs = 24 * 3600_000;

/**
 * Stripe-like `Idempotency-Key` for operations whose policy says `idempotency: 'header'`, stored in the platform
 * database so it survives restarts and is shared by every instance. Per principal: the first request records
 * `in_progress` (a unique row), runs, and records its response (status < 500); a replay with the same fingerprint (method, path, query, canonical body) gets that response
 * verbatim with `Idempotent-Replayed: true`; another fingerprint is 422 `idempotency_key_reused`; a replay while
 * the first still runs is 409 `idempotency_request_in_progress`. 5xx outcomes and thrown errors release the key; a
 * process that dies mid-request leaves it in progress until it expires (docs/rest-shim.md).
 */
export async function withIdempotency(
  services: Pick<CoreServices, 'prisma' | 'logger' | 'secrets'>,
  req: RestRequest,
  next: () => Promise<RestResponse>,
): Promise<RestResponse> {
  const { prisma, secrets } = services;
  const raw = req.headers['idempotency-key'];
  // Without a key (where the contract allows none) or a credential, there is nothing to scope a replay to.
  if (raw === undefined || req.principal.kind === 'anonymous') return next();
  const key = String(Array.isArray(raw) ? raw[0] : raw).toLowerCase();
  const owner = principalId(req.principal);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([req.method, req.path, canonical(req.query), canonical(req.body ?? null)]))
    .digest('hex');

  let recordId: string | undefined;
  for (let attempt = 0; attempt < 2 && recordId === undefined; attempt++) {
    try {
      const created = await prisma.idempotencyRecord.create({
        data: {
          principalId: owner,
          key,
          fingerprint,
          status: 'in_progress',
          requestId: req.requestId,
          expiresAt: new Date(Date.now() + idempotencyTtlMs),
        },
        select: { id: true },
      });
      recordId = created.id;
    } catch (err) {
      if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
      const existing = await prisma.idempotencyRecord.findUnique({
        where: { principalId_key: { principalId: owner, key } },
      });
      if (!existing) continue;
      if (existing.expiresAt <= new Date()) {
        await prisma.idempotencyRecord.deleteMany({
          where: { id: existing.id, expiresAt: existing.expiresAt },
        });
        continue;
      }
      if (existing.fingerprint !== fingerprint) {
        throw new IdempotencyRefusal(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was used with a different request',
        );
      }
      if (existing.status !== 'done' || existing.responseStatus === null) {
        throw new IdempotencyRefusal(
          409,
          'idempotency_request_in_progress',
          'A request with this Idempotency-Key is in progress',
        );
      }
      return {
        status: existing.responseStatus,
        body: openBody(secrets, existing.responseBody),
        headers: { ...(existing.responseHeaders as Record<string, string>), 'idempotent-replayed': 'true' },
      };
    }
  }
  if (recordId === undefined) {
    throw new IdempotencyRefusal(
      409,
      'idempotency_request_in_progress',
      'A request with this Idempotency-Key is in progress',
    );
  }
  if (Math.random() < 0.01) {
    prisma.idempotencyRecord
      .deleteMany({ where: { expiresAt: { lt: new Date() } } })
      .catch((e: unknown) => services.logger.warn({ err: e }, 'could not prune idempotency records'));
  }

  let response: RestResponse;
  try {
    response = await next();
  } catch (err) {
    await prisma.idempotencyRecord.delete({ where: { id: recordId } }).catch(() => undefined);
    throw err;
  }
  if (response.status >= 500) {
    await prisma.idempotencyRecord.delete({ where: { id: recordId } }).catch(() => undefined);
    return response;
  }
  const headers: Record<string, string> = { 'x-request-id': req.requestId };
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
  await prisma.idempotencyRecord.update({
    where: { id: recordId },
    data: {
      status: 'done',
      responseStatus: response.status,
      // Sealed: a stored create response holds the webhook secret or the database password.
      responseBody: { sealed: secrets.sealJson(response.body) },
      responseHeaders: headers,
    },
  });
  return response;
}

/** The stored response body (sealed at rest). */
function openBody(secrets: CoreServices['secrets'], stored: unknown): unknown {
  const sealed = (stored as { sealed?: unknown } | null)?.sealed;
  if (typeof sealed !== 'string') throw new Error('stored idempotent response is not sealed');
  return secrets.openJson(sealed) ?? undefined;
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` fingerprint alike. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = canonical((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}
