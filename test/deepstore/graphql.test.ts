import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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

const DB_QUERY = `query($id: String!, $statuses: [LogDraftStatus!], $start: Float, $end: Float, $states: [LogSplitState!]) {
  logDatabase(databaseId: $id) {
    __typename
    ... on QueryLogDatabaseSuccess { data {
      id databaseId name draftCount splitCount
      drafts(first: 10, statuses: $statuses, startTimestamp: $start, endTimestamp: $end) {
        edges { node { draftId status startTimestamp endTimestamp } } pageInfo { hasNextPage }
      }
      splits(first: 10, states: $states, startTimestamp: $start, endTimestamp: $end) {
        edges { node { splitId state scopes replacesSplitIds } }
      }
      jobs(first: 10) { edges { node { jobId type status itemIds } } }
    } }
    ... on Error { message code }
  }
}`;

describe('DeepStore over GraphQL', () => {
  it('mirrors the REST operations and exposes LogDatabase with filtered connections', async () => {
    const created = await gql(
      t.baseUrl,
      `mutation { createLogDatabase(name: "gql") { __typename ... on MutationCreateLogDatabaseSuccess { data { databaseId serviceToken } } } }`,
      {},
      platform,
    );
    const { databaseId: id, serviceToken: svc } = created.body.data.createLogDatabase.data;
    for (const [draftId, s, e] of [
      ['a', 0, 99],
      ['b', 100, 199],
      ['c', 200, 299],
    ] as const) {
      const r = await gql(
        t.baseUrl,
        `mutation($id: String!, $in: CommitLogDraftInput!) { commitLogDraft(databaseId: $id, input: $in) {
          __typename ... on MutationCommitLogDraftSuccess { data { success } } } }`,
        { id, in: { ...draftBody(draftId, 0, 0), startTimestamp: String(s), endTimestamp: String(e) } },
        svc,
      );
      expect(r.body.data.commitLogDraft.data.success).toBe(true);
    }
    const lease = await gql(
      t.baseUrl,
      `mutation($id: String!) { leaseLogIndexingJob(databaseId: $id, maxDrafts: 2) {
        ... on MutationLeaseLogIndexingJobSuccess { data { job { jobId draftIds inputNumDocs } } } } }`,
      { id },
      svc,
    );
    const job = lease.body.data.leaseLogIndexingJob.data.job;
    expect(job).toMatchObject({ draftIds: ['a', 'b'], inputNumDocs: 20 });
    const done = await gql(
      t.baseUrl,
      `mutation($id: String!, $job: String!, $in: CompleteLogIndexingJobInput!) {
        completeLogIndexingJob(databaseId: $id, jobId: $job, input: $in) {
          __typename ... on MutationCompleteLogIndexingJobSuccess { data { success errors } } ... on Error { message code } } }`,
      {
        id,
        job: job.jobId,
        in: {
          splitId: 's1',
          sizeBytes: 10,
          numDocs: 20,
          timeRangeStart: '0',
          timeRangeEnd: '199',
          footerOffsets: { start: 0, end: 10 },
          indexedDraftIds: ['a', 'b'],
        },
      },
      svc,
    );
    expect(done.body.data.completeLogIndexingJob).toEqual({
      __typename: 'MutationCompleteLogIndexingJobSuccess',
      data: { success: true, errors: [] },
    });
    // Errors come back as union members with their code.
    const bad = await gql(
      t.baseUrl,
      `mutation($id: String!) { leaseLogIndexingJob(databaseId: $id, maxDrafts: 500) { __typename ... on Error { code message } } }`,
      { id },
      svc,
    );
    expect(bad.body.data.leaseLogIndexingJob).toMatchObject({
      __typename: 'LogStoreInvalidInputError',
      code: 'INVALID_INPUT',
    });

    const all = await gql(t.baseUrl, DB_QUERY, { id }, platform);
    const db = all.body.data.logDatabase.data;
    expect(db).toMatchObject({ databaseId: id, name: 'gql', draftCount: 3, splitCount: 1 });
    expect(db.drafts.edges.map((e: { node: { status: string } }) => e.node.status)).toEqual([
      'indexed',
      'indexed',
      'committed',
    ]);
    expect(db.splits.edges).toEqual([
      { node: { splitId: 's1', state: 'published', scopes: ['app'], replacesSplitIds: [] } },
    ]);
    expect(db.jobs.edges[0].node).toMatchObject({
      jobId: job.jobId,
      type: 'indexing',
      status: 'completed',
      itemIds: ['a', 'b'],
    });

    // Filters: status, and overlap with a time range.
    const filtered = await gql(t.baseUrl, DB_QUERY, { id, statuses: ['committed'], start: 150, end: 250 }, platform);
    expect(
      filtered.body.data.logDatabase.data.drafts.edges.map((e: { node: { draftId: string } }) => e.node.draftId),
    ).toEqual(['c']);
    const window = await gql(t.baseUrl, DB_QUERY, { id, start: 150, end: 160 }, platform);
    expect(
      window.body.data.logDatabase.data.drafts.edges.map((e: { node: { draftId: string } }) => e.node.draftId),
    ).toEqual(['b']);
    expect(window.body.data.logDatabase.data.splits.edges).toHaveLength(1);
    const big = await gql(
      t.baseUrl,
      `query($id: String!) { logDatabase(databaseId: $id) { ... on QueryLogDatabaseSuccess { data {
        drafts(first: 1000) { edges { node { draftId } } } splits(first: 1000) { edges { node { splitId } } } } } } }`,
      { id },
      platform,
    );
    expect(big.body.errors).toBeUndefined();
    expect(big.body.data.logDatabase.data.drafts.edges).toHaveLength(3);
    const none = await gql(t.baseUrl, DB_QUERY, { id, states: ['marked_for_deletion'] }, platform);
    expect(none.body.data.logDatabase.data.splits.edges).toEqual([]);

    // Relay node refetch works for the owner and not for another platform user.
    const node = await gql(
      t.baseUrl,
      `query($n: ID!) { node(id: $n) { ... on LogDatabase { databaseId } } }`,
      { n: db.id },
      platform,
    );
    expect(node.body.data.node).toEqual({ databaseId: id });
    const bob = await issueJwt(t, 'bob', 'platform');
    const hidden = await gql(
      t.baseUrl,
      `query($n: ID!) { node(id: $n) { ... on LogDatabase { databaseId } } }`,
      { n: db.id },
      bob,
    );
    expect(hidden.body.data?.node ?? null).toBeNull();
    const notMine = await gql(t.baseUrl, DB_QUERY, { id }, bob);
    expect(notMine.body.data.logDatabase).toMatchObject({ __typename: 'LogStoreNotFoundError', code: 'NOT_FOUND' });

    // Query JWTs are minted by the owner; they read lists, not the database.
    const q = await mintQueryJwt(t, platform, id, ['app']);
    const drafts = await gql(
      t.baseUrl,
      `query($id: String!) { logDrafts(databaseId: $id) { ... on QueryLogDraftsSuccess { data { draftId } } ... on Error { code } } }`,
      { id },
      q,
    );
    expect(drafts.body.data.logDrafts.data).toHaveLength(3);
    const forbidden = await gql(t.baseUrl, DB_QUERY, { id }, q);
    expect(forbidden.body.data.logDatabase).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('lists the caller’s databases, deletes through GraphQL, refuses revoked service tokens at /graphql', async () => {
    const carol = await issueJwt(t, 'carol', 'platform');
    const made: { databaseId: string; serviceToken: string }[] = [];
    for (const name of ['one', 'two']) {
      const r = await gql(
        t.baseUrl,
        `mutation($n: String!) { createLogDatabase(name: $n) { ... on MutationCreateLogDatabaseSuccess { data { databaseId serviceToken } } } }`,
        { n: name },
        carol,
      );
      made.push(r.body.data.createLogDatabase.data);
    }
    const list = await gql(
      t.baseUrl,
      `{ logDatabases(first: 10) { ... on QueryLogDatabasesSuccess { data { edges { node { name } } } } } }`,
      {},
      carol,
    );
    expect(list.body.data.logDatabases.data.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual([
      'two',
      'one',
    ]);
    const [first] = made;
    if (!first) throw new Error('no database');
    const viaSvc = `query($id: String!) { logDatabase(databaseId: $id) { __typename ... on QueryLogDatabaseSuccess { data { name } } } }`;
    expect(
      (await gql(t.baseUrl, viaSvc, { id: first.databaseId }, first.serviceToken)).body.data.logDatabase.data,
    ).toEqual({
      name: 'one',
    });
    const revoke = await gql(
      t.baseUrl,
      `mutation($id: String!) { revokeLogServiceTokens(databaseId: $id) { ... on MutationRevokeLogServiceTokensSuccess { data { success } } } }`,
      { id: first.databaseId },
      carol,
    );
    expect(revoke.body.data.revokeLogServiceTokens.data.success).toBe(true);
    expect((await gql(t.baseUrl, viaSvc, { id: first.databaseId }, first.serviceToken)).status).toBe(401);
    const del = await gql(
      t.baseUrl,
      `mutation($id: String!) { deleteLogDatabase(databaseId: $id) { ... on MutationDeleteLogDatabaseSuccess { data { success errors } } } }`,
      { id: first.databaseId },
      carol,
    );
    expect(del.body.data.deleteLogDatabase.data).toEqual({ success: true, errors: [] });
    const after = await gql(t.baseUrl, viaSvc, { id: first.databaseId }, carol);
    expect(after.body.data.logDatabase.__typename).toBe('LogStoreNotFoundError');
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
          query: `subscription($id: String!) { logJobEvents(databaseId: $id) { jobId type event itemIds } }`,
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
        { query: `subscription($id: String!) { logJobEvents(databaseId: $id) { jobId } }`, variables: { id } },
        { next: resolve, error: resolve, complete: () => {} },
      );
    });
    expect(JSON.stringify(denied)).toMatch(/not found/);
  });
});
