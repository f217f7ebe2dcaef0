import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { LogDraftStatus, LogJobStatus, LogJobType, LogSplitState } from '../../../../prisma/generated/client/enums.ts';
import { builder } from '../../../core/builder.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import {
  LogStoreConflictError,
  LogStoreForbiddenError,
  LogStoreInvalidInputError,
  LogStoreNotFoundError,
  LogStoreUnauthenticatedError,
} from '../logstore.errors.ts';
import type { LogJobEventPayload } from '../logstore.topics.ts';
import type { DraftView, JobView, SplitView } from '../logstore.views.ts';

builder.objectType(LogStoreNotFoundError, {
  name: 'LogStoreNotFoundError',
  description: 'Unknown database or job, or a database the caller does not own (indistinguishable).',
  interfaces: [ErrorInterface],
});
builder.objectType(LogStoreInvalidInputError, {
  name: 'LogStoreInvalidInputError',
  description: 'Malformed or inconsistent input (timestamps, sizes, ids, ids not in the job, overlapping lists).',
  interfaces: [ErrorInterface],
});
builder.objectType(LogStoreConflictError, {
  name: 'LogStoreConflictError',
  description: 'Conflicts with the current state: re-leased items, a job completed differently, an existing id.',
  interfaces: [ErrorInterface],
});
builder.objectType(LogStoreForbiddenError, {
  name: 'LogStoreForbiddenError',
  description: 'A valid credential of a kind the operation does not accept, or bound to another database.',
  interfaces: [ErrorInterface],
});
builder.objectType(LogStoreUnauthenticatedError, {
  name: 'LogStoreUnauthenticatedError',
  description: 'No credential, or a service token that is no longer valid (revoked, or its database deleted).',
  interfaces: [ErrorInterface],
});

const errors = (...types: (typeof LogStoreNotFoundError)[]) => ({
  types,
  union: { description: 'The result, or one of the expected failures of this field.' },
  result: { description: 'The field succeeded.' },
  dataField: { description: 'The result.' },
});

/** The error members each kind of DeepStore field can produce (the REST shim maps their `code` to statuses). */
export const logStoreErrors = {
  /** Reads of one database: unknown or foreign, wrong kind or binding, no (valid) credential, bad arguments. */
  read: errors(LogStoreNotFoundError, LogStoreForbiddenError, LogStoreUnauthenticatedError, LogStoreInvalidInputError),
  /** Platform-caller operations on one database (delete, tokens, retries). */
  manage: errors(
    LogStoreNotFoundError,
    LogStoreForbiddenError,
    LogStoreUnauthenticatedError,
    LogStoreInvalidInputError,
  ),
  /** createLogDatabase. */
  create: errors(LogStoreInvalidInputError, LogStoreForbiddenError, LogStoreUnauthenticatedError),
  /** logDatabases. */
  list: errors(LogStoreForbiddenError, LogStoreUnauthenticatedError),
  /** Leases. */
  lease: errors(LogStoreInvalidInputError, LogStoreNotFoundError, LogStoreForbiddenError, LogStoreUnauthenticatedError),
  /** commitLogDraft and the completes. */
  write: errors(
    LogStoreInvalidInputError,
    LogStoreConflictError,
    LogStoreNotFoundError,
    LogStoreForbiddenError,
    LogStoreUnauthenticatedError,
  ),
};

export const LogDraftStatusEnum = builder.enumType(LogDraftStatus, {
  name: 'LogDraftStatus',
  description: 'Where a draft is in its lifecycle (docs/logstore.md, draft state machine).',
  values: {
    committed: { description: 'Recorded, waiting to be indexed.' },
    indexing: { description: 'Leased by an indexing job.' },
    index_failed: { description: 'Reported failed by an indexing job; retried after backoff under the attempt cap.' },
    indexed: { description: 'In a published split; its object awaits cleanup.' },
    cleaning_up: { description: 'Leased by a cleanup job (object deletion).' },
    cleanup_failed: { description: 'Reported failed by a cleanup job; retried after backoff under the attempt cap.' },
  },
});
export const LogSplitStateEnum = builder.enumType(LogSplitState, {
  name: 'LogSplitState',
  description: 'Where a split is in its lifecycle (docs/logstore.md, split state machine).',
  values: {
    staged: { description: 'Written inside a complete transaction, not yet visible (never observed after commit).' },
    published: { description: 'Searchable.' },
    marked_for_deletion: { description: 'Replaced by a merge; deleted by a split-cleanup job after the grace period.' },
  },
});
export const LogJobTypeEnum = builder.enumType(LogJobType, {
  name: 'LogJobType',
  description: 'The four kinds of leased job.',
  values: {
    indexing: { description: 'Drafts → one split.' },
    cleanup: { description: 'Deletes indexed drafts’ objects.' },
    merge: { description: 'Splits → one merged split.' },
    split_cleanup: { description: 'Deletes replaced splits’ objects.' },
  },
});
export const LogJobStatusEnum = builder.enumType(LogJobStatus, {
  name: 'LogJobStatus',
  description: 'A job’s state.',
  values: {
    active: { description: 'Leased; not completed and not reclaimed.' },
    completed: { description: 'Completed (a repeated identical complete is answered idempotently).' },
    expired: { description: 'Its lease ran out and its items were reclaimed; a late complete is fenced.' },
  },
});
export const LogJobEventKindEnum = builder.enumType('LogJobEventKind', {
  description: 'What happened to a job.',
  values: {
    leased: { description: 'A worker leased the job.' },
    completed: { description: 'The job was completed.' },
    expired: { description: 'The job’s lease ran out and its items were reclaimed.' },
  } as const,
});

/** `<databaseId>/<item id>`: item ids never contain `/`, database ids neither. */
export function splitNodeKey(id: string): [string, string] | undefined {
  const at = id.indexOf('/');
  if (at <= 0 || at === id.length - 1) return undefined;
  return [id.slice(0, at), id.slice(at + 1)];
}

export const LogDraftRef = builder.node(builder.objectRef<DraftView>('LogDraft'), {
  description:
    'A committed draft (an uploaded object awaiting indexing). Log time range in epoch milliseconds, inclusive.',
  id: { description: 'Global id for node(id)/nodes(ids).', resolve: (d) => `${d.databaseId}/${d.draftId}` },
  loadOne: (id, ctx) => {
    const key = splitNodeKey(id);
    return key ? ctx.services.logstore.findDraft(ctx.principal, { databaseId: key[0], draftId: key[1] }) : null;
  },
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'draftId' in v && 'startTimestamp' in v,
  fields: (t) => ({
    draftId: t.exposeString('draftId', { description: 'The client-chosen id REST uses.' }),
    scope: t.exposeString('scope', { description: 'The scope (tenant, stream…) the draft belongs to.' }),
    sizeBytes: t.expose('sizeBytes', { type: 'BigInt', description: 'Size of the uploaded object in bytes.' }),
    numDocs: t.expose('numDocs', { type: 'BigInt', description: 'Documents in the draft.' }),
    startTimestamp: t.expose('startTimestamp', {
      type: 'BigInt',
      description: 'First document time, epoch milliseconds (inclusive).',
    }),
    endTimestamp: t.expose('endTimestamp', {
      type: 'BigInt',
      description: 'Last document time, epoch milliseconds (inclusive).',
    }),
    status: t.field({
      type: LogDraftStatusEnum,
      description: 'Lifecycle state.',
      resolve: (d) => d.status as LogDraftStatus,
    }),
    jobId: t.exposeString('jobId', { nullable: true, description: 'The job leasing it now, if any.' }),
    attempts: t.exposeInt('attempts', { description: 'Leases of the current step so far (retry accounting).' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last attempt failed, if it did.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the draft was committed.' }),
  }),
});

const FooterOffsetsRef = builder.objectRef<{ start: number; end: number }>('LogFooterOffsets').implement({
  description: 'Byte range `[start, end)` of a split’s footer inside the split file.',
  fields: (t) => ({
    start: t.expose('start', { type: 'BigInt', description: 'First byte of the footer.' }),
    end: t.expose('end', { type: 'BigInt', description: 'One past the last byte of the footer.' }),
  }),
});

export const LogSplitRef = builder.node(builder.objectRef<SplitView>('LogSplit'), {
  description: 'An immutable indexed file. `[timeRangeStart, timeRangeEnd]` is inclusive, epoch milliseconds.',
  id: { description: 'Global id for node(id)/nodes(ids).', resolve: (s) => `${s.databaseId}/${s.splitId}` },
  loadOne: (id, ctx) => {
    const key = splitNodeKey(id);
    return key ? ctx.services.logstore.findSplit(ctx.principal, { databaseId: key[0], splitId: key[1] }) : null;
  },
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'splitId' in v && 'footerOffsets' in v,
  fields: (t) => ({
    splitId: t.exposeString('splitId', { description: 'The worker-chosen id REST uses.' }),
    state: t.field({
      type: LogSplitStateEnum,
      description: 'Lifecycle state.',
      resolve: (s) => s.state as LogSplitState,
    }),
    timeRangeStart: t.expose('timeRangeStart', {
      type: 'BigInt',
      description: 'First document time, epoch milliseconds (inclusive).',
    }),
    timeRangeEnd: t.expose('timeRangeEnd', {
      type: 'BigInt',
      description: 'Last document time, epoch milliseconds (inclusive).',
    }),
    numDocs: t.expose('numDocs', { type: 'BigInt', description: 'Documents in the split.' }),
    sizeBytes: t.expose('sizeBytes', { type: 'BigInt', description: 'Size of the split file in bytes.' }),
    footerOffsets: t.field({
      type: FooterOffsetsRef,
      description: 'Where the footer is in the file.',
      resolve: (s) => s.footerOffsets,
    }),
    splitMetadataJson: t.exposeString('splitMetadataJson', {
      nullable: true,
      description: 'Opaque JSON the indexing worker attached, if any.',
    }),
    scopes: t.exposeStringList('scopes', { description: 'Scopes of the documents in the split, sorted.' }),
    replacedBySplitId: t.exposeString('replacedBySplitId', {
      nullable: true,
      description: 'The merged split that replaced this one, once marked for deletion.',
    }),
    replacesSplitIds: t.exposeStringList('replacesSplitIds', {
      description: 'The splits a merge replaced with this one (empty for an indexing split).',
    }),
    jobId: t.exposeString('jobId', {
      nullable: true,
      description: 'The merge or split-cleanup job leasing it, if any.',
    }),
    markedForDeletionAt: t.expose('markedForDeletionAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a merge replaced it.',
    }),
    publishedAt: t.expose('publishedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it became searchable.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was staged.' }),
  }),
});

export const LogJobRef = builder.node(builder.objectRef<JobView>('LogJob'), {
  description: 'A leased job: the items it holds and its lease.',
  id: { description: 'Global id for node(id)/nodes(ids).', resolve: (j) => j.jobId },
  loadOne: (id, ctx) => ctx.services.logstore.findJob(ctx.principal, { jobId: id }),
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'jobId' in v && 'itemIds' in v && 'leasedAt' in v,
  fields: (t) => ({
    jobId: t.exposeString('jobId', { description: 'The id REST paths use.' }),
    type: t.field({ type: LogJobTypeEnum, description: 'What the job does.', resolve: (j) => j.type as LogJobType }),
    status: t.field({ type: LogJobStatusEnum, description: 'Its state.', resolve: (j) => j.status as LogJobStatus }),
    itemIds: t.exposeStringList('itemIds', { description: 'Draft or split ids leased by the job.' }),
    leasedBy: t.exposeString('leasedBy', { description: 'The principal that leased it.' }),
    leasedAt: t.expose('leasedAt', { type: 'DateTime', description: 'When it was leased.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When its lease runs out.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When it was completed.' }),
  }),
});

export const LogJobEventRef = builder.objectRef<LogJobEventPayload>('LogJobEvent').implement({
  description: 'Something happened to a job of the subscribed database.',
  fields: (t) => ({
    jobId: t.exposeString('jobId', { description: 'The job.' }),
    type: t.field({ type: LogJobTypeEnum, description: 'The job’s type.', resolve: (e) => e.type }),
    event: t.field({ type: LogJobEventKindEnum, description: 'What happened.', resolve: (e) => e.event }),
    itemIds: t.exposeStringList('itemIds', { description: 'The job’s draft or split ids.' }),
    at: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (e) => new Date(e.at) }),
  }),
});

export const LogCompleteResultRef = builder
  .objectRef<{ success: boolean; errors: string[] }>('LogCompleteResult')
  .implement({
    description: 'The outcome of a write: `success`, and what could not be done when partial (object deletion).',
    fields: (t) => ({
      success: t.exposeBoolean('success', { description: 'True when everything was done.' }),
      errors: t.exposeStringList('errors', { description: 'What could not be done (empty on success).' }),
    }),
  });

/**
 * An offset-paged connection with `totalCount` (from the same service call as the page). `first` above
 * `maxSize` is a LogStoreInvalidInputError, not a generic error.
 */
export async function offsetConnection<T>(
  args: { first?: number | null; last?: number | null; before?: string | null; after?: string | null },
  page: (p: { take: number; offset: number }) => Promise<{ items: T[]; totalCount: number }>,
  maxSize = 1000,
) {
  if ((args.first ?? 0) > maxSize || (args.last ?? 0) > maxSize) {
    throw new LogStoreInvalidInputError(`first/last must be at most ${maxSize}`);
  }
  if ((args.first ?? 1) < 0 || (args.last ?? 1) < 0)
    throw new LogStoreInvalidInputError('first/last must not be negative');
  let totalCount = 0;
  const conn = await resolveOffsetConnection({ args, maxSize, defaultSize: 100 }, async ({ limit, offset }) => {
    const r = await page({ take: limit, offset });
    totalCount = r.totalCount;
    return r.items;
  });
  return Object.assign(conn, { totalCount });
}
