import { parseLimit, restCount } from '../../src/modules/logstore/logstore.input.ts';
import {
  DeepStoreCommitDraftDocument,
  type DeepStoreDraftFragment,
  DeepStoreListDraftsDocument,
} from '../generated/graphql.ts';
import { body, dbId, ok } from './answer.ts';
import { graphql, group } from './policy.ts';

/** A draft as the contract shows it: sizes, counts and log times as JSON numbers (GraphQL BigInt). */
const draft = (d: DeepStoreDraftFragment) => ({
  draftId: d.draftId,
  scope: d.scope,
  sizeBytes: Number(d.sizeBytes),
  numDocs: Number(d.numDocs),
  startTimestamp: Number(d.startTimestamp),
  endTimestamp: Number(d.endTimestamp),
  status: d.status,
  createdAt: d.createdAt,
});

/** Drafts: commit (idempotent for identical metadata) and list by creation time. */
export const draftOperations = group('drafts', 'test/deepstore/drafts.test.ts', {
  commitDraft: graphql({
    policy: { callers: ['service'] },
    document: DeepStoreCommitDraftDocument,
    variables: (req) => {
      const d = body<{
        draftId: string;
        sizeBytes: number;
        numDocs: number;
        startTimestamp: string | number;
        endTimestamp: string | number;
        scope: string;
      }>(req);
      return {
        databaseId: dbId(req),
        // Timestamps may be numbers or strings in the contract; GraphQL carries them as text.
        input: {
          draftId: d.draftId,
          sizeBytes: restCount(d.sizeBytes, 'sizeBytes'),
          numDocs: restCount(d.numDocs, 'numDocs'),
          startTimestamp: String(d.startTimestamp),
          endTimestamp: String(d.endTimestamp),
          scope: d.scope,
        },
      };
    },
    respond: ({ commitLogDraft: r }) => ok(r, () => ({ success: true })),
  }),

  listDrafts: graphql({
    policy: { callers: ['platform', 'service', 'query'] },
    document: DeepStoreListDraftsDocument,
    variables: (req) => ({ databaseId: dbId(req), limit: parseLimit(req.query.limit) }),
    respond: ({ logDrafts: r }) => ok(r, (c) => ({ drafts: (c?.edges ?? []).map((e) => draft(e.node)) })),
  }),
});
