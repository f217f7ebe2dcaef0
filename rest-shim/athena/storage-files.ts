import { AthenaError, AthenaInvalidInputError } from '../../src/modules/athena/athena.errors.ts';
import type { StorageFileView, UploadUrlInput } from '../../src/modules/athena/storage/storage.service.ts';
import { contentDisposition } from '../../src/modules/athena/storage/storage.service.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';
import * as D from '../generated/graphql.ts';
import { athenaErrorBody, iso, statusOfCode } from './answer.ts';
import { type Body, bodyOf, bool, object, required, str, strings } from './body.ts';
import { direct, graphql, group } from './policy.ts';

/*
 * G12 — managed storage (docs/athena.md, "Managed storage (G12)"). Every route needs an Athena session bound to
 * `X-Athena-Client` (the door's `storage` policy); reading one file, its view URL and its proxy also serve
 * anonymous callers for public files. Each JSON route is one GraphQL document (storage-files.graphql); the upload
 * (a streamed body) and the proxy (a streamed, ranged answer) are direct. Answers are the success envelope.
 */

const session = { storage: 'session' } as const;
const publicRead = { storage: 'public-read' } as const;
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** A union result: a storage (or Athena) error to the error envelope with its catalog status, else `map`. */
function answer<T extends { __typename: string }>(
  r: T | null | undefined,
  map: (data: Extract<T, { data: unknown }>['data']) => RestResponse,
): RestResponse {
  if (!r) throw new Error('Athena storage: GraphQL result without data');
  if ('data' in r) return map((r as Extract<T, { data: unknown }>).data);
  const e = r as unknown as { code: string; message: string };
  const status = statusOfCode(e.code);
  return { status, body: athenaErrorBody(status, e.message, e.code) };
}

const ok = (message: string, data: unknown, status = 200): RestResponse => ({
  status,
  body: { status: 'success', message, data },
});

function int(b: Body, field: string): number | null {
  const v = b[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 2_147_483_647) {
    throw new AthenaInvalidInputError(`${field} must be an integer from 0 to 2147483647`);
  }
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

function enumOf<T extends string>(b: Body, field: string, values: readonly T[]): T | null {
  const v = str(b, field);
  if (v === undefined || v === null) return null;
  if (!(values as readonly string[]).includes(v)) {
    throw new AthenaInvalidInputError(`${field} must be one of ${values.join(', ')}`);
  }
  return v as T;
}

function dateTime(b: Body, field: string): string | null {
  const v = str(b, field);
  if (v === undefined) return null;
  if (Number.isNaN(Date.parse(v))) throw new AthenaInvalidInputError(`${field} must be an ISO date-time`);
  return new Date(v).toISOString();
}

const permissions = ['read', 'write', 'delete', 'manage', 'owner'] as const;
const principalTypes = ['user', 'organization', 'role'] as const;
const statuses = ['pending_upload', 'uploaded', 'deleted', 'purged'] as const;

/** The file id of the path (free text: the router has percent-decoded it). */
const fileIdOf = (req: RestRequest) => req.params.file_id as string;

function uploadInput(b: Body): UploadUrlInput {
  return {
    s3Id: required(str(b, 's3_id'), 's3_id'),
    storageKey: required(str(b, 'storage_key'), 'storage_key'),
    bucket: str(b, 'bucket') ?? null,
    name: str(b, 'name') ?? null,
    originalName: str(b, 'original_name') ?? null,
    resourceId: str(b, 'resource_id') ?? null,
    mimeType: str(b, 'mime_type') ?? null,
    contentType: str(b, 'content_type') ?? null,
    sizeBytes: int(b, 'size_bytes'),
    fileId: str(b, 'file_id') ?? null,
    public: bool(b, 'public') ?? null,
    metadata: object(b, 'metadata') ?? null,
  };
}

type FileFields = D.AthenaStorageFileFieldsFragment;
type UrlFields = D.AthenaStorageUrlFieldsFragment;

/** `StorageManagedFile`: the record field is `is_public` (the request field is `public`). */
export const fileBody = (f: FileFields) => ({
  id: f.fileId,
  name: f.name,
  original_name: f.originalName ?? null,
  url: f.url ?? null,
  bucket: f.bucket,
  s3_id: f.s3Id,
  prefix_path: f.prefixPath ?? null,
  size_bytes: f.sizeBytes === null || f.sizeBytes === undefined ? null : Number(f.sizeBytes),
  mime_type: f.mimeType ?? null,
  resource_id: f.resourceId ?? null,
  organization_id: f.organizationId,
  metadata: f.metadata ?? {},
  created_at: iso(f.createdAt),
  updated_at: iso(f.updatedAt),
  storage_key: f.storageKey,
  uploaded_by_user_id: f.uploadedByUserId ?? null,
  extension: f.extension ?? null,
  is_public: f.isPublic,
  status: f.status,
  deleted_at: iso(f.deletedAt),
});

/** `StorageManagedFilePresignedUrl`, plus the method and the headers the request must send. */
const urlBody = (u: UrlFields) => ({
  file_id: u.fileId,
  bucket: u.bucket,
  storage_key: u.storageKey,
  purpose: u.purpose,
  url: u.url,
  method: u.method,
  headers: u.headers ?? {},
  expires_at: iso(u.expiresAt),
  expires_at_epoch_seconds: Math.floor(new Date(u.expiresAt).getTime() / 1000),
  expires_in: u.expiresIn,
  cache_hit: u.cacheHit,
  cache_layer: u.cacheLayer,
});

/** A service view in the fragment's shape (the direct upload answers without a GraphQL round). */
const viewFields = (v: StorageFileView): FileFields => ({
  fileId: v.id,
  name: v.name,
  originalName: v.originalName,
  url: v.url,
  bucket: v.bucket,
  s3Id: v.s3Id,
  prefixPath: v.prefixPath,
  sizeBytes: v.sizeBytes === null ? null : String(v.sizeBytes),
  mimeType: v.mimeType,
  resourceId: v.resourceId,
  organizationId: v.organizationId,
  metadata: v.metadata,
  storageKey: v.storageKey,
  uploadedByUserId: v.uploadedByUserId,
  extension: v.extension,
  isPublic: v.isPublic,
  status: v.status as D.AthenaStorageFileStatus,
  deletedAt: v.deletedAt?.toISOString() ?? null,
  createdAt: v.createdAt.toISOString(),
  updatedAt: v.updatedAt.toISOString(),
});

const single = (message: string) => (f: FileFields) => ok(message, { file: fileBody(f) });

function permissionBody(p: D.AthenaStoragePermissionFieldsFragment) {
  return {
    id: p.permissionId,
    file_id: p.fileId ?? null,
    s3_id: p.s3Id ?? null,
    prefix: p.prefix ?? null,
    organization_id: p.organizationId,
    principal_type: p.principalType,
    principal_id: p.principalId,
    permission: p.permission,
    granted_by: p.grantedBy,
    expires_at: iso(p.expiresAt),
    created_at: iso(p.createdAt),
  };
}

function visibility(req: RestRequest) {
  const b = bodyOf(req);
  return { fileId: fileIdOf(req), public: required(bool(b, 'public'), 'public') };
}

const visibilityOp = () =>
  graphql({
    policy: session,
    document: D.AthenaStorageSetVisibilityDocument,
    variables: visibility,
    respond: ({ setAthenaStorageFileVisibility: r }) => answer(r, single('File visibility updated')),
  });

const firstHeader = (req: RestRequest, name: string) => first(req.headers[name]);

export const athenaStorageFileOperations = group('storage-files', 'test/athena/storage-files.test.ts', {
  post_storage_files_upload_url: graphql({
    policy: session,
    document: D.AthenaStorageUploadUrlDocument,
    variables: (req) => ({ input: uploadInput(bodyOf(req)) }),
    respond: ({ createAthenaStorageUploadUrl: r }) =>
      answer(r, (d) => ok('Upload URL created', { file: fileBody(d.file), upload: urlBody(d.upload) }, 201)),
  }),
  post_storage_files_upload_urls: graphql({
    policy: session,
    document: D.AthenaStorageUploadUrlsDocument,
    variables: (req) => ({ files: objects(bodyOf(req), 'files').map(uploadInput) }),
    respond: ({ createAthenaStorageUploadUrls: r }) =>
      answer(r, (d) =>
        ok(
          'Upload URLs created',
          { files: d.map((u) => ({ file: fileBody(u.file), upload: urlBody(u.upload) })) },
          201,
        ),
      ),
  }),
  post_storage_files_list: graphql({
    policy: session,
    document: D.AthenaStorageListFilesDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        s3Id: required(str(b, 's3_id'), 's3_id'),
        prefix: required(str(b, 'prefix'), 'prefix'),
        first: int(b, 'limit'),
        offset: int(b, 'offset'),
      };
    },
    respond: ({ athenaStorageFiles: r }) =>
      answer(r, (d) => ok('Files listed', { count: d.totalCount, files: d.edges.map((e) => fileBody(e.node)) })),
  }),
  post_storage_files_search: graphql({
    policy: session,
    document: D.AthenaStorageSearchFilesDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        filter: {
          s3Id: str(b, 's3_id') ?? null,
          prefix: str(b, 'prefix') ?? null,
          query: str(b, 'query') ?? str(b, 'q') ?? null,
          mimeType: str(b, 'mime_type') ?? null,
          resourceId: str(b, 'resource_id') ?? null,
          status: enumOf(b, 'status', statuses) as D.AthenaStorageFileStatus | null,
          isPublic: bool(b, 'is_public') ?? bool(b, 'public') ?? null,
          includeDeleted: bool(b, 'include_deleted') ?? null,
        },
        first: int(b, 'limit'),
        offset: int(b, 'offset'),
      };
    },
    respond: ({ searchAthenaStorageFiles: r }) =>
      answer(r, (d) => ok('Files found', { count: d.totalCount, files: d.edges.map((e) => fileBody(e.node)) })),
  }),
  get_storage_files_by_file_id: graphql({
    policy: publicRead,
    document: D.AthenaStorageGetFileDocument,
    variables: (req) => ({ fileId: fileIdOf(req), client: firstHeader(req, 'x-athena-client') ?? null }),
    respond: ({ athenaStorageFile: r }) => answer(r, single('File loaded')),
  }),
  patch_storage_files_by_file_id: graphql({
    policy: session,
    document: D.AthenaStorageMoveFileDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        input: {
          fileId: fileIdOf(req),
          storageKey: required(str(b, 'storage_key'), 'storage_key'),
          bucket: str(b, 'bucket') ?? null,
        },
      };
    },
    respond: ({ moveAthenaStorageFile: r }) => answer(r, single('File updated')),
  }),
  delete_storage_files_by_file_id: graphql({
    policy: session,
    document: D.AthenaStorageDeleteFileDocument,
    variables: (req) => ({ fileId: fileIdOf(req) }),
    respond: ({ deleteAthenaStorageFile: r }) => answer(r, single('File deleted')),
  }),
  get_storage_files_by_file_id_url: graphql({
    policy: publicRead,
    document: D.AthenaStorageFileUrlDocument,
    variables: (req) => ({
      fileId: fileIdOf(req),
      purpose: (req.coerced.query.purpose as D.AthenaStorageUrlPurpose | undefined) ?? null,
      client: firstHeader(req, 'x-athena-client') ?? null,
    }),
    respond: ({ athenaStorageFileUrl: r }) => answer(r, (d) => ok('Authorized URL created', urlBody(d))),
  }),
  get_storage_files_by_file_id_proxy: direct({
    policy: publicRead,
    reason: 'streams the object bytes (Range, Content-Disposition by purpose)',
    async handle(req, services) {
      const purpose = (req.coerced.query.purpose as string | undefined) ?? 'read';
      try {
        const o = await services.athena.storage.openObject(req.principal, {
          client: firstHeader(req, 'x-athena-client') ?? null,
          fileId: fileIdOf(req),
          range: firstHeader(req, 'range') ?? null,
        });
        const headers: Record<string, string> = {
          'content-type': o.contentType,
          'content-disposition': contentDisposition(purpose === 'download' ? 'attachment' : 'inline', o.file.name),
          'accept-ranges': 'bytes',
          'cache-control': o.file.isPublic ? 'public, max-age=60' : 'private, no-store',
          'x-content-type-options': 'nosniff',
        };
        if (o.contentLength !== null) headers['content-length'] = String(o.contentLength);
        if (o.contentRange) headers['content-range'] = o.contentRange;
        if (o.etag) headers.etag = o.etag;
        return { status: o.status, body: o.body, headers };
      } catch (err) {
        if (err instanceof AthenaError && err.code === 'range_not_satisfiable') {
          const size = err.data?.size;
          const headers: Record<string, string> = {};
          if (size !== null && size !== undefined) headers['content-range'] = `bytes */${String(size)}`;
          return { status: 416, body: athenaErrorBody(416, err.message, err.code), headers };
        }
        throw err;
      }
    },
  }),
  patch_storage_files_by_file_id_visibility: visibilityOp(),
  post_storage_files_by_file_id_visibility: visibilityOp(),
  post_storage_folders_delete: graphql({
    policy: session,
    document: D.AthenaStorageDeleteFolderDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return { s3Id: required(str(b, 's3_id'), 's3_id'), prefix: required(str(b, 'prefix'), 'prefix') };
    },
    respond: ({ deleteAthenaStorageFolder: r }) => answer(r, (d) => ok('Folder deleted', d)),
  }),
  post_storage_folders_move: graphql({
    policy: session,
    document: D.AthenaStorageMoveFolderDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        s3Id: required(str(b, 's3_id'), 's3_id'),
        fromPrefix: required(str(b, 'from_prefix'), 'from_prefix'),
        toPrefix: required(str(b, 'to_prefix'), 'to_prefix'),
      };
    },
    respond: ({ moveAthenaStorageFolder: r }) => answer(r, (d) => ok('Folder moved', d)),
  }),
  post_storage_files_delete_many: graphql({
    policy: session,
    document: D.AthenaStorageDeleteManyDocument,
    variables: (req) => ({ fileIds: required(strings(bodyOf(req), 'file_ids'), 'file_ids') }),
    respond: ({ deleteAthenaStorageFiles: r }) =>
      answer(r, (d) => ok('Files deleted', { deleted: d.length, files: d.map(fileBody) })),
  }),
  post_storage_files_update_many: graphql({
    policy: session,
    document: D.AthenaStorageUpdateManyDocument,
    variables: (req) => ({
      files: objects(bodyOf(req), 'files').map((f) => ({
        fileId: required(str(f, 'file_id'), 'files[].file_id'),
        storageKey: required(str(f, 'storage_key'), 'files[].storage_key'),
        bucket: str(f, 'bucket') ?? null,
      })),
    }),
    respond: ({ moveAthenaStorageFiles: r }) => answer(r, (d) => ok('Files updated', d)),
  }),
  post_storage_files_visibility_many: graphql({
    policy: session,
    document: D.AthenaStorageVisibilityManyDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return { fileIds: required(strings(b, 'file_ids'), 'file_ids'), public: required(bool(b, 'public'), 'public') };
    },
    respond: ({ setAthenaStorageFilesVisibility: r }) =>
      answer(r, (d) => ok('File visibility updated', { updated: d.length, files: d.map(fileBody) })),
  }),
  post_storage_files_by_file_id_confirm_upload: graphql({
    policy: session,
    document: D.AthenaStorageConfirmUploadDocument,
    variables: (req) => ({ fileId: fileIdOf(req) }),
    respond: ({ confirmAthenaStorageUpload: r }) => answer(r, single('Upload confirmed')),
  }),
  put_storage_files_by_file_id_upload: direct({
    policy: session,
    reason: 'streams the request body to S3 (no buffering), then confirms the upload',
    streamsBody: true,
    async handle(req, services) {
      const length = firstHeader(req, 'content-length');
      if (length !== undefined && !/^\d{1,16}$/.test(length)) {
        throw new AthenaInvalidInputError('Content-Length must be a byte count');
      }
      const file = await services.athena.storage.uploadStream(req.principal, {
        fileId: fileIdOf(req),
        body: req.stream as NonNullable<RestRequest['stream']>,
        contentLength: length === undefined ? null : Number(length),
        contentType: (firstHeader(req, 'content-type') ?? '').split(';')[0]?.trim() || null,
      });
      return ok('File uploaded', { file: fileBody(viewFields(file)) });
    },
  }),
  post_storage_files_by_file_id_copy: graphql({
    policy: session,
    document: D.AthenaStorageCopyFileDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        fileId: fileIdOf(req),
        storageKey: required(str(b, 'storage_key') ?? str(b, 'destination_key'), 'storage_key'),
        bucket: str(b, 'bucket') ?? null,
        newFileId: str(b, 'new_file_id') ?? str(b, 'file_id') ?? null,
        name: str(b, 'name') ?? null,
      };
    },
    respond: ({ copyAthenaStorageFile: r }) => answer(r, single('File copied')),
  }),
  post_storage_files_by_file_id_restore: graphql({
    policy: session,
    document: D.AthenaStorageRestoreFileDocument,
    variables: (req) => ({ fileId: fileIdOf(req) }),
    respond: ({ restoreAthenaStorageFile: r }) => answer(r, single('File restored')),
  }),
  delete_storage_files_by_file_id_purge: graphql({
    policy: session,
    document: D.AthenaStoragePurgeFileDocument,
    variables: (req) => ({ fileId: fileIdOf(req) }),
    respond: ({ purgeAthenaStorageFile: r }) => answer(r, single('File purged')),
  }),
  get_storage_files_by_file_id_public_url: graphql({
    policy: session,
    document: D.AthenaStoragePublicUrlDocument,
    variables: (req) => ({ fileId: fileIdOf(req) }),
    respond: ({ athenaStorageFilePublicUrl: r }) => answer(r, (d) => ok('Public URL computed', d)),
  }),
  get_storage_files_by_file_id_versions: graphql({
    policy: session,
    document: D.AthenaStorageVersionsDocument,
    variables: (req) => ({ fileId: fileIdOf(req) }),
    respond: ({ athenaStorageFileVersions: r }) => answer(r, (d) => ok('Versions listed', d)),
  }),
  post_storage_files_by_file_id_versions_by_version_id_restore: graphql({
    policy: session,
    document: D.AthenaStorageRestoreVersionDocument,
    variables: (req) => ({ fileId: fileIdOf(req), versionId: req.params.version_id as string }),
    respond: ({ restoreAthenaStorageFileVersion: r }) => answer(r, (d) => ok('Version restored', d)),
  }),
  delete_storage_files_by_file_id_versions_by_version_id: graphql({
    policy: session,
    document: D.AthenaStorageDeleteVersionDocument,
    variables: (req) => ({ fileId: fileIdOf(req), versionId: req.params.version_id as string }),
    respond: ({ deleteAthenaStorageFileVersion: r }) => answer(r, (d) => ok('Version deleted', d)),
  }),
  post_storage_files_by_file_id_retention: graphql({
    policy: session,
    document: D.AthenaStorageRetentionDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        fileId: fileIdOf(req),
        mode: required(enumOf(b, 'mode', ['governance', 'compliance'] as const) ?? undefined, 'mode'),
        retainUntil: required(dateTime(b, 'retain_until') ?? undefined, 'retain_until'),
        legalHold: bool(b, 'legal_hold') ?? null,
      };
    },
    respond: ({ setAthenaStorageFileRetention: r }) => answer(r, (d) => ok('Retention configured', d)),
  }),
  post_storage_folders_list: graphql({
    policy: session,
    document: D.AthenaStorageFoldersDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return { s3Id: required(str(b, 's3_id'), 's3_id'), prefix: str(b, 'prefix') ?? null };
    },
    respond: ({ athenaStorageFolders: r }, req) =>
      answer(r, (d) =>
        ok('Folders listed', {
          s3_id: str(bodyOf(req), 's3_id'),
          prefix: str(bodyOf(req), 'prefix') ?? '',
          count: d.totalCount,
          folders: d.edges.map(({ node: f }) => ({
            prefix: f.prefix,
            name: f.name,
            file_count: f.fileCount,
            total_bytes: Number(f.totalBytes),
          })),
        }),
      ),
  }),
  post_storage_folders_tree: graphql({
    policy: session,
    document: D.AthenaStorageFolderTreeDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return { s3Id: required(str(b, 's3_id'), 's3_id'), prefix: str(b, 'prefix') ?? null };
    },
    respond: ({ athenaStorageFolderTree: r }) => answer(r, (d) => ok('Folder tree built', d)),
  }),
  post_storage_permissions_list: graphql({
    policy: session,
    document: D.AthenaStoragePermissionsDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return { fileId: str(b, 'file_id') ?? null, s3Id: str(b, 's3_id') ?? null, prefix: str(b, 'prefix') ?? null };
    },
    respond: ({ athenaStoragePermissions: r }) =>
      answer(r, (d) => ok('Permissions listed', { count: d.length, permissions: d.map(permissionBody) })),
  }),
  post_storage_permissions_grant: graphql({
    policy: session,
    document: D.AthenaStorageGrantDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        fileId: str(b, 'file_id') ?? null,
        s3Id: str(b, 's3_id') ?? null,
        prefix: str(b, 'prefix') ?? null,
        principalType: required(enumOf(b, 'principal_type', principalTypes) ?? undefined, 'principal_type'),
        principalId: required(str(b, 'principal_id'), 'principal_id'),
        permission: required(enumOf(b, 'permission', permissions) ?? undefined, 'permission'),
        expiresAt: dateTime(b, 'expires_at'),
      };
    },
    respond: ({ grantAthenaStoragePermission: r }) =>
      answer(r, (d) => ok('Permission granted', { permission: permissionBody(d) })),
  }),
  post_storage_permissions_revoke: graphql({
    policy: session,
    document: D.AthenaStorageRevokeDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        permissionId: str(b, 'permission_id') ?? str(b, 'id') ?? null,
        fileId: str(b, 'file_id') ?? null,
        s3Id: str(b, 's3_id') ?? null,
        prefix: str(b, 'prefix') ?? null,
        principalType: enumOf(b, 'principal_type', principalTypes),
        principalId: str(b, 'principal_id') ?? null,
        permission: enumOf(b, 'permission', permissions),
      };
    },
    respond: ({ revokeAthenaStoragePermission: r }) => answer(r, (d) => ok('Permission revoked', d)),
  }),
  post_storage_permissions_check: graphql({
    policy: session,
    document: D.AthenaStorageCheckDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        fileId: required(str(b, 'file_id'), 'file_id'),
        permission: required(enumOf(b, 'permission', permissions) ?? undefined, 'permission'),
        principalType: enumOf(b, 'principal_type', principalTypes),
        principalId: str(b, 'principal_id') ?? null,
      };
    },
    respond: ({ checkAthenaStoragePermission: r }) => answer(r, (d) => ok('Permission checked', d)),
  }),
  post_storage_multipart_create: graphql({
    policy: session,
    document: D.AthenaStorageMultipartCreateDocument,
    variables: (req) => ({ input: uploadInput(bodyOf(req)) }),
    respond: ({ createAthenaStorageMultipartUpload: r }) => answer(r, (d) => ok('Multipart upload created', d)),
  }),
  post_storage_multipart_sign_part: graphql({
    policy: session,
    document: D.AthenaStorageMultipartSignDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        uploadId: required(str(b, 'upload_id'), 'upload_id'),
        partNumber: required(int(b, 'part_number') ?? undefined, 'part_number'),
      };
    },
    respond: ({ signAthenaStorageMultipartPart: r }) => answer(r, (d) => ok('Part URL signed', d)),
  }),
  post_storage_multipart_complete: graphql({
    policy: session,
    document: D.AthenaStorageMultipartCompleteDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        uploadId: required(str(b, 'upload_id'), 'upload_id'),
        parts: objects(b, 'parts').map((p) => ({
          partNumber: required(int(p, 'part_number') ?? undefined, 'parts[].part_number'),
          etag: required(str(p, 'etag'), 'parts[].etag'),
        })),
      };
    },
    respond: ({ completeAthenaStorageMultipartUpload: r }) => answer(r, single('Multipart upload completed')),
  }),
  post_storage_multipart_abort: graphql({
    policy: session,
    document: D.AthenaStorageMultipartAbortDocument,
    variables: (req) => ({ uploadId: required(str(bodyOf(req), 'upload_id'), 'upload_id') }),
    respond: ({ abortAthenaStorageMultipartUpload: r }) => answer(r, (d) => ok('Multipart upload aborted', d)),
  }),
  post_storage_multipart_list_parts: graphql({
    policy: session,
    document: D.AthenaStorageMultipartPartsDocument,
    variables: (req) => ({ uploadId: required(str(bodyOf(req), 'upload_id'), 'upload_id') }),
    respond: ({ athenaStorageMultipartParts: r }) => answer(r, (d) => ok('Parts listed', d)),
  }),
  post_storage_audit_list: graphql({
    policy: session,
    document: D.AthenaStorageAuditDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        fileId: str(b, 'file_id') ?? null,
        action: str(b, 'action') ?? null,
        first: int(b, 'limit'),
        offset: int(b, 'offset'),
      };
    },
    respond: ({ athenaStorageAudit: r }) =>
      answer(r, (d) =>
        ok('Audit events listed', {
          count: d.totalCount,
          events: d.edges.map(({ node: e }) => ({
            id: e.entryId,
            file_id: e.fileId ?? null,
            organization_id: e.organizationId,
            actor_user_id: e.actorUserId,
            action: e.action,
            details: e.details,
            created_at: iso(e.createdAt),
          })),
        }),
      ),
  }),
});
