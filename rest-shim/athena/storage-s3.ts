import type { RestRequest } from '../engine/types.ts';
import {
  AthenaCreateS3CatalogDocument,
  AthenaDeleteS3CatalogDocument,
  type AthenaS3CatalogFieldsFragment,
  AthenaS3CatalogsDocument,
  AthenaS3CredentialsDocument,
  AthenaUpdateS3CatalogDocument,
} from '../generated/graphql.ts';
import { answer, iso } from './answer.ts';
import { bodyOf, bool, nullableStr, required, str } from './body.ts';
import { graphql, group } from './policy.ts';
import { athenaRawS3Operations } from './storage-s3-raw.ts';

/*
 * G11 — S3 catalogs and credentials (docs/athena.md, Raw S3 and catalogs (G11)). Bodies follow the contract
 * literally: bare `S3CatalogItem`, `{data: [S3CatalogItem]}`, `{data: [S3CredentialListItem]}`, `{id, deleted}`.
 * Secret keys go in, never out.
 */

const admin = { admin: true } as const;
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const client = (req: RestRequest) => first(req.headers['x-athena-client']) ?? '';

/** `S3CatalogItem`. */
function catalogItem(c: AthenaS3CatalogFieldsFragment) {
  return {
    id: c.uuid,
    name: c.name,
    description: c.description,
    endpoint: c.endpoint,
    region: c.region,
    bucket: c.bucket ?? null,
    provider: c.provider,
    is_active: c.isActive,
    active_credential_id: c.activeCredentialId ?? null,
    active_access_key: c.activeAccessKey ?? null,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

function metadata(b: Record<string, unknown>) {
  const v = b.metadata;
  return v === undefined ? undefined : v;
}

const get_storage_credentials = graphql({
  policy: admin,
  document: AthenaS3CredentialsDocument,
  variables: (req) => ({ client: client(req) }),
  respond: ({ athenaS3Credentials: r }, req) =>
    answer(r, req, (c) => ({
      status: 200,
      body: {
        data: c.data.edges.map(({ node: n }) => ({
          id: n.uuid,
          s3_id: n.catalog.uuid,
          name: n.catalog.name,
          description: n.catalog.description,
          endpoint: n.catalog.endpoint,
          region: n.catalog.region,
          bucket: n.catalog.bucket ?? null,
          provider: n.catalog.provider,
          access_key: n.accessKey,
          created_at: iso(n.createdAt),
          updated_at: iso(n.updatedAt),
        })),
      },
    })),
});

const get_storage_catalogs = graphql({
  policy: admin,
  document: AthenaS3CatalogsDocument,
  variables: (req) => ({ client: client(req) }),
  respond: ({ athenaS3Catalogs: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: { data: c.data.edges.map(({ node }) => catalogItem(node)) } })),
});

const post_storage_catalogs = graphql({
  policy: admin,
  document: AthenaCreateS3CatalogDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      client: client(req),
      input: {
        name: required(str(b, 'name'), 'name'),
        description: nullableStr(b, 'description'),
        endpoint: required(str(b, 'endpoint'), 'endpoint'),
        region: required(str(b, 'region'), 'region'),
        bucket: nullableStr(b, 'bucket'),
        provider: nullableStr(b, 'provider'),
        accessKeyId: required(str(b, 'access_key_id'), 'access_key_id'),
        secretKey: required(str(b, 'secret_key'), 'secret_key'),
        sessionToken: nullableStr(b, 'session_token'),
        metadata: metadata(b),
      },
    };
  },
  respond: ({ createAthenaS3Catalog: r }, req) => answer(r, req, (c) => ({ status: 200, body: catalogItem(c.data) })),
});

const patch_storage_catalogs_by_id = graphql({
  policy: admin,
  document: AthenaUpdateS3CatalogDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      client: client(req),
      id: req.params.id ?? '',
      input: {
        name: nullableStr(b, 'name'),
        description: nullableStr(b, 'description'),
        endpoint: nullableStr(b, 'endpoint'),
        region: nullableStr(b, 'region'),
        bucket: nullableStr(b, 'bucket'),
        provider: nullableStr(b, 'provider'),
        accessKeyId: nullableStr(b, 'access_key_id'),
        secretKey: nullableStr(b, 'secret_key'),
        sessionToken: nullableStr(b, 'session_token'),
        isActive: b.is_active === null ? null : bool(b, 'is_active'),
        metadata: metadata(b),
      },
    };
  },
  respond: ({ updateAthenaS3Catalog: r }, req) => answer(r, req, (c) => ({ status: 200, body: catalogItem(c.data) })),
});

const delete_storage_catalogs_by_id = graphql({
  policy: admin,
  document: AthenaDeleteS3CatalogDocument,
  variables: (req) => ({ client: client(req), id: req.params.id ?? '' }),
  respond: ({ deleteAthenaS3Catalog: r }, req) =>
    answer(r, req, (d) => ({ status: 200, body: { id: d.data.uuid, deleted: true } })),
});

export const athenaS3CatalogOperations = group('storage-s3', 'test/athena/storage-s3.test.ts', {
  get_storage_credentials,
  get_storage_catalogs,
  post_storage_catalogs,
  patch_storage_catalogs_by_id,
  delete_storage_catalogs_by_id,
  ...athenaRawS3Operations,
});
