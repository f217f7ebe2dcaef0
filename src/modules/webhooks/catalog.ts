import { createHmac, randomBytes } from 'node:crypto';
import type { Prisma } from '../../../prisma/generated/client/client.ts';
import type { Tx } from '../../core/db.ts';

/**
 * What a product declares to send webhooks through the shared engine (docs/webhooks.md): its event catalog and the
 * shape of its requests. The engine owns storage, signing, delivery, retries and the outbound guard; the product
 * owns its event names and payload shapes (its payload builders stay in the product module).
 */
export interface WebhookProduct {
  /** Lower-case product name, stored on endpoints and events (`polykomos`). */
  product: string;
  /** Every event type the product may emit; endpoints subscribe to a subset (empty = all). */
  events: readonly string[];
  /** The signature header, e.g. `Polykomos-Signature`; its value is `t=<unix>,v1=<hex HMAC-SHA256>`. */
  signatureHeader: string;
  /** Prefix of the event id/type headers: `<prefix>-event-id`, `<prefix>-event-type`. */
  headerPrefix: string;
  userAgent: string;
  /** The `data` of the `webhook.test` event sent by a test delivery. */
  testPayload(endpoint: { id: number; url: string }): unknown;
}

/** The body every delivery POSTs (JSON, in this key order). */
export interface WebhookEnvelope {
  id: string;
  type: string;
  created_at: string;
  data: unknown;
}

export const newEventId = () => `evt_${randomBytes(12).toString('hex')}`;

/** `t=<unix>,v1=<hex(HMAC_SHA256(secret, t + "." + body))>` (Stripe-like). */
export function signPayload(secret: string, timestamp: number, body: string): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

/** The request headers of one delivery attempt. */
export function deliveryHeaders(
  product: WebhookProduct,
  secret: string,
  envelope: WebhookEnvelope,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': product.userAgent,
    [product.signatureHeader.toLowerCase()]: signPayload(secret, timestamp, body),
    [`${product.headerPrefix}-event-id`]: envelope.id,
    [`${product.headerPrefix}-event-type`]: envelope.type,
  };
}

export interface EmittedEvent {
  /** Who receives it: the endpoints of this owner within the product. */
  ownerId: string;
  /** One of the product's catalog. */
  type: string;
  /** The envelope's `data` (plain JSON). */
  payload: Prisma.InputJsonValue;
}

/**
 * Writes one event to the outbox (`webhook_events`) with the caller's transaction, so the event exists exactly when
 * the state change it reports does; the relay turns it into deliveries. Returns the event id. An event type outside
 * the product's catalog is a programming error (thrown, not a DomainError).
 */
export async function emitWebhookEvent(tx: Tx, product: WebhookProduct, event: EmittedEvent): Promise<string> {
  if (!product.events.includes(event.type)) {
    throw new Error(`webhook event "${event.type}" is not in the ${product.product} catalog`);
  }
  const id = newEventId();
  await tx.webhookEvent.create({
    data: {
      id,
      product: product.product,
      ownerId: event.ownerId,
      type: event.type,
      payload: event.payload,
    },
  });
  return id;
}
