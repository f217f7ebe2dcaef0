import { PolykomosError } from '../../src/modules/polykomos/polykomos.errors.ts';
import { parseId } from '../../src/modules/webhooks/webhooks.service.ts';
import type { RestRequest } from '../engine/types.ts';
import {
  PolykomosCreateWebhookEndpointDocument,
  PolykomosCreateWebhookTestDeliveryDocument,
  PolykomosListWebhookDeliveriesDocument,
  PolykomosListWebhookEndpointsDocument,
  PolykomosRevokeWebhookEndpointDocument,
  type PolykomosWebhookDeliveryFieldsFragment,
  type PolykomosWebhookEndpointFieldsFragment,
} from '../generated/graphql.ts';
import { answer, isoOrNull } from './answer.ts';
import { graphql, group } from './policy.ts';

function endpoint(e: PolykomosWebhookEndpointFieldsFragment) {
  return {
    object: 'webhook_endpoint',
    id: e.endpointId,
    url: e.url,
    events: e.events,
    status: e.status,
    last_success_at: isoOrNull(e.lastSuccessAt),
    last_failure_at: isoOrNull(e.lastFailureAt),
    created_at: isoOrNull(e.createdAt),
  };
}

function delivery(d: PolykomosWebhookDeliveryFieldsFragment) {
  return {
    object: 'webhook_delivery',
    id: d.deliveryId,
    endpoint_id: d.endpointId,
    event_type: d.eventType,
    status: d.status,
    response_code: d.responseCode,
    error_message: d.errorMessage,
    attempt_count: d.attemptCount,
    created_at: isoOrNull(d.createdAt),
  };
}

/** The path's endpoint id; ids that cannot exist are 404 (as an unknown id would be). */
function endpointId(req: RestRequest): number {
  const id = parseId(req.params.id);
  if (id === undefined) throw new PolykomosError('NOT_FOUND', 404, `Webhook endpoint ${req.params.id} not found`);
  return id;
}

/** `starting_after` as given (the GraphQL side resolves and checks it: unknown → 400 invalid_parameter). */
function after(req: RestRequest): string | null {
  const raw = req.query.starting_after;
  return raw === undefined ? null : String(Array.isArray(raw) ? raw[0] : raw);
}

const listWebhookEndpoints = graphql({
  policy: { scope: 'webhooks:read' },
  document: PolykomosListWebhookEndpointsDocument,
  variables: (req) => ({ first: (req.coerced.query.limit as number | undefined) ?? 25, after: after(req) }),
  respond: ({ polykomosWebhookEndpoints: r }, req) =>
    answer(r, req, (page) => ({
      status: 200,
      body: {
        data: page.edges.map((e) => endpoint(e.node)),
        has_more: page.pageInfo.hasNextPage,
        request_id: req.requestId,
      },
    })),
});

const createWebhookEndpoint = graphql({
  policy: { scope: 'webhooks:write', idempotency: 'header' },
  document: PolykomosCreateWebhookEndpointDocument,
  variables: (req) => {
    const b = (req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? req.body : {}) as {
      url?: unknown;
      events?: unknown;
    };
    if (typeof b.url !== 'string') throw new PolykomosError('INVALID_URL', 422, 'url is required');
    if (b.events !== undefined && (!Array.isArray(b.events) || b.events.some((e) => typeof e !== 'string'))) {
      throw new PolykomosError('INVALID_EVENT_TYPE', 422, 'events must be an array of event type strings');
    }
    return { input: { url: b.url, events: (b.events as string[] | undefined) ?? [] } };
  },
  respond: ({ createPolykomosWebhookEndpoint: r }, req) =>
    answer(r, req, (created) => ({
      status: 201,
      body: {
        message: 'Webhook endpoint created',
        data: endpoint(created.endpoint),
        secret: created.secret,
        request_id: req.requestId,
      },
    })),
});

const revokeWebhookEndpoint = graphql({
  policy: { scope: 'webhooks:write', idempotency: 'header' },
  document: PolykomosRevokeWebhookEndpointDocument,
  variables: (req) => ({ endpointId: endpointId(req) }),
  respond: ({ revokePolykomosWebhookEndpoint: r }, req) =>
    answer(r, req, (e) => ({
      status: 200,
      body: { message: 'Webhook endpoint revoked', data: { id: e.endpointId }, request_id: req.requestId },
    })),
});

const listWebhookDeliveries = graphql({
  policy: { scope: 'webhooks:read' },
  document: PolykomosListWebhookDeliveriesDocument,
  variables: (req) => ({
    endpointId: endpointId(req),
    first: (req.coerced.query.limit as number | undefined) ?? 25,
    after: after(req),
  }),
  respond: ({ polykomosWebhookDeliveries: r }, req) =>
    answer(r, req, (page) => ({
      status: 200,
      body: {
        data: page.edges.map((e) => delivery(e.node)),
        has_more: page.pageInfo.hasNextPage,
        request_id: req.requestId,
      },
    })),
});

const createWebhookTestDelivery = graphql({
  policy: { scope: 'webhooks:write' },
  document: PolykomosCreateWebhookTestDeliveryDocument,
  variables: (req) => ({ endpointId: endpointId(req) }),
  respond: ({ createPolykomosWebhookTestDelivery: r }, req) =>
    answer(r, req, (d) => ({ status: 200, body: { data: delivery(d), request_id: req.requestId } })),
});

/** Served Polykomos webhook operations by the contract's operationIds. */
/** Webhook endpoints, deliveries and test deliveries. */
export const polykomosWebhookOperations = group('webhooks', 'test/polykomos/webhooks.test.ts', {
  listWebhookEndpoints,
  createWebhookEndpoint,
  revokeWebhookEndpoint,
  listWebhookDeliveries,
  createWebhookTestDelivery,
});
