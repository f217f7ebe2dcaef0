import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  type CreateBucketCommandInput,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import { DomainError, InvalidInputError } from './errors.ts';
import type { Logger } from './logger.ts';

/** Metadata of a stored object. `etag` is passed through as the backend returns it (usually quoted). */
export interface ObjectInfo {
  key: string;
  size: number;
  contentType?: string;
  etag?: string;
  lastModified?: Date;
}

export interface StoredObject {
  body: Buffer;
  size: number;
  contentType?: string;
  etag?: string;
  lastModified?: Date;
}

export interface ListObjectsOptions {
  /** Page size, 1–1000 (the S3 maximum); default 1000. */
  limit?: number;
  /** Exclusive lower bound: a `nextToken` from the previous page (or any key). */
  after?: string;
}

export interface ListObjectsResult {
  keys: string[];
  /** The same page with sizes and ETags (list responses carry no content type). */
  objects: ObjectInfo[];
  /** Pass as `after` to get the next page; undefined on the last page. */
  nextToken: string | undefined;
}

/** Object storage, always spoken to through the S3 protocol (embedded server by default, any S3 endpoint by config). */
export interface ObjectStore {
  readonly bucket: string;
  readonly endpoint: string;
  /** True when the store is the embedded S3 server started by this process. */
  readonly embedded: boolean;
  putObject(
    key: string,
    body: Buffer | Uint8Array | string,
    opts?: { contentType?: string },
  ): Promise<{ etag?: string }>;
  /** Resolves null when the key does not exist; a missing bucket is still an error. */
  getObject(key: string): Promise<StoredObject | null>;
  headObject(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing key succeeds, as in S3. */
  deleteObject(key: string): Promise<void>;
  listObjects(prefix: string, opts?: ListObjectsOptions): Promise<ListObjectsResult>;
  /** Readiness probe: a HeadBucket bounded by a short timeout; throws when the backend is unreachable. */
  check(): Promise<void>;
  /** Destroys the client and stops the embedded server (freeing its port). Idempotent. */
  close(): Promise<void>;
}

export interface ObjectStoreOptions {
  /** Upper bound for one operation, SDK retries included. Default 30 000 ms. */
  timeoutMs?: number;
  /** Upper bound for check(). Default 2 000 ms. */
  checkTimeoutMs?: number;
}

/** Rejected object key. A DomainError because keys often derive from user input (file names, paths). */
export class InvalidObjectKeyError extends DomainError {
  override code = 'INVALID_OBJECT_KEY';
  override httpStatus = 400;
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Invalid object key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key)}: ${reason}`);
    this.name = 'InvalidObjectKeyError';
  }
}

/** Backend failure (unreachable, timed out, access denied, unsupported feature): not the caller's fault. */
export class ObjectStoreError extends Error {
  constructor(
    message: string,
    readonly operation: string,
    /** S3 error code (`NoSuchBucket`, `AccessDenied`, `NotImplemented`, …), a Node error code, `Timeout` or `Closed`. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreError';
  }
}

export const maxObjectKeyBytes = 1024;
// s3rver stores `<segment>._S3rver_metadata.json` files; with NAME_MAX 255 the last segment gets 233 bytes.
const embeddedMaxLeafBytes = 255 - '._S3rver_metadata.json'.length;
const embeddedMaxDirBytes = 255;
const embeddedCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const maxPageSize = 1000;

// Stricter than S3 itself: `.`/`..` and empty segments get normalised away by URL handling and by
// file-backed stores, so two different keys could alias one object; control characters cannot be
// returned in XML listings.
/** Throws InvalidObjectKeyError unless `key` is safe on every backend we support. */
export function validateObjectKey(key: string, opts: { embedded?: boolean } = {}): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidObjectKeyError(String(key), 'must not be empty');
  if (/\p{Surrogate}/u.test(key)) throw new InvalidObjectKeyError(key, 'is not well-formed Unicode');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > maxObjectKeyBytes) {
    throw new InvalidObjectKeyError(key, `is ${bytes} bytes of UTF-8; the limit is ${maxObjectKeyBytes}`);
  }
  if (key.includes('\0')) throw new InvalidObjectKeyError(key, 'must not contain NUL');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0001-\u001f\u007f]/.test(key)) throw new InvalidObjectKeyError(key, 'must not contain control characters');
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, 'must not start with "/"');
  const segments = key.split('/');
  segments.forEach((segment, i) => {
    if (segment === '..' || segment === '.') {
      throw new InvalidObjectKeyError(key, `must not contain "${segment}" path segments`);
    }
    // A trailing "/" (folder marker) is fine; "a//b" is not.
    if (segment === '' && i < segments.length - 1) throw new InvalidObjectKeyError(key, 'must not contain "//"');
    if (opts.embedded) {
      const limit = i === segments.length - 1 ? embeddedMaxLeafBytes : embeddedMaxDirBytes;
      if (Buffer.byteLength(segment, 'utf8') > limit) {
        throw new InvalidObjectKeyError(
          key,
          `the embedded object store keeps keys as files, so each "/"-separated segment is limited to ${limit} bytes`,
        );
      }
    }
  });
}

function validateListBound(value: string, what: string): void {
  if (typeof value !== 'string') throw new InvalidInputError(`${what} must be a string`);
  if (Buffer.byteLength(value, 'utf8') > maxObjectKeyBytes) {
    throw new InvalidInputError(`${what} exceeds ${maxObjectKeyBytes} bytes`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new InvalidInputError(`${what} must not contain control characters`);
}

/** The embedded S3 server: s3rver and src/core/s3rver-extension.ts in a worker thread (embedded-s3.worker.ts). */
interface EmbeddedServer {
  endpoint: string;
  close(): Promise<void>;
}

async function startEmbeddedServer(directory: string, log: Logger): Promise<EmbeddedServer> {
  await mkdir(directory, { recursive: true });
  // Its own thread: s3rver hashes every byte and streams files; on the server's event loop that work would
  // compete with the requests that proxy those same bytes. Deployments with a real S3 never start it.
  const worker = new Worker(new URL('./embedded-s3.worker.ts', import.meta.url), { workerData: { directory } });
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the embedded S3 server exited (${code}) before listening`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (m: { port: number }) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      resolve(m.port);
    });
  });
  let exited = false;
  worker.on('error', (err) => log.error({ err }, 'embedded S3 server failed'));
  worker.once('exit', () => {
    exited = true;
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      if (exited) return;
      const done = new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.once('message', (m) => {
          if (m === 'closed') void worker.terminate();
        });
      });
      worker.postMessage('close');
      // A wedged thread must not hold shutdown: 5 s, then it is terminated.
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await done;
      clearTimeout(timer);
    },
  };
}

/** Connects to config.s3 (or starts an embedded S3 server under dataDir) and makes sure the bucket exists. */
export async function createObjectStore(
  config: Pick<Config, 's3' | 's3Bucket' | 'dataDir'>,
  logger: Logger,
  options: ObjectStoreOptions = {},
): Promise<ObjectStore> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  const bucket = config.s3Bucket;
  const log = logger.child({ component: 'object-store' });

  let embeddedServer: EmbeddedServer | undefined;
  let endpoint: string;
  let region: string;
  let credentials: { accessKeyId: string; secretAccessKey: string };
  let forcePathStyle: boolean;
  if (config.s3) {
    ({ endpoint, region, forcePathStyle } = config.s3);
    credentials = { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey };
  } else {
    const directory = path.join(config.dataDir, 's3');
    embeddedServer = await startEmbeddedServer(directory, log);
    endpoint = embeddedServer.endpoint;
    region = 'us-east-1';
    credentials = embeddedCredentials;
    forcePathStyle = true;
    log.debug({ endpoint, directory }, 'embedded S3 server started');
  }
  const embedded = embeddedServer !== undefined;

  const client = new S3Client({
    endpoint,
    region,
    credentials,
    forcePathStyle,
    // Default CRC checksums (SDK ≥ 3.729) are rejected by many S3-compatible servers; send them only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  let closed = false;

  async function send<T>(
    operation: string,
    key: string | undefined,
    run: (signal: AbortSignal) => Promise<T>,
    ms = timeoutMs,
  ): Promise<T> {
    if (closed) throw new ObjectStoreError(`object store is closed (${operation})`, operation, 'Closed');
    const signal = AbortSignal.timeout(ms);
    try {
      return await run(signal);
    } catch (err) {
      throw toStoreError(err, operation, key, signal.aborted, ms);
    }
  }

  function toStoreError(err: unknown, operation: string, key: string | undefined, timedOut: boolean, ms: number) {
    if (err instanceof ObjectStoreError || err instanceof DomainError) return err;
    const target = key === undefined ? `bucket "${bucket}"` : `"${key}" in bucket "${bucket}"`;
    if (timedOut) {
      return new ObjectStoreError(
        `object store ${operation} of ${target} timed out after ${ms} ms`,
        operation,
        'Timeout',
        {
          cause: err,
        },
      );
    }
    const code = errorCode(err) ?? 'Unknown';
    const status = httpStatus(err);
    let detail = err instanceof Error ? err.message : String(err);
    if (code === 'NotImplemented' || status === 501) {
      detail = `the object store backend at ${endpoint} does not support this operation (${detail})`;
    } else if (code === 'NoSuchBucket') {
      detail = `bucket "${bucket}" does not exist`;
    } else if (code === 'NotFound' && key === undefined) {
      detail = `bucket "${bucket}" does not exist or is not accessible`;
    }
    return new ObjectStoreError(
      `object store ${operation} of ${target} failed: ${code}${status ? ` (HTTP ${status})` : ''}: ${detail}`,
      operation,
      code,
      { cause: err },
    );
  }

  const headBucket = (ms = timeoutMs) =>
    send(
      'headBucket',
      undefined,
      (abortSignal) => client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal }),
      ms,
    );

  async function ensureBucket(): Promise<void> {
    try {
      await headBucket();
      return;
    } catch (err) {
      if (!(err instanceof ObjectStoreError && isNotFound(err.cause))) throw err;
    }
    const input: CreateBucketCommandInput = { Bucket: bucket };
    // us-east-1 is the one region that rejects an explicit LocationConstraint.
    if (region !== 'us-east-1')
      input.CreateBucketConfiguration = { LocationConstraint: region as BucketLocationConstraint };
    try {
      await send('createBucket', undefined, (abortSignal) =>
        client.send(new CreateBucketCommand(input), { abortSignal }),
      );
      log.info({ bucket }, 'bucket created');
    } catch (err) {
      // Another process (or replica) created it between our HEAD and PUT; confirm it is usable by us.
      const code = err instanceof ObjectStoreError ? err.code : undefined;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
      await headBucket();
    }
  }

  const closeEmbedded = async () => {
    if (!embeddedServer) return;
    const server = embeddedServer;
    embeddedServer = undefined;
    await server.close();
  };

  try {
    await ensureBucket();
  } catch (err) {
    client.destroy();
    await closeEmbedded().catch(() => {});
    throw err;
  }

  return {
    bucket,
    endpoint,
    embedded,

    async putObject(key, body, opts = {}) {
      validateObjectKey(key, { embedded });
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const contentType =
        opts.contentType ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
      const out = await send('putObject', key, (abortSignal) =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: bytes,
            ContentType: contentType,
            ContentLength: bytes.byteLength,
          }),
          { abortSignal },
        ),
      );
      return out.ETag === undefined ? {} : { etag: out.ETag };
    },

    async getObject(key) {
      validateObjectKey(key, { embedded });
      try {
        return await send('getObject', key, async (abortSignal) => {
          const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
          if (!out.Body) throw new Error('response has no body');
          // The SDK's abort handling may end once headers arrive; keep bounding the body read.
          const stream = out.Body as { destroy?: (err?: Error) => void };
          const onAbort = () => stream.destroy?.(new Error('aborted'));
          abortSignal.addEventListener('abort', onAbort, { once: true });
          let bytes: Uint8Array;
          try {
            bytes = await out.Body.transformToByteArray();
          } finally {
            abortSignal.removeEventListener('abort', onAbort);
          }
          const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          return {
            body,
            size: body.byteLength,
            ...(out.ContentType === undefined ? {} : { contentType: out.ContentType }),
            ...(out.ETag === undefined ? {} : { etag: out.ETag }),
            ...(out.LastModified === undefined ? {} : { lastModified: out.LastModified }),
          };
        });
      } catch (err) {
        // Only NoSuchKey means "missing": a 404 NoSuchBucket is a misconfiguration and must surface.
        if (err instanceof ObjectStoreError && err.code === 'NoSuchKey') return null;
        throw err;
      }
    },

    async headObject(key) {
      validateObjectKey(key, { embedded });
      try {
        const out = await send('headObject', key, (abortSignal) =>
          client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
        );
        return {
          key,
          size: out.ContentLength ?? 0,
          ...(out.ContentType === undefined ? {} : { contentType: out.ContentType }),
          ...(out.ETag === undefined ? {} : { etag: out.ETag }),
          ...(out.LastModified === undefined ? {} : { lastModified: out.LastModified }),
        };
      } catch (err) {
        // HEAD responses carry no error body, so a missing key arrives as a bare 404 ("NotFound").
        if (err instanceof ObjectStoreError && isNotFound(err.cause)) return null;
        throw err;
      }
    },

    async deleteObject(key) {
      validateObjectKey(key, { embedded });
      await send('deleteObject', key, (abortSignal) =>
        client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
      );
    },

    async listObjects(prefix, opts = {}) {
      validateListBound(prefix, 'prefix');
      if (opts.after !== undefined) validateListBound(opts.after, 'after');
      const limit = opts.limit ?? maxPageSize;
      if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
        throw new InvalidInputError(`list limit must be an integer between 1 and ${maxPageSize} (got ${limit})`);
      }
      // ListObjects (v1) with Marker rather than v2: s3rver builds v2 continuation tokens with DES, which
      // OpenSSL 3 (Node ≥ 17) refuses, so every truncated v2 listing fails there. v1 works on every backend.
      const out = await send('listObjects', undefined, (abortSignal) =>
        client.send(
          new ListObjectsCommand({
            Bucket: bucket,
            Prefix: prefix === '' ? undefined : prefix,
            Marker: opts.after === '' ? undefined : opts.after,
            MaxKeys: limit,
          }),
          { abortSignal },
        ),
      );
      const objects: ObjectInfo[] = (out.Contents ?? []).flatMap((o) =>
        o.Key === undefined
          ? []
          : [
              {
                key: o.Key,
                size: o.Size ?? 0,
                ...(o.ETag === undefined ? {} : { etag: o.ETag }),
                ...(o.LastModified === undefined ? {} : { lastModified: o.LastModified }),
              },
            ],
      );
      // Without a delimiter S3 omits NextMarker; the last key returned is the marker by definition.
      const nextToken = out.IsTruncated ? (out.NextMarker ?? objects.at(-1)?.key) : undefined;
      return { keys: objects.map((o) => o.key), objects, nextToken };
    },

    async check() {
      await headBucket(checkTimeoutMs);
    },

    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
      const wasEmbedded = embeddedServer !== undefined;
      await closeEmbedded();
      if (wasEmbedded) log.debug('embedded S3 server stopped');
    },
  };
}

function errorCode(err: unknown): string | undefined {
  if (err instanceof S3ServiceException) return err.name;
  if (!err || typeof err !== 'object') return undefined;
  // Node network errors (ECONNREFUSED, ECONNRESET, …) carry the useful part in `code`.
  const { code, name } = err as { code?: unknown; name?: unknown };
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : undefined;
}

function httpStatus(err: unknown): number | undefined {
  if (err && typeof err === 'object' && '$metadata' in err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
  return undefined;
}

function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchBucket' || httpStatus(err) === 404;
}
