import { builder } from '../../../core/builder.ts';
import { invalidParameter } from '../polykomos.errors.ts';
import { parseId, type WebhookDeliveryRow, type WebhookEndpointRow } from '../webhooks.service.ts';
import { errorsOf, Forbidden, InvalidInput, NotFound, Rejected } from './types.ts';

/*
 * Polykomos webhooks on the shared engine (docs/webhooks.md, docs/polykomos.md "Webhooks"): endpoints, deliveries
 * and test deliveries. Both types are Nodes (global ids); REST keeps the integer ids through `endpointId` and
 * `deliveryId`. Connection cursors are those integer ids as strings.
 */

const EndpointStatus = builder.enumType('PolykomosWebhookEndpointStatus', {
  description: 'Whether an endpoint receives events.',
  values: {
    active: { description: 'Receives the events it subscribes to.' },
    revoked: { description: 'Revoked (soft): receives nothing; its deliveries stay listable.' },
  } as const,
});

const DeliveryStatus = builder.enumType('PolykomosWebhookDeliveryStatus', {
  description: 'Where a delivery stands.',
  values: {
    pending: { description: 'Not yet delivered: its job is queued, running or waiting for a retry.' },
    delivered: { description: 'The endpoint answered 2xx.' },
    failed: { description: 'Every attempt failed (or the endpoint was revoked); no further attempts.' },
  } as const,
});

const isEndpoint = (v: unknown): v is WebhookEndpointRow =>
  typeof v === 'object' && v !== null && 'secretEnc' in v && 'url' in v;
const isDelivery = (v: unknown): v is WebhookDeliveryRow =>
  typeof v === 'object' && v !== null && 'eventId' in v && 'attemptCount' in v;

export const PolykomosWebhookEndpointRef = builder.node(
  builder.objectRef<WebhookEndpointRow>('PolykomosWebhookEndpoint'),
  {
    id: { resolve: (e) => String(e.id) },
    description: 'A URL receiving signed webhook events. Owner only; revocation is soft (status revoked).',
    authScopes: { product: 'polykomos' },
    isTypeOf: isEndpoint,
    loadOne: (id, ctx) => {
      const n = parseId(id);
      return n === undefined ? null : ctx.services.polykomos.webhooks.findEndpoint(ctx.principal, n);
    },
    fields: (t) => ({
      endpointId: t.exposeInt('id', { description: 'The integer id REST uses (`/webhook_endpoints/{id}`).' }),
      url: t.exposeString('url', { description: 'Where events are POSTed (checked by the outbound guard).' }),
      events: t.exposeStringList('events', { description: 'Subscribed event types; empty = all.' }),
      status: t.field({
        type: EndpointStatus,
        description: 'Active or revoked.',
        resolve: (e) => e.status as 'active',
      }),
      lastSuccessAt: t.expose('lastSuccessAt', {
        type: 'DateTime',
        nullable: true,
        description: 'When an attempt last got a 2xx.',
      }),
      lastFailureAt: t.expose('lastFailureAt', {
        type: 'DateTime',
        nullable: true,
        description: 'When an attempt last failed.',
      }),
      createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the endpoint was created.' }),
    }),
  },
);

export const PolykomosWebhookDeliveryRef = builder.node(
  builder.objectRef<WebhookDeliveryRow>('PolykomosWebhookDelivery'),
  {
    id: { resolve: (d) => String(d.id) },
    description: 'One event sent to one endpoint (a durable job), with the outcome of its latest attempt.',
    authScopes: { product: 'polykomos' },
    isTypeOf: isDelivery,
    loadOne: (id, ctx) => {
      const n = parseId(id);
      return n === undefined ? null : ctx.services.polykomos.webhooks.findDelivery(ctx.principal, n);
    },
    fields: (t) => ({
      deliveryId: t.exposeInt('id', { description: 'The integer id REST uses.' }),
      endpointId: t.exposeInt('endpointId', { description: 'The integer id of the endpoint it was sent to.' }),
      eventId: t.exposeString('eventId', { description: 'The event envelope id (`evt_…`), the same on every retry.' }),
      eventType: t.exposeString('eventType', { description: 'The event type, e.g. `database.created`.' }),
      status: t.field({
        type: DeliveryStatus,
        description: 'Pending, delivered or failed.',
        resolve: (d) => d.status as 'pending',
      }),
      responseCode: t.exposeInt('responseCode', {
        nullable: true,
        description: 'HTTP status of the latest attempt; null when no response arrived.',
      }),
      errorMessage: t.exposeString('errorMessage', {
        nullable: true,
        description: 'Why the latest attempt failed (no server internals).',
      }),
      attemptCount: t.exposeInt('attemptCount', { description: 'Attempts so far.' }),
      isTest: t.exposeBoolean('isTest', { description: 'A test delivery (sent synchronously, never retried).' }),
      createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the delivery was created.' }),
    }),
  },
);

const CreateEndpointPayload = builder
  .objectRef<{ endpoint: WebhookEndpointRow; secret: string }>('CreatePolykomosWebhookEndpointPayload')
  .implement({
    description: 'The created endpoint and its signing secret.',
    fields: (t) => ({
      endpoint: t.field({
        type: PolykomosWebhookEndpointRef,
        description: 'The endpoint.',
        resolve: (p) => p.endpoint,
      }),
      secret: t.exposeString('secret', { description: 'The HMAC signing secret. Shown once; stored encrypted.' }),
    }),
  });

const CreatePolykomosWebhookEndpointInput = builder.inputType('CreatePolykomosWebhookEndpointInput', {
  description: 'A new webhook endpoint.',
  fields: (t) => ({
    url: t.string({ required: true, description: 'http(s); private and loopback targets are refused.' }),
    events: t.stringList({ required: false, description: 'Event types; absent or empty = all.' }),
  }),
});

function cursorId(after: string | null | undefined): number | null {
  if (after === null || after === undefined) return null;
  const id = parseId(after);
  if (id === undefined) throw invalidParameter(`starting_after: "${after}" is not an id`);
  return id;
}

function page<T extends { id: number }>(
  p: { items: T[]; hasMore: boolean; totalCount: number },
  after: string | null | undefined,
) {
  const edges = p.items.map((node) => ({ cursor: String(node.id), node }));
  return {
    edges,
    totalCount: p.totalCount,
    pageInfo: {
      hasNextPage: p.hasMore,
      hasPreviousPage: Boolean(after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

builder.queryField('polykomosWebhookEndpoints', (t) =>
  t.connection(
    {
      type: PolykomosWebhookEndpointRef,
      description:
        'The caller’s webhook endpoints (revoked included), newest first; `after` = last endpointId seen. first ' +
        '1–100, default 25. Scope webhooks:read.',
      authScopes: { product: 'polykomos' },
      errors: errorsOf(Forbidden, InvalidInput),
      resolve: async (_r, args, ctx) =>
        page(
          await ctx.services.polykomos.webhooks.listEndpoints(ctx.principal, args.first ?? 25, cursorId(args.after)),
          args.after,
        ),
    },
    {
      fields: (c) => ({
        totalCount: c.int({ description: 'All items of the list, across pages.', resolve: (conn) => conn.totalCount }),
      }),
    },
  ),
);

builder.queryField('polykomosWebhookEndpoint', (t) =>
  t.field({
    type: PolykomosWebhookEndpointRef,
    description: 'One of the caller’s webhook endpoints, by its integer id. Scope webhooks:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { endpointId: t.arg.int({ required: true, description: 'The endpoint’s integer id (REST’s id).' }) },
    resolve: (_r, { endpointId }, ctx) => ctx.services.polykomos.webhooks.getEndpoint(ctx.principal, endpointId),
  }),
);

builder.queryField('polykomosWebhookDeliveries', (t) =>
  t.connection(
    {
      type: PolykomosWebhookDeliveryRef,
      description: 'Deliveries of one of the caller’s endpoints, newest first. Scope webhooks:read.',
      authScopes: { product: 'polykomos' },
      errors: errorsOf(Forbidden, NotFound, InvalidInput),
      args: { endpointId: t.arg.int({ required: true, description: 'The endpoint’s integer id.' }) },
      resolve: async (_r, args, ctx) =>
        page(
          await ctx.services.polykomos.webhooks.listDeliveries(
            ctx.principal,
            args.endpointId,
            args.first ?? 25,
            cursorId(args.after),
          ),
          args.after,
        ),
    },
    {
      fields: (c) => ({
        totalCount: c.int({ description: 'All items of the list, across pages.', resolve: (conn) => conn.totalCount }),
      }),
    },
  ),
);

builder.mutationField('createPolykomosWebhookEndpoint', (t) =>
  t.field({
    type: CreateEndpointPayload,
    description: 'Creates a webhook endpoint; its signing secret is returned once. Scope webhooks:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, Rejected),
    args: {
      input: t.arg({ type: CreatePolykomosWebhookEndpointInput, required: true, description: 'The endpoint.' }),
    },
    resolve: (_r, { input }, ctx) => ctx.services.polykomos.webhooks.createEndpoint(ctx.principal, input),
  }),
);

builder.mutationField('revokePolykomosWebhookEndpoint', (t) =>
  t.field({
    type: PolykomosWebhookEndpointRef,
    description: 'Revokes (soft) a webhook endpoint: no new deliveries. Scope webhooks:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { endpointId: t.arg.int({ required: true, description: 'The endpoint’s integer id.' }) },
    resolve: (_r, { endpointId }, ctx) => ctx.services.polykomos.webhooks.revokeEndpoint(ctx.principal, endpointId),
  }),
);

builder.mutationField('createPolykomosWebhookTestDelivery', (t) =>
  t.field({
    type: PolykomosWebhookDeliveryRef,
    description:
      'Sends one signed `webhook.test` event now and returns the recorded delivery with its real outcome. A ' +
      'revoked endpoint is ENDPOINT_REVOKED. Scope webhooks:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound, Rejected),
    args: { endpointId: t.arg.int({ required: true, description: 'The endpoint’s integer id.' }) },
    resolve: (_r, { endpointId }, ctx) => ctx.services.polykomos.webhooks.testDelivery(ctx.principal, endpointId),
  }),
);
