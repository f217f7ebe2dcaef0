import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Config } from '../../src/core/config.ts';
import {
  createObjectStore,
  InvalidObjectKeyError,
  type ObjectStore,
  ObjectStoreError,
} from '../../src/core/object-store.ts';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const opened: ObjectStore[] = [];

async function tempConfig(env: Record<string, string> = {}): Promise<Config> {
  const dir = await mkdtemp(path.join(tmpdir(), 'atrium-s3-'));
  dirs.push(dir);
  return loadConfig({ NODE_ENV: 'test', ATRIUM_DATA_DIR: dir, ...env });
}

async function open(config: Config, options?: Parameters<typeof createObjectStore>[2]): Promise<ObjectStore> {
  const store = await createObjectStore(config, logger, options);
  opened.push(store);
  return store;
}

function portOf(store: ObjectStore): number {
  return Number(new URL(store.endpoint).port);
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('embedded object store', () => {
  let store: ObjectStore;
  beforeAll(async () => {
    store = await open(await tempConfig());
  });

  it('runs an embedded S3 server on loopback', () => {
    expect(store.embedded).toBe(true);
    expect(store.bucket).toBe('atrium');
    expect(store.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(portOf(store)).toBeGreaterThan(0);
  });

  it('puts, gets and heads objects', async () => {
    const put = await store.putObject('docs/hello.json', '{"hello":"world"}', { contentType: 'application/json' });
    expect(put.etag).toMatch(/^"[0-9a-f]{32}"$/);

    const got = await store.getObject('docs/hello.json');
    expect(got).not.toBeNull();
    expect(got?.body.toString('utf8')).toBe('{"hello":"world"}');
    expect(got?.contentType).toBe('application/json');
    expect(got?.size).toBe(17);
    expect(got?.etag).toBe(put.etag);

    const head = await store.headObject('docs/hello.json');
    expect(head).toMatchObject({ key: 'docs/hello.json', size: 17, contentType: 'application/json', etag: put.etag });
    expect(head?.lastModified).toBeInstanceOf(Date);
  });

  it('round-trips binary bodies and non-ASCII keys', async () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    await store.putObject('bin/ünïcödé file (1).bin', bytes);
    const got = await store.getObject('bin/ünïcödé file (1).bin');
    expect(got?.contentType).toBe('application/octet-stream');
    expect(Buffer.compare(got?.body ?? Buffer.alloc(0), Buffer.from(bytes))).toBe(0);
  });

  it('returns null for a missing key', async () => {
    expect(await store.getObject('nope/missing.txt')).toBeNull();
    expect(await store.headObject('nope/missing.txt')).toBeNull();
  });

  it('overwrites and deletes, idempotently', async () => {
    await store.putObject('tmp/x', 'one');
    await store.putObject('tmp/x', 'two');
    expect((await store.getObject('tmp/x'))?.body.toString()).toBe('two');
    await store.deleteObject('tmp/x');
    expect(await store.getObject('tmp/x')).toBeNull();
    await expect(store.deleteObject('tmp/x')).resolves.toBeUndefined();
  });

  it('lists by prefix with pagination', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `list/item-${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((k) => store.putObject(k, k)));
    await store.putObject('listing-is-not-under-the-prefix', 'x');

    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await store.listObjects('list/', { limit: 3, ...(after === undefined ? {} : { after }) });
      expect(page.keys.length).toBeLessThanOrEqual(3);
      expect(page.objects.map((o) => o.key)).toEqual(page.keys);
      seen.push(...page.keys);
      after = page.nextToken;
      pages++;
    } while (after !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(keys);

    const all = await store.listObjects('list/');
    expect(all.keys).toEqual(keys);
    expect(all.nextToken).toBeUndefined();
    expect(all.objects[0]).toMatchObject({ key: 'list/item-00', size: 12 });

    const fromMiddle = await store.listObjects('list/', { after: 'list/item-04' });
    expect(fromMiddle.keys).toEqual(keys.slice(5));
    expect((await store.listObjects('no-such-prefix/')).keys).toEqual([]);
    await expect(store.listObjects('list/', { limit: 0 })).rejects.toThrow(/limit/);
    await expect(store.listObjects('list/', { limit: 1001 })).rejects.toThrow(/limit/);
  });

  it('rejects invalid keys with InvalidObjectKeyError', async () => {
    const invalid = [
      '',
      '/leading-slash',
      '../escape',
      'a/../b',
      'a/..',
      'a/./b',
      'a//b',
      'nul\0byte',
      'control\u0007char',
      'x'.repeat(1025),
      'é'.repeat(513), // 1026 bytes of UTF-8 in 513 characters
      `a/${'x'.repeat(240)}`, // the embedded store keeps each segment as a file name
    ];
    for (const key of invalid) {
      await expect(store.putObject(key, 'x'), JSON.stringify(key.slice(0, 20))).rejects.toBeInstanceOf(
        InvalidObjectKeyError,
      );
      await expect(store.getObject(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.headObject(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.deleteObject(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
    }
    const err = await store.putObject('../x', 'x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_OBJECT_KEY', httpStatus: 400 });
    expect((err as Error).message).toMatch(/"\.\."/);
  });

  it('accepts keys that only look unusual', async () => {
    for (const key of ['a..b', '.hidden', 'dir/', 'x'.repeat(200), 'with space/and+plus&amp=eq?q#h']) {
      await store.putObject(key, key);
      expect((await store.getObject(key))?.body.toString()).toBe(key);
    }
  });

  it('answers the readiness check', async () => {
    await expect(store.check()).resolves.toBeUndefined();
  });
});

describe('bucket creation and lifecycle', () => {
  it('creates the bucket idempotently when two stores start on one data dir', async () => {
    const config = await tempConfig({ S3_BUCKET: 'shared-bucket' });
    const [a, b] = await Promise.all([open(config), open(config)]);
    expect(portOf(a)).not.toBe(portOf(b));
    await a.putObject('from-a', 'hello');
    expect((await b.getObject('from-a'))?.body.toString()).toBe('hello');
    // A third start finds the bucket already there.
    const c = await open(config);
    expect((await c.listObjects('')).keys).toEqual(['from-a']);
  });

  it('close() stops the embedded server, frees its port and is idempotent', async () => {
    const store = await open(await tempConfig());
    const port = portOf(store);
    await store.putObject('k', 'v');
    await store.close();
    await store.close();
    const server = await listenOn(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(store.getObject('k')).rejects.toMatchObject({ name: 'ObjectStoreError', code: 'Closed' });
  });

  it('uses a configured endpoint and reports a vanished bucket as an error, not as a missing key', async () => {
    const host = await open(await tempConfig());
    const external = await open(
      await tempConfig({
        S3_ENDPOINT: host.endpoint,
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        S3_BUCKET: 'external-bucket',
      }),
    );
    expect(external.embedded).toBe(false);
    expect(external.endpoint).toBe(host.endpoint);
    await external.putObject('a', 'b');
    expect((await external.getObject('a'))?.body.toString()).toBe('b');
    // Keys of any length are fine for a non-embedded backend (this one just happens to be s3rver).
    expect(await external.getObject(`a/${'x'.repeat(240)}`)).toBeNull();
    await external.deleteObject('a');

    const raw = new S3Client({
      endpoint: host.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await raw.send(new DeleteBucketCommand({ Bucket: 'external-bucket' }));
    raw.destroy();

    const err = await external.getObject('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect(err).toMatchObject({ code: 'NoSuchBucket', operation: 'getObject' });
    await expect(external.check()).rejects.toBeInstanceOf(ObjectStoreError);

    // Once the backend is gone entirely, the readiness check fails fast.
    await host.close();
    const started = Date.now();
    await expect(external.check()).rejects.toBeInstanceOf(ObjectStoreError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('timeouts', () => {
  let blackHole: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never answers: the shape of a hung backend.
    blackHole = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  });
  afterEach(() => {
    for (const s of sockets) s.destroy();
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });

  it('bounds every request with the configured timeout', async () => {
    const { port } = blackHole.address() as { port: number };
    const config = await tempConfig({
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_ACCESS_KEY_ID: 'x',
      S3_SECRET_ACCESS_KEY: 'y',
    });
    const started = Date.now();
    const err = await createObjectStore(config, logger, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect(err).toMatchObject({ code: 'Timeout', operation: 'headBucket' });
    expect((err as Error).message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
