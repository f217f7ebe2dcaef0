// Multipart uploads against the embedded S3 server (s3rver plus src/core/s3rver-extension.ts), spoken to over
// HTTP on loopback with @aws-sdk/client-s3 and, for what the SDK refuses to send, raw requests.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  S3Client,
  type S3ServiceException,
  UploadPartCommand,
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

function client(): S3Client {
  return new S3Client({
    endpoint: store.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const uploadsDir = () => path.join(dataDir, 's3', Bucket, '._S3rver_uploads');

async function errorOf(p: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await p;
  } catch (err) {
    return err as S3ServiceException;
  }
  throw new Error('expected the request to fail');
}

async function create(Key: string): Promise<string> {
  const out = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'text/plain' }));
  expect(out.UploadId).toMatch(/^[0-9a-f]{32}$/);
  return out.UploadId as string;
}

async function uploadParts(Key: string, UploadId: string, bodies: string[]): Promise<string[]> {
  const etags: string[] = [];
  for (const [i, Body] of bodies.entries()) {
    const out = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }));
    etags.push(out.ETag as string);
  }
  return etags;
}

/** An unsigned raw request (s3rver accepts those, as S3 does for a public bucket). */
function raw(method: string, pathAndQuery: string, body?: string): Promise<Response> {
  return fetch(`${store.endpoint}/${Bucket}/${pathAndQuery}`, { method, ...(body === undefined ? {} : { body }) });
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-s3mp-'));
  store = await createObjectStore(loadConfig({ NODE_ENV: 'test', ATRIUM_DATA_DIR: dataDir }), logger);
  Bucket = store.bucket;
  s3 = client();
});

afterAll(async () => {
  s3?.destroy();
  await store?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded S3: ListParts', () => {
  it('lists the uploaded parts with sizes and ETags, paginated by MaxParts and PartNumberMarker', async () => {
    const Key = 'mp/list/parts.txt';
    const UploadId = await create(Key);
    const bodies = ['first part,', 'second,', 'third and last'];
    const etags = await uploadParts(Key, UploadId, bodies);

    const all = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    expect(all.Bucket).toBe(Bucket);
    expect(all.Key).toBe(Key);
    expect(all.UploadId).toBe(UploadId);
    expect(all.IsTruncated).toBe(false);
    expect(all.StorageClass).toBe('STANDARD');
    expect(all.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual(
      bodies.map((b, i) => [i + 1, Buffer.byteLength(b), etags[i]]),
    );
    expect(all.Parts?.[0]?.LastModified).toBeInstanceOf(Date);

    const first = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, MaxParts: 2 }));
    expect(first.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(first.IsTruncated).toBe(true);
    expect(first.MaxParts).toBe(2);
    expect(first.NextPartNumberMarker).toBe('2');

    const second = await s3.send(
      new ListPartsCommand({ Bucket, Key, UploadId, MaxParts: 2, PartNumberMarker: first.NextPartNumberMarker }),
    );
    expect(second.PartNumberMarker).toBe('2');
    expect(second.Parts?.map((p) => p.PartNumber)).toEqual([3]);
    expect(second.IsTruncated).toBe(false);

    const past = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker: '3' }));
    expect(past.Parts ?? []).toEqual([]);
    expect(past.IsTruncated).toBe(false);
  });

  it('lists an upload with no parts as empty, and a re-uploaded part once with its new ETag', async () => {
    const Key = 'mp/list/empty.txt';
    const UploadId = await create(Key);
    const empty = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    expect(empty.Parts ?? []).toEqual([]);
    expect(empty.IsTruncated).toBe(false);

    await uploadParts(Key, UploadId, ['old']);
    const [etag] = await uploadParts(Key, UploadId, ['new body']);
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([[1, 8, etag]]);
  });

  it('sorts part numbers numerically (2 before 10)', async () => {
    const Key = 'mp/list/numeric.txt';
    const UploadId = await create(Key);
    for (const PartNumber of [10, 2, 1]) {
      await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: `p${PartNumber}` }));
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    expect(listed.Parts?.map((p) => p.PartNumber)).toEqual([1, 2, 10]);
  });

  it('answers NoSuchUpload for an unknown id, an id of another key, and ids that are not s3rver ids', async () => {
    const UploadId = await create('mp/list/owner.txt');
    const other = await errorOf(s3.send(new ListPartsCommand({ Bucket, Key: 'mp/list/other.txt', UploadId })));
    expect(other.name).toBe('NoSuchUpload');
    expect(other.$metadata.httpStatusCode).toBe(404);
    const unknown = await errorOf(
      s3.send(new ListPartsCommand({ Bucket, Key: 'mp/list/owner.txt', UploadId: '0'.repeat(32) })),
    );
    expect(unknown.name).toBe('NoSuchUpload');
    for (const id of ['..', '../..', `${UploadId}/..`, UploadId.toUpperCase(), '']) {
      const res = await raw('GET', `mp/list/owner.txt?uploadId=${encodeURIComponent(id)}`);
      expect(res.status, id).toBe(404);
      expect(await res.text()).toContain('<Code>NoSuchUpload</Code>');
    }
  });

  it('rejects bad max-parts and part-number-marker with InvalidArgument', async () => {
    const Key = 'mp/list/args.txt';
    const UploadId = await create(Key);
    for (const q of ['max-parts=-1', 'max-parts=abc', 'max-parts=1.5', 'part-number-marker=x', 'uploadId=1']) {
      const res = await raw('GET', `${Key}?uploadId=${UploadId}&${q}`);
      expect(res.status, q).toBe(400);
      expect(await res.text()).toContain('<Code>InvalidArgument</Code>');
    }
    // Above S3's page maximum the page is capped, as S3 does.
    const capped = await raw('GET', `${Key}?uploadId=${UploadId}&max-parts=5000`);
    expect(capped.status).toBe(200);
    expect(await capped.text()).toContain('<MaxParts>1000</MaxParts>');
  });

  it("runs s3rver's authentication in front (an unknown access key is refused)", async () => {
    const Key = 'mp/list/signed.txt';
    const UploadId = await create(Key);
    const stranger = new S3Client({
      endpoint: store.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'NOT-S3RVER', secretAccessKey: 'x' },
      forcePathStyle: true,
    });
    try {
      const err = await errorOf(stranger.send(new ListPartsCommand({ Bucket, Key, UploadId })));
      expect(err.name).toBe('InvalidAccessKeyId');
      expect(err.$metadata.httpStatusCode).toBe(403);
      const abortErr = await errorOf(stranger.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })));
      expect(abortErr.name).toBe('InvalidAccessKeyId');
    } finally {
      stranger.destroy();
    }
    expect(existsSync(path.join(uploadsDir(), UploadId, 'key'))).toBe(true);
  });
});

describe('embedded S3: AbortMultipartUpload', () => {
  it('aborts: parts leave the disk, and list, part upload, complete and a second abort answer NoSuchUpload', async () => {
    const Key = 'mp/abort/file.bin';
    const UploadId = await create(Key);
    const etags = await uploadParts(Key, UploadId, ['aaaa', 'bbbb']);
    const uploadDir = path.join(uploadsDir(), UploadId);
    expect((await readdir(uploadDir)).sort()).toEqual(['1', '1.md5', '2', '2.md5', 'key', 'metadata']);

    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    expect(existsSync(uploadDir)).toBe(false);

    const completeErr = await errorOf(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      ),
    );
    expect(completeErr.name).toBe('NoSuchUpload');
    expect(completeErr.$metadata.httpStatusCode).toBe(404);
    expect((await errorOf(s3.send(new ListPartsCommand({ Bucket, Key, UploadId })))).name).toBe('NoSuchUpload');
    expect(
      (await errorOf(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 3, Body: 'late' })))).name,
    ).toBe('NoSuchUpload');
    // The late part did not recreate the upload directory.
    expect(existsSync(uploadDir)).toBe(false);
    expect((await errorOf(s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })))).name).toBe(
      'NoSuchUpload',
    );
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket, Key })))).name).toBe('NoSuchKey');
  });

  it('leaves other uploads of the same key alone', async () => {
    const Key = 'mp/abort/two.txt';
    const a = await create(Key);
    const b = await create(Key);
    await uploadParts(Key, a, ['a']);
    const [etagB] = await uploadParts(Key, b, ['b']);
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: a }));
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId: b }));
    expect(listed.Parts?.map((p) => p.ETag)).toEqual([etagB]);
  });

  it('answers NoSuchBucket for a missing bucket', async () => {
    const res = await fetch(`${store.endpoint}/no-such-bucket/k?uploadId=${'a'.repeat(32)}`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('<Code>NoSuchBucket</Code>');
  });
});

describe('embedded S3: CompleteMultipartUpload and UploadPart checks', () => {
  it('completes: the object is the parts in order, and the upload is gone', async () => {
    const Key = 'mp/complete/ok.txt';
    const UploadId = await create(Key);
    const bodies = ['Hello, ', 'multipart ', 'world'];
    const etags = await uploadParts(Key, UploadId, bodies);
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    expect(done.Key).toBe(Key);
    // S3's multipart ETag: the MD5 of the parts' binary MD5s, then the part count.
    const partMd5s = Buffer.concat(etags.map((e) => Buffer.from(e.replace(/"/g, ''), 'hex')));
    expect(done.ETag).toBe(`"${createHash('md5').update(partMd5s).digest('hex')}-3"`);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    expect(got.ETag).toBe(done.ETag);
    expect(await got.Body?.transformToString()).toBe(bodies.join(''));
    expect(got.ContentType).toBe('text/plain');
    expect(existsSync(path.join(uploadsDir(), UploadId))).toBe(false);
    expect(await readdir(path.join(dataDir, 's3', Bucket, '._S3rver_staging'))).toEqual([]);
    expect((await errorOf(s3.send(new ListPartsCommand({ Bucket, Key, UploadId })))).name).toBe('NoSuchUpload');
  });

  it('completes with a subset of the parts, skipping the others', async () => {
    const Key = 'mp/complete/subset.txt';
    const UploadId = await create(Key);
    const etags = await uploadParts(Key, UploadId, ['one,', 'two,', 'three']);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: etags[0] },
            { PartNumber: 3, ETag: etags[2] },
          ],
        },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    expect(await got.Body?.transformToString()).toBe('one,three');
  });

  it('refuses wrong ETags, missing parts and descending order, leaving the upload open', async () => {
    const Key = 'mp/complete/bad.txt';
    const UploadId = await create(Key);
    const etags = await uploadParts(Key, UploadId, ['x', 'y']);
    const attempt = (Parts: { PartNumber: number; ETag: string | undefined }[]) =>
      errorOf(s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } })));

    const wrongEtag = await attempt([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }]);
    expect(wrongEtag.name).toBe('InvalidPart');
    expect(wrongEtag.$metadata.httpStatusCode).toBe(400);
    expect((await attempt([{ PartNumber: 3, ETag: etags[0] }])).name).toBe('InvalidPart');
    const order = await attempt([
      { PartNumber: 2, ETag: etags[1] },
      { PartNumber: 1, ETag: etags[0] },
    ]);
    expect(order.name).toBe('InvalidPartOrder');
    expect(
      (
        await attempt([
          { PartNumber: 1, ETag: etags[0] },
          { PartNumber: 1, ETag: etags[0] },
        ])
      ).name,
    ).toBe('InvalidPartOrder');

    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    expect(listed.Parts?.length).toBe(2);
  });

  it('refuses malformed and oversized Complete bodies with 4xx', async () => {
    const Key = 'mp/complete/xml.txt';
    const UploadId = await create(Key);
    for (const body of [
      '',
      'not xml',
      '<CompleteMultipartUpload>',
      '<CompleteMultipartUpload></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>',
    ]) {
      const res = await raw('POST', `${Key}?uploadId=${UploadId}`, body);
      expect(res.status, body).toBe(400);
      expect(await res.text()).toContain('<Code>MalformedXML</Code>');
    }
    const zero = await raw(
      'POST',
      `${Key}?uploadId=${UploadId}`,
      '<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>',
    );
    expect(zero.status).toBe(400);
    expect(await zero.text()).toContain('<Code>InvalidArgument</Code>');
    const huge = await raw('POST', `${Key}?uploadId=${UploadId}`, `<a>${'x'.repeat(3 * 1024 * 1024)}</a>`);
    expect(huge.status).toBe(400);
    expect(await huge.text()).toContain('<Code>MaxMessageLengthExceeded</Code>');
  });

  it('refuses part numbers outside 1–10000 and non-canonical ones without writing files', async () => {
    const Key = 'mp/part/numbers.txt';
    const UploadId = await create(Key);
    for (const n of ['0', '10001', 'abc', '01', '1.0', '../../escape', '']) {
      const res = await raw('PUT', `${Key}?uploadId=${UploadId}&partNumber=${encodeURIComponent(n)}`, 'body');
      expect(res.status, n).toBe(400);
      expect(await res.text()).toContain('<Code>InvalidArgument</Code>');
    }
    expect((await readdir(path.join(uploadsDir(), UploadId))).sort()).toEqual(['key', 'metadata']);
    expect(existsSync(path.join(uploadsDir(), 'escape'))).toBe(false);
    const ok = await raw('PUT', `${Key}?uploadId=${UploadId}&partNumber=10000`, 'last');
    expect(ok.status).toBe(200);
  });

  it('refuses a part for an upload that does not exist instead of creating one', async () => {
    const Key = 'mp/part/unknown.txt';
    const id = 'b'.repeat(32);
    const err = await errorOf(s3.send(new UploadPartCommand({ Bucket, Key, UploadId: id, PartNumber: 1, Body: 'x' })));
    expect(err.name).toBe('NoSuchUpload');
    expect(existsSync(path.join(uploadsDir(), id))).toBe(false);
    const traversal = await raw('PUT', `${Key}?uploadId=..%2F..%2Fevil&partNumber=1`, 'x');
    expect(traversal.status).toBe(404);
    expect(existsSync(path.join(dataDir, 's3', 'evil'))).toBe(false);
  });

  it('accepts parts through a presigned UploadPart URL', async () => {
    const Key = 'mp/part/presigned.txt';
    const UploadId = await create(Key);
    const url = await getSignedUrl(s3, new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1 }), {
      expiresIn: 60,
    });
    const res = await fetch(url, { method: 'PUT', body: 'via a presigned URL' });
    expect(res.status).toBe(200);
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([[1, 19, res.headers.get('etag')]]);
  });

  it('serialises a racing complete and abort: exactly one wins, nothing hangs', async () => {
    // The abort is sent 0–40 ms after the complete, so some rounds land while the complete is assembling.
    for (const [round, delayMs] of [0, 5, 10, 20, 40].entries()) {
      const Key = `mp/race/${round}.bin`;
      const UploadId = await create(Key);
      const parts = Array.from({ length: 4 }, (_, i) => Buffer.alloc(2 * 1024 * 1024, i + 1).toString('latin1'));
      const etags = await uploadParts(Key, UploadId, parts);
      const results = await Promise.allSettled([
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket,
            Key,
            UploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
        ),
        new Promise((resolve) => setTimeout(resolve, delayMs)).then(() =>
          s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })),
        ),
      ]);
      const fulfilled = results.filter((r) => r.status === 'fulfilled');
      expect(fulfilled.length, `round ${round}`).toBe(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((rejected.reason as S3ServiceException).name).toBe('NoSuchUpload');
      expect(existsSync(path.join(uploadsDir(), UploadId))).toBe(false);
      if (results[0].status === 'fulfilled') {
        const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
        expect(
          Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(Buffer.from(parts.join(''), 'latin1')),
        ).toBe(true);
      }
    }
  });
});
