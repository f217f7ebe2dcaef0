import { resolveArrayConnection } from '@pothos/plugin-relay';
import { builder } from '../../../core/builder.ts';
import type { providerTypes } from '../llm/index.ts';
import { isUuid, maskedKey, type ProviderRow } from '../providers.service.ts';
import { Conflict, errorsOf, InvalidInput, NotFound, withTotalCount } from './types.ts';

export const ProviderTypeEnum = builder.enumType('GoClawProviderType', {
  description: 'The wire format a provider speaks (the contract’s `provider_type`).',
  values: {
    anthropic_native: { description: 'Anthropic Messages.' },
    openai_compat: { description: 'OpenAI chat completions (OpenAI, OpenRouter and other compatible servers).' },
    gemini_native: { description: 'Gemini generateContent.' },
    groq: { description: 'Groq (OpenAI chat completions).' },
    deepseek: { description: 'DeepSeek (OpenAI chat completions).' },
    mistral: { description: 'Mistral (OpenAI chat completions).' },
    xai: { description: 'xAI (OpenAI chat completions).' },
    ollama: { description: 'Ollama (its OpenAI-compatible API).' },
  } as const,
});
type ProviderTypeValue = (typeof providerTypes)[number];

const isProvider = (v: unknown): v is ProviderRow =>
  typeof v === 'object' && v !== null && 'providerType' in v && 'apiKeyEnc' in v;

export const ProviderRef = builder.node(builder.objectRef<ProviderRow>('GoClawProvider'), {
  id: { resolve: (p) => p.id },
  description: 'An LLM provider: a wire format, a base URL and an API key sealed at rest (never shown).',
  authScopes: { product: 'goclaw' },
  isTypeOf: isProvider,
  loadOne: (id, ctx) => (isUuid(id) ? ctx.services.goclaw.providers.get(ctx.principal, id).catch(() => null) : null),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The provider’s uuid (REST’s id).' }),
    name: t.exposeString('name', { description: 'The unique slug agents name it by.' }),
    displayName: t.exposeString('displayName', { description: 'A name for people.' }),
    providerType: t.field({
      type: ProviderTypeEnum,
      description: 'The wire format.',
      resolve: (p) => p.providerType as ProviderTypeValue,
    }),
    apiBase: t.exposeString('apiBase', { description: 'The base URL; empty = the type’s public default.' }),
    apiKey: t.string({
      description: '`***` when a key is stored, empty when none: the key itself is never returned.',
      resolve: (p) => (p.apiKeyEnc ? maskedKey : ''),
    }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether agents may use it.' }),
    settings: t.field({
      type: 'JSON',
      description: 'Free settings (`pricing: {model: {input_per_mtok, output_per_mtok}}` prices runs).',
      resolve: (p) => p.settings,
    }),
    createdBy: t.exposeString('createdBy', { description: 'The principal that created it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const ModelRef = builder.objectRef<{ id: string; name?: string }>('GoClawProviderModel').implement({
  description: 'A model as the provider’s own list names it.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The model id to send.' }),
    name: t.string({
      nullable: true,
      description: 'Its display name, where the provider gives one.',
      resolve: (m) => m.name ?? null,
    }),
  }),
});

const VerifyRef = builder.objectRef<{ valid: boolean; error: string | null }>('GoClawProviderVerification').implement({
  description: 'The outcome of one real minimal completion against the provider.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'The provider answered the call.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why not, when it did not.' }),
  }),
});

const ProviderInput = builder.inputType('GoClawProviderInput', {
  description: 'A provider’s fields; on update every field is optional and absent ones stay.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'Unique slug (required on create).' }),
    displayName: t.string({ required: false, description: 'A name for people.' }),
    providerType: t.field({
      type: ProviderTypeEnum,
      required: false,
      description: 'The wire format (required on create).',
    }),
    apiBase: t.string({ required: false, description: 'Base URL (http or https); empty = the type’s default.' }),
    apiKey: t.string({ required: false, description: 'The API key; `***` or empty on update keeps the stored one.' }),
    enabled: t.boolean({ required: false, description: 'Whether agents may use it (default true).' }),
    settings: t.field({ type: 'JSON', required: false, description: 'Free settings (an object).' }),
  }),
});

builder.queryField('goclawProviders', (t) =>
  t.connection(
    {
      type: ProviderRef,
      description: 'Every LLM provider, oldest first (keys masked). Viewer role.',
      authScopes: { product: 'goclaw' },
      resolve: async (_r, args, ctx) => {
        const all = await ctx.services.goclaw.providers.list(ctx.principal);
        return Object.assign(resolveArrayConnection({ args, defaultSize: 100, maxSize: 1000 }, all), {
          totalCount: all.length,
        });
      },
    },
    withTotalCount,
  ),
);

builder.queryField('goclawProvider', (t) =>
  t.field({
    type: ProviderRef,
    description: 'One provider by uuid. Viewer role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound),
    args: { uuid: t.arg.string({ required: true, description: 'The provider’s uuid.' }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.goclaw.providers.get(ctx.principal, uuid),
  }),
);

builder.queryField('goclawProviderModels', (t) =>
  t.field({
    type: [ModelRef],
    description: 'The provider’s own model list, fetched from it now. Viewer role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: { uuid: t.arg.string({ required: true, description: 'The provider’s uuid.' }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.goclaw.providers.models(ctx.principal, uuid),
  }),
);

builder.mutationField('createGoClawProvider', (t) =>
  t.field({
    type: ProviderRef,
    description: 'Creates a provider; the key is sealed at rest. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(InvalidInput, Conflict),
    args: { input: t.arg({ type: ProviderInput, required: true, description: 'The provider.' }) },
    resolve: (_r, { input }, ctx) =>
      ctx.services.goclaw.providers.create(ctx.principal, {
        name: input.name ?? '',
        providerType: (input.providerType ?? '') as ProviderTypeValue,
        displayName: input.displayName,
        apiBase: input.apiBase,
        apiKey: input.apiKey,
        enabled: input.enabled,
        settings: input.settings as Record<string, unknown> | null | undefined,
      }),
  }),
);

builder.mutationField('updateGoClawProvider', (t) =>
  t.field({
    type: ProviderRef,
    description: 'Changes the given fields of a provider. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput, Conflict),
    args: {
      uuid: t.arg.string({ required: true, description: 'The provider’s uuid.' }),
      input: t.arg({ type: ProviderInput, required: true, description: 'The fields to change.' }),
    },
    resolve: (_r, { uuid, input }, ctx) =>
      ctx.services.goclaw.providers.update(ctx.principal, uuid, {
        ...input,
        settings: input.settings as Record<string, unknown> | null | undefined,
      }),
  }),
);

builder.mutationField('deleteGoClawProvider', (t) =>
  t.field({
    type: ProviderRef,
    description: 'Deletes a provider; returns it as it was. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound),
    args: { uuid: t.arg.string({ required: true, description: 'The provider’s uuid.' }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.goclaw.providers.delete(ctx.principal, uuid),
  }),
);

builder.mutationField('verifyGoClawProvider', (t) =>
  t.field({
    type: VerifyRef,
    description: 'Makes one real minimal completion ("ping", one output token) with `model`. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound),
    args: {
      uuid: t.arg.string({ required: true, description: 'The provider’s uuid.' }),
      model: t.arg.string({ required: true, description: 'The model to call.' }),
    },
    resolve: (_r, { uuid, model }, ctx) => ctx.services.goclaw.providers.verify(ctx.principal, uuid, model),
  }),
);
