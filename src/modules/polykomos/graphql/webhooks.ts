import { builder } from '../../../core/builder.ts';
import { invalidParameter } from '../polykomos.errors.ts';
import { parseId, type WebhookDeliveryRow, type WebhookEndpointRow } from '../webhooks.service.ts';
import { polykomosErrors } from './types.ts';

/*
 * Polykomos webhooks (docs/polykomos.md "Webhooks"): endpoints, deliveries and test deliveries. Ids are integers, as
 * in the REST contract; connection cursors are those ids as strings.
 */

export const PolykomosWebhookEndpointRef = builder.objectRef<WebhookEndpointRow>('PolykomosWebhookEndpoint').implement({
  description: 'A URL receiving signed webhook events. Owner only; revocation is soft (status revoked).',
  fields: (t) => ({
    id: t.exposeInt('id'),
    url: t.exposeString('url'),
    events: t.exposeStringList('events', { description: 'Subscribed event types; empty = all.' }),
    status: t.exposeString('status', { description: 'active | revoked' }),
    lastSuccessAt: t.expose('lastSuccessAt', { type: 'DateTime', nullable: true }),
    lastFailureAt: t.expose('lastFailureAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const PolykomosWebhookDeliveryRef = builder.objectRef<WebhookDeliveryRow>('PolykomosWebhookDelivery').implement({
  description: 'One event sent to one endpoint, with the outcome of its latest attempt.',
  fields: (t) => ({
    id: t.exposeInt('id'),
    endpointId: t.exposeInt('endpointId'),
    eventId: t.exposeString('eventId'),
    eventType: t.exposeString('eventType'),
    status: t.exposeString('status', { description: 'pending | delivered | failed' }),
    responseCode: t.exposeInt('responseCode', { nullable: true }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    attemptCount: t.exposeInt('attemptCount'),
    isTest: t.exposeBoolean('isTest'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreateEndpointPayload = builder
  .objectRef<{ endpoint: WebhookEndpointRow; secret: string }>('CreatePolykomosWebhookEndpointPayload')
  .implement({
    fields: (t) => ({
      endpoint: t.field({ type: PolykomosWebhookEndpointRef, resolve: (p) => p.endpoint }),
      secret: t.exposeString('secret', { description: 'The HMAC signing secret. Shown once; stored encrypted.' }),
    }),
  });

const CreatePolykomosWebhookEndpointInput = builder.inputType('CreatePolykomosWebhookEndpointInput', {
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

function page<T extends { id: number }>(p: { items: T[]; hasMore: boolean }, after: string | null | undefined) {
  const edges = p.items.map((node) => ({ cursor: String(node.id), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: p.hasMore,
      hasPreviousPage: Boolean(after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

builder.queryField('polykomosWebhookEndpoints', (t) =>
  t.connection({
    type: PolykomosWebhookEndpointRef,
    description:
      'The caller’s webhook endpoints (revoked included), newest first; `after` = last id seen. first 1–100, ' +
      'default 25. Scope webhooks:read.',
    authScopes: { product: 'polykomos' },
    errors: polykomosErrors,
    resolve: async (_r, args, ctx) =>
      page(
        await ctx.services.polykomos.webhooks.listEndpoints(ctx.principal, args.first ?? 25, cursorId(args.after)),
        args.after,
      ),
  }),
);

builder.queryField('polykomosWebhookEndpoint', (t) =>
  t.field({
    type: PolykomosWebhookEndpointRef,
    description: 'One of the caller’s webhook endpoints. Scope webhooks:read.',
    authScopes: { product: 'polykomos' },
    errors: polykomosErrors,
    args: { id: t.arg.int({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.services.polykomos.webhooks.getEndpoint(ctx.principal, id),
  }),
);

builder.queryField('polykomosWebhookDeliveries', (t) =>
  t.connection({
    type: PolykomosWebhookDeliveryRef,
    description: 'Deliveries of one of the caller’s endpoints, newest first. Scope webhooks:read.',
    authScopes: { product: 'polykomos' },
    errors: polykomosErrors,
    args: { endpointId: t.arg.int({ required: true }) },
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
  }),
);

builder.mutationField('createPolykomosWebhookEndpoint', (t) =>
  t.field({
    type: CreateEndpointPayload,
    description: 'Creates a webhook endpoint; its signing secret is returned once. Scope webhooks:write.',
    authScopes: { product: 'polykomos' },
    errors: polykomosErrors,
    args: { input: t.arg({ type: CreatePolykomosWebhookEndpointInput, required: true }) },
    resolve: (_r, { input }, ctx) => ctx.services.polykomos.webhooks.createEndpoint(ctx.principal, input),
  }),
);

builder.mutationField('revokePolykomosWebhookEndpoint', (t) =>
  t.field({
    type: PolykomosWebhookEndpointRef,
    description: 'Revokes (soft) a webhook endpoint: no new deliveries. Scope webhooks:write.',
    authScopes: { product: 'polykomos' },
    errors: polykomosErrors,
    args: { id: t.arg.int({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.services.polykomos.webhooks.revokeEndpoint(ctx.principal, id),
  }),
);

builder.mutationField('createPolykomosWebhookTestDelivery', (t) =>
  t.field({
    type: PolykomosWebhookDeliveryRef,
    description:
      'Sends one signed `webhook.test` event now and returns the recorded delivery with its real outcome. A ' +
      'revoked endpoint is ENDPOINT_REVOKED (422). Scope webhooks:write.',
    authScopes: { product: 'polykomos' },
    errors: polykomosErrors,
    args: { endpointId: t.arg.int({ required: true }) },
    resolve: (_r, { endpointId }, ctx) => ctx.services.polykomos.webhooks.testDelivery(ctx.principal, endpointId),
  }),
);
