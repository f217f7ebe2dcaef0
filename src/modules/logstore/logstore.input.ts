import { LogStoreInvalidInputError } from './logstore.errors.ts';

/*
 * Input normalisation shared by the REST door and GraphQL. Every check that can fail runs before a
 * transaction starts, so bad input never causes a partial write.
 */

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$/;
const maxListIds = 1000;

const bad = (message: string) => new LogStoreInvalidInputError(message);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The body as an object; a missing body is an error (the contract marks no body required). */
export function requireBody(body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw bad('request body must be a JSON object');
  return body;
}

/** The optional body of a lease call: absent means all defaults. */
export function optionalBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  return requireBody(body);
}

/** A client-chosen id (draft, split): 1–255 of `[A-Za-z0-9._:-]`, starting alphanumeric. */
export function parseId(value: unknown, field: string): string {
  if (typeof value !== 'string') throw bad(`${field} is required and must be a string`);
  if (!idPattern.test(value)) throw bad(`${field} must be 1-255 characters of [A-Za-z0-9._:-], starting alphanumeric`);
  return value;
}

/** A list of distinct ids; `optional` makes a missing list empty. */
export function parseIdList(value: unknown, field: string, optional = false): string[] {
  if (value === undefined && optional) return [];
  if (!Array.isArray(value)) throw bad(`${field} is required and must be an array of ids`);
  if (value.length > maxListIds) throw bad(`${field} may name at most ${maxListIds} ids`);
  const ids = value.map((v, i) => parseId(v, `${field}[${i}]`));
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) throw bad(`${field} names "${dup}" more than once`);
  return ids;
}

/** A non-negative integer count or size (exact below 2^53). */
export function parseCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw bad(`${field} is required and must be a non-negative integer`);
  }
  return value;
}

const isoPrefix = /^\d{4}-\d{2}-\d{2}(T|$)/;

/**
 * An epoch-millisecond timestamp from a number, a decimal string (`"1700000000000"`) or an ISO-8601 string.
 * NaN, fractions, other strings and values outside ±8.64e15 (JS Date range) are rejected.
 */
export function parseTimestamp(value: unknown, field: string): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const s = value.trim();
    if (/^-?\d{1,16}$/.test(s)) ms = Number(s);
    else if (isoPrefix.test(s)) ms = Date.parse(s);
    else throw bad(`${field} must be epoch milliseconds (number or decimal string) or an ISO-8601 date`);
  } else throw bad(`${field} is required (epoch milliseconds or ISO-8601)`);
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > 8.64e15) {
    throw bad(`${field} must be an integer number of epoch milliseconds`);
  }
  return ms;
}

/** `[start, end]` with start <= end. */
export function parseRange(start: unknown, end: unknown, startField: string, endField: string): [number, number] {
  const s = parseTimestamp(start, startField);
  const e = parseTimestamp(end, endField);
  if (s > e) throw bad(`${startField} (${s}) is after ${endField} (${e})`);
  return [s, e];
}

/** An optional integer within bounds (lease sizes). */
export function parseBoundedInt(value: unknown, field: string, def: number, min: number, max: number): number {
  if (value === undefined || value === null) return def;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(`${field} must be an integer between ${min} and ${max}`);
  }
  return value;
}

export const defaultListLimit = 100;
export const maxListLimit = 1000;

/** The `limit` query string of the list calls: base-10 integer 1–1000, default 100. */
export function parseLimit(raw: unknown): number {
  if (raw === undefined || raw === null) return defaultListLimit;
  if (typeof raw === 'number') return parseBoundedInt(raw, 'limit', defaultListLimit, 1, maxListLimit);
  if (typeof raw !== 'string' || !/^\d{1,7}$/.test(raw.trim())) {
    throw bad(`limit must be an integer between 1 and ${maxListLimit}`);
  }
  return parseBoundedInt(Number(raw.trim()), 'limit', defaultListLimit, 1, maxListLimit);
}

export interface FooterOffsets {
  start: number;
  end: number;
}

/** `[start, end)` byte offsets of the split footer, inside the split: 0 <= start <= end <= sizeBytes. */
export function parseFooter(value: unknown, sizeBytes: number): FooterOffsets {
  if (!isRecord(value)) throw bad('footerOffsets is required: {start, end}');
  const start = parseCount(value.start, 'footerOffsets.start');
  const end = parseCount(value.end, 'footerOffsets.end');
  if (start > end) throw bad(`footerOffsets.start (${start}) is after footerOffsets.end (${end})`);
  if (end > sizeBytes) throw bad(`footerOffsets.end (${end}) is outside the split (sizeBytes ${sizeBytes})`);
  return { start, end };
}

export function parseName(value: unknown): string {
  if (typeof value !== 'string') throw bad('name is required and must be a string');
  const name = value.trim();
  if (name.length < 1 || name.length > 255) throw bad('name must be 1 to 255 characters');
  return name;
}

export function parseScope(value: unknown, field = 'scope'): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 255) {
    throw bad(`${field} is required and must be a string of 1 to 255 characters`);
  }
  return value;
}

export interface CommitDraftInput {
  draftId: string;
  sizeBytes: number;
  numDocs: number;
  startTs: number;
  endTs: number;
  scope: string;
}

export function parseCommitDraft(body: unknown): CommitDraftInput {
  const b = requireBody(body);
  const draftId = parseId(b.draftId, 'draftId');
  const sizeBytes = parseCount(b.sizeBytes, 'sizeBytes');
  const numDocs = parseCount(b.numDocs, 'numDocs');
  const [startTs, endTs] = parseRange(b.startTimestamp, b.endTimestamp, 'startTimestamp', 'endTimestamp');
  const scope = parseScope(b.scope);
  return { draftId, sizeBytes, numDocs, startTs, endTs, scope };
}

export interface NewSplitInput {
  splitId: string;
  sizeBytes: number;
  numDocs: number;
  timeRangeStart: number;
  timeRangeEnd: number;
  footer: FooterOffsets;
}

function parseNewSplit(b: Record<string, unknown>, idField: string): NewSplitInput {
  const splitId = parseId(b[idField], idField);
  const sizeBytes = parseCount(b.sizeBytes, 'sizeBytes');
  const numDocs = parseCount(b.numDocs, 'numDocs');
  const [timeRangeStart, timeRangeEnd] = parseRange(b.timeRangeStart, b.timeRangeEnd, 'timeRangeStart', 'timeRangeEnd');
  const footer = parseFooter(b.footerOffsets, sizeBytes);
  return { splitId, sizeBytes, numDocs, timeRangeStart, timeRangeEnd, footer };
}

function disjoint(a: string[], b: string[], aField: string, bField: string): void {
  const both = a.filter((id) => b.includes(id));
  if (both.length > 0) throw bad(`${aField} and ${bField} overlap: ${both.slice(0, 20).join(', ')}`);
}

export interface CompleteIndexingInput extends NewSplitInput {
  indexedDraftIds: string[];
  failedDraftIds: string[];
  splitMetadataJson: string | null;
}

export function parseCompleteIndexing(body: unknown): CompleteIndexingInput {
  const b = requireBody(body);
  const split = parseNewSplit(b, 'splitId');
  const indexedDraftIds = parseIdList(b.indexedDraftIds, 'indexedDraftIds');
  const failedDraftIds = parseIdList(b.failedDraftIds, 'failedDraftIds', true);
  disjoint(indexedDraftIds, failedDraftIds, 'indexedDraftIds', 'failedDraftIds');
  if (indexedDraftIds.length > 0 && split.numDocs === 0) throw bad('numDocs must be > 0 when drafts were indexed');
  let splitMetadataJson: string | null = null;
  if (b.splitMetadataJson !== undefined && b.splitMetadataJson !== null) {
    if (typeof b.splitMetadataJson !== 'string') throw bad('splitMetadataJson must be a string containing JSON');
    try {
      JSON.parse(b.splitMetadataJson);
    } catch {
      throw bad('splitMetadataJson is not valid JSON');
    }
    splitMetadataJson = b.splitMetadataJson;
  }
  return { ...split, indexedDraftIds, failedDraftIds, splitMetadataJson };
}

export interface CompleteCleanupInput {
  cleanedIds: string[];
  failedIds: string[];
}

export function parseCompleteCleanup(body: unknown, noun: 'Draft' | 'Split'): CompleteCleanupInput {
  const b = requireBody(body);
  const cleanedIds = parseIdList(b[`cleaned${noun}Ids`], `cleaned${noun}Ids`);
  const failedIds = parseIdList(b[`failed${noun}Ids`], `failed${noun}Ids`, true);
  disjoint(cleanedIds, failedIds, `cleaned${noun}Ids`, `failed${noun}Ids`);
  return { cleanedIds, failedIds };
}

export interface CompleteMergeInput extends NewSplitInput {
  mergedSplitIds: string[];
}

export function parseCompleteMerge(body: unknown): CompleteMergeInput {
  const b = requireBody(body);
  const split = parseNewSplit(b, 'newSplitId');
  const mergedSplitIds = parseIdList(b.mergedSplitIds, 'mergedSplitIds');
  if (mergedSplitIds.length < 2) throw bad('mergedSplitIds must name at least 2 splits');
  if (mergedSplitIds.includes(split.splitId)) throw bad('newSplitId must differ from the merged splits');
  return { ...split, mergedSplitIds };
}

/** Canonical JSON (sorted id lists) of a parsed complete body: equal bodies give equal strings. */
export function canonical(input: object): string {
  return JSON.stringify(input, (_k, v: unknown) => {
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return [...v].sort();
    if (isRecord(v))
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, v[k]]),
      );
    return v;
  });
}

/** HTTP status of a DeepStore error code (GraphQL error members carry the code). */
export function canonicalStatus(code: string): number {
  switch (code) {
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
    case 'FORBIDDEN':
      return 403;
    case 'UNAUTHENTICATED':
      return 401;
    default:
      return 400;
  }
}
