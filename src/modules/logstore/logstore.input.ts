import type {
  LogDraftStatus,
  LogJobStatus,
  LogJobType,
  LogSplitState,
} from '../../../prisma/generated/client/enums.ts';
import { hasControlCharacter } from '../../core/input-guard.ts';
import { LogStoreInvalidInputError } from './logstore.errors.ts';

/*
 * The DeepStore service's typed inputs, and the edge checks that produce them. GraphQL resolvers (and the REST
 * door's variables, for what GraphQL types cannot say, such as `limit` strings and integer lease sizes) call these
 * once; the service never sees an unparsed value. Every check runs before a transaction starts, so bad input never
 * causes a partial write.
 */

// ---- the service's inputs

/** One database, named by the id REST paths use. */
export interface DatabaseRef {
  databaseId: string;
}

/** One job of a database (completes). */
export interface CompleteRef extends DatabaseRef {
  jobId: string;
}

/** One draft of a database. */
export interface DraftRef extends DatabaseRef {
  draftId: string;
}

/** One split of a database. */
export interface SplitRef extends DatabaseRef {
  splitId: string;
}

/** One job, by its globally unique id. */
export interface JobRef {
  jobId: string;
}

/** An offset page: rows `[offset, offset + take)`. */
export interface ListPage {
  take: number;
  offset: number;
}

export interface CreateDatabaseInput {
  name: string;
}

export interface MintQueryTokenInput extends DatabaseRef {
  scopes: readonly string[];
  ttlSeconds: number;
}

/** A draft's metadata (timestamps as epoch milliseconds). */
export interface DraftMetadata {
  draftId: string;
  sizeBytes: number;
  numDocs: number;
  startTs: number;
  endTs: number;
  scope: string;
}

export interface CommitDraftInput extends DatabaseRef {
  draft: DraftMetadata;
}

export interface DraftFilter {
  statuses?: readonly LogDraftStatus[];
  scope?: string;
  /** Overlap with `[start, end]`. */
  start?: number;
  end?: number;
}

export interface DraftListInput extends DatabaseRef, ListPage {
  filter: DraftFilter;
}

/** Splits overlapping `[start, end]`; `states` defaults to published (query JWTs: always published). */
export interface SplitListInput extends DatabaseRef, ListPage {
  start: number;
  end: number;
  states?: readonly LogSplitState[];
}

export interface JobListInput extends DatabaseRef, ListPage {
  status?: LogJobStatus;
  type?: LogJobType;
}

/** A lease of at most `max` items. */
export interface LeaseInput extends DatabaseRef {
  max: number;
}

export interface ResetRetriesInput extends DatabaseRef {
  draftIds: string[];
  splitIds: string[];
}

// ---- checks

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$/;
const maxListIds = 1000;

const bad = (message: string) => new LogStoreInvalidInputError(message);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A client-chosen id (draft, split): 1–255 of `[A-Za-z0-9._:-]`, starting alphanumeric. */
export function parseId(value: string, field: string): string {
  if (!idPattern.test(value)) throw bad(`${field} must be 1-255 characters of [A-Za-z0-9._:-], starting alphanumeric`);
  return value;
}

/** A list of distinct ids; absent means empty. */
export function parseIdList(value: readonly string[] | null | undefined, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (value.length > maxListIds) throw bad(`${field} may name at most ${maxListIds} ids`);
  const ids = value.map((v, i) => parseId(v, `${field}[${i}]`));
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw bad(`${field} names "${id}" more than once`);
    seen.add(id);
  }
  return ids;
}

/** A non-negative integer count or size (exact below 2^53); GraphQL `BigInt` inputs arrive as bigint. */
export function parseCount(value: number | bigint, field: string): number {
  const n = typeof value === 'bigint' ? (value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Number.NaN) : value;
  if (!Number.isSafeInteger(n) || n < 0) throw bad(`${field} must be a non-negative integer below 2^53`);
  return n;
}

const isoPrefix = /^\d{4}-\d{2}-\d{2}(T|$)/;

/**
 * An epoch-millisecond timestamp from a number, a decimal string (`"1700000000000"`) or an ISO-8601 string.
 * NaN, fractions, other strings and values outside ±8.64e15 (JS Date range) are rejected.
 */
export function parseTimestamp(value: string | number, field: string): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else {
    const s = value.trim();
    if (/^-?\d{1,16}$/.test(s)) ms = Number(s);
    else if (isoPrefix.test(s)) ms = Date.parse(s);
    else throw bad(`${field} must be epoch milliseconds (number or decimal string) or an ISO-8601 date`);
  }
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > 8.64e15) {
    throw bad(`${field} must be an integer number of epoch milliseconds`);
  }
  return ms;
}

/** `[start, end]` with start <= end. */
export function parseRange(
  start: string | number,
  end: string | number,
  startField: string,
  endField: string,
): [number, number] {
  const s = parseTimestamp(start, startField);
  const e = parseTimestamp(end, endField);
  if (s > e) throw bad(`${startField} (${s}) is after ${endField} (${e})`);
  return [s, e];
}

/** An optional integer within bounds (lease sizes, TTLs). */
export function parseBoundedInt(
  value: number | null | undefined,
  field: string,
  def: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === null) return def;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw bad(`${field} must be an integer between ${min} and ${max}`);
  }
  return value;
}

/** Lease sizes: `maxDrafts`/`maxSplits` bounds of each lease operation. */
export const leaseBounds = {
  indexing: { field: 'maxDrafts', def: 10, max: 100 },
  cleanup: { field: 'maxDrafts', def: 10, max: 100 },
  merge: { field: 'maxSplits', def: 10, max: 100 },
  split_cleanup: { field: 'maxSplits', def: 50, max: 200 },
} as const;

export function parseLease(databaseId: string, kind: keyof typeof leaseBounds, max: number | null | undefined) {
  const b = leaseBounds[kind];
  return { databaseId, max: parseBoundedInt(max, b.field, b.def, 1, b.max) } satisfies LeaseInput;
}

export const defaultListLimit = 100;
export const maxListLimit = 1000;

/** The REST `limit` query string of the list calls: base-10 integer 1–1000, default 100. */
export function parseLimit(raw: string | string[] | undefined): number {
  if (raw === undefined) return defaultListLimit;
  const s = Array.isArray(raw) ? raw[0] : raw;
  if (s === undefined || !/^\d{1,7}$/.test(s.trim()))
    throw bad(`limit must be an integer between 1 and ${maxListLimit}`);
  return parseBoundedInt(Number(s.trim()), 'limit', defaultListLimit, 1, maxListLimit);
}

/** A REST JSON body as an object; a missing body is an error (the contract marks no body required). */
export function requireBody(body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw bad('request body must be a JSON object');
  return body;
}

/** The optional body of a lease call: absent means all defaults. */
export function optionalBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  return requireBody(body);
}

export interface FooterOffsets {
  start: number;
  end: number;
}

/** Footer offsets as the doors carry them (GraphQL `BigInt`: bigint). */
export interface FooterFields {
  start: number | bigint;
  end: number | bigint;
}

/** `[start, end)` byte offsets of the split footer, inside the split: 0 <= start <= end <= sizeBytes. */
export function parseFooter(value: FooterFields, sizeBytes: number): FooterOffsets {
  const start = parseCount(value.start, 'footerOffsets.start');
  const end = parseCount(value.end, 'footerOffsets.end');
  if (start > end) throw bad(`footerOffsets.start (${start}) is after footerOffsets.end (${end})`);
  if (end > sizeBytes) throw bad(`footerOffsets.end (${end}) is outside the split (sizeBytes ${sizeBytes})`);
  return { start, end };
}

/** A database name: trimmed, 1–255 characters, no control characters (NUL included). */
export function parseName(value: string): CreateDatabaseInput {
  const name = value.trim();
  if (name.length < 1 || name.length > 255) throw bad('name must be 1 to 255 characters');
  if (hasControlCharacter(name)) throw bad('name must not contain control characters');
  return { name };
}

/** A scope: 1–255 characters, no control characters (NUL included). */
export function parseScope(value: string, field = 'scope'): string {
  if (value.length < 1 || value.length > 255) throw bad(`${field} must be a string of 1 to 255 characters`);
  if (hasControlCharacter(value)) throw bad(`${field} must not contain control characters`);
  return value;
}

const maxQueryTokenTtl = 24 * 3600;

export function parseMintQueryToken(databaseId: string, scopes: readonly string[], ttlSeconds: number) {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxQueryTokenTtl) {
    throw bad(`ttlSeconds must be an integer between 1 and ${maxQueryTokenTtl}`);
  }
  if (scopes.length > 100) throw bad('at most 100 scopes');
  const clean = [...new Set(scopes.map((s, i) => parseScope(s, `scopes[${i}]`)))];
  return { databaseId, scopes: clean, ttlSeconds } satisfies MintQueryTokenInput;
}

/** A draft as the doors carry it (timestamps: epoch ms numbers or strings, or ISO-8601). */
export interface DraftFields {
  draftId: string;
  sizeBytes: number | bigint;
  numDocs: number | bigint;
  startTimestamp: string | number;
  endTimestamp: string | number;
  scope: string;
}

export function parseDraft(b: DraftFields): DraftMetadata {
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

/** A new split as the doors carry it. */
export interface NewSplitFields {
  sizeBytes: number | bigint;
  numDocs: number | bigint;
  timeRangeStart: string | number;
  timeRangeEnd: string | number;
  footerOffsets: FooterFields;
}

/**
 * The REST door's check of a contract number that GraphQL carries as `BigInt`: a fraction or a negative number
 * would otherwise be a GraphQL variable error (a 500) instead of DeepStore's 400. Returns the value as text.
 */
export function restCount(value: number, field: string): string {
  return String(parseCount(value, field));
}

function parseNewSplit(b: NewSplitFields, splitId: string, idField: string): NewSplitInput {
  const id = parseId(splitId, idField);
  const sizeBytes = parseCount(b.sizeBytes, 'sizeBytes');
  const numDocs = parseCount(b.numDocs, 'numDocs');
  const [timeRangeStart, timeRangeEnd] = parseRange(b.timeRangeStart, b.timeRangeEnd, 'timeRangeStart', 'timeRangeEnd');
  const footer = parseFooter(b.footerOffsets, sizeBytes);
  return { splitId: id, sizeBytes, numDocs, timeRangeStart, timeRangeEnd, footer };
}

function disjoint(a: string[], b: string[], aField: string, bField: string): void {
  const inB = new Set(b);
  const both = a.filter((id) => inB.has(id));
  if (both.length > 0) throw bad(`${aField} and ${bField} overlap: ${both.slice(0, 20).join(', ')}`);
}

export interface CompleteIndexingInput extends NewSplitInput {
  indexedDraftIds: string[];
  failedDraftIds: string[];
  splitMetadataJson: string | null;
}

export interface CompleteIndexingFields extends NewSplitFields {
  splitId: string;
  indexedDraftIds: readonly string[];
  failedDraftIds?: readonly string[] | null;
  splitMetadataJson?: string | null;
}

export function parseCompleteIndexing(b: CompleteIndexingFields): CompleteIndexingInput {
  const split = parseNewSplit(b, b.splitId, 'splitId');
  const indexedDraftIds = parseIdList(b.indexedDraftIds, 'indexedDraftIds');
  const failedDraftIds = parseIdList(b.failedDraftIds, 'failedDraftIds');
  disjoint(indexedDraftIds, failedDraftIds, 'indexedDraftIds', 'failedDraftIds');
  if (indexedDraftIds.length > 0 && split.numDocs === 0) throw bad('numDocs must be > 0 when drafts were indexed');
  let splitMetadataJson: string | null = null;
  if (b.splitMetadataJson !== undefined && b.splitMetadataJson !== null) {
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

export function parseCompleteCleanup(
  cleaned: readonly string[],
  failed: readonly string[] | null | undefined,
  noun: 'Draft' | 'Split',
): CompleteCleanupInput {
  const cleanedIds = parseIdList(cleaned, `cleaned${noun}Ids`);
  const failedIds = parseIdList(failed, `failed${noun}Ids`);
  disjoint(cleanedIds, failedIds, `cleaned${noun}Ids`, `failed${noun}Ids`);
  return { cleanedIds, failedIds };
}

export interface CompleteMergeInput extends NewSplitInput {
  mergedSplitIds: string[];
}

export interface CompleteMergeFields extends NewSplitFields {
  newSplitId: string;
  mergedSplitIds: readonly string[];
}

export function parseCompleteMerge(b: CompleteMergeFields): CompleteMergeInput {
  const split = parseNewSplit(b, b.newSplitId, 'newSplitId');
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
