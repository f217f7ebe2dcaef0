import { createHash } from 'node:crypto';
import type { Services } from '../../core/services.ts';
import {
  FsCorruptObjectError,
  FsInvalidInputError,
  FsLimitExceededError,
  FsUnknownSnapshotError,
} from './snapshots.errors.ts';

/**
 * Content-addressed snapshot trees (docs/snapshots.md). A tree node is the canonical JSON encoding of one
 * directory's entries sorted by the UTF-8 bytes of their names; its id is the SHA-256 of those bytes. A
 * snapshot's CA id is the id of its root node. File bytes live inline in the node (≤ 256 bytes) or in
 * content-addressed chunks of at most 4 MiB. Nothing carries time or lineage, so identical trees give
 * identical ids. Every object is immutable and idempotent to write.
 */

export const fsLimits = {
  /** Bytes of one path (UTF-8). */
  maxPathBytes: 4096,
  /** Bytes of one path segment (UTF-8), as NAME_MAX. */
  maxSegmentBytes: 255,
  /** Directory nesting depth (segments per path). */
  maxDepth: 64,
  /** Files in one tree. */
  maxFiles: 100_000,
  /** Bytes of one file. */
  maxFileBytes: 64 * 1024 * 1024,
  /** Bytes of all files of one tree read or written at once (readTree/writeTree hold them in memory). */
  maxTreeBytes: 512 * 1024 * 1024,
  /** Files larger than this are split into chunks of this size. */
  chunkBytes: 4 * 1024 * 1024,
  /** Files up to this size are stored inside their directory node. */
  inlineMaxBytes: 256,
  /** Entries of one directory node. */
  maxNodeEntries: 100_000,
} as const;

/** Concurrent object-store requests of one tree read or write. */
const ioConcurrency = 32;

export interface FileEntry {
  t: 'f';
  size: number;
  /** Base64 of the bytes when size ≤ inlineMaxBytes. */
  inline?: string;
  /** SHA-256 hex of each chunk, in order, otherwise. */
  chunks?: string[];
}
export interface DirEntry {
  t: 'd';
  id: string;
}
export type TreeEntry = FileEntry | DirEntry;

const hexId = /^[0-9a-f]{64}$/;
const anyCaseHexId = /^[0-9a-fA-F]{64}$/;

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** True for a 64-hex string (any case): a CA id, never a label. */
export function looksLikeCaId(value: string): boolean {
  return anyCaseHexId.test(value);
}

/** Validates and normalises (lower-cases) a CA id given by a caller. */
export function parseCaId(value: unknown, field = 'ca_id'): string {
  if (typeof value !== 'string' || !anyCaseHexId.test(value)) {
    const shown =
      typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
    throw new FsInvalidInputError(`invalid ${field}: expected 64 hex characters, got ${shown}`);
  }
  return value.toLowerCase();
}

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function validSegment(segment: string): string | undefined {
  if (segment === '') return 'empty path segment';
  if (segment === '.' || segment === '..') return `"${segment}" segment`;
  if (segment.includes('\0')) return 'NUL character';
  if (segment.includes('/')) return '"/" inside a name';
  if (/\p{Surrogate}/u.test(segment)) return 'not well-formed Unicode';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused on purpose
  if (/[\u0001-\u001f\u007f]/.test(segment)) return 'control character';
  if (utf8Bytes(segment) > fsLimits.maxSegmentBytes) return `segment longer than ${fsLimits.maxSegmentBytes} bytes`;
  return undefined;
}

/** Splits a relative file path into its segments, or throws FsInvalidInputError saying why it is refused. */
export function parsePath(path: string): string[] {
  const shown = JSON.stringify(path.length > 120 ? `${path.slice(0, 120)}…` : path);
  if (typeof path !== 'string' || path.length === 0) throw new FsInvalidInputError('invalid path: empty');
  if (utf8Bytes(path) > fsLimits.maxPathBytes) {
    throw new FsInvalidInputError(`invalid path ${shown}: longer than ${fsLimits.maxPathBytes} bytes`);
  }
  if (path.startsWith('/')) throw new FsInvalidInputError(`invalid path ${shown}: absolute paths are not allowed`);
  const segments = path.split('/');
  if (segments.length > fsLimits.maxDepth) {
    throw new FsInvalidInputError(`invalid path ${shown}: deeper than ${fsLimits.maxDepth} levels`);
  }
  for (const segment of segments) {
    const problem = validSegment(segment);
    if (problem) throw new FsInvalidInputError(`invalid path ${shown}: ${problem}`);
  }
  return segments;
}

/** Canonical JSON of one entry (fixed key order); also the input of an entry's content id. */
export function encodeEntry(entry: TreeEntry): string {
  if (entry.t === 'd') return JSON.stringify({ t: 'd', id: entry.id });
  if (entry.inline !== undefined) return JSON.stringify({ t: 'f', size: entry.size, inline: entry.inline });
  return JSON.stringify({ t: 'f', size: entry.size, chunks: entry.chunks ?? [] });
}

/** The content id of an entry (what merge conflicts report): SHA-256 of its canonical encoding. */
export function entryId(entry: TreeEntry): string {
  return sha256(encodeEntry(entry));
}

export const compareNames = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Canonical bytes of a directory node: `{"v":1,"entries":[[name, entry], …]}`, names in UTF-8 byte order. */
export function encodeNode(entries: ReadonlyMap<string, TreeEntry>): Buffer {
  const names = [...entries.keys()].sort(compareNames);
  const parts = names.map((name) => {
    const entry = entries.get(name) as TreeEntry;
    return `[${JSON.stringify(name)},${encodeEntry(entry)}]`;
  });
  return Buffer.from(`{"v":1,"entries":[${parts.join(',')}]}`, 'utf8');
}

/** The CA id of the empty tree (a constant). */
export const emptyTreeId = sha256(encodeNode(new Map()));

export const treeKey = (id: string) => `fs/trees/${id}`;
const chunkKey = (hash: string) => `fs/chunks/${hash}`;

type Store = Pick<Services, 'objectStore'>;

/** Runs at most `n` tasks at once. */
export function limiter(n: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

function decodeNode(id: string, bytes: Buffer): Map<string, TreeEntry> {
  if (sha256(bytes) !== id) throw new FsCorruptObjectError(`tree node ${id} does not hash to its id`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new FsCorruptObjectError(`tree node ${id} is not JSON`);
  }
  const raw = parsed as { v?: unknown; entries?: unknown };
  if (raw.v !== 1 || !Array.isArray(raw.entries)) throw new FsCorruptObjectError(`tree node ${id} has no v1 entries`);
  const entries = new Map<string, TreeEntry>();
  for (const item of raw.entries as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string') {
      throw new FsCorruptObjectError(`tree node ${id} has a malformed entry`);
    }
    const [name, value] = item as [string, Record<string, unknown>];
    if (validSegment(name) !== undefined) throw new FsCorruptObjectError(`tree node ${id} has a bad name`);
    if (value?.t === 'd' && typeof value.id === 'string' && hexId.test(value.id)) {
      entries.set(name, { t: 'd', id: value.id });
    } else if (value?.t === 'f' && Number.isSafeInteger(value.size) && (value.size as number) >= 0) {
      const size = value.size as number;
      if (typeof value.inline === 'string') entries.set(name, { t: 'f', size, inline: value.inline });
      else if (Array.isArray(value.chunks) && value.chunks.every((c) => typeof c === 'string' && hexId.test(c))) {
        entries.set(name, { t: 'f', size, chunks: value.chunks as string[] });
      } else throw new FsCorruptObjectError(`tree node ${id} has a malformed file entry`);
    } else throw new FsCorruptObjectError(`tree node ${id} has a malformed entry`);
  }
  // Re-encoding must give the same bytes: the node is canonical (sorted, no duplicates, no extra keys).
  if (!encodeNode(entries).equals(bytes)) throw new FsCorruptObjectError(`tree node ${id} is not canonical`);
  return entries;
}

/** Loads one directory node; FsUnknownSnapshotError when it is not stored. The empty tree always exists. */
export async function loadNode(services: Store, id: string): Promise<Map<string, TreeEntry>> {
  if (id === emptyTreeId) return new Map();
  const object = await services.objectStore.getObject(treeKey(id));
  if (!object) throw new FsUnknownSnapshotError(id);
  return decodeNode(id, object.body);
}

/** True when the CA id names a stored root node (the empty tree always exists). */
export async function snapshotExists(services: Store, caId: string): Promise<boolean> {
  if (caId === emptyTreeId) return true;
  return (await services.objectStore.headObject(treeKey(caId))) !== null;
}

/** Stores a directory node (idempotent) and returns its id. */
export async function putNode(services: Store, entries: ReadonlyMap<string, TreeEntry>): Promise<string> {
  if (entries.size > fsLimits.maxNodeEntries) {
    throw new FsLimitExceededError(`a directory has more than ${fsLimits.maxNodeEntries} entries`);
  }
  const bytes = encodeNode(entries);
  const id = sha256(bytes);
  await services.objectStore.putObject(treeKey(id), bytes, { contentType: 'application/json' });
  return id;
}

/** The entry naming `bytes` and the chunks to store for it (none when inline), without storing anything. */
export function describeFile(bytes: Uint8Array): { entry: FileEntry; chunks: { hash: string; bytes: Uint8Array }[] } {
  if (bytes.byteLength > fsLimits.maxFileBytes) {
    throw new FsLimitExceededError(`a file is larger than ${fsLimits.maxFileBytes} bytes`);
  }
  if (bytes.byteLength <= fsLimits.inlineMaxBytes) {
    return { entry: { t: 'f', size: bytes.byteLength, inline: Buffer.from(bytes).toString('base64') }, chunks: [] };
  }
  const chunks: { hash: string; bytes: Uint8Array }[] = [];
  for (let at = 0; at < bytes.byteLength; at += fsLimits.chunkBytes) {
    const chunk = bytes.subarray(at, Math.min(at + fsLimits.chunkBytes, bytes.byteLength));
    chunks.push({ hash: sha256(chunk), bytes: chunk });
  }
  return { entry: { t: 'f', size: bytes.byteLength, chunks: chunks.map((c) => c.hash) }, chunks };
}

/** Chunks from this size on are only uploaded after a HEAD says they are missing; smaller ones are just PUT. */
const dedupeCheckBytes = 256 * 1024;

/** Stores one chunk (idempotent); large chunks are skipped when the same bytes are already stored. */
export async function putChunk(services: Store, hash: string, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength < dedupeCheckBytes || (await services.objectStore.headObject(chunkKey(hash))) === null) {
    await services.objectStore.putObject(chunkKey(hash), bytes);
  }
}

/** Stores file bytes (chunks first) and returns the entry that names them. */
export async function putFile(
  services: Store,
  bytes: Uint8Array,
  run: <T>(task: () => Promise<T>) => Promise<T> = limiter(ioConcurrency),
): Promise<FileEntry> {
  const { entry, chunks } = describeFile(bytes);
  await Promise.all(chunks.map((c) => run(() => putChunk(services, c.hash, c.bytes))));
  return entry;
}

/** Reads a file entry's bytes, verifying each chunk's hash and the total size. */
export async function readFile(
  services: Store,
  entry: FileEntry,
  run: <T>(task: () => Promise<T>) => Promise<T> = limiter(ioConcurrency),
): Promise<Uint8Array> {
  if (entry.inline !== undefined) {
    const bytes = Buffer.from(entry.inline, 'base64');
    if (bytes.byteLength !== entry.size) throw new FsCorruptObjectError('inline file size mismatch');
    return bytes;
  }
  const parts = await Promise.all(
    (entry.chunks ?? []).map((hash) =>
      run(async () => {
        const object = await services.objectStore.getObject(chunkKey(hash));
        if (!object) throw new FsCorruptObjectError(`chunk ${hash} is missing from the store`);
        if (sha256(object.body) !== hash) throw new FsCorruptObjectError(`chunk ${hash} does not hash to its id`);
        return object.body;
      }),
    ),
  );
  const bytes = Buffer.concat(parts);
  if (bytes.byteLength !== entry.size) throw new FsCorruptObjectError('chunked file size mismatch');
  return bytes;
}

export interface ListedFile {
  path: string;
  size: number;
  entry: FileEntry;
}

/**
 * Every file of a snapshot with its size and entry, in path order (UTF-8 byte order per segment), without
 * reading file bytes. Throws FsUnknownSnapshotError for an unknown root and FsLimitExceededError past
 * `maxFiles` files.
 */
export async function listTree(
  services: Store,
  caId: string,
  maxFiles: number = fsLimits.maxFiles,
): Promise<ListedFile[]> {
  const run = limiter(ioConcurrency);
  const out: ListedFile[] = [];
  const walk = async (id: string, prefix: string, depth: number): Promise<ListedFile[]> => {
    if (depth > fsLimits.maxDepth) throw new FsLimitExceededError(`tree ${caId} is deeper than ${fsLimits.maxDepth}`);
    const node = await run(() => loadNode(services, id));
    const names = [...node.keys()].sort(compareNames);
    const parts = await Promise.all(
      names.map(async (name): Promise<ListedFile[]> => {
        const entry = node.get(name) as TreeEntry;
        const path = prefix === '' ? name : `${prefix}/${name}`;
        if (entry.t === 'f') return [{ path, size: entry.size, entry }];
        return walk(entry.id, path, depth + 1);
      }),
    );
    const flat = parts.flat();
    if (flat.length > maxFiles) throw new FsLimitExceededError(`snapshot has more than ${maxFiles} files`);
    return flat;
  };
  try {
    out.push(...(await walk(caId, '', 1)));
  } catch (err) {
    // A missing child node means a damaged store, not an unknown snapshot.
    if (err instanceof FsUnknownSnapshotError && err.caId !== caId) {
      throw new FsCorruptObjectError(`tree node ${err.caId} of snapshot ${caId} is missing`);
    }
    throw err;
  }
  return out;
}

/** Reads a whole snapshot: path → bytes. Bounded by `maxFiles` and `maxTreeBytes`. */
export async function readTree(services: Store, caId: string): Promise<Map<string, Uint8Array>> {
  const id = parseCaId(caId);
  const files = await listTree(services, id);
  const total = files.reduce((sum, f) => sum + f.size, 0);
  if (total > fsLimits.maxTreeBytes) {
    throw new FsLimitExceededError(`snapshot holds ${total} bytes; reading is limited to ${fsLimits.maxTreeBytes}`);
  }
  const run = limiter(ioConcurrency);
  const contents = await Promise.all(files.map((f) => readFile(services, f.entry, run)));
  return new Map(files.map((f, i) => [f.path, contents[i] as Uint8Array]));
}

interface DirBuild {
  dirs: Map<string, DirBuild>;
  files: Map<string, Uint8Array>;
}

/**
 * Stores a tree given as path → bytes and returns its CA id. Paths are relative, `/`-separated, without
 * empty, `.` or `..` segments, NUL or control characters. A path may not be both a file and a directory.
 */
export async function writeTree(services: Store, files: ReadonlyMap<string, Uint8Array>): Promise<string> {
  if (files.size > fsLimits.maxFiles) throw new FsLimitExceededError(`more than ${fsLimits.maxFiles} files`);
  const root: DirBuild = { dirs: new Map(), files: new Map() };
  let total = 0;
  for (const [path, bytes] of files) {
    if (!(bytes instanceof Uint8Array)) throw new FsInvalidInputError(`file ${JSON.stringify(path)} is not bytes`);
    const segments = parsePath(path);
    total += bytes.byteLength;
    if (total > fsLimits.maxTreeBytes)
      throw new FsLimitExceededError(`tree larger than ${fsLimits.maxTreeBytes} bytes`);
    let dir = root;
    for (const [i, segment] of segments.entries()) {
      const last = i === segments.length - 1;
      const prefix = segments.slice(0, i + 1).join('/');
      if (last) {
        if (dir.dirs.has(segment)) throw new FsInvalidInputError(`path "${prefix}" is both a file and a directory`);
        dir.files.set(segment, bytes);
      } else {
        if (dir.files.has(segment)) throw new FsInvalidInputError(`path "${prefix}" is both a file and a directory`);
        let next = dir.dirs.get(segment);
        if (!next) {
          next = { dirs: new Map(), files: new Map() };
          dir.dirs.set(segment, next);
        }
        dir = next;
      }
    }
  }
  const run = limiter(ioConcurrency);
  const store = async (dir: DirBuild): Promise<string> => {
    const entries = new Map<string, TreeEntry>();
    await Promise.all([
      ...[...dir.files].map(async ([name, bytes]) => entries.set(name, await putFile(services, bytes, run))),
      ...[...dir.dirs].map(async ([name, sub]) => entries.set(name, { t: 'd', id: await store(sub) })),
    ]);
    return run(() => putNode(services, entries));
  };
  return store(root);
}
