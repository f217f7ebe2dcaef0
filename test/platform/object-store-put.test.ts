// PutObject on the embedded S3 server (s3rver plus src/core/s3rver-extension.ts) over HTTP on loopback: bodies
// are staged and renamed into place, so a cut-off upload leaves the previous object intact.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createObjectStore, type ObjectStore } from '../../src/core/object-store.ts';

const logger = pino({ level: 'silent' });
let dataDir: string;
let store: ObjectStore;
let s3: S3Client;
let Bucket: string;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const stagingDir = () => path.join(dataDir, 's3', Bucket, '._S3rver_staging');

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-s3put-'));
  store = await createObjectStore(loadConfig({ NODE_ENV: 'test', ATRIUM_DATA_DIR: dataDir }), logger);
  Bucket = store.bucket;
  s3 = new S3Client({
    endpoint: store.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});

afterAll(async () => {
  s3?.destroy();
  await store?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await p;
  } catch (err) {
    return err as S3ServiceException;
  }
  throw new Error('expected the request to fail');
}

async function body(Key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from((await got.Body?.transformToByteArray()) ?? []);
}

/** Sends the headers and `sent` bytes of a PUT that announces `announced` bytes, then cuts the connection. */
function cutOffPut(Key: string, announced: number, sent: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const url = new URL(`${store.endpoint}/${Bucket}/${Key}`);
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(announced) } });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    req.write(sent, () => setTimeout(() => req.destroy(), 100));
    req.on('close', () => resolve());
  });
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('embedded S3: PutObject', () => {
  it('streams a large body to disk; GET right after returns every byte, with the MD5 ETag and headers', async () => {
    const bytes = randomBytes(24 * 1024 * 1024 + 7);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) =>
      bytes.subarray(i * 65536, (i + 1) * 65536),
    );
    const put = await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'put/large.bin',
        Body: Readable.from(chunks),
        ContentLength: bytes.length,
        ContentType: 'application/x-test',
        CacheControl: 'max-age=5',
        Metadata: { owner: 'tests' },
      }),
    );
    expect(put.ETag).toBe(`"${md5(bytes)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'put/large.bin' }));
    expect(got.ContentLength).toBe(bytes.length);
    expect(got.ContentType).toBe('application/x-test');
    expect(got.CacheControl).toBe('max-age=5');
    expect(got.Metadata).toEqual({ owner: 'tests' });
    expect(got.ETag).toBe(put.ETag);
    expect(md5(Buffer.from((await got.Body?.transformToByteArray()) ?? []))).toBe(md5(bytes));
    expect(await readdir(stagingDir())).toEqual([]);
  });

  it('a PUT cut off mid-body leaves the previous object whole, and no staging file behind', async () => {
    const Key = 'put/cut-off.txt';
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'the original, complete body' }));
    await cutOffPut(Key, 1024 * 1024, Buffer.alloc(64 * 1024, 'x'));
    await waitFor(async () => (await readdir(stagingDir())).length === 0);
    expect((await body(Key)).toString()).toBe('the original, complete body');
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    expect(head.ContentLength).toBe(27);
    expect(head.ETag).toBe(`"${md5(Buffer.from('the original, complete body'))}"`);
  });

  it('a PUT cut off for a new key creates no object', async () => {
    const Key = 'put/never-finished.bin';
    await cutOffPut(Key, 1024 * 1024, Buffer.alloc(1000, 'y'));
    await waitFor(async () => (await readdir(stagingDir())).length === 0);
    expect((await errorOf(s3.send(new HeadObjectCommand({ Bucket, Key })))).$metadata.httpStatusCode).toBe(404);
  });

  it('refuses a body whose Content-MD5 does not match (BadDigest), keeping the previous object', async () => {
    const Key = 'put/digest.txt';
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'kept' }));
    const res = await fetch(`${store.endpoint}/${Bucket}/${Key}`, {
      method: 'PUT',
      headers: { 'content-md5': createHash('md5').update('something else').digest('base64') },
      body: 'replacement',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>BadDigest</Code>');
    expect((await body(Key)).toString()).toBe('kept');
    const good = await fetch(`${store.endpoint}/${Bucket}/${Key}`, {
      method: 'PUT',
      headers: { 'content-md5': createHash('md5').update('replacement').digest('base64') },
      body: 'replacement',
    });
    expect(good.status).toBe(200);
    expect((await body(Key)).toString()).toBe('replacement');
  });

  it('refuses aws-chunked bodies and unknown storage classes instead of storing them', async () => {
    const chunked = await fetch(`${store.endpoint}/${Bucket}/put/chunked.bin`, {
      method: 'PUT',
      headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' },
      body: '5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\n\r\n',
    });
    expect(chunked.status).toBe(501);
    const cls = await fetch(`${store.endpoint}/${Bucket}/put/class.bin`, {
      method: 'PUT',
      headers: { 'x-amz-storage-class': 'NOPE' },
      body: 'x',
    });
    expect(cls.status).toBe(400);
    expect(await cls.text()).toContain('<Code>InvalidStorageClass</Code>');
    for (const Key of ['put/chunked.bin', 'put/class.bin']) {
      expect((await errorOf(s3.send(new HeadObjectCommand({ Bucket, Key })))).$metadata.httpStatusCode).toBe(404);
    }
  });

  it('works through a presigned PUT URL, and keeps s3rver answering what it still handles (tagging, CORS)', async () => {
    const Key = 'put/presigned.txt';
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key, ContentType: 'text/plain' }), {
      expiresIn: 60,
    });
    const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'signed upload' });
    expect(put.status).toBe(200);
    expect(put.headers.get('etag')).toBe(`"${md5(Buffer.from('signed upload'))}"`);
    expect((await body(Key)).toString()).toBe('signed upload');

    await s3.send(new PutObjectTaggingCommand({ Bucket, Key, Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket, Key }))).TagSet).toEqual([{ Key: 'k', Value: 'v' }]);

    await s3.send(
      new PutBucketCorsCommand({
        Bucket,
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://app.example'], AllowedMethods: ['PUT'] }] },
      }),
    );
    const cors = await fetch(`${store.endpoint}/${Bucket}/put/cors.txt`, {
      method: 'PUT',
      headers: { origin: 'https://app.example' },
      body: 'from a browser',
    });
    expect(cors.status).toBe(200);
    expect(cors.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('answers NoSuchBucket for a PUT into a missing bucket without creating it', async () => {
    const res = await fetch(`${store.endpoint}/no-such-bucket/k.txt`, { method: 'PUT', body: 'x' });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('<Code>NoSuchBucket</Code>');
    expect(existsSync(path.join(dataDir, 's3', 'no-such-bucket'))).toBe(false);
  });
});

describe('embedded S3: ranges', () => {
  it('serves suffix ranges (bytes=-N) as the last N bytes, as S3 does', async () => {
    const Key = 'range/abc.txt';
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'abcdefghij' }));
    const get = (Range: string) => s3.send(new GetObjectCommand({ Bucket, Key, Range }));
    const last3 = await get('bytes=-3');
    expect(await last3.Body?.transformToString()).toBe('hij');
    expect(last3.ContentRange).toBe('bytes 7-9/10');
    expect(await (await get('bytes=-50')).Body?.transformToString()).toBe('abcdefghij');
    expect(await (await get('bytes=2-4')).Body?.transformToString()).toBe('cde');
    expect(await (await get('bytes=8-')).Body?.transformToString()).toBe('ij');
    expect((await errorOf(get('bytes=-0'))).name).toBe('InvalidRange');
    expect(
      (
        await errorOf(
          get('bytes=-3').then(() => s3.send(new GetObjectCommand({ Bucket, Key: 'range/none', Range: 'bytes=-3' }))),
        )
      ).name,
    ).toBe('NoSuchKey');
  });
});
