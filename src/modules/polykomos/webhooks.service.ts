import { createHmac, randomBytes } from 'node:crypto';
import type { PolykomosWebhookDelivery, PolykomosWebhookEndpoint } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import {
  OutboundBlockedError,
  type OutboundPolicy,
  outboundRequest,
  validateOutboundUrl,
} from '../../core/net/outbound.ts';
import { invalidParameter, PolykomosError, unprocessable } from './polykomos.errors.ts';
import { type PolykomosService, requireScope } from './polykomos.service.ts';

export type WebhookEndpointRow = PolykomosWebhookEndpoint;
export type WebhookDeliveryRow = PolykomosWebhookDelivery;

/** The event catalogue (design §Webhooks); emitted so far: database.created/provisioned/provision_failed/updated/deleted and webhook.test. */
export const webhookEventTypes = [
  'database.created',
  'database.provisioned',
  'database.provision_failed',
  'database.updated',
  'database.paused',
  'database.resumed',
  'database.deleted',
  'database.quota_warning',
  'database.quota_exceeded',
  'blueprint_application.completed',
  'blueprint_application.failed',
  'blueprint_application.rolled_back',
  'webhook.test',
] as const;

/** Endpoints (any status) one user may hold. */
export const maxEndpointsPerOwner = 20;
const maxUrlLength = 2048;
const maxInt32 = 2_147_483_647;

export const signatureHeader = 'Polykomos-Signature';

/** `t=<unix>,v1=<hex(HMAC_SHA256(secret, t + "." + body))>` (Stripe-like). */
export function signPayload(secret: string, timestamp: number, body: string): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

const endpointNotFound = (id: number | string) =>
  new PolykomosError('NOT_FOUND', 404, `Webhook endpoint ${id} not found`);

/** Integer ids from paths and cursors; anything else is `undefined`. */
export function parseId(raw: string | number | null | undefined): number | undefined {
  const s = String(raw ?? '');
  if (!/^[0-9]{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= maxInt32 ? n : undefined;
}

/**
 * Polykomos webhook endpoints and deliveries (docs/polykomos.md "Webhooks"). Endpoints belong to the caller's user
 * (as databases do); every outbound request goes through the platform outbound guard (src/core/net/outbound.ts).
 */
export class PolykomosWebhookService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      box: SecretBox;
      polykomos: PolykomosService;
      outbound: OutboundPolicy;
      /** The delivery loop; absent: events stay in the outbox (nothing sends them). */
      delivery?: { maxAttempts: number; retryBaseMs: number; pollMs: number };
    },
  ) {}

  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  /** Starts the delivery loop (fan-out of outbox events, then due attempts), every `pollMs`. */
  start(): void {
    const d = this.deps.delivery;
    if (!d || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running || this.closed) return;
      this.running = this.tick()
        .catch((err: unknown) => this.deps.logger.warn({ err: errorText(err) }, 'polykomos webhook loop failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, d.pollMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass: fan out new events, then send every due delivery (each leased first, so instances do not collide). */
  async tick(now = new Date()): Promise<void> {
    await this.fanOut();
    const d = this.deps.delivery;
    if (!d) return;
    const due = await this.deps.prisma.polykomosWebhookDelivery.findMany({
      where: {
        status: 'pending',
        isTest: false,
        nextAttemptAt: { lte: now },
        OR: [{ leasedUntil: null }, { leasedUntil: { lt: now } }],
      },
      orderBy: { nextAttemptAt: 'asc' },
      take: 20,
    });
    await Promise.all(due.map((delivery) => this.send(delivery, d)));
  }

  /** Outbox events not yet fanned out become one pending delivery per subscribed active endpoint of the owner. */
  private async fanOut(): Promise<void> {
    const { prisma } = this.deps;
    const events = await prisma.polykomosWebhookEvent.findMany({
      where: { fannedOutAt: null },
      orderBy: { createdAt: 'asc' },
      take: 100,
    });
    for (const event of events) {
      await prisma.$transaction(async (tx) => {
        const claimed = await tx.polykomosWebhookEvent.updateMany({
          where: { id: event.id, fannedOutAt: null },
          data: { fannedOutAt: new Date() },
        });
        if (claimed.count === 0) return; // another instance took it
        const endpoints = await tx.polykomosWebhookEndpoint.findMany({
          where: { ownerId: event.ownerId, status: 'active' },
          select: { id: true, events: true },
        });
        const targets = endpoints.filter((e) => e.events.length === 0 || e.events.includes(event.type));
        if (targets.length > 0) {
          await tx.polykomosWebhookDelivery.createMany({
            data: targets.map((e) => ({
              endpointId: e.id,
              eventId: event.id,
              eventType: event.type,
              nextAttemptAt: new Date(),
            })),
          });
        }
      });
    }
  }

  /** One leased attempt of one event delivery; failure schedules the next with exponential backoff. */
  private async send(delivery: WebhookDeliveryRow, d: { maxAttempts: number; retryBaseMs: number }): Promise<void> {
    const { prisma } = this.deps;
    const leasedUntil = new Date(Date.now() + this.deps.outbound.timeoutMs + 30_000);
    const leased = await prisma.polykomosWebhookDelivery.updateMany({
      where: {
        id: delivery.id,
        status: 'pending',
        OR: [{ leasedUntil: null }, { leasedUntil: { lt: new Date() } }],
      },
      data: { leasedUntil },
    });
    if (leased.count === 0) return;
    const [endpoint, event] = await Promise.all([
      prisma.polykomosWebhookEndpoint.findUnique({ where: { id: delivery.endpointId } }),
      prisma.polykomosWebhookEvent.findUnique({ where: { id: delivery.eventId } }),
    ]);
    if (endpoint?.status !== 'active' || !event) {
      await prisma.polykomosWebhookDelivery.update({
        where: { id: delivery.id },
        data: {
          status: 'failed',
          errorMessage: event ? 'endpoint revoked' : 'event missing',
          leasedUntil: null,
          nextAttemptAt: null,
        },
      });
      return;
    }
    const outcome = await this.attempt(endpoint, {
      id: event.id,
      type: event.type,
      created_at: event.createdAt.toISOString(),
      data: event.payload,
    });
    const attempts = delivery.attemptCount + 1;
    const now = new Date();
    const retry = !outcome.ok && attempts < d.maxAttempts;
    const backoff = Math.min(d.retryBaseMs * 2 ** (attempts - 1), 6 * 3600_000);
    await prisma.$transaction([
      prisma.polykomosWebhookDelivery.update({
        where: { id: delivery.id },
        data: {
          status: outcome.ok ? 'delivered' : retry ? 'pending' : 'failed',
          responseCode: outcome.responseCode,
          errorMessage: outcome.error,
          attemptCount: attempts,
          nextAttemptAt: retry ? new Date(now.getTime() + backoff) : null,
          leasedUntil: null,
        },
      }),
      prisma.polykomosWebhookEndpoint.update({
        where: { id: endpoint.id },
        data: outcome.ok ? { lastSuccessAt: now } : { lastFailureAt: now },
      }),
    ]);
  }

  private async owner(principal: Principal): Promise<string> {
    return (await this.deps.polykomos.account(principal)).ownerId;
  }

  private async ownerFilter(principal: Principal): Promise<{ ownerId?: string }> {
    return principal.kind === 'admin' ? {} : { ownerId: await this.owner(principal) };
  }

  /** Creates an endpoint after checking its URL (scheme, DNS, non-public addresses). The secret is returned once. */
  async createEndpoint(
    principal: Principal,
    input: { url: string; events?: readonly string[] | null },
  ): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
    requireScope(principal, 'webhooks:write');
    const ownerId = await this.owner(principal);
    if (typeof input.url !== 'string' || input.url.length === 0 || input.url.length > maxUrlLength) {
      throw unprocessable('INVALID_URL', `url must be an http(s) URL of at most ${maxUrlLength} characters`);
    }
    const events = [...new Set(input.events ?? [])];
    const unknown = events.filter((e) => !(webhookEventTypes as readonly string[]).includes(e));
    if (unknown.length > 0) {
      throw unprocessable(
        'INVALID_EVENT_TYPE',
        `Unknown event type(s): ${unknown.map((e) => JSON.stringify(e)).join(', ')}; known: ${webhookEventTypes.join(', ')}`,
      );
    }
    try {
      await validateOutboundUrl(input.url, this.deps.outbound);
    } catch (err) {
      if (err instanceof OutboundBlockedError) {
        throw unprocessable(err.kind === 'blocked' ? 'URL_NOT_ALLOWED' : 'INVALID_URL', `url: ${err.reason}`);
      }
      throw err;
    }
    const count = await this.deps.prisma.polykomosWebhookEndpoint.count({ where: { ownerId } });
    if (count >= maxEndpointsPerOwner) {
      throw unprocessable('ENDPOINT_LIMIT_REACHED', `At most ${maxEndpointsPerOwner} webhook endpoints per user`);
    }
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const endpoint = await this.deps.prisma.polykomosWebhookEndpoint.create({
      data: { ownerId, url: input.url, events, secretEnc: this.deps.box.seal(secret) },
    });
    return { endpoint, secret };
  }

  /** The caller's endpoints (revoked included), newest first; `startingAfter` is the previous page's last id. */
  async listEndpoints(principal: Principal, limit: number, startingAfter?: number | null) {
    requireScope(principal, 'webhooks:read');
    checkLimit(limit);
    const owner = await this.ownerFilter(principal);
    let cursor: { createdAt: Date; id: number } | undefined;
    if (startingAfter !== undefined && startingAfter !== null) {
      const row = await this.deps.prisma.polykomosWebhookEndpoint.findFirst({
        where: { id: startingAfter, ...owner },
        select: { createdAt: true, id: true },
      });
      if (!row) throw invalidParameter(`starting_after: unknown webhook endpoint ${startingAfter}`);
      cursor = row;
    }
    const rows = await this.deps.prisma.polykomosWebhookEndpoint.findMany({
      where: { ...owner, ...keyset(cursor) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    return { items: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  async getEndpoint(principal: Principal, id: number, scope = 'webhooks:read'): Promise<WebhookEndpointRow> {
    requireScope(principal, scope);
    const row = await this.deps.prisma.polykomosWebhookEndpoint.findFirst({
      where: { id, ...(await this.ownerFilter(principal)) },
    });
    if (!row) throw endpointNotFound(id);
    return row;
  }

  /** Soft revoke: status `revoked`, no new deliveries; deliveries stay listable. Revoking twice is a no-op. */
  async revokeEndpoint(principal: Principal, id: number): Promise<WebhookEndpointRow> {
    const row = await this.getEndpoint(principal, id, 'webhooks:write');
    if (row.status === 'revoked') return row;
    return this.deps.prisma.$transaction(async (tx) => {
      const revoked = await tx.polykomosWebhookEndpoint.update({
        where: { id: row.id },
        data: { status: 'revoked', revokedAt: new Date() },
      });
      // Nothing retries deliveries yet; any still pending are closed as failed (design decision).
      await tx.polykomosWebhookDelivery.updateMany({
        where: { endpointId: row.id, status: 'pending' },
        data: { status: 'failed', errorMessage: 'endpoint revoked' },
      });
      return revoked;
    });
  }

  /** Deliveries of one of the caller's endpoints, newest first. */
  async listDeliveries(principal: Principal, endpointId: number, limit: number, startingAfter?: number | null) {
    const endpoint = await this.getEndpoint(principal, endpointId, 'webhooks:read');
    checkLimit(limit);
    let cursor: { createdAt: Date; id: number } | undefined;
    if (startingAfter !== undefined && startingAfter !== null) {
      const row = await this.deps.prisma.polykomosWebhookDelivery.findFirst({
        where: { id: startingAfter, endpointId: endpoint.id },
        select: { createdAt: true, id: true },
      });
      if (!row) throw invalidParameter(`starting_after: unknown delivery ${startingAfter}`);
      cursor = row;
    }
    const rows = await this.deps.prisma.polykomosWebhookDelivery.findMany({
      where: { endpointId: endpoint.id, ...keyset(cursor) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    return { items: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** One synchronous, real, signed POST of a `webhook.test` event; recorded as a test delivery. */
  async testDelivery(principal: Principal, endpointId: number): Promise<WebhookDeliveryRow> {
    const endpoint = await this.getEndpoint(principal, endpointId, 'webhooks:write');
    if (endpoint.status !== 'active') {
      throw unprocessable('ENDPOINT_REVOKED', `Webhook endpoint ${endpoint.id} is revoked`);
    }
    const eventId = `evt_${randomBytes(12).toString('hex')}`;
    const delivery = await this.deps.prisma.polykomosWebhookDelivery.create({
      data: { endpointId: endpoint.id, eventId, eventType: 'webhook.test', isTest: true },
    });
    const envelope = {
      id: eventId,
      type: 'webhook.test',
      created_at: delivery.createdAt.toISOString(),
      data: { object: 'webhook_endpoint', id: endpoint.id, url: endpoint.url },
    };
    const outcome = await this.attempt(endpoint, envelope);
    const now = new Date();
    const [updated] = await this.deps.prisma.$transaction([
      this.deps.prisma.polykomosWebhookDelivery.update({
        where: { id: delivery.id },
        data: {
          status: outcome.ok ? 'delivered' : 'failed',
          responseCode: outcome.responseCode,
          errorMessage: outcome.error,
          attemptCount: { increment: 1 },
        },
      }),
      this.deps.prisma.polykomosWebhookEndpoint.update({
        where: { id: endpoint.id },
        data: outcome.ok ? { lastSuccessAt: now } : { lastFailureAt: now },
      }),
    ]);
    return updated;
  }

  /**
   * One signed POST through the outbound guard. Delivered = 2xx within the deadline; a 3xx is not followed and
   * counts as a failure.
   */
  private async attempt(
    endpoint: WebhookEndpointRow,
    envelope: { id: string; type: string; created_at: string; data: unknown },
  ): Promise<{ ok: boolean; responseCode: number | null; error: string | null }> {
    const body = JSON.stringify(envelope);
    const secret = this.deps.box.open(endpoint.secretEnc);
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const res = await outboundRequest(
        endpoint.url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Polykomos-Webhooks/1',
            [signatureHeader.toLowerCase()]: signPayload(secret, timestamp, body),
            'polykomos-event-id': envelope.id,
            'polykomos-event-type': envelope.type,
          },
          body,
        },
        this.deps.outbound,
      );
      const ok = res.status >= 200 && res.status < 300;
      return { ok, responseCode: res.status, error: ok ? null : `HTTP ${res.status}` };
    } catch (err) {
      const message = err instanceof OutboundBlockedError ? `refused: ${err.reason}` : errorText(err);
      this.deps.logger.info({ endpointId: endpoint.id, err: message }, 'polykomos webhook attempt failed');
      return { ok: false, responseCode: null, error: message.slice(0, 500) };
    }
  }
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidParameter('limit must be 1..100');
}

function keyset(cursor: { createdAt: Date; id: number } | undefined) {
  return cursor
    ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] }
    : {};
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = (err as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
