import { parseLimit } from '../../src/modules/logstore/logstore.input.ts';
import { DeepStoreListSplitsDocument } from '../generated/graphql.ts';
import { dbId, ok } from './answer.ts';
import { graphql, group } from './policy.ts';

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
    respond: ({ logSplits: r }) => ok(r, (splits) => ({ splits })),
  }),
});
