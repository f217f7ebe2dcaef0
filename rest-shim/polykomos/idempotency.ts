import { createHash } from 'node:crypto';
import { Prisma } from '../../prisma/generated/client/client.ts';
import type { Services } from '../../src/core/services.ts';
import { polykomosErrorBody } from '../products.ts';
import type { RestRequest, RestResponse } from '../types.ts';

/** Operations whose contract requires `Idempotency-Key` (of those served). */
export const idempotentOperations = new Set([
  'createDatabase',
  'updateDatabase',
  'deleteDatabase',
  'updateDatabaseQuotas',
  'createWebhookEndpoint',
  'revokeWebhookEndpoint',
  'createBlueprint',
  'createDatabaseBlueprintApplication',
]);

/** How long a recorded outcome is replayed. */
export const idempotencyTtlMs = 24 * 3600_000;

/**
 * Stripe-like `Idempotency-Key`, stored in the platform database so it survives restarts and is shared by every
 * instance. Per API key: the first request records `in_progress` (a unique row), runs, and records its response
 * (status < 500); a replay with the same fingerprint (method, path, query, canonical body) gets that response
 * verbatim with `Idempotent-Replayed: true`; another fingerprint is 422 `idempotency_key_reused`; a replay while
 * the first still runs is 409 `idempotency_request_in_progress`. 5xx outcomes and thrown errors release the key; a
 * process that dies mid-request leaves it in progress until it expires (docs/polykomos.md).
 */
export function polykomosIdempotency(services: Pick<Services, 'prisma' | 'logger' | 'polykomos'>) {
  const { prisma, polykomos } = services;
  return async (req: RestRequest, next: () => Promise<RestResponse>): Promise<RestResponse> => {
    if (!idempotentOperations.has(req.operationId) || req.principal.kind !== 'apiKey') return next();
    const raw = req.headers['idempotency-key'];
    const key = String(Array.isArray(raw) ? raw[0] : raw).toLowerCase();
    const apiKeyId = req.principal.id;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([req.method, req.path, canonical(req.query), canonical(req.body ?? null)]))
      .digest('hex');

    let recordId: string | undefined;
    for (let attempt = 0; attempt < 2 && recordId === undefined; attempt++) {
      try {
        const created = await prisma.polykomosIdempotencyRecord.create({
          data: {
            apiKeyId,
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
        const existing = await prisma.polykomosIdempotencyRecord.findUnique({
          where: { apiKeyId_key: { apiKeyId, key } },
        });
        if (!existing) continue;
        if (existing.expiresAt <= new Date()) {
          await prisma.polykomosIdempotencyRecord.deleteMany({
            where: { id: existing.id, expiresAt: existing.expiresAt },
          });
          continue;
        }
        if (existing.fingerprint !== fingerprint) {
          return refusal(req, 422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request');
        }
        if (existing.status !== 'done' || existing.responseStatus === null) {
          return refusal(
            req,
            409,
            'idempotency_request_in_progress',
            'A request with this Idempotency-Key is in progress',
          );
        }
        return {
          status: existing.responseStatus,
          body: openBody(polykomos, existing.responseBody),
          headers: { ...(existing.responseHeaders as Record<string, string>), 'idempotent-replayed': 'true' },
        };
      }
    }
    if (recordId === undefined) {
      return refusal(req, 409, 'idempotency_request_in_progress', 'A request with this Idempotency-Key is in progress');
    }
    if (Math.random() < 0.01) {
      prisma.polykomosIdempotencyRecord
        .deleteMany({ where: { expiresAt: { lt: new Date() } } })
        .catch((e: unknown) => services.logger.warn({ err: e }, 'could not prune idempotency records'));
    }

    let response: RestResponse;
    try {
      response = await next();
    } catch (err) {
      await prisma.polykomosIdempotencyRecord.delete({ where: { id: recordId } }).catch(() => undefined);
      throw err;
    }
    if (response.status >= 500) {
      await prisma.polykomosIdempotencyRecord.delete({ where: { id: recordId } }).catch(() => undefined);
      return response;
    }
    const headers: Record<string, string> = { 'x-request-id': req.requestId };
    for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
    await prisma.polykomosIdempotencyRecord.update({
      where: { id: recordId },
      data: {
        status: 'done',
        responseStatus: response.status,
        // Sealed: a stored create response holds the webhook secret or the database password.
        responseBody: { sealed: polykomos.sealJson(response.body) },
        responseHeaders: headers,
      },
    });
    return response;
  };
}

/** The stored response body (sealed at rest). */
function openBody(polykomos: Pick<Services['polykomos'], 'openJson'>, stored: unknown): unknown {
  const sealed = (stored as { sealed?: unknown } | null)?.sealed;
  if (typeof sealed !== 'string') throw new Error('stored idempotent response is not sealed');
  return polykomos.openJson(sealed) ?? undefined;
}

function refusal(req: RestRequest, status: number, code: string, message: string): RestResponse {
  return { status, body: polykomosErrorBody(status, message, code, req.requestId) };
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
