import { AthenaInvalidInputError } from '../../src/modules/athena/athena.errors.ts';
import type { RestRequest } from '../engine/types.ts';
import * as D from '../generated/graphql.ts';
import { answer } from './answer.ts';
import { type Body, bodyOf, bool, nullableStr, required, str, strings } from './body.ts';
import { graphql } from './policy.ts';

/*
 * G11 — raw S3 object and bucket operations (docs/athena.md, Raw S3 and catalogs (G11)): each one GraphQL document
 * (storage-s3-raw.graphql) whose JSON result is the success envelope's `data`. The body names a catalog
 * (`catalog`, with X-Athena-Client) or, when the server allows it, an inline endpoint with keys. Admin key only —
 * a deviation: the contract declares no auth on 14 of these routes, which would make Atrium an open S3 proxy.
 */

const admin = { admin: true } as const;
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

function targetOf(req: RestRequest, b: Body) {
  return {
    client: first(req.headers['x-athena-client']) ?? null,
    catalog: nullableStr(b, 'catalog'),
    endpoint: nullableStr(b, 'endpoint'),
    region: nullableStr(b, 'region'),
    accessKeyId: nullableStr(b, 'access_key_id'),
    secretKey: nullableStr(b, 'secret_key'),
    sessionToken: nullableStr(b, 'session_token'),
    bucket: nullableStr(b, 'bucket'),
  };
}

function int(b: Body, field: string): number | null | undefined {
  const v = b[field];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new AthenaInvalidInputError(`${field} must be an integer`);
  return v;
}

function objects(b: Body, field: string): Body[] {
  const v = b[field];
  if (!Array.isArray(v) || v.some((x) => x === null || typeof x !== 'object' || Array.isArray(x))) {
    throw new AthenaInvalidInputError(`${field} must be an array of objects`, 'missing_required_field');
  }
  if (v.length > 1000) throw new AthenaInvalidInputError(`${field}: at most 1000 entries`);
  return v as Body[];
}

function stringMap(b: Body, field: string): Record<string, string> | null | undefined {
  const v = b[field];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new AthenaInvalidInputError(`${field} must be an object of strings`);
  }
  return v as Record<string, string>;
}

const key = (b: Body, field = 'key') => required(str(b, field), field);

/** One raw operation: its document, the variables beyond `target`, and the success message. */
function rawOperation(
  document: any,
  field: string,
  message: string,
  extra: (b: Body) => Record<string, unknown> = () => ({}),
) {
  return graphql({
    policy: admin,
    document,
    variables: (req: RestRequest) => {
      const b = bodyOf(req);
      return { target: targetOf(req, b), ...extra(b) };
    },
    respond: (data: any, req: RestRequest) =>
      answer(data[field], req, (r: any) => ({ status: 200, body: { status: 'success', message, data: r.data } })),
  });
}

export const athenaRawS3Operations = {
  post_storage_objects: rawOperation(D.AthenaRawStorageObjectsDocument, 'athenaS3Objects', 'Objects listed', (b) => ({
    prefix: nullableStr(b, 'prefix'),
    delimiter: nullableStr(b, 'delimiter'),
    continuationToken: nullableStr(b, 'continuation_token'),
    maxKeys: int(b, 'max_keys'),
  })),
  post_storage_objects_head: rawOperation(
    D.AthenaRawStorageObjectsHeadDocument,
    'athenaS3ObjectHead',
    'Object metadata loaded',
    (b) => ({ key: key(b) }),
  ),
  post_storage_objects_update: rawOperation(
    D.AthenaRawStorageObjectsUpdateDocument,
    'updateAthenaS3Object',
    'Object updated',
    (b) => ({
      key: key(b),
      input: {
        acl: nullableStr(b, 'acl'),
        contentType: nullableStr(b, 'content_type'),
        cacheControl: nullableStr(b, 'cache_control'),
        contentDisposition: nullableStr(b, 'content_disposition'),
        contentEncoding: nullableStr(b, 'content_encoding'),
        contentLanguage: nullableStr(b, 'content_language'),
        metadata: stringMap(b, 'metadata'),
      },
    }),
  ),
  post_storage_objects_url: rawOperation(
    D.AthenaRawStorageObjectsUrlDocument,
    'presignAthenaS3Download',
    'Presigned download URL generated',
    (b) => ({ key: key(b), expiresIn: int(b, 'expires_in') }),
  ),
  post_storage_objects_delete: rawOperation(
    D.AthenaRawStorageObjectsDeleteDocument,
    'deleteAthenaS3Object',
    'Object deleted',
    (b) => ({ key: key(b) }),
  ),
  post_storage_objects_folder: rawOperation(
    D.AthenaRawStorageObjectsFolderDocument,
    'createAthenaS3Folder',
    'Folder created',
    (b) => ({ prefix: key(b, 'prefix') }),
  ),
  post_storage_objects_folder_delete: rawOperation(
    D.AthenaRawStorageObjectsFolderDeleteDocument,
    'deleteAthenaS3Folder',
    'Folder deleted',
    (b) => ({ prefix: key(b, 'prefix') }),
  ),
  post_storage_objects_folder_rename: rawOperation(
    D.AthenaRawStorageObjectsFolderRenameDocument,
    'renameAthenaS3Folder',
    'Folder renamed',
    (b) => ({ fromPrefix: key(b, 'from_prefix'), toPrefix: key(b, 'to_prefix') }),
  ),
  post_storage_objects_upload_url: rawOperation(
    D.AthenaRawStorageObjectsUploadUrlDocument,
    'presignAthenaS3Upload',
    'Presigned upload URL generated',
    (b) => ({ key: key(b), contentType: nullableStr(b, 'content_type'), expiresIn: int(b, 'expires_in') }),
  ),
  post_storage_buckets_list: rawOperation(D.AthenaRawStorageBucketsListDocument, 'athenaS3Buckets', 'Buckets listed'),
  post_storage_buckets_create: rawOperation(
    D.AthenaRawStorageBucketsCreateDocument,
    'createAthenaS3Bucket',
    'Bucket created',
  ),
  post_storage_buckets_delete: rawOperation(
    D.AthenaRawStorageBucketsDeleteDocument,
    'deleteAthenaS3Bucket',
    'Bucket deleted',
  ),
  post_storage_buckets_cors: rawOperation(D.AthenaRawStorageBucketsCorsDocument, 'athenaS3BucketCors', 'CORS rules'),
  post_storage_buckets_cors_set: rawOperation(
    D.AthenaRawStorageBucketsCorsSetDocument,
    'setAthenaS3BucketCors',
    'CORS rules applied',
    (b) => ({
      rules: objects(b, 'rules').map((r) => ({
        allowedOrigins: required(strings(r, 'allowed_origins'), 'allowed_origins'),
        allowedMethods: required(strings(r, 'allowed_methods'), 'allowed_methods'),
        allowedHeaders: strings(r, 'allowed_headers'),
        exposeHeaders: strings(r, 'expose_headers'),
        maxAgeSeconds: int(r, 'max_age_seconds'),
      })),
    }),
  ),
  post_storage_buckets_cors_delete: rawOperation(
    D.AthenaRawStorageBucketsCorsDeleteDocument,
    'deleteAthenaS3BucketCors',
    'CORS configuration removed',
  ),
  post_storage_objects_exists: rawOperation(
    D.AthenaRawStorageObjectsExistsDocument,
    'athenaS3ObjectExists',
    'Object existence checked',
    (b) => ({ key: key(b) }),
  ),
  post_storage_objects_validate: rawOperation(
    D.AthenaRawStorageObjectsValidateDocument,
    'athenaS3ValidateObject',
    'Object validated',
    (b) => ({
      key: key(b),
      expectedSize: int(b, 'expected_size'),
      expectedContentType: nullableStr(b, 'expected_content_type'),
      expectedEtag: nullableStr(b, 'expected_etag'),
    }),
  ),
  post_storage_objects_public_url: rawOperation(
    D.AthenaRawStorageObjectsPublicUrlDocument,
    'athenaS3PublicUrl',
    'Public URL computed',
    (b) => ({ key: key(b), virtualHost: bool(b, 'virtual_host') }),
  ),
  post_storage_objects_copy: rawOperation(
    D.AthenaRawStorageObjectsCopyDocument,
    'copyAthenaS3Object',
    'Object copied',
    (b) => ({
      sourceKey: key(b, 'source_key'),
      destinationKey: key(b, 'destination_key'),
      destinationBucket: nullableStr(b, 'destination_bucket'),
    }),
  ),
  post_storage_objects_versions: rawOperation(
    D.AthenaRawStorageObjectsVersionsDocument,
    'athenaS3ObjectVersions',
    'Object versions listed',
    (b) => ({ key: key(b) }),
  ),
  post_storage_objects_versions_restore: rawOperation(
    D.AthenaRawStorageObjectsVersionsRestoreDocument,
    'restoreAthenaS3ObjectVersion',
    'Object version restored',
    (b) => ({ key: key(b), versionId: key(b, 'version_id') }),
  ),
  post_storage_objects_versions_delete: rawOperation(
    D.AthenaRawStorageObjectsVersionsDeleteDocument,
    'deleteAthenaS3ObjectVersion',
    'Object version deleted',
    (b) => ({ key: key(b), versionId: key(b, 'version_id') }),
  ),
  post_storage_buckets_lifecycle: rawOperation(
    D.AthenaRawStorageBucketsLifecycleDocument,
    'athenaS3BucketLifecycle',
    'Lifecycle rules',
  ),
  post_storage_buckets_lifecycle_set: rawOperation(
    D.AthenaRawStorageBucketsLifecycleSetDocument,
    'setAthenaS3BucketLifecycle',
    'Lifecycle rules applied',
    (b) => ({
      rules: objects(b, 'rules').map((r) => ({
        id: required(str(r, 'id'), 'id'),
        prefix: nullableStr(r, 'prefix'),
        enabled: bool(r, 'enabled'),
        expirationDays: int(r, 'expiration_days'),
        noncurrentExpirationDays: int(r, 'noncurrent_expiration_days'),
        abortIncompleteMultipartDays: int(r, 'abort_incomplete_multipart_days'),
      })),
    }),
  ),
  post_storage_buckets_lifecycle_delete: rawOperation(
    D.AthenaRawStorageBucketsLifecycleDeleteDocument,
    'deleteAthenaS3BucketLifecycle',
    'Lifecycle configuration removed',
  ),
};
