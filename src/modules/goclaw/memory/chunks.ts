/*
 * Pure pieces of GoClaw memory: splitting a document into line-ranged chunks, the full-text query of a search,
 * and the merge of vector and full-text candidates into one ranking.
 */

export interface Chunk {
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  text: string;
}

export const chunkMaxLines = 40;
export const chunkMaxChars = 1500;

/**
 * Splits a text by lines into chunks of at most `maxLines` lines and `maxChars` characters, keeping each chunk's
 * line range; a line longer than `maxChars` is cut into pieces that all carry its line number. Chunks holding only
 * whitespace are dropped.
 */
export function chunkByLines(content: string, maxLines = chunkMaxLines, maxChars = chunkMaxChars): Chunk[] {
  const lines = content.split(/\r\n|\n|\r/);
  const out: Chunk[] = [];
  let start = 0;
  let buffer: string[] = [];
  let size = 0;
  const flush = (end: number) => {
    const text = buffer.join('\n');
    if (text.trim() !== '') out.push({ startLine: start, endLine: end, text });
    buffer = [];
    size = 0;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const n = i + 1;
    if (line.length > maxChars) {
      if (buffer.length > 0) flush(n - 1);
      for (let at = 0; at < line.length; at += maxChars) {
        const piece = line.slice(at, at + maxChars);
        if (piece.trim() !== '') out.push({ startLine: n, endLine: n, text: piece });
      }
      continue;
    }
    if (buffer.length > 0 && (buffer.length >= maxLines || size + 1 + line.length > maxChars)) flush(n - 1);
    if (buffer.length === 0) start = n;
    buffer.push(line);
    size += (buffer.length > 1 ? 1 : 0) + line.length;
  }
  if (buffer.length > 0) flush(lines.length);
  return out;
}

/**
 * The words of a query as a tsquery text for `to_tsquery('simple', …)`: each lowercase word (letters, digits,
 * underscores) quoted, OR-ed, so a chunk matching more of the words ranks higher and none is required. Empty when
 * the query has no words. At most 64 distinct words.
 */
export function ftsQuery(query: string): string {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])].slice(0, 64);
  return words.map((w) => `'${w}'`).join(' | ');
}

export type HitSource = 'vector' | 'fts';

export interface Candidate {
  id: string;
  /** Cosine similarity (vector candidates). */
  vector?: number;
  /** ts_rank (full-text candidates). */
  fts?: number;
}

export interface RankedHit {
  id: string;
  score: number;
  sources: HitSource[];
  vectorScore: number | null;
  ftsScore: number | null;
}

/** Weight of the vector similarity in a hybrid score; full text has the rest. */
export const vectorWeight = 0.7;

/**
 * One ranking from both candidate lists. Full-text ranks are scaled by the best full-text rank among the
 * candidates (so 0–1, the best 1); cosine similarities are clamped to 0–1. Hybrid (`withVectors`): score =
 * 0.7 · vector + 0.3 · full text, a missing part counting 0; full text only: the scaled full-text rank. Each hit
 * lists the sources that found it. Hits under `minScore` are dropped; at most `limit`, best first (ties by id).
 */
export function mergeCandidates(
  vector: Candidate[],
  fts: Candidate[],
  opts: { withVectors: boolean; limit: number; minScore: number },
): RankedHit[] {
  const best = Math.max(0, ...fts.map((c) => c.fts ?? 0));
  const byId = new Map<string, { vector?: number; fts?: number }>();
  for (const c of vector) {
    if (c.vector === undefined || !Number.isFinite(c.vector)) continue;
    byId.set(c.id, { ...byId.get(c.id), vector: Math.min(1, Math.max(0, c.vector)) });
  }
  for (const c of fts) {
    if (c.fts === undefined || !Number.isFinite(c.fts)) continue;
    byId.set(c.id, { ...byId.get(c.id), fts: best > 0 ? c.fts / best : 0 });
  }
  const hits: RankedHit[] = [];
  for (const [id, s] of byId) {
    const score = opts.withVectors ? vectorWeight * (s.vector ?? 0) + (1 - vectorWeight) * (s.fts ?? 0) : (s.fts ?? 0);
    const sources: HitSource[] = [];
    if (s.vector !== undefined) sources.push('vector');
    if (s.fts !== undefined) sources.push('fts');
    hits.push({ id, score, sources, vectorScore: s.vector ?? null, ftsScore: s.fts ?? null });
  }
  return hits
    .filter((h) => h.score >= opts.minScore && h.score > 0)
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, opts.limit);
}
