import { builder } from '../../../core/builder.ts';
import type { Context } from '../../../core/context.ts';
import type { S3CorsRuleInput, S3LifecycleRuleInput, S3ObjectUpdateInput, S3TargetInput } from '../s3-raw.service.ts';
import { adminField } from './admin.ts';
import { athenaErrors } from './types.ts';

/*
 * Raw S3 operations (G11) in GraphQL: reads are queries, changes mutations, each answering the operation's JSON
 * result (the REST body's `data`). Bytes never pass here: presigned URLs carry them. Admin only.
 */

const AthenaS3TargetInputRef = builder.inputType('AthenaS3TargetInput', {
  description:
    'Where a raw S3 operation goes: a stored catalog (`catalog` + `client`), or — when the server allows inline ' +
    'endpoints (ATRIUM_ATHENA_S3_INLINE_ENDPOINTS) — endpoint, region and keys. The endpoint passes the outbound guard.',
  fields: (t) => ({
    client: t.string({ required: false, description: 'The client owning the catalog (`X-Athena-Client`).' }),
    catalog: t.string({ required: false, description: 'A stored catalog of the client, by uuid or name.' }),
    endpoint: t.string({ required: false, description: 'Inline S3-compatible endpoint (URL or host).' }),
    region: t.string({ required: false, description: 'Inline signing region.' }),
    accessKeyId: t.string({ required: false, description: 'Inline access key id.' }),
    secretKey: t.string({ required: false, description: 'Inline secret key (never stored, never logged).' }),
    sessionToken: t.string({ required: false, description: 'Inline session token.' }),
    bucket: t.string({ required: false, description: 'The bucket (default: the catalog’s).' }),
  }),
});

const AthenaS3ObjectUpdateInputRef = builder.inputType('AthenaS3ObjectUpdateInput', {
  description: 'New object headers (CopyObject onto itself with REPLACE) and/or a canned ACL.',
  fields: (t) => ({
    acl: t.string({ required: false, description: 'Canned ACL: private, public-read, … bucket-owner-full-control.' }),
    contentType: t.string({ required: false, description: 'Content-Type.' }),
    cacheControl: t.string({ required: false, description: 'Cache-Control.' }),
    contentDisposition: t.string({ required: false, description: 'Content-Disposition.' }),
    contentEncoding: t.string({ required: false, description: 'Content-Encoding.' }),
    contentLanguage: t.string({ required: false, description: 'Content-Language.' }),
    metadata: t.field({ type: 'JSON', required: false, description: 'User metadata (string values); replaces it.' }),
  }),
});

const AthenaS3CorsRuleInputRef = builder.inputType('AthenaS3CorsRuleInput', {
  description: 'One bucket CORS rule.',
  fields: (t) => ({
    allowedOrigins: t.stringList({ required: true, description: 'Allowed origins.' }),
    allowedMethods: t.stringList({ required: true, description: 'Allowed methods (GET, PUT, POST, DELETE, HEAD).' }),
    allowedHeaders: t.stringList({ required: false, description: 'Allowed request headers.' }),
    exposeHeaders: t.stringList({ required: false, description: 'Response headers exposed to browsers.' }),
    maxAgeSeconds: t.int({ required: false, description: 'Preflight cache time, seconds.' }),
  }),
});

const AthenaS3LifecycleRuleInputRef = builder.inputType('AthenaS3LifecycleRuleInput', {
  description: 'One bucket lifecycle rule.',
  fields: (t) => ({
    id: t.string({ required: true, description: 'The rule id.' }),
    prefix: t.string({ required: false, description: 'Key prefix it applies to ("" = all).' }),
    enabled: t.boolean({ required: false, description: 'Enabled (default true).' }),
    expirationDays: t.int({ required: false, description: 'Expire current objects after this many days.' }),
    noncurrentExpirationDays: t.int({ required: false, description: 'Expire noncurrent versions after days.' }),
    abortIncompleteMultipartDays: t.int({ required: false, description: 'Abort incomplete uploads after days.' }),
  }),
});

const target = (t: any) =>
  t.arg({ type: AthenaS3TargetInputRef, required: true, description: 'The catalog or inline endpoint.' });
const keyArg = (t: any) => t.arg.string({ required: true, description: 'The object key.' });
const tgt = (v: unknown) => v as S3TargetInput;

type FieldSpec = {
  description: string;
  args: (t: any) => Record<string, unknown>;
  resolve: (args: any, ctx: Context) => Promise<unknown>;
};

function define(kind: 'query' | 'mutation', name: string, spec: FieldSpec) {
  const field = (t: any) =>
    t.field({
      type: 'JSON',
      description: `${spec.description} Admin only.`,
      authScopes: adminField,
      errors: athenaErrors,
      args: { target: target(t), ...spec.args(t) },
      resolve: (_r: unknown, args: any, ctx: Context) => spec.resolve(args, ctx),
    });
  if (kind === 'query') builder.queryField(name, field);
  else builder.mutationField(name, field);
}

const raw = (ctx: Context) => ctx.services.athena.s3Raw;

define('query', 'athenaS3Objects', {
  description: 'Lists objects of a bucket (prefix, delimiter, opaque continuation token, max keys ≤ 1000).',
  args: (t) => ({
    prefix: t.arg.string({ required: false, description: 'Key prefix.' }),
    delimiter: t.arg.string({ required: false, description: 'Grouping delimiter (usually /).' }),
    continuationToken: t.arg.string({ required: false, description: 'The previous page’s next token.' }),
    maxKeys: t.arg.int({ required: false, description: 'Page size (default 200).' }),
  }),
  resolve: (a, ctx) => raw(ctx).listObjects(ctx.principal, tgt(a.target), a),
});
define('query', 'athenaS3ObjectHead', {
  description: 'An object’s metadata without its body.',
  args: (t) => ({ key: keyArg(t) }),
  resolve: (a, ctx) => raw(ctx).headObject(ctx.principal, tgt(a.target), a.key),
});
define('query', 'athenaS3ObjectExists', {
  description: 'Whether one object exists.',
  args: (t) => ({ key: keyArg(t) }),
  resolve: (a, ctx) => raw(ctx).exists(ctx.principal, tgt(a.target), a.key),
});
define('query', 'athenaS3ValidateObject', {
  description: 'Checks one object against an expected size, content type and/or ETag.',
  args: (t) => ({
    key: keyArg(t),
    expectedSize: t.arg.int({ required: false, description: 'Expected size, bytes.' }),
    expectedContentType: t.arg.string({ required: false, description: 'Expected Content-Type.' }),
    expectedEtag: t.arg.string({ required: false, description: 'Expected ETag (quotes optional).' }),
  }),
  resolve: (a, ctx) =>
    raw(ctx).validate(ctx.principal, tgt(a.target), a.key, {
      size: a.expectedSize,
      contentType: a.expectedContentType,
      etag: a.expectedEtag,
    }),
});
define('query', 'athenaS3PublicUrl', {
  description: 'The unsigned public URL of one object (path-style, or virtual-host when asked).',
  args: (t) => ({
    key: keyArg(t),
    virtualHost: t.arg.boolean({ required: false, description: 'Virtual-host style when the bucket allows it.' }),
  }),
  resolve: (a, ctx) => raw(ctx).publicUrl(ctx.principal, tgt(a.target), a.key, a.virtualHost ? 'virtual' : 'path'),
});
define('query', 'athenaS3Buckets', {
  description: 'The buckets the credentials can list.',
  args: () => ({}),
  resolve: (a, ctx) => raw(ctx).listBuckets(ctx.principal, tgt(a.target)),
});
define('query', 'athenaS3BucketCors', {
  description: 'A bucket’s CORS rules (empty when none).',
  args: () => ({}),
  resolve: (a, ctx) => raw(ctx).getCors(ctx.principal, tgt(a.target)),
});
define('query', 'athenaS3ObjectVersions', {
  description: 'An object’s versions (501 when the backend has no versioning).',
  args: (t) => ({ key: keyArg(t) }),
  resolve: (a, ctx) => raw(ctx).versions(ctx.principal, tgt(a.target), a.key),
});
define('query', 'athenaS3BucketLifecycle', {
  description: 'A bucket’s lifecycle rules (501 when the backend has no lifecycle).',
  args: () => ({}),
  resolve: (a, ctx) => raw(ctx).getLifecycle(ctx.principal, tgt(a.target)),
});

define('mutation', 'presignAthenaS3Download', {
  description: 'A presigned GET URL for one object.',
  args: (t) => ({
    key: keyArg(t),
    expiresIn: t.arg.int({ required: false, description: 'Seconds (default 3600, at most 7 days).' }),
  }),
  resolve: (a, ctx) => raw(ctx).presignGet(ctx.principal, tgt(a.target), a.key, a.expiresIn),
});
define('mutation', 'presignAthenaS3Upload', {
  description: 'A presigned PUT URL for one object (signed with its Content-Type when given).',
  args: (t) => ({
    key: keyArg(t),
    contentType: t.arg.string({ required: false, description: 'The Content-Type the upload must send.' }),
    expiresIn: t.arg.int({ required: false, description: 'Seconds (default 3600, at most 7 days).' }),
  }),
  resolve: (a, ctx) => raw(ctx).presignPut(ctx.principal, tgt(a.target), a.key, a.contentType, a.expiresIn),
});
define('mutation', 'updateAthenaS3Object', {
  description: 'Replaces an object’s headers and metadata (CopyObject REPLACE) and/or sets its canned ACL.',
  args: (t) => ({
    key: keyArg(t),
    input: t.arg({ type: AthenaS3ObjectUpdateInputRef, required: true, description: 'The changes.' }),
  }),
  resolve: (a, ctx) => raw(ctx).updateObject(ctx.principal, tgt(a.target), a.key, a.input as S3ObjectUpdateInput),
});
define('mutation', 'deleteAthenaS3Object', {
  description: 'Deletes one object.',
  args: (t) => ({ key: keyArg(t) }),
  resolve: (a, ctx) => raw(ctx).deleteObject(ctx.principal, tgt(a.target), a.key),
});
define('mutation', 'createAthenaS3Folder', {
  description: 'Creates a folder placeholder (a zero-byte `prefix/` object).',
  args: (t) => ({ prefix: t.arg.string({ required: true, description: 'The folder prefix.' }) }),
  resolve: (a, ctx) => raw(ctx).createFolder(ctx.principal, tgt(a.target), a.prefix),
});
define('mutation', 'deleteAthenaS3Folder', {
  description: 'Deletes a prefix and everything under it (batched DeleteObjects), reporting per-key failures.',
  args: (t) => ({ prefix: t.arg.string({ required: true, description: 'The folder prefix.' }) }),
  resolve: (a, ctx) => raw(ctx).deleteFolder(ctx.principal, tgt(a.target), a.prefix),
});
define('mutation', 'renameAthenaS3Folder', {
  description: 'Renames a prefix by copy then delete per key — not atomic; failures are reported, not hidden.',
  args: (t) => ({
    fromPrefix: t.arg.string({ required: true, description: 'The current prefix.' }),
    toPrefix: t.arg.string({ required: true, description: 'The new prefix.' }),
  }),
  resolve: (a, ctx) => raw(ctx).renameFolder(ctx.principal, tgt(a.target), a.fromPrefix, a.toPrefix),
});
define('mutation', 'createAthenaS3Bucket', {
  description: 'Creates the target bucket.',
  args: () => ({}),
  resolve: (a, ctx) => raw(ctx).createBucket(ctx.principal, tgt(a.target)),
});
define('mutation', 'deleteAthenaS3Bucket', {
  description: 'Deletes the target bucket (it must be empty).',
  args: () => ({}),
  resolve: (a, ctx) => raw(ctx).deleteBucket(ctx.principal, tgt(a.target)),
});
define('mutation', 'setAthenaS3BucketCors', {
  description: 'Replaces a bucket’s CORS rules.',
  args: (t) => ({
    rules: t.arg({ type: [AthenaS3CorsRuleInputRef], required: true, description: 'The rules (1–100).' }),
  }),
  resolve: (a, ctx) => raw(ctx).setCors(ctx.principal, tgt(a.target), a.rules as S3CorsRuleInput[]),
});
define('mutation', 'deleteAthenaS3BucketCors', {
  description: 'Removes a bucket’s CORS configuration.',
  args: () => ({}),
  resolve: (a, ctx) => raw(ctx).deleteCors(ctx.principal, tgt(a.target)),
});
define('mutation', 'copyAthenaS3Object', {
  description: 'Copies one object (server side), optionally into another bucket of the same endpoint.',
  args: (t) => ({
    sourceKey: t.arg.string({ required: true, description: 'The source key (in the target bucket).' }),
    destinationKey: t.arg.string({ required: true, description: 'The destination key.' }),
    destinationBucket: t.arg.string({ required: false, description: 'Destination bucket (default: the same).' }),
  }),
  resolve: (a, ctx) => raw(ctx).copy(ctx.principal, tgt(a.target), a.sourceKey, a.destinationKey, a.destinationBucket),
});
define('mutation', 'restoreAthenaS3ObjectVersion', {
  description: 'Makes an older version current again (501 when the backend has no versioning).',
  args: (t) => ({ key: keyArg(t), versionId: t.arg.string({ required: true, description: 'The version.' }) }),
  resolve: (a, ctx) => raw(ctx).restoreVersion(ctx.principal, tgt(a.target), a.key, a.versionId),
});
define('mutation', 'deleteAthenaS3ObjectVersion', {
  description: 'Deletes one object version (501 when the backend has no versioning).',
  args: (t) => ({ key: keyArg(t), versionId: t.arg.string({ required: true, description: 'The version.' }) }),
  resolve: (a, ctx) => raw(ctx).deleteVersion(ctx.principal, tgt(a.target), a.key, a.versionId),
});
define('mutation', 'setAthenaS3BucketLifecycle', {
  description: 'Replaces a bucket’s lifecycle rules (501 when the backend has no lifecycle).',
  args: (t) => ({
    rules: t.arg({ type: [AthenaS3LifecycleRuleInputRef], required: true, description: 'The rules.' }),
  }),
  resolve: (a, ctx) => raw(ctx).setLifecycle(ctx.principal, tgt(a.target), a.rules as S3LifecycleRuleInput[]),
});
define('mutation', 'deleteAthenaS3BucketLifecycle', {
  description: 'Removes a bucket’s lifecycle configuration (501 when the backend has no lifecycle).',
  args: () => ({}),
  resolve: (a, ctx) => raw(ctx).deleteLifecycle(ctx.principal, tgt(a.target)),
});
