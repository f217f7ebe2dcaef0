import { randomBytes, randomUUID } from 'node:crypto';
import type { CredentialVerifier } from '../../core/auth/authenticator.ts';
import { publishCredentialRevoked } from '../../core/auth/credential-watch.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import { sha256Hex } from '../../core/auth/secrets.ts';
import type { Tx } from '../../core/db.ts';
import type { CoreServices } from '../../core/services.ts';
import type { LogStoreConfig } from './logstore.config.ts';
import {
  LogStoreConflictError,
  LogStoreForbiddenError,
  LogStoreInvalidInputError,
  LogStoreNotFoundError,
  LogStoreUnauthenticatedError,
} from './logstore.errors.ts';
import {
  type CompleteCleanupInput,
  type CompleteIndexingInput,
  type CompleteMergeInput,
  canonical,
  optionalBody,
  parseBoundedInt,
  parseCommitDraft,
  parseCompleteCleanup,
  parseCompleteIndexing,
  parseCompleteMerge,
  parseIdList,
  parseLimit,
  parseName,
  parseRange,
  parseScope,
} from './logstore.input.ts';
import type { LogJobEventPayload } from './logstore.topics.ts';
import { serviceTokenPrefix } from './service-tokens.ts';

/** What the log store works with: core services and its own configuration (also the module's service for now). */
export type LogStoreServices = Pick<CoreServices, 'prisma' | 'pubsub' | 'tokens' | 'objectStore' | 'logger'> & {
  config: LogStoreConfig;
  /** DeepStore service tokens (`dss_…`), resolved at every door. */
  serviceTokens: CredentialVerifier;
};

// ---------------------------------------------------------------------------------------------------------
// Who may call what (docs/logstore.md, token matrix)

export type CallerKind = 'platform' | 'service' | 'query';

export type LogStoreOperation =
  | 'createDatabase'
  | 'getDatabase'
  | 'deleteDatabase'
  | 'commitDraft'
  | 'listDrafts'
  | 'listSplits'
  | 'lease'
  | 'complete'
  | 'rotateServiceToken'
  | 'revokeServiceTokens'
  | 'mintQueryToken'
  | 'readDatabase';

/** Which token kinds each operation accepts. A valid token of another kind is 403. */
export const operationAccess: Record<LogStoreOperation, readonly CallerKind[]> = {
  createDatabase: ['platform'],
  getDatabase: ['platform', 'service'],
  deleteDatabase: ['platform'],
  commitDraft: ['service'],
  listDrafts: ['platform', 'service', 'query'],
  listSplits: ['platform', 'service', 'query'],
  lease: ['service'],
  complete: ['service'],
  rotateServiceToken: ['platform'],
  revokeServiceTokens: ['platform'],
  mintQueryToken: ['platform'],
  // GraphQL reads of a LogDatabase (owner view: drafts, splits, jobs).
  readDatabase: ['platform', 'service'],
};

export const platformTokenUse = 'platform';
export const queryTokenUse = 'query';

/** The admin key and `token_use: platform` JWTs are platform callers; `query` JWTs and `dss_` tokens the others. */
export function callerKind(p: Principal): CallerKind | undefined {
  if (p.kind === 'admin') return 'platform';
  if (p.kind === 'jwt' && p.tokenUse === platformTokenUse) return 'platform';
  if (p.kind === 'jwt' && p.tokenUse === queryTokenUse) return 'query';
  if (p.kind === 'serviceToken') return 'service';
  return undefined;
}

/** Throws 401 for anonymous callers and 403 for a credential kind the operation does not accept. */
export function assertKind(p: Principal, op: LogStoreOperation): CallerKind {
  if (p.kind === 'anonymous') throw new LogStoreUnauthenticatedError('Authentication required');
  const kind = callerKind(p);
  const allowed = operationAccess[op];
  if (kind === undefined || !allowed.includes(kind)) {
    const names = allowed.map((k) => (k === 'service' ? 'service token' : `${k} JWT`)).join(' or ');
    throw new LogStoreForbiddenError(`This operation requires a ${names}`);
  }
  return kind;
}

interface Access {
  kind: CallerKind;
  /** Scopes of a query JWT; undefined means unrestricted. */
  scopes: readonly string[] | undefined;
}

/**
 * Checks kind, binding and ownership for one database. Service tokens and query JWTs bound to another
 * database are 403; a database the platform caller does not own is 404 like an unknown one.
 */
async function authorize(
  db: Pick<Tx, '$queryRaw'>,
  p: Principal,
  op: LogStoreOperation,
  databaseId: string,
): Promise<Access> {
  const kind = assertKind(p, op);
  if (p.kind === 'serviceToken' && p.databaseId !== databaseId) {
    throw new LogStoreForbiddenError('The service token is bound to another database');
  }
  if (kind === 'query' && p.kind === 'jwt' && p.claims.db !== databaseId) {
    throw new LogStoreForbiddenError('The query token is bound to another database');
  }
  // FOR KEY SHARE: inside a transaction, a concurrent deleteDatabase waits for it to finish (instead of
  // deadlocking with its row locks or failing its inserts on the foreign key).
  const [row] = await db.$queryRaw<{ ownerId: string }[]>`
    SELECT owner_id AS "ownerId" FROM log_databases WHERE id = ${databaseId} FOR KEY SHARE`;
  if (!row || (kind === 'platform' && p.kind !== 'admin' && row.ownerId !== principalId(p))) {
    throw new LogStoreNotFoundError(`database "${databaseId}" not found`);
  }
  return { kind, scopes: kind === 'query' && p.kind === 'jwt' ? p.scopes : undefined };
}

// ---------------------------------------------------------------------------------------------------------
// Views (numbers at the edge: every BigInt is below 2^53)

export interface LogDatabaseView {
  databaseId: string;
  name: string;
  ownerId: string;
  createdAt: Date;
}

export interface DraftView {
  databaseId: string;
  draftId: string;
  scope: string;
  sizeBytes: number;
  numDocs: number;
  startTimestamp: number;
  endTimestamp: number;
  status: string;
  jobId: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
}

export interface SplitView {
  databaseId: string;
  splitId: string;
  state: string;
  timeRangeStart: number;
  timeRangeEnd: number;
  numDocs: number;
  sizeBytes: number;
  footerOffsets: { start: number; end: number };
  splitMetadataJson: string | null;
  scopes: string[];
  replacedBySplitId: string | null;
  replacesSplitIds: string[];
  jobId: string | null;
  markedForDeletionAt: Date | null;
  publishedAt: Date | null;
  createdAt: Date;
}

export interface JobView {
  databaseId: string;
  jobId: string;
  type: string;
  status: string;
  itemIds: string[];
  leasedBy: string;
  leasedAt: Date;
  expiresAt: Date;
  completedAt: Date | null;
}

interface DraftRow {
  databaseId: string;
  draftId: string;
  scope: string;
  sizeBytes: bigint;
  numDocs: bigint;
  startTs: bigint;
  endTs: bigint;
  status: string;
  jobId: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
}

export const toDraftView = (d: DraftRow): DraftView => ({
  databaseId: d.databaseId,
  draftId: d.draftId,
  scope: d.scope,
  sizeBytes: Number(d.sizeBytes),
  numDocs: Number(d.numDocs),
  startTimestamp: Number(d.startTs),
  endTimestamp: Number(d.endTs),
  status: d.status,
  jobId: d.jobId,
  attempts: d.attempts,
  lastError: d.lastError,
  createdAt: d.createdAt,
});

interface SplitRow {
  databaseId: string;
  splitId: string;
  state: string;
  timeRangeStart: bigint;
  timeRangeEnd: bigint;
  numDocs: bigint;
  sizeBytes: bigint;
  footerStart: bigint;
  footerEnd: bigint;
  splitMetadataJson: string | null;
  scopes: string[];
  replacedBySplitId: string | null;
  replacesSplitIds: string[];
  jobId: string | null;
  markedForDeletionAt: Date | null;
  publishedAt: Date | null;
  createdAt: Date;
}

export const toSplitView = (s: SplitRow): SplitView => ({
  databaseId: s.databaseId,
  splitId: s.splitId,
  state: s.state,
  timeRangeStart: Number(s.timeRangeStart),
  timeRangeEnd: Number(s.timeRangeEnd),
  numDocs: Number(s.numDocs),
  sizeBytes: Number(s.sizeBytes),
  footerOffsets: { start: Number(s.footerStart), end: Number(s.footerEnd) },
  splitMetadataJson: s.splitMetadataJson,
  scopes: s.scopes,
  replacedBySplitId: s.replacedBySplitId,
  replacesSplitIds: s.replacesSplitIds,
  jobId: s.jobId,
  markedForDeletionAt: s.markedForDeletionAt,
  publishedAt: s.publishedAt,
  createdAt: s.createdAt,
});

export const toJobView = (j: JobView): JobView => ({
  databaseId: j.databaseId,
  jobId: j.jobId,
  type: j.type,
  status: j.status,
  itemIds: j.itemIds,
  leasedBy: j.leasedBy,
  leasedAt: j.leasedAt,
  expiresAt: j.expiresAt,
  completedAt: j.completedAt,
});

// ---------------------------------------------------------------------------------------------------------
// Databases and tokens

function newServiceToken(): { raw: string; hash: string; prefix: string } {
  const raw = `${serviceTokenPrefix}${randomBytes(32).toString('base64url')}`;
  return { raw, hash: sha256Hex(raw), prefix: raw.slice(0, 12) };
}

export async function createDatabase(
  services: LogStoreServices,
  p: Principal,
  rawName: unknown,
): Promise<{ database: LogDatabaseView; serviceToken: string }> {
  assertKind(p, 'createDatabase');
  const name = parseName(rawName);
  const id = `db_${randomUUID().replaceAll('-', '')}`;
  const token = newServiceToken();
  const created = await services.prisma.$transaction(async (tx) => {
    const db = await tx.logDatabase.create({ data: { id, name, ownerId: principalId(p) } });
    await tx.logServiceToken.create({ data: { databaseId: id, tokenHash: token.hash, prefix: token.prefix } });
    return db;
  });
  return {
    database: { databaseId: created.id, name: created.name, ownerId: created.ownerId, createdAt: created.createdAt },
    serviceToken: token.raw,
  };
}

export async function getDatabase(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  op: LogStoreOperation = 'getDatabase',
): Promise<LogDatabaseView & { draftCount: number; splitCount: number }> {
  await authorize(services.prisma, p, op, databaseId);
  const [db, draftCount, splitCount] = await services.prisma.$transaction([
    services.prisma.logDatabase.findUniqueOrThrow({ where: { id: databaseId } }),
    services.prisma.logDraft.count({ where: { databaseId } }),
    services.prisma.logSplit.count({ where: { databaseId, state: 'published' } }),
  ]);
  return { databaseId: db.id, name: db.name, ownerId: db.ownerId, createdAt: db.createdAt, draftCount, splitCount };
}

/** Databases the platform caller owns (all for the admin), newest first. */
export async function listDatabases(services: LogStoreServices, p: Principal, take: number, cursor?: string) {
  assertKind(p, 'createDatabase');
  return services.prisma.logDatabase.findMany({
    where: p.kind === 'admin' ? {} : { ownerId: principalId(p) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
    ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
  });
}

/**
 * Deletes the database, its tokens, drafts, splits and jobs in one transaction (leases die with it: their
 * completes get 404), then purges the object prefix `<databaseId>/`. Keys that could not be deleted are
 * reported in `errors` with `success: false`.
 */
export async function deleteDatabase(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
): Promise<{ success: boolean; errors: string[] }> {
  await authorize(services.prisma, p, 'deleteDatabase', databaseId);
  await services.prisma.$transaction(async (tx) => {
    // Cascades to tokens, drafts, splits and jobs.
    const gone = await tx.logDatabase.deleteMany({ where: { id: databaseId } });
    if (gone.count === 0) throw new LogStoreNotFoundError(`database "${databaseId}" not found`);
  });
  const errors: string[] = [];
  try {
    let after: string | undefined;
    do {
      const page = await services.objectStore.listObjects(`${databaseId}/`, after ? { after } : {});
      for (const key of page.keys) {
        try {
          await services.objectStore.deleteObject(key);
        } catch (e) {
          errors.push(`${key}: ${e instanceof Error ? e.message : 'delete failed'}`);
        }
      }
      after = page.nextToken;
    } while (after);
  } catch (e) {
    errors.push(`${databaseId}/: ${e instanceof Error ? e.message : 'list failed'}`);
  }
  return { success: errors.length === 0, errors };
}

/** Issues a new service token and revokes every previous one in the same transaction (no grace window). */
export async function rotateServiceToken(services: LogStoreServices, p: Principal, databaseId: string) {
  const token = newServiceToken();
  const revoked = await services.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'rotateServiceToken', databaseId);
    const previous = await tx.logServiceToken.findMany({
      where: { databaseId, revokedAt: null },
      select: { id: true },
    });
    await tx.logServiceToken.updateMany({ where: { databaseId, revokedAt: null }, data: { revokedAt: new Date() } });
    await tx.logServiceToken.create({ data: { databaseId, tokenHash: token.hash, prefix: token.prefix } });
    return previous;
  });
  // Open subscriptions of the rotated-away tokens end now (core's credential.revoked).
  publishCredentialRevoked(
    services.pubsub,
    revoked.map((t) => `servicetoken:${t.id}`),
  );
  return { serviceToken: token.raw };
}

export async function revokeServiceTokens(services: LogStoreServices, p: Principal, databaseId: string) {
  const { ids, result } = await services.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'revokeServiceTokens', databaseId);
    const previous = await tx.logServiceToken.findMany({
      where: { databaseId, revokedAt: null },
      select: { id: true },
    });
    const r = await tx.logServiceToken.updateMany({
      where: { databaseId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return { ids: previous.map((t) => `servicetoken:${t.id}`), result: { success: true, revoked: r.count } };
  });
  publishCredentialRevoked(services.pubsub, ids);
  return result;
}

const maxQueryTokenTtl = 24 * 3600;

/** Mints a query JWT for one database: `token_use: query`, claim `db`, `scopes` (drafts/splits it may see). */
export async function mintQueryToken(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  scopes: readonly string[],
  ttlSeconds: number,
) {
  await authorize(services.prisma, p, 'mintQueryToken', databaseId);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxQueryTokenTtl) {
    throw new LogStoreInvalidInputError(`ttlSeconds must be an integer between 1 and ${maxQueryTokenTtl}`);
  }
  if (scopes.length > 100) throw new LogStoreInvalidInputError('at most 100 scopes');
  const clean = [...new Set(scopes.map((s, i) => parseScope(s, `scopes[${i}]`)))];
  return services.tokens.issue({
    subject: principalId(p),
    tokenUse: queryTokenUse,
    scopes: clean,
    ttlSeconds,
    claims: { db: databaseId },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Drafts and splits

export async function commitDraft(services: LogStoreServices, p: Principal, databaseId: string, body: unknown) {
  const input = parseCommitDraft(body);
  const data = {
    scope: input.scope,
    sizeBytes: BigInt(input.sizeBytes),
    numDocs: BigInt(input.numDocs),
    startTs: BigInt(input.startTs),
    endTs: BigInt(input.endTs),
  };
  const same = await services.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'commitDraft', databaseId);
    const inserted = await tx.logDraft.createMany({
      data: [{ databaseId, draftId: input.draftId, ...data }],
      skipDuplicates: true,
    });
    if (inserted.count === 1) return true;
    // Same id again: idempotent when identical, a conflict otherwise.
    const existing = await tx.logDraft.findUnique({
      where: { databaseId_draftId: { databaseId, draftId: input.draftId } },
    });
    return (
      existing !== null &&
      existing.scope === data.scope &&
      existing.sizeBytes === data.sizeBytes &&
      existing.numDocs === data.numDocs &&
      existing.startTs === data.startTs &&
      existing.endTs === data.endTs
    );
  });
  if (same) return { success: true };
  throw new LogStoreConflictError(`draft "${input.draftId}" was already committed with different metadata`);
}

export interface DraftFilter {
  statuses?: readonly string[];
  scope?: string;
  /** Overlap with `[start, end]`. */
  start?: number;
  end?: number;
}

/** Drafts by createdAt asc. A query JWT sees only drafts whose scope it names. */
export async function listDrafts(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  opts: { limit?: unknown; take?: number; filter?: DraftFilter; offset?: number } = {},
): Promise<DraftView[]> {
  const access = await authorize(services.prisma, p, 'listDrafts', databaseId);
  // `take`: internal page size (GraphQL connections ask for one row more than a page), not client input.
  const limit = opts.take ?? parseLimit(opts.limit);
  const f = opts.filter ?? {};
  const scopeFilter =
    access.scopes !== undefined
      ? { scope: { in: f.scope !== undefined ? access.scopes.filter((s) => s === f.scope) : [...access.scopes] } }
      : f.scope !== undefined
        ? { scope: f.scope }
        : {};
  const rows = await services.prisma.logDraft.findMany({
    where: {
      databaseId,
      ...scopeFilter,
      ...(f.statuses ? { status: { in: f.statuses as never[] } } : {}),
      ...(f.end !== undefined ? { startTs: { lte: BigInt(f.end) } } : {}),
      ...(f.start !== undefined ? { endTs: { gte: BigInt(f.start) } } : {}),
    },
    orderBy: [{ createdAt: 'asc' }, { draftId: 'asc' }],
    skip: opts.offset ?? 0,
    take: limit,
  });
  return rows.map(toDraftView);
}

/**
 * Splits overlapping the closed interval `[start, end]` (timeRangeStart <= end AND timeRangeEnd >= start),
 * by timeRangeStart then splitId. REST shows only `published`; GraphQL owners may ask for other states.
 * A query JWT sees only splits whose scopes are all among its scopes.
 */
export async function listSplits(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  opts: { start: unknown; end: unknown; limit?: unknown; take?: number; states?: readonly string[]; offset?: number },
): Promise<SplitView[]> {
  const [start, end] = parseRange(opts.start, opts.end, 'startTimestamp', 'endTimestamp');
  const limit = opts.take ?? parseLimit(opts.limit);
  const offset = opts.offset ?? 0;
  const access = await authorize(services.prisma, p, 'listSplits', databaseId);
  if (access.scopes !== undefined) {
    // Query JWT: published splits whose scopes are all among the token's (⊆), bounded in SQL.
    if (access.scopes.length === 0) return [];
    const rows = await services.prisma.$queryRaw<SplitRow[]>`
      SELECT database_id AS "databaseId", split_id AS "splitId", state::text AS state,
             time_range_start AS "timeRangeStart", time_range_end AS "timeRangeEnd", num_docs AS "numDocs",
             size_bytes AS "sizeBytes", footer_start AS "footerStart", footer_end AS "footerEnd",
             split_metadata_json AS "splitMetadataJson", scopes, replaced_by_split_id AS "replacedBySplitId",
             replaces_split_ids AS "replacesSplitIds", job_id AS "jobId",
             marked_for_deletion_at AS "markedForDeletionAt", published_at AS "publishedAt", created_at AS "createdAt"
      FROM log_splits
      WHERE database_id = ${databaseId} AND state = 'published'
        AND time_range_start <= ${end}::bigint AND time_range_end >= ${start}::bigint
        AND scopes <@ ${[...access.scopes]}::text[]
      ORDER BY time_range_start, split_id LIMIT ${limit} OFFSET ${offset}`;
    return rows.map(toSplitView);
  }
  const states = !opts.states ? ['published'] : opts.states;
  const visible = await services.prisma.logSplit.findMany({
    where: {
      databaseId,
      state: { in: states as never[] },
      timeRangeStart: { lte: BigInt(end) },
      timeRangeEnd: { gte: BigInt(start) },
    },
    orderBy: [{ timeRangeStart: 'asc' }, { splitId: 'asc' }],
    skip: offset,
    take: limit,
  });
  return visible.map(toSplitView);
}

// ---------------------------------------------------------------------------------------------------------
// Leasing

type JobType = LogJobEventPayload['type'];

function leaseTtlMs(services: LogStoreServices, type: JobType): number {
  const c = services.config;
  switch (type) {
    case 'indexing':
      return c.indexingLeaseMs;
    case 'cleanup':
      return c.cleanupLeaseMs;
    case 'merge':
      return c.mergeLeaseMs;
    case 'split_cleanup':
      return c.splitCleanupLeaseMs;
  }
}

function publish(services: LogStoreServices, databaseId: string, events: Omit<LogJobEventPayload, 'at'>[]): void {
  const at = new Date().toISOString();
  for (const e of events) services.pubsub.publish('logstore.jobEvent', databaseId, { ...e, at });
}

/** Marks this database's expired active jobs of a type `expired`; returns them (their rows are reset by the caller). */
async function expireJobs(tx: Tx, databaseId: string, type: JobType): Promise<{ id: string; itemIds: string[] }[]> {
  // One reclaimer per (database, job type) at a time: concurrent leases skip reclamation instead of locking the
  // same expired job rows in different orders (a deadlock). The lock ends with the transaction.
  // The lock is taken (once, as an InitPlan) only when there are expired jobs to look at.
  return tx.$queryRaw<{ id: string; itemIds: string[] }[]>`
    WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtext(${`logstore:reclaim:${databaseId}:${type}`})) AS locked)
    UPDATE log_jobs SET status = 'expired'
    WHERE database_id = ${databaseId} AND type = ${type}::"LogJobType" AND status = 'active' AND expires_at < now()
      AND (SELECT locked FROM lock)
    RETURNING id, item_ids AS "itemIds"`;
}

const newJobId = () => `job_${randomUUID().replaceAll('-', '')}`;

async function insertJob(
  tx: Tx,
  databaseId: string,
  type: JobType,
  itemIds: string[],
  leasedBy: string,
  ttlMs: number,
): Promise<string> {
  const jobId = newJobId();
  await tx.$executeRaw`
    INSERT INTO log_jobs (id, database_id, type, status, item_ids, leased_by, leased_at, expires_at)
    VALUES (${jobId}, ${databaseId}, ${type}::"LogJobType", 'active', ${itemIds}::text[], ${leasedBy}, now(),
            now() + ${ttlMs}::float8 * interval '1 millisecond')`;
  return jobId;
}

interface LeaseOutcome<J> {
  job: J | null;
  events: Omit<LogJobEventPayload, 'at'>[];
}

async function leaseTransaction<J>(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  fn: (tx: Tx) => Promise<LeaseOutcome<J>>,
): Promise<J | null> {
  const outcome = await services.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'lease', databaseId);
    return fn(tx);
  });
  publish(services, databaseId, outcome.events);
  return outcome.job;
}

const expiredEvents = (type: JobType, jobs: { id: string; itemIds: string[] }[]): Omit<LogJobEventPayload, 'at'>[] =>
  jobs.map((j) => ({ jobId: j.id, type, event: 'expired', itemIds: j.itemIds }));

export interface IndexingJobView {
  jobId: string;
  draftIds: string[];
  inputNumDocs: number;
  inputSizeBytes: number;
}

/**
 * Leases up to `maxDrafts` drafts of one scope (the scope of the oldest eligible draft), so every split is
 * single-scope. Eligible: `committed`, or `index_failed` under the attempt cap once its backoff elapsed.
 * Rows are claimed with FOR UPDATE SKIP LOCKED: concurrent leases never see the same draft.
 */
export async function leaseIndexingJob(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  body: unknown,
): Promise<IndexingJobView | null> {
  const max = parseBoundedInt(optionalBody(body).maxDrafts, 'maxDrafts', 10, 1, 100);
  const { maxAttempts } = services.config;
  const ttl = leaseTtlMs(services, 'indexing');
  return leaseTransaction(services, p, databaseId, async (tx) => {
    const expired = await expireJobs(tx, databaseId, 'indexing');
    if (expired.length > 0) {
      await tx.$executeRaw`
        UPDATE log_drafts SET status = 'committed', job_id = NULL, updated_at = now()
        WHERE database_id = ${databaseId} AND status = 'indexing' AND job_id = ANY(${expired.map((j) => j.id)}::text[])`;
    }
    const events = expiredEvents('indexing', expired);
    // Fresh drafts first, then retries whose backoff elapsed: index-ordered scans on (database_id, status,
    // created_at, draft_id) rather than one OR, which would sort every candidate on each lease. The scope is the
    // oldest unlocked eligible draft's; the CTE locks that draft, so the outer scan (same transaction) keeps it.
    const picked = await tx.$queryRaw<{ draftId: string; scope: string }[]>`
      WITH first AS (
        SELECT scope FROM log_drafts WHERE database_id = ${databaseId} AND status = 'committed'
        ORDER BY created_at, draft_id LIMIT 1 FOR UPDATE SKIP LOCKED)
      SELECT d.draft_id AS "draftId", d.scope FROM log_drafts d, first
      WHERE d.database_id = ${databaseId} AND d.status = 'committed' AND d.scope = first.scope
      ORDER BY d.created_at, d.draft_id LIMIT ${max} FOR UPDATE OF d SKIP LOCKED`;
    let scope = picked[0]?.scope;
    if (scope === undefined) {
      const [retry] = await tx.$queryRaw<{ scope: string }[]>`
        SELECT scope FROM log_drafts
        WHERE database_id = ${databaseId} AND status = 'index_failed' AND attempts < ${maxAttempts}
          AND (next_eligible_at IS NULL OR next_eligible_at <= now())
        ORDER BY created_at, draft_id LIMIT 1 FOR UPDATE SKIP LOCKED`;
      scope = retry?.scope;
    }
    if (scope === undefined) return { job: null, events };
    if (picked.length < max) {
      picked.push(
        ...(await tx.$queryRaw<{ draftId: string; scope: string }[]>`
          SELECT draft_id AS "draftId", scope FROM log_drafts
          WHERE database_id = ${databaseId} AND status = 'index_failed' AND scope = ${scope}
            AND attempts < ${maxAttempts} AND (next_eligible_at IS NULL OR next_eligible_at <= now())
          ORDER BY created_at, draft_id LIMIT ${max - picked.length} FOR UPDATE SKIP LOCKED`),
      );
    }
    const ids = picked.map((r) => r.draftId);
    const jobId = newJobId();
    // Job row and draft stamps in one statement (one round trip).
    const sums = await tx.$queryRaw<{ docs: bigint | null; bytes: bigint | null }[]>`
      WITH job AS (
        INSERT INTO log_jobs (id, database_id, type, status, item_ids, leased_by, leased_at, expires_at)
        VALUES (${jobId}, ${databaseId}, 'indexing', 'active', ${ids}::text[], ${principalId(p)}, now(),
                now() + ${ttl}::float8 * interval '1 millisecond')),
      leased AS (
        UPDATE log_drafts SET status = 'indexing', job_id = ${jobId}, attempts = attempts + 1, updated_at = now()
        WHERE database_id = ${databaseId} AND draft_id = ANY(${ids}::text[])
        RETURNING num_docs, size_bytes)
      SELECT sum(num_docs)::bigint AS docs, sum(size_bytes)::bigint AS bytes FROM leased`;
    events.push({ jobId, type: 'indexing', event: 'leased', itemIds: ids });
    return {
      job: {
        jobId,
        draftIds: ids,
        inputNumDocs: Number(sums[0]?.docs ?? 0),
        inputSizeBytes: Number(sums[0]?.bytes ?? 0),
      },
      events,
    };
  });
}

/** Leases `indexed` drafts (and `cleanup_failed` ones under the cap after backoff) for object deletion. */
export async function leaseCleanupJob(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  body: unknown,
): Promise<{ jobId: string; draftIds: string[] } | null> {
  const max = parseBoundedInt(optionalBody(body).maxDrafts, 'maxDrafts', 10, 1, 100);
  const { maxAttempts } = services.config;
  const ttl = leaseTtlMs(services, 'cleanup');
  return leaseTransaction(services, p, databaseId, async (tx) => {
    const expired = await expireJobs(tx, databaseId, 'cleanup');
    if (expired.length > 0) {
      await tx.$executeRaw`
        UPDATE log_drafts SET status = 'indexed', job_id = NULL, updated_at = now()
        WHERE database_id = ${databaseId} AND status = 'cleaning_up' AND job_id = ANY(${expired.map((j) => j.id)}::text[])`;
    }
    const events = expiredEvents('cleanup', expired);
    const picked = await tx.$queryRaw<{ draftId: string }[]>`
      SELECT draft_id AS "draftId" FROM log_drafts WHERE database_id = ${databaseId} AND status = 'indexed'
      ORDER BY created_at, draft_id LIMIT ${max} FOR UPDATE SKIP LOCKED`;
    if (picked.length < max) {
      picked.push(
        ...(await tx.$queryRaw<{ draftId: string }[]>`
          SELECT draft_id AS "draftId" FROM log_drafts
          WHERE database_id = ${databaseId} AND status = 'cleanup_failed' AND attempts < ${maxAttempts}
            AND (next_eligible_at IS NULL OR next_eligible_at <= now())
          ORDER BY created_at, draft_id LIMIT ${max - picked.length} FOR UPDATE SKIP LOCKED`),
      );
    }
    if (picked.length === 0) return { job: null, events };
    const ids = picked.map((r) => r.draftId);
    const jobId = await insertJob(tx, databaseId, 'cleanup', ids, principalId(p), ttl);
    await tx.$executeRaw`
      UPDATE log_drafts SET status = 'cleaning_up', job_id = ${jobId}, attempts = attempts + 1, updated_at = now()
      WHERE database_id = ${databaseId} AND draft_id = ANY(${ids}::text[])`;
    events.push({ jobId, type: 'cleanup', event: 'leased', itemIds: ids });
    return { job: { jobId, draftIds: ids }, events };
  });
}

/**
 * Leases 2..maxSplits published, unleased splits with the same scopes, oldest time range first. Fewer than
 * two candidates (a one-split merge is a no-op) answer no job. Splits stay published (searchable) meanwhile.
 */
export async function leaseMergeJob(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  body: unknown,
): Promise<{ jobId: string; splitIds: string[] } | null> {
  const max = parseBoundedInt(optionalBody(body).maxSplits, 'maxSplits', 10, 1, 100);
  const ttl = leaseTtlMs(services, 'merge');
  return leaseTransaction(services, p, databaseId, async (tx) => {
    const expired = await expireJobs(tx, databaseId, 'merge');
    if (expired.length > 0) {
      await tx.$executeRaw`
        UPDATE log_splits SET job_id = NULL
        WHERE database_id = ${databaseId} AND state = 'published' AND job_id = ANY(${expired.map((j) => j.id)}::text[])`;
    }
    const events = expiredEvents('merge', expired);
    if (max < 2) return { job: null, events };
    const picked = await tx.$queryRaw<{ splitId: string }[]>`
      WITH first AS (
        SELECT scopes FROM log_splits
        WHERE database_id = ${databaseId} AND state = 'published' AND job_id IS NULL
        ORDER BY time_range_start, split_id LIMIT 1 FOR UPDATE SKIP LOCKED)
      SELECT s.split_id AS "splitId" FROM log_splits s, first
      WHERE s.database_id = ${databaseId} AND s.state = 'published' AND s.job_id IS NULL AND s.scopes = first.scopes
      ORDER BY s.time_range_start, s.split_id LIMIT ${max} FOR UPDATE OF s SKIP LOCKED`;
    if (picked.length < 2) return { job: null, events };
    const ids = picked.map((r) => r.splitId);
    const jobId = await insertJob(tx, databaseId, 'merge', ids, principalId(p), ttl);
    await tx.$executeRaw`
      UPDATE log_splits SET job_id = ${jobId} WHERE database_id = ${databaseId} AND split_id = ANY(${ids}::text[])`;
    events.push({ jobId, type: 'merge', event: 'leased', itemIds: ids });
    return { job: { jobId, splitIds: ids }, events };
  });
}

/**
 * Leases splits marked for deletion at least `splitDeletionGraceMs` ago (in-flight readers may still use them);
 * failed ones again after backoff, under the attempt cap.
 */
export async function leaseSplitCleanupJob(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  body: unknown,
): Promise<{ jobId: string; splitIds: string[] } | null> {
  const max = parseBoundedInt(optionalBody(body).maxSplits, 'maxSplits', 50, 1, 200);
  const { maxAttempts, splitDeletionGraceMs } = services.config;
  const ttl = leaseTtlMs(services, 'split_cleanup');
  return leaseTransaction(services, p, databaseId, async (tx) => {
    const expired = await expireJobs(tx, databaseId, 'split_cleanup');
    if (expired.length > 0) {
      await tx.$executeRaw`
        UPDATE log_splits SET job_id = NULL
        WHERE database_id = ${databaseId} AND state = 'marked_for_deletion'
          AND job_id = ANY(${expired.map((j) => j.id)}::text[])`;
    }
    const events = expiredEvents('split_cleanup', expired);
    const picked = await tx.$queryRaw<{ splitId: string }[]>`
      SELECT split_id AS "splitId" FROM log_splits
      WHERE database_id = ${databaseId} AND state = 'marked_for_deletion' AND job_id IS NULL
        AND marked_for_deletion_at <= now() - ${splitDeletionGraceMs}::float8 * interval '1 millisecond'
        AND (next_eligible_at IS NULL OR (attempts < ${maxAttempts} AND next_eligible_at <= now()))
      ORDER BY marked_for_deletion_at, split_id LIMIT ${max} FOR UPDATE SKIP LOCKED`;
    if (picked.length === 0) return { job: null, events };
    const ids = picked.map((r) => r.splitId);
    const jobId = await insertJob(tx, databaseId, 'split_cleanup', ids, principalId(p), ttl);
    await tx.$executeRaw`
      UPDATE log_splits SET job_id = ${jobId}, attempts = attempts + 1
      WHERE database_id = ${databaseId} AND split_id = ANY(${ids}::text[])`;
    events.push({ jobId, type: 'split_cleanup', event: 'leased', itemIds: ids });
    return { job: { jobId, splitIds: ids }, events };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Completes

export interface CompleteResult {
  success: boolean;
  errors: string[];
}

interface LockedJob {
  id: string;
  type: JobType;
  status: 'active' | 'completed' | 'expired';
  itemIds: string[];
  resultHash: string | null;
}

/**
 * Common preamble of every complete, inside its transaction: locks the job row (concurrent completes of one
 * job serialise here), 404 for an unknown job or another type, idempotent replay of a completed job.
 * Returns undefined for a replay (answer success without changes).
 */
async function lockJob(
  tx: Tx,
  databaseId: string,
  jobId: string,
  type: JobType,
  resultHash: string,
): Promise<LockedJob | undefined> {
  const rows = await tx.$queryRaw<LockedJob[]>`
    SELECT id, type::text AS type, status::text AS status, item_ids AS "itemIds", result_hash AS "resultHash"
    FROM log_jobs WHERE id = ${jobId} AND database_id = ${databaseId} FOR UPDATE`;
  const job = rows[0];
  if (!job || job.type !== type) throw new LogStoreNotFoundError(`${type} job "${jobId}" not found`);
  if (job.status === 'completed') {
    if (job.resultHash === resultHash) return undefined;
    throw new LogStoreConflictError(`job "${jobId}" was already completed with a different result`);
  }
  return job;
}

function assertMembers(job: LockedJob, ids: string[], noun: string): void {
  const unknown = ids.filter((id) => !job.itemIds.includes(id));
  if (unknown.length > 0) {
    throw new LogStoreInvalidInputError(`${noun} not in job "${job.id}": ${unknown.slice(0, 20).join(', ')}`);
  }
}

/** Fencing: a complete is accepted only while every item still belongs to this job (late ones included). */
function assertOwnsAll(job: LockedJob, owned: string[]): void {
  if (owned.length === job.itemIds.length) return;
  const lost = job.itemIds.filter((id) => !owned.includes(id));
  throw new LogStoreConflictError(`lease expired; items re-leased: ${lost.slice(0, 20).join(', ')}`);
}

async function completeTransaction(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  jobId: string,
  type: JobType,
  input: object,
  fn: (tx: Tx, job: LockedJob) => Promise<void>,
): Promise<CompleteResult> {
  const hash = sha256Hex(canonical(input));
  const result = await services.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'complete', databaseId);
    const job = await lockJob(tx, databaseId, jobId, type, hash);
    if (!job) return { replay: true, itemIds: [] as string[] };
    await fn(tx, job);
    await tx.$executeRaw`
      UPDATE log_jobs SET status = 'completed', completed_at = now(), result_hash = ${hash},
             result = ${JSON.stringify(input)}::jsonb
      WHERE id = ${jobId}`;
    return { replay: false, itemIds: job.itemIds };
  });
  if (!result.replay) publish(services, databaseId, [{ jobId, type, event: 'completed', itemIds: result.itemIds }]);
  return { success: true, errors: [] };
}

function backoffSql(services: LogStoreServices) {
  const { retryBackoffMs, maxBackoffMs } = services.config;
  return { base: retryBackoffMs, cap: maxBackoffMs };
}

/**
 * Publishes the split (staged → published in this transaction), marks the indexed drafts `indexed`, failed
 * ones `index_failed` with backoff, returns the rest to `committed`. All or nothing.
 */
export async function completeIndexingJob(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  jobId: string,
  body: unknown,
): Promise<CompleteResult> {
  const input: CompleteIndexingInput = parseCompleteIndexing(body);
  const { base, cap } = backoffSql(services);
  return completeTransaction(services, p, databaseId, jobId, 'indexing', input, async (tx, job) => {
    assertMembers(job, [...input.indexedDraftIds, ...input.failedDraftIds], 'drafts');
    const owned = await tx.$queryRaw<{ draftId: string; scope: string }[]>`
      SELECT draft_id AS "draftId", scope FROM log_drafts
      WHERE database_id = ${databaseId} AND job_id = ${jobId} AND status = 'indexing'
      ORDER BY draft_id FOR UPDATE`;
    assertOwnsAll(
      job,
      owned.map((d) => d.draftId),
    );
    if (input.indexedDraftIds.length > 0) {
      const scopes = [
        ...new Set(owned.filter((d) => input.indexedDraftIds.includes(d.draftId)).map((d) => d.scope)),
      ].sort();
      const inserted = await tx.$executeRaw`
        INSERT INTO log_splits (database_id, split_id, state, time_range_start, time_range_end, num_docs, size_bytes,
                                footer_start, footer_end, split_metadata_json, scopes, source_job_id, replaces_split_ids,
                                created_at)
        VALUES (${databaseId}, ${input.splitId}, 'staged', ${input.timeRangeStart}::bigint, ${input.timeRangeEnd}::bigint,
                ${input.numDocs}::bigint, ${input.sizeBytes}::bigint, ${input.footer.start}::bigint,
                ${input.footer.end}::bigint, ${input.splitMetadataJson}, ${scopes}::text[], ${jobId}, '{}', now())
        ON CONFLICT DO NOTHING`;
      if (inserted === 0) throw new LogStoreConflictError(`split "${input.splitId}" already exists`);
      await tx.$executeRaw`
        UPDATE log_drafts SET status = 'indexed', job_id = NULL, attempts = 0, next_eligible_at = NULL,
               last_error = NULL, updated_at = now()
        WHERE database_id = ${databaseId} AND draft_id = ANY(${input.indexedDraftIds}::text[])`;
    }
    if (input.failedDraftIds.length > 0) {
      await tx.$executeRaw`
        UPDATE log_drafts SET status = 'index_failed', job_id = NULL, last_error = 'reported failed by indexing job',
               next_eligible_at = now() + LEAST(${base}::float8 * power(2::float8, GREATEST(attempts - 1, 0)),
                                                ${cap}::float8) * interval '1 millisecond',
               updated_at = now()
        WHERE database_id = ${databaseId} AND draft_id = ANY(${input.failedDraftIds}::text[])`;
    }
    await tx.$executeRaw`
      UPDATE log_drafts SET status = 'committed', job_id = NULL, updated_at = now()
      WHERE database_id = ${databaseId} AND job_id = ${jobId} AND status = 'indexing'`;
    if (input.indexedDraftIds.length > 0) {
      await tx.$executeRaw`
        UPDATE log_splits SET state = 'published', published_at = now()
        WHERE database_id = ${databaseId} AND split_id = ${input.splitId} AND state = 'staged'`;
    }
  });
}

/** Deletes cleaned drafts, marks failed ones `cleanup_failed` with backoff, returns the rest to `indexed`. */
export async function completeCleanupJob(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  jobId: string,
  body: unknown,
): Promise<CompleteResult> {
  const input: CompleteCleanupInput = parseCompleteCleanup(body, 'Draft');
  const { base, cap } = backoffSql(services);
  return completeTransaction(services, p, databaseId, jobId, 'cleanup', input, async (tx, job) => {
    assertMembers(job, [...input.cleanedIds, ...input.failedIds], 'drafts');
    const owned = await tx.$queryRaw<{ draftId: string }[]>`
      SELECT draft_id AS "draftId" FROM log_drafts
      WHERE database_id = ${databaseId} AND job_id = ${jobId} AND status = 'cleaning_up'
      ORDER BY draft_id FOR UPDATE`;
    assertOwnsAll(
      job,
      owned.map((d) => d.draftId),
    );
    if (input.cleanedIds.length > 0) {
      await tx.$executeRaw`
        DELETE FROM log_drafts WHERE database_id = ${databaseId} AND draft_id = ANY(${input.cleanedIds}::text[])`;
    }
    if (input.failedIds.length > 0) {
      await tx.$executeRaw`
        UPDATE log_drafts SET status = 'cleanup_failed', job_id = NULL, last_error = 'reported failed by cleanup job',
               next_eligible_at = now() + LEAST(${base}::float8 * power(2::float8, GREATEST(attempts - 1, 0)),
                                                ${cap}::float8) * interval '1 millisecond',
               updated_at = now()
        WHERE database_id = ${databaseId} AND draft_id = ANY(${input.failedIds}::text[])`;
    }
    await tx.$executeRaw`
      UPDATE log_drafts SET status = 'indexed', job_id = NULL, updated_at = now()
      WHERE database_id = ${databaseId} AND job_id = ${jobId} AND status = 'cleaning_up'`;
  });
}

/**
 * Publishes the merged split and marks every merged split `marked_for_deletion` in one transaction: the
 * published set covers each document exactly once at every instant.
 */
export async function completeMergeJob(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  jobId: string,
  body: unknown,
): Promise<CompleteResult> {
  const input: CompleteMergeInput = parseCompleteMerge(body);
  return completeTransaction(services, p, databaseId, jobId, 'merge', input, async (tx, job) => {
    assertMembers(job, input.mergedSplitIds, 'splits');
    const missing = job.itemIds.filter((id) => !input.mergedSplitIds.includes(id));
    if (missing.length > 0) {
      throw new LogStoreInvalidInputError(
        `mergedSplitIds must name every split of the job; missing ${missing.join(', ')}`,
      );
    }
    const owned = await tx.$queryRaw<{ splitId: string; scopes: string[]; start: bigint; end: bigint; docs: bigint }[]>`
      SELECT split_id AS "splitId", scopes, time_range_start AS start, time_range_end AS "end", num_docs AS docs
      FROM log_splits WHERE database_id = ${databaseId} AND job_id = ${jobId} AND state = 'published'
      ORDER BY split_id FOR UPDATE`;
    assertOwnsAll(
      job,
      owned.map((s) => s.splitId),
    );
    let minStart = owned[0]?.start ?? 0n;
    let maxEnd = owned[0]?.end ?? 0n;
    for (const s of owned) {
      if (s.start < minStart) minStart = s.start;
      if (s.end > maxEnd) maxEnd = s.end;
    }
    if (BigInt(input.timeRangeStart) > minStart || BigInt(input.timeRangeEnd) < maxEnd) {
      throw new LogStoreInvalidInputError(
        `the merged time range must cover the merged splits: [${minStart}, ${maxEnd}]`,
      );
    }
    const docs = owned.reduce((sum, s) => sum + s.docs, 0n);
    if (BigInt(input.numDocs) > docs) {
      throw new LogStoreInvalidInputError(`numDocs (${input.numDocs}) exceeds the merged splits' total (${docs})`);
    }
    const scopes = [...new Set(owned.flatMap((s) => s.scopes))].sort();
    const inserted = await tx.$executeRaw`
      INSERT INTO log_splits (database_id, split_id, state, time_range_start, time_range_end, num_docs, size_bytes,
                              footer_start, footer_end, scopes, source_job_id, replaces_split_ids, created_at)
      VALUES (${databaseId}, ${input.splitId}, 'staged', ${input.timeRangeStart}::bigint, ${input.timeRangeEnd}::bigint,
              ${input.numDocs}::bigint, ${input.sizeBytes}::bigint, ${input.footer.start}::bigint,
              ${input.footer.end}::bigint, ${scopes}::text[], ${jobId}, ${input.mergedSplitIds}::text[], now())
      ON CONFLICT DO NOTHING`;
    if (inserted === 0) throw new LogStoreConflictError(`split "${input.splitId}" already exists`);
    await tx.$executeRaw`
      UPDATE log_splits SET state = 'marked_for_deletion', marked_for_deletion_at = now(),
             replaced_by_split_id = ${input.splitId}, job_id = NULL, attempts = 0, next_eligible_at = NULL
      WHERE database_id = ${databaseId} AND split_id = ANY(${input.mergedSplitIds}::text[])`;
    await tx.$executeRaw`
      UPDATE log_splits SET state = 'published', published_at = now()
      WHERE database_id = ${databaseId} AND split_id = ${input.splitId} AND state = 'staged'`;
  });
}

/** Deletes cleaned split rows; failed ones stay marked and are retried after backoff; the rest are released. */
export async function completeSplitCleanupJob(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  jobId: string,
  body: unknown,
): Promise<CompleteResult> {
  const input: CompleteCleanupInput = parseCompleteCleanup(body, 'Split');
  const { base, cap } = backoffSql(services);
  return completeTransaction(services, p, databaseId, jobId, 'split_cleanup', input, async (tx, job) => {
    assertMembers(job, [...input.cleanedIds, ...input.failedIds], 'splits');
    const owned = await tx.$queryRaw<{ splitId: string }[]>`
      SELECT split_id AS "splitId" FROM log_splits
      WHERE database_id = ${databaseId} AND job_id = ${jobId} AND state = 'marked_for_deletion'
      ORDER BY split_id FOR UPDATE`;
    assertOwnsAll(
      job,
      owned.map((s) => s.splitId),
    );
    if (input.cleanedIds.length > 0) {
      await tx.$executeRaw`
        DELETE FROM log_splits
        WHERE database_id = ${databaseId} AND split_id = ANY(${input.cleanedIds}::text[]) AND state = 'marked_for_deletion'`;
    }
    if (input.failedIds.length > 0) {
      await tx.$executeRaw`
        UPDATE log_splits SET job_id = NULL,
               next_eligible_at = now() + LEAST(${base}::float8 * power(2::float8, GREATEST(attempts - 1, 0)),
                                                ${cap}::float8) * interval '1 millisecond'
        WHERE database_id = ${databaseId} AND split_id = ANY(${input.failedIds}::text[])`;
    }
    await tx.$executeRaw`
      UPDATE log_splits SET job_id = NULL WHERE database_id = ${databaseId} AND job_id = ${jobId}`;
  });
}

/**
 * Operator action: makes failed items leasable again at once (attempts 0, no backoff): drafts in
 * `index_failed`/`cleanup_failed`, splits marked for deletion. Items in other states are left alone.
 */
export async function resetRetries(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  draftIds: unknown,
  splitIds: unknown,
): Promise<{ drafts: number; splits: number }> {
  const drafts = parseIdList(draftIds ?? [], 'draftIds');
  const splits = parseIdList(splitIds ?? [], 'splitIds');
  return services.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'deleteDatabase', databaseId);
    const d = await tx.$executeRaw`
      UPDATE log_drafts SET attempts = 0, next_eligible_at = NULL, updated_at = now()
      WHERE database_id = ${databaseId} AND draft_id = ANY(${drafts}::text[])
        AND status IN ('index_failed', 'cleanup_failed')`;
    const s = await tx.$executeRaw`
      UPDATE log_splits SET attempts = 0, next_eligible_at = NULL
      WHERE database_id = ${databaseId} AND split_id = ANY(${splits}::text[]) AND state = 'marked_for_deletion'
        AND job_id IS NULL`;
    return { drafts: d, splits: s };
  });
}

/** Jobs of a database for GraphQL (owner view), newest first. */
export async function listJobs(
  services: LogStoreServices,
  p: Principal,
  databaseId: string,
  opts: { take: number; offset?: number; status?: string; type?: string },
): Promise<JobView[]> {
  await authorize(services.prisma, p, 'readDatabase', databaseId);
  const rows = await services.prisma.logJob.findMany({
    where: {
      databaseId,
      ...(opts.status ? { status: opts.status as never } : {}),
      ...(opts.type ? { type: opts.type as never } : {}),
    },
    orderBy: [{ leasedAt: 'desc' }, { id: 'desc' }],
    skip: opts.offset ?? 0,
    take: opts.take,
  });
  return rows.map((j) => ({
    databaseId: j.databaseId,
    jobId: j.id,
    type: j.type,
    status: j.status,
    itemIds: j.itemIds,
    leasedBy: j.leasedBy,
    leasedAt: j.leasedAt,
    expiresAt: j.expiresAt,
    completedAt: j.completedAt,
  }));
}

/** Authorizes a subscription to a database's job events. */
export async function authorizeJobEvents(services: LogStoreServices, p: Principal, databaseId: string) {
  await authorize(services.prisma, p, 'readDatabase', databaseId);
}
