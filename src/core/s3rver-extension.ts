// What s3rver (the embedded object store) lacks or gets unsafe, answered in front of its router:
//   - ListParts and AbortMultipartUpload (s3rver has neither);
//   - CompleteMultipartUpload, checked (ids, part numbers, ETags) before s3rver's store assembles the parts;
//   - UploadPart, checked and then handed to s3rver;
//   - PutObject, streamed to a staging file and renamed into place only once the whole body arrived (s3rver writes
//     into the object's own file, so a cut-off upload truncated the existing object, and it answered before its
//     file write had finished).
// Everything else passes through untouched.
//
// This is a Koa middleware placed in s3rver's own chain just before its router; the requests it answers go
// through s3rver's own CORS, website and authentication middlewares first, as the router would run them, so they
// still arrive over HTTP on loopback, and errors come back in s3rver's XML error shape. State is s3rver's
// filesystem store: an upload is the directory `<bucket>/._S3rver_uploads/<uploadId>/` holding `key`,
// `metadata`, and per part `<n>` plus `<n>.md5`; staged PUT bodies live in `<bucket>/._S3rver_staging/`.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// Minimal typing of the s3rver internals used here (CommonJS, no declarations).
interface S3rverStore {
  rootDirectory: string;
  getBucket(bucket: string): Promise<unknown | null>;
  getBucketPath(bucket: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5: string): Promise<void>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
}
type S3ErrorConstructor = new (code: string, message?: string, detail?: Record<string, unknown>) => Error;
interface XmlParser {
  validate(xml: string): true | unknown;
  parse(xml: string, options?: Record<string, unknown>): unknown;
}
interface KoaContext {
  method: string;
  set(field: string, value: string): void;
  path: string;
  href: string;
  query: Record<string, string | string[] | undefined>;
  params?: Record<string, string>;
  req: NodeJS.ReadableStream & { headers: Record<string, string | string[] | undefined> };
  status: number;
  body: unknown;
  type: string;
  mountPath?: string;
}
type Next = () => Promise<unknown>;
export type KoaMiddleware = (ctx: KoaContext, next: Next) => Promise<unknown>;

const s3rverRequire = createRequire(createRequire(import.meta.url).resolve('s3rver'));
const S3Error = s3rverRequire('./models/error') as S3ErrorConstructor;
// The middlewares s3rver's router runs for every object request, in its order.
const frontChain = [
  (s3rverRequire('./middleware/cors') as () => KoaMiddleware)(),
  (s3rverRequire('./middleware/website') as () => KoaMiddleware)(),
  (s3rverRequire('./middleware/authentication') as () => KoaMiddleware)(),
];
// The query parameters s3rver's router reads as a sub-resource (`?tagging`, `?uploadId`, …): a PUT without any of
// them is PutObject, whatever else the query holds (SDKs add `x-id`, presigned URLs `X-Amz-*`).
const subresources = new Set<string>([
  ...(s3rverRequire('./controllers/bucket') as { METHODS: string[] }).METHODS,
  ...(s3rverRequire('./controllers/object') as { METHODS: string[] }).METHODS,
]);
const S3Object = s3rverRequire('./models/object') as new (
  bucket: string,
  key: string,
  content: null,
  headers: Record<string, unknown>,
) => { metadata: Record<string, unknown> };
const { DUMMY_ACCOUNT } = s3rverRequire('./models/account') as { DUMMY_ACCOUNT: { id: number; displayName: string } };
// The XML parser s3rver itself depends on, resolved from s3rver's location.
const xmlParser = s3rverRequire('fast-xml-parser') as XmlParser;
const he = s3rverRequire('he') as { decode(text: string): string };

const xmlns = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** s3rver's upload ids: 16 random bytes in hex. Anything else cannot name an upload (and must not reach a path). */
const uploadIdPattern = /^[0-9a-f]{32}$/;
const maxPartNumber = 10_000;
const stagingDirName = '._S3rver_staging';
const maxListParts = 1000;
/** CompleteMultipartUpload bodies: 10 000 parts at well under 200 bytes each. */
const maxCompleteBodyBytes = 2 * 1024 * 1024;

const noSuchUpload = (uploadId: string) =>
  new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );

function singleQuery(ctx: KoaContext, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) {
    throw new S3Error('InvalidArgument', `Query parameter ${name} was given more than once`, { ArgumentName: name });
  }
  return value;
}

/** A canonical decimal integer within [min, max], or an InvalidArgument error naming the parameter. */
function integerArgument(value: string, name: string, min: number, max: number, message?: string): number {
  const n = /^(0|[1-9]\d{0,8})$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new S3Error('InvalidArgument', message ?? `Argument ${name} must be an integer between ${min} and ${max}`, {
      ArgumentName: name,
      ArgumentValue: value,
    });
  }
  return n;
}

/** Splits `/<bucket>/<key>` the way s3rver's router does (each part percent-decoded); undefined when not an object path. */
function objectPath(ctx: KoaContext): { bucket: string; key: string } | undefined {
  const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  if (!match) return undefined;
  try {
    return { bucket: decodeURIComponent(match[1] as string), key: decodeURIComponent(match[2] as string) };
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  }
}

/** Runs s3rver's per-object middlewares (CORS, website, authentication), then `handler`. */
function throughFrontChain(ctx: KoaContext, handler: Next): Promise<unknown> {
  const step = (i: number): Promise<unknown> =>
    i === frontChain.length ? handler() : (frontChain[i] as KoaMiddleware)(ctx, () => step(i + 1));
  return step(0);
}

/** Bodies in SigV4 streaming (aws-chunked) framing: s3rver would store the chunk signatures as data. */
function refuseChunkedSigning(ctx: KoaContext): void {
  const sha = ctx.req.headers['x-amz-content-sha256'];
  const encoding = ctx.req.headers['content-encoding'];
  if (
    (typeof sha === 'string' && sha.startsWith('STREAMING-')) ||
    (typeof encoding === 'string' && /aws-chunked/i.test(encoding))
  ) {
    throw new S3Error('NotImplemented', 'aws-chunked (streaming SigV4) request bodies are not supported');
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return undefined;
    }
    throw err;
  }
}

interface StoredPart {
  number: number;
  md5: string;
  size: number;
  lastModified: Date;
}

/** The finished parts of an upload, ascending. A part still being written has no `.md5` file yet and is left out. */
async function listStoredParts(uploadDir: string): Promise<StoredPart[]> {
  const names = await readdir(uploadDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const present = new Set(names);
  const numbers = names
    .filter((n) => /^[1-9]\d{0,4}$/.test(n) && Number(n) <= maxPartNumber && present.has(`${n}.md5`))
    .map(Number)
    .sort((a, b) => a - b);
  const parts = await Promise.all(
    numbers.map(async (number): Promise<StoredPart | undefined> => {
      const file = path.join(uploadDir, String(number));
      const [md5, info] = await Promise.all([
        readOptional(`${file}.md5`),
        stat(file).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw err;
        }),
      ]);
      return md5 === undefined || info === undefined
        ? undefined
        : { number, md5: md5.trim(), size: info.size, lastModified: info.mtime };
    }),
  );
  return parts.filter((p): p is StoredPart => p !== undefined);
}

function readBody(ctx: KoaContext, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const req = ctx.req;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeListener('data', onData);
        req.resume();
        reject(new S3Error('MaxMessageLengthExceeded', 'Your request was too big.'));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

interface RequestedPart {
  number: number;
  etag: string;
}

function parseCompleteBody(xml: string): RequestedPart[] {
  const malformed = () =>
    new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
    );
  if (xml.trim() === '' || xmlParser.validate(xml) !== true) throw malformed();
  // Values stay strings: a PartNumber must be canonical decimal and an ETag is opaque text.
  const doc = xmlParser.parse(xml, {
    parseNodeValue: false,
    ignoreAttributes: true,
    tagValueProcessor: (value: string) => he.decode(value),
  }) as {
    CompleteMultipartUpload?: { Part?: unknown };
  };
  const root = doc.CompleteMultipartUpload;
  if (!root || typeof root !== 'object' || root.Part === undefined) throw malformed();
  const parts = ([] as unknown[]).concat(root.Part);
  return parts.map((p) => {
    if (!p || typeof p !== 'object') throw malformed();
    const { PartNumber, ETag } = p as { PartNumber?: unknown; ETag?: unknown };
    if (typeof PartNumber !== 'string' || typeof ETag !== 'string') throw malformed();
    return {
      number: integerArgument(
        PartNumber.trim(),
        'PartNumber',
        1,
        maxPartNumber,
        'Part number must be an integer between 1 and 10000, inclusive',
      ),
      // S3 compares ETags without their quotes.
      etag: ETag.replace(/"/g, '').trim(),
    };
  });
}

async function clearStaging(root: string): Promise<void> {
  const buckets = await readdir(root).catch(() => [] as string[]);
  await Promise.all(buckets.map((b) => rm(path.join(root, b, stagingDirName), { recursive: true, force: true })));
}

/**
 * Koa middleware for s3rver's chain. `store` is s3rver's FilesystemStore (`server.store`).
 * Operations on one upload id run one at a time, so an abort cannot pull parts from under a running complete.
 */
export async function s3rverExtension(store: S3rverStore): Promise<KoaMiddleware> {
  // Staged bodies left by a crash are garbage: nothing refers to them. Cleared before the server listens.
  await clearStaging(store.rootDirectory);
  const queues = new Map<string, Promise<unknown>>();

  function serialized<T>(uploadId: string, run: () => Promise<T>): Promise<T> {
    const previous = queues.get(uploadId) ?? Promise.resolve();
    const current = previous.then(run, run);
    const settled = current.then(
      () => {},
      () => {},
    );
    queues.set(uploadId, settled);
    void settled.then(() => {
      if (queues.get(uploadId) === settled) queues.delete(uploadId);
    });
    return current;
  }

  /** The upload's directory after checking that the id names an open upload of this very key. */
  async function openUpload(bucket: string, key: string, uploadId: string): Promise<string> {
    if (!(await store.getBucket(bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    }
    if (!uploadIdPattern.test(uploadId)) throw noSuchUpload(uploadId);
    const uploadDir = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    const storedKey = await readOptional(path.join(uploadDir, 'key'));
    if (storedKey !== key) throw noSuchUpload(uploadId);
    return uploadDir;
  }

  async function listParts(ctx: KoaContext, bucket: string, key: string, uploadId: string) {
    const maxPartsArg = singleQuery(ctx, 'max-parts');
    const markerArg = singleQuery(ctx, 'part-number-marker');
    const maxParts = maxPartsArg === undefined ? maxListParts : integerArgument(maxPartsArg, 'max-parts', 0, 2 ** 31);
    const marker =
      markerArg === undefined || markerArg === ''
        ? 0
        : integerArgument(markerArg, 'part-number-marker', 0, 2 ** 31 - 1);
    const pageSize = Math.min(maxParts, maxListParts);
    const uploadDir = await openUpload(bucket, key, uploadId);
    const after = (await listStoredParts(uploadDir)).filter((p) => p.number > marker);
    const page = after.slice(0, pageSize);
    const truncated = after.length > page.length;
    const owner = { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName };
    ctx.body = {
      ListPartsResult: {
        '@': { xmlns },
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        Initiator: owner,
        Owner: owner,
        StorageClass: 'STANDARD',
        PartNumberMarker: marker,
        ...(page.length > 0 ? { NextPartNumberMarker: (page.at(-1) as StoredPart).number } : {}),
        MaxParts: pageSize,
        IsTruncated: truncated,
        ...(page.length > 0
          ? {
              Part: page.map((p) => ({
                PartNumber: p.number,
                LastModified: p.lastModified.toISOString(),
                ETag: JSON.stringify(p.md5),
                Size: p.size,
              })),
            }
          : {}),
      },
    };
  }

  async function abort(ctx: KoaContext, bucket: string, key: string, uploadId: string) {
    const uploadDir = await openUpload(bucket, key, uploadId);
    // The key file goes first: from then on the upload is gone for every other request, even if removing
    // the parts fails half-way.
    await rm(path.join(uploadDir, 'key'), { force: true });
    await rm(uploadDir, { recursive: true, force: true });
    ctx.status = 204;
    ctx.body = null;
  }

  async function complete(ctx: KoaContext, bucket: string, key: string, uploadId: string, body: string) {
    const requested = parseCompleteBody(body);
    const uploadDir = await openUpload(bucket, key, uploadId);
    for (let i = 1; i < requested.length; i++) {
      if ((requested[i] as RequestedPart).number <= (requested[i - 1] as RequestedPart).number) {
        throw new S3Error(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
          {
            UploadId: uploadId,
          },
        );
      }
    }
    const stored = new Map((await listStoredParts(uploadDir)).map((p) => [p.number, p]));
    for (const part of requested) {
      if (stored.get(part.number)?.md5 !== part.etag) {
        throw new S3Error(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
          { UploadId: uploadId, PartNumber: part.number, ETag: part.etag },
        );
      }
    }
    // Assembled into a staging file and renamed into place, like PutObject; the ETag is S3's for a multipart
    // object (MD5 of the parts' binary MD5s, then "-<count>"), so no second pass over the bytes.
    const stored0 = requested.map((p) => stored.get(p.number) as StoredPart);
    const { metadata } = new S3Object(
      bucket,
      key,
      null,
      JSON.parse((await readOptional(path.join(uploadDir, 'metadata'))) ?? '{}') as Record<string, unknown>,
    );
    const etag = `${createHash('md5')
      .update(Buffer.concat(stored0.map((p) => Buffer.from(p.md5, 'hex'))))
      .digest('hex')}-${stored0.length}`;
    const temp = await stagingFile(bucket);
    try {
      await pipeline(async function* () {
        for (const part of stored0) yield* createReadStream(path.join(uploadDir, String(part.number)));
      }, createWriteStream(temp));
      await commit(bucket, key, temp, metadata, etag);
    } finally {
      await rm(temp, { force: true });
    }
    await rm(path.join(uploadDir, 'key'), { force: true });
    await rm(uploadDir, { recursive: true, force: true });
    ctx.body = {
      CompleteMultipartUploadResult: {
        '@': { xmlns },
        Location: ctx.href.split('?')[0],
        Bucket: bucket,
        Key: key,
        ETag: JSON.stringify(etag),
      },
    };
  }

  async function stagingFile(bucket: string): Promise<string> {
    const staging = path.join(store.getBucketPath(bucket), stagingDirName);
    await mkdir(staging, { recursive: true });
    return path.join(staging, randomBytes(16).toString('hex'));
  }

  /** Moves a fully written staging file onto the object, then writes s3rver's ETag and metadata files. */
  async function commit(bucket: string, key: string, temp: string, metadata: Record<string, unknown>, etag: string) {
    const objectFile = store.getResourcePath(bucket, key, 'object');
    // s3rver prunes empty directories when it deletes an object, which can remove ours between mkdir and
    // rename: retry the pair a few times.
    for (let attempt = 1; ; attempt++) {
      await mkdir(path.dirname(objectFile), { recursive: true });
      try {
        await rename(temp, objectFile);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw err;
      }
    }
    await store.putMetadata(bucket, key, metadata, etag);
  }

  async function putObject(ctx: KoaContext, bucket: string, key: string) {
    if (!(await store.getBucket(bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    }
    refuseChunkedSigning(ctx);
    // s3rver's model: keeps the storable headers, rejects an unknown storage class.
    const { metadata } = new S3Object(bucket, key, null, ctx.req.headers);
    const temp = await stagingFile(bucket);
    const md5 = createHash('md5');
    try {
      await pipeline(
        ctx.req,
        new Transform({
          transform(chunk: Buffer, _encoding: BufferEncoding, callback: (err: null, data: Buffer) => void) {
            md5.update(chunk);
            callback(null, chunk);
          },
        }),
        createWriteStream(temp),
      );
      const digest = md5.digest();
      const contentMd5 = ctx.req.headers['content-md5'];
      if (typeof contentMd5 === 'string' && contentMd5 !== digest.toString('base64')) {
        throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      const hex = digest.toString('hex');
      await commit(bucket, key, temp, metadata, hex);
      ctx.set('ETag', JSON.stringify(hex));
      ctx.body = '';
    } finally {
      await rm(temp, { force: true });
    }
  }

  /**
   * s3rver reads `Range: bytes=-N` (the last N bytes) as `bytes=0-N`. Rewritten to the absolute range from the
   * object's size before s3rver sees it; a suffix longer than the object is the whole object, as in S3.
   */
  async function resolveSuffixRange(ctx: KoaContext, bucket: string, key: string) {
    const range = ctx.req.headers.range;
    const m = typeof range === 'string' ? /^bytes=-(\d+)$/.exec(range.trim()) : null;
    if (!m) return;
    const info = await stat(store.getResourcePath(bucket, key, 'object')).catch(() => undefined);
    if (!info) return; // s3rver answers NoSuchKey
    const n = Number(m[1]);
    if (n === 0 || info.size === 0) {
      throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
        RangeRequested: range,
        ActualObjectSize: info.size,
      });
    }
    ctx.req.headers.range = `bytes=${Math.max(0, info.size - n)}-${info.size - 1}`;
  }

  return async function multipart(ctx, next) {
    const target = objectPath(ctx);
    if (!target) return next();
    const { bucket, key } = target;
    const isPlainPut =
      ctx.method === 'PUT' &&
      !('x-amz-copy-source' in ctx.req.headers) &&
      !Object.keys(ctx.query).some((q) => subresources.has(q));
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && !('uploadId' in ctx.query)) {
      await resolveSuffixRange(ctx, bucket, key);
      return next();
    }
    if (!isPlainPut && !('uploadId' in ctx.query)) return next();
    // s3rver's middlewares read the router's params; for requests passed on they run again inside the router,
    // which is harmless (they only check and set headers).
    ctx.params = { ...ctx.params, bucket, key };
    if (isPlainPut) return throughFrontChain(ctx, () => putObject(ctx, bucket, key));
    const uploadId = singleQuery(ctx, 'uploadId') ?? '';
    return throughFrontChain(ctx, async () => {
      switch (ctx.method) {
        case 'GET':
          return serialized(uploadId, () => listParts(ctx, bucket, key, uploadId));
        case 'DELETE':
          return serialized(uploadId, () => abort(ctx, bucket, key, uploadId));
        case 'POST': {
          // Read the body before queueing: a slow client must not hold up other requests on this upload.
          const body = await readBody(ctx, maxCompleteBodyBytes);
          return serialized(uploadId, () => complete(ctx, bucket, key, uploadId, body));
        }
        case 'PUT': {
          if ('x-amz-copy-source' in ctx.req.headers) return next(); // s3rver answers NotImplemented
          refuseChunkedSigning(ctx);
          // s3rver takes partNumber as a file name and creates the upload directory on demand.
          integerArgument(
            singleQuery(ctx, 'partNumber') ?? '',
            'partNumber',
            1,
            maxPartNumber,
            'Part number must be an integer between 1 and 10000, inclusive',
          );
          await openUpload(bucket, key, uploadId);
          return next();
        }
        default:
          return next();
      }
    });
  };
}

// ---- the embedded server --------------------------------------------------------------------------------

// Minimal typing of the parts of s3rver's class that we use.
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections(): void };
  /** Koa's middleware list, composed when run() starts listening; s3rver's router is the last entry. */
  middleware: ((...args: never[]) => unknown)[];
  store: S3rverStore;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  resetOnClose?: boolean;
  vhostBuckets?: boolean;
}) => S3rverInstance;

/** Starts s3rver with this extension on 127.0.0.1 (a free port) over `directory`. */
export async function startEmbeddedS3(directory: string): Promise<{ port: number; close(): Promise<void> }> {
  const S3rver = s3rverRequire('./s3rver') as S3rverConstructor;
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    resetOnClose: false,
    // Path-style only: a vhost guess from the Host header would misroute requests.
    vhostBuckets: false,
  });
  const routerIndex = server.middleware.findIndex((m) => m.name === 'dispatch');
  if (routerIndex !== server.middleware.length - 1) {
    throw new Error('unexpected s3rver middleware chain: cannot install src/core/s3rver-extension.ts');
  }
  server.middleware.splice(routerIndex, 0, (await s3rverExtension(server.store)) as never);
  const { port } = await server.run();
  return {
    port,
    async close() {
      const closing = server.close();
      // A socket still open (say, a request cut off by a timeout) would keep the port bound.
      server.httpServer?.closeAllConnections();
      await closing;
    },
  };
}
