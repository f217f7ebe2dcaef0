// Leasing: the four lease transactions (reclaim expired jobs, claim with FOR UPDATE SKIP LOCKED, stamp items),
// job events, the operator's retry reset and the job list.
import { randomUUID } from 'node:crypto';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { Tx } from '../../core/db.ts';
import { assertKind, authorize } from './logstore.access.ts';
import { LogStoreForbiddenError, LogStoreUnauthenticatedError } from './logstore.errors.ts';
import type { DatabaseRef, JobListInput, JobRef, LeaseInput, ResetRetriesInput } from './logstore.input.ts';
import type { LogStoreDeps } from './logstore.service.ts';
import type { LogJobEventPayload } from './logstore.topics.ts';
import type { JobView } from './logstore.views.ts';

export type JobType = LogJobEventPayload['type'];

function leaseTtlMs(deps: LogStoreDeps, type: JobType): number {
  const c = deps.config;
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

export function publish(deps: LogStoreDeps, databaseId: string, events: Omit<LogJobEventPayload, 'at'>[]): void {
  const at = new Date().toISOString();
  for (const e of events) deps.pubsub.publish('logstore.jobEvent', databaseId, { ...e, at });
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
  deps: LogStoreDeps,
  p: Principal,
  databaseId: string,
  fn: (tx: Tx) => Promise<LeaseOutcome<J>>,
): Promise<J | null> {
  const outcome = await deps.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'lease', databaseId);
    return fn(tx);
  });
  publish(deps, databaseId, outcome.events);
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
  deps: LogStoreDeps,
  p: Principal,
  input: LeaseInput,
): Promise<IndexingJobView | null> {
  assertLeaseCaller(p, input.databaseId);
  const fast = await leaseIndexingFast(deps, p, input);
  if (fast !== undefined) {
    if (fast.job) publish(deps, input.databaseId, [fast.event]);
    return fast.job;
  }
  return leaseIndexingTransaction(deps, p, input);
}

/** Kind and binding checks of a lease (no database access): 401/403 before any SQL. */
function assertLeaseCaller(p: Principal, databaseId: string): void {
  assertKind(p, 'lease');
  if (p.kind === 'serviceToken' && p.databaseId !== databaseId) {
    throw new LogStoreForbiddenError('The service token is bound to another database');
  }
}

interface FastLeaseRow {
  database: boolean;
  leased: boolean;
  itemIds: string[] | null;
  docs: bigint | null;
  bytes: bigint | null;
}

/**
 * The common indexing lease as one statement, outside any interactive transaction (one round trip): database
 * and live-token check (FOR KEY SHARE), scope pick and claim (FOR UPDATE SKIP LOCKED), job insert and draft stamps. It writes
 * only when the transaction below would do exactly the same: no expired active indexing job to reclaim, and
 * either a full batch of fresh drafts or no retry that could top the batch up. Otherwise it writes nothing
 * (its row locks end with the statement) and answers undefined: the caller runs the full transaction.
 */
async function leaseIndexingFast(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, max }: LeaseInput,
): Promise<{ job: IndexingJobView | null; event: Omit<LogJobEventPayload, 'at'> } | undefined> {
  const { maxAttempts } = deps.config;
  const ttl = leaseTtlMs(deps, 'indexing');
  const jobId = newJobId();
  const tokenId = p.kind === 'serviceToken' ? p.id : null;
  const [row] = await deps.prisma.$queryRaw<FastLeaseRow[]>`
    WITH db AS (
      SELECT 1 FROM log_databases d
      WHERE d.id = ${databaseId} AND EXISTS (
        SELECT 1 FROM log_service_tokens t WHERE t.id = ${tokenId}::uuid AND t.database_id = d.id AND t.revoked_at IS NULL)
      FOR KEY SHARE OF d),
    expired AS (
      SELECT 1 FROM log_jobs
      WHERE database_id = ${databaseId} AND type = 'indexing' AND status = 'active' AND expires_at < now() LIMIT 1),
    first AS (
      SELECT scope FROM log_drafts WHERE database_id = ${databaseId} AND status = 'committed'
      ORDER BY created_at, draft_id LIMIT 1 FOR UPDATE SKIP LOCKED),
    picked AS (
      SELECT d.draft_id, d.created_at, d.num_docs, d.size_bytes FROM log_drafts d, first
      WHERE d.database_id = ${databaseId} AND d.status = 'committed' AND d.scope = first.scope
      ORDER BY d.created_at, d.draft_id LIMIT ${max} FOR UPDATE OF d SKIP LOCKED),
    decision AS (
      SELECT EXISTS (SELECT 1 FROM db) AS database,
             EXISTS (SELECT 1 FROM db) AND NOT EXISTS (SELECT 1 FROM expired)
               AND ((SELECT count(*) FROM picked) = ${max}
                    OR NOT EXISTS (
                      SELECT 1 FROM log_drafts
                      WHERE database_id = ${databaseId} AND status = 'index_failed' AND attempts < ${maxAttempts}
                        AND (next_eligible_at IS NULL OR next_eligible_at <= now()))) AS go),
    ids AS (SELECT array_agg(draft_id ORDER BY created_at, draft_id) AS item_ids FROM picked),
    job AS (
      INSERT INTO log_jobs (id, database_id, type, status, item_ids, leased_by, leased_at, expires_at)
      SELECT ${jobId}, ${databaseId}, 'indexing', 'active', ids.item_ids, ${principalId(p)}, now(),
             now() + ${ttl}::float8 * interval '1 millisecond'
      FROM ids, decision WHERE decision.go AND ids.item_ids IS NOT NULL),
    leased AS (
      UPDATE log_drafts d SET status = 'indexing', job_id = ${jobId}, attempts = d.attempts + 1, updated_at = now()
      FROM picked, decision
      WHERE decision.go AND d.database_id = ${databaseId} AND d.draft_id = picked.draft_id
      RETURNING d.num_docs, d.size_bytes)
    SELECT decision.database, decision.go AS leased, ids.item_ids AS "itemIds",
           (SELECT sum(num_docs) FROM leased)::bigint AS docs, (SELECT sum(size_bytes) FROM leased)::bigint AS bytes
    FROM decision, ids`;
  // Only live service tokens lease (assertLeaseCaller): no database row for a live token means it is gone.
  if (!row?.database) throw new LogStoreUnauthenticatedError('The service token is not valid');
  if (!row.leased) return undefined;
  const ids = row.itemIds ?? [];
  if (ids.length === 0) return { job: null, event: { jobId, type: 'indexing', event: 'leased', itemIds: [] } };
  return {
    job: { jobId, draftIds: ids, inputNumDocs: Number(row.docs ?? 0), inputSizeBytes: Number(row.bytes ?? 0) },
    event: { jobId, type: 'indexing', event: 'leased', itemIds: ids },
  };
}

/** The full indexing lease: reclaims expired jobs, claims fresh drafts, tops the batch up with due retries. */
async function leaseIndexingTransaction(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, max }: LeaseInput,
): Promise<IndexingJobView | null> {
  const { maxAttempts } = deps.config;
  const ttl = leaseTtlMs(deps, 'indexing');
  return leaseTransaction(deps, p, databaseId, async (tx) => {
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
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, max }: LeaseInput,
): Promise<{ jobId: string; draftIds: string[] } | null> {
  const { maxAttempts } = deps.config;
  const ttl = leaseTtlMs(deps, 'cleanup');
  return leaseTransaction(deps, p, databaseId, async (tx) => {
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
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, max }: LeaseInput,
): Promise<{ jobId: string; splitIds: string[] } | null> {
  const ttl = leaseTtlMs(deps, 'merge');
  return leaseTransaction(deps, p, databaseId, async (tx) => {
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
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, max }: LeaseInput,
): Promise<{ jobId: string; splitIds: string[] } | null> {
  const { maxAttempts, splitDeletionGraceMs } = deps.config;
  const ttl = leaseTtlMs(deps, 'split_cleanup');
  return leaseTransaction(deps, p, databaseId, async (tx) => {
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

export async function resetRetries(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, draftIds: drafts, splitIds: splits }: ResetRetriesInput,
): Promise<{ drafts: number; splits: number }> {
  return deps.prisma.$transaction(async (tx) => {
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
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, take, offset, status, type }: JobListInput,
): Promise<{ items: JobView[]; totalCount: number }> {
  await authorize(deps.prisma, p, 'readDatabase', databaseId);
  const where = { databaseId, ...(status ? { status } : {}), ...(type ? { type } : {}) };
  const [rows, totalCount] = await deps.prisma.$transaction([
    deps.prisma.logJob.findMany({ where, orderBy: [{ leasedAt: 'desc' }, { id: 'desc' }], skip: offset, take }),
    deps.prisma.logJob.count({ where }),
  ]);
  const items = rows.map((j) => ({
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
  return { items, totalCount };
}

/** Authorizes a subscription to a database's job events. */
export async function authorizeJobEvents(deps: LogStoreDeps, p: Principal, { databaseId }: DatabaseRef): Promise<void> {
  await authorize(deps.prisma, p, 'readDatabase', databaseId);
}

/** One job of a database the caller may read (owner or its service token), or null when missing or forbidden. */
export async function findJob(deps: LogStoreDeps, p: Principal, { jobId }: JobRef): Promise<JobView | null> {
  const j = await deps.prisma.logJob.findUnique({ where: { id: jobId } });
  if (!j) return null;
  try {
    await authorize(deps.prisma, p, 'readDatabase', j.databaseId);
  } catch {
    return null;
  }
  return {
    databaseId: j.databaseId,
    jobId: j.id,
    type: j.type,
    status: j.status,
    itemIds: j.itemIds,
    leasedBy: j.leasedBy,
    leasedAt: j.leasedAt,
    expiresAt: j.expiresAt,
    completedAt: j.completedAt,
  };
}
