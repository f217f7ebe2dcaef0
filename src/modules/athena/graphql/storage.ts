import { GraphQLError } from 'graphql';
import { builder } from '../../../core/builder.ts';
import type { Context } from '../../../core/context.ts';
import { DomainError } from '../../../core/errors.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import { AthenaError } from '../athena.errors.ts';
import {
  StorageConflictError,
  StorageFeatureUnavailableError,
  StorageForbiddenError,
  StorageInvalidInputError,
  StorageNotFoundError,
  StorageSessionRequiredError,
  StorageTooLargeError,
  StorageUnavailableError,
} from '../storage/storage.errors.ts';
import type {
  StorageAuditEntryView,
  StorageFileEventView,
  StorageFileView,
  StorageFolderView,
  StoragePermissionView,
  StoragePresignedUrlView,
  StorageUploadView,
  UploadUrlInput,
} from '../storage/storage.service.ts';
import { page, pageConnection, withTotalCount } from './admin.ts';

/*
 * Managed storage (G12) in GraphQL (docs/athena.md, "Managed storage (G12)"). The caller is an Athena session
 * (bearer `aths_…` on HTTP or in graphql-ws connection params): it names the client, the user and the organization.
 * Files and folders are Nodes, lists are connections; every operation whose result is JSON has its field (bytes go
 * through presigned URLs or the REST upload and proxy routes); `storageFileEvents` streams the event log.
 */

const described = (cls: new (...args: any[]) => DomainError, name: string, description: string) =>
  builder.objectType(cls, { name, description, interfaces: [ErrorInterface] });

described(StorageNotFoundError, 'StorageNotFoundError', 'No such file, folder, grant or upload in the organization.');
described(StorageForbiddenError, 'StorageForbiddenError', 'The session lacks the file permission this needs.');
described(
  StorageConflictError,
  'StorageConflictError',
  'The file’s state forbids it (key taken, no bytes, not public).',
);
described(StorageInvalidInputError, 'StorageInvalidInputError', 'A malformed or inconsistent storage input.');
described(
  StorageSessionRequiredError,
  'StorageSessionRequiredError',
  'Missing user or organization context: managed storage needs an Athena session.',
);
described(
  StorageUnavailableError,
  'StorageUnavailableError',
  'The client database cannot hold managed-storage metadata now.',
);
described(
  StorageFeatureUnavailableError,
  'StorageFeatureUnavailableError',
  'The S3 backend lacks versioning or object lock.',
);
described(StorageTooLargeError, 'StorageTooLargeError', 'The upload is larger than the server accepts.');

type ErrorClass = abstract new (...args: never[]) => DomainError;
const storageErrors = (...types: ErrorClass[]) => ({
  types: [
    ...types,
    StorageInvalidInputError,
    StorageUnavailableError,
    StorageSessionRequiredError,
    AthenaError,
  ] as never[],
  union: { description: 'The result, or one of the expected failures of this field.' },
  result: { description: 'The field succeeded.' },
  dataField: { description: 'The result.' },
});
const readErrors = storageErrors(StorageNotFoundError, StorageForbiddenError);
const writeErrors = storageErrors(StorageNotFoundError, StorageForbiddenError, StorageConflictError);
const versionErrors = storageErrors(StorageNotFoundError, StorageForbiddenError, StorageFeatureUnavailableError);

const StatusEnum = builder.enumType('AthenaStorageFileStatus', {
  description: 'Where a managed file is in its life.',
  values: {
    pending_upload: { description: 'Its row exists; its bytes are not confirmed yet.' },
    uploaded: { description: 'Its bytes are in the bucket (confirmed by HeadObject).' },
    deleted: { description: 'Soft-deleted: hidden, bytes kept until purge (restorable).' },
    purged: { description: 'Gone for good (only in the purge answer and events).' },
  } as const,
});

const PermissionEnum = builder.enumType('AthenaStoragePermissionLevel', {
  description: 'A file permission; each includes the ones before it.',
  values: {
    read: { description: 'See the file, its URLs and bytes.' },
    write: { description: 'Upload over it, move or rename it.' },
    delete: { description: 'Delete, restore and purge it.' },
    manage: { description: 'Change visibility, grants, versions and retention.' },
    owner: { description: 'Everything, including owner grants.' },
  } as const,
});

const PrincipalTypeEnum = builder.enumType('AthenaStoragePrincipalType', {
  description: 'Who a grant is for.',
  values: {
    user: { description: 'One user id (the session’s userId).' },
    organization: { description: 'Every session of an organization.' },
    role: { description: 'A role name (stored; sessions carry no roles, so it grants nothing yet).' },
  } as const,
});

const PurposeEnum = builder.enumType('AthenaStorageUrlPurpose', {
  description: 'What a view URL is for: its Content-Disposition.',
  values: {
    read: { description: 'Inline.' },
    download: { description: 'Attachment (a download).' },
    stream: { description: 'Inline, for media players.' },
  } as const,
});

const isFile = (v: unknown): v is StorageFileView =>
  typeof v === 'object' && v !== null && 'storageKey' in v && 'isPublic' in v && 'organizationId' in v;
const isFolder = (v: unknown): v is StorageFolderView =>
  typeof v === 'object' && v !== null && 'fileCount' in v && 'prefix' in v;

/** `<client>:<rest>` (client names have no colon). */
function splitId(id: string): [string, string] {
  const i = id.indexOf(':');
  return i < 0 ? ['', id] : [id.slice(0, i), id.slice(i + 1)];
}

export const StorageFileRef = builder.node(builder.objectRef<StorageFileView>('AthenaStorageFile'), {
  id: { resolve: (f) => `${f.client}:${f.id}` },
  description: 'A managed file: a row of the client’s `athena.files`, its bytes in an S3 catalog of the client.',
  isTypeOf: isFile,
  loadOne: (id, ctx) => {
    const [client, fileId] = splitId(id);
    return ctx.services.athena.storage.getFile(ctx.principal, { client, fileId }).catch(() => null);
  },
  fields: (t) => ({
    fileId: t.exposeString('id', { description: 'The file id (REST `id`; free text).' }),
    client: t.exposeString('client', { description: 'The Athena client holding it.' }),
    name: t.exposeString('name', { description: 'Its display name.' }),
    originalName: t.exposeString('originalName', { nullable: true, description: 'The name it was uploaded with.' }),
    url: t.exposeString('url', { nullable: true, description: 'A stored URL, if the application set one.' }),
    bucket: t.exposeString('bucket', { description: 'The bucket.' }),
    s3Id: t.exposeString('s3Id', { description: 'The S3 catalog entry (uuid).' }),
    prefixPath: t.exposeString('prefixPath', { nullable: true, description: 'The folder part of the key.' }),
    sizeBytes: t.field({
      type: 'BigInt',
      nullable: true,
      description: 'Its size, once uploaded.',
      resolve: (f) => (f.sizeBytes === null ? null : BigInt(f.sizeBytes)),
    }),
    mimeType: t.exposeString('mimeType', { nullable: true, description: 'Its media type.' }),
    resourceId: t.exposeString('resourceId', {
      nullable: true,
      description: 'The application resource it belongs to.',
    }),
    organizationId: t.exposeString('organizationId', { description: 'The organization it belongs to.' }),
    metadata: t.field({ type: 'JSON', description: 'Free-form metadata.', resolve: (f) => f.metadata }),
    storageKey: t.exposeString('storageKey', { description: 'The object key.' }),
    uploadedByUserId: t.exposeString('uploadedByUserId', { nullable: true, description: 'Who created it.' }),
    extension: t.exposeString('extension', { nullable: true, description: 'Its file extension.' }),
    isPublic: t.exposeBoolean('isPublic', { description: 'The Athena-level public flag (the object stays private).' }),
    status: t.field({ type: StatusEnum, description: 'Where it is in its life.', resolve: (f) => f.status }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'When it was soft-deleted.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When its row was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its row last changed.' }),
  }),
});

const PresignedUrlRef = builder.objectRef<StoragePresignedUrlView>('AthenaStoragePresignedUrl').implement({
  description: 'A presigned URL of a managed file (upload PUT or view GET), with its expiry and cache facts.',
  fields: (t) => ({
    fileId: t.exposeString('fileId', { description: 'The file.' }),
    bucket: t.exposeString('bucket', { description: 'The bucket.' }),
    storageKey: t.exposeString('storageKey', { description: 'The object key.' }),
    purpose: t.exposeString('purpose', { description: 'upload, read, download or stream.' }),
    url: t.exposeString('url', { description: 'The presigned URL.' }),
    method: t.exposeString('method', { description: 'The HTTP method it is signed for.' }),
    headers: t.field({ type: 'JSON', description: 'Headers the request must send.', resolve: (u) => u.headers }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops working.' }),
    expiresIn: t.exposeInt('expiresIn', { description: 'Seconds left.' }),
    cacheHit: t.exposeBoolean('cacheHit', { description: 'Whether it came from the URL cache.' }),
    cacheLayer: t.exposeString('cacheLayer', { description: '`memory` for a cached URL, `none` for a fresh one.' }),
  }),
});

const UploadRef = builder.objectRef<StorageUploadView>('AthenaStorageUpload').implement({
  description: 'A file row and the presigned PUT that uploads its bytes.',
  fields: (t) => ({
    file: t.field({ type: StorageFileRef, description: 'The file.', resolve: (u) => u.file }),
    upload: t.field({ type: PresignedUrlRef, description: 'The presigned PUT.', resolve: (u) => u.upload }),
  }),
});

export const StorageFolderRef = builder.node(builder.objectRef<StorageFolderView>('AthenaStorageFolder'), {
  id: { resolve: (f) => `${f.client}:${f.s3Id}:${f.prefix}` },
  description: 'A folder prefix derived from the tracked files the session can read.',
  isTypeOf: isFolder,
  loadOne: (id, ctx) => {
    const [, rest] = splitId(id);
    const i = rest.indexOf(':');
    return ctx.services.athena.storage
      .folder(ctx.principal, { s3Id: rest.slice(0, i), prefix: rest.slice(i + 1) })
      .catch(() => null);
  },
  fields: (t) => ({
    s3Id: t.exposeString('s3Id', { description: 'The S3 catalog entry.' }),
    prefix: t.exposeString('prefix', { description: 'The prefix, ending with `/`.' }),
    name: t.exposeString('name', { description: 'Its last segment.' }),
    fileCount: t.exposeInt('fileCount', { description: 'Readable files under it (any depth).' }),
    totalBytes: t.field({
      type: 'BigInt',
      description: 'Their total size.',
      resolve: (f) => BigInt(f.totalBytes),
    }),
  }),
});

const PermissionRef = builder.objectRef<StoragePermissionView>('AthenaStoragePermission').implement({
  description: 'A grant on a file or on a prefix of a catalog.',
  fields: (t) => ({
    permissionId: t.exposeString('id', { description: 'The grant id (uuid).' }),
    fileId: t.exposeString('fileId', { nullable: true, description: 'The file, for a file grant.' }),
    s3Id: t.exposeString('s3Id', { nullable: true, description: 'The catalog, for a prefix grant.' }),
    prefix: t.exposeString('prefix', { nullable: true, description: 'The prefix, for a prefix grant.' }),
    organizationId: t.exposeString('organizationId', { description: 'The organization it lives in.' }),
    principalType: t.field({ type: PrincipalTypeEnum, description: 'Who.', resolve: (p) => p.principalType }),
    principalId: t.exposeString('principalId', { description: 'Their id.' }),
    permission: t.field({ type: PermissionEnum, description: 'What.', resolve: (p) => p.permission }),
    grantedBy: t.exposeString('grantedBy', { description: 'The user who granted it.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it lapses.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was granted.' }),
  }),
});

const AuditEntryRef = builder.objectRef<StorageAuditEntryView>('AthenaStorageAuditEntry').implement({
  description: 'One audit row: who did what to which file.',
  fields: (t) => ({
    entryId: t.exposeInt('id', { description: 'Its sequence number (per client).' }),
    fileId: t.exposeString('fileId', { nullable: true, description: 'The file.' }),
    organizationId: t.exposeString('organizationId', { description: 'The organization.' }),
    actorUserId: t.exposeString('actorUserId', { description: 'Who.' }),
    action: t.exposeString('action', { description: 'What, e.g. file.uploaded, file.moved, permission.granted.' }),
    details: t.field({
      type: 'JSON',
      description: 'The key, bucket, status and action details.',
      resolve: (e) => e.details,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When.' }),
  }),
});

const FileEventRef = builder.objectRef<StorageFileEventView>('AthenaStorageFileEvent').implement({
  description: 'A committed managed-storage change, from the event log.',
  fields: (t) => ({
    eventId: t.exposeInt('id', { description: 'Its sequence number (per client).' }),
    fileId: t.exposeString('fileId', { nullable: true, description: 'The file.' }),
    actorUserId: t.exposeString('actorUserId', { description: 'Who.' }),
    action: t.exposeString('action', { description: 'What happened.' }),
    details: t.field({ type: 'JSON', description: 'Details of the change.', resolve: (e) => e.details }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was committed.' }),
    file: t.field({
      type: StorageFileRef,
      nullable: true,
      description: 'The file as it is now (null once purged).',
      resolve: (e) => e.file,
    }),
  }),
});

const UploadInputRef = builder.inputType('AthenaStorageUploadInput', {
  description: 'A file to create (or overwrite, with write permission) and sign an upload for.',
  fields: (t) => ({
    s3Id: t.string({ required: true, description: 'The S3 catalog entry (uuid) of the client.' }),
    storageKey: t.string({ required: true, description: 'The object key.' }),
    bucket: t.string({ required: false, description: 'The bucket (default: the catalog’s).' }),
    fileId: t.string({ required: false, description: 'The file id (free text; default: a new uuid).' }),
    name: t.string({ required: false, description: 'Display name (default: the key’s last segment).' }),
    originalName: t.string({ required: false, description: 'The uploaded file’s own name.' }),
    resourceId: t.string({ required: false, description: 'The application resource it belongs to.' }),
    mimeType: t.string({ required: false, description: 'Its media type (stored).' }),
    contentType: t.string({ required: false, description: 'The Content-Type the PUT signs (default mimeType).' }),
    sizeBytes: t.int({ required: false, description: 'The expected size.' }),
    public: t.boolean({ required: false, description: 'The Athena-level public flag.' }),
    metadata: t.field({ type: 'JSON', required: false, description: 'Free-form metadata (a JSON object).' }),
  }),
});

const MoveInputRef = builder.inputType('AthenaStorageMoveInput', {
  description: 'A move or rename of one file.',
  fields: (t) => ({
    fileId: t.string({ required: true, description: 'The file.' }),
    storageKey: t.string({ required: true, description: 'Its new key.' }),
    bucket: t.string({ required: false, description: 'Its new bucket (same catalog).' }),
  }),
});

const SearchInputRef = builder.inputType('AthenaStorageSearchInput', {
  description: 'Filters of a file search (all optional).',
  fields: (t) => ({
    s3Id: t.string({ required: false, description: 'One catalog.' }),
    prefix: t.string({ required: false, description: 'Keys under this prefix.' }),
    query: t.string({ required: false, description: 'Substring of the name or original name.' }),
    mimeType: t.string({ required: false, description: 'Exact media type.' }),
    resourceId: t.string({ required: false, description: 'Exact resource id.' }),
    status: t.field({ type: StatusEnum, required: false, description: 'One status.' }),
    isPublic: t.boolean({ required: false, description: 'Public or not.' }),
    includeDeleted: t.boolean({ required: false, description: 'Include soft-deleted files (delete permission).' }),
  }),
});

const PartInputRef = builder.inputType('AthenaStoragePartInput', {
  description: 'An uploaded part of a multipart upload.',
  fields: (t) => ({
    partNumber: t.int({ required: true, description: 'Its number (1–10000).' }),
    etag: t.string({ required: true, description: 'The ETag the part upload answered.' }),
  }),
});

const storage = (ctx: Context) => ctx.services.athena.storage;
const toUpload = (i: any): UploadUrlInput => ({ ...i, metadata: i.metadata as Record<string, unknown> | null });

// ---- queries ----

builder.queryField('athenaStorageFile', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'One managed file the caller can read (public files: anyone, given the client).',
    errors: readErrors,
    args: {
      fileId: t.arg.string({ required: true, description: 'The file id (free text).' }),
      client: t.arg.string({
        required: false,
        description: 'The client (anonymous readers of public files; sessions: theirs).',
      }),
    },
    resolve: (_r, a, ctx) => storage(ctx).getFile(ctx.principal, { client: a.client, fileId: a.fileId }),
  }),
);

builder.queryField('athenaStorageFiles', (t) =>
  t.connection(
    {
      type: StorageFileRef,
      description: 'Readable live files of a catalog under a prefix, in key order (`first` and `offset` page).',
      errors: storageErrors(),
      args: {
        s3Id: t.arg.string({ required: true, description: 'The S3 catalog entry (uuid).' }),
        prefix: t.arg.string({ required: false, description: 'A folder prefix ("" = the root).' }),
        offset: t.arg.int({ required: false, description: 'Items to skip.' }),
      },
      resolve: async (_r, a, ctx) => {
        const { limit, offset } = page(a);
        const r = await storage(ctx).listFiles(ctx.principal, { s3Id: a.s3Id, prefix: a.prefix, limit, offset });
        return pageConnection(r.files, r.total);
      },
    },
    withTotalCount,
  ),
);

builder.queryField('searchAthenaStorageFiles', (t) =>
  t.connection(
    {
      type: StorageFileRef,
      description: 'Readable files matching the filters, in key order (`first` and `offset` page).',
      errors: storageErrors(),
      args: {
        filter: t.arg({ type: SearchInputRef, required: false, description: 'The filters.' }),
        offset: t.arg.int({ required: false, description: 'Items to skip.' }),
      },
      resolve: async (_r, a, ctx) => {
        const { limit, offset } = page(a);
        const r = await storage(ctx).searchFiles(ctx.principal, { ...(a.filter ?? {}), limit, offset });
        return pageConnection(r.files, r.total);
      },
    },
    withTotalCount,
  ),
);

builder.queryField('athenaStorageFileUrl', (t) =>
  t.field({
    type: PresignedUrlRef,
    description: 'A presigned view URL (cached while more than half its lifetime is left).',
    errors: storageErrors(StorageNotFoundError, StorageForbiddenError, StorageConflictError),
    args: {
      fileId: t.arg.string({ required: true, description: 'The file id (free text).' }),
      purpose: t.arg({ type: PurposeEnum, required: false, description: 'read (default), download or stream.' }),
      client: t.arg.string({
        required: false,
        description: 'The client (anonymous readers of public files; sessions: theirs).',
      }),
    },
    resolve: (_r, a, ctx) =>
      storage(ctx).viewUrl(ctx.principal, { fileId: a.fileId, purpose: a.purpose, client: a.client }),
  }),
);

builder.queryField('athenaStorageFilePublicUrl', (t) =>
  t.field({
    type: 'JSON',
    description: 'The unsigned URL of a public file: `{file_id, bucket, storage_key, url, is_public}`.',
    errors: writeErrors,
    args: { fileId: t.arg.string({ required: true, description: 'The file id (free text).' }) },
    resolve: (_r, a, ctx) => storage(ctx).publicUrl(ctx.principal, a.fileId),
  }),
);

builder.queryField('athenaStorageFileVersions', (t) =>
  t.field({
    type: 'JSON',
    description: 'The object versions of a file (StorageFeatureUnavailableError without bucket versioning).',
    errors: versionErrors,
    args: { fileId: t.arg.string({ required: true, description: 'The file id (free text).' }) },
    resolve: (_r, a, ctx) => storage(ctx).versions(ctx.principal, a.fileId),
  }),
);

builder.queryField('athenaStorageFolders', (t) =>
  t.connection(
    {
      type: StorageFolderRef,
      description: 'The immediate sub-folders of a prefix, derived from readable tracked files.',
      errors: storageErrors(),
      args: {
        s3Id: t.arg.string({ required: true, description: 'The S3 catalog entry (uuid).' }),
        prefix: t.arg.string({ required: false, description: 'A folder prefix ("" = the root).' }),
      },
      resolve: async (_r, a, ctx) => {
        const folders = await storage(ctx).listFolders(ctx.principal, { s3Id: a.s3Id, prefix: a.prefix });
        return pageConnection(folders, folders.length);
      },
    },
    withTotalCount,
  ),
);

builder.queryField('athenaStorageFolderTree', (t) =>
  t.field({
    type: 'JSON',
    description:
      'The folder tree under a prefix: `{s3_id, prefix, tree: {name, prefix, file_count, total_bytes, children}}`.',
    errors: storageErrors(),
    args: {
      s3Id: t.arg.string({ required: true, description: 'The S3 catalog entry (uuid).' }),
      prefix: t.arg.string({ required: false, description: 'A folder prefix ("" = the root).' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).folderTree(ctx.principal, { s3Id: a.s3Id, prefix: a.prefix }),
  }),
);

builder.queryField('athenaStoragePermissions', (t) =>
  t.field({
    type: [PermissionRef],
    description: 'The grants of a file, or of a prefix (s3Id + prefix); needs manage.',
    errors: readErrors,
    args: {
      fileId: t.arg.string({ required: false, description: 'The file.' }),
      s3Id: t.arg.string({ required: false, description: 'The S3 catalog entry (uuid).' }),
      prefix: t.arg.string({ required: false, description: 'A folder prefix ("" = the root).' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).listPermissions(ctx.principal, a),
  }),
);

builder.queryField('checkAthenaStoragePermission', (t) =>
  t.field({
    type: 'JSON',
    description:
      'Whether a principal (default: the caller) holds a permission on a file: `{allowed, effective_permission, …}`.',
    errors: readErrors,
    args: {
      fileId: t.arg.string({ required: true, description: 'The file id (free text).' }),
      permission: t.arg({ type: PermissionEnum, required: true, description: 'The permission asked about.' }),
      principalType: t.arg({ type: PrincipalTypeEnum, required: false, description: 'Whose (default user).' }),
      principalId: t.arg.string({
        required: false,
        description: 'Their id (default: the caller; others need manage).',
      }),
    },
    resolve: (_r, a, ctx) => storage(ctx).check(ctx.principal, a),
  }),
);

builder.queryField('athenaStorageMultipartParts', (t) =>
  t.field({
    type: 'JSON',
    description: 'The uploaded parts of an open multipart upload (ListParts).',
    errors: writeErrors,
    args: { uploadId: t.arg.string({ required: true, description: 'The upload id (uuid).' }) },
    resolve: (_r, a, ctx) => storage(ctx).listParts(ctx.principal, a.uploadId),
  }),
);

builder.queryField('athenaStorageAudit', (t) =>
  t.connection(
    {
      type: AuditEntryRef,
      description: 'Audit rows the caller may see (its own actions; files it can read), newest first.',
      errors: storageErrors(),
      args: {
        fileId: t.arg.string({ required: false, description: 'One file.' }),
        action: t.arg.string({ required: false, description: 'One action.' }),
        offset: t.arg.int({ required: false, description: 'Items to skip.' }),
      },
      resolve: async (_r, a, ctx) => {
        const { limit, offset } = page({ first: a.first ?? 50, offset: a.offset });
        const r = await storage(ctx).audit(ctx.principal, {
          fileId: a.fileId,
          action: a.action,
          limit: Math.min(limit, 500),
          offset,
        });
        return pageConnection(r.entries, r.total);
      },
    },
    withTotalCount,
  ),
);

// ---- mutations ----

builder.mutationField('createAthenaStorageUploadUrl', (t) =>
  t.field({
    type: UploadRef,
    description: 'Creates or updates a file row and signs its upload; the uploader becomes its owner.',
    errors: storageErrors(StorageForbiddenError, StorageConflictError, StorageNotFoundError),
    args: { input: t.arg({ type: UploadInputRef, required: true, description: 'The file.' }) },
    resolve: (_r, a, ctx) => storage(ctx).createUploadUrl(ctx.principal, toUpload(a.input)),
  }),
);

builder.mutationField('createAthenaStorageUploadUrls', (t) =>
  t.field({
    type: [UploadRef],
    description: 'The batch variant: all authorised before any is written (all-or-nothing).',
    errors: storageErrors(StorageForbiddenError, StorageConflictError, StorageNotFoundError),
    args: { files: t.arg({ type: [UploadInputRef], required: true, description: 'The files (1–1000).' }) },
    resolve: (_r, a, ctx) => storage(ctx).createUploadUrls(ctx.principal, a.files.map(toUpload)),
  }),
);

builder.mutationField('confirmAthenaStorageUpload', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'Confirms an upload (HeadObject): size set, status uploaded.',
    errors: writeErrors,
    args: { fileId: t.arg.string({ required: true, description: 'The file id (free text).' }) },
    resolve: (_r, a, ctx) => storage(ctx).confirmUpload(ctx.principal, a.fileId),
  }),
);

builder.mutationField('moveAthenaStorageFile', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'Moves or renames a file (copy, delete the old object, update the row).',
    errors: writeErrors,
    args: { input: t.arg({ type: MoveInputRef, required: true, description: 'The move.' }) },
    resolve: (_r, a, ctx) => storage(ctx).moveFile(ctx.principal, a.input),
  }),
);

builder.mutationField('moveAthenaStorageFiles', (t) =>
  t.field({
    type: 'JSON',
    description: 'Many moves, all authorised first: `{requested, updated, failed, files, failures}`.',
    errors: readErrors,
    args: { files: t.arg({ type: [MoveInputRef], required: true, description: 'The moves (1–1000).' }) },
    resolve: (_r, a, ctx) => storage(ctx).updateMany(ctx.principal, a.files),
  }),
);

builder.mutationField('deleteAthenaStorageFile', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'Soft-deletes a file (the bytes stay until purge).',
    errors: readErrors,
    args: { fileId: t.arg.string({ required: true, description: 'The file id (free text).' }) },
    resolve: (_r, a, ctx) => storage(ctx).deleteFile(ctx.principal, a.fileId),
  }),
);

builder.mutationField('deleteAthenaStorageFiles', (t) =>
  t.field({
    type: [StorageFileRef],
    description: 'Soft-deletes many files, all authorised first.',
    errors: readErrors,
    args: { fileIds: t.arg.stringList({ required: true, description: 'The files (1–1000).' }) },
    resolve: (_r, a, ctx) => storage(ctx).deleteMany(ctx.principal, a.fileIds),
  }),
);

builder.mutationField('restoreAthenaStorageFile', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'Restores a soft-deleted file, only while its bytes still exist.',
    errors: writeErrors,
    args: { fileId: t.arg.string({ required: true, description: 'The file id (free text).' }) },
    resolve: (_r, a, ctx) => storage(ctx).restoreFile(ctx.principal, a.fileId),
  }),
);

builder.mutationField('purgeAthenaStorageFile', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'Deletes a file for good: its object, row and grants (answers it as purged).',
    errors: readErrors,
    args: { fileId: t.arg.string({ required: true, description: 'The file id (free text).' }) },
    resolve: (_r, a, ctx) => storage(ctx).purgeFile(ctx.principal, a.fileId),
  }),
);

builder.mutationField('copyAthenaStorageFile', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'Copies a readable file to a new key as a new file the caller owns.',
    errors: writeErrors,
    args: {
      fileId: t.arg.string({ required: true, description: 'The file id (free text).' }),
      storageKey: t.arg.string({ required: true, description: 'The new key.' }),
      bucket: t.arg.string({ required: false, description: 'The new bucket (same catalog).' }),
      newFileId: t.arg.string({ required: false, description: 'The new file id (default: a uuid).' }),
      name: t.arg.string({ required: false, description: 'The new display name.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).copyFile(ctx.principal, a),
  }),
);

builder.mutationField('setAthenaStorageFileVisibility', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'Sets the Athena-level public flag (manage); the object stays private.',
    errors: readErrors,
    args: {
      fileId: t.arg.string({ required: true, description: 'The file id (free text).' }),
      public: t.arg.boolean({ required: true, description: 'Public or not.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).setVisibility(ctx.principal, a.fileId, a.public),
  }),
);

builder.mutationField('setAthenaStorageFilesVisibility', (t) =>
  t.field({
    type: [StorageFileRef],
    description: 'Sets the public flag of many files, all authorised first.',
    errors: readErrors,
    args: {
      fileIds: t.arg.stringList({ required: true, description: 'The files (1–1000).' }),
      public: t.arg.boolean({ required: true, description: 'Public or not.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).setVisibilityMany(ctx.principal, a.fileIds, a.public),
  }),
);

builder.mutationField('deleteAthenaStorageFolder', (t) =>
  t.field({
    type: 'JSON',
    description:
      'Soft-deletes every tracked file under a prefix, all authorised first: `{s3_id, prefix, processed_files}`.',
    errors: readErrors,
    args: {
      s3Id: t.arg.string({ required: true, description: 'The S3 catalog entry (uuid).' }),
      prefix: t.arg.string({ required: true, description: 'The folder prefix.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).deleteFolder(ctx.principal, a),
  }),
);

builder.mutationField('moveAthenaStorageFolder', (t) =>
  t.field({
    type: 'JSON',
    description: 'Moves every tracked file under a prefix (all authorised first; copy + delete per file, not atomic).',
    errors: readErrors,
    args: {
      s3Id: t.arg.string({ required: true, description: 'The S3 catalog entry (uuid).' }),
      fromPrefix: t.arg.string({ required: true, description: 'The folder.' }),
      toPrefix: t.arg.string({ required: true, description: 'Where it goes.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).moveFolder(ctx.principal, a),
  }),
);

builder.mutationField('restoreAthenaStorageFileVersion', (t) =>
  t.field({
    type: 'JSON',
    description: 'Makes an object version current again (manage; needs bucket versioning).',
    errors: versionErrors,
    args: {
      fileId: t.arg.string({ required: true, description: 'The file id (free text).' }),
      versionId: t.arg.string({ required: true, description: 'The S3 version id.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).restoreVersion(ctx.principal, a.fileId, a.versionId),
  }),
);

builder.mutationField('deleteAthenaStorageFileVersion', (t) =>
  t.field({
    type: 'JSON',
    description: 'Deletes one object version (manage; needs bucket versioning).',
    errors: versionErrors,
    args: {
      fileId: t.arg.string({ required: true, description: 'The file id (free text).' }),
      versionId: t.arg.string({ required: true, description: 'The S3 version id.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).deleteVersion(ctx.principal, a.fileId, a.versionId),
  }),
);

builder.mutationField('setAthenaStorageFileRetention', (t) =>
  t.field({
    type: 'JSON',
    description: 'Object-lock retention and legal hold (manage; needs object lock on the bucket).',
    errors: versionErrors,
    args: {
      fileId: t.arg.string({ required: true, description: 'The file id (free text).' }),
      mode: t.arg.string({ required: true, description: 'governance or compliance.' }),
      retainUntil: t.arg({ type: 'DateTime', required: true, description: 'Until when.' }),
      legalHold: t.arg.boolean({ required: false, description: 'Legal hold on or off.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).setRetention(ctx.principal, a),
  }),
);

builder.mutationField('grantAthenaStoragePermission', (t) =>
  t.field({
    type: PermissionRef,
    description: 'Grants a permission on a file, or on a prefix (manage on every file under it).',
    errors: readErrors,
    args: {
      fileId: t.arg.string({ required: false, description: 'The file.' }),
      s3Id: t.arg.string({ required: false, description: 'The S3 catalog entry (uuid).' }),
      prefix: t.arg.string({ required: false, description: 'A folder prefix ("" = the root).' }),
      principalType: t.arg({ type: PrincipalTypeEnum, required: true, description: 'Who.' }),
      principalId: t.arg.string({ required: true, description: 'Their id.' }),
      permission: t.arg({ type: PermissionEnum, required: true, description: 'What.' }),
      expiresAt: t.arg({ type: 'DateTime', required: false, description: 'When it lapses.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).grant(ctx.principal, a),
  }),
);

builder.mutationField('revokeAthenaStoragePermission', (t) =>
  t.field({
    type: 'JSON',
    description: 'Revokes grants by id, or by target and principal: `{revoked, permission_ids}`.',
    errors: writeErrors,
    args: {
      permissionId: t.arg.string({ required: false, description: 'The grant id.' }),
      fileId: t.arg.string({ required: false, description: 'The file.' }),
      s3Id: t.arg.string({ required: false, description: 'The S3 catalog entry (uuid).' }),
      prefix: t.arg.string({ required: false, description: 'A folder prefix ("" = the root).' }),
      principalType: t.arg({ type: PrincipalTypeEnum, required: false, description: 'Who.' }),
      principalId: t.arg.string({ required: false, description: 'Their id.' }),
      permission: t.arg({ type: PermissionEnum, required: false, description: 'What (default: every grant).' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).revoke(ctx.principal, a),
  }),
);

builder.mutationField('createAthenaStorageMultipartUpload', (t) =>
  t.field({
    type: 'JSON',
    description: 'Starts a multipart upload (CreateMultipartUpload and a row): `{upload_id, file_id, …, file}`.',
    errors: storageErrors(StorageForbiddenError, StorageConflictError, StorageNotFoundError),
    args: { input: t.arg({ type: UploadInputRef, required: true, description: 'The file.' }) },
    resolve: (_r, a, ctx) => storage(ctx).createMultipart(ctx.principal, toUpload(a.input)),
  }),
);

builder.mutationField('signAthenaStorageMultipartPart', (t) =>
  t.field({
    type: 'JSON',
    description: 'A presigned UploadPart URL for one part: `{upload_id, part_number, url, expires_at, …}`.',
    errors: writeErrors,
    args: {
      uploadId: t.arg.string({ required: true, description: 'The upload id.' }),
      partNumber: t.arg.int({ required: true, description: 'The part number (1–10000).' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).signPart(ctx.principal, a),
  }),
);

builder.mutationField('completeAthenaStorageMultipartUpload', (t) =>
  t.field({
    type: StorageFileRef,
    description: 'Completes a multipart upload and confirms the file.',
    errors: writeErrors,
    args: {
      uploadId: t.arg.string({ required: true, description: 'The upload id.' }),
      parts: t.arg({ type: [PartInputRef], required: true, description: 'The parts, with their ETags.' }),
    },
    resolve: (_r, a, ctx) => storage(ctx).completeMultipart(ctx.principal, a),
  }),
);

builder.mutationField('abortAthenaStorageMultipartUpload', (t) =>
  t.field({
    type: 'JSON',
    description: 'Aborts a multipart upload (AbortMultipartUpload).',
    errors: writeErrors,
    args: { uploadId: t.arg.string({ required: true, description: 'The upload id.' }) },
    resolve: (_r, a, ctx) => storage(ctx).abortMultipart(ctx.principal, a.uploadId),
  }),
);

// ---- subscription ----

function surfaced(e: unknown): unknown {
  return e instanceof DomainError ? new GraphQLError(e.message, { extensions: { code: e.code } }) : e;
}

builder.subscriptionField('storageFileEvents', (t) =>
  t.field({
    type: FileEventRef,
    description:
      'Committed managed-storage changes of the session’s organization under a prefix, each delivered when the ' +
      'subscriber can read the file (fed from the event log after each commit).',
    args: {
      client: t.arg.string({ required: true, description: 'The client (must be the session’s).' }),
      prefix: t.arg.string({ required: false, description: 'Only keys under this prefix (default: all).' }),
    },
    subscribe: async (_r, a, ctx) => {
      try {
        return (await storage(ctx).stream(ctx.principal, { client: a.client, prefix: a.prefix })) as never;
      } catch (e) {
        throw surfaced(e);
      }
    },
    resolve: (e) => e as StorageFileEventView,
  }),
);
