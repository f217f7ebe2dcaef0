import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FsMountProvider } from '../../src/modules/runtime/runtime.service.ts';
import { FsUnknownSnapshotError } from '../../src/modules/snapshots/snapshots.errors.ts';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

/*
 * The sandbox side of `fs` mounts: copy-on-write overlay, Node-like promise API, flush before the terminal status,
 * overlay discarded on failure. Snapshot storage itself belongs to the snapshots module; it is injected through
 * `FsMountProvider`, so here an in-memory content-addressed store stands in for it.
 */
let t: TestApp;
const { call, run } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

const trees = new Map<string, Map<string, Uint8Array>>();
const labels = new Map<string, string>();
const flushes: string[] = [];

function caId(files: Map<string, Uint8Array>): string {
  const h = createHash('sha256');
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(`${path}\0${bytes.byteLength}\0`);
    h.update(bytes);
  }
  return h.digest('hex');
}

const memoryStore: FsMountProvider = {
  async load(tenant, ref) {
    const id = /^[0-9a-f]{64}$/.test(ref) ? ref : labels.get(`${tenant}/${ref}`);
    if (id === undefined) return { baseCaId: caId(new Map()), files: new Map() };
    const files = trees.get(id);
    if (!files) throw new FsUnknownSnapshotError(ref);
    return { baseCaId: id, files };
  },
  async flush(files) {
    const id = caId(files);
    trees.set(id, new Map(files));
    flushes.push(id);
    return id;
  },
};

const text = (s: string) => new Uint8Array(Buffer.from(s));
let baseId: string;

beforeAll(async () => {
  t = await startTestApp();
  t.app.services.runtime.useFilesystem(memoryStore);
  const base = new Map([
    ['a.txt', text('hello')],
    ['dir/b.bin', new Uint8Array([0, 1, 2, 255])],
    ['dir/sub/c.txt', text('c')],
  ]);
  baseId = await memoryStore.flush(base);
  labels.set('admin/proj', baseId);
});
afterAll(async () => {
  await t?.close();
});

it('mounts a label copy-on-write, and flushes the changed tree to a new CA id before completing', async () => {
  const info = await run(
    `const a = await fs.readFile("a.txt", "utf8");
     await fs.writeFile("/new.txt", a + " world");
     await fs.appendFile("new.txt", "!");
     const bin = await fs.readFile("dir/b.bin");
     await fs.writeFile("dir/copy.bin", bin.subarray(1));
     await fs.rename("dir/sub/c.txt", "moved.txt");
     await fs.unlink("a.txt");
     const st = await fs.stat("dir");
     export default {
       root: await fs.readdir(""), dir: await fs.readdir("dir"), isDir: st.isDirectory(),
       size: (await fs.stat("new.txt")).size, gone: await fs.exists("a.txt"), subGone: await fs.exists("dir/sub"),
     };`,
    { fs: 'proj' },
  );
  expect(info.status, info.error).toBe('completed');
  expect(JSON.parse(info.result)).toEqual({
    root: ['dir', 'moved.txt', 'new.txt'],
    dir: ['b.bin', 'copy.bin'],
    isDir: true,
    size: 12,
    gone: false,
    subGone: false,
  });
  expect(info.fs).toMatch(/^[0-9a-f]{64}$/);
  expect(info.fs).not.toBe(baseId);
  const out = trees.get(info.fs);
  expect([...(out?.keys() ?? [])]).toEqual(['dir/b.bin', 'dir/copy.bin', 'moved.txt', 'new.txt']);
  expect(Buffer.from(out?.get('new.txt') ?? []).toString()).toBe('hello world!');
  expect([...(out?.get('dir/copy.bin') ?? [])]).toEqual([1, 2, 255]);
  // The base snapshot is untouched (copy-on-write).
  expect([...(trees.get(baseId)?.keys() ?? [])]).toEqual(['a.txt', 'dir/b.bin', 'dir/sub/c.txt']);
});

it('reports the base id for a run that changes nothing, and mounts a CA id directly', async () => {
  const before = flushes.length;
  const info = await run('export default (await fs.readFile("a.txt", "utf8")).length', { fs: baseId });
  expect(info, info.error).toMatchObject({ status: 'completed', result: '5', fs: baseId });
  expect(flushes.length).toBe(before);
});

it('discards the overlay of a failed run (no fs, nothing flushed)', async () => {
  const before = flushes.length;
  const info = await run('await fs.writeFile("x.txt", "x"); throw new Error("nope")', { fs: 'proj' });
  expect(info).toMatchObject({ status: 'failed', fs: null });
  expect(flushes.length).toBe(before);
});

it('refuses paths outside the mount and reports fs errors as rejections', async () => {
  const info = await run(
    `const errors = [];
     for (const p of ["../etc/passwd", "dir/../../x"]) { try { await fs.readFile(p) } catch (e) { errors.push(e.message.split(":")[0]) } }
     try { await fs.readFile("missing.txt") } catch (e) { errors.push(e.message.split(":")[0]) }
     try { await fs.writeFile("dir", "x") } catch (e) { errors.push(e.message.split(":")[0]) }
     export default errors;`,
    { fs: 'proj' },
  );
  expect(JSON.parse(info.result)).toEqual(['EINVAL', 'EINVAL', 'ENOENT', 'EISDIR']);
});

it('answers 400 for an unknown snapshot id, and mounts an unknown label as an empty tree', async () => {
  const res = await call('POST', '/api/exec', { body: { code: '1', fs: 'f'.repeat(64) } });
  expect(res.status).toBe(400);
  expect(res.body.error).toMatch(/unknown snapshot/);
  const fresh = await run('export default await fs.readdir("")', { fs: 'brand-new' });
  expect(fresh).toMatchObject({ status: 'completed', result: '[]', fs: caId(new Map()) });
});

it('has no fs global when nothing is mounted', async () => {
  expect(await run('typeof fs')).toMatchObject({ result: '"undefined"' });
});
