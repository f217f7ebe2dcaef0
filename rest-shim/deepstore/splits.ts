import { parseLimit } from '../../src/modules/logstore/logstore.input.ts';
import { DeepStoreListSplitsDocument, type DeepStoreSplitFragment } from '../generated/graphql.ts';
import { dbId, ok } from './answer.ts';
import { graphql, group } from './policy.ts';

/** A split as the contract shows it: sizes, counts, offsets and log times as JSON numbers (GraphQL BigInt). */
const split = (s: DeepStoreSplitFragment) => ({
  splitId: s.splitId,
  timeRangeStart: Number(s.timeRangeStart),
  timeRangeEnd: Number(s.timeRangeEnd),
  numDocs: Number(s.numDocs),
  sizeBytes: Number(s.sizeBytes),
  state: s.state,
  footerOffsets: { start: Number(s.footerOffsets.start), end: Number(s.footerOffsets.end) },
  createdAt: s.createdAt,
});

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));

/** Splits: published splits overlapping a time range (a query JWT sees only its scopes). */
export const splitOperations = group('splits', 'test/deepstore/splits.test.ts', {
  listSplits: graphql({
    policy: { callers: ['platform', 'service', 'query'] },
    document: DeepStoreListSplitsDocument,
    // Both timestamps are required by the contract; GraphQL checks and converts them.
    variables: (req) => ({
      databaseId: dbId(req),
      startTimestamp: first(req.query.startTimestamp),
      endTimestamp: first(req.query.endTimestamp),
      limit: parseLimit(req.query.limit),
    }),
    respond: ({ logSplits: r }) => ok(r, (c) => ({ splits: (c?.edges ?? []).map((e) => split(e.node)) })),
  }),
});
