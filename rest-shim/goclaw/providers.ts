import { InvalidInputError } from '../../src/core/errors.ts';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestRequest } from '../engine/types.ts';
import {
  GoClawCreateProviderDocument,
  GoClawDeleteProviderDocument,
  GoClawGetProviderDocument,
  GoClawListProvidersDocument,
  type GoClawProviderFieldsFragment,
  type GoClawProviderInput,
  GoClawProviderModelsDocument,
  type GoClawProviderType,
  GoClawUpdateProviderDocument,
  GoClawVerifyProviderDocument,
} from '../generated/graphql.ts';
import { answer } from './answer.ts';

/** The provider as REST shows it (snake_case; the key masked as `***`, empty when none is stored). */
export function toGoClawProvider(p: GoClawProviderFieldsFragment) {
  return {
    id: p.uuid,
    name: p.name,
    display_name: p.displayName,
    provider_type: p.providerType,
    api_base: p.apiBase,
    api_key: p.apiKey,
    enabled: p.enabled,
    settings: p.settings,
    created_by: p.createdBy,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

interface ProviderBody {
  name?: unknown;
  display_name?: unknown;
  provider_type?: unknown;
  api_base?: unknown;
  api_key?: unknown;
  enabled?: unknown;
  settings?: unknown;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The body as GraphQL input; wrong types answer 400 before anything runs (PUT declares no body schema). */
function providerInput(req: RestRequest): GoClawProviderInput {
  const body = (req.body ?? {}) as ProviderBody;
  if (typeof body !== 'object' || Array.isArray(body)) throw badBody('the body must be a JSON object');
  for (const key of ['name', 'display_name', 'provider_type', 'api_base', 'api_key'] as const) {
    if (body[key] !== undefined && body[key] !== null && typeof body[key] !== 'string')
      throw badBody(`body.${key}: must be string`);
  }
  if (body.enabled !== undefined && body.enabled !== null && typeof body.enabled !== 'boolean') {
    throw badBody('body.enabled: must be boolean');
  }
  if (
    body.settings !== undefined &&
    body.settings !== null &&
    (typeof body.settings !== 'object' || Array.isArray(body.settings))
  ) {
    throw badBody('body.settings: must be object');
  }
  return {
    name: str(body.name) ?? null,
    displayName: str(body.display_name) ?? null,
    providerType: (str(body.provider_type) as GoClawProviderType | undefined) ?? null,
    apiBase: str(body.api_base) ?? null,
    apiKey: str(body.api_key) ?? null,
    enabled: typeof body.enabled === 'boolean' ? body.enabled : null,
    settings: body.settings ?? null,
  };
}

const badBody = (message: string) => new InvalidInputError(message);

const providerTypes = new Set([
  'anthropic_native',
  'openai_compat',
  'gemini_native',
  'groq',
  'deepseek',
  'mistral',
  'xai',
  'ollama',
]);

/** GET /v1/providers — `{providers: [...]}`, keys masked. */
const listProviders = graphqlOperation({
  document: GoClawListProvidersDocument,
  variables: () => ({}),
  respond: (data) => ({
    status: 200,
    body: { providers: data.goclawProviders.edges.map((e) => toGoClawProvider(e.node)) },
  }),
});

/** POST /v1/providers — 201 with the masked provider; 400 bad slug/type/base, 409 name taken. */
const createProvider = graphqlOperation({
  document: GoClawCreateProviderDocument,
  variables: (req) => ({ input: providerInput(req) }),
  respond: ({ createGoClawProvider: r }) => answer(r, (ok) => ({ status: 201, body: toGoClawProvider(ok.data) })),
});

/** GET /v1/providers/{id} */
const getProvider = graphqlOperation({
  document: GoClawGetProviderDocument,
  variables: (req) => ({ uuid: req.params.id ?? '' }),
  respond: ({ goclawProvider: r }) => answer(r, (ok) => ({ status: 200, body: toGoClawProvider(ok.data) })),
});

/** PUT /v1/providers/{id} — partial; `api_key` of `***` or `""` keeps the stored key. `{status: "updated"}`. */
const updateProvider = graphqlOperation({
  document: GoClawUpdateProviderDocument,
  variables: (req) => {
    const input = providerInput(req);
    if (input.providerType && !providerTypes.has(input.providerType)) {
      throw badBody(`body.provider_type: must be one of ${[...providerTypes].join(', ')}`);
    }
    return { uuid: req.params.id ?? '', input };
  },
  respond: ({ updateGoClawProvider: r }) => answer(r, () => ({ status: 200, body: { status: 'updated' } })),
});

/** DELETE /v1/providers/{id} — `{status: "deleted"}`. */
const deleteProvider = graphqlOperation({
  document: GoClawDeleteProviderDocument,
  variables: (req) => ({ uuid: req.params.id ?? '' }),
  respond: ({ deleteGoClawProvider: r }) => answer(r, () => ({ status: 200, body: { status: 'deleted' } })),
});

/**
 * GET /v1/providers/{id}/models — proxied from the provider: `{models: [{id, name?}]}`, plus OpenAI's list shape
 * (`object: "list"`, `data: [{id, object: "model", owned_by}]`) so an OpenAI client whose base URL is
 * `/goclaw/v1/providers/{id}` lists them with `models.list()` (the contract has no `/v1/models`).
 */
const providerModels = graphqlOperation({
  document: GoClawProviderModelsDocument,
  variables: (req) => ({ uuid: req.params.id ?? '' }),
  respond: ({ goclawProviderModels: r }, req) =>
    answer(r, (ok) => ({
      status: 200,
      body: {
        models: ok.data.map((m) => ({ id: m.id, ...(m.name ? { name: m.name } : {}) })),
        object: 'list',
        data: ok.data.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: req.params.id ?? '' })),
      },
    })),
});

/** POST /v1/providers/{id}/verify — always 200 `{valid, error?}` for a provider that exists. */
const verifyProvider = graphqlOperation({
  document: GoClawVerifyProviderDocument,
  variables: (req) => {
    const model = (req.body as { model?: unknown } | undefined)?.model;
    return { uuid: req.params.id ?? '', model: typeof model === 'string' ? model : '' };
  },
  respond: ({ verifyGoClawProvider: r }) =>
    answer(r, (ok) => ({
      status: 200,
      body: ok.data.valid ? { valid: true } : { valid: false, error: ok.data.error ?? 'verification failed' },
    })),
});

/** LLM providers: CRUD (keys sealed, masked), the provider's model list, a real verification call. */
export const goclawProviderOperations = operationsFor<OperationPolicy>().group(
  'providers',
  'test/goclaw/providers.test.ts',
  {
    get_v1_providers: listProviders,
    post_v1_providers: createProvider,
    get_v1_providers_by_id: getProvider,
    put_v1_providers_by_id: updateProvider,
    delete_v1_providers_by_id: deleteProvider,
    get_v1_providers_by_id_models: providerModels,
    post_v1_providers_by_id_verify: verifyProvider,
  },
);
