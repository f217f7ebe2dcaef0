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
  fields: (t) => ({ start: t.float({ required: true }), end: t.float({ required: true }) }),
});

const CreateLogDatabasePayload = builder
  .objectRef<{ database: LogDatabaseView; serviceToken: string }>('CreateLogDatabasePayload')
  .implement({
    fields: (t) => ({
      serviceToken: t.exposeString('serviceToken', { description: 'The raw service token. Shown once.' }),
      databaseId: t.string({ resolve: (p) => p.database.databaseId }),
      name: t.string({ resolve: (p) => p.database.name }),
      createdAt: t.field({ type: 'DateTime', resolve: (p) => p.database.createdAt }),
      database: t.field({
        type: LogDatabaseRef,
        resolve: (p, _a, ctx) =>
          ctx.services.logstore.getDatabase(ctx.principal, { databaseId: p.database.databaseId }),
      }),
    }),
  });

builder.mutationField('createLogDatabase', (t) =>
  t.field({
    type: CreateLogDatabasePayload,
    description: 'Creates a log database owned by the platform caller; returns its first service token (once).',
    errors: logStoreErrors,
    args: { name: t.arg.string({ required: true }) },
    resolve: (_r, { name }, ctx) => ctx.services.logstore.createDatabase(ctx.principal, parseName(name)),
  }),
);

builder.mutationField('deleteLogDatabase', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Deletes the database, its rows and its objects; `errors` lists objects that could not be deleted.',
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }) },
    resolve: (_r, { databaseId }, ctx) => ctx.services.logstore.deleteDatabase(ctx.principal, { databaseId }),
  }),
);

const ServiceTokenPayload = builder.objectRef<{ serviceToken: string }>('LogServiceTokenPayload').implement({
  fields: (t) => ({ serviceToken: t.exposeString('serviceToken', { description: 'Shown once.' }) }),
});

builder.mutationField('rotateLogServiceToken', (t) =>
  t.field({
    type: ServiceTokenPayload,
    description: 'Issues a new service token and revokes every previous one immediately. Platform callers only.',
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }) },
    resolve: (_r, { databaseId }, ctx) => ctx.services.logstore.rotateServiceToken(ctx.principal, { databaseId }),
  }),
);

builder.mutationField('revokeLogServiceTokens', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Revokes every service token of the database. Platform callers only.',
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }) },
    resolve: async (_r, { databaseId }, ctx) => {
      await ctx.services.logstore.revokeServiceTokens(ctx.principal, { databaseId });
      return { success: true, errors: [] };
    },
  }),
);

const QueryTokenPayload = builder.objectRef<{ token: string; expiresAt: Date }>('LogQueryToken').implement({
  fields: (t) => ({
    token: t.exposeString('token'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

builder.mutationField('createLogQueryToken', (t) =>
  t.field({
    type: QueryTokenPayload,
    description:
      'Mints a query JWT (token_use query) for one database: listDrafts/listSplits see only the given scopes. TTL 1 s–24 h.',
    errors: logStoreErrors,
    args: {
      databaseId: t.arg.string({ required: true }),
      scopes: t.arg.stringList({ required: true }),
      ttlSeconds: t.arg.int({ required: true }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.logstore.mintQueryToken(
        ctx.principal,
        parseMintQueryToken(args.databaseId, args.scopes, args.ttlSeconds),
      ),
  }),
);

const CommitLogDraftInput = builder.inputType('CommitLogDraftInput', {
  fields: (t) => ({
    draftId: t.string({ required: true }),
    sizeBytes: t.float({ required: true }),
    numDocs: t.float({ required: true }),
    startTimestamp: t.string({ required: true }),
    endTimestamp: t.string({ required: true }),
    scope: t.string({ required: true }),
  }),
});

builder.mutationField('commitLogDraft', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description:
      'Records an uploaded draft. Re-committing identical metadata is a no-op; different metadata conflicts.',
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }), input: t.arg({ type: CommitLogDraftInput, required: true }) },
    resolve: async (_r, { databaseId, input }, ctx) => {
      await ctx.services.logstore.commitDraft(ctx.principal, { databaseId, draft: parseDraft(input) });
      return { success: true, errors: [] };
    },
  }),
);

// ---- leases

const IndexingLease = builder.objectRef<IndexingJobView>('LogIndexingLease').implement({
  fields: (t) => ({
    jobId: t.exposeString('jobId'),
    draftIds: t.exposeStringList('draftIds'),
    inputNumDocs: t.exposeFloat('inputNumDocs'),
    inputSizeBytes: t.exposeFloat('inputSizeBytes'),
  }),
});
const DraftLease = builder.objectRef<{ jobId: string; draftIds: string[] }>('LogDraftLease').implement({
  fields: (t) => ({ jobId: t.exposeString('jobId'), draftIds: t.exposeStringList('draftIds') }),
});
const SplitLease = builder.objectRef<{ jobId: string; splitIds: string[] }>('LogSplitLease').implement({
  fields: (t) => ({ jobId: t.exposeString('jobId'), splitIds: t.exposeStringList('splitIds') }),
});

const IndexingLeasePayload = builder
  .objectRef<{ job: IndexingJobView | null }>('LeaseLogIndexingJobPayload')
  .implement({ fields: (t) => ({ job: t.field({ type: IndexingLease, nullable: true, resolve: (p) => p.job }) }) });
const DraftLeasePayload = builder
  .objectRef<{ job: { jobId: string; draftIds: string[] } | null }>('LeaseLogDraftJobPayload')
  .implement({ fields: (t) => ({ job: t.field({ type: DraftLease, nullable: true, resolve: (p) => p.job }) }) });
const SplitLeasePayload = builder
  .objectRef<{ job: { jobId: string; splitIds: string[] } | null }>('LeaseLogSplitJobPayload')
  .implement({ fields: (t) => ({ job: t.field({ type: SplitLease, nullable: true, resolve: (p) => p.job }) }) });

builder.mutationField('leaseLogIndexingJob', (t) =>
  t.field({
    type: IndexingLeasePayload,
    description: 'Leases up to maxDrafts (1–100, default 10) drafts of one scope for indexing; job null when none.',
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }), maxDrafts: t.arg.int({ required: false }) },
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
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }), maxDrafts: t.arg.int({ required: false }) },
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
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }), maxSplits: t.arg.int({ required: false }) },
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
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }), maxSplits: t.arg.int({ required: false }) },
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
  fields: (t) => ({
    splitId: t.string({ required: true }),
    sizeBytes: t.float({ required: true }),
    numDocs: t.float({ required: true }),
    timeRangeStart: t.string({ required: true }),
    timeRangeEnd: t.string({ required: true }),
    footerOffsets: t.field({ type: FooterOffsetsInput, required: true }),
    indexedDraftIds: t.stringList({ required: true }),
    failedDraftIds: t.stringList({ required: false }),
    splitMetadataJson: t.string({ required: false }),
  }),
});

const CompleteLogCleanupJobInput = builder.inputType('CompleteLogCleanupJobInput', {
  fields: (t) => ({
    cleanedDraftIds: t.stringList({ required: true }),
    failedDraftIds: t.stringList({ required: false }),
  }),
});

const CompleteLogMergeJobInput = builder.inputType('CompleteLogMergeJobInput', {
  fields: (t) => ({
    newSplitId: t.string({ required: true }),
    sizeBytes: t.float({ required: true }),
    numDocs: t.float({ required: true }),
    timeRangeStart: t.string({ required: true }),
    timeRangeEnd: t.string({ required: true }),
    footerOffsets: t.field({ type: FooterOffsetsInput, required: true }),
    mergedSplitIds: t.stringList({ required: true }),
  }),
});

const CompleteLogSplitCleanupJobInput = builder.inputType('CompleteLogSplitCleanupJobInput', {
  fields: (t) => ({
    cleanedSplitIds: t.stringList({ required: true }),
    failedSplitIds: t.stringList({ required: false }),
  }),
});

builder.mutationField('completeLogIndexingJob', (t) =>
  t.field({
    type: LogCompleteResultRef,
    description: 'Publishes the split and marks its drafts indexed (failed ones index_failed) in one transaction.',
    errors: logStoreErrors,
    args: {
      databaseId: t.arg.string({ required: true }),
      jobId: t.arg.string({ required: true }),
      input: t.arg({ type: CompleteLogIndexingJobInput, required: true }),
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
    errors: logStoreErrors,
    args: {
      databaseId: t.arg.string({ required: true }),
      jobId: t.arg.string({ required: true }),
      input: t.arg({ type: CompleteLogCleanupJobInput, required: true }),
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
    errors: logStoreErrors,
    args: {
      databaseId: t.arg.string({ required: true }),
      jobId: t.arg.string({ required: true }),
      input: t.arg({ type: CompleteLogMergeJobInput, required: true }),
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
    errors: logStoreErrors,
    args: {
      databaseId: t.arg.string({ required: true }),
      jobId: t.arg.string({ required: true }),
      input: t.arg({ type: CompleteLogSplitCleanupJobInput, required: true }),
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
    errors: logStoreErrors,
    args: {
      databaseId: t.arg.string({ required: true }),
      draftIds: t.arg.stringList({ required: false }),
      splitIds: t.arg.stringList({ required: false }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.logstore.resetRetries(ctx.principal, {
        databaseId: args.databaseId,
        draftIds: parseIdList(args.draftIds, 'draftIds'),
        splitIds: parseIdList(args.splitIds, 'splitIds'),
      }),
  }),
);
