import { AthenaInvalidInputError } from '../../src/modules/athena/athena.errors.ts';
import type { RestRequest } from '../engine/types.ts';
import {
  AthenaApiKeyEnforcementDocument,
  type AthenaApiKeyEnforcementFieldsFragment,
  type AthenaApiKeyRecordFieldsFragment,
  type AthenaApiKeyRightFieldsFragment,
  type AthenaClientEnforcementFieldsFragment,
  AthenaCreateApiKeyDocument,
  AthenaCreateApiKeyRightDocument,
  AthenaDeleteApiKeyDocument,
  AthenaDeleteApiKeyRightDocument,
  AthenaDeleteClientApiKeyEnforcementDocument,
  AthenaListApiKeyRightsDocument,
  AthenaListApiKeysDocument,
  AthenaRightsCatalogDocument,
  AthenaSetApiKeyEnforcementDocument,
  AthenaSetClientApiKeyEnforcementDocument,
  AthenaUpdateApiKeyDocument,
  AthenaUpdateApiKeyRightDocument,
} from '../generated/graphql.ts';
import { answer, iso } from './answer.ts';
import { type Body, bodyOf, bool, nullableStr, queryInt, required, str, strings } from './body.ts';
import { graphql, group } from './policy.ts';

/*
 * G4 — API keys, rights, the rights catalog and the enforcement switch (docs/athena.md, Access control (G4)). Bodies
 * follow the contract's schemas literally: bare `{api_keys}`, `{api_key, record}`, `{record}`, `{id}`, `{rights}`,
 * `{right}`, `ApiKeyConfigResponse`, `{clients}`, `{client}`, `{client_name}`; the catalog is in the success envelope.
 */

const admin = { admin: true } as const;

function int(b: Body, field: string): number | undefined {
  const v = b[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1_000_000) {
    throw new AthenaInvalidInputError(`${field} must be an integer from 0 to 1000000`);
  }
  return v;
}

function date(b: Body, field: string): string | null | undefined {
  const v = nullableStr(b, field);
  if (v === undefined || v === null) return v;
  if (Number.isNaN(Date.parse(v))) throw new AthenaInvalidInputError(`${field} must be a date-time`);
  return new Date(v).toISOString();
}

const success = (message: string, data: Record<string, unknown>) => ({ status: 'success', message, data });

/** `ApiKeyRecord`. */
function keyRecord(k: AthenaApiKeyRecordFieldsFragment) {
  return {
    id: k.uuid,
    public_id: k.publicId,
    name: k.name,
    description: k.description,
    client_name: k.clientName,
    expires_at: iso(k.expiresAt),
    is_active: k.isActive,
    last_used_at: iso(k.lastUsedAt),
    created_at: iso(k.createdAt),
    updated_at: iso(k.updatedAt),
    rights: k.rights,
  };
}

/** `ApiKeyRightRecord`. */
function rightRecord(r: AthenaApiKeyRightFieldsFragment) {
  return {
    id: r.uuid,
    name: r.name,
    description: r.description,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

/** `ApiKeyClientConfig`. */
function clientConfig(c: AthenaClientEnforcementFieldsFragment) {
  return {
    client_name: c.clientName,
    enforce_api_keys: c.enforceApiKeys,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

/** `ApiKeyConfigResponse`. */
function configResponse(c: AthenaApiKeyEnforcementFieldsFragment) {
  return {
    global: { enforce_api_keys: c.global.enforceApiKeys, updated_at: iso(c.global.updatedAt) },
    clients: c.clients.map(clientConfig),
  };
}

const keyId = (req: RestRequest) => req.params.id ?? '';

// ---- keys

const get_admin_api_keys = graphql({
  policy: admin,
  extraQuery: ['limit', 'offset'],
  document: AthenaListApiKeysDocument,
  variables: (req) => ({ first: queryInt(req, 'limit', 1000, 1000), offset: queryInt(req, 'offset', 0, 1_000_000) }),
  respond: ({ athenaApiKeys: r }, req) =>
    answer(r, req, (page) => ({
      status: 200,
      body: { api_keys: page.data.edges.map((e) => keyRecord(e.node)), total: page.data.totalCount },
    })),
});

const post_admin_api_keys = graphql({
  policy: admin,
  document: AthenaCreateApiKeyDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      input: {
        name: required(str(b, 'name'), 'name'),
        description: nullableStr(b, 'description'),
        clientName: nullableStr(b, 'client_name'),
        expiresAt: date(b, 'expires_at'),
        rights: strings(b, 'rights'),
        virginMode: bool(b, 'virgin_mode'),
        virginUntilNRequests: int(b, 'virgin_until_n_requests'),
        maxWhitelistIps: int(b, 'max_whitelist_ips'),
        ipWhitelist: strings(b, 'ip_whitelist'),
        ipBlacklist: strings(b, 'ip_blacklist'),
      },
    };
  },
  respond: ({ createAthenaApiKey: r }, req) =>
    answer(r, req, (c) => ({ status: 201, body: { api_key: c.data.apiKey, record: keyRecord(c.data.key) } })),
});

const patch_admin_api_keys_by_id = graphql({
  policy: admin,
  document: AthenaUpdateApiKeyDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      id: keyId(req),
      input: {
        name: str(b, 'name'),
        description: nullableStr(b, 'description'),
        clientName: nullableStr(b, 'client_name'),
        expiresAt: date(b, 'expires_at'),
        isActive: bool(b, 'is_active'),
        rights: strings(b, 'rights'),
      },
    };
  },
  respond: ({ updateAthenaApiKey: r }, req) =>
    answer(r, req, (k) => ({ status: 200, body: { record: keyRecord(k.data) } })),
});

const delete_admin_api_keys_by_id = graphql({
  policy: admin,
  document: AthenaDeleteApiKeyDocument,
  variables: (req) => ({ id: keyId(req) }),
  respond: ({ deleteAthenaApiKey: r }, req) => answer(r, req, (k) => ({ status: 200, body: { id: k.data.uuid } })),
});

// ---- rights

const get_admin_api_key_rights = graphql({
  policy: admin,
  document: AthenaListApiKeyRightsDocument,
  variables: () => ({}),
  respond: ({ athenaApiKeyRights: r }, req) =>
    answer(r, req, (page) => ({ status: 200, body: { rights: page.data.edges.map((e) => rightRecord(e.node)) } })),
});

const post_admin_api_key_rights = graphql({
  policy: admin,
  document: AthenaCreateApiKeyRightDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return { name: required(str(b, 'name'), 'name'), description: nullableStr(b, 'description') };
  },
  respond: ({ createAthenaApiKeyRight: r }, req) =>
    answer(r, req, (c) => ({ status: 201, body: { right: rightRecord(c.data) } })),
});

const patch_admin_api_key_rights_by_id = graphql({
  policy: admin,
  document: AthenaUpdateApiKeyRightDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return { id: keyId(req), name: required(str(b, 'name'), 'name'), description: nullableStr(b, 'description') };
  },
  respond: ({ updateAthenaApiKeyRight: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: { right: rightRecord(c.data) } })),
});

const delete_admin_api_key_rights_by_id = graphql({
  policy: admin,
  document: AthenaDeleteApiKeyRightDocument,
  variables: (req) => ({ id: keyId(req) }),
  respond: ({ deleteAthenaApiKeyRight: r }, req) => answer(r, req, (c) => ({ status: 200, body: { id: c.data.uuid } })),
});

const get_admin_rights_catalog = graphql({
  policy: admin,
  document: AthenaRightsCatalogDocument,
  variables: () => ({}),
  respond: ({ athenaRightsCatalog: r }, req) =>
    answer(r, req, (c) => ({
      status: 200,
      body: success('Athena rights catalog', {
        rights: c.data.map((e) => ({ name: e.name, description: e.description, source: e.source })),
        native: c.data.filter((e) => e.source === 'native').map((e) => e.name),
        dynamic: c.data.filter((e) => e.source === 'dynamic').map((e) => e.name),
      }),
    })),
});

// ---- enforcement

const get_admin_api_key_config = graphql({
  policy: admin,
  document: AthenaApiKeyEnforcementDocument,
  variables: () => ({}),
  respond: ({ athenaApiKeyEnforcement: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: configResponse(c.data) })),
});

const put_admin_api_key_config = graphql({
  policy: admin,
  document: AthenaSetApiKeyEnforcementDocument,
  variables: (req) => ({ enforceApiKeys: required(bool(bodyOf(req), 'enforce_api_keys'), 'enforce_api_keys') }),
  respond: ({ setAthenaApiKeyEnforcement: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: configResponse(c.data) })),
});

const get_admin_api_key_clients = graphql({
  policy: admin,
  document: AthenaApiKeyEnforcementDocument,
  variables: () => ({}),
  respond: ({ athenaApiKeyEnforcement: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: { clients: c.data.clients.map(clientConfig) } })),
});

const put_admin_api_key_clients_by_client_name = graphql({
  policy: admin,
  document: AthenaSetClientApiKeyEnforcementDocument,
  variables: (req) => ({
    clientName: req.params.client_name ?? '',
    enforceApiKeys: required(bool(bodyOf(req), 'enforce_api_keys'), 'enforce_api_keys'),
  }),
  respond: ({ setAthenaClientApiKeyEnforcement: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: { client: clientConfig(c.data) } })),
});

const delete_admin_api_key_clients_by_client_name = graphql({
  policy: admin,
  document: AthenaDeleteClientApiKeyEnforcementDocument,
  variables: (req) => ({ clientName: req.params.client_name ?? '' }),
  respond: ({ deleteAthenaClientApiKeyEnforcement: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: { client_name: c.data } })),
});

export const athenaKeyOperations = group('api-keys', 'test/athena/api-keys.test.ts', {
  get_admin_api_keys,
  post_admin_api_keys,
  patch_admin_api_keys_by_id,
  delete_admin_api_keys_by_id,
  get_admin_api_key_rights,
  post_admin_api_key_rights,
  patch_admin_api_key_rights_by_id,
  delete_admin_api_key_rights_by_id,
  get_admin_rights_catalog,
  get_admin_api_key_config,
  put_admin_api_key_config,
  get_admin_api_key_clients,
  put_admin_api_key_clients_by_client_name,
  delete_admin_api_key_clients_by_client_name,
});
