import { builder } from '../../../core/builder.ts';
import {
  parseCompleteCleanup,
  parseCompleteIndexing,
  parseCompleteMerge,
  parseDraft,
  parseIdList,
  parseLease,
  parseMintQueryToken,
  parseName,
} from '../logstore.input.ts';
import type { IndexingJobView } from '../logstore.service.ts';
import type { LogDatabaseView } from '../logstore.views.ts';
import { LogDatabaseRef } from './database.ts';
import { LogCompleteResultRef, logStoreErrors } from './types.ts';

/*
 * One mutation per DeepStore REST operation (plus query-JWT minting). Inputs are kept close to the REST bodies;
 * each resolver checks its input once (logstore.input.ts) and hands the service a typed value, so both doors
 * reject the same input the same way. Timestamps are strings here: epoch milliseconds as decimal text, or ISO-8601.
 */

const FooterOffsetsInput = builder.inputType('LogFooterOffsetsInput', {
  description: 'Byte range `[start, end)` of the split footer, inside the split (integers).',
  fields: (t) => ({
    start: t.field({ type: 'BigInt', required: true, description: 'First byte of the footer.' }),
    end: t.field({ type: 'BigInt', required: true, description: 'One past the last byte; at most sizeBytes.' }),
  }),
});

const CreateLogDatabasePayload = builder
  .objectRef<{ database: LogDatabaseView; serviceToken: string }>('CreateLogDatabasePayload')
  .implement({
    description: 'A new log database and its first service token.',
    fields: (t) => ({
      serviceToken: t.exposeString('serviceToken', { description: 'The raw service token. Shown once.' }),
      databaseId: t.string({ description: 'The id REST paths use.', resolve: (p) => p.database.databaseId }),
      name: t.string({ description: 'The trimmed name.', resolve: (p) => p.database.name }),
      createdAt: t.field({
        type: 'DateTime',
        description: 'When it was created.',
        resolve: (p) => p.database.createdAt,
      }),
      database: t.field({
        type: LogDatabaseRef,
        description: 'The database itself.',
        resolve: (p, _a, ctx) =>
          ctx.services.logstore.getDatabase(ctx.principal, { databaseId: p.database.databaseId }),
      }),
    }),
  });

builder.mutationField('createLogDatabase', (t) =>
  t.field({
    type: CreateLogDatabasePayload,
    description: 'Creates a log database owned by the platform caller; returns its first service token (once).',
    errors: logStoreErrors.create,
    args: {
      name: t.arg.string({
        required: true,
        description: 'Display name, 1–255 characters after trimming, no control characters.',
      }),
    },
    resolve: (_r, { name }, ctx) => ctx.services.logstore.createDatabase(ctx.principal, parseName(name)),
  }),
);

builder.mutationField('deleteLogDatabase', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Deletes the database, its rows and its objects; `errors` lists objects that could not be deleted.',
    errors: logStoreErrors.manage,
    args: { databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }) },
    resolve: (_r, { databaseId }, ctx) => ctx.services.logstore.deleteDatabase(ctx.principal, { databaseId }),
  }),
);

const ServiceTokenPayload = builder.objectRef<{ serviceToken: string }>('LogServiceTokenPayload').implement({
  description: 'A newly issued service token.',
  fields: (t) => ({ serviceToken: t.exposeString('serviceToken', { description: 'Shown once.' }) }),
});

builder.mutationField('rotateLogServiceToken', (t) =>
  t.field({
    type: ServiceTokenPayload,
    description: 'Issues a new service token and revokes every previous one immediately. Platform callers only.',
    errors: logStoreErrors.manage,
    args: { databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }) },
    resolve: (_r, { databaseId }, ctx) => ctx.services.logstore.rotateServiceToken(ctx.principal, { databaseId }),
  }),
);

builder.mutationField('revokeLogServiceTokens', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Revokes every service token of the database. Platform callers only.',
    errors: logStoreErrors.manage,
    args: { databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }) },
    resolve: async (_r, { databaseId }, ctx) => {
      await ctx.services.logstore.revokeServiceTokens(ctx.principal, { databaseId });
      return { success: true, errors: [] };
    },
  }),
);

const QueryTokenPayload = builder.objectRef<{ token: string; expiresAt: Date }>('LogQueryToken').implement({
  description: 'A query JWT for one database.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The JWT (bearer credential).' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops being accepted.' }),
  }),
});

builder.mutationField('createLogQueryToken', (t) =>
  t.field({
    type: QueryTokenPayload,
    description:
      'Mints a query JWT (token_use query) for one database: listDrafts/listSplits see only the given scopes. TTL 1 s–24 h.',
    errors: logStoreErrors.manage,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      scopes: t.arg.stringList({ required: true, description: 'Scopes the token may see (at most 100).' }),
      ttlSeconds: t.arg.int({ required: true, description: 'Lifetime in seconds, 1 to 86400.' }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.logstore.mintQueryToken(
        ctx.principal,
        parseMintQueryToken(args.databaseId, args.scopes, args.ttlSeconds),
      ),
  }),
);

const CommitLogDraftInput = builder.inputType('CommitLogDraftInput', {
  description: 'A draft’s metadata (REST commitDraft body).',
  fields: (t) => ({
    draftId: t.string({
      required: true,
      description: 'Client-chosen id: 1–255 of [A-Za-z0-9._:-], starting alphanumeric.',
    }),
    sizeBytes: t.field({ type: 'BigInt', required: true, description: 'Size in bytes (non-negative).' }),
    numDocs: t.field({ type: 'BigInt', required: true, description: 'Documents (non-negative).' }),
    startTimestamp: t.string({
      required: true,
      description: 'First document time: epoch milliseconds (decimal text) or ISO-8601.',
    }),
    endTimestamp: t.string({
      required: true,
      description: 'Last document time: epoch milliseconds (decimal text) or ISO-8601.',
    }),
    scope: t.string({
      required: true,
      description: 'The scope the draft belongs to (1–255 characters, no control characters).',
    }),
  }),
});

builder.mutationField('commitLogDraft', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description:
      'Records an uploaded draft. Re-committing identical metadata is a no-op; different metadata conflicts.',
    errors: logStoreErrors.write,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      input: t.arg({ type: CommitLogDraftInput, required: true, description: 'The draft’s metadata.' }),
    },
    resolve: async (_r, { databaseId, input }, ctx) => {
      await ctx.services.logstore.commitDraft(ctx.principal, { databaseId, draft: parseDraft(input) });
      return { success: true, errors: [] };
    },
  }),
);

// ---- leases

const jobIdField = { description: 'The job id to complete it with.' };

const IndexingLease = builder.objectRef<IndexingJobView>('LogIndexingLease').implement({
  description: 'A leased indexing job: drafts of one scope.',
  fields: (t) => ({
    jobId: t.exposeString('jobId', jobIdField),
    draftIds: t.exposeStringList('draftIds', { description: 'The leased drafts, oldest first.' }),
    inputNumDocs: t.expose('inputNumDocs', { type: 'BigInt', description: 'Documents in the leased drafts.' }),
    inputSizeBytes: t.expose('inputSizeBytes', { type: 'BigInt', description: 'Bytes of the leased drafts.' }),
  }),
});
const DraftLease = builder.objectRef<{ jobId: string; draftIds: string[] }>('LogDraftLease').implement({
  description: 'A leased cleanup job.',
  fields: (t) => ({
    jobId: t.exposeString('jobId', jobIdField),
    draftIds: t.exposeStringList('draftIds', { description: 'The leased drafts.' }),
  }),
});
const SplitLease = builder.objectRef<{ jobId: string; splitIds: string[] }>('LogSplitLease').implement({
  description: 'A leased merge or split-cleanup job.',
  fields: (t) => ({
    jobId: t.exposeString('jobId', jobIdField),
    splitIds: t.exposeStringList('splitIds', { description: 'The leased splits.' }),
  }),
});

const noJob = 'The leased job; null when nothing is eligible.';
const IndexingLeasePayload = builder
  .objectRef<{ job: IndexingJobView | null }>('LeaseLogIndexingJobPayload')
  .implement({
    description: 'The outcome of an indexing lease.',
    fields: (t) => ({
      job: t.field({ type: IndexingLease, nullable: true, description: noJob, resolve: (p) => p.job }),
    }),
  });
const DraftLeasePayload = builder
  .objectRef<{ job: { jobId: string; draftIds: string[] } | null }>('LeaseLogDraftJobPayload')
  .implement({
    description: 'The outcome of a cleanup lease.',
    fields: (t) => ({ job: t.field({ type: DraftLease, nullable: true, description: noJob, resolve: (p) => p.job }) }),
  });
const SplitLeasePayload = builder
  .objectRef<{ job: { jobId: string; splitIds: string[] } | null }>('LeaseLogSplitJobPayload')
  .implement({
    description: 'The outcome of a merge or split-cleanup lease.',
    fields: (t) => ({ job: t.field({ type: SplitLease, nullable: true, description: noJob, resolve: (p) => p.job }) }),
  });

builder.mutationField('leaseLogIndexingJob', (t) =>
  t.field({
    type: IndexingLeasePayload,
    description: 'Leases up to maxDrafts (1–100, default 10) drafts of one scope for indexing; job null when none.',
    errors: logStoreErrors.lease,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      maxDrafts: t.arg.int({ required: false, description: 'Most drafts to lease (default and bounds above).' }),
    },
    resolve: async (_r, args, ctx) => ({
      job: await ctx.services.logstore.leaseIndexingJob(
        ctx.principal,
        parseLease(args.databaseId, 'indexing', args.maxDrafts),
      ),
    }),
  }),
);

builder.mutationField('leaseLogCleanupJob', (t) =>
  t.field({
    type: DraftLeasePayload,
    description: 'Leases up to maxDrafts (1–100, default 10) indexed drafts for object deletion.',
    errors: logStoreErrors.lease,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      maxDrafts: t.arg.int({ required: false, description: 'Most drafts to lease (default and bounds above).' }),
    },
    resolve: async (_r, args, ctx) => ({
      job: await ctx.services.logstore.leaseCleanupJob(
        ctx.principal,
        parseLease(args.databaseId, 'cleanup', args.maxDrafts),
      ),
    }),
  }),
);

builder.mutationField('leaseLogMergeJob', (t) =>
  t.field({
    type: SplitLeasePayload,
    description: 'Leases 2..maxSplits (1–100, default 10) published splits of the same scopes for merging.',
    errors: logStoreErrors.lease,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      maxSplits: t.arg.int({ required: false, description: 'Most splits to lease (default and bounds above).' }),
    },
    resolve: async (_r, args, ctx) => ({
      job: await ctx.services.logstore.leaseMergeJob(
        ctx.principal,
        parseLease(args.databaseId, 'merge', args.maxSplits),
      ),
    }),
  }),
);

builder.mutationField('leaseLogSplitCleanupJob', (t) =>
  t.field({
    type: SplitLeasePayload,
    description: 'Leases up to maxSplits (1–200, default 50) splits marked for deletion, after the grace period.',
    errors: logStoreErrors.lease,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      maxSplits: t.arg.int({ required: false, description: 'Most splits to lease (default and bounds above).' }),
    },
    resolve: async (_r, args, ctx) => ({
      job: await ctx.services.logstore.leaseSplitCleanupJob(
        ctx.principal,
        parseLease(args.databaseId, 'split_cleanup', args.maxSplits),
      ),
    }),
  }),
);

// ---- completes

const CompleteLogIndexingJobInput = builder.inputType('CompleteLogIndexingJobInput', {
  description: 'The outcome of an indexing job (REST completeIndexingJob body).',
  fields: (t) => ({
    splitId: t.string({ required: true, description: 'Worker-chosen id of the new split.' }),
    sizeBytes: t.field({ type: 'BigInt', required: true, description: 'Size in bytes (non-negative).' }),
    numDocs: t.field({ type: 'BigInt', required: true, description: 'Documents (non-negative).' }),
    timeRangeStart: t.string({
      required: true,
      description: 'First document time: epoch milliseconds (decimal text) or ISO-8601.',
    }),
    timeRangeEnd: t.string({
      required: true,
      description: 'Last document time: epoch milliseconds (decimal text) or ISO-8601.',
    }),
    footerOffsets: t.field({
      type: FooterOffsetsInput,
      required: true,
      description: 'Where the footer is in the file.',
    }),
    indexedDraftIds: t.stringList({ required: true, description: 'Drafts now in the split.' }),
    failedDraftIds: t.stringList({ required: false, description: 'Drafts that failed (retried after backoff).' }),
    splitMetadataJson: t.string({ required: false, description: 'Opaque JSON to keep with the split.' }),
  }),
});

const CompleteLogCleanupJobInput = builder.inputType('CompleteLogCleanupJobInput', {
  description: 'The outcome of a cleanup job.',
  fields: (t) => ({
    cleanedDraftIds: t.stringList({ required: true, description: 'Drafts whose objects were deleted.' }),
    failedDraftIds: t.stringList({ required: false, description: 'Drafts that failed (retried after backoff).' }),
  }),
});

const CompleteLogMergeJobInput = builder.inputType('CompleteLogMergeJobInput', {
  description: 'The outcome of a merge job.',
  fields: (t) => ({
    newSplitId: t.string({ required: true, description: 'Worker-chosen id of the merged split.' }),
    sizeBytes: t.field({ type: 'BigInt', required: true, description: 'Size in bytes (non-negative).' }),
    numDocs: t.field({ type: 'BigInt', required: true, description: 'Documents (non-negative).' }),
    timeRangeStart: t.string({
      required: true,
      description: 'First document time: epoch milliseconds (decimal text) or ISO-8601.',
    }),
    timeRangeEnd: t.string({
      required: true,
      description: 'Last document time: epoch milliseconds (decimal text) or ISO-8601.',
    }),
    footerOffsets: t.field({
      type: FooterOffsetsInput,
      required: true,
      description: 'Where the footer is in the file.',
    }),
    mergedSplitIds: t.stringList({ required: true, description: 'Every split of the job.' }),
  }),
});

const CompleteLogSplitCleanupJobInput = builder.inputType('CompleteLogSplitCleanupJobInput', {
  description: 'The outcome of a split-cleanup job.',
  fields: (t) => ({
    cleanedSplitIds: t.stringList({ required: true, description: 'Splits whose objects were deleted.' }),
    failedSplitIds: t.stringList({
      required: false,
      description: 'Splits whose deletion failed (retried after backoff).',
    }),
  }),
});

builder.mutationField('completeLogIndexingJob', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Publishes the split and marks its drafts indexed (failed ones index_failed) in one transaction.',
    errors: logStoreErrors.write,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      jobId: t.arg.string({ required: true, description: 'The job id the lease returned.' }),
      input: t.arg({
        type: CompleteLogIndexingJobInput,
        required: true,
        description: 'The new split and the drafts’ outcome.',
      }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.logstore.completeIndexingJob(
        ctx.principal,
        { databaseId: args.databaseId, jobId: args.jobId },
        parseCompleteIndexing(args.input),
      ),
  }),
);

builder.mutationField('completeLogCleanupJob', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Deletes cleaned drafts’ rows, marks failed ones cleanup_failed, returns the rest to indexed.',
    errors: logStoreErrors.write,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      jobId: t.arg.string({ required: true, description: 'The job id the lease returned.' }),
      input: t.arg({ type: CompleteLogCleanupJobInput, required: true, description: 'Which drafts were cleaned.' }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.logstore.completeCleanupJob(
        ctx.principal,
        { databaseId: args.databaseId, jobId: args.jobId },
        parseCompleteCleanup(args.input.cleanedDraftIds, args.input.failedDraftIds, 'Draft'),
      ),
  }),
);

builder.mutationField('completeLogMergeJob', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Publishes the merged split and marks the merged splits for deletion in one transaction.',
    errors: logStoreErrors.write,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      jobId: t.arg.string({ required: true, description: 'The job id the lease returned.' }),
      input: t.arg({ type: CompleteLogMergeJobInput, required: true, description: 'The merged split.' }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.logstore.completeMergeJob(
        ctx.principal,
        { databaseId: args.databaseId, jobId: args.jobId },
        parseCompleteMerge(args.input),
      ),
  }),
);

builder.mutationField('completeLogSplitCleanupJob', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Deletes cleaned splits’ rows; failed ones stay marked and are retried after backoff.',
    errors: logStoreErrors.write,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      jobId: t.arg.string({ required: true, description: 'The job id the lease returned.' }),
      input: t.arg({
        type: CompleteLogSplitCleanupJobInput,
        required: true,
        description: 'Which splits were cleaned.',
      }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.logstore.completeSplitCleanupJob(
        ctx.principal,
        { databaseId: args.databaseId, jobId: args.jobId },
        parseCompleteCleanup(args.input.cleanedSplitIds, args.input.failedSplitIds, 'Split'),
      ),
  }),
);

const ResetRetriesPayload = builder.objectRef<{ drafts: number; splits: number }>('ResetLogRetriesPayload').implement({
  description: 'How many items became leasable again.',
  fields: (t) => ({
    drafts: t.exposeInt('drafts', { description: 'Failed drafts made leasable again.' }),
    splits: t.exposeInt('splits', { description: 'Marked splits made leasable again.' }),
  }),
});

builder.mutationField('resetLogRetries', (t) =>
  t.field({
    type: ResetRetriesPayload,
    description:
      'Operator action (platform owner): failed drafts and splits past the attempt cap become leasable again at once.',
    errors: logStoreErrors.manage,
    args: {
      databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
      draftIds: t.arg.stringList({ required: false, description: 'Failed drafts to make leasable again.' }),
      splitIds: t.arg.stringList({ required: false, description: 'Marked splits to make leasable again.' }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.logstore.resetRetries(ctx.principal, {
        databaseId: args.databaseId,
        draftIds: parseIdList(args.draftIds, 'draftIds'),
        splitIds: parseIdList(args.splitIds, 'splitIds'),
      }),
  }),
);
