import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../test/kit/app.ts';
import { FsCorruptObjectError, FsInvalidInputError, FsUnknownSnapshotError } from './snapshots.errors.ts';
import { emptyTreeId, mergeSnapshots, readTree, resolveSnapshotRef, writeTree } from './snapshots.service.ts';
import { fsLimits, listTree, sha256 } from './tree.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const enc = (s: string) => new TextEncoder().encode(s);
const files = (o: Record<string, string | Uint8Array>) =>
  new Map(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? enc(v) : v]));

describe('canonical content-addressed trees', () => {
  it('gives identical trees identical 64-hex ids whatever the insertion order, and round-trips bytes', async () => {
    const big = new Uint8Array(fsLimits.chunkBytes * 2 + 17).map((_, i) => (i * 31) % 251);
    const a = await writeTree(t.app.services, files({ 'b/x.txt': 'x', 'a.txt': 'hello', 'b/c/big.bin': big, é: 'e' }));
    const b = await writeTree(t.app.services, files({ é: 'e', 'b/c/big.bin': big, 'a.txt': 'hello', 'b/x.txt': 'x' }));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
    const c = await writeTree(t.app.services, files({ 'a.txt': 'hello!', 'b/x.txt': 'x', 'b/c/big.bin': big, é: 'e' }));
    expect(c).not.toBe(a);
    const back = await readTree(t.app.services, a);
    expect([...back.keys()].sort()).toEqual(['a.txt', 'b/c/big.bin', 'b/x.txt', 'é']);
    expect(Buffer.from(back.get('b/c/big.bin') ?? []).equals(Buffer.from(big))).toBe(true);
    expect(Buffer.from(back.get('a.txt') ?? []).toString()).toBe('hello');
    const listed = await listTree(t.app.services, a);
    expect(listed.map((f) => [f.path, f.size])).toEqual([
      ['a.txt', 5],
      ['b/c/big.bin', big.byteLength],
      ['b/x.txt', 1],
      ['é', 1],
    ]);
    // Large files are chunked: 3 chunks, stored once each under their hash.
    const chunkKeys = (await t.app.services.objectStore.listObjects('fs/chunks/')).keys;
    expect(chunkKeys).toContain(`fs/chunks/${sha256(big.subarray(0, fsLimits.chunkBytes))}`);
  });

  it('has a constant empty tree id and an empty tree reads as empty', async () => {
    expect(await writeTree(t.app.services, new Map())).toBe(emptyTreeId);
    expect(emptyTreeId).toBe(sha256('{"v":1,"entries":[]}'));
    expect((await readTree(t.app.services, emptyTreeId)).size).toBe(0);
  });

  it('refuses unsafe paths and file/directory clashes', async () => {
    for (const bad of [
      '',
      '/abs',
      'a/../b',
      './a',
      'a//b',
      'a/',
      'nul\0x',
      'ctl\u0001',
      'x'.repeat(256),
      `${'a/'.repeat(70)}z`,
    ]) {
      await expect(writeTree(t.app.services, files({ [bad]: 'x' }))).rejects.toBeInstanceOf(FsInvalidInputError);
    }
    await expect(writeTree(t.app.services, files({ a: 'x', 'a/b': 'y' }))).rejects.toThrow(
      /both a file and a directory/,
    );
  });

  it('resolves refs: CA ids verified, unknown ids and labels are DomainErrors', async () => {
    const id = await writeTree(t.app.services, files({ f: '1' }));
    expect(await resolveSnapshotRef(t.app.services, 'jwt:someone', id.toUpperCase())).toBe(id);
    await expect(resolveSnapshotRef(t.app.services, 'jwt:someone', 'f'.repeat(64))).rejects.toBeInstanceOf(
      FsUnknownSnapshotError,
    );
    await expect(resolveSnapshotRef(t.app.services, 'jwt:someone', 'nope')).rejects.toThrow('unknown label: nope');
    await expect(readTree(t.app.services, 'zz')).rejects.toBeInstanceOf(FsInvalidInputError);
  });

  it('merges 3-way per path and line by line, storing only clean results', async () => {
    const s = t.app.services;
    const base = await writeTree(s, files({ 't.txt': 'a\nb\nc\n', keep: 'k', gone: 'g' }));
    const ours = await writeTree(s, files({ 't.txt': 'A\nb\nc\n', keep: 'k', mine: 'm' }));
    const theirs = await writeTree(s, files({ 't.txt': 'a\nb\nC\n', keep: 'k', gone: 'g', 'd/theirs': 't' }));
    const r = await mergeSnapshots(s, { base, ours, theirs });
    expect(r.status).toBe('merged');
    if (r.status !== 'merged') return;
    const merged = await readTree(s, r.caId);
    expect(Object.fromEntries([...merged].map(([k, v]) => [k, Buffer.from(v).toString()]))).toEqual({
      't.txt': 'A\nb\nC\n',
      keep: 'k',
      mine: 'm',
      'd/theirs': 't',
    });
    expect(r.caId).toBe(await writeTree(s, merged));
  });

  it('merges a deleted directory against a modified one into per-file modify/delete conflicts', async () => {
    const s = t.app.services;
    const base = await writeTree(s, files({ 'lib/a': '1', 'lib/b': '2', top: 't' }));
    const ours = await writeTree(s, files({ top: 't' }));
    const theirs = await writeTree(s, files({ 'lib/a': '1', 'lib/b': 'changed', top: 't' }));
    const r = await mergeSnapshots(s, { base, ours, theirs });
    expect(r).toEqual({
      status: 'conflict',
      conflicts: [expect.objectContaining({ path: 'lib/b', kind: 'modify/delete', ours: null })],
    });
    // Unchanged files under the deleted directory follow the deletion.
    const clean = await mergeSnapshots(s, { base, ours, theirs: base });
    expect(clean).toEqual({ status: 'merged', caId: ours });
  });
});

describe('integrity', () => {
  it('refuses a chunk or node whose bytes do not hash to their key', async () => {
    const s = t.app.services;
    const big = new Uint8Array(fsLimits.inlineMaxBytes + 1).fill(7);
    const id = await writeTree(s, files({ 'big.bin': big }));
    await s.objectStore.putObject(`fs/chunks/${sha256(big)}`, new Uint8Array(big.byteLength).fill(8));
    await expect(readTree(s, id)).rejects.toBeInstanceOf(FsCorruptObjectError);
    const other = await writeTree(s, files({ x: 'y' }));
    await s.objectStore.putObject(`fs/trees/${other}`, '{"v":1,"entries":[]}');
    await expect(readTree(s, other)).rejects.toBeInstanceOf(FsCorruptObjectError);
  });
});
