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

builder.objectType(LogStoreNotFoundError, { name: 'LogStoreNotFoundError', interfaces: [ErrorInterface] });
builder.objectType(LogStoreInvalidInputError, { name: 'LogStoreInvalidInputError', interfaces: [ErrorInterface] });
builder.objectType(LogStoreConflictError, { name: 'LogStoreConflictError', interfaces: [ErrorInterface] });
builder.objectType(LogStoreForbiddenError, { name: 'LogStoreForbiddenError', interfaces: [ErrorInterface] });
builder.objectType(LogStoreUnauthenticatedError, {
  name: 'LogStoreUnauthenticatedError',
  interfaces: [ErrorInterface],
});

/** Error members of every DeepStore field: the REST shim maps their `code` onto HTTP statuses. */
export const logStoreErrors = {
  types: [
    LogStoreNotFoundError,
    LogStoreInvalidInputError,
    LogStoreConflictError,
    LogStoreForbiddenError,
    LogStoreUnauthenticatedError,
  ],
};

export const LogDraftStatusEnum = builder.enumType(LogDraftStatus, { name: 'LogDraftStatus' });
export const LogSplitStateEnum = builder.enumType(LogSplitState, { name: 'LogSplitState' });
export const LogJobTypeEnum = builder.enumType(LogJobType, { name: 'LogJobType' });
export const LogJobStatusEnum = builder.enumType(LogJobStatus, { name: 'LogJobStatus' });

export const LogDraftRef = builder.objectRef<DraftView>('LogDraft').implement({
  description: 'A committed draft (an uploaded object awaiting indexing). Timestamps are epoch milliseconds.',
  fields: (t) => ({
    draftId: t.exposeString('draftId'),
    scope: t.exposeString('scope'),
    sizeBytes: t.exposeFloat('sizeBytes'),
    numDocs: t.exposeFloat('numDocs'),
    startTimestamp: t.exposeFloat('startTimestamp'),
    endTimestamp: t.exposeFloat('endTimestamp'),
    status: t.field({ type: LogDraftStatusEnum, resolve: (d) => d.status as LogDraftStatus }),
    jobId: t.exposeString('jobId', { nullable: true, description: 'The job leasing it now, if any.' }),
    attempts: t.exposeInt('attempts'),
    lastError: t.exposeString('lastError', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const FooterOffsetsRef = builder.objectRef<{ start: number; end: number }>('LogFooterOffsets').implement({
  fields: (t) => ({ start: t.exposeFloat('start'), end: t.exposeFloat('end') }),
});

export const LogSplitRef = builder.objectRef<SplitView>('LogSplit').implement({
  description: 'An immutable indexed file. `[timeRangeStart, timeRangeEnd]` is inclusive, epoch milliseconds.',
  fields: (t) => ({
    splitId: t.exposeString('splitId'),
    state: t.field({ type: LogSplitStateEnum, resolve: (s) => s.state as LogSplitState }),
    timeRangeStart: t.exposeFloat('timeRangeStart'),
    timeRangeEnd: t.exposeFloat('timeRangeEnd'),
    numDocs: t.exposeFloat('numDocs'),
    sizeBytes: t.exposeFloat('sizeBytes'),
    footerOffsets: t.field({ type: FooterOffsetsRef, resolve: (s) => s.footerOffsets }),
    splitMetadataJson: t.exposeString('splitMetadataJson', { nullable: true }),
    scopes: t.exposeStringList('scopes'),
    replacedBySplitId: t.exposeString('replacedBySplitId', { nullable: true }),
    replacesSplitIds: t.exposeStringList('replacesSplitIds'),
    jobId: t.exposeString('jobId', { nullable: true }),
    markedForDeletionAt: t.expose('markedForDeletionAt', { type: 'DateTime', nullable: true }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const LogJobRef = builder.objectRef<JobView>('LogJob').implement({
  fields: (t) => ({
    jobId: t.exposeString('jobId'),
    type: t.field({ type: LogJobTypeEnum, resolve: (j) => j.type as LogJobType }),
    status: t.field({ type: LogJobStatusEnum, resolve: (j) => j.status as LogJobStatus }),
    itemIds: t.exposeStringList('itemIds', { description: 'Draft or split ids leased by the job.' }),
    leasedBy: t.exposeString('leasedBy'),
    leasedAt: t.expose('leasedAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const LogJobEventRef = builder.objectRef<LogJobEventPayload>('LogJobEvent').implement({
  fields: (t) => ({
    jobId: t.exposeString('jobId'),
    type: t.field({ type: LogJobTypeEnum, resolve: (e) => e.type }),
    event: t.exposeString('event', { description: '`leased`, `completed` or `expired`.' }),
    itemIds: t.exposeStringList('itemIds'),
    at: t.exposeString('at', { description: 'ISO-8601 time of the event.' }),
  }),
});

export const LogCompleteResultRef = builder
  .objectRef<{ success: boolean; errors: string[] }>('LogCompleteResult')
  .implement({
    fields: (t) => ({ success: t.exposeBoolean('success'), errors: t.exposeStringList('errors') }),
  });
