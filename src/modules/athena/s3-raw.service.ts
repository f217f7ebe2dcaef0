import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketCorsCommand,
  DeleteBucketLifecycleCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  type DeleteObjectsCommandOutput,
  GetBucketCorsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectVersionsCommand,
  type ObjectCannedACL,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Principal } from '../../core/auth/principal.ts';
import { OutboundBlockedError, type OutboundPolicy, validateOutboundUrl } from '../../core/net/outbound.ts';
import { requireAdmin } from './athena.access.ts';
import type { AthenaConfig } from './athena.config.ts';
import { AthenaError, AthenaInvalidInputError } from './athena.errors.ts';
import type { AthenaS3CatalogsService } from './s3-catalogs.service.ts';

/*
 * Raw S3 operations (G11, docs/athena.md "Raw S3 and catalogs (G11)") over @aws-sdk/client-s3 against a stored
 * catalog (by id or name, for `X-Athena-Client`) or, when ATRIUM_ATHENA_S3_INLINE_ENDPOINTS is on, an inline
 * endpoint with keys. Every endpoint passes the core outbound guard and the SDK dials only the validated address.
 * Admin key only. Secrets stay in memory for one operation; nothing here logs a body.
 */

/** Where a raw operation goes: a catalog, or inline connection fields (all four). */
export interface S3TargetInput {
  client?: string | null;
  catalog?: string | null;
  endpoint?: string | null;
  region?: string | null;
  accessKeyId?: string | null;
  secretKey?: string | null;
  sessionToken?: string | null;
  bucket?: string | null;
}

/** An S3 connection (its client dials only the validated address); `backend` names the host in messages. */
export interface S3Connection {
  endpoint: URL;
  region: string;
  accessKeyId: string;
  secretKey: string;
  sessionToken: string | null;
  bucket: string | null;
  s3: S3Client;
  backend: string;
}

export interface S3CorsRuleInput {
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders?: string[] | null;
  exposeHeaders?: string[] | null;
  maxAgeSeconds?: number | null;
}

export interface S3ObjectUpdateInput {
  acl?: string | null;
  contentType?: string | null;
  cacheControl?: string | null;
  contentDisposition?: string | null;
  contentEncoding?: string | null;
  contentLanguage?: string | null;
  metadata?: Record<string, string> | null;
}

export interface S3LifecycleRuleInput {
  id: string;
  prefix?: string | null;
  enabled?: boolean | null;
  expirationDays?: number | null;
  noncurrentExpirationDays?: number | null;
  abortIncompleteMultipartDays?: number | null;
}

export const cannedAcls = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;

const maxPresignSeconds = 7 * 24 * 3600;
const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function checkKey(key: string | undefined | null, field = 'key'): string {
  if (typeof key !== 'string' || key === '') throw new AthenaInvalidInputError(`${field} is required`);
  if (Buffer.byteLength(key) > 1024) throw new AthenaInvalidInputError(`${field}: at most 1024 bytes`);
  if (key.includes('\u0000')) throw new AthenaInvalidInputError(`${field} must not contain NUL`);
  return key;
}

function checkPrefix(prefix: string | undefined | null, field = 'prefix'): string {
  const p = checkKey(prefix, field);
  return p.endsWith('/') ? p : `${p}/`;
}

/** RFC 3986 encoding as SigV4 wants it (`/` kept in paths). */
function encode(value: string, keepSlash = false): string {
  const e = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? e.replace(/%2F/g, '/') : e;
}

const managedTtlMs = 10_000;
const managedMax = 200;

export class AthenaRawS3Service {
  private readonly managed = new Map<
    string,
    { conn: S3Connection & { bucket: string }; until: number; users: number; retired: boolean }
  >();
  private readonly byConnection = new Map<S3Connection, { conn: S3Connection; users: number; retired: boolean }>();

  constructor(
    private readonly deps: { catalogs: AthenaS3CatalogsService; outbound: OutboundPolicy; config: AthenaConfig },
  ) {}

  private async connect(principal: Principal, target: S3TargetInput, needBucket: boolean): Promise<S3Connection> {
    requireAdmin(principal);
    let raw: Omit<S3Connection, 's3' | 'endpoint' | 'backend'> & { endpoint: string };
    if (target.catalog) {
      const c = await this.deps.catalogs.open(principal, target.client ?? undefined, target.catalog);
      raw = { ...c, bucket: target.bucket ?? c.bucket };
    } else {
      if (!this.deps.config.s3InlineEndpoints) {
        throw new AthenaError(
          's3_inline_endpoint_disabled',
          400,
          'Inline S3 endpoints are disabled on this server (ATRIUM_ATHENA_S3_INLINE_ENDPOINTS); name a stored catalog ' +
            'with `catalog` and X-Athena-Client',
        );
      }
      const { endpoint, region, accessKeyId, secretKey } = target;
      if (!endpoint || !region || !accessKeyId || !secretKey) {
        throw new AthenaInvalidInputError('endpoint, region, access_key_id and secret_key are required (or `catalog`)');
      }
      raw = {
        endpoint,
        region,
        accessKeyId,
        secretKey,
        sessionToken: target.sessionToken ?? null,
        bucket: target.bucket ?? null,
      };
    }
    return this.build(raw, needBucket);
  }

  /**
   * The connection of a stored catalog of `client` for managed storage (G12), which authorises its callers by
   * file permissions before calling this — so no admin check here. `bucket` overrides the catalog's.
   */
  async managedConnection(
    client: string,
    catalogId: string,
    bucket?: string | null,
  ): Promise<S3Connection & { bucket: string }> {
    // Connections are shared for a few seconds (catalog read, secret opened, client and agents built once), so a
    // rotated or deleted catalog reaches managed storage within `managedTtlMs`. Callers hand them back (`release`).
    const key = `${client}\u0000${catalogId.toLowerCase()}\u0000${bucket ?? ''}`;
    const now = Date.now();
    const hit = this.managed.get(key);
    if (hit && hit.until > now) {
      hit.users++;
      return hit.conn;
    }
    if (hit) this.retire(key, hit);
    const c = await this.deps.catalogs.openTrusted(client, catalogId);
    const conn = (await this.build({ ...c, bucket: bucket ?? c.bucket }, true)) as S3Connection & { bucket: string };
    const raced = this.managed.get(key);
    if (raced && raced.until > Date.now()) {
      // Another request built one meanwhile: use it, drop ours.
      conn.s3.destroy();
      raced.users++;
      return raced.conn;
    }
    if (this.managed.size >= managedMax) {
      const oldest = this.managed.entries().next();
      if (!oldest.done) this.retire(oldest.value[0], oldest.value[1]);
    }
    const entry = { conn, until: now + managedTtlMs, users: 1, retired: false };
    this.managed.set(key, entry);
    this.byConnection.set(conn, entry);
    return conn;
  }

  /** Hands a managed connection back; a retired one is destroyed once its last user is done. */
  release(conn: S3Connection): void {
    const e = this.byConnection.get(conn);
    if (!e) {
      conn.s3.destroy();
      return;
    }
    e.users = Math.max(0, e.users - 1);
    if (e.retired && e.users === 0) {
      this.byConnection.delete(conn);
      conn.s3.destroy();
    }
  }

  /** Destroys every shared managed connection (server close). */
  closeManaged(): void {
    for (const [key, e] of this.managed) this.retire(key, e);
  }

  private retire(key: string, e: { conn: S3Connection; users: number; retired: boolean }): void {
    if (this.managed.get(key) === e) this.managed.delete(key);
    e.retired = true;
    if (e.users === 0) {
      this.byConnection.delete(e.conn);
      e.conn.s3.destroy();
    }
  }

  /** An S3 failure as Athena's error (501 for missing features, 404, 409, 502, 503), naming the backend host. */
  failure(err: unknown, op: string, backend: string): unknown {
    return this.mapError(err, op, backend);
  }

  /** A presigned GET or PUT on a connection (see `presign`). */
  presignOn(
    c: S3Connection & { bucket: string },
    method: 'GET' | 'PUT',
    key: string,
    expiresIn: number,
    contentType?: string | null,
  ) {
    return this.presign(c, method, key, expiresIn, contentType);
  }

  private async build(
    raw: Omit<S3Connection, 's3' | 'endpoint' | 'backend'> & { endpoint: string },
    needBucket: boolean,
  ): Promise<S3Connection> {
    if (needBucket && !raw.bucket) throw new AthenaInvalidInputError('bucket is required');
    if (raw.bucket && !bucketPattern.test(raw.bucket)) throw new AthenaInvalidInputError('bucket is not a valid name');
    // "URL or host": a bare host means https.
    const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw.endpoint) ? raw.endpoint : `https://${raw.endpoint}`;
    let validated: Awaited<ReturnType<typeof validateOutboundUrl>>;
    try {
      validated = await validateOutboundUrl(text, this.deps.outbound);
    } catch (err) {
      if (err instanceof OutboundBlockedError) {
        throw new AthenaError('s3_endpoint_refused', 400, `S3 endpoint refused: ${err.reason}`);
      }
      throw err;
    }
    const endpoint = new URL(validated.url.origin);
    const lookup: LookupFunction = (hostname, options, callback) => {
      if (hostname !== validated.host) {
        callback(new Error(`connection to "${hostname}" was not validated`), '', 4);
        return;
      }
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
          { address: validated.address, family: validated.family },
        ]);
      } else {
        callback(null, validated.address, validated.family);
      }
    };
    const s3 = new S3Client({
      endpoint: endpoint.origin,
      region: raw.region,
      credentials: {
        accessKeyId: raw.accessKeyId,
        secretAccessKey: raw.secretKey,
        ...(raw.sessionToken ? { sessionToken: raw.sessionToken } : {}),
      },
      // Path-style always: a virtual-host name would be a host the guard did not validate.
      forcePathStyle: true,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: new http.Agent({ lookup }),
        httpsAgent: new https.Agent({ lookup }),
        connectionTimeout: this.deps.outbound.timeoutMs,
        requestTimeout: this.deps.outbound.timeoutMs,
      },
    });
    return { ...raw, endpoint, s3, backend: endpoint.host };
  }

  private async run<T>(
    principal: Principal,
    target: S3TargetInput,
    needBucket: boolean,
    op: string,
    f: (c: S3Connection & { bucket: string }) => Promise<T>,
  ): Promise<T> {
    const c = await this.connect(principal, target, needBucket);
    try {
      return await f(c as S3Connection & { bucket: string });
    } catch (err) {
      throw this.mapError(err, op, c.backend);
    } finally {
      c.s3.destroy();
    }
  }

  private mapError(err: unknown, op: string, backend: string): unknown {
    if (err instanceof AthenaError) return err;
    if (err instanceof S3ServiceException) {
      const status = err.$metadata?.httpStatusCode;
      const name = err.name;
      // s3rver answers MethodNotAllowed (405) for subresources it lacks (versions, lifecycle); AWS, NotImplemented.
      if (name === 'NotImplemented' || name === 'MethodNotAllowed' || status === 501 || status === 405) {
        return new AthenaError(
          's3_feature_unavailable',
          501,
          `Storage feature not available on this Athena runtime: the S3 backend at ${backend} does not implement ${op}`,
        );
      }
      if (
        ['NoSuchKey', 'NoSuchBucket', 'NotFound', 'NoSuchVersion', 'NoSuchCORSConfiguration'].includes(name) ||
        status === 404
      ) {
        return new AthenaError(
          's3_object_not_found',
          404,
          `${op}: ${name === 'NoSuchBucket' ? 'no such bucket' : 'not found'}`,
        );
      }
      if (name === 'BucketNotEmpty') return new AthenaError('s3_bucket_not_empty', 409, 'The bucket is not empty');
      if (name === 'BucketAlreadyExists' || name === 'BucketAlreadyOwnedByYou') {
        return new AthenaError('s3_conflict', 409, 'The bucket already exists');
      }
      if (['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch'].includes(name) || status === 403) {
        return new AthenaError('s3_credentials_refused', 400, `The S3 backend refused the credentials (${name})`);
      }
      if (name === 'InvalidBucketName' || status === 400) {
        return new AthenaInvalidInputError(`${op}: the S3 backend refused the request (${name})`);
      }
      return new AthenaError('s3_backend_error', 502, `${op}: the S3 backend failed (${name})`);
    }
    const message = err instanceof Error ? err.message : String(err);
    return new AthenaError(
      's3_backend_unavailable',
      503,
      `${op}: the S3 backend at ${backend} is unreachable (${message.slice(0, 200)})`,
    );
  }

  /**
   * A presigned path-style URL on the endpoint as configured (the SDK's presigner over this connection's client:
   * its endpoint, region and credentials). A PUT with a content type signs that header, so the upload must send it.
   */
  private async presign(
    c: S3Connection & { bucket: string },
    method: 'GET' | 'PUT',
    key: string,
    expiresIn: number,
    contentType?: string | null,
  ) {
    const now = new Date();
    const command =
      method === 'GET'
        ? new GetObjectCommand({ Bucket: c.bucket, Key: key })
        : new PutObjectCommand({ Bucket: c.bucket, Key: key, ...(contentType ? { ContentType: contentType } : {}) });
    const url = await getSignedUrl(c.s3, command, {
      expiresIn,
      signingDate: now,
      ...(method === 'PUT' && contentType ? { signableHeaders: new Set(['content-type']) } : {}),
    });
    return {
      url,
      method,
      expires_in: expiresIn,
      expires_at: new Date(now.getTime() + expiresIn * 1000).toISOString(),
    };
  }

  private expires(v: number | null | undefined): number {
    const e = v ?? 3600;
    if (!Number.isInteger(e) || e < 1 || e > maxPresignSeconds) {
      throw new AthenaInvalidInputError(`expires_in must be an integer from 1 to ${maxPresignSeconds}`);
    }
    return e;
  }

  listObjects(
    p: Principal,
    target: S3TargetInput,
    o: {
      prefix?: string | null;
      delimiter?: string | null;
      continuationToken?: string | null;
      maxKeys?: number | null;
    },
  ) {
    const maxKeys = o.maxKeys ?? 200;
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1000) {
      throw new AthenaInvalidInputError('max_keys must be an integer from 1 to 1000');
    }
    let marker: string | undefined;
    if (o.continuationToken) {
      marker = Buffer.from(o.continuationToken, 'base64url').toString('utf8');
      if (!marker.startsWith('k:')) throw new AthenaInvalidInputError('continuation_token is not valid');
      marker = marker.slice(2);
    }
    return this.run(p, target, true, 'ListObjects', async (c) => {
      // ListObjects with Marker: s3rver cannot build v2 continuation tokens on OpenSSL 3 (docs/decisions.md);
      // the continuation token is ours (the last key or prefix of the page), opaque to callers.
      const r = await c.s3.send(
        new ListObjectsCommand({
          Bucket: c.bucket,
          Prefix: o.prefix || undefined,
          Delimiter: o.delimiter || undefined,
          Marker: marker,
          MaxKeys: maxKeys,
        }),
      );
      const objects = (r.Contents ?? []).map((x) => ({
        key: x.Key ?? '',
        size: x.Size ?? 0,
        etag: x.ETag ?? null,
        last_modified: x.LastModified?.toISOString() ?? null,
        storage_class: x.StorageClass ?? null,
      }));
      const prefixes = (r.CommonPrefixes ?? []).map((x) => x.Prefix ?? '');
      const last = r.NextMarker ?? [...objects.map((x) => x.key), ...prefixes].sort().at(-1);
      const next = r.IsTruncated && last ? Buffer.from(`k:${last}`).toString('base64url') : null;
      return {
        bucket: c.bucket,
        prefix: o.prefix ?? null,
        delimiter: o.delimiter ?? null,
        objects,
        common_prefixes: prefixes,
        key_count: objects.length + prefixes.length,
        max_keys: maxKeys,
        is_truncated: r.IsTruncated === true,
        next_continuation_token: next,
      };
    });
  }

  headObject(p: Principal, target: S3TargetInput, key: string) {
    checkKey(key);
    return this.run(p, target, true, 'HeadObject', async (c) => {
      const r = await c.s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: key }));
      return {
        bucket: c.bucket,
        key,
        size: r.ContentLength ?? 0,
        content_type: r.ContentType ?? null,
        etag: r.ETag ?? null,
        last_modified: r.LastModified?.toISOString() ?? null,
        cache_control: r.CacheControl ?? null,
        content_disposition: r.ContentDisposition ?? null,
        content_encoding: r.ContentEncoding ?? null,
        content_language: r.ContentLanguage ?? null,
        version_id: r.VersionId ?? null,
        metadata: r.Metadata ?? {},
      };
    });
  }

  presignGet(p: Principal, target: S3TargetInput, key: string, expiresIn?: number | null) {
    checkKey(key);
    const e = this.expires(expiresIn);
    return this.run(p, target, true, 'presign GET', async (c) => ({
      bucket: c.bucket,
      key,
      ...(await this.presign(c, 'GET', key, e)),
    }));
  }

  presignPut(p: Principal, target: S3TargetInput, key: string, contentType?: string | null, expiresIn?: number | null) {
    checkKey(key);
    const e = this.expires(expiresIn);
    if (contentType && (contentType.length > 255 || /[\r\n]/.test(contentType))) {
      throw new AthenaInvalidInputError('content_type is not valid');
    }
    return this.run(p, target, true, 'presign PUT', async (c) => ({
      bucket: c.bucket,
      key,
      content_type: contentType ?? null,
      headers: contentType ? { 'Content-Type': contentType } : {},
      ...(await this.presign(c, 'PUT', key, e, contentType)),
    }));
  }

  updateObject(p: Principal, target: S3TargetInput, key: string, u: S3ObjectUpdateInput) {
    checkKey(key);
    if (u.acl && !(cannedAcls as readonly string[]).includes(u.acl)) {
      throw new AthenaInvalidInputError(`acl must be one of ${cannedAcls.join(', ')}`);
    }
    if (u.metadata && Object.values(u.metadata).some((v) => typeof v !== 'string')) {
      throw new AthenaInvalidInputError('metadata values must be strings');
    }
    const headers = [u.contentType, u.cacheControl, u.contentDisposition, u.contentEncoding, u.contentLanguage];
    const changesHeaders =
      headers.some((h) => h !== undefined && h !== null) || (u.metadata !== undefined && u.metadata !== null);
    if (!changesHeaders && !u.acl)
      throw new AthenaInvalidInputError('nothing to update: give headers, metadata or acl');
    return this.run(p, target, true, 'UpdateObject', async (c) => {
      if (changesHeaders) {
        const current = await c.s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: key }));
        await c.s3.send(
          new CopyObjectCommand({
            Bucket: c.bucket,
            Key: key,
            CopySource: `${c.bucket}/${encode(key, true)}`,
            MetadataDirective: 'REPLACE',
            ContentType: u.contentType ?? current.ContentType,
            CacheControl: u.cacheControl ?? current.CacheControl,
            ContentDisposition: u.contentDisposition ?? current.ContentDisposition,
            ContentEncoding: u.contentEncoding ?? current.ContentEncoding,
            ContentLanguage: u.contentLanguage ?? current.ContentLanguage,
            Metadata: u.metadata ?? current.Metadata,
          }),
        );
      }
      if (u.acl) {
        await c.s3.send(new PutObjectAclCommand({ Bucket: c.bucket, Key: key, ACL: u.acl as ObjectCannedACL }));
      }
      return { bucket: c.bucket, key, metadata_updated: changesHeaders, acl: u.acl ?? null };
    });
  }

  deleteObject(p: Principal, target: S3TargetInput, key: string) {
    checkKey(key);
    return this.run(p, target, true, 'DeleteObject', async (c) => {
      await c.s3.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: key }));
      return { bucket: c.bucket, key, deleted: true };
    });
  }

  createFolder(p: Principal, target: S3TargetInput, prefix: string) {
    const key = checkPrefix(prefix);
    return this.run(p, target, true, 'PutObject', async (c) => {
      await c.s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: new Uint8Array(0) }));
      return { bucket: c.bucket, prefix: key, created: true };
    });
  }

  /** Every key under `prefix` (paged ListObjects), at most `cap`. */
  private async keysUnder(c: S3Connection & { bucket: string }, prefix: string, cap = 100_000): Promise<string[]> {
    const keys: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const r = await c.s3.send(
        new ListObjectsCommand({ Bucket: c.bucket, Prefix: prefix, Marker: marker, MaxKeys: 1000 }),
      );
      const page = (r.Contents ?? []).map((x) => x.Key ?? '').filter((k) => k !== '');
      keys.push(...page);
      if (keys.length > cap) throw new AthenaInvalidInputError(`more than ${cap} objects under the prefix`);
      if (!r.IsTruncated || page.length === 0) return keys;
      marker = r.NextMarker ?? page.at(-1);
    }
  }

  deleteFolder(p: Principal, target: S3TargetInput, prefix: string) {
    const from = checkPrefix(prefix);
    return this.run(p, target, true, 'DeleteObjects', async (c) => {
      // Deepest keys first, folder placeholders after their contents (file-backed servers such as s3rver prune
      // directories as they go).
      const keys = (await this.keysUnder(c, from)).sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
      const errors: { key: string; code: string; message: string }[] = [];
      let deleted = 0;
      let batchFallbacks = 0;
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        let r: DeleteObjectsCommandOutput;
        try {
          r = await c.s3.send(
            new DeleteObjectsCommand({
              Bucket: c.bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false },
            }),
          );
        } catch (err) {
          // A server-side failure of the whole batch (s3rver races its own directory pruning on multi-key batches):
          // fall back to one DeleteObject per key and report what still fails.
          if (!(err instanceof S3ServiceException) || err.$metadata?.httpStatusCode !== 500) throw err;
          batchFallbacks++;
          for (const key of batch) {
            try {
              await c.s3.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: key }));
              deleted++;
            } catch (e) {
              errors.push({ key, code: (e as Error).name, message: (e as Error).message.slice(0, 200) });
            }
          }
          continue;
        }
        deleted += r.Deleted?.length ?? 0;
        for (const e of r.Errors ?? [])
          errors.push({ key: e.Key ?? '', code: e.Code ?? 'Error', message: e.Message ?? '' });
      }
      return {
        bucket: c.bucket,
        prefix: from,
        deleted,
        failed: errors.length,
        errors,
        batches: Math.ceil(keys.length / 1000),
        batch_fallbacks: batchFallbacks,
      };
    });
  }

  renameFolder(p: Principal, target: S3TargetInput, fromPrefix: string, toPrefix: string) {
    const from = checkPrefix(fromPrefix, 'from_prefix');
    const to = checkPrefix(toPrefix, 'to_prefix');
    if (to.startsWith(from) || from.startsWith(to)) {
      throw new AthenaInvalidInputError('from_prefix and to_prefix must not contain one another');
    }
    return this.run(p, target, true, 'RenameFolder', async (c) => {
      const keys = await this.keysUnder(c, from);
      const moved: string[] = [];
      const failures: { key: string; stage: 'copy' | 'delete'; error: string }[] = [];
      // Not atomic: copy then delete per key; what failed is reported, what moved stays moved.
      for (const key of keys) {
        const dest = to + key.slice(from.length);
        try {
          await c.s3.send(
            new CopyObjectCommand({ Bucket: c.bucket, Key: dest, CopySource: `${c.bucket}/${encode(key, true)}` }),
          );
        } catch (err) {
          failures.push({ key, stage: 'copy', error: (err as Error).name });
          continue;
        }
        try {
          await c.s3.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: key }));
          moved.push(key);
        } catch (err) {
          failures.push({ key, stage: 'delete', error: (err as Error).name });
        }
      }
      return {
        bucket: c.bucket,
        from_prefix: from,
        to_prefix: to,
        total: keys.length,
        moved: moved.length,
        failed: failures.length,
        complete: failures.length === 0,
        failures,
      };
    });
  }

  listBuckets(p: Principal, target: S3TargetInput) {
    return this.run(p, target, false, 'ListBuckets', async (c) => {
      const r = await c.s3.send(new ListBucketsCommand({}));
      return {
        buckets: (r.Buckets ?? []).map((b) => ({
          name: b.Name ?? '',
          created_at: b.CreationDate?.toISOString() ?? null,
        })),
      };
    });
  }

  createBucket(p: Principal, target: S3TargetInput) {
    return this.run(p, target, true, 'CreateBucket', async (c) => {
      await c.s3.send(
        new CreateBucketCommand({
          Bucket: c.bucket,
          ...(c.region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: c.region as never } } : {}),
        }),
      );
      return { bucket: c.bucket, created: true };
    });
  }

  deleteBucket(p: Principal, target: S3TargetInput) {
    return this.run(p, target, true, 'DeleteBucket', async (c) => {
      await c.s3.send(new DeleteBucketCommand({ Bucket: c.bucket }));
      return { bucket: c.bucket, deleted: true };
    });
  }

  getCors(p: Principal, target: S3TargetInput) {
    return this.run(p, target, true, 'GetBucketCors', async (c) => {
      try {
        const r = await c.s3.send(new GetBucketCorsCommand({ Bucket: c.bucket }));
        return {
          bucket: c.bucket,
          rules: (r.CORSRules ?? []).map((x) => ({
            allowed_origins: x.AllowedOrigins ?? [],
            allowed_methods: x.AllowedMethods ?? [],
            allowed_headers: x.AllowedHeaders ?? [],
            expose_headers: x.ExposeHeaders ?? [],
            max_age_seconds: x.MaxAgeSeconds ?? null,
          })),
        };
      } catch (err) {
        if (err instanceof S3ServiceException && err.name === 'NoSuchCORSConfiguration')
          return { bucket: c.bucket, rules: [] };
        throw err;
      }
    });
  }

  setCors(p: Principal, target: S3TargetInput, rules: S3CorsRuleInput[]) {
    if (rules.length === 0 || rules.length > 100) throw new AthenaInvalidInputError('rules: 1 to 100 rules');
    for (const r of rules) {
      if (r.allowedOrigins.length === 0 || r.allowedMethods.length === 0) {
        throw new AthenaInvalidInputError('each rule needs allowed_origins and allowed_methods');
      }
      const bad = r.allowedMethods.find((m) => !['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].includes(m));
      if (bad) throw new AthenaInvalidInputError(`allowed_methods: "${bad}" is not GET, PUT, POST, DELETE or HEAD`);
    }
    return this.run(p, target, true, 'PutBucketCors', async (c) => {
      await c.s3.send(
        new PutBucketCorsCommand({
          Bucket: c.bucket,
          CORSConfiguration: {
            CORSRules: rules.map((r) => ({
              AllowedOrigins: r.allowedOrigins,
              AllowedMethods: r.allowedMethods,
              AllowedHeaders: r.allowedHeaders ?? undefined,
              ExposeHeaders: r.exposeHeaders ?? undefined,
              MaxAgeSeconds: r.maxAgeSeconds ?? undefined,
            })),
          },
        }),
      );
      return { bucket: c.bucket, rules: rules.length, applied: true };
    });
  }

  deleteCors(p: Principal, target: S3TargetInput) {
    return this.run(p, target, true, 'DeleteBucketCors', async (c) => {
      await c.s3.send(new DeleteBucketCorsCommand({ Bucket: c.bucket }));
      return { bucket: c.bucket, deleted: true };
    });
  }

  exists(p: Principal, target: S3TargetInput, key: string) {
    checkKey(key);
    return this.run(p, target, true, 'HeadObject', async (c) => {
      try {
        const r = await c.s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: key }));
        return { bucket: c.bucket, key, exists: true, size: r.ContentLength ?? 0 };
      } catch (err) {
        if (
          err instanceof S3ServiceException &&
          (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404)
        ) {
          return { bucket: c.bucket, key, exists: false, size: null };
        }
        throw err;
      }
    });
  }

  validate(
    p: Principal,
    target: S3TargetInput,
    key: string,
    expect: { size?: number | null; contentType?: string | null; etag?: string | null },
  ) {
    checkKey(key);
    return this.run(p, target, true, 'HeadObject', async (c) => {
      let head: HeadObjectCommandOutput;
      try {
        head = await c.s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: key }));
      } catch (err) {
        if (err instanceof S3ServiceException && (err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404)) {
          return { bucket: c.bucket, key, valid: false, exists: false, problems: ['the object does not exist'] };
        }
        throw err;
      }
      const problems: string[] = [];
      if (expect.size != null && head.ContentLength !== expect.size) {
        problems.push(`size is ${head.ContentLength}, expected ${expect.size}`);
      }
      if (expect.contentType && head.ContentType !== expect.contentType) {
        problems.push(`content type is ${head.ContentType}, expected ${expect.contentType}`);
      }
      const etag = head.ETag?.replace(/"/g, '');
      if (expect.etag && etag !== expect.etag.replace(/"/g, ''))
        problems.push(`etag is ${etag}, expected ${expect.etag}`);
      return {
        bucket: c.bucket,
        key,
        valid: problems.length === 0,
        exists: true,
        size: head.ContentLength ?? 0,
        content_type: head.ContentType ?? null,
        etag: head.ETag ?? null,
        problems,
      };
    });
  }

  /** A public (unsigned) URL: path-style on the endpoint, or virtual-host when asked and the bucket allows it. */
  async publicUrl(p: Principal, target: S3TargetInput, key: string, style: 'path' | 'virtual' = 'path') {
    checkKey(key);
    const c = await this.connect(p, target, true);
    try {
      const bucket = c.bucket as string;
      const url =
        style === 'virtual' && !bucket.includes('.')
          ? `${c.endpoint.protocol}//${bucket}.${c.endpoint.host}/${encode(key, true)}`
          : `${c.endpoint.origin}/${encode(bucket)}/${encode(key, true)}`;
      return { bucket, key, url, style: style === 'virtual' && !bucket.includes('.') ? 'virtual' : 'path' };
    } finally {
      c.s3.destroy();
    }
  }

  copy(
    p: Principal,
    target: S3TargetInput,
    sourceKey: string,
    destinationKey: string,
    destinationBucket?: string | null,
  ) {
    checkKey(sourceKey, 'source_key');
    checkKey(destinationKey, 'destination_key');
    if (destinationBucket && !bucketPattern.test(destinationBucket)) {
      throw new AthenaInvalidInputError('destination_bucket is not a valid name');
    }
    return this.run(p, target, true, 'CopyObject', async (c) => {
      const dest = destinationBucket ?? c.bucket;
      const r = await c.s3.send(
        new CopyObjectCommand({
          Bucket: dest,
          Key: destinationKey,
          CopySource: `${c.bucket}/${encode(sourceKey, true)}`,
        }),
      );
      return {
        source_bucket: c.bucket,
        source_key: sourceKey,
        destination_bucket: dest,
        destination_key: destinationKey,
        etag: r.CopyObjectResult?.ETag ?? null,
        copied: true,
      };
    });
  }

  versions(p: Principal, target: S3TargetInput, key: string) {
    checkKey(key);
    return this.run(p, target, true, 'ListObjectVersions', async (c) => {
      const r = await c.s3.send(new ListObjectVersionsCommand({ Bucket: c.bucket, Prefix: key }));
      return {
        bucket: c.bucket,
        key,
        versions: (r.Versions ?? [])
          .filter((v) => v.Key === key)
          .map((v) => ({
            version_id: v.VersionId ?? null,
            is_latest: v.IsLatest === true,
            size: v.Size ?? 0,
            etag: v.ETag ?? null,
            last_modified: v.LastModified?.toISOString() ?? null,
          })),
        delete_markers: (r.DeleteMarkers ?? [])
          .filter((v) => v.Key === key)
          .map((v) => ({ version_id: v.VersionId ?? null, is_latest: v.IsLatest === true })),
      };
    });
  }

  restoreVersion(p: Principal, target: S3TargetInput, key: string, versionId: string) {
    checkKey(key);
    checkKey(versionId, 'version_id');
    return this.run(p, target, true, 'ListObjectVersions', async (c) => {
      // Refuse before copying when the backend has no versioning (a plain copy would fake a restore).
      await c.s3.send(new ListObjectVersionsCommand({ Bucket: c.bucket, Prefix: key, MaxKeys: 1 }));
      const r = await c.s3.send(
        new CopyObjectCommand({
          Bucket: c.bucket,
          Key: key,
          CopySource: `${c.bucket}/${encode(key, true)}?versionId=${encode(versionId)}`,
        }),
      );
      return { bucket: c.bucket, key, restored_version_id: versionId, version_id: r.VersionId ?? null, restored: true };
    });
  }

  deleteVersion(p: Principal, target: S3TargetInput, key: string, versionId: string) {
    checkKey(key);
    checkKey(versionId, 'version_id');
    return this.run(p, target, true, 'ListObjectVersions', async (c) => {
      await c.s3.send(new ListObjectVersionsCommand({ Bucket: c.bucket, Prefix: key, MaxKeys: 1 }));
      await c.s3.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: key, VersionId: versionId }));
      return { bucket: c.bucket, key, version_id: versionId, deleted: true };
    });
  }

  getLifecycle(p: Principal, target: S3TargetInput) {
    return this.run(p, target, true, 'GetBucketLifecycleConfiguration', async (c) => {
      try {
        const r = await c.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: c.bucket }));
        return {
          bucket: c.bucket,
          rules: (r.Rules ?? []).map((x) => ({
            id: x.ID ?? null,
            prefix: x.Filter?.Prefix ?? x.Prefix ?? null,
            enabled: x.Status === 'Enabled',
            expiration_days: x.Expiration?.Days ?? null,
            noncurrent_expiration_days: x.NoncurrentVersionExpiration?.NoncurrentDays ?? null,
            abort_incomplete_multipart_days: x.AbortIncompleteMultipartUpload?.DaysAfterInitiation ?? null,
          })),
        };
      } catch (err) {
        if (err instanceof S3ServiceException && err.name === 'NoSuchLifecycleConfiguration') {
          return { bucket: c.bucket, rules: [] };
        }
        throw err;
      }
    });
  }

  setLifecycle(p: Principal, target: S3TargetInput, rules: S3LifecycleRuleInput[]) {
    if (rules.length === 0 || rules.length > 1000) throw new AthenaInvalidInputError('rules: 1 to 1000 rules');
    for (const r of rules) {
      if (!r.id || r.id.length > 255)
        throw new AthenaInvalidInputError('each rule needs an id (at most 255 characters)');
      const days = [r.expirationDays, r.noncurrentExpirationDays, r.abortIncompleteMultipartDays];
      if (days.every((d) => d == null)) throw new AthenaInvalidInputError(`rule ${r.id}: give at least one action`);
      if (days.some((d) => d != null && (!Number.isInteger(d) || d < 1 || d > 36_500))) {
        throw new AthenaInvalidInputError(`rule ${r.id}: days must be integers from 1 to 36500`);
      }
    }
    return this.run(p, target, true, 'PutBucketLifecycleConfiguration', async (c) => {
      await c.s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: c.bucket,
          LifecycleConfiguration: {
            Rules: rules.map((r) => ({
              ID: r.id,
              Filter: { Prefix: r.prefix ?? '' },
              Status: r.enabled === false ? 'Disabled' : 'Enabled',
              ...(r.expirationDays ? { Expiration: { Days: r.expirationDays } } : {}),
              ...(r.noncurrentExpirationDays
                ? { NoncurrentVersionExpiration: { NoncurrentDays: r.noncurrentExpirationDays } }
                : {}),
              ...(r.abortIncompleteMultipartDays
                ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.abortIncompleteMultipartDays } }
                : {}),
            })),
          },
        }),
      );
      return { bucket: c.bucket, rules: rules.length, applied: true };
    });
  }

  deleteLifecycle(p: Principal, target: S3TargetInput) {
    return this.run(p, target, true, 'DeleteBucketLifecycle', async (c) => {
      await c.s3.send(new DeleteBucketLifecycleCommand({ Bucket: c.bucket }));
      return { bucket: c.bucket, deleted: true };
    });
  }
}
