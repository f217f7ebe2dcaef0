import { createTwoFilesPatch } from 'diff';
import { diff3Merge } from 'node-diff3';
import type { Services } from '../../core/services.ts';
import { FsInvalidInputError, FsUnknownSnapshotError } from './snapshots.errors.ts';
import {
  compareNames,
  describeFile,
  emptyTreeId,
  encodeNode,
  entryId,
  type FileEntry,
  limiter,
  loadNode,
  parseCaId,
  putChunk,
  readFile,
  sha256,
  snapshotExists,
  type TreeEntry,
  treeKey,
} from './tree.ts';

/**
 * 2- and 3-way merge of snapshots (docs/snapshots.md, mcp-v8 notes "Merge"). Per path, with b/o/t the entries
 * in base/ours/theirs: o == t → o; o == b → t; t == b → o; else a conflict, resolved wholesale by `prefer`
 * or passed to the content merge (line-level diff3 for text). Equal subtrees are pruned by id. Nothing is
 * stored unless the whole merge is clean; merge never moves a label.
 */

export type Prefer = 'ours' | 'theirs' | null;
export type ConflictKind = 'text' | 'binary' | 'sqlite' | 'modify/delete' | 'file/directory';

export interface MergeConflict {
  path: string;
  /** Entry content ids (SHA-256 of the canonical entry encoding), null where the side has no entry. */
  base: string | null;
  ours: string | null;
  theirs: string | null;
  kind: ConflictKind;
  /** diff3-style marked text (text conflicts only). */
  markers?: string;
  /** Unified diffs base → ours and base → theirs (text conflicts only). */
  diffOurs?: string;
  diffTheirs?: string;
}

export type MergeResult = { status: 'merged'; caId: string } | { status: 'conflict'; conflicts: MergeConflict[] };

export interface MergeInput {
  ours: string;
  theirs: string;
  base?: string | null;
  prefer?: string | null;
}

/** Text files above this size are not line-merged (their conflict is reported without markers or diffs). */
export const maxLineMergeBytes = 1024 * 1024;
const sqliteMagic = Buffer.from('SQLite format 3\0', 'latin1');

export function parsePrefer(value: string | null | undefined): Prefer {
  if (value === undefined || value === null) return null;
  const v = value.toLowerCase();
  if (v === 'ours' || v === 'theirs') return v;
  if (v === 'none' || v === '') return null;
  throw new FsInvalidInputError(`invalid prefer ${JSON.stringify(value.slice(0, 40))}: expected ours|theirs|none`);
}

type Store = Pick<Services, 'objectStore'>;

interface MergeState {
  services: Store;
  prefer: Prefer;
  run: <T>(task: () => Promise<T>) => Promise<T>;
  conflicts: MergeConflict[];
  /** New chunks and nodes, in creation order (children before parents), written only when clean. */
  chunks: Map<string, Uint8Array>;
  nodes: Map<string, Buffer>;
}

const idOf = (e: TreeEntry | undefined) => (e === undefined ? null : entryId(e));

function isUtf8Text(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const splitLines = (text: string): string[] => text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
const withNewline = (lines: string[]) => {
  const text = lines.join('');
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
};

async function mergeFiles(
  state: MergeState,
  path: string,
  b: TreeEntry | undefined,
  o: FileEntry | undefined,
  t: FileEntry | undefined,
): Promise<TreeEntry | undefined> {
  if (state.prefer === 'ours') return o;
  if (state.prefer === 'theirs') return t;
  const ids = { base: idOf(b), ours: idOf(o), theirs: idOf(t) };
  if (o === undefined || t === undefined) {
    state.conflicts.push({ path, ...ids, kind: 'modify/delete' });
    return o ?? t;
  }
  const baseFile = b?.t === 'f' ? b : undefined;
  const [ob, tb, bb] = await Promise.all([
    readFile(state.services, o, state.run),
    readFile(state.services, t, state.run),
    baseFile ? readFile(state.services, baseFile, state.run) : Promise.resolve(new Uint8Array()),
  ]);
  const isSqlite = (x: Uint8Array) =>
    Buffer.from(x.buffer, x.byteOffset, x.byteLength).subarray(0, 16).equals(sqliteMagic);
  if (isSqlite(ob) || isSqlite(tb)) {
    state.conflicts.push({ path, ...ids, kind: 'sqlite' });
    return o;
  }
  if (!(isUtf8Text(ob) && isUtf8Text(tb) && isUtf8Text(bb))) {
    state.conflicts.push({ path, ...ids, kind: 'binary' });
    return o;
  }
  if (Math.max(ob.byteLength, tb.byteLength, bb.byteLength) > maxLineMergeBytes) {
    state.conflicts.push({ path, ...ids, kind: 'text' });
    return o;
  }
  const decode = (x: Uint8Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('utf8');
  const [oursText, theirsText, baseText] = [decode(ob), decode(tb), decode(bb)];
  const regions = diff3Merge(splitLines(oursText), splitLines(baseText), splitLines(theirsText), {
    excludeFalseConflicts: true,
  });
  if (regions.every((r) => r.conflict === undefined)) {
    const merged = Buffer.from(regions.flatMap((r) => r.ok ?? []).join(''), 'utf8');
    const { entry, chunks } = describeFile(merged);
    for (const c of chunks) state.chunks.set(c.hash, c.bytes);
    return entry;
  }
  let markers = '';
  for (const region of regions) {
    if (region.conflict) {
      markers +=
        `<<<<<<< ours\n${withNewline(region.conflict.a)}` +
        `||||||| base\n${withNewline(region.conflict.o)}` +
        `=======\n${withNewline(region.conflict.b)}` +
        '>>>>>>> theirs\n';
    } else markers += (region.ok ?? []).join('');
  }
  state.conflicts.push({
    path,
    ...ids,
    kind: 'text',
    markers,
    diffOurs: createTwoFilesPatch(`a/${path}`, `b/${path}`, baseText, oursText),
    diffTheirs: createTwoFilesPatch(`a/${path}`, `b/${path}`, baseText, theirsText),
  });
  return o;
}

async function mergeEntry(
  state: MergeState,
  path: string,
  b: TreeEntry | undefined,
  o: TreeEntry | undefined,
  t: TreeEntry | undefined,
): Promise<TreeEntry | undefined> {
  const [kb, ko, kt] = [idOf(b), idOf(o), idOf(t)];
  if (ko === kt) return o;
  if (ko === kb) return t;
  if (kt === kb) return o;
  const oDir = o?.t === 'd' ? o : undefined;
  const tDir = t?.t === 'd' ? t : undefined;
  if (o?.t !== 'f' && t?.t !== 'f') {
    // Directories (or absent) on both sides: merge path by path below, an absent side being an empty directory.
    const id = await mergeDir(state, path, b?.t === 'd' ? b.id : undefined, oDir?.id, tDir?.id);
    return id === undefined ? undefined : { t: 'd', id };
  }
  if (oDir === undefined && tDir === undefined) {
    return mergeFiles(state, path, b, o as FileEntry | undefined, t as FileEntry | undefined);
  }
  // A file on one side, a directory on the other.
  if (state.prefer === 'ours') return o;
  if (state.prefer === 'theirs') return t;
  state.conflicts.push({ path, base: kb, ours: ko, theirs: kt, kind: 'file/directory' });
  return o;
}

/** Merges three directory nodes (undefined = absent); returns the merged node's id, undefined when empty. */
async function mergeDir(
  state: MergeState,
  prefix: string,
  b: string | undefined,
  o: string | undefined,
  t: string | undefined,
): Promise<string | undefined> {
  if (o === t) return o;
  if (o === b) return t;
  if (t === b) return o;
  const load = (id: string | undefined) =>
    id === undefined ? Promise.resolve(new Map<string, TreeEntry>()) : state.run(() => loadNode(state.services, id));
  const [bn, on, tn] = await Promise.all([load(b), load(o), load(t)]);
  const names = [...new Set([...bn.keys(), ...on.keys(), ...tn.keys()])].sort(compareNames);
  const merged = await Promise.all(
    names.map((name) =>
      mergeEntry(state, prefix === '' ? name : `${prefix}/${name}`, bn.get(name), on.get(name), tn.get(name)),
    ),
  );
  const entries = new Map<string, TreeEntry>();
  names.forEach((name, i) => {
    const entry = merged[i];
    if (entry !== undefined) entries.set(name, entry);
  });
  if (entries.size === 0) return undefined;
  const bytes = encodeNode(entries);
  const id = sha256(bytes);
  if (id !== o && id !== t && id !== b) state.nodes.set(id, bytes);
  return id;
}

/** Validates the inputs (400s), merges, and stores the result only when there is no conflict. */
export async function mergeSnapshots(services: Store, input: MergeInput): Promise<MergeResult> {
  const ours = parseCaId(input.ours, 'ours');
  const theirs = parseCaId(input.theirs, 'theirs');
  const base = input.base === undefined || input.base === null ? undefined : parseCaId(input.base, 'base');
  const prefer = parsePrefer(input.prefer);
  for (const id of [ours, theirs, ...(base ? [base] : [])]) {
    if (!(await snapshotExists(services, id))) throw new FsUnknownSnapshotError(id);
  }
  const state: MergeState = {
    services,
    prefer,
    run: limiter(8),
    conflicts: [],
    chunks: new Map(),
    nodes: new Map(),
  };
  const root = (await mergeDir(state, '', base, ours, theirs)) ?? emptyTreeId;
  if (state.conflicts.length > 0) {
    state.conflicts.sort((a, b) => compareNames(a.path, b.path));
    return { status: 'conflict', conflicts: state.conflicts };
  }
  await Promise.all([...state.chunks].map(([hash, bytes]) => state.run(() => putChunk(services, hash, bytes))));
  // Children before parents, the root last: a stored root implies a complete tree.
  for (const [id, bytes] of state.nodes) {
    await services.objectStore.putObject(treeKey(id), bytes, { contentType: 'application/json' });
  }
  return { status: 'merged', caId: root };
}
