// Completes: one transaction per complete (lock the job, idempotent replay, fencing by item ownership, then the
// type's writes), job events after commit.
import type { Principal } from '../../core/auth/principal.ts';
import { sha256Hex } from '../../core/auth/secrets.ts';
import type { Tx } from '../../core/db.ts';
import { authorize } from './logstore.access.ts';
import { LogStoreConflictError, LogStoreInvalidInputError, LogStoreNotFoundError } from './logstore.errors.ts';
import {
  type CompleteCleanupInput,
  type CompleteIndexingInput,
  type CompleteMergeInput,
  type CompleteRef,
  canonical,
} from './logstore.input.ts';
import { type JobType, publish } from './logstore.leases.ts';
import type { LogStoreDeps } from './logstore.service.ts';

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
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, jobId }: CompleteRef,
  type: JobType,
  input: object,
  fn: (tx: Tx, job: LockedJob, done: JobDone) => Promise<unknown>, // 'job completed' when it marked the job
): Promise<CompleteResult> {
  const hash = sha256Hex(canonical(input));
  const done: JobDone = { hash, result: JSON.stringify(input) };
  const result = await deps.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'complete', databaseId);
    const job = await lockJob(tx, databaseId, jobId, type, hash);
    if (!job) return { replay: true, itemIds: [] as string[] };
    // `fn` may mark the job completed in its own last statement (one round trip less); otherwise it is done here.
    if ((await fn(tx, job, done)) !== 'job completed') {
      await tx.$executeRaw`
        UPDATE log_jobs SET status = 'completed', completed_at = now(), result_hash = ${hash},
               result = ${done.result}::jsonb
        WHERE id = ${jobId}`;
    }
    return { replay: false, itemIds: job.itemIds };
  });
  if (!result.replay) publish(deps, databaseId, [{ jobId, type, event: 'completed', itemIds: result.itemIds }]);
  return { success: true, errors: [] };
}

/** What marks a job completed: the canonical hash of its result (idempotent replays) and the result itself. */
interface JobDone {
  hash: string;
  result: string;
}

function backoffSql(deps: LogStoreDeps) {
  const { retryBackoffMs, maxBackoffMs } = deps.config;
  return { base: retryBackoffMs, cap: maxBackoffMs };
}

/**
 * Publishes the split (staged → published in this transaction), marks the indexed drafts `indexed`, failed
 * ones `index_failed` with backoff, returns the rest to `committed`. All or nothing.
 */
export async function completeIndexingJob(
  deps: LogStoreDeps,
  p: Principal,
  ref: CompleteRef,
  input: CompleteIndexingInput,
): Promise<CompleteResult> {
  const { databaseId, jobId } = ref;
  const { base, cap } = backoffSql(deps);
  return completeTransaction(deps, p, ref, 'indexing', input, async (tx, job, done) => {
    assertMembers(job, [...input.indexedDraftIds, ...input.failedDraftIds], 'drafts');
    const owned = await tx.$queryRaw<{ draftId: string; scope: string }[]>`
      SELECT draft_id AS "draftId", scope FROM log_drafts
      WHERE database_id = ${databaseId} AND job_id = ${jobId} AND status = 'indexing'
      ORDER BY draft_id FOR UPDATE`;
    assertOwnsAll(
      job,
      owned.map((d) => d.draftId),
    );
    const indexed = input.indexedDraftIds;
    const hasSplit = indexed.length > 0;
    const scopes = [...new Set(owned.filter((d) => indexed.includes(d.draftId)).map((d) => d.scope))].sort();
    // Every write in one statement: the split (published at once: inside this transaction a staged row is never
    // visible), the drafts' outcomes, the rest back to committed, the job completed. Sub-statements share one
    // snapshot, so `released` excludes the drafts the other two update.
    const [row] = await tx.$queryRaw<{ inserted: number }[]>`
      WITH split AS (
        INSERT INTO log_splits (database_id, split_id, state, time_range_start, time_range_end, num_docs, size_bytes,
                                footer_start, footer_end, split_metadata_json, scopes, source_job_id, replaces_split_ids,
                                published_at, created_at)
        SELECT ${databaseId}, ${input.splitId}, 'published', ${input.timeRangeStart}::bigint,
               ${input.timeRangeEnd}::bigint, ${input.numDocs}::bigint, ${input.sizeBytes}::bigint,
               ${input.footer.start}::bigint, ${input.footer.end}::bigint, ${input.splitMetadataJson}, ${scopes}::text[],
               ${jobId}, '{}', now(), now()
        WHERE ${hasSplit}::boolean
        ON CONFLICT DO NOTHING RETURNING 1),
      indexed AS (
        UPDATE log_drafts SET status = 'indexed', job_id = NULL, attempts = 0, next_eligible_at = NULL,
               last_error = NULL, updated_at = now()
        WHERE database_id = ${databaseId} AND draft_id = ANY(${indexed}::text[]) RETURNING 1),
      failed AS (
        UPDATE log_drafts SET status = 'index_failed', job_id = NULL, last_error = 'reported failed by indexing job',
               next_eligible_at = now() + LEAST(${base}::float8 * power(2::float8, GREATEST(attempts - 1, 0)),
                                                ${cap}::float8) * interval '1 millisecond',
               updated_at = now()
        WHERE database_id = ${databaseId} AND draft_id = ANY(${input.failedDraftIds}::text[]) RETURNING 1),
      released AS (
        UPDATE log_drafts SET status = 'committed', job_id = NULL, updated_at = now()
        WHERE database_id = ${databaseId} AND job_id = ${jobId} AND status = 'indexing'
          AND draft_id <> ALL(${indexed}::text[]) AND draft_id <> ALL(${input.failedDraftIds}::text[]) RETURNING 1),
      job AS (
        UPDATE log_jobs SET status = 'completed', completed_at = now(), result_hash = ${done.hash},
               result = ${done.result}::jsonb
        WHERE id = ${jobId} RETURNING 1)
      SELECT (SELECT count(*) FROM split)::int AS inserted`;
    // The transaction rolls back every write above.
    if (hasSplit && row?.inserted !== 1) throw new LogStoreConflictError(`split "${input.splitId}" already exists`);
    return 'job completed';
  });
}

/** Deletes cleaned drafts, marks failed ones `cleanup_failed` with backoff, returns the rest to `indexed`. */
export async function completeCleanupJob(
  deps: LogStoreDeps,
  p: Principal,
  ref: CompleteRef,
  input: CompleteCleanupInput,
): Promise<CompleteResult> {
  const { databaseId, jobId } = ref;
  const { base, cap } = backoffSql(deps);
  return completeTransaction(deps, p, ref, 'cleanup', input, async (tx, job) => {
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
  deps: LogStoreDeps,
  p: Principal,
  ref: CompleteRef,
  input: CompleteMergeInput,
): Promise<CompleteResult> {
  const { databaseId, jobId } = ref;
  return completeTransaction(deps, p, ref, 'merge', input, async (tx, job) => {
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
  deps: LogStoreDeps,
  p: Principal,
  ref: CompleteRef,
  input: CompleteCleanupInput,
): Promise<CompleteResult> {
  const { databaseId, jobId } = ref;
  const { base, cap } = backoffSql(deps);
  return completeTransaction(deps, p, ref, 'split_cleanup', input, async (tx, job) => {
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
