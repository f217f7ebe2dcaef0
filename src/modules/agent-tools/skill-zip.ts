import { Unzip, UnzipInflate } from 'fflate';
import { GoClawInvalidInputError } from './agent-tools.errors.ts';

/** What a skill ZIP holds that Atrium reads: its SKILL.md and the list of its files. */
export interface SkillArchive {
  skillMd: string;
  /** The directory SKILL.md sits in ('' at the root). */
  root: string;
  files: { path: string; size: number }[];
  unzippedBytes: number;
}

const maxFiles = 2000;
const maxSkillMdBytes = 256 * 1024;

/**
 * Reads a ZIP without trusting its headers: entries are inflated as a stream and their real output counted, so a
 * zip bomb stops at `maxUnzippedBytes` whatever sizes it declares. Names that could escape a directory (absolute,
 * `..`, backslashes, drive letters) refuse the whole archive. SKILL.md must sit at the root or one level deep.
 */
export function readSkillZip(data: Uint8Array, maxUnzippedBytes: number): SkillArchive {
  if (data.length < 22 || data[0] !== 0x50 || data[1] !== 0x4b)
    throw new GoClawInvalidInputError('file is not a ZIP archive');
  const files: { path: string; size: number }[] = [];
  const skillMds = new Map<string, Uint8Array[]>();
  let total = 0;
  let failure: Error | undefined;
  const unzip = new Unzip();
  unzip.register(UnzipInflate);
  unzip.onfile = (file) => {
    if (failure) return;
    const name = file.name;
    if (!safeName(name)) {
      failure = new GoClawInvalidInputError(`ZIP entry "${name.slice(0, 100)}" has an unsafe path`);
      return;
    }
    if (name.endsWith('/')) return;
    if (files.length >= maxFiles) {
      failure = new GoClawInvalidInputError(`ZIP holds more than ${maxFiles} files`);
      return;
    }
    const entry = { path: name, size: 0 };
    files.push(entry);
    const isSkillMd = /^([^/]+\/)?SKILL\.md$/.test(name);
    const chunks: Uint8Array[] = [];
    if (isSkillMd) skillMds.set(name, chunks);
    file.ondata = (err, chunk, _final) => {
      if (failure) return;
      if (err) {
        failure = new GoClawInvalidInputError(`ZIP entry "${name.slice(0, 100)}" is corrupt: ${err.message}`);
        return;
      }
      entry.size += chunk.length;
      total += chunk.length;
      if (total > maxUnzippedBytes) {
        failure = new GoClawInvalidInputError(`ZIP contents exceed ${maxUnzippedBytes} bytes uncompressed`);
        file.terminate();
        return;
      }
      if (isSkillMd) {
        if (entry.size > maxSkillMdBytes) failure = new GoClawInvalidInputError('SKILL.md is larger than 256 KiB');
        else chunks.push(chunk);
      }
    };
    try {
      file.start();
    } catch (err) {
      failure = new GoClawInvalidInputError(`ZIP entry "${name.slice(0, 100)}": ${(err as Error).message}`);
    }
  };
  try {
    // Pushed in slices so a bomb is stopped between slices rather than after inflating everything.
    const step = 64 * 1024;
    for (let at = 0; at < data.length && !failure; at += step) {
      unzip.push(data.subarray(at, at + step), at + step >= data.length);
    }
  } catch (err) {
    if (!failure)
      failure = new GoClawInvalidInputError(`file is not a readable ZIP archive: ${(err as Error).message}`);
  }
  if (failure) throw failure;
  if (files.length === 0) throw new GoClawInvalidInputError('file is not a ZIP archive with files');
  const candidates = [...skillMds.keys()].sort((a, b) => a.length - b.length);
  const chosen = candidates[0];
  if (!chosen) throw new GoClawInvalidInputError('the ZIP has no SKILL.md at its root or one directory deep');
  const skillMd = Buffer.concat((skillMds.get(chosen) ?? []).map((c) => Buffer.from(c))).toString('utf8');
  return {
    skillMd,
    root: chosen.includes('/') ? chosen.slice(0, chosen.indexOf('/')) : '',
    files,
    unzippedBytes: total,
  };
}

function safeName(name: string): boolean {
  if (name.length === 0 || name.length > 1024 || name.includes('\\') || name.includes('\0')) return false;
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return false;
  return !name.split('/').some((part) => part === '..' || part === '.');
}

/**
 * SKILL.md's front matter: the `---` block at the top, one `key: value` per line (quotes stripped; `[a, b]`
 * lists become arrays). Nested YAML is kept as the raw text of its line.
 */
export function parseFrontMatter(markdown: string): Record<string, string | string[]> {
  const text = markdown.replace(/^\uFEFF/, '');
  const match = /^---\r?\n([\s\S]*?)\r?\n---\s*(\r?\n|$)/.exec(text);
  if (!match?.[1]) return {};
  const out: Record<string, string | string[]> = {};
  for (const line of match[1].split(/\r?\n/)) {
    const m = /^([A-Za-z0-9_-]+)\s*:\s*(.*)$/.exec(line);
    if (!m?.[1]) continue;
    const raw = (m[2] ?? '').trim();
    if (raw.startsWith('[') && raw.endsWith(']')) {
      out[m[1]] = raw
        .slice(1, -1)
        .split(',')
        .map((v) => unquote(v.trim()))
        .filter((v) => v.length > 0);
    } else {
      out[m[1]] = unquote(raw);
    }
  }
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) {
    return v.slice(1, -1);
  }
  return v;
}
