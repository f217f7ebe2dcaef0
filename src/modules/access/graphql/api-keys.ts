import { ApiKeyProduct } from '../../../../prisma/generated/client/enums.ts';
import { canManageApiKeys } from '../../../core/auth/policies.ts';
import { products } from '../../../core/auth/principal.ts';
import { builder } from '../../../core/builder.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import { ApiKeyNotFoundError, InvalidApiKeyInputError } from '../access.errors.ts';
import { isUuid } from '../access.service.ts';
import type { KeyControls } from '../key-controls.ts';

builder.objectType(ApiKeyNotFoundError, {
  name: 'ApiKeyNotFoundError',
  description: 'No such key, or one the caller may not manage (indistinguishable).',
  interfaces: [ErrorInterface],
});
builder.objectType(InvalidApiKeyInputError, {
  name: 'InvalidApiKeyInputError',
  description: 'A name, scope, expiry or control value out of bounds; the message says which.',
  interfaces: [ErrorInterface],
});

export const ApiKeyProductEnum = builder.enumType('ApiKeyProduct', {
  description: 'The product whose credential conventions (prefix, scopes) a key follows; `atrium` is the platform.',
  values: {
    atrium: { value: ApiKeyProduct.atrium, description: 'The platform itself (`atr_` keys, platform scopes).' },
    athena: { value: ApiKeyProduct.athena, description: 'Athena keys (`ath_`).' },
    deepstore: { value: ApiKeyProduct.deepstore, description: 'DeepStore keys (`dsk_`).' },
    polykomos: { value: ApiKeyProduct.polykomos, description: 'Polykomos keys (`pk_live_`).' },
    goclaw: { value: ApiKeyProduct.goclaw, description: 'GoClaw keys (`goclaw_`).' },
    mcp_v8: { value: ApiKeyProduct.mcp_v8, description: 'mcp-v8 keys (`mv8_`).' },
  } as const,
});

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  description: 'An API key. The raw key is only ever returned by createApiKey; only its SHA-256 is stored.',
  authScopes: (key) => ({ manageApiKeys: key.product }),
  // node(id): keys the caller may not manage are null, exactly like unknown ids (nullable: not found is null).
  nullable: true,
  findUnique: (id, ctx) => {
    const managed = products.filter((p) => canManageApiKeys(ctx.principal, p));
    return isUuid(id) && managed.length > 0 ? { id, product: { in: managed } } : { id: nilUuid, OR: [] };
  },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The key id as a plain UUID (the form REST contracts use).' }),
    product: t.expose('product', { type: ApiKeyProductEnum, description: 'The product whose conventions it follows.' }),
    name: t.exposeString('name', { description: 'A label chosen at creation.' }),
    prefix: t.exposeString('prefix', { description: 'First characters of the raw key, for identification.' }),
    scopes: t.exposeStringList('scopes', { description: 'What the key may do, in its product’s vocabulary.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it stops working; null: never.',
    }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Last use, to the minute; null: never used.',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked.' }),
    revoked: t.boolean({
      select: { revokedAt: true },
      description: 'Whether it was revoked.',
      resolve: (key) => key.revokedAt !== null,
    }),
    createdBy: t.exposeString('createdBy', { description: 'Who created it: `admin`, `apikey:<id>` or `jwt:<sub>`.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const nilUuid = '00000000-0000-0000-0000-000000000000';

function apiKeyFilter(args: { product?: ApiKeyProduct | null; includeRevoked?: boolean | null }) {
  return {
    ...(args.product ? { product: args.product } : {}),
    ...(args.includeRevoked === false ? { revokedAt: null } : {}),
  };
}

builder.queryField('apiKeys', (t) =>
  t.prismaConnection({
    type: 'ApiKey',
    cursor: 'id',
    description:
      'API keys, newest first, active and revoked. Admins see all products; product admins their own. Pages of up to 1000.',
    // Contracts such as GoClaw's list every key in one response; allow large pages for them.
    maxSize: 1000,
    totalCount: (_root, args, ctx) => ctx.services.prisma.apiKey.count({ where: apiKeyFilter(args) }),
    args: {
      product: t.arg({ type: ApiKeyProductEnum, required: false, description: 'Only keys of this product.' }),
      includeRevoked: t.arg.boolean({
        required: false,
        defaultValue: true,
        description: 'Whether revoked keys are listed (default true).',
      }),
    },
    authScopes: (_root, args) => (args.product ? { manageApiKeys: args.product } : { admin: true }),
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.apiKey.findMany({
        ...query,
        where: apiKeyFilter(args),
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
);

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new API key.',
  fields: (t) => ({
    product: t.field({ type: ApiKeyProductEnum, required: true, description: 'Its product (prefix, scopes).' }),
    name: t.string({ required: true, description: '1 to 200 characters.' }),
    scopes: t.stringList({ required: true, description: 'At most 50, from the product’s vocabulary.' }),
    expiresInSeconds: t.int({ required: false, description: 'Seconds until expiry; omit or 0 for never.' }),
  }),
});

const CreateApiKeyPayload = builder.objectRef<{ apiKeyId: string; rawKey: string }>('CreateApiKeyPayload').implement({
  description: 'The created key and its raw value.',
  fields: (t) => ({
    rawKey: t.exposeString('rawKey', { description: 'The raw key. Shown once: it cannot be read again.' }),
    apiKey: t.prismaField({
      type: 'ApiKey',
      description: 'The key.',
      resolve: (query, payload, _args, ctx) =>
        ctx.services.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: payload.apiKeyId } }),
    }),
  }),
});

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: CreateApiKeyPayload,
    description: 'Creates an API key (admins, or the product’s admins); the raw key is returned once.',
    errors: { types: [InvalidApiKeyInputError] },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true, description: 'The key to create.' }) },
    authScopes: (_root, args) => ({ manageApiKeys: args.input.product }),
    resolve: (_root, { input }, ctx) => ctx.services.access.createApiKey(ctx.principal, input),
  }),
);

const RevokeApiKeyPayload = builder.objectRef<{ apiKeyId: string }>('RevokeApiKeyPayload').implement({
  description: 'The revoked key.',
  fields: (t) => ({
    apiKey: t.prismaField({
      type: 'ApiKey',
      description: 'The key, now revoked.',
      resolve: (query, payload, _args, ctx) =>
        ctx.services.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: payload.apiKeyId } }),
    }),
  }),
});

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: RevokeApiKeyPayload,
    description: 'Revokes a key immediately. Revoking an already revoked key succeeds and changes nothing.',
    errors: { types: [ApiKeyNotFoundError] },
    args: {
      id: t.arg.globalID({ required: true, for: ApiKeyRef, description: 'The key (its global id).' }),
      product: t.arg({
        type: ApiKeyProductEnum,
        required: false,
        description: "Only revoke a key of this product; another product's key answers ApiKeyNotFoundError.",
      }),
    },
    authScopes: { authenticated: true },
    resolve: (_root, { id, product }, ctx) => ctx.services.access.revokeApiKey(ctx.principal, { id: id.id, product }),
  }),
);

export const ApiKeyControlsRef = builder.objectRef<KeyControls>('ApiKeyControls').implement({
  description:
    'Per-key controls, applied wherever the key is presented (GraphQL over HTTP and WebSocket, every REST door).',
  fields: (t) => ({
    requestsPerMinute: t.exposeInt('requestsPerMinute', {
      nullable: true,
      description: 'Requests per minute (token bucket, shared by all instances through Redis); null: no limit.',
    }),
    monthlyQuota: t.exposeInt('monthlyQuota', {
      nullable: true,
      description: 'Requests per calendar month (UTC); null: no quota.',
    }),
    allowedIpList: t.exposeStringList('allowedIpList', {
      description: 'Addresses or CIDR blocks the key may be used from; empty: any address.',
    }),
    inactiveTtlDays: t.exposeInt('inactiveTtlDays', {
      nullable: true,
      description: 'Days without use after which the key is refused; null: never.',
    }),
  }),
});

builder.objectField(ApiKeyRef, 'controls', (t) =>
  t.field({
    type: ApiKeyControlsRef,
    description: "The key's controls: its own, or its product's defaults (Polykomos: 60 requests per minute).",
    resolve: (key, _args, ctx) => ctx.services.access.controlsOf(key.id, key.product),
  }),
);

const SetApiKeyControlsInput = builder.inputType('SetApiKeyControlsInput', {
  description: 'Controls to change; an absent field keeps its value, null removes the limit.',
  fields: (t) => ({
    requestsPerMinute: t.int({ required: false, description: '1–100000 requests per minute.' }),
    monthlyQuota: t.int({ required: false, description: 'Requests per calendar month (UTC), at least 1; null: none.' }),
    allowedIpList: t.stringList({
      required: false,
      description: 'Addresses or CIDR blocks (at most 100); empty: any.',
    }),
    inactiveTtlDays: t.int({ required: false, description: '1–3650 days without use before refusal; null: never.' }),
  }),
});

builder.mutationField('setApiKeyControls', (t) =>
  t.prismaField({
    type: 'ApiKey',
    description: "Sets a key's controls (admins, or the key's product admins). Others get ApiKeyNotFoundError.",
    errors: { types: [ApiKeyNotFoundError, InvalidApiKeyInputError] },
    args: {
      id: t.arg.globalID({ required: true, for: ApiKeyRef, description: 'The key (its global id).' }),
      input: t.arg({ type: SetApiKeyControlsInput, required: true, description: 'The controls to change.' }),
    },
    authScopes: { authenticated: true },
    resolve: async (query, _root, { id, input }, ctx) => {
      await ctx.services.access.setKeyControls(ctx.principal, id.id, input);
      return ctx.services.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: id.id } });
    },
  }),
);
