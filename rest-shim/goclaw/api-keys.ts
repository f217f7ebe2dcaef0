import { encodeGlobalID } from '@pothos/plugin-relay';
import {
  type GoClawApiKeyFragment,
  GoClawCreateApiKeyDocument,
  type GoClawCreateApiKeyMutationVariables,
  GoClawListApiKeysDocument,
  GoClawRevokeApiKeyDocument,
} from '../generated/graphql.ts';
import type { GraphQLRestOperation, RestRequest, RestResponse } from '../types.ts';

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
export const listApiKeys: GraphQLRestOperation = {
  kind: 'graphql',
  document: GoClawListApiKeysDocument,
  variables: () => ({ first: listLimit }),
  respond: (data: { apiKeys: { edges: { node: GoClawApiKeyFragment }[] } }) => ({
    status: 200,
    body: data.apiKeys.edges.map(({ node }) => toGoClawApiKey(node)),
  }),
};

interface CreateBody {
  name: string;
  scopes: string[];
  expires_in?: number;
}

/** POST /v1/api-keys — 201 with the raw key, shown once. */
export const createApiKey: GraphQLRestOperation = {
  kind: 'graphql',
  document: GoClawCreateApiKeyDocument,
  variables: (req: RestRequest): GoClawCreateApiKeyMutationVariables => {
    const body = req.body as CreateBody;
    return {
      input: { product: 'goclaw', name: body.name, scopes: body.scopes, expiresInSeconds: body.expires_in ?? null },
    };
  },
  respond: (data: { createApiKey: CreateResult }) => {
    const result = data.createApiKey;
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
};

type CreateResult =
  | { __typename: 'MutationCreateApiKeySuccess'; data: { rawKey: string; apiKey: GoClawApiKeyFragment } }
  | { __typename: string; message: string; code: string };

/** DELETE /v1/api-keys/{id} — 200 `{status:"revoked"}`, 404 for unknown (or invisible) keys. */
export const revokeApiKey: GraphQLRestOperation = {
  kind: 'graphql',
  document: GoClawRevokeApiKeyDocument,
  variables: (req: RestRequest) => ({ id: encodeGlobalID('ApiKey', req.params.id ?? '') }),
  respond: (data: { revokeApiKey: { __typename: string; message?: string } }) => {
    const result = data.revokeApiKey;
    if (result.__typename === 'MutationRevokeApiKeySuccess') return { status: 200, body: { status: 'revoked' } };
    if (result.__typename === 'ApiKeyNotFoundError') return goclawError(404, result.message ?? 'API key not found');
    return goclawError(400, result.message ?? 'Request failed');
  },
};
