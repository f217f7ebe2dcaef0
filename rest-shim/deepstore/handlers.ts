import {
  canonicalStatus,
  optionalBody,
  parseBoundedInt,
  parseCommitDraft,
  parseCompleteCleanup,
  parseCompleteIndexing,
  parseCompleteMerge,
  parseLimit,
  parseName,
  parseRange,
  requireBody,
} from '../../src/modules/logstore/logstore.input.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';
import {
  DeepStoreCommitDraftDocument,
  DeepStoreCompleteCleanupJobDocument,
  DeepStoreCompleteIndexingJobDocument,
  DeepStoreCompleteMergeJobDocument,
  DeepStoreCompleteSplitCleanupJobDocument,
  DeepStoreCreateDatabaseDocument,
  DeepStoreDeleteDatabaseDocument,
  type DeepStoreDraftFragment,
  DeepStoreGetDatabaseDocument,
  DeepStoreLeaseCleanupJobDocument,
  DeepStoreLeaseIndexingJobDocument,
  DeepStoreLeaseMergeJobDocument,
  DeepStoreLeaseSplitCleanupJobDocument,
  DeepStoreListDraftsDocument,
  DeepStoreListSplitsDocument,
  type DeepStoreResultFragment,
  DeepStoreRevokeServiceTokensDocument,
  DeepStoreRotateServiceTokenDocument,
  type DeepStoreSplitFragment,
} from '../generated/graphql.ts';
import { graphql, group } from './policy.ts';

/** Every DeepStore error, whatever the status: `{success: false, errors: [message]}`. */
function failure(result: { message: string; code: string }): RestResponse {
  return { status: canonicalStatus(result.code), body: { success: false, errors: [result.message] } };
}

type Outcome<T> = { __typename: string; data?: T; message?: string; code?: string };

/** The Success member's data, or the error member as a DeepStore error response. */
function unwrap<T>(r: Outcome<T>): { data: T } | { error: RestResponse } {
  if ('data' in r && r.data !== undefined) return { data: r.data };
  return { error: failure({ message: r.message ?? 'request failed', code: r.code ?? 'DOMAIN_ERROR' }) };
}

function ok<T>(r: Outcome<T>, map: (data: T) => unknown): RestResponse {
  const u = unwrap(r);
  return 'error' in u ? u.error : { status: 200, body: map(u.data) };
}

const dbId = (req: RestRequest) => req.params.databaseId ?? '';
const jobId = (req: RestRequest) => req.params.jobId ?? '';
const result = (r: DeepStoreResultFragment) => (r.errors.length > 0 ? r : { success: r.success });

const draft = (d: DeepStoreDraftFragment) => d;
const split = (s: DeepStoreSplitFragment) => s;

const createDatabase = graphql({
  policy: { callers: ['platform'] },
  document: DeepStoreCreateDatabaseDocument,
  variables: (req) => ({ name: parseName(requireBody(req.body).name) }),
  respond: ({ createLogDatabase: r }) => ok(r, (d) => d),
});

const getDatabase = graphql({
  policy: { callers: ['platform', 'service'] },
  document: DeepStoreGetDatabaseDocument,
  variables: (req) => ({ databaseId: dbId(req) }),
  respond: ({ logDatabase: r }) => ok(r, (d) => d),
});

const deleteDatabase = graphql({
  policy: { callers: ['platform'] },
  document: DeepStoreDeleteDatabaseDocument,
  variables: (req) => ({ databaseId: dbId(req) }),
  respond: ({ deleteLogDatabase: r }) => ok(r, result),
});

const commitDraft = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreCommitDraftDocument,
  variables: (req) => {
    const d = parseCommitDraft(req.body);
    return {
      databaseId: dbId(req),
      input: {
        draftId: d.draftId,
        sizeBytes: d.sizeBytes,
        numDocs: d.numDocs,
        startTimestamp: String(d.startTs),
        endTimestamp: String(d.endTs),
        scope: d.scope,
      },
    };
  },
  respond: ({ commitLogDraft: r }) => ok(r, () => ({ success: true })),
});

const listDrafts = graphql({
  policy: { callers: ['platform', 'service', 'query'] },
  document: DeepStoreListDraftsDocument,
  variables: (req) => ({ databaseId: dbId(req), limit: parseLimit(req.query.limit) }),
  respond: ({ logDrafts: r }) => ok(r, (d) => ({ drafts: d.map(draft) })),
});

const listSplits = graphql({
  policy: { callers: ['platform', 'service', 'query'] },
  document: DeepStoreListSplitsDocument,
  variables: (req) => {
    const [start, end] = parseRange(req.query.startTimestamp, req.query.endTimestamp, 'startTimestamp', 'endTimestamp');
    return {
      databaseId: dbId(req),
      startTimestamp: String(start),
      endTimestamp: String(end),
      limit: parseLimit(req.query.limit),
    };
  },
  respond: ({ logSplits: r }) => ok(r, (s) => ({ splits: s.map(split) })),
});

const leaseIndexingJob = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreLeaseIndexingJobDocument,
  variables: (req) => ({
    databaseId: dbId(req),
    maxDrafts: parseBoundedInt(optionalBody(req.body).maxDrafts, 'maxDrafts', 10, 1, 100),
  }),
  respond: ({ leaseLogIndexingJob: r }) => ok(r, (d) => ({ job: d.job })),
});

const completeIndexingJob = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreCompleteIndexingJobDocument,
  variables: (req) => {
    const c = parseCompleteIndexing(req.body);
    return {
      databaseId: dbId(req),
      jobId: jobId(req),
      input: {
        splitId: c.splitId,
        sizeBytes: c.sizeBytes,
        numDocs: c.numDocs,
        timeRangeStart: String(c.timeRangeStart),
        timeRangeEnd: String(c.timeRangeEnd),
        footerOffsets: c.footer,
        indexedDraftIds: c.indexedDraftIds,
        failedDraftIds: c.failedDraftIds,
        splitMetadataJson: c.splitMetadataJson,
      },
    };
  },
  respond: ({ completeLogIndexingJob: r }) => ok(r, result),
});

const leaseCleanupJob = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreLeaseCleanupJobDocument,
  variables: (req) => ({
    databaseId: dbId(req),
    maxDrafts: parseBoundedInt(optionalBody(req.body).maxDrafts, 'maxDrafts', 10, 1, 100),
  }),
  respond: ({ leaseLogCleanupJob: r }) => ok(r, (d) => ({ job: d.job })),
});

const completeCleanupJob = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreCompleteCleanupJobDocument,
  variables: (req) => {
    const c = parseCompleteCleanup(req.body, 'Draft');
    return {
      databaseId: dbId(req),
      jobId: jobId(req),
      input: { cleanedDraftIds: c.cleanedIds, failedDraftIds: c.failedIds },
    };
  },
  respond: ({ completeLogCleanupJob: r }) => ok(r, result),
});

const leaseMergeJob = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreLeaseMergeJobDocument,
  variables: (req) => ({
    databaseId: dbId(req),
    maxSplits: parseBoundedInt(optionalBody(req.body).maxSplits, 'maxSplits', 10, 1, 100),
  }),
  respond: ({ leaseLogMergeJob: r }) => ok(r, (d) => ({ job: d.job })),
});

const completeMergeJob = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreCompleteMergeJobDocument,
  variables: (req) => {
    const c = parseCompleteMerge(req.body);
    return {
      databaseId: dbId(req),
      jobId: jobId(req),
      input: {
        newSplitId: c.splitId,
        sizeBytes: c.sizeBytes,
        numDocs: c.numDocs,
        timeRangeStart: String(c.timeRangeStart),
        timeRangeEnd: String(c.timeRangeEnd),
        footerOffsets: c.footer,
        mergedSplitIds: c.mergedSplitIds,
      },
    };
  },
  respond: ({ completeLogMergeJob: r }) => ok(r, result),
});

const leaseSplitCleanupJob = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreLeaseSplitCleanupJobDocument,
  variables: (req) => ({
    databaseId: dbId(req),
    maxSplits: parseBoundedInt(optionalBody(req.body).maxSplits, 'maxSplits', 50, 1, 200),
  }),
  respond: ({ leaseLogSplitCleanupJob: r }) => ok(r, (d) => ({ job: d.job })),
});

const completeSplitCleanupJob = graphql({
  policy: { callers: ['service'] },
  document: DeepStoreCompleteSplitCleanupJobDocument,
  variables: (req) => {
    const c = parseCompleteCleanup(req.body, 'Split');
    return {
      databaseId: dbId(req),
      jobId: jobId(req),
      input: { cleanedSplitIds: c.cleanedIds, failedSplitIds: c.failedIds },
    };
  },
  respond: ({ completeLogSplitCleanupJob: r }) => ok(r, result),
});

const rotateServiceToken = graphql({
  policy: { callers: ['platform'] },
  document: DeepStoreRotateServiceTokenDocument,
  variables: (req) => ({ databaseId: dbId(req) }),
  respond: ({ rotateLogServiceToken: r }) => ok(r, (d) => d),
});

const revokeServiceTokens = graphql({
  policy: { callers: ['platform'] },
  document: DeepStoreRevokeServiceTokensDocument,
  variables: (req) => ({ databaseId: dbId(req) }),
  respond: ({ revokeLogServiceTokens: r }) => ok(r, result),
});

/** All 16 operations of the DeepStore contract. */
export const deepstoreOperations = group('deepstore', 'test/deepstore/rest.test.ts', {
  createDatabase,
  getDatabase,
  deleteDatabase,
  commitDraft,
  listDrafts,
  listSplits,
  leaseIndexingJob,
  completeIndexingJob,
  leaseCleanupJob,
  completeCleanupJob,
  leaseMergeJob,
  completeMergeJob,
  leaseSplitCleanupJob,
  completeSplitCleanupJob,
  rotateServiceToken,
  revokeServiceTokens,
});
