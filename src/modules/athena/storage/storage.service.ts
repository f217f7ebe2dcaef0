import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Principal } from '../../../core/auth/principal.ts';
import type { Logger } from '../../../core/logger.ts';
import type { AppPubSub } from '../../../core/pubsub.ts';
import { AthenaError, AthenaNotFoundError, ClientUnavailableError, UnknownClientError } from '../athena.errors.ts';
import { migrateClientSchema } from '../chat/schema-runner.ts';
import { type EventSource, EventStream } from '../chat/stream.ts';
import type { AthenaClientsService } from '../clients.service.ts';
import type { Queryable } from '../gateway/catalog-types.ts';
import type { ClientDatabase } from '../pools.ts';
import type { AthenaRawS3Service, S3Connection } from '../s3-raw.service.ts';
import { storageLedger, storageMigrations, storageSchema } from './schema.ts';
import {
  StorageConflictError,
  StorageFeatureUnavailableError,
  StorageForbiddenError,
  StorageInvalidInputError,
  StorageNotFoundError,
  StorageSessionRequiredError,
  StorageTooLargeError,
  StorageUnavailableError,
} from './storage.errors.ts';

/*
 * Managed storage (G12, docs/athena.md "Managed storage (G12)"): files tracked in the client's own database
 * (schema `athena`), their bytes in an S3 catalog of the client (G11). The caller is an Athena session (a user in
 * one organization); files belong to the organization, and what a caller may do is the highest of its grants
 * (user or organization, on the file or on a prefix covering it): read < write < delete < manage < owner. Public
 * files are readable by anyone. Authorisation always runs before any S3 call; batches are all-or-nothing. Every
 * mutation writes an audit row and an event row in its own transaction; the events are published after the commit
 * (`athena.storageFileEvent`) and feed the `storageFileEvents` subscription. DELETE keeps the bytes until purge,
 * so restore is honest on backends without versioning.
 */

export type StorageFileStatus = 'pending_upload' | 'uploaded' | 'deleted' | 'purged';
export type StoragePermission = 'read' | 'write' | 'delete' | 'manage' | 'owner';
export type StoragePrincipalType = 'user' | 'organization' | 'role';
export type StorageUrlPurpose = 'read' | 'download' | 'stream';

export const storagePermissions: readonly StoragePermission[] = ['read', 'write', 'delete', 'manage', 'owner'];
const rankOf: Record<StoragePermission, number> = { read: 1, write: 2, delete: 3, manage: 4, owner: 5 };

export interface StorageFileView {
  client: string;
  id: string;
  name: string;
  originalName: string | null;
  url: string | null;
  bucket: string;
  s3Id: string;
  prefixPath: string | null;
  sizeBytes: number | null;
  mimeType: string | null;
  resourceId: string | null;
  organizationId: string;
  metadata: Record<string, unknown>;
  storageKey: string;
  uploadedByUserId: string | null;
  extension: string | null;
  isPublic: boolean;
  status: StorageFileStatus;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface StoragePresignedUrlView {
  fileId: string;
  bucket: string;
  storageKey: string;
  purpose: string;
  url: string;
  method: 'GET' | 'PUT';
  headers: Record<string, string>;
  expiresAt: Date;
  expiresIn: number;
  cacheHit: boolean;
  cacheLayer: string;
}

export interface StorageUploadView {
  file: StorageFileView;
  upload: StoragePresignedUrlView;
}

export interface StorageFolderView {
  client: string;
  s3Id: string;
  prefix: string;
  name: string;
  fileCount: number;
  totalBytes: number;
}

export interface StoragePermissionView {
  client: string;
  id: string;
  fileId: string | null;
  s3Id: string | null;
  prefix: string | null;
  organizationId: string;
  principalType: StoragePrincipalType;
  principalId: string;
  permission: StoragePermission;
  grantedBy: string;
  expiresAt: Date | null;
  createdAt: Date;
}

export interface StorageAuditEntryView {
  client: string;
  id: number;
  fileId: string | null;
  organizationId: string;
  actorUserId: string;
  action: string;
  details: Record<string, unknown>;
  createdAt: Date;
}

export interface StorageFileEventView extends StorageAuditEntryView {
  file: StorageFileView | null;
}

/** What crosses the pub/sub for one event row (ids and plain JSON). */
export interface StorageFileEventPayload {
  client: string;
  organizationId: string;
  eventId: number;
  fileId: string | null;
  action: string;
  actorUserId: string;
  storageKey: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

declare module '../../../core/pubsub.ts' {
  interface TopicMap {
    /** A committed managed-storage change (channel `<client>:<organization_id>`), from the event log. */
    'athena.storageFileEvent': [channel: string, payload: StorageFileEventPayload];
  }
}

export const storageTopics = ['athena.storageFileEvent'] as const;

export interface UploadUrlInput {
  s3Id: string;
  storageKey: string;
  bucket?: string | null;
  name?: string | null;
  originalName?: string | null;
  resourceId?: string | null;
  mimeType?: string | null;
  contentType?: string | null;
  sizeBytes?: number | null;
  fileId?: string | null;
  public?: boolean | null;
  metadata?: Record<string, unknown> | null;
}

export interface SearchInput {
  s3Id?: string | null;
  prefix?: string | null;
  query?: string | null;
  mimeType?: string | null;
  resourceId?: string | null;
  status?: StorageFileStatus | null;
  isPublic?: boolean | null;
  includeDeleted?: boolean | null;
  limit?: number | null;
  offset?: number | null;
}

export interface MoveInput {
  fileId: string;
  storageKey: string;
  bucket?: string | null;
}

export interface GrantInput {
  fileId?: string | null;
  s3Id?: string | null;
  prefix?: string | null;
  principalType: StoragePrincipalType;
  principalId: string;
  permission: StoragePermission;
  expiresAt?: Date | null;
}

export interface RevokeInput {
  permissionId?: string | null;
  fileId?: string | null;
  s3Id?: string | null;
  prefix?: string | null;
  principalType?: StoragePrincipalType | null;
  principalId?: string | null;
  permission?: StoragePermission | null;
}

export interface MultipartCreateInput extends UploadUrlInput {}

interface Actor {
  client: string;
  userId: string;
  organizationId: string;
}

type Row = Record<string, unknown>;
type Conn = S3Connection & { bucket: string };

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const principalIdPattern = /^[A-Za-z0-9._:@-]{1,200}$/;
const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const sweepMs = 2_000;
const maxBatch = 1000;
const urlCacheMax = 10_000;
/** The bytes of one part when an upload without Content-Length is streamed as a multipart upload. */
const streamPartBytes = 8 * 1024 * 1024;
const maxPartNumber = 10_000;

const ts = (a: string, c: string) => `to_json(${a}.${c}) #>> '{}' AS ${c}`;
const fileCols = (a = 'f') =>
  [
    `${a}.id`,
    `${a}.name`,
    `${a}.original_name`,
    `${a}.url`,
    `${a}.bucket`,
    `${a}.s3_id`,
    `${a}.prefix_path`,
    `${a}.size_bytes`,
    `${a}.mime_type`,
    `${a}.resource_id`,
    `${a}.organization_id`,
    `${a}.metadata`,
    `${a}.storage_key`,
    `${a}.uploaded_by_user_id`,
    `${a}.extension`,
    `${a}.is_public`,
    `${a}.status`,
    ts(a, 'deleted_at'),
    ts(a, 'created_at'),
    ts(a, 'updated_at'),
  ].join(', ');

/**
 * The caller's rank on file `f` (0 = none): the highest live grant to the user or the organization, on the file or
 * on a prefix of the same catalog covering its key; files of another organization give 0. `$2` user, `$3` org.
 */
const rankSql = (f = 'f') => `CASE WHEN ${f}.organization_id <> $3 THEN 0 ELSE coalesce((
  SELECT max(CASE p.permission WHEN 'read' THEN 1 WHEN 'write' THEN 2 WHEN 'delete' THEN 3 WHEN 'manage' THEN 4
                               WHEN 'owner' THEN 5 END)
  FROM athena.file_permissions p
  WHERE (p.file_id = ${f}.id OR (p.file_id IS NULL AND p.organization_id = ${f}.organization_id
         AND p.s3_id = ${f}.s3_id AND left(${f}.storage_key, length(p.prefix)) = p.prefix))
    AND ((p.principal_type = 'user' AND p.principal_id = $2) OR (p.principal_type = 'organization' AND p.principal_id = $3))
    AND (p.expires_at IS NULL OR p.expires_at > now())), 0) END`;

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(String(v)));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const json = (v: unknown) =>
  v === null || v === undefined ? {} : ((typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>);

function toFile(client: string, r: Row): StorageFileView {
  return {
    client,
    id: String(r.id),
    name: String(r.name),
    originalName: (r.original_name as string | null) ?? null,
    url: (r.url as string | null) ?? null,
    bucket: String(r.bucket),
    s3Id: String(r.s3_id),
    prefixPath: (r.prefix_path as string | null) ?? null,
    sizeBytes: num(r.size_bytes),
    mimeType: (r.mime_type as string | null) ?? null,
    resourceId: (r.resource_id as string | null) ?? null,
    organizationId: String(r.organization_id),
    metadata: json(r.metadata),
    storageKey: String(r.storage_key),
    uploadedByUserId: (r.uploaded_by_user_id as string | null) ?? null,
    extension: (r.extension as string | null) ?? null,
    isPublic: r.is_public === true,
    status: r.status as StorageFileStatus,
    deletedAt: date(r.deleted_at),
    createdAt: date(r.created_at) as Date,
    updatedAt: date(r.updated_at) as Date,
  };
}

function toPermission(client: string, r: Row): StoragePermissionView {
  return {
    client,
    id: String(r.id),
    fileId: (r.file_id as string | null) ?? null,
    s3Id: (r.s3_id as string | null) ?? null,
    prefix: (r.prefix as string | null) ?? null,
    organizationId: String(r.organization_id),
    principalType: r.principal_type as StoragePrincipalType,
    principalId: String(r.principal_id),
    permission: r.permission as StoragePermission,
    grantedBy: String(r.granted_by),
    expiresAt: date(r.expires_at),
    createdAt: date(r.created_at) as Date,
  };
}

function toAudit(client: string, r: Row): StorageAuditEntryView {
  return {
    client,
    id: Number(r.id),
    fileId: (r.file_id as string | null) ?? null,
    organizationId: String(r.organization_id),
    actorUserId: String(r.actor_user_id),
    action: String(r.action),
    details: json(r.details),
    createdAt: date(r.created_at) as Date,
  };
}

// ---- input checks ----

function checkFileId(v: unknown, field = 'file_id'): string {
  // Free text, not a uuid (the notes): any string of 1-512 characters without control characters.
  if (typeof v !== 'string' || v.length === 0 || v.length > 512) {
    throw new StorageInvalidInputError(`${field} must be a string of 1 to 512 characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(v))
    throw new StorageInvalidInputError(`${field} must not contain control characters`);
  return v;
}

function checkS3Id(v: unknown, field = 's3_id'): string {
  if (typeof v !== 'string' || !uuidPattern.test(v)) throw new StorageInvalidInputError(`${field} must be a uuid`);
  return v.toLowerCase();
}

function checkStorageKey(v: unknown, field = 'storage_key'): string {
  if (typeof v !== 'string' || v === '') throw new StorageInvalidInputError(`${field} is required`);
  if (Buffer.byteLength(v) > 1024) throw new StorageInvalidInputError(`${field}: at most 1024 bytes`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(v))
    throw new StorageInvalidInputError(`${field} must not contain control characters`);
  if (v.startsWith('/') || v.split('/').some((s) => s === '..' || s === '.')) {
    throw new StorageInvalidInputError(`${field} must be a relative key without . or .. segments`);
  }
  if (v.endsWith('/')) throw new StorageInvalidInputError(`${field} names a file, not a folder (no trailing /)`);
  return v;
}

/** A folder prefix: "" (the root) or segments ending with `/`. */
function checkPrefix(v: unknown, field = 'prefix', allowRoot = true): string {
  if (v === undefined || v === null || v === '') {
    if (allowRoot) return '';
    throw new StorageInvalidInputError(`${field} is required`);
  }
  if (typeof v !== 'string') throw new StorageInvalidInputError(`${field} must be a string`);
  const p = v.endsWith('/') ? v : `${v}/`;
  checkStorageKey(p.slice(0, -1), field);
  return p;
}

function checkBucket(v: string | null | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (!bucketPattern.test(v)) throw new StorageInvalidInputError('bucket is not a valid bucket name');
  return v;
}

function checkText(v: string | null | undefined, field: string, max: number): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max) {
    throw new StorageInvalidInputError(`${field} must be a string of at most ${max} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(v))
    throw new StorageInvalidInputError(`${field} must not contain control characters`);
  return v;
}

function checkMime(v: string | null | undefined, field: string): string | null {
  const t = checkText(v, field, 255);
  if (t !== null && !/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;.*)?$/.test(t)) {
    throw new StorageInvalidInputError(`${field} is not a media type (type/subtype)`);
  }
  return t;
}

function checkMetadata(v: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new StorageInvalidInputError('metadata must be a JSON object');
  if (JSON.stringify(v).length > 16_384) throw new StorageInvalidInputError('metadata: at most 16 KiB of JSON');
  return v;
}

function checkPrincipal(type: unknown, id: unknown): { type: StoragePrincipalType; id: string } {
  if (type !== 'user' && type !== 'organization' && type !== 'role') {
    throw new StorageInvalidInputError('principal_type must be user, organization or role');
  }
  if (typeof id !== 'string' || !principalIdPattern.test(id)) {
    throw new StorageInvalidInputError('principal_id must be 1-200 of A-Z a-z 0-9 . _ : @ -');
  }
  return { type, id };
}

function checkPermission(v: unknown, field = 'permission'): StoragePermission {
  if (typeof v !== 'string' || !(storagePermissions as readonly string[]).includes(v)) {
    throw new StorageInvalidInputError(`${field} must be one of ${storagePermissions.join(', ')}`);
  }
  return v as StoragePermission;
}

function bounded(v: number | null | undefined, fallback: number, min: number, max: number, name: string): number {
  if (v === null || v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new StorageInvalidInputError(`${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function batchOf<T>(items: T[] | null | undefined, field: string): T[] {
  if (!Array.isArray(items) || items.length === 0)
    throw new StorageInvalidInputError(`${field} must be a non-empty array`);
  if (items.length > maxBatch) throw new StorageInvalidInputError(`${field}: at most ${maxBatch} entries`);
  return items;
}

const baseName = (key: string) => key.slice(key.lastIndexOf('/') + 1);
const prefixOf = (key: string) => (key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '');
function extensionOf(name: string): string | null {
  const i = name.lastIndexOf('.');
  return i > 0 && i < name.length - 1
    ? name
        .slice(i + 1)
        .toLowerCase()
        .slice(0, 32)
    : null;
}

/** RFC 3986 encoding as SigV4 wants it (`/` kept in paths). */
function encode(value: string, keepSlash = false): string {
  const e = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? e.replace(/%2F/g, '/') : e;
}

/** `inline`/`attachment` with an ASCII fallback name and the RFC 5987 UTF-8 one (RFC 6266). */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encode(name)}`;
}

const isS3Error = (err: unknown, ...names: string[]) =>
  err instanceof S3ServiceException &&
  (names.includes(err.name) || names.includes(String(err.$metadata?.httpStatusCode)));

export class AthenaStorageService {
  private readonly ready = new Map<string, Promise<void>>();
  /** Clients this process wrote events to: the sweep republishes their unpublished event rows. */
  private readonly active = new Set<string>();
  /** Presigned GET URLs per (client, file, purpose), for the object they were signed for. */
  private readonly urls = new Map<string, { bucket: string; key: string; url: string; expiresAtMs: number }>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Event rows this process published (tests, metrics). */
  published = 0;
  /** `storageFileEvents` streams open on this process (tests, metrics). */
  openStreams = 0;

  constructor(
    private readonly deps: {
      clients: AthenaClientsService;
      s3: AthenaRawS3Service;
      pubsub: AppPubSub;
      logger: Logger;
      /** Lifetime of presigned URLs, seconds. */
      urlTtlSeconds: number;
      /** Largest body `PUT …/upload` accepts. */
      maxUploadBytes: number;
    },
  ) {}

  start(): void {
    this.sweeper = setInterval(() => {
      for (const client of this.active) void this.dispatch(client);
    }, sweepMs);
    this.sweeper.unref();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  // ---- files ----

  /** One file: readable by the caller (a grant, or public — anonymous callers too, given the client). */
  async getFile(principal: Principal, input: { client?: string | null; fileId: string }): Promise<StorageFileView> {
    const { db, actor, client } = await this.readerContext(principal, input.client);
    const { file } = await this.load(db, client, actor, input.fileId, 'read');
    return file;
  }

  /** Which of `fileIds` the session may read: live, uploaded files of its organization (chat attachments). */
  async readableFileIds(principal: Principal, fileIds: string[]): Promise<Set<string>> {
    const actor = actorOf(principal);
    const ids = fileIds.filter((id) => typeof id === 'string' && id.length > 0 && id.length <= 512);
    if (ids.length === 0) return new Set();
    const db = await this.db(actor.client);
    const r = await db.query<{ id: string }>(
      `SELECT f.id FROM athena.files f WHERE f.id = ANY($1::text[]) AND f.organization_id = $3
         AND f.deleted_at IS NULL AND f.status = 'uploaded' AND (f.is_public OR ${rankSql()} >= 1)`,
      [ids, actor.userId, actor.organizationId],
    );
    return new Set(r.rows.map((x) => x.id));
  }

  /** Readable live files under `prefix` of a catalog, in key order, with the total. */
  async listFiles(
    principal: Principal,
    input: { s3Id: string; prefix?: string | null; limit?: number | null; offset?: number | null },
  ): Promise<{ files: StorageFileView[]; total: number }> {
    return this.searchFiles(principal, { ...input, s3Id: checkS3Id(input.s3Id), prefix: input.prefix ?? '' });
  }

  async searchFiles(principal: Principal, input: SearchInput): Promise<{ files: StorageFileView[]; total: number }> {
    const actor = actorOf(principal);
    const s3Id = input.s3Id === undefined || input.s3Id === null ? null : checkS3Id(input.s3Id);
    const prefix = input.prefix === undefined || input.prefix === null ? '' : checkPrefix(input.prefix);
    const query = checkText(input.query, 'query', 200);
    const mime = checkText(input.mimeType, 'mime_type', 255);
    const resource = checkText(input.resourceId, 'resource_id', 512);
    if (input.status && !['pending_upload', 'uploaded', 'deleted', 'purged'].includes(input.status)) {
      throw new StorageInvalidInputError('status must be pending_upload, uploaded or deleted');
    }
    const limit = bounded(input.limit, 100, 1, 1000, 'limit');
    const offset = bounded(input.offset, 0, 0, 1_000_000, 'offset');
    const db = await this.db(actor.client);
    const includeDeleted = input.includeDeleted === true || input.status === 'deleted';
    // Deleted files are listed only to callers who may restore them (delete rank).
    const where = `f.organization_id = $3
      AND ($1::uuid IS NULL OR f.s3_id = $1::uuid)
      AND left(f.storage_key, length($4::text)) = $4::text
      AND ($5::text IS NULL OR f.name ILIKE '%' || $5 || '%' OR f.original_name ILIKE '%' || $5 || '%')
      AND ($6::text IS NULL OR f.mime_type = $6)
      AND ($7::text IS NULL OR f.resource_id = $7)
      AND ($8::text IS NULL OR f.status = $8)
      AND ($9::boolean IS NULL OR f.is_public = $9)
      AND CASE WHEN f.deleted_at IS NULL THEN (f.is_public OR ${rankSql()} >= 1)
               ELSE $10::boolean AND ${rankSql()} >= 3 END`;
    const likeSafe = query?.replace(/[\\%_]/g, (c) => `\\${c}`) ?? null;
    const params = [
      s3Id,
      actor.userId,
      actor.organizationId,
      prefix,
      likeSafe,
      mime,
      resource,
      input.status ?? null,
      input.isPublic ?? null,
      includeDeleted,
    ];
    const rows = await db.query<Row>(
      `SELECT ${fileCols()}, count(*) OVER () AS total FROM athena.files f WHERE ${where}
       ORDER BY f.storage_key, f.id LIMIT ${limit} OFFSET ${offset}`,
      params,
    );
    let total = Number(rows.rows[0]?.total ?? 0);
    if (rows.rows.length === 0 && offset > 0) {
      const c = await db.query<{ n: string }>(`SELECT count(*) AS n FROM athena.files f WHERE ${where}`, params);
      total = Number(c.rows[0]?.n ?? 0);
    }
    return { files: rows.rows.map((r) => toFile(actor.client, r)), total };
  }

  /** Creates or updates the row and presigns a PUT (201). Overwriting needs write on the existing file. */
  async createUploadUrl(principal: Principal, input: UploadUrlInput): Promise<StorageUploadView> {
    const [one] = await this.createUploadUrls(principal, [input]);
    return one as StorageUploadView;
  }

  /** The batch: every file is authorised before anything is signed or written (all-or-nothing). */
  async createUploadUrls(principal: Principal, inputs: UploadUrlInput[]): Promise<StorageUploadView[]> {
    const actor = actorOf(principal);
    const items = batchOf(inputs, 'files').map((i) => this.uploadPlan(i));
    const keys = new Set<string>();
    for (const i of items) {
      const k = `${i.s3Id}\u0000${i.bucket ?? ''}\u0000${i.storageKey}`;
      if (keys.has(k)) throw new StorageInvalidInputError(`storage_key "${i.storageKey}" appears twice in the batch`);
      keys.add(k);
    }
    const db = await this.db(actor.client);
    // Catalogs first (a missing catalog is a 400 for the whole batch), then every authorisation.
    const conns = new Map<string, Conn>();
    try {
      for (const i of items) {
        const ck = `${i.s3Id}\u0000${i.bucket ?? ''}`;
        if (!conns.has(ck)) conns.set(ck, await this.connect(actor.client, i.s3Id, i.bucket));
      }
      const views = await db.transaction({}, async (q) => {
        const planned: { plan: ReturnType<AthenaStorageService['uploadPlan']>; existing: StorageFileView | null }[] =
          [];
        for (const plan of items) {
          const conn = conns.get(`${plan.s3Id}\u0000${plan.bucket ?? ''}`) as Conn;
          const existing = await this.existingForUpload(q, actor, { ...plan, bucket: conn.bucket });
          planned.push({ plan, existing });
        }
        const out: StorageUploadView[] = [];
        for (const { plan, existing } of planned) {
          const conn = conns.get(`${plan.s3Id}\u0000${plan.bucket ?? ''}`) as Conn;
          const file = await this.writeUploadRow(q, actor, plan, conn.bucket, existing);
          const signed = await this.deps.s3.presignOn(
            conn,
            'PUT',
            file.storageKey,
            this.deps.urlTtlSeconds,
            plan.contentType ?? file.mimeType,
          );
          out.push({ file, upload: this.urlView(file, 'upload', signed, false, 'none') });
        }
        return out;
      });
      for (const v of views) this.forgetUrls(actor.client, v.file.id);
      await this.afterCommit(actor.client);
      return views;
    } finally {
      for (const c of conns.values()) this.deps.s3.release(c);
    }
  }

  private uploadPlan(i: UploadUrlInput) {
    const storageKey = checkStorageKey(i.storageKey);
    return {
      s3Id: checkS3Id(i.s3Id),
      bucket: checkBucket(i.bucket),
      storageKey,
      fileId: i.fileId === undefined || i.fileId === null ? null : checkFileId(i.fileId),
      name: checkText(i.name, 'name', 512) ?? baseName(storageKey),
      originalName: checkText(i.originalName, 'original_name', 512),
      resourceId: checkText(i.resourceId, 'resource_id', 512),
      mimeType: checkMime(i.mimeType, 'mime_type'),
      contentType: checkMime(i.contentType, 'content_type'),
      sizeBytes:
        i.sizeBytes === undefined || i.sizeBytes === null
          ? null
          : bounded(i.sizeBytes, 0, 0, Number.MAX_SAFE_INTEGER, 'size_bytes'),
      isPublic: i.public ?? null,
      metadata: checkMetadata(i.metadata),
    };
  }

  /** The row an upload overwrites (by file_id, else by catalog, bucket and key), authorised for write. */
  private async existingForUpload(
    q: Queryable,
    actor: Actor,
    plan: { s3Id: string; bucket: string; storageKey: string; fileId: string | null },
  ): Promise<StorageFileView | null> {
    const atKey = await q.query<Row>(
      `SELECT ${fileCols()}, ${rankSql()} AS rank FROM athena.files f
       WHERE f.s3_id = $1 AND f.bucket = $4 AND f.storage_key = $5 AND f.deleted_at IS NULL FOR UPDATE`,
      [plan.s3Id, actor.userId, actor.organizationId, plan.bucket, plan.storageKey],
    );
    let row = atKey.rows[0];
    if (plan.fileId !== null) {
      if (row && row.id !== plan.fileId) {
        throw new StorageConflictError(`Another file ("${String(row.id)}") is stored at "${plan.storageKey}"`);
      }
      const byId = await q.query<Row>(
        `SELECT ${fileCols()}, ${rankSql()} AS rank FROM athena.files f WHERE f.id = $1 FOR UPDATE`,
        [plan.fileId, actor.userId, actor.organizationId],
      );
      row = byId.rows[0];
    }
    if (!row) return null;
    if (Number(row.rank) < rankOf.write) {
      throw new StorageForbiddenError(`Overwriting file "${String(row.id)}" needs write permission`);
    }
    return toFile(actor.client, row);
  }

  private async writeUploadRow(
    q: Queryable,
    actor: Actor,
    plan: ReturnType<AthenaStorageService['uploadPlan']>,
    bucket: string,
    existing: StorageFileView | null,
  ): Promise<StorageFileView> {
    const mime = plan.mimeType ?? plan.contentType;
    const values = [
      plan.name,
      plan.originalName,
      bucket,
      plan.s3Id,
      prefixOf(plan.storageKey) || null,
      plan.sizeBytes,
      mime,
      plan.resourceId,
      plan.metadata === null ? null : JSON.stringify(plan.metadata),
      plan.storageKey,
      extensionOf(plan.originalName ?? plan.name),
      plan.isPublic,
    ];
    let r: { rows: Row[] };
    if (existing) {
      r = await q
        .query<Row>(
          `UPDATE athena.files f SET name = $2, original_name = coalesce($3, f.original_name), bucket = $4, s3_id = $5,
           prefix_path = $6, size_bytes = $7, mime_type = coalesce($8, f.mime_type),
           resource_id = coalesce($9, f.resource_id), metadata = coalesce($10::jsonb, f.metadata), storage_key = $11,
           extension = $12, is_public = coalesce($13, f.is_public), status = 'pending_upload', deleted_at = NULL,
           updated_at = now()
         WHERE f.id = $1 RETURNING ${fileCols()}`,
          [existing.id, ...values],
        )
        .catch((err: unknown) => {
          // Re-keying (or reviving) the row onto a key another live file holds.
          if (isUniqueViolation(err))
            throw new StorageConflictError(`A file is already stored at "${plan.storageKey}"`);
          throw err;
        });
    } else {
      const id = plan.fileId ?? randomUUID();
      try {
        r = await q.query<Row>(
          `INSERT INTO athena.files AS f (id, name, original_name, bucket, s3_id, prefix_path, size_bytes, mime_type,
             resource_id, metadata, storage_key, extension, is_public, organization_id, uploaded_by_user_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10::jsonb, '{}'::jsonb), $11, $12,
             coalesce($13, false), $14, $15)
           RETURNING ${fileCols()}`,
          [id, ...values, actor.organizationId, actor.userId],
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new StorageConflictError(`A file is already stored at "${plan.storageKey}"`);
        throw err;
      }
    }
    const file = toFile(actor.client, r.rows[0] as Row);
    // The uploader owns what it uploads (the notes: "owner access to the uploading user").
    await q.query(
      `INSERT INTO athena.file_permissions (id, file_id, organization_id, principal_type, principal_id, permission,
         granted_by) VALUES ($1, $2, $3, 'user', $4, 'owner', $4) ON CONFLICT DO NOTHING`,
      [randomUUID(), file.id, actor.organizationId, actor.userId],
    );
    await this.log(q, actor, file.id, existing ? 'file.upload_url_reissued' : 'file.upload_url_created', file);
    return file;
  }

  /** HeadObject, then size and status `uploaded` (write permission). */
  async confirmUpload(principal: Principal, fileId: string): Promise<StorageFileView> {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, fileId, 'write');
    const head = await this.withS3(actor.client, file, 'HeadObject', async (c) => {
      try {
        return await c.s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: file.storageKey }));
      } catch (err) {
        if (isS3Error(err, 'NotFound', 'NoSuchKey', '404')) {
          throw new StorageConflictError(`Nothing was uploaded to "${file.storageKey}" yet`);
        }
        throw err;
      }
    });
    return this.markUploaded(db, actor, file, head.ContentLength ?? 0, head.ContentType ?? null, 'file.uploaded');
  }

  private async markUploaded(
    db: ClientDatabase,
    actor: Actor,
    file: StorageFileView,
    size: number,
    contentType: string | null,
    action: string,
  ): Promise<StorageFileView> {
    const updated = await db.transaction({}, async (q) => {
      const r = await q.query<Row>(
        `UPDATE athena.files f SET size_bytes = $2, mime_type = coalesce(f.mime_type, $3), status = 'uploaded',
           updated_at = now() WHERE f.id = $1 AND f.deleted_at IS NULL RETURNING ${fileCols()}`,
        [file.id, size, contentType],
      );
      if (!r.rows[0]) throw new StorageNotFoundError(`File "${file.id}" not found`);
      const f = toFile(actor.client, r.rows[0]);
      await this.log(q, actor, f.id, action, f, { size_bytes: size });
      return f;
    });
    this.forgetUrls(actor.client, file.id);
    await this.afterCommit(actor.client);
    return updated;
  }

  /**
   * `PUT …/upload`: streams the body to S3 (write permission on a file created by upload-url), then confirms. With
   * a Content-Length it is one streamed PutObject; without, parts of 8 MiB go up as a multipart upload, so memory
   * stays bounded either way.
   */
  async uploadStream(
    principal: Principal,
    input: { fileId: string; body: Readable; contentLength: number | null; contentType?: string | null },
  ): Promise<StorageFileView> {
    const actor = actorOf(principal);
    if (input.contentLength !== null && input.contentLength > this.deps.maxUploadBytes) {
      throw new StorageTooLargeError(this.deps.maxUploadBytes);
    }
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, input.fileId, 'write');
    const contentType =
      file.mimeType ?? checkMime(input.contentType ?? null, 'content-type') ?? 'application/octet-stream';
    const size = await this.withS3(actor.client, file, 'PutObject', async (c) => {
      if (input.contentLength !== null) {
        await c.s3.send(
          new PutObjectCommand({
            Bucket: c.bucket,
            Key: file.storageKey,
            Body: input.body,
            ContentLength: input.contentLength,
            ContentType: contentType,
          }),
        );
        return input.contentLength;
      }
      return this.streamParts(c, file.storageKey, input.body, contentType);
    });
    return this.markUploaded(db, actor, file, size, contentType, 'file.uploaded');
  }

  /** An upload of unknown length: one PutObject when it fits one part, else a multipart upload of 8 MiB parts. */
  private async streamParts(c: Conn, key: string, body: Readable, contentType: string): Promise<number> {
    let buffered: Buffer[] = [];
    let bufferedBytes = 0;
    let total = 0;
    let uploadId: string | undefined;
    const parts: { PartNumber: number; ETag: string }[] = [];
    const flush = async () => {
      const chunk = Buffer.concat(buffered, bufferedBytes);
      buffered = [];
      bufferedBytes = 0;
      if (!uploadId) {
        const created = await c.s3.send(
          new CreateMultipartUploadCommand({ Bucket: c.bucket, Key: key, ContentType: contentType }),
        );
        uploadId = created.UploadId;
      }
      const n = parts.length + 1;
      if (n > maxPartNumber) throw new StorageTooLargeError(this.deps.maxUploadBytes);
      const r = await c.s3.send(
        new UploadPartCommand({ Bucket: c.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: chunk }),
      );
      parts.push({ PartNumber: n, ETag: r.ETag ?? '' });
    };
    try {
      for await (const piece of body) {
        const b = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array);
        total += b.length;
        if (total > this.deps.maxUploadBytes) throw new StorageTooLargeError(this.deps.maxUploadBytes);
        buffered.push(b);
        bufferedBytes += b.length;
        if (bufferedBytes >= streamPartBytes) await flush();
      }
      if (!uploadId) {
        await c.s3.send(
          new PutObjectCommand({
            Bucket: c.bucket,
            Key: key,
            Body: Buffer.concat(buffered, bufferedBytes),
            ContentType: contentType,
          }),
        );
        return total;
      }
      if (bufferedBytes > 0) await flush();
      await c.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: c.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return total;
    } catch (err) {
      if (uploadId) {
        await c.s3
          .send(new AbortMultipartUploadCommand({ Bucket: c.bucket, Key: key, UploadId: uploadId }))
          .catch(() => {});
      }
      throw err;
    }
  }

  /** Move or rename: copy, delete the old object, update the row, forget cached URLs (write permission). */
  async moveFile(principal: Principal, input: MoveInput): Promise<StorageFileView> {
    const [one] = await this.moveFiles(principal, [input]);
    return one as StorageFileView;
  }

  /** Many moves: all authorised first; then each file is moved (S3 is not transactional: failures are reported). */
  async moveFiles(principal: Principal, inputs: MoveInput[]): Promise<StorageFileView[]> {
    const r = await this.moveMany(principal, inputs, true);
    return r.moved;
  }

  async updateMany(principal: Principal, inputs: MoveInput[]) {
    const r = await this.moveMany(principal, inputs, false);
    return {
      requested: inputs.length,
      updated: r.moved.length,
      failed: r.failures.length,
      files: r.moved,
      failures: r.failures,
    };
  }

  private async moveMany(principal: Principal, inputs: MoveInput[], throwFirst: boolean, folder = false) {
    const actor = actorOf(principal);
    const plans = (folder ? inputs : batchOf(inputs, 'files')).map((i) => ({
      fileId: checkFileId(i.fileId),
      storageKey: checkStorageKey(i.storageKey),
      bucket: checkBucket(i.bucket),
    }));
    if (new Set(plans.map((p) => p.fileId)).size !== plans.length) {
      throw new StorageInvalidInputError('a file_id appears twice in the batch');
    }
    const db = await this.db(actor.client);
    const files = await this.loadMany(
      db,
      actor,
      plans.map((p) => p.fileId),
      'write',
    );
    const moved: StorageFileView[] = [];
    const failures: { file_id: string; error: string; code: string }[] = [];
    for (const plan of plans) {
      const file = files.get(plan.fileId) as StorageFileView;
      try {
        moved.push(await this.moveOne(db, actor, file, plan.storageKey, plan.bucket ?? file.bucket));
      } catch (err) {
        if (throwFirst) throw err;
        const e = err as { code?: string; message?: string };
        failures.push({ file_id: plan.fileId, code: e.code ?? 'error', error: e.message ?? String(err) });
      }
    }
    return { moved, failures };
  }

  private async moveOne(
    db: ClientDatabase,
    actor: Actor,
    file: StorageFileView,
    storageKey: string,
    bucket: string,
  ): Promise<StorageFileView> {
    if (storageKey === file.storageKey && bucket === file.bucket) return file;
    const clash = await db.query<{ id: string }>(
      `SELECT id FROM athena.files WHERE s3_id = $1 AND bucket = $2 AND storage_key = $3 AND deleted_at IS NULL`,
      [file.s3Id, bucket, storageKey],
    );
    if (clash.rows[0]) throw new StorageConflictError(`A file is already stored at "${storageKey}"`);
    if (file.status === 'uploaded') {
      await this.withS3(actor.client, file, 'CopyObject', async (c) => {
        await c.s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: storageKey,
            CopySource: `${c.bucket}/${encode(file.storageKey, true)}`,
          }),
        );
      });
    }
    let updated: StorageFileView;
    try {
      updated = await db.transaction({}, async (q) => {
        const r = await q.query<Row>(
          `UPDATE athena.files f SET storage_key = $2, bucket = $3, prefix_path = $4, updated_at = now()
           WHERE f.id = $1 AND f.deleted_at IS NULL RETURNING ${fileCols()}`,
          [file.id, storageKey, bucket, prefixOf(storageKey) || null],
        );
        if (!r.rows[0]) throw new StorageNotFoundError(`File "${file.id}" not found`);
        const f = toFile(actor.client, r.rows[0]);
        await this.log(q, actor, f.id, 'file.moved', f, { from_key: file.storageKey, from_bucket: file.bucket });
        return f;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new StorageConflictError(`A file is already stored at "${storageKey}"`);
      throw err;
    }
    if (file.status === 'uploaded') {
      await this.withS3(actor.client, file, 'DeleteObject', (c) =>
        c.s3.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: file.storageKey })),
      ).catch((err: unknown) =>
        this.deps.logger.warn({ client: actor.client, file: file.id, err: (err as Error).message }, 'old object kept'),
      );
    }
    this.forgetUrls(actor.client, file.id);
    await this.afterCommit(actor.client);
    return updated;
  }

  /** Soft delete (delete permission): the row is marked, the bytes stay until purge (so restore is honest). */
  async deleteFile(principal: Principal, fileId: string): Promise<StorageFileView> {
    const r = await this.deleteMany(principal, [fileId]);
    return r[0] as StorageFileView;
  }

  async deleteMany(principal: Principal, fileIds: string[]): Promise<StorageFileView[]> {
    const actor = actorOf(principal);
    const ids = [...new Set(batchOf(fileIds, 'file_ids').map((f) => checkFileId(f)))];
    const db = await this.db(actor.client);
    await this.loadMany(db, actor, ids, 'delete');
    return this.softDelete(db, actor, ids);
  }

  /** Marks authorised files deleted, in one transaction. */
  private async softDelete(db: ClientDatabase, actor: Actor, ids: string[]): Promise<StorageFileView[]> {
    const out = await db.transaction({}, async (q) => {
      const r = await q.query<Row>(
        `UPDATE athena.files f SET status = 'deleted', deleted_at = now(), updated_at = now()
         WHERE f.id = ANY($1::text[]) AND f.deleted_at IS NULL RETURNING ${fileCols()}`,
        [ids],
      );
      const views = r.rows.map((row) => toFile(actor.client, row));
      for (const f of views) await this.log(q, actor, f.id, 'file.deleted', f);
      return views;
    });
    for (const id of ids) this.forgetUrls(actor.client, id);
    await this.afterCommit(actor.client);
    return ids.map((id) => out.find((f) => f.id === id)).filter((f): f is StorageFileView => f !== undefined);
  }

  /** Un-deletes a soft-deleted file — only when its bytes still exist (HeadObject), and its key is free. */
  async restoreFile(principal: Principal, fileId: string): Promise<StorageFileView> {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, fileId, 'delete', true);
    if (file.deletedAt === null) throw new StorageConflictError(`File "${file.id}" is not deleted`);
    let status: StorageFileStatus = 'pending_upload';
    if (file.sizeBytes !== null) {
      await this.withS3(actor.client, file, 'HeadObject', async (c) => {
        try {
          await c.s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: file.storageKey }));
          status = 'uploaded';
        } catch (err) {
          if (isS3Error(err, 'NotFound', 'NoSuchKey', '404')) {
            throw new StorageConflictError(
              `File "${file.id}" cannot be restored: its object "${file.storageKey}" no longer exists`,
            );
          }
          throw err;
        }
      });
    }
    try {
      const restored = await db.transaction({}, async (q) => {
        const r = await q.query<Row>(
          `UPDATE athena.files f SET status = $2, deleted_at = NULL, updated_at = now()
           WHERE f.id = $1 AND f.deleted_at IS NOT NULL RETURNING ${fileCols()}`,
          [file.id, status],
        );
        if (!r.rows[0]) throw new StorageConflictError(`File "${file.id}" is not deleted`);
        const f = toFile(actor.client, r.rows[0]);
        await this.log(q, actor, f.id, 'file.restored', f);
        return f;
      });
      await this.afterCommit(actor.client);
      return restored;
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new StorageConflictError(`Another live file is stored at "${file.storageKey}"; move it first`);
      }
      throw err;
    }
  }

  /** Permanent: the object, the row, its grants, uploads, versions and retention (delete permission). */
  async purgeFile(principal: Principal, fileId: string): Promise<StorageFileView> {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, fileId, 'delete', true);
    const readers = await this.readersOf(db, file);
    await this.withS3(actor.client, file, 'DeleteObject', (c) =>
      c.s3.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: file.storageKey })),
    );
    const purged = await db.transaction({}, async (q) => {
      await q.query('DELETE FROM athena.files WHERE id = $1', [file.id]);
      const f: StorageFileView = { ...file, status: 'purged', deletedAt: file.deletedAt ?? new Date() };
      await this.log(q, actor, f.id, 'file.purged', f, { readers });
      return f;
    });
    this.forgetUrls(actor.client, file.id);
    await this.afterCommit(actor.client);
    return purged;
  }

  /** Who could read a file (for the purge event, whose file row is gone when subscribers check). */
  private async readersOf(db: ClientDatabase, file: StorageFileView) {
    const r = await db.query<{ principal_type: string; principal_id: string }>(
      `SELECT DISTINCT p.principal_type, p.principal_id FROM athena.file_permissions p
       WHERE (p.file_id = $1 OR (p.file_id IS NULL AND p.organization_id = $2 AND p.s3_id = $3
              AND left($4, length(p.prefix)) = p.prefix))
         AND p.principal_type IN ('user', 'organization') AND (p.expires_at IS NULL OR p.expires_at > now())`,
      [file.id, file.organizationId, file.s3Id, file.storageKey],
    );
    return {
      public: file.isPublic,
      users: r.rows.filter((x) => x.principal_type === 'user').map((x) => x.principal_id),
      organizations: r.rows.filter((x) => x.principal_type === 'organization').map((x) => x.principal_id),
    };
  }

  /** Copies a readable file to a new key as a new file owned by the caller. */
  async copyFile(
    principal: Principal,
    input: {
      fileId: string;
      storageKey: string;
      bucket?: string | null;
      newFileId?: string | null;
      name?: string | null;
    },
  ): Promise<StorageFileView> {
    const actor = actorOf(principal);
    const storageKey = checkStorageKey(input.storageKey);
    const bucket = checkBucket(input.bucket);
    const newId =
      input.newFileId === undefined || input.newFileId === null
        ? randomUUID()
        : checkFileId(input.newFileId, 'new_file_id');
    const name = checkText(input.name, 'name', 512) ?? baseName(storageKey);
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, input.fileId, 'read');
    if (file.status !== 'uploaded') throw new StorageConflictError(`File "${file.id}" has no uploaded bytes to copy`);
    const dest = bucket ?? file.bucket;
    const taken = await db.query<{ id: string }>(
      `SELECT id FROM athena.files WHERE id = $1 OR (s3_id = $2 AND bucket = $3 AND storage_key = $4 AND deleted_at IS NULL)`,
      [newId, file.s3Id, dest, storageKey],
    );
    if (taken.rows[0])
      throw new StorageConflictError(`The new file id or key is already taken ("${taken.rows[0].id}")`);
    await this.withS3(actor.client, file, 'CopyObject', (c) =>
      c.s3.send(
        new CopyObjectCommand({
          Bucket: dest,
          Key: storageKey,
          CopySource: `${c.bucket}/${encode(file.storageKey, true)}`,
        }),
      ),
    );
    try {
      const copy = await db.transaction({}, async (q) => {
        const r = await q.query<Row>(
          `INSERT INTO athena.files AS f (id, name, original_name, bucket, s3_id, prefix_path, size_bytes, mime_type,
             resource_id, metadata, storage_key, extension, is_public, organization_id, uploaded_by_user_id, status)
           SELECT $1, $2, s.original_name, $3, s.s3_id, $4, s.size_bytes, s.mime_type, s.resource_id, s.metadata, $5,
             $6, false, $7, $8, 'uploaded' FROM athena.files s WHERE s.id = $9
           RETURNING ${fileCols()}`,
          [
            newId,
            name,
            dest,
            prefixOf(storageKey) || null,
            storageKey,
            extensionOf(name),
            actor.organizationId,
            actor.userId,
            file.id,
          ],
        );
        const f = toFile(actor.client, r.rows[0] as Row);
        await q.query(
          `INSERT INTO athena.file_permissions (id, file_id, organization_id, principal_type, principal_id, permission,
             granted_by) VALUES ($1, $2, $3, 'user', $4, 'owner', $4)`,
          [randomUUID(), f.id, actor.organizationId, actor.userId],
        );
        await this.log(q, actor, f.id, 'file.copied', f, { source_file_id: file.id });
        return f;
      });
      await this.afterCommit(actor.client);
      return copy;
    } catch (err) {
      if (isUniqueViolation(err)) throw new StorageConflictError('The new file id or key is already taken');
      throw err;
    }
  }

  /** The Athena-level public flag (manage permission); the object itself stays private. */
  async setVisibility(principal: Principal, fileId: string, isPublic: boolean): Promise<StorageFileView> {
    const [one] = await this.setVisibilityMany(principal, [fileId], isPublic);
    return one as StorageFileView;
  }

  async setVisibilityMany(principal: Principal, fileIds: string[], isPublic: boolean): Promise<StorageFileView[]> {
    const actor = actorOf(principal);
    if (typeof isPublic !== 'boolean') throw new StorageInvalidInputError('public must be a boolean');
    const ids = [...new Set(batchOf(fileIds, 'file_ids').map((f) => checkFileId(f)))];
    const db = await this.db(actor.client);
    await this.loadMany(db, actor, ids, 'manage');
    const out = await db.transaction({}, async (q) => {
      const r = await q.query<Row>(
        `UPDATE athena.files f SET is_public = $2, updated_at = now()
         WHERE f.id = ANY($1::text[]) AND f.deleted_at IS NULL RETURNING ${fileCols()}`,
        [ids, isPublic],
      );
      const views = r.rows.map((row) => toFile(actor.client, row));
      for (const f of views) await this.log(q, actor, f.id, 'file.visibility_changed', f, { is_public: isPublic });
      return views;
    });
    await this.afterCommit(actor.client);
    return ids.map((id) => out.find((f) => f.id === id)).filter((f): f is StorageFileView => f !== undefined);
  }

  /** A cached presigned GET (read permission or public): `download` signs `Content-Disposition: attachment`. */
  async viewUrl(
    principal: Principal,
    input: { client?: string | null; fileId: string; purpose?: StorageUrlPurpose | null },
  ): Promise<StoragePresignedUrlView> {
    const purpose = input.purpose ?? 'read';
    if (!['read', 'download', 'stream'].includes(purpose)) {
      throw new StorageInvalidInputError('purpose must be read, download or stream');
    }
    const { db, actor, client } = await this.readerContext(principal, input.client);
    const { file } = await this.load(db, client, actor, input.fileId, 'read');
    if (file.status !== 'uploaded') throw new StorageConflictError(`File "${file.id}" has no uploaded bytes yet`);
    const cacheKey = `${client}\u0000${file.id}\u0000${purpose}`;
    const hit = this.urls.get(cacheKey);
    const now = Date.now();
    // A cached URL serves while more than half of its lifetime is left, for the object it was signed for.
    if (
      hit &&
      hit.bucket === file.bucket &&
      hit.key === file.storageKey &&
      hit.expiresAtMs - now > (this.deps.urlTtlSeconds * 1000) / 2
    ) {
      const expiresIn = Math.floor((hit.expiresAtMs - now) / 1000);
      return this.urlView(
        file,
        purpose,
        { url: hit.url, expires_in: expiresIn, expires_at: new Date(hit.expiresAtMs).toISOString(), method: 'GET' },
        true,
        'memory',
      );
    }
    const signed = await this.withS3(client, file, 'presign GET', async (c) => {
      const signingDate = new Date();
      const url = await getSignedUrl(
        c.s3,
        new GetObjectCommand({
          Bucket: c.bucket,
          Key: file.storageKey,
          ResponseContentDisposition: contentDisposition(purpose === 'download' ? 'attachment' : 'inline', file.name),
          ...(file.mimeType ? { ResponseContentType: file.mimeType } : {}),
        }),
        { expiresIn: this.deps.urlTtlSeconds, signingDate },
      );
      return {
        url,
        method: 'GET' as const,
        expires_in: this.deps.urlTtlSeconds,
        expires_at: new Date(signingDate.getTime() + this.deps.urlTtlSeconds * 1000).toISOString(),
      };
    });
    if (this.urls.size >= urlCacheMax) {
      const oldest = this.urls.keys().next();
      if (!oldest.done) this.urls.delete(oldest.value);
    }
    this.urls.set(cacheKey, {
      bucket: file.bucket,
      key: file.storageKey,
      url: signed.url,
      expiresAtMs: Date.parse(signed.expires_at),
    });
    return this.urlView(file, purpose, signed, false, 'none');
  }

  /** The object's bytes for the proxy route (read permission or public), with an optional single byte range. */
  async openObject(
    principal: Principal,
    input: { client?: string | null; fileId: string; range?: string | null },
  ): Promise<{
    file: StorageFileView;
    body: Readable;
    status: 200 | 206;
    contentLength: number | null;
    contentRange: string | null;
    contentType: string;
    etag: string | null;
  }> {
    const { db, actor, client } = await this.readerContext(principal, input.client);
    const { file } = await this.load(db, client, actor, input.fileId, 'read');
    if (file.status !== 'uploaded') throw new StorageConflictError(`File "${file.id}" has no uploaded bytes yet`);
    // One range of the RFC 9110 form; anything else is ignored (the whole object), as servers may.
    let range = input.range && /^bytes=(\d+-\d*|-\d+)$/.test(input.range.trim()) ? input.range.trim() : undefined;
    // A suffix range (`bytes=-N`) is sent as the explicit range it means: not every backend implements suffixes.
    const suffix = range ? /^bytes=-(\d+)$/.exec(range) : null;
    if (suffix && file.sizeBytes !== null) {
      const n = Math.min(Number(suffix[1]), file.sizeBytes);
      range = n === 0 ? 'bytes=0-0' : `bytes=${file.sizeBytes - n}-${file.sizeBytes - 1}`;
      if (n === 0)
        throw new AthenaError('range_not_satisfiable', 416, 'An empty suffix range', { size: file.sizeBytes });
    }
    const c = await this.connect(client, file.s3Id, file.bucket);
    try {
      const r = await c.s3.send(new GetObjectCommand({ Bucket: c.bucket, Key: file.storageKey, Range: range }));
      const body = r.Body as Readable;
      body.once('close', () => this.deps.s3.release(c));
      return {
        file,
        body,
        status: range && r.ContentRange ? 206 : 200,
        contentLength: r.ContentLength ?? null,
        contentRange: range ? (r.ContentRange ?? null) : null,
        contentType: file.mimeType ?? r.ContentType ?? 'application/octet-stream',
        etag: r.ETag ?? null,
      };
    } catch (err) {
      this.deps.s3.release(c);
      if (isS3Error(err, 'InvalidRange', '416')) {
        throw new AthenaError('range_not_satisfiable', 416, `Range ${input.range} is outside the object`, {
          size: file.sizeBytes,
        });
      }
      throw this.deps.s3.failure(err, 'GetObject', c.backend);
    }
  }

  /** The unsigned URL of a public file (path-style on the catalog's endpoint). */
  async publicUrl(principal: Principal, fileId: string) {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, fileId, 'read');
    if (!file.isPublic) throw new StorageConflictError(`File "${file.id}" is not public`);
    const c = await this.connect(actor.client, file.s3Id, file.bucket);
    try {
      return {
        file_id: file.id,
        bucket: file.bucket,
        storage_key: file.storageKey,
        url: `${c.endpoint.origin}/${encode(file.bucket)}/${encode(file.storageKey, true)}`,
        is_public: true,
        note: 'Athena-level public flag: the object stays private unless the bucket policy allows anonymous reads',
      };
    } finally {
      this.deps.s3.release(c);
    }
  }

  // ---- versions and retention ----

  /** Throws the contract's 501 unless the bucket has versioning enabled (GetBucketVersioning). */
  private async requireVersioning(c: Conn): Promise<void> {
    let status: string | undefined;
    try {
      status = (await c.s3.send(new GetBucketVersioningCommand({ Bucket: c.bucket }))).Status;
    } catch (err) {
      if (err instanceof S3ServiceException && [400, 404, 405, 501].includes(err.$metadata?.httpStatusCode ?? 0)) {
        throw new StorageFeatureUnavailableError(`the S3 backend at ${c.backend} does not implement versioning`);
      }
      throw err;
    }
    if (status !== 'Enabled') {
      throw new StorageFeatureUnavailableError(
        `versioning is not enabled on bucket "${c.bucket}" of the S3 backend at ${c.backend}`,
      );
    }
  }

  async versions(principal: Principal, fileId: string) {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, fileId, 'read');
    return this.withS3(actor.client, file, 'ListObjectVersions', async (c) => {
      await this.requireVersioning(c);
      const r = await c.s3.send(new ListObjectVersionsCommand({ Bucket: c.bucket, Prefix: file.storageKey }));
      return {
        file_id: file.id,
        bucket: file.bucket,
        storage_key: file.storageKey,
        versions: (r.Versions ?? [])
          .filter((v) => v.Key === file.storageKey)
          .map((v) => ({
            version_id: v.VersionId ?? null,
            is_latest: v.IsLatest === true,
            size_bytes: v.Size ?? 0,
            etag: v.ETag ?? null,
            last_modified: v.LastModified?.toISOString() ?? null,
          })),
      };
    });
  }

  async restoreVersion(principal: Principal, fileId: string, versionId: string) {
    const actor = actorOf(principal);
    const vid = checkText(versionId, 'version_id', 1024);
    if (!vid) throw new StorageInvalidInputError('version_id is required');
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, fileId, 'manage');
    const r = await this.withS3(actor.client, file, 'CopyObject', async (c) => {
      await this.requireVersioning(c);
      return c.s3.send(
        new CopyObjectCommand({
          Bucket: c.bucket,
          Key: file.storageKey,
          CopySource: `${c.bucket}/${encode(file.storageKey, true)}?versionId=${encode(vid)}`,
        }),
      );
    });
    await db.transaction({}, async (q) => {
      await q.query(
        `INSERT INTO athena.file_versions (version_id, file_id, s3_version_id, storage_key, size_bytes, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [randomUUID(), file.id, r.VersionId ?? null, file.storageKey, file.sizeBytes, actor.userId],
      );
      await this.log(q, actor, file.id, 'file.version_restored', file, { restored_version_id: vid });
    });
    this.forgetUrls(actor.client, file.id);
    await this.afterCommit(actor.client);
    return { file_id: file.id, restored_version_id: vid, version_id: r.VersionId ?? null, restored: true };
  }

  async deleteVersion(principal: Principal, fileId: string, versionId: string) {
    const actor = actorOf(principal);
    const vid = checkText(versionId, 'version_id', 1024);
    if (!vid) throw new StorageInvalidInputError('version_id is required');
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, fileId, 'manage');
    await this.withS3(actor.client, file, 'DeleteObject', async (c) => {
      await this.requireVersioning(c);
      await c.s3.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: file.storageKey, VersionId: vid }));
    });
    await db.transaction({}, async (q) => {
      await q.query('DELETE FROM athena.file_versions WHERE file_id = $1 AND s3_version_id = $2', [file.id, vid]);
      await this.log(q, actor, file.id, 'file.version_deleted', file, { version_id: vid });
    });
    await this.afterCommit(actor.client);
    return { file_id: file.id, version_id: vid, deleted: true };
  }

  /** Object-lock retention and legal hold (manage); 501 unless the bucket has object lock enabled. */
  async setRetention(
    principal: Principal,
    input: { fileId: string; mode: string; retainUntil: Date; legalHold?: boolean | null },
  ) {
    const actor = actorOf(principal);
    if (input.mode !== 'governance' && input.mode !== 'compliance') {
      throw new StorageInvalidInputError('mode must be governance or compliance');
    }
    if (!(input.retainUntil instanceof Date) || Number.isNaN(input.retainUntil.getTime())) {
      throw new StorageInvalidInputError('retain_until must be a date-time');
    }
    if (input.retainUntil.getTime() <= Date.now())
      throw new StorageInvalidInputError('retain_until must be in the future');
    const db = await this.db(actor.client);
    const { file } = await this.load(db, actor.client, actor, input.fileId, 'manage');
    await this.withS3(actor.client, file, 'PutObjectRetention', async (c) => {
      let enabled = false;
      try {
        const r = await c.s3.send(new GetObjectLockConfigurationCommand({ Bucket: c.bucket }));
        enabled = r.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
      } catch (err) {
        if (
          err instanceof S3ServiceException &&
          (err.name === 'ObjectLockConfigurationNotFoundError' ||
            [400, 404, 405, 501].includes(err.$metadata?.httpStatusCode ?? 0))
        ) {
          enabled = false;
        } else throw err;
      }
      if (!enabled) {
        throw new StorageFeatureUnavailableError(
          `object lock is not available on bucket "${c.bucket}" of the S3 backend at ${c.backend}`,
        );
      }
      await c.s3.send(
        new PutObjectRetentionCommand({
          Bucket: c.bucket,
          Key: file.storageKey,
          Retention: {
            Mode: input.mode === 'governance' ? 'GOVERNANCE' : 'COMPLIANCE',
            RetainUntilDate: input.retainUntil,
          },
        }),
      );
      if (input.legalHold !== undefined && input.legalHold !== null) {
        await c.s3.send(
          new PutObjectLegalHoldCommand({
            Bucket: c.bucket,
            Key: file.storageKey,
            LegalHold: { Status: input.legalHold ? 'ON' : 'OFF' },
          }),
        );
      }
    });
    await db.transaction({}, async (q) => {
      await q.query(
        `INSERT INTO athena.file_retention (file_id, mode, retain_until, legal_hold) VALUES ($1, $2, $3, $4)
         ON CONFLICT (file_id) DO UPDATE SET mode = $2, retain_until = $3, legal_hold = $4, updated_at = now()`,
        [file.id, input.mode, input.retainUntil.toISOString(), input.legalHold === true],
      );
      await this.log(q, actor, file.id, 'file.retention_set', file, { mode: input.mode });
    });
    await this.afterCommit(actor.client);
    return {
      file_id: file.id,
      mode: input.mode,
      retain_until: input.retainUntil.toISOString(),
      legal_hold: input.legalHold === true,
    };
  }

  // ---- folders ----

  /** Immediate sub-folders of `prefix`, derived from the readable tracked files. */
  async listFolders(
    principal: Principal,
    input: { s3Id: string; prefix?: string | null },
  ): Promise<StorageFolderView[]> {
    const all = await this.folderStats(principal, input);
    const prefix = all.prefix;
    const children = new Map<string, StorageFolderView>();
    for (const f of all.files) {
      const rest = f.key.slice(prefix.length);
      const i = rest.indexOf('/');
      if (i < 0) continue;
      const p = prefix + rest.slice(0, i + 1);
      const c = children.get(p) ?? {
        client: all.client,
        s3Id: all.s3Id,
        prefix: p,
        name: rest.slice(0, i),
        fileCount: 0,
        totalBytes: 0,
      };
      c.fileCount++;
      c.totalBytes += f.size;
      children.set(p, c);
    }
    return [...children.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : 1));
  }

  /** The folder tree under `prefix`: nested `{name, prefix, file_count, total_bytes, children}`. */
  async folderTree(principal: Principal, input: { s3Id: string; prefix?: string | null }) {
    const all = await this.folderStats(principal, input);
    interface Node {
      name: string;
      prefix: string;
      file_count: number;
      total_bytes: number;
      children: Node[];
    }
    const root: Node = { name: '', prefix: all.prefix, file_count: 0, total_bytes: 0, children: [] };
    for (const f of all.files) {
      root.file_count++;
      root.total_bytes += f.size;
      const parts = f.key.slice(all.prefix.length).split('/').slice(0, -1);
      let node = root;
      let p = all.prefix;
      for (const part of parts) {
        p += `${part}/`;
        let child = node.children.find((c) => c.prefix === p);
        if (!child) {
          child = { name: part, prefix: p, file_count: 0, total_bytes: 0, children: [] };
          node.children.push(child);
          node.children.sort((a, b) => (a.prefix < b.prefix ? -1 : 1));
        }
        child.file_count++;
        child.total_bytes += f.size;
        node = child;
      }
    }
    return { s3_id: all.s3Id, prefix: all.prefix, tree: root };
  }

  /** One folder as a Node (null when no readable tracked file lies under it). */
  async folder(principal: Principal, input: { s3Id: string; prefix: string }): Promise<StorageFolderView | null> {
    const all = await this.folderStats(principal, input);
    if (all.files.length === 0) return null;
    return {
      client: all.client,
      s3Id: all.s3Id,
      prefix: all.prefix,
      name: all.prefix.split('/').at(-2) ?? '',
      fileCount: all.files.length,
      totalBytes: all.files.reduce((a, f) => a + f.size, 0),
    };
  }

  private async folderStats(principal: Principal, input: { s3Id: string; prefix?: string | null }) {
    const actor = actorOf(principal);
    const s3Id = checkS3Id(input.s3Id);
    const prefix = checkPrefix(input.prefix);
    const db = await this.db(actor.client);
    const r = await db.query<{ storage_key: string; size_bytes: string | null }>(
      `SELECT f.storage_key, f.size_bytes FROM athena.files f
       WHERE f.organization_id = $3 AND f.s3_id = $1 AND f.deleted_at IS NULL
         AND left(f.storage_key, length($4::text)) = $4::text AND (f.is_public OR ${rankSql()} >= 1)
       ORDER BY f.storage_key LIMIT 100000`,
      [s3Id, actor.userId, actor.organizationId, prefix],
    );
    return {
      client: actor.client,
      s3Id,
      prefix,
      files: r.rows.map((x) => ({ key: x.storage_key, size: Number(x.size_bytes ?? 0) })),
    };
  }

  /** Every tracked live file under the prefix (of the caller's organization), each authorised before anything. */
  private async folderFiles(db: ClientDatabase, actor: Actor, s3Id: string, prefix: string, need: StoragePermission) {
    const r = await db.query<Row>(
      `SELECT ${fileCols()}, ${rankSql()} AS rank FROM athena.files f
       WHERE f.organization_id = $3 AND f.s3_id = $1 AND f.deleted_at IS NULL AND left(f.storage_key, length($4::text)) = $4::text
       ORDER BY f.storage_key`,
      [s3Id, actor.userId, actor.organizationId, prefix],
    );
    if (r.rows.length === 0) throw new StorageNotFoundError(`No tracked files under "${prefix}"`);
    const denied = r.rows.find((x) => Number(x.rank) < rankOf[need]);
    if (denied) {
      throw new StorageForbiddenError(
        `${need} permission is needed on every file under "${prefix}" (not "${String(denied.id)}")`,
      );
    }
    return r.rows.map((x) => toFile(actor.client, x));
  }

  async deleteFolder(principal: Principal, input: { s3Id: string; prefix: string }) {
    const actor = actorOf(principal);
    const s3Id = checkS3Id(input.s3Id);
    const prefix = checkPrefix(input.prefix, 'prefix', false);
    const db = await this.db(actor.client);
    const files = await this.folderFiles(db, actor, s3Id, prefix, 'delete');
    const deleted = await this.softDelete(
      db,
      actor,
      files.map((f) => f.id),
    );
    return { s3_id: s3Id, prefix, processed_files: deleted.length };
  }

  async moveFolder(principal: Principal, input: { s3Id: string; fromPrefix: string; toPrefix: string }) {
    const actor = actorOf(principal);
    const s3Id = checkS3Id(input.s3Id);
    const from = checkPrefix(input.fromPrefix, 'from_prefix', false);
    const to = checkPrefix(input.toPrefix, 'to_prefix');
    if (to.startsWith(from)) {
      throw new StorageInvalidInputError('to_prefix must not lie inside from_prefix');
    }
    const db = await this.db(actor.client);
    const files = await this.folderFiles(db, actor, s3Id, from, 'write');
    const r = await this.moveMany(
      principal,
      files.map((f) => ({ fileId: f.id, storageKey: to + f.storageKey.slice(from.length) })),
      false,
      true,
    );
    return {
      s3_id: s3Id,
      prefix: from,
      to_prefix: to,
      processed_files: r.moved.length,
      failed_files: r.failures.length,
      failures: r.failures,
    };
  }

  // ---- permissions ----

  async listPermissions(
    principal: Principal,
    input: { fileId?: string | null; s3Id?: string | null; prefix?: string | null },
  ): Promise<StoragePermissionView[]> {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    if (input.fileId !== undefined && input.fileId !== null) {
      const { file } = await this.load(db, actor.client, actor, input.fileId, 'manage', true);
      const r = await db.query<Row>(
        `SELECT p.*, ${ts('p', 'expires_at')}, ${ts('p', 'created_at')} FROM athena.file_permissions p
         WHERE p.file_id = $1 ORDER BY p.created_at, p.id`,
        [file.id],
      );
      return r.rows.map((x) => toPermission(actor.client, x));
    }
    if (input.s3Id === undefined || input.s3Id === null) {
      throw new StorageInvalidInputError('give file_id, or s3_id and prefix');
    }
    const s3Id = checkS3Id(input.s3Id);
    const prefix = checkPrefix(input.prefix, 'prefix', false);
    await this.folderFiles(db, actor, s3Id, prefix, 'manage');
    const r = await db.query<Row>(
      `SELECT p.*, ${ts('p', 'expires_at')}, ${ts('p', 'created_at')} FROM athena.file_permissions p
       WHERE p.file_id IS NULL AND p.organization_id = $1 AND p.s3_id = $2 AND p.prefix = $3 ORDER BY p.created_at, p.id`,
      [actor.organizationId, s3Id, prefix],
    );
    return r.rows.map((x) => toPermission(actor.client, x));
  }

  /**
   * Grants on a file need manage on it (owner grants: owner); grants on a prefix need manage (owner) on every
   * tracked file under it — the same all-or-nothing rule as folder operations.
   */
  async grant(principal: Principal, input: GrantInput): Promise<StoragePermissionView> {
    const actor = actorOf(principal);
    const who = checkPrincipal(input.principalType, input.principalId);
    const permission = checkPermission(input.permission);
    if (input.expiresAt && (Number.isNaN(input.expiresAt.getTime()) || input.expiresAt.getTime() <= Date.now())) {
      throw new StorageInvalidInputError('expires_at must be a future date-time');
    }
    const need: StoragePermission = permission === 'owner' ? 'owner' : 'manage';
    const db = await this.db(actor.client);
    let target: { fileId: string | null; s3Id: string | null; prefix: string | null };
    if (input.fileId !== undefined && input.fileId !== null) {
      const { file } = await this.load(db, actor.client, actor, input.fileId, need);
      target = { fileId: file.id, s3Id: null, prefix: null };
    } else {
      if (input.s3Id === undefined || input.s3Id === null)
        throw new StorageInvalidInputError('give file_id, or s3_id and prefix');
      const s3Id = checkS3Id(input.s3Id);
      const prefix = checkPrefix(input.prefix, 'prefix', false);
      await this.folderFiles(db, actor, s3Id, prefix, need);
      target = { fileId: null, s3Id, prefix };
    }
    const view = await db.transaction({}, async (q) => {
      const r = await q.query<Row>(
        `INSERT INTO athena.file_permissions AS p (id, file_id, s3_id, prefix, organization_id, principal_type,
           principal_id, permission, granted_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT ${target.fileId ? '(file_id, principal_type, principal_id, permission) WHERE file_id IS NOT NULL' : '(organization_id, s3_id, prefix, principal_type, principal_id, permission) WHERE prefix IS NOT NULL'}
         DO UPDATE SET expires_at = excluded.expires_at, granted_by = excluded.granted_by
         RETURNING p.*, ${ts('p', 'expires_at')}, ${ts('p', 'created_at')}`,
        [
          randomUUID(),
          target.fileId,
          target.s3Id,
          target.prefix,
          actor.organizationId,
          who.type,
          who.id,
          permission,
          actor.userId,
          input.expiresAt?.toISOString() ?? null,
        ],
      );
      const p = toPermission(actor.client, r.rows[0] as Row);
      await this.log(q, actor, p.fileId, 'permission.granted', null, {
        permission_id: p.id,
        prefix: p.prefix,
        principal_type: p.principalType,
        principal_id: p.principalId,
        permission: p.permission,
      });
      return p;
    });
    await this.afterCommit(actor.client);
    return view;
  }

  /** Revokes by id or by (target, principal[, permission]); the last owner grant of a file stays. */
  async revoke(principal: Principal, input: RevokeInput) {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    let rows: StoragePermissionView[];
    if (input.permissionId !== undefined && input.permissionId !== null) {
      if (!uuidPattern.test(input.permissionId)) throw new StorageInvalidInputError('permission_id must be a uuid');
      const r = await db.query<Row>(
        `SELECT p.*, ${ts('p', 'expires_at')}, ${ts('p', 'created_at')} FROM athena.file_permissions p
         WHERE p.id = $1 AND p.organization_id = $2`,
        [input.permissionId, actor.organizationId],
      );
      rows = r.rows.map((x) => toPermission(actor.client, x));
      if (rows.length === 0) throw new StorageNotFoundError(`Permission "${input.permissionId}" not found`);
    } else {
      const who = checkPrincipal(input.principalType, input.principalId);
      const permission =
        input.permission === undefined || input.permission === null ? null : checkPermission(input.permission);
      const all = await this.listPermissions(principal, input);
      rows = all.filter(
        (p) =>
          p.principalType === who.type &&
          p.principalId === who.id &&
          (permission === null || p.permission === permission),
      );
      if (rows.length === 0) throw new StorageNotFoundError('No such permission');
    }
    for (const p of rows) {
      const need: StoragePermission = p.permission === 'owner' ? 'owner' : 'manage';
      if (p.fileId) await this.load(db, actor.client, actor, p.fileId, need, true);
      else await this.folderFiles(db, actor, p.s3Id as string, p.prefix as string, need);
    }
    const revoked = await db.transaction({}, async (q) => {
      for (const p of rows) {
        if (p.fileId && p.permission === 'owner') {
          const owners = await q.query<{ n: string }>(
            `SELECT count(*) AS n FROM athena.file_permissions WHERE file_id = $1 AND permission = 'owner'`,
            [p.fileId],
          );
          if (Number(owners.rows[0]?.n ?? 0) <= 1) {
            throw new StorageConflictError(`The last owner of file "${p.fileId}" cannot be revoked`);
          }
        }
        await q.query('DELETE FROM athena.file_permissions WHERE id = $1', [p.id]);
        await this.log(q, actor, p.fileId, 'permission.revoked', null, {
          permission_id: p.id,
          prefix: p.prefix,
          principal_type: p.principalType,
          principal_id: p.principalId,
          permission: p.permission,
        });
      }
      return rows.length;
    });
    await this.afterCommit(actor.client);
    return { revoked, permission_ids: rows.map((p) => p.id) };
  }

  /** Whether a principal (default: the caller) holds `permission` on a file (a higher grant counts). */
  async check(
    principal: Principal,
    input: {
      fileId: string;
      permission: StoragePermission;
      principalType?: StoragePrincipalType | null;
      principalId?: string | null;
    },
  ) {
    const actor = actorOf(principal);
    const permission = checkPermission(input.permission);
    const db = await this.db(actor.client);
    const fileId = checkFileId(input.fileId);
    const self = input.principalId === undefined || input.principalId === null;
    const file = await db.query<Row>(`SELECT ${fileCols()}, ${rankSql()} AS rank FROM athena.files f WHERE f.id = $1`, [
      fileId,
      actor.userId,
      actor.organizationId,
    ]);
    const row = file.rows[0];
    if (!row || (row.organization_id !== actor.organizationId && row.is_public !== true)) {
      throw new StorageNotFoundError(`File "${fileId}" not found`);
    }
    let rank = Number(row.rank);
    let subject = { type: 'user' as StoragePrincipalType, id: actor.userId };
    if (!self) {
      // Asking about someone else reveals who has access: that needs manage.
      if (rank < rankOf.manage) throw new StorageForbiddenError('Checking another principal needs manage permission');
      subject = checkPrincipal(input.principalType ?? 'user', input.principalId);
      const r = await db.query<{ rank: number }>(
        `SELECT coalesce(max(CASE p.permission WHEN 'read' THEN 1 WHEN 'write' THEN 2 WHEN 'delete' THEN 3
           WHEN 'manage' THEN 4 WHEN 'owner' THEN 5 END), 0) AS rank
         FROM athena.file_permissions p JOIN athena.files f ON f.id = $1
         WHERE (p.file_id = f.id OR (p.file_id IS NULL AND p.organization_id = f.organization_id AND p.s3_id = f.s3_id
                AND left(f.storage_key, length(p.prefix)) = p.prefix))
           AND p.principal_type = $2 AND p.principal_id = $3 AND (p.expires_at IS NULL OR p.expires_at > now())`,
        [fileId, subject.type, subject.id],
      );
      rank = Number(r.rows[0]?.rank ?? 0);
    }
    const effective = (Object.entries(rankOf).find(([, v]) => v === rank)?.[0] ?? null) as StoragePermission | null;
    const allowed = rank >= rankOf[permission] || (permission === 'read' && row.is_public === true);
    return {
      file_id: fileId,
      principal_type: subject.type,
      principal_id: subject.id,
      permission,
      allowed,
      effective_permission: effective,
      via_public: permission === 'read' && row.is_public === true && rank < 1,
    };
  }

  // ---- multipart ----

  async createMultipart(principal: Principal, input: MultipartCreateInput) {
    const actor = actorOf(principal);
    const plan = this.uploadPlan(input);
    const db = await this.db(actor.client);
    const c = await this.connect(actor.client, plan.s3Id, plan.bucket);
    try {
      // Authorised (and the row written) before CreateMultipartUpload, in one transaction.
      return await db.transaction({}, async (q) => {
        const existing = await this.existingForUpload(q, actor, { ...plan, bucket: c.bucket });
        const file = await this.writeUploadRow(q, actor, plan, c.bucket, existing);
        let uploadId: string;
        try {
          const r = await c.s3.send(
            new CreateMultipartUploadCommand({
              Bucket: c.bucket,
              Key: file.storageKey,
              ContentType: plan.contentType ?? file.mimeType ?? undefined,
            }),
          );
          uploadId = r.UploadId ?? '';
        } catch (err) {
          throw this.deps.s3.failure(err, 'CreateMultipartUpload', c.backend);
        }
        const id = randomUUID();
        await q.query(
          `INSERT INTO athena.file_multipart_uploads (id, file_id, s3_upload_id, bucket, storage_key, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [id, file.id, uploadId, c.bucket, file.storageKey, actor.userId],
        );
        await this.log(q, actor, file.id, 'multipart.created', file, { upload_id: id });
        return {
          upload_id: id,
          s3_upload_id: uploadId,
          file_id: file.id,
          bucket: c.bucket,
          storage_key: file.storageKey,
          status: 'open',
          file,
        };
      });
    } finally {
      this.deps.s3.release(c);
      await this.afterCommit(actor.client);
    }
  }

  /** An open upload of a file the caller may write. */
  private async upload(db: ClientDatabase, actor: Actor, uploadId: string) {
    if (typeof uploadId !== 'string' || !uuidPattern.test(uploadId))
      throw new StorageInvalidInputError('upload_id must be a uuid');
    const r = await db.query<Row>('SELECT * FROM athena.file_multipart_uploads WHERE id = $1', [uploadId]);
    const u = r.rows[0];
    if (!u) throw new StorageNotFoundError(`Multipart upload "${uploadId}" not found`);
    const { file } = await this.load(db, actor.client, actor, String(u.file_id), 'write');
    return {
      id: String(u.id),
      fileId: String(u.file_id),
      s3UploadId: String(u.s3_upload_id),
      bucket: String(u.bucket),
      storageKey: String(u.storage_key),
      status: String(u.status),
      file,
    };
  }

  async signPart(principal: Principal, input: { uploadId: string; partNumber: number }) {
    const actor = actorOf(principal);
    const part = bounded(input.partNumber, 0, 1, maxPartNumber, 'part_number');
    const db = await this.db(actor.client);
    const u = await this.upload(db, actor, input.uploadId);
    if (u.status !== 'open') throw new StorageConflictError(`Multipart upload "${u.id}" is ${u.status}`);
    return this.withS3(actor.client, { ...u.file, bucket: u.bucket }, 'presign UploadPart', async (c) => {
      const signingDate = new Date();
      const url = await getSignedUrl(
        c.s3,
        new UploadPartCommand({ Bucket: c.bucket, Key: u.storageKey, UploadId: u.s3UploadId, PartNumber: part }),
        { expiresIn: this.deps.urlTtlSeconds, signingDate },
      );
      return {
        upload_id: u.id,
        part_number: part,
        method: 'PUT',
        url,
        expires_in: this.deps.urlTtlSeconds,
        expires_at: new Date(signingDate.getTime() + this.deps.urlTtlSeconds * 1000).toISOString(),
      };
    });
  }

  async completeMultipart(
    principal: Principal,
    input: { uploadId: string; parts: { partNumber: number; etag: string }[] },
  ): Promise<StorageFileView> {
    const actor = actorOf(principal);
    const parts = batchOf(input.parts, 'parts').map((p) => ({
      PartNumber: bounded(p.partNumber, 0, 1, maxPartNumber, 'parts[].part_number'),
      ETag: checkText(p.etag, 'parts[].etag', 200) ?? '',
    }));
    if (parts.some((p) => p.ETag === '')) throw new StorageInvalidInputError('parts[].etag is required');
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    if (new Set(parts.map((p) => p.PartNumber)).size !== parts.length) {
      throw new StorageInvalidInputError('a part_number appears twice');
    }
    const db = await this.db(actor.client);
    const u = await this.upload(db, actor, input.uploadId);
    if (u.status !== 'open') throw new StorageConflictError(`Multipart upload "${u.id}" is ${u.status}`);
    const head = await this.withS3(
      actor.client,
      { ...u.file, bucket: u.bucket },
      'CompleteMultipartUpload',
      async (c) => {
        await c.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: c.bucket,
            Key: u.storageKey,
            UploadId: u.s3UploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
        return c.s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: u.storageKey }));
      },
    );
    await db.query(`UPDATE athena.file_multipart_uploads SET status = 'completed', updated_at = now() WHERE id = $1`, [
      u.id,
    ]);
    return this.markUploaded(
      db,
      actor,
      u.file,
      head.ContentLength ?? 0,
      head.ContentType ?? null,
      'multipart.completed',
    );
  }

  async abortMultipart(principal: Principal, uploadId: string) {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    const u = await this.upload(db, actor, uploadId);
    if (u.status === 'completed') throw new StorageConflictError(`Multipart upload "${u.id}" is completed`);
    if (u.status === 'open') {
      await this.withS3(actor.client, { ...u.file, bucket: u.bucket }, 'AbortMultipartUpload', (c) =>
        c.s3.send(new AbortMultipartUploadCommand({ Bucket: c.bucket, Key: u.storageKey, UploadId: u.s3UploadId })),
      );
      await db.transaction({}, async (q) => {
        await q.query(`UPDATE athena.file_multipart_uploads SET status = 'aborted', updated_at = now() WHERE id = $1`, [
          u.id,
        ]);
        await this.log(q, actor, u.fileId, 'multipart.aborted', u.file, { upload_id: u.id });
      });
      await this.afterCommit(actor.client);
    }
    return { upload_id: u.id, file_id: u.fileId, status: 'aborted', aborted: true };
  }

  async listParts(principal: Principal, uploadId: string) {
    const actor = actorOf(principal);
    const db = await this.db(actor.client);
    const u = await this.upload(db, actor, uploadId);
    if (u.status !== 'open') throw new StorageConflictError(`Multipart upload "${u.id}" is ${u.status}`);
    return this.withS3(actor.client, { ...u.file, bucket: u.bucket }, 'ListParts', async (c) => {
      const r = await c.s3.send(new ListPartsCommand({ Bucket: c.bucket, Key: u.storageKey, UploadId: u.s3UploadId }));
      return {
        upload_id: u.id,
        file_id: u.fileId,
        status: u.status,
        parts: (r.Parts ?? []).map((p) => ({
          part_number: p.PartNumber ?? 0,
          etag: p.ETag ?? null,
          size_bytes: p.Size ?? 0,
          last_modified: p.LastModified?.toISOString() ?? null,
        })),
      };
    });
  }

  // ---- audit and events ----

  /**
   * Audit rows of the caller's organization it may see: its own actions, and entries of files it can read now
   * (newest first).
   */
  async audit(
    principal: Principal,
    input: { fileId?: string | null; action?: string | null; limit?: number | null; offset?: number | null },
  ): Promise<{ entries: StorageAuditEntryView[]; total: number }> {
    const actor = actorOf(principal);
    const fileId = input.fileId === undefined || input.fileId === null ? null : checkFileId(input.fileId);
    const action = checkText(input.action, 'action', 100);
    const limit = bounded(input.limit, 50, 1, 500, 'limit');
    const offset = bounded(input.offset, 0, 0, 1_000_000, 'offset');
    const db = await this.db(actor.client);
    const r = await db.query<Row>(
      `SELECT a.id, a.file_id, a.organization_id, a.actor_user_id, a.action, a.details, ${ts('a', 'created_at')},
              count(*) OVER () AS total
       FROM athena.audit_log_files a LEFT JOIN athena.files f ON f.id = a.file_id
       WHERE a.organization_id = $3 AND ($1::text IS NULL OR a.file_id = $1) AND ($4::text IS NULL OR a.action = $4)
         AND (a.actor_user_id = $2 OR (f.id IS NOT NULL AND (f.is_public OR ${rankSql()} >= 1)))
       ORDER BY a.id DESC LIMIT ${limit} OFFSET ${offset}`,
      [fileId, actor.userId, actor.organizationId, action],
    );
    return { entries: r.rows.map((x) => toAudit(actor.client, x)), total: Number(r.rows[0]?.total ?? 0) };
  }

  /**
   * `storageFileEvents(client, prefix)`: committed events of the session's organization whose key starts with
   * `prefix`, each delivered only when the subscriber can read the file at that moment (for a purge: could read it).
   */
  async stream(
    principal: Principal,
    input: { client: string; prefix?: string | null },
  ): Promise<AsyncIterableIterator<StorageFileEventView>> {
    const actor = actorOf(principal);
    if (input.client !== actor.client) {
      throw new StorageForbiddenError('The session belongs to another X-Athena-Client');
    }
    const prefix = input.prefix ?? '';
    if (typeof prefix !== 'string' || prefix.length > 1024)
      throw new StorageInvalidInputError('prefix: at most 1024 characters');
    const db = await this.db(actor.client);
    const source: EventSource<StorageFileEventPayload> = (push) => {
      const iterator = this.deps.pubsub
        .subscribe('athena.storageFileEvent', `${actor.client}:${actor.organizationId}`)
        [Symbol.asyncIterator]() as AsyncIterator<StorageFileEventPayload>;
      void (async () => {
        for (;;) {
          const n = await iterator.next();
          if (n.done) return;
          push(n.value);
        }
      })().catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'athena storage subscription failed'));
      return () => void Promise.resolve(iterator.return?.()).catch(() => {});
    };
    const seen = new Set<number>();
    this.openStreams++;
    return new EventStream<StorageFileEventPayload, StorageFileEventView>(
      [source],
      async (e) => {
        if (seen.has(e.eventId)) return [];
        seen.add(e.eventId);
        if (seen.size > 10_000) seen.clear();
        if (e.storageKey !== null && !e.storageKey.startsWith(prefix)) return [];
        if (e.storageKey === null && prefix !== '') return [];
        let file: StorageFileView | null = null;
        if (e.fileId !== null) {
          const r = await db.query<Row>(
            `SELECT ${fileCols()}, ${rankSql()} AS rank FROM athena.files f WHERE f.id = $1`,
            [e.fileId, actor.userId, actor.organizationId],
          );
          const row = r.rows[0];
          if (row) {
            if (Number(row.rank) < 1 && row.is_public !== true) return [];
            file = toFile(actor.client, row);
          } else {
            const readers = (e.details.readers ?? {}) as {
              public?: boolean;
              users?: string[];
              organizations?: string[];
            };
            const could =
              readers.public === true ||
              readers.users?.includes(actor.userId) === true ||
              readers.organizations?.includes(actor.organizationId) === true;
            if (!could) return [];
          }
        } else if (e.actorUserId !== actor.userId) {
          return [];
        }
        const { readers: _readers, ...details } = e.details;
        return [
          {
            client: e.client,
            id: e.eventId,
            fileId: e.fileId,
            organizationId: e.organizationId,
            actorUserId: e.actorUserId,
            action: e.action,
            details,
            createdAt: new Date(e.createdAt),
            file,
          },
        ];
      },
      undefined,
      () => {
        this.openStreams--;
      },
    );
  }

  /** One audit row and one event row, in the mutation's transaction. */
  private async log(
    q: Queryable,
    actor: Actor,
    fileId: string | null,
    action: string,
    file: StorageFileView | null,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const details = JSON.stringify({
      ...(file ? { storage_key: file.storageKey, bucket: file.bucket, s3_id: file.s3Id, status: file.status } : {}),
      ...extra,
    });
    await q.query(
      `INSERT INTO athena.audit_log_files (file_id, organization_id, actor_user_id, action, details)
       VALUES ($1, $2, $3, $4, $5::jsonb)`,
      [fileId, actor.organizationId, actor.userId, action, details],
    );
    await q.query(
      `INSERT INTO athena.event_log_files (file_id, organization_id, actor_user_id, action, details)
       VALUES ($1, $2, $3, $4, $5::jsonb)`,
      [fileId, actor.organizationId, actor.userId, action, details],
    );
  }

  private async afterCommit(client: string): Promise<void> {
    this.active.add(client);
    await this.dispatch(client);
  }

  /** Publishes the client's unpublished events in id order and marks them (SKIP LOCKED; at least once). */
  async dispatch(client: string): Promise<number> {
    try {
      const db = await this.db(client);
      return await db.transaction({}, async (q) => {
        const r = await q.query<Row>(
          `SELECT id, file_id, organization_id, actor_user_id, action, details, ${ts('e', 'created_at')}
           FROM athena.event_log_files e WHERE published_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED`,
        );
        if (r.rows.length === 0) return 0;
        for (const row of r.rows) {
          const details = json(row.details);
          this.deps.pubsub.publish('athena.storageFileEvent', `${client}:${String(row.organization_id)}`, {
            client,
            organizationId: String(row.organization_id),
            eventId: Number(row.id),
            fileId: (row.file_id as string | null) ?? null,
            action: String(row.action),
            actorUserId: String(row.actor_user_id),
            storageKey: typeof details.storage_key === 'string' ? details.storage_key : null,
            details,
            createdAt: String(row.created_at),
          });
        }
        await q.query('UPDATE athena.event_log_files SET published_at = now() WHERE id = ANY($1::bigint[])', [
          r.rows.map((x) => x.id),
        ]);
        this.published += r.rows.length;
        return r.rows.length;
      });
    } catch (err) {
      this.deps.logger.warn({ client, err: (err as Error).message }, 'athena storage event dispatch failed');
      return 0;
    }
  }

  // ---- plumbing ----

  private forgetUrls(client: string, fileId: string): void {
    for (const purpose of ['read', 'download', 'stream']) this.urls.delete(`${client}\u0000${fileId}\u0000${purpose}`);
  }

  private urlView(
    file: StorageFileView,
    purpose: string,
    signed: {
      url: string;
      expires_in: number;
      expires_at: string;
      method: 'GET' | 'PUT';
      headers?: Record<string, string>;
    },
    cacheHit: boolean,
    cacheLayer: string,
  ): StoragePresignedUrlView {
    const contentType = purpose === 'upload' ? file.mimeType : null;
    return {
      fileId: file.id,
      bucket: file.bucket,
      storageKey: file.storageKey,
      purpose,
      url: signed.url,
      method: signed.method,
      headers: contentType ? { 'Content-Type': contentType } : {},
      expiresAt: new Date(signed.expires_at),
      expiresIn: signed.expires_in,
      cacheHit,
      cacheLayer,
    };
  }

  /** The caller of a public-read route: a session (its client must match), or anonymous with a client name. */
  private async readerContext(principal: Principal, client: string | null | undefined) {
    if (principal.kind === 'userSession' && principal.product === 'athena') {
      const actor = actorOf(principal);
      if (client && client !== actor.client) {
        throw new StorageForbiddenError('The session belongs to another X-Athena-Client');
      }
      return { db: await this.db(actor.client), actor: actor as Actor | null, client: actor.client };
    }
    if (!client) throw new UnknownClientError(undefined);
    if (!(await this.deps.clients.find(client))) throw new UnknownClientError(client);
    return { db: await this.db(client), actor: null as Actor | null, client };
  }

  /**
   * One file with the caller's rank, 404 when missing (or deleted, unless `includeDeleted`; or of another
   * organization and not public), 403 when the rank is below `need` (public files count as read).
   */
  private async load(
    db: ClientDatabase,
    client: string,
    actor: Actor | null,
    fileId: string,
    need: StoragePermission,
    includeDeleted = false,
  ): Promise<{ file: StorageFileView; rank: number }> {
    const id = checkFileId(fileId);
    const r = await db.query<Row>(`SELECT ${fileCols()}, ${rankSql()} AS rank FROM athena.files f WHERE f.id = $1`, [
      id,
      actor?.userId ?? '',
      actor?.organizationId ?? '',
    ]);
    const row = r.rows[0];
    const foreign = row !== undefined && (actor === null || row.organization_id !== actor.organizationId);
    if (!row || (row.deleted_at !== null && !includeDeleted) || (foreign && row.is_public !== true)) {
      throw new StorageNotFoundError(`File "${id}" not found`);
    }
    const file = toFile(client, row);
    const rank = Number(row.rank);
    const effective = Math.max(rank, file.isPublic && file.deletedAt === null ? rankOf.read : 0);
    if (effective < rankOf[need]) {
      if (actor === null) throw new StorageForbiddenError(`File "${id}" is not public`);
      throw new StorageForbiddenError(`This operation needs ${need} permission on file "${id}"`);
    }
    return { file, rank };
  }

  /** Many files, all found and all authorised before anything happens (all-or-nothing). */
  private async loadMany(
    db: ClientDatabase,
    actor: Actor,
    ids: string[],
    need: StoragePermission,
  ): Promise<Map<string, StorageFileView>> {
    const r = await db.query<Row>(
      `SELECT ${fileCols()}, ${rankSql()} AS rank FROM athena.files f WHERE f.id = ANY($1::text[]) AND f.deleted_at IS NULL`,
      [ids, actor.userId, actor.organizationId],
    );
    const found = new Map(r.rows.map((row) => [String(row.id), row]));
    const out = new Map<string, StorageFileView>();
    for (const id of ids) {
      const row = found.get(id);
      if (!row || row.organization_id !== actor.organizationId)
        throw new StorageNotFoundError(`File "${id}" not found`);
      const rank = Math.max(Number(row.rank), row.is_public === true ? rankOf.read : 0);
      if (rank < rankOf[need])
        throw new StorageForbiddenError(`This operation needs ${need} permission on file "${id}"`);
      out.set(id, toFile(actor.client, row));
    }
    return out;
  }

  /** The S3 connection of a catalog of the client (a missing or inactive catalog: 400/404 from the catalogs). */
  private async connect(client: string, s3Id: string, bucket: string | null | undefined): Promise<Conn> {
    try {
      return await this.deps.s3.managedConnection(client, s3Id, bucket);
    } catch (err) {
      // A body field naming nothing is bad input (the contract lists 400 here, not 404).
      if (err instanceof AthenaNotFoundError) {
        throw new StorageInvalidInputError(`s3_id "${s3Id}" names no live S3 catalog of client "${client}"`);
      }
      throw err;
    }
  }

  /** Runs `f` on the file's catalog connection; S3 failures become Athena's errors (naming the backend). */
  private async withS3<T>(
    client: string,
    file: { s3Id: string; bucket: string },
    op: string,
    f: (c: Conn) => Promise<T>,
  ): Promise<T> {
    const c = await this.connect(client, file.s3Id, file.bucket);
    try {
      return await f(c);
    } catch (err) {
      if (err instanceof StorageTooLargeError || err instanceof StorageConflictError) throw err;
      if (err instanceof StorageFeatureUnavailableError) throw err;
      throw this.deps.s3.failure(err, op, c.backend);
    } finally {
      this.deps.s3.release(c);
    }
  }

  /** The client's database with the storage schema installed (503 `storage_unavailable` otherwise). */
  private async db(client: string): Promise<ClientDatabase> {
    let db: ClientDatabase;
    try {
      db = (await this.deps.clients.database(client)).db;
    } catch (err) {
      if (err instanceof ClientUnavailableError) throw new StorageUnavailableError(client, err.message);
      throw err;
    }
    let ready = this.ready.get(client);
    if (!ready) {
      ready = migrateClientSchema(db, {
        schema: storageSchema,
        ledger: storageLedger,
        migrations: storageMigrations,
      }).then((applied) => {
        if (applied.length > 0) this.deps.logger.info({ client, applied }, 'athena storage schema migrated');
      });
      this.ready.set(client, ready);
      ready.catch(() => this.ready.delete(client));
    }
    try {
      await ready;
    } catch (err) {
      this.deps.logger.warn({ client, err: (err as Error).message }, 'athena storage schema failed');
      throw new StorageUnavailableError(client, 'its storage schema could not be installed');
    }
    return db;
  }
}

function actorOf(principal: Principal): Actor {
  if (principal.kind !== 'userSession' || principal.product !== 'athena') throw new StorageSessionRequiredError();
  return { client: principal.tenant, userId: principal.userId, organizationId: principal.organizationId };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
