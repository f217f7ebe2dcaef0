import {
  DeepStoreCreateDatabaseDocument,
  DeepStoreDeleteDatabaseDocument,
  DeepStoreGetDatabaseDocument,
} from '../generated/graphql.ts';
import { body, dbId, ok, result } from './answer.ts';
import { graphql, group } from './policy.ts';

/** Databases: create (returns the first service token), read with counts, delete with its objects. */
export const databaseOperations = group('databases', 'test/deepstore/databases.test.ts', {
  createDatabase: graphql({
    policy: { callers: ['platform'] },
    document: DeepStoreCreateDatabaseDocument,
    variables: (req) => ({ name: body<{ name: string }>(req).name }),
    respond: ({ createLogDatabase: r }) => ok(r, (d) => d),
  }),

  getDatabase: graphql({
    policy: { callers: ['platform', 'service'] },
    document: DeepStoreGetDatabaseDocument,
    variables: (req) => ({ databaseId: dbId(req) }),
    // logDatabase is nullable; the service answers NotFound for a missing database, so null does not occur here.
    respond: ({ logDatabase: r }) => ok(r, (d) => d),
  }),

  deleteDatabase: graphql({
    policy: { callers: ['platform'] },
    document: DeepStoreDeleteDatabaseDocument,
    variables: (req) => ({ databaseId: dbId(req) }),
    respond: ({ deleteLogDatabase: r }) => ok(r, result),
  }),
});
