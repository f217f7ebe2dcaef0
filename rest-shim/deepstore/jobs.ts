import {
  type FooterOffsets,
  leaseBounds,
  parseBoundedInt,
  restCount,
} from '../../src/modules/logstore/logstore.input.ts';
import type { RestRequest } from '../engine/types.ts';
import {
  DeepStoreCompleteCleanupJobDocument,
  DeepStoreCompleteIndexingJobDocument,
  DeepStoreCompleteMergeJobDocument,
  DeepStoreCompleteSplitCleanupJobDocument,
  DeepStoreLeaseCleanupJobDocument,
  DeepStoreLeaseIndexingJobDocument,
  DeepStoreLeaseMergeJobDocument,
  DeepStoreLeaseSplitCleanupJobDocument,
} from '../generated/graphql.ts';
import { body, dbId, jobId, ok, optional, result } from './answer.ts';
import { graphql, group } from './policy.ts';

/**
 * The lease size of a lease body. The contract bounds it but allows fractions, which GraphQL's `Int` would refuse
 * as a variable error: checked here, with the same bounds the GraphQL field applies.
 */
function leaseSize(req: RestRequest, kind: keyof typeof leaseBounds): number | undefined {
  const b = leaseBounds[kind];
  const raw = optional<Record<string, number>>(req)[b.field];
  return raw === undefined ? undefined : parseBoundedInt(raw, b.field, b.def, 1, b.max);
}

const footer = (f: FooterOffsets) => ({
  start: restCount(f.start, 'footerOffsets.start'),
  end: restCount(f.end, 'footerOffsets.end'),
});

/** The new-split part of a complete body, as the contract describes it. */
interface NewSplitBody {
  sizeBytes: number;
  numDocs: number;
  timeRangeStart: number;
  timeRangeEnd: number;
  footerOffsets: FooterOffsets;
}

/** Leased jobs: lease and complete indexing, cleanup, merge and split-cleanup jobs. */
export const jobOperations = group('jobs', 'test/deepstore/jobs.test.ts', {
  leaseIndexingJob: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreLeaseIndexingJobDocument,
    variables: (req) => ({ databaseId: dbId(req), maxDrafts: leaseSize(req, 'indexing') }),
    respond: ({ leaseLogIndexingJob: r }) =>
      ok(r, ({ job }) => ({
        job: job && {
          jobId: job.jobId,
          draftIds: job.draftIds,
          inputNumDocs: Number(job.inputNumDocs),
          inputSizeBytes: Number(job.inputSizeBytes),
        },
      })),
  }),

  completeIndexingJob: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreCompleteIndexingJobDocument,
    variables: (req) => {
      const c = body<
        NewSplitBody & {
          splitId: string;
          indexedDraftIds: string[];
          failedDraftIds?: string[];
          splitMetadataJson?: string;
        }
      >(req);
      return {
        databaseId: dbId(req),
        jobId: jobId(req),
        input: {
          splitId: c.splitId,
          sizeBytes: restCount(c.sizeBytes, 'sizeBytes'),
          numDocs: restCount(c.numDocs, 'numDocs'),
          timeRangeStart: String(c.timeRangeStart),
          timeRangeEnd: String(c.timeRangeEnd),
          footerOffsets: footer(c.footerOffsets),
          indexedDraftIds: [...c.indexedDraftIds],
          failedDraftIds: c.failedDraftIds ? [...c.failedDraftIds] : null,
          splitMetadataJson: c.splitMetadataJson ?? null,
        },
      };
    },
    respond: ({ completeLogIndexingJob: r }) => ok(r, result),
  }),

  leaseCleanupJob: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreLeaseCleanupJobDocument,
    variables: (req) => ({ databaseId: dbId(req), maxDrafts: leaseSize(req, 'cleanup') }),
    respond: ({ leaseLogCleanupJob: r }) => ok(r, (d) => ({ job: d.job })),
  }),

  completeCleanupJob: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreCompleteCleanupJobDocument,
    variables: (req) => {
      const c = body<{ cleanedDraftIds: string[]; failedDraftIds?: string[] }>(req);
      return {
        databaseId: dbId(req),
        jobId: jobId(req),
        input: { cleanedDraftIds: c.cleanedDraftIds, failedDraftIds: c.failedDraftIds ?? null },
      };
    },
    respond: ({ completeLogCleanupJob: r }) => ok(r, result),
  }),

  leaseMergeJob: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreLeaseMergeJobDocument,
    variables: (req) => ({ databaseId: dbId(req), maxSplits: leaseSize(req, 'merge') }),
    respond: ({ leaseLogMergeJob: r }) => ok(r, (d) => ({ job: d.job })),
  }),

  completeMergeJob: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreCompleteMergeJobDocument,
    variables: (req) => {
      const c = body<NewSplitBody & { newSplitId: string; mergedSplitIds: string[] }>(req);
      return {
        databaseId: dbId(req),
        jobId: jobId(req),
        input: {
          newSplitId: c.newSplitId,
          sizeBytes: restCount(c.sizeBytes, 'sizeBytes'),
          numDocs: restCount(c.numDocs, 'numDocs'),
          timeRangeStart: String(c.timeRangeStart),
          timeRangeEnd: String(c.timeRangeEnd),
          footerOffsets: footer(c.footerOffsets),
          mergedSplitIds: [...c.mergedSplitIds],
        },
      };
    },
    respond: ({ completeLogMergeJob: r }) => ok(r, result),
  }),

  leaseSplitCleanupJob: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreLeaseSplitCleanupJobDocument,
    variables: (req) => ({ databaseId: dbId(req), maxSplits: leaseSize(req, 'split_cleanup') }),
    respond: ({ leaseLogSplitCleanupJob: r }) => ok(r, (d) => ({ job: d.job })),
  }),

  completeSplitCleanupJob: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreCompleteSplitCleanupJobDocument,
    variables: (req) => {
      const c = body<{ cleanedSplitIds: string[]; failedSplitIds?: string[] }>(req);
      return {
        databaseId: dbId(req),
        jobId: jobId(req),
        input: { cleanedSplitIds: c.cleanedSplitIds, failedSplitIds: c.failedSplitIds ?? null },
      };
    },
    respond: ({ completeLogSplitCleanupJob: r }) => ok(r, result),
  }),
});
