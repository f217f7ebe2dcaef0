// Drafts and splits: commit a draft, list drafts and splits (query JWTs see only their scopes).
import type { Principal } from '../../core/auth/principal.ts';
import { authorize } from './logstore.access.ts';
import { LogStoreConflictError } from './logstore.errors.ts';
import type { CommitDraftInput, DraftListInput, DraftRef, SplitListInput, SplitRef } from './logstore.input.ts';
import type { LogStoreDeps } from './logstore.service.ts';
import { type DraftView, type SplitRow, type SplitView, toDraftView, toSplitView } from './logstore.views.ts';
export async function commitDraft(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, draft: input }: CommitDraftInput,
): Promise<{ success: true }> {
  const data = {
    scope: input.scope,
    sizeBytes: BigInt(input.sizeBytes),
    numDocs: BigInt(input.numDocs),
    startTs: BigInt(input.startTs),
    endTs: BigInt(input.endTs),
  };
  const same = await deps.prisma.$transaction(async (tx) => {
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
  if (same) return { success: true as const };
  throw new LogStoreConflictError(`draft "${input.draftId}" was already committed with different metadata`);
}

/** Drafts by createdAt asc. A query JWT sees only drafts whose scope it names. */
export async function listDrafts(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, take, offset, filter: f }: DraftListInput,
): Promise<{ items: DraftView[]; totalCount: number }> {
  const access = await authorize(deps.prisma, p, 'listDrafts', databaseId);
  const scopeFilter =
    access.scopes !== undefined
      ? { scope: { in: f.scope !== undefined ? access.scopes.filter((s) => s === f.scope) : [...access.scopes] } }
      : f.scope !== undefined
        ? { scope: f.scope }
        : {};
  const where = {
    databaseId,
    ...scopeFilter,
    ...(f.statuses ? { status: { in: [...f.statuses] } } : {}),
    ...(f.end !== undefined ? { startTs: { lte: BigInt(f.end) } } : {}),
    ...(f.start !== undefined ? { endTs: { gte: BigInt(f.start) } } : {}),
  };
  const [rows, totalCount] = await deps.prisma.$transaction([
    deps.prisma.logDraft.findMany({
      where,
      orderBy: [{ createdAt: 'asc' }, { draftId: 'asc' }],
      skip: offset,
      take,
    }),
    deps.prisma.logDraft.count({ where }),
  ]);
  return { items: rows.map(toDraftView), totalCount };
}

/**
 * Splits overlapping the closed interval `[start, end]` (timeRangeStart <= end AND timeRangeEnd >= start),
 * by timeRangeStart then splitId. REST shows only `published`; GraphQL owners may ask for other states.
 * A query JWT sees only splits whose scopes are all among its scopes.
 */
export async function listSplits(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId, start, end, take: limit, offset, states: wanted }: SplitListInput,
): Promise<{ items: SplitView[]; totalCount: number }> {
  const access = await authorize(deps.prisma, p, 'listSplits', databaseId);
  if (access.scopes !== undefined) {
    // Query JWT: published splits whose scopes are all among the token's (⊆), bounded in SQL.
    if (access.scopes.length === 0) return { items: [], totalCount: 0 };
    const scopes = [...access.scopes];
    const rows = await deps.prisma.$queryRaw<SplitRow[]>`
      SELECT database_id AS "databaseId", split_id AS "splitId", state::text AS state,
             time_range_start AS "timeRangeStart", time_range_end AS "timeRangeEnd", num_docs AS "numDocs",
             size_bytes AS "sizeBytes", footer_start AS "footerStart", footer_end AS "footerEnd",
             split_metadata_json AS "splitMetadataJson", scopes, replaced_by_split_id AS "replacedBySplitId",
             replaces_split_ids AS "replacesSplitIds", job_id AS "jobId",
             marked_for_deletion_at AS "markedForDeletionAt", published_at AS "publishedAt", created_at AS "createdAt"
      FROM log_splits
      WHERE database_id = ${databaseId} AND state = 'published'
        AND time_range_start <= ${end}::bigint AND time_range_end >= ${start}::bigint
        AND scopes <@ ${scopes}::text[]
      ORDER BY time_range_start, split_id LIMIT ${limit} OFFSET ${offset}`;
    const [count] = await deps.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM log_splits
      WHERE database_id = ${databaseId} AND state = 'published'
        AND time_range_start <= ${end}::bigint AND time_range_end >= ${start}::bigint
        AND scopes <@ ${scopes}::text[]`;
    return { items: rows.map(toSplitView), totalCount: Number(count?.n ?? 0) };
  }
  const where = {
    databaseId,
    state: { in: wanted ? [...wanted] : ['published' as const] },
    timeRangeStart: { lte: BigInt(end) },
    timeRangeEnd: { gte: BigInt(start) },
  };
  const [visible, totalCount] = await deps.prisma.$transaction([
    deps.prisma.logSplit.findMany({
      where,
      orderBy: [{ timeRangeStart: 'asc' }, { splitId: 'asc' }],
      skip: offset,
      take: limit,
    }),
    deps.prisma.logSplit.count({ where }),
  ]);
  return { items: visible.map(toSplitView), totalCount };
}

/** One draft the caller may list (a query JWT: of its scopes), or null when missing or not visible. */
export async function findDraft(deps: LogStoreDeps, p: Principal, ref: DraftRef): Promise<DraftView | null> {
  let access: Awaited<ReturnType<typeof authorize>>;
  try {
    access = await authorize(deps.prisma, p, 'listDrafts', ref.databaseId);
  } catch {
    return null;
  }
  const row = await deps.prisma.logDraft.findUnique({
    where: { databaseId_draftId: { databaseId: ref.databaseId, draftId: ref.draftId } },
  });
  if (!row || (access.scopes !== undefined && !access.scopes.includes(row.scope))) return null;
  return toDraftView(row);
}

/** One split the caller may list (a query JWT: published, scopes within its own), or null. */
export async function findSplit(deps: LogStoreDeps, p: Principal, ref: SplitRef): Promise<SplitView | null> {
  let access: Awaited<ReturnType<typeof authorize>>;
  try {
    access = await authorize(deps.prisma, p, 'listSplits', ref.databaseId);
  } catch {
    return null;
  }
  const row = await deps.prisma.logSplit.findUnique({
    where: { databaseId_splitId: { databaseId: ref.databaseId, splitId: ref.splitId } },
  });
  if (!row) return null;
  const scopes = access.scopes;
  if (scopes !== undefined && (row.state !== 'published' || !row.scopes.every((s) => scopes.includes(s)))) return null;
  return toSplitView(row);
}
