import { Prisma, type Tx } from '../db.ts';

/*
 * Every statement of the job state machine (docs/jobs.md). Each is one parameterised statement (tagged templates,
 * never string-built SQL), and every write of a running attempt is fenced by its lease token.
 * Times come from the database clock (`now()`), so the runners' clocks never have to agree.
 */

export type JobState = 'queued' | 'running' | 'succeeded' | 'dead' | 'cancelled';

/** What the statements can run on: the client or a transaction. */
export type Db = Pick<Tx, '$queryRaw'>;

export interface JobRow {
  id: string;
  kind: string;
  state: JobState;
  payload: unknown;
  result: unknown;
  progress: unknown;
  lastError: string | null;
  attempts: number;
  maxAttempts: number;
  version: number;
  dueAt: Date | null;
  leaseOwner: string | null;
  leaseToken: string | null;
  cancelRequestedAt: Date | null;
  dedupeKey: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** How a claim took its row: a queued job, a reclaim after a lost lease, or a lost lease with no attempt left. */
export type ClaimOutcome = 'run' | 'rerun' | 'exhausted' | 'cancel';

const columns = Prisma.sql`j.id::text AS id, j.kind, j.state::text AS state, j.payload, j.result, j.progress,
  j.last_error AS "lastError", j.attempts, j.max_attempts AS "maxAttempts", j.version, j.due_at AS "dueAt",
  j.lease_owner AS "leaseOwner", j.lease_token::text AS "leaseToken", j.cancel_requested_at AS "cancelRequestedAt",
  j.dedupe_key AS "dedupeKey", j.created_at AS "createdAt", j.updated_at AS "updatedAt",
  j.started_at AS "startedAt", j.finished_at AS "finishedAt"`;

const ms = (n: number) => Prisma.sql`(${Math.round(n)}::int * interval '1 millisecond')`;

export const lostLeaseError = 'lease expired: its runner stopped heartbeating';

export async function insertJob(
  db: Db,
  job: { id: string; kind: string; payload: string; maxAttempts: number; runAt?: Date; dedupeKey?: string },
): Promise<JobRow | undefined> {
  const rows = await db.$queryRaw<JobRow[]>`
    INSERT INTO jobs AS j (id, kind, state, payload, max_attempts, due_at, dedupe_key)
    VALUES (${job.id}::uuid, ${job.kind}, 'queued', ${job.payload}::jsonb, ${job.maxAttempts}::int,
            coalesce(${job.runAt ?? null}::timestamptz, now()), ${job.dedupeKey ?? null})
    ON CONFLICT (kind, dedupe_key) DO NOTHING
    RETURNING ${columns}`;
  return rows[0];
}

export async function selectJob(db: Db, id: string): Promise<JobRow | undefined> {
  const rows = await db.$queryRaw<JobRow[]>`SELECT ${columns} FROM jobs AS j WHERE j.id = ${id}::uuid`;
  return rows[0];
}

export async function selectByDedupeKey(db: Db, kind: string, dedupeKey: string): Promise<JobRow | undefined> {
  const rows = await db.$queryRaw<JobRow[]>`
    SELECT ${columns} FROM jobs AS j WHERE j.kind = ${kind} AND j.dedupe_key = ${dedupeKey}`;
  return rows[0];
}

/**
 * Claims the most overdue job of one of `kinds`: a queued job that is due, or a running one whose lease expired.
 * One statement; concurrent claimers skip each other's locked rows. A reclaim counts an attempt; one with no
 * attempt left is taken (new lease, same count) so that its claimer finishes it as dead; one whose cancellation
 * was requested is cancelled on the spot.
 */
export async function claimJob(
  db: Db,
  claim: { kinds: string[]; leaseMs: number[]; token: string; owner: string },
): Promise<(JobRow & { outcome: ClaimOutcome }) | undefined> {
  const rows = await db.$queryRaw<(JobRow & { outcome: ClaimOutcome })[]>`
    WITH picked AS (
      SELECT id, CASE WHEN state = 'queued' THEN 'run'
                      WHEN cancel_requested_at IS NOT NULL THEN 'cancel'
                      WHEN attempts >= max_attempts THEN 'exhausted'
                      ELSE 'rerun' END AS outcome
      FROM jobs
      WHERE due_at <= now() AND state IN ('queued', 'running') AND kind = ANY(${claim.kinds}::text[])
      ORDER BY due_at
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    )
    UPDATE jobs AS j SET
      state = (CASE WHEN p.outcome = 'cancel' THEN 'cancelled' ELSE 'running' END)::"JobState",
      attempts = j.attempts + (CASE WHEN p.outcome IN ('run', 'rerun') THEN 1 ELSE 0 END),
      lease_token = CASE WHEN p.outcome = 'cancel' THEN NULL ELSE ${claim.token}::uuid END,
      lease_owner = CASE WHEN p.outcome = 'cancel' THEN j.lease_owner ELSE ${claim.owner} END,
      due_at = CASE WHEN p.outcome = 'cancel' THEN NULL ELSE now() + k.lease_ms * interval '1 millisecond' END,
      started_at = CASE WHEN p.outcome = 'cancel' THEN j.started_at ELSE now() END,
      finished_at = CASE WHEN p.outcome = 'cancel' THEN now() END,
      last_error = CASE WHEN p.outcome = 'run' THEN j.last_error ELSE ${lostLeaseError} END,
      version = j.version + 1,
      updated_at = now()
    FROM picked AS p, unnest(${claim.kinds}::text[], ${claim.leaseMs}::int[]) AS k(kind, lease_ms)
    WHERE j.id = p.id AND k.kind = j.kind
    RETURNING p.outcome, ${columns}`;
  return rows[0];
}

/** Extends a held lease; undefined when it is no longer held (expired and reclaimed, or finished elsewhere). */
export async function extendLease(
  db: Db,
  id: string,
  token: string,
  leaseMs: number,
): Promise<{ cancelRequested: boolean } | undefined> {
  const rows = await db.$queryRaw<{ cancelRequested: boolean }[]>`
    UPDATE jobs AS j SET due_at = now() + ${ms(leaseMs)}, version = j.version + 1, updated_at = now()
    WHERE j.id = ${id}::uuid AND j.lease_token = ${token}::uuid AND j.state = 'running'
    RETURNING j.cancel_requested_at IS NOT NULL AS "cancelRequested"`;
  return rows[0];
}

export async function writeProgress(db: Db, id: string, token: string, progress: string): Promise<JobRow | undefined> {
  const rows = await db.$queryRaw<JobRow[]>`
    UPDATE jobs AS j SET progress = ${progress}::jsonb, version = j.version + 1, updated_at = now()
    WHERE j.id = ${id}::uuid AND j.lease_token = ${token}::uuid AND j.state = 'running'
    RETURNING ${columns}`;
  return rows[0];
}

export interface Settlement {
  /** `queued` = back in the queue (retry, or released at shutdown); it becomes `cancelled` if cancellation was asked. */
  state: 'succeeded' | 'queued' | 'dead' | 'cancelled';
  /** JSON text (succeeded only). */
  result?: string;
  error?: string;
  /** queued: due this many milliseconds from now. */
  delayMs?: number;
  /** Released at shutdown: the attempt does not count. */
  refundAttempt?: boolean;
}

/** Ends the attempt holding `token`. Undefined when the lease is no longer held: the outcome is discarded. */
export async function settleJob(db: Db, id: string, token: string, s: Settlement): Promise<JobRow | undefined> {
  const to = Prisma.sql`(CASE WHEN ${s.state}::text = 'queued' AND j.cancel_requested_at IS NOT NULL
    THEN 'cancelled' ELSE ${s.state}::text END)`;
  const requeued = Prisma.sql`(${to} = 'queued')`;
  const rows = await db.$queryRaw<JobRow[]>`
    UPDATE jobs AS j SET
      state = ${to}::"JobState",
      result = coalesce(${s.result ?? null}::jsonb, j.result),
      last_error = coalesce(${s.error ?? null}, j.last_error),
      attempts = j.attempts - ${s.refundAttempt ? 1 : 0}::int,
      due_at = CASE WHEN ${requeued} THEN now() + ${ms(s.delayMs ?? 0)} END,
      finished_at = CASE WHEN ${requeued} THEN NULL ELSE now() END,
      lease_owner = CASE WHEN ${requeued} THEN NULL ELSE j.lease_owner END,
      lease_token = NULL,
      version = j.version + 1,
      updated_at = now()
    WHERE j.id = ${id}::uuid AND j.lease_token = ${token}::uuid AND j.state = 'running'
    RETURNING ${columns}`;
  return rows[0];
}

/**
 * Cancels a job: a queued one (or a running one whose lease already expired) becomes `cancelled` at once; a live
 * running one is marked, and its runner aborts the handler on its next heartbeat. Undefined when already finished.
 */
export async function requestCancel(db: Db, id: string): Promise<JobRow | undefined> {
  const immediate = Prisma.sql`(j.state = 'queued' OR j.due_at <= now())`;
  const rows = await db.$queryRaw<JobRow[]>`
    UPDATE jobs AS j SET
      state = CASE WHEN ${immediate} THEN 'cancelled'::"JobState" ELSE j.state END,
      cancel_requested_at = coalesce(j.cancel_requested_at, now()),
      due_at = CASE WHEN ${immediate} THEN NULL ELSE j.due_at END,
      finished_at = CASE WHEN ${immediate} THEN now() ELSE j.finished_at END,
      lease_token = CASE WHEN ${immediate} THEN NULL ELSE j.lease_token END,
      version = j.version + 1,
      updated_at = now()
    WHERE j.id = ${id}::uuid AND j.state IN ('queued', 'running')
    RETURNING ${columns}`;
  return rows[0];
}

/** Deletes up to `limit` jobs that finished more than `hours` ago; returns how many. */
export async function deleteFinished(db: Db, hours: number, limit: number): Promise<number> {
  const rows = await db.$queryRaw<{ n: number }[]>`
    WITH gone AS (
      DELETE FROM jobs WHERE id IN (
        SELECT id FROM jobs
        WHERE finished_at < now() - ${hours}::int * interval '1 hour' AND state IN ('succeeded', 'dead', 'cancelled')
        ORDER BY finished_at
        LIMIT ${limit}::int
        FOR UPDATE SKIP LOCKED)
      RETURNING 1)
    SELECT count(*)::int AS n FROM gone`;
  return rows[0]?.n ?? 0;
}
