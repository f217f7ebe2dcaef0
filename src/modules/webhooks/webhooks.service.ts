import { randomBytes } from 'node:crypto';
import type { WebhookDelivery, WebhookEndpoint } from '../../../prisma/generated/client/client.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient, Tx } from '../../core/db.ts';
import { defineJobKind, type JobKind, type JobRunner, PermanentJobError } from '../../core/jobs/runner.ts';
import type { Logger } from '../../core/logger.ts';
import {
  OutboundBlockedError,
  type OutboundPolicy,
  outboundRequest,
  validateOutboundUrl,
} from '../../core/net/outbound.ts';
import {
  deliveryHeaders,
  type EmittedEvent,
  emitWebhookEvent,
  newEventId,
  type WebhookEnvelope,
  type WebhookProduct,
} from './catalog.ts';
import type { WebhooksConfig } from './webhooks.config.ts';
import { endpointNotFound, invalidParameter, unprocessable } from './webhooks.errors.ts';

export type WebhookEndpointRow = WebhookEndpoint;
export type WebhookDeliveryRow = WebhookDelivery;

/**
 * Whose endpoints a call reaches: one owner within one product, or (ownerId null: the platform admin) every owner
 * of the product. Products resolve it from their principal (Polykomos: the key's user) and check their scopes
 * before calling the engine.
 */
export interface WebhookOwner {
  product: string;
  ownerId: string | null;
}

/** A page of a newest-first list; `after` is the previous page's last id. */
export interface PageArgs {
  first: number;
  after?: number | null;
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
  totalCount: number;
}

/** Endpoints (any status) one owner may hold within a product. */
export const maxEndpointsPerOwner = 20;
const maxUrlLength = 2048;
const maxInt32 = 2_147_483_647;
const maxBackoffMs = 6 * 3600_000;
export const deliverJobKind = 'webhooks.deliver';

/** Integer ids from paths and cursors; anything else is `undefined`. */
export function parseId(raw: string | number | null | undefined): number | undefined {
  const s = String(raw ?? '');
  if (!/^[0-9]{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= maxInt32 ? n : undefined;
}

/**
 * The shared webhook engine (docs/webhooks.md): endpoints with sealed secrets, a per-product event catalog, the
 * transactional outbox, signing, one durable job per delivery (retries with backoff, dead letter after the last
 * attempt, claimable by any instance), the delivery log and test deliveries. Every request goes through the
 * outbound guard (src/core/net/outbound.ts).
 */
export class WebhookService {
  private readonly products = new Map<string, WebhookProduct>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      box: SecretBox;
      jobs: JobRunner;
      outbound: OutboundPolicy;
      config: WebhooksConfig;
    },
  ) {
    this.deliverJob = this.defineDeliverJob();
  }

  /** `webhooks.deliver`: one job per delivery. */
  readonly deliverJob: JobKind<{ deliveryId: number }>;

  /** Adds a product's catalog (from its module's `create`). A product registers once. */
  register(product: WebhookProduct): void {
    if (!/^[a-z][a-z0-9_]*$/.test(product.product)) throw new Error(`webhook product "${product.product}" is invalid`);
    if (this.products.has(product.product)) throw new Error(`webhook product ${product.product} is registered twice`);
    this.products.set(product.product, product);
  }

  /** The registered catalog of a product (event types endpoints may subscribe to). */
  catalog(product: string): readonly string[] {
    return this.product(product).events;
  }

  private product(name: string): WebhookProduct {
    const p = this.products.get(name);
    if (!p) throw new Error(`webhook product ${name} is not registered`);
    return p;
  }

  /** Writes an event to the outbox inside the caller's transaction (see `emitWebhookEvent`); returns its id. */
  emit(tx: Tx, product: string, event: EmittedEvent): Promise<string> {
    return emitWebhookEvent(tx, this.product(product), event);
  }

  /** The delivery job kind (declared by the module descriptor's `jobs`). */
  jobKinds(): readonly JobKind<any, any>[] {
    return [this.deliverJob];
  }

  /** Starts the outbox relay: every `pollMs`, new events become deliveries and their jobs. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running || this.closed) return;
      this.running = this.relay()
        .then(() => undefined)
        .catch((err: unknown) => this.deps.logger.warn({ err: describe(err) }, 'webhook outbox relay failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.deps.config.pollMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * One relay pass: each event not yet fanned out is claimed (so instances never fan out one event twice) and, in
   * the same transaction, becomes one pending delivery per subscribed active endpoint of its owner, each with its
   * `webhooks.deliver` job. Returns the number of deliveries created.
   */
  async relay(): Promise<number> {
    const { prisma, jobs } = this.deps;
    const events = await prisma.webhookEvent.findMany({
      where: { fannedOutAt: null },
      orderBy: { createdAt: 'asc' },
      take: 100,
    });
    let created = 0;
    for (const event of events) {
      created += await prisma.$transaction(async (tx) => {
        const claimed = await tx.webhookEvent.updateMany({
          where: { id: event.id, fannedOutAt: null },
          data: { fannedOutAt: new Date() },
        });
        if (claimed.count === 0) return 0; // another instance took it
        const endpoints = await tx.webhookEndpoint.findMany({
          where: { product: event.product, ownerId: event.ownerId, status: 'active' },
          select: { id: true, events: true },
        });
        const targets = endpoints.filter((e) => e.events.length === 0 || e.events.includes(event.type));
        for (const target of targets) {
          const delivery = await tx.webhookDelivery.create({
            data: { endpointId: target.id, eventId: event.id, eventType: event.type },
          });
          const job = await jobs.enqueue(
            this.deliverJob,
            { deliveryId: delivery.id },
            { tx, dedupeKey: `delivery:${delivery.id}` },
          );
          await tx.webhookDelivery.update({ where: { id: delivery.id }, data: { jobId: job.id } });
        }
        return targets.length;
      });
    }
    if (created > 0) jobs.wake();
    return created;
  }

  /**
   * One job per delivery: sends it, records the attempt (fenced), throws on failure so the runner retries with
   * backoff; after the last attempt the job is dead and `onDead` marks the delivery failed in the same transaction.
   */
  private defineDeliverJob(): JobKind<{ deliveryId: number }> {
    return defineJobKind<{ deliveryId: number }>({
      kind: deliverJobKind,
      maxAttempts: this.deps.config.maxAttempts,
      leaseMs: Math.max(30_000, this.deps.config.timeoutMs * 3),
      backoff: { baseMs: this.deps.config.retryBaseMs, maxMs: maxBackoffMs },
      run: async ({ deliveryId }, ctx) => {
        const { prisma } = this.deps;
        const delivery = await prisma.webhookDelivery.findUnique({
          where: { id: deliveryId },
          include: { endpoint: true },
        });
        if (!delivery) throw new PermanentJobError('delivery missing');
        if (delivery.status !== 'pending') return { status: delivery.status }; // revoked meanwhile, or already sent
        if (delivery.endpoint.status !== 'active') throw new PermanentJobError('endpoint revoked');
        const event = await prisma.webhookEvent.findUnique({ where: { id: delivery.eventId } });
        if (!event) throw new PermanentJobError('event missing');
        const product = this.products.get(event.product);
        if (!product) throw new Error(`webhook product ${event.product} is not registered on this instance`);
        const outcome = await this.attempt(product, delivery.endpoint, {
          id: event.id,
          type: event.type,
          created_at: event.createdAt.toISOString(),
          data: event.payload,
        });
        const now = new Date();
        await ctx.fenced(async (tx) => {
          await tx.webhookDelivery.update({
            where: { id: deliveryId },
            data: {
              ...(outcome.ok ? { status: 'delivered' } : {}),
              responseCode: outcome.responseCode,
              errorMessage: outcome.error,
              attemptCount: ctx.attempt,
            },
          });
          await tx.webhookEndpoint.update({
            where: { id: delivery.endpointId },
            data: outcome.ok ? { lastSuccessAt: now } : { lastFailureAt: now },
          });
        });
        if (!outcome.ok) throw new Error(outcome.error ?? 'delivery failed');
        return { status: 'delivered', responseCode: outcome.responseCode };
      },
      onDead: async ({ deliveryId }, error, { tx }) => {
        await tx.webhookDelivery.updateMany({
          where: { id: deliveryId, status: 'pending' },
          data: { status: 'failed', errorMessage: error.slice(0, 500) },
        });
      },
    });
  }

  private where(owner: WebhookOwner) {
    return owner.ownerId === null ? { product: owner.product } : { product: owner.product, ownerId: owner.ownerId };
  }

  /** Creates an endpoint after checking its URL (scheme, DNS, non-public addresses). The secret is returned once. */
  async createEndpoint(
    owner: WebhookOwner & { ownerId: string },
    input: { url: string; events?: readonly string[] | null },
  ): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
    const catalog = this.catalog(owner.product);
    if (typeof input.url !== 'string' || input.url.length === 0 || input.url.length > maxUrlLength) {
      throw unprocessable('INVALID_URL', `url must be an http(s) URL of at most ${maxUrlLength} characters`);
    }
    const events = [...new Set(input.events ?? [])];
    const unknown = events.filter((e) => !catalog.includes(e));
    if (unknown.length > 0) {
      throw unprocessable(
        'INVALID_EVENT_TYPE',
        `Unknown event type(s): ${unknown.map((e) => JSON.stringify(e)).join(', ')}; known: ${catalog.join(', ')}`,
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
    const count = await this.deps.prisma.webhookEndpoint.count({ where: this.where(owner) });
    if (count >= maxEndpointsPerOwner) {
      throw unprocessable('ENDPOINT_LIMIT_REACHED', `At most ${maxEndpointsPerOwner} webhook endpoints per user`);
    }
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const endpoint = await this.deps.prisma.webhookEndpoint.create({
      data: {
        product: owner.product,
        ownerId: owner.ownerId,
        url: input.url,
        events,
        secretEnc: this.deps.box.seal(secret),
      },
    });
    return { endpoint, secret };
  }

  /** The owner's endpoints (revoked included), newest first. An unknown `after` is INVALID_PARAMETER. */
  async listEndpoints(owner: WebhookOwner, page: PageArgs): Promise<Page<WebhookEndpointRow>> {
    checkFirst(page.first);
    const where = this.where(owner);
    let cursor: { createdAt: Date; id: number } | undefined;
    if (page.after !== undefined && page.after !== null) {
      const row = await this.deps.prisma.webhookEndpoint.findFirst({
        where: { id: page.after, ...where },
        select: { createdAt: true, id: true },
      });
      if (!row) throw invalidParameter(`starting_after: unknown webhook endpoint ${page.after}`);
      cursor = row;
    }
    const [rows, totalCount] = await Promise.all([
      this.deps.prisma.webhookEndpoint.findMany({
        where: { ...where, ...keyset(cursor) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.first + 1,
      }),
      this.deps.prisma.webhookEndpoint.count({ where }),
    ]);
    return { items: rows.slice(0, page.first), hasMore: rows.length > page.first, totalCount };
  }

  /** One of the owner's endpoints, or null (missing and another owner's are indistinguishable). */
  async findEndpoint(owner: WebhookOwner, id: number): Promise<WebhookEndpointRow | null> {
    if (parseId(id) === undefined) return null;
    return this.deps.prisma.webhookEndpoint.findFirst({ where: { id, ...this.where(owner) } });
  }

  /** One of the owner's endpoints; NOT_FOUND otherwise. */
  async getEndpoint(owner: WebhookOwner, id: number): Promise<WebhookEndpointRow> {
    const row = await this.findEndpoint(owner, id);
    if (!row) throw endpointNotFound(id);
    return row;
  }

  /**
   * Soft revoke: status `revoked`, no new deliveries; pending ones are closed as failed (their jobs then find
   * nothing to send). Deliveries stay listable. Revoking twice is a no-op.
   */
  async revokeEndpoint(owner: WebhookOwner, id: number): Promise<WebhookEndpointRow> {
    const row = await this.getEndpoint(owner, id);
    if (row.status === 'revoked') return row;
    return this.deps.prisma.$transaction(async (tx) => {
      const revoked = await tx.webhookEndpoint.update({
        where: { id: row.id },
        data: { status: 'revoked', revokedAt: new Date() },
      });
      await tx.webhookDelivery.updateMany({
        where: { endpointId: row.id, status: 'pending' },
        data: { status: 'failed', errorMessage: 'endpoint revoked' },
      });
      return revoked;
    });
  }

  /** Deliveries of one of the owner's endpoints, newest first (the delivery log). */
  async listDeliveries(owner: WebhookOwner, endpointId: number, page: PageArgs): Promise<Page<WebhookDeliveryRow>> {
    const endpoint = await this.getEndpoint(owner, endpointId);
    checkFirst(page.first);
    let cursor: { createdAt: Date; id: number } | undefined;
    if (page.after !== undefined && page.after !== null) {
      const row = await this.deps.prisma.webhookDelivery.findFirst({
        where: { id: page.after, endpointId: endpoint.id },
        select: { createdAt: true, id: true },
      });
      if (!row) throw invalidParameter(`starting_after: unknown delivery ${page.after}`);
      cursor = row;
    }
    const [rows, totalCount] = await Promise.all([
      this.deps.prisma.webhookDelivery.findMany({
        where: { endpointId: endpoint.id, ...keyset(cursor) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.first + 1,
      }),
      this.deps.prisma.webhookDelivery.count({ where: { endpointId: endpoint.id } }),
    ]);
    return { items: rows.slice(0, page.first), hasMore: rows.length > page.first, totalCount };
  }

  /** One delivery of one of the owner's endpoints, or null. */
  async findDelivery(owner: WebhookOwner, id: number): Promise<WebhookDeliveryRow | null> {
    if (parseId(id) === undefined) return null;
    return this.deps.prisma.webhookDelivery.findFirst({ where: { id, endpoint: this.where(owner) } });
  }

  /** One synchronous, real, signed POST of a `webhook.test` event; recorded as a test delivery. */
  async testDelivery(owner: WebhookOwner, endpointId: number): Promise<WebhookDeliveryRow> {
    const product = this.product(owner.product);
    const endpoint = await this.getEndpoint(owner, endpointId);
    if (endpoint.status !== 'active') {
      throw unprocessable('ENDPOINT_REVOKED', `Webhook endpoint ${endpoint.id} is revoked`);
    }
    const eventId = newEventId();
    const delivery = await this.deps.prisma.webhookDelivery.create({
      data: { endpointId: endpoint.id, eventId, eventType: 'webhook.test', isTest: true },
    });
    const outcome = await this.attempt(product, endpoint, {
      id: eventId,
      type: 'webhook.test',
      created_at: delivery.createdAt.toISOString(),
      data: product.testPayload(endpoint),
    });
    const now = new Date();
    const [updated] = await this.deps.prisma.$transaction([
      this.deps.prisma.webhookDelivery.update({
        where: { id: delivery.id },
        data: {
          status: outcome.ok ? 'delivered' : 'failed',
          responseCode: outcome.responseCode,
          errorMessage: outcome.error,
          attemptCount: { increment: 1 },
        },
      }),
      this.deps.prisma.webhookEndpoint.update({
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
    product: WebhookProduct,
    endpoint: WebhookEndpointRow,
    envelope: WebhookEnvelope,
  ): Promise<{ ok: boolean; responseCode: number | null; error: string | null }> {
    const body = JSON.stringify(envelope);
    let secret: string;
    try {
      secret = this.deps.box.open(endpoint.secretEnc);
    } catch {
      // Thrown, not recorded as the attempt's outcome: another instance (with the right key) may succeed.
      throw new Error('the endpoint secret cannot be unsealed here: every instance needs the same ATRIUM_SECRET_KEY');
    }
    try {
      const res = await outboundRequest(
        endpoint.url,
        { method: 'POST', headers: deliveryHeaders(product, secret, envelope, body), body },
        { ...this.deps.outbound, timeoutMs: this.deps.config.timeoutMs },
      );
      const ok = res.status >= 200 && res.status < 300;
      return { ok, responseCode: res.status, error: ok ? null : `HTTP ${res.status}` };
    } catch (err) {
      const message = err instanceof OutboundBlockedError ? `refused: ${err.reason}` : describe(err);
      this.deps.logger.info({ endpointId: endpoint.id, err: message }, 'webhook attempt failed');
      return { ok: false, responseCode: null, error: message.slice(0, 500) };
    }
  }
}

function checkFirst(first: number): void {
  if (!Number.isInteger(first) || first < 1 || first > 100) throw invalidParameter('limit must be 1..100');
}

function keyset(cursor: { createdAt: Date; id: number } | undefined) {
  return cursor
    ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] }
    : {};
}

/** A network failure's message with its code (ECONNREFUSED…); never a stack. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = (err as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
