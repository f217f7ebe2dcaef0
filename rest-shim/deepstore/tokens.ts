import { DeepStoreRevokeServiceTokensDocument, DeepStoreRotateServiceTokenDocument } from '../generated/graphql.ts';
import { dbId, ok, result } from './answer.ts';
import { graphql, group } from './policy.ts';

/** Service tokens: rotate (new token, every previous one revoked) and revoke all. */
export const tokenOperations = group('tokens', 'test/deepstore/tokens.test.ts', {
  rotateServiceToken: graphql({
    policy: { callers: ['platform'] },
    document: DeepStoreRotateServiceTokenDocument,
    variables: (req) => ({ databaseId: dbId(req) }),
    respond: ({ rotateLogServiceToken: r }) => ok(r, (d) => d),
  }),

  revokeServiceTokens: graphql({
    policy: { callers: ['platform'] },
    document: DeepStoreRevokeServiceTokensDocument,
    variables: (req) => ({ databaseId: dbId(req) }),
    respond: ({ revokeLogServiceTokens: r }) => ok(r, result),
  }),
});
