import { encodeGlobalID } from '@pothos/plugin-relay';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestResponse } from '../engine/types.ts';
import {
  type GoClawApiKeyFragment,
  GoClawCreateApiKeyDocument,
  GoClawListApiKeysDocument,
  GoClawRevokeApiKeyDocument,
} from '../generated/graphql.ts';

// GoClaw's contract lists every key in one bare array; the GraphQL connection allows pages of 1000.
const listLimit = 1000;

const goclawError = (status: number, message: string): RestResponse => ({ status, body: { error: message } });

/** The contract's `ApiKey` schema (snake_case, never the hash). */
export function toGoClawApiKey(key: GoClawApiKeyFragment) {
  return {
    id: key.uuid,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    expires_at: key.expiresAt,
    last_used_at: key.lastUsedAt,
    revoked: key.revoked,
    created_by: key.createdBy,
    created_at: key.createdAt,
    updated_at: key.updatedAt,
  };
}

/** GET /v1/api-keys — all keys, active and revoked, newest first. */
const listApiKeys = graphqlOperation({
  document: GoClawListApiKeysDocument,
  variables: () => ({ first: listLimit }),
  respond: (data) => ({ status: 200, body: data.apiKeys.edges.map(({ node }) => toGoClawApiKey(node)) }),
});

interface CreateApiKeyBody {
  name: string;
  scopes: string[];
  expires_in?: number;
}

/** POST /v1/api-keys — 201 with the raw key, shown once. */
const createApiKey = graphqlOperation({
  document: GoClawCreateApiKeyDocument,
  variables: (req) => {
    const body = req.body as CreateApiKeyBody;
    return {
      input: {
        product: 'goclaw' as const,
        name: body.name,
        scopes: body.scopes,
        expiresInSeconds: body.expires_in ?? null,
      },
    };
  },
  respond: ({ createApiKey: result }) => {
    if (result.__typename !== 'MutationCreateApiKeySuccess') return goclawError(400, result.message);
    const { apiKey, rawKey } = result.data;
    return {
      status: 201,
      body: {
        id: apiKey.uuid,
        name: apiKey.name,
        prefix: apiKey.prefix,
        key: rawKey,
        scopes: apiKey.scopes,
        expires_at: apiKey.expiresAt,
        created_at: apiKey.createdAt,
      },
    };
  },
});

/** DELETE /v1/api-keys/{id} — 200 `{status:"revoked"}`; 404 for unknown keys and keys the caller may not manage. */
const revokeApiKey = graphqlOperation({
  document: GoClawRevokeApiKeyDocument,
  variables: (req) => ({ id: encodeGlobalID('ApiKey', req.params.id ?? '') }),
  respond: ({ revokeApiKey: result }) => {
    if (result.__typename === 'MutationRevokeApiKeySuccess') return { status: 200, body: { status: 'revoked' } };
    return goclawError(result.__typename === 'ApiKeyNotFoundError' ? 404 : 400, result.message);
  },
});

/** API keys: list, create, revoke (operator.admin; the GraphQL fields check it). */
export const goclawApiKeyOperations = operationsFor<OperationPolicy>().group(
  'api-keys',
  'test/goclaw/api-keys.test.ts',
  {
    get_v1_api_keys: listApiKeys,
    post_v1_api_keys: createApiKey,
    delete_v1_api_keys_by_id: revokeApiKey,
  },
);
