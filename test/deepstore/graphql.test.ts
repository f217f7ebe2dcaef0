import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  DsCommitDraftDocument,
  DsCompleteIndexingJobDocument,
  DsCreateDatabaseDocument,
  DsDatabaseDocument,
  DsDatabaseNameDocument,
  DsDatabasePageDocument,
  DsDatabasesDocument,
  DsDeleteDatabaseDocument,
  DsDraftsDocument,
  DsJobEventsDocument,
  DsLeaseIndexingJobDocument,
  DsNodeDocument,
  DsRevokeServiceTokensDocument,
} from '../generated/deepstore.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { deepstoreClient, draftBody, issueJwt, mintQueryJwt } from '../kit/deepstore.ts';

let t: TestApp;
let ds: ReturnType<typeof deepstoreClient>;
let platform: string;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestApp();
  ds = deepstoreClient(t);
  platform = await issueJwt(t, 'alice', 'platform');
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await t?.close();
});

/** The Success member's data of a union result, failing the test on any other member. */
function success<T extends { __typename: string }>(r: T | null | undefined): Extract<T, { data: unknown }>['data'] {
  if (!r || !('data' in r)) throw new Error(`expected a Success member, got ${JSON.stringify(r)}`);
  return (r as Extract<T, { data: unknown }>).data;
}

describe('DeepStore over GraphQL', () => {
  it('mirrors the REST operations and exposes LogDatabase with filtered connections', async () => {
    const created = await gql(t.baseUrl, DsCreateDatabaseDocument, { name: 'gql' }, platform);
    const { databaseId: id, serviceToken: svc } = success(created.body.data?.createLogDatabase);
    // Control characters in a name never reach PostgreSQL (which cannot store NUL): the GraphQL door refuses a NUL
    // in any variable as bad input; other control characters are DeepStore's typed input error.
    const nul = await gql(t.baseUrl, DsCreateDatabaseDocument, { name: 'a\u0000b' }, platform);
    expect(nul.body.data ?? null).toBeNull();
    expect(nul.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const newline = await gql(t.baseUrl, DsCreateDatabaseDocument, { name: 'line\nbreak' }, platform);
    expect(newline.body.data?.createLogDatabase.__typename).toBe('LogStoreInvalidInputError');
    for (const [draftId, s, e] of [
      ['a', 0, 99],
      ['b', 100, 199],
      ['c', 200, 299],
    ] as const) {
      const r = await gql(
        t.baseUrl,
        DsCommitDraftDocument,
        {
          id,
          // BigInt inputs take decimal text (or JSON integers); timestamps epoch ms as text or ISO-8601.
          in: {
            draftId,
            scope: 'app',
            sizeBytes: '1000',
            numDocs: '10',
            startTimestamp: String(s),
            endTimestamp: String(e),
          },
        },
        svc,
      );
      expect(success(r.body.data?.commitLogDraft).success).toBe(true);
    }
    const lease = await gql(t.baseUrl, DsLeaseIndexingJobDocument, { id, max: 2 }, svc);
    const job = success(lease.body.data?.leaseLogIndexingJob).job;
    if (!job) throw new Error('no job');
    // BigInt fields are JSON numbers below 2^53.
    expect(job).toMatchObject({ draftIds: ['a', 'b'], inputNumDocs: 20 });
    const done = await gql(
      t.baseUrl,
      DsCompleteIndexingJobDocument,
      {
        id,
        job: job.jobId,
        in: {
          splitId: 's1',
          sizeBytes: '10',
          numDocs: '20',
          timeRangeStart: '0',
          timeRangeEnd: '199',
          footerOffsets: { start: '0', end: '10' },
          indexedDraftIds: ['a', 'b'],
        },
      },
      svc,
    );
    expect(done.body.data?.completeLogIndexingJob).toEqual({
      __typename: 'MutationCompleteLogIndexingJobSuccess',
      data: { success: true, errors: [] },
    });
    // Errors come back as union members with their code.
    const bad = await gql(t.baseUrl, DsLeaseIndexingJobDocument, { id, max: 500 }, svc);
    expect(bad.body.data?.leaseLogIndexingJob).toMatchObject({
      __typename: 'LogStoreInvalidInputError',
      code: 'INVALID_INPUT',
    });

    const all = await gql(t.baseUrl, DsDatabaseDocument, { id }, platform);
    const db = success(all.body.data?.logDatabase);
    expect(db).toMatchObject({ databaseId: id, name: 'gql', draftCount: 3, splitCount: 1 });
    expect(db.drafts.totalCount).toBe(3);
    expect(db.splits.totalCount).toBe(1);
    expect(db.jobs.totalCount).toBe(1);
    expect(db.drafts.edges[0]?.node).toMatchObject({
      draftId: 'a',
      startTimestamp: 0,
      endTimestamp: 99,
      sizeBytes: 1000,
    });
    expect(db.drafts.edges.map((e) => e.node.status)).toEqual(['indexed', 'indexed', 'committed']);
    expect(db.splits.edges.map((e) => e.node)).toMatchObject([
      { splitId: 's1', state: 'published', scopes: ['app'], replacesSplitIds: [] },
    ]);
    expect(db.jobs.edges[0]?.node).toMatchObject({
      jobId: job.jobId,
      type: 'indexing',
      status: 'completed',
      itemIds: ['a', 'b'],
    });

    // Filters: status, and overlap with a time range.
    const filtered = await gql(
      t.baseUrl,
      DsDatabaseDocument,
      { id, statuses: ['committed'], start: '150', end: '250' },
      platform,
    );
    const f = success(filtered.body.data?.logDatabase);
    expect(f.drafts.edges.map((e) => e.node.draftId)).toEqual(['c']);
    expect(f.drafts.totalCount).toBe(1);
    const window = success(
      (await gql(t.baseUrl, DsDatabaseDocument, { id, start: '150', end: '160' }, platform)).body.data?.logDatabase,
    );
    expect(window.drafts.edges.map((e) => e.node.draftId)).toEqual(['b']);
    expect(window.splits.edges).toHaveLength(1);
    const big = await gql(t.baseUrl, DsDatabasePageDocument, { id, first: 1000 }, platform);
    expect(big.body.errors).toBeUndefined();
    expect(success(big.body.data?.logDatabase).drafts.edges).toHaveLength(3);
    // A page above 1000 is a typed input error, not a generic one.
    const tooBig = await gql(t.baseUrl, DsDatabasePageDocument, { id, first: 1001 }, platform);
    expect(tooBig.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/at most 1000/),
      extensions: { code: 'INVALID_INPUT' },
    });
    const badWindow = await gql(t.baseUrl, DsDatabaseDocument, { id, start: 'soon' }, platform);
    expect(badWindow.body.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT' });
    const none = await gql(t.baseUrl, DsDatabaseDocument, { id, states: ['marked_for_deletion'] }, platform);
    expect(success(none.body.data?.logDatabase).splits.edges).toEqual([]);

    // Relay node refetch works for the owner (database, draft, split, job) and answers null for another
    // platform user, exactly as for an id that does not exist.
    const bob = await issueJwt(t, 'bob', 'platform');
    const ids = [
      [db.id, { __typename: 'LogDatabase', databaseId: id }],
      [db.drafts.edges[0]?.node.id, { __typename: 'LogDraft', draftId: 'a' }],
      [db.splits.edges[0]?.node.id, { __typename: 'LogSplit', splitId: 's1' }],
      [db.jobs.edges[0]?.node.id, { __typename: 'LogJob', jobId: job.jobId }],
    ] as const;
    for (const [nodeId, expected] of ids) {
      if (!nodeId) throw new Error('missing node id');
      expect((await gql(t.baseUrl, DsNodeDocument, { id: nodeId }, platform)).body.data?.node).toEqual(expected);
      const hidden = await gql(t.baseUrl, DsNodeDocument, { id: nodeId }, bob);
      expect(hidden.body.errors).toBeUndefined();
      expect(hidden.body.data?.node).toBeNull();
    }
    const missingDraft = Buffer.from(`LogDraft:${id}/nope`).toString('base64');
    expect((await gql(t.baseUrl, DsNodeDocument, { id: missingDraft }, platform)).body.data?.node).toBeNull();
    const notMine = await gql(t.baseUrl, DsDatabaseDocument, { id }, bob);
    expect(notMine.body.data?.logDatabase).toMatchObject({ __typename: 'LogStoreNotFoundError', code: 'NOT_FOUND' });

    // Query JWTs are minted by the owner; they read lists, not the database.
    const q = await mintQueryJwt(t, platform, id, ['app']);
    const drafts = success((await gql(t.baseUrl, DsDraftsDocument, { id }, q)).body.data?.logDrafts);
    expect(drafts.edges).toHaveLength(3);
    expect(drafts.totalCount).toBe(3);
    // A query JWT of another scope sees nothing, and cannot load the drafts as nodes either.
    const q2 = await mintQueryJwt(t, platform, id, ['other']);
    expect(success((await gql(t.baseUrl, DsDraftsDocument, { id }, q2)).body.data?.logDrafts).totalCount).toBe(0);
    const draftNode = db.drafts.edges[0]?.node.id ?? '';
    expect((await gql(t.baseUrl, DsNodeDocument, { id: draftNode }, q)).body.data?.node).toEqual({
      __typename: 'LogDraft',
      draftId: 'a',
    });
    expect((await gql(t.baseUrl, DsNodeDocument, { id: draftNode }, q2)).body.data?.node).toBeNull();
    const forbidden = await gql(t.baseUrl, DsDatabaseDocument, { id }, q);
    expect(forbidden.body.data?.logDatabase).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('lists the caller’s databases, deletes through GraphQL, refuses revoked service tokens at /graphql', async () => {
    const carol = await issueJwt(t, 'carol', 'platform');
    const made: { databaseId: string; serviceToken: string }[] = [];
    for (const name of ['one', 'two']) {
      const r = await gql(t.baseUrl, DsCreateDatabaseDocument, { name }, carol);
      made.push(success(r.body.data?.createLogDatabase));
    }
    const list = success((await gql(t.baseUrl, DsDatabasesDocument, {}, carol)).body.data?.logDatabases);
    expect(list.edges.map((e) => e.node.name)).toEqual(['two', 'one']);
    expect(list.totalCount).toBe(2);
    const [first] = made;
    if (!first) throw new Error('no database');
    const viaSvc = await gql(t.baseUrl, DsDatabaseNameDocument, { id: first.databaseId }, first.serviceToken);
    expect(success(viaSvc.body.data?.logDatabase)).toEqual({ name: 'one' });
    const revoke = await gql(t.baseUrl, DsRevokeServiceTokensDocument, { id: first.databaseId }, carol);
    expect(success(revoke.body.data?.revokeLogServiceTokens).success).toBe(true);
    expect((await gql(t.baseUrl, DsDatabaseNameDocument, { id: first.databaseId }, first.serviceToken)).status).toBe(
      401,
    );
    const del = await gql(t.baseUrl, DsDeleteDatabaseDocument, { id: first.databaseId }, carol);
    expect(success(del.body.data?.deleteLogDatabase)).toEqual({ success: true, errors: [] });
    const after = await gql(t.baseUrl, DsDatabaseNameDocument, { id: first.databaseId }, carol);
    expect(after.body.data?.logDatabase?.__typename).toBe('LogStoreNotFoundError');
  });

  it('streams job events of one database over graphql-ws', async () => {
    const c = await ds.call('POST', '/databases', { token: platform, body: { name: 'events' } });
    const id: string = c.body.databaseId;
    const svc: string = c.body.serviceToken;
    await ds.call('POST', `/databases/${id}/commit-draft`, { token: svc, body: draftBody('e1', 0, 1) });
    const client = createClient({
      url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${platform}` },
      retryAttempts: 0,
    });
    clients.push(client);
    const events: unknown[] = [];
    const two = new Promise<void>((resolve, reject) => {
      client.subscribe(
        {
          query: print(DsJobEventsDocument),
          variables: { id },
        },
        {
          next: (v) => {
            events.push(v);
            if (events.length === 2) resolve();
          },
          error: reject,
          complete: () => {},
        },
      );
    });
    await new Promise((r) => setTimeout(r, 300));
    const l = await ds.call('POST', `/databases/${id}/indexing-jobs/lease`, { token: svc });
    await ds.call('POST', `/databases/${id}/indexing-jobs/${l.body.job.jobId}/complete`, {
      token: svc,
      body: {
        splitId: 's',
        sizeBytes: 1,
        numDocs: 1,
        timeRangeStart: 0,
        timeRangeEnd: 1,
        footerOffsets: { start: 0, end: 1 },
        indexedDraftIds: ['e1'],
      },
    });
    await two;
    expect(events).toEqual([
      { data: { logJobEvents: { jobId: l.body.job.jobId, type: 'indexing', event: 'leased', itemIds: ['e1'] } } },
      { data: { logJobEvents: { jobId: l.body.job.jobId, type: 'indexing', event: 'completed', itemIds: ['e1'] } } },
    ]);
    // Another platform user cannot subscribe to it.
    const bob = await issueJwt(t, 'bob', 'platform');
    const other = createClient({
      url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${bob}` },
      retryAttempts: 0,
    });
    clients.push(other);
    const denied = await new Promise<unknown>((resolve) => {
      other.subscribe(
        { query: print(DsJobEventsDocument), variables: { id } },
        { next: resolve, error: resolve, complete: () => {} },
      );
    });
    expect(JSON.stringify(denied)).toMatch(/not found/);
  });
});
