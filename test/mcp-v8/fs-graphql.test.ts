import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTree } from '../../src/modules/snapshots/snapshots.service.ts';
import {
  McpV8TestFsLabelDocument,
  McpV8TestFsLabelReflogDocument,
  McpV8TestFsLabelsDocument,
  McpV8TestFsMergeDocument,
  McpV8TestFsNodeDocument,
  McpV8TestFsPushDocument,
  McpV8TestFsResetDocument,
  McpV8TestFsSetLabelDocument,
  McpV8TestFsSnapshotDocument,
} from '../generated/mcp-v8.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { mcpV8Client, mcpV8Key, success } from '../kit/mcp-v8.ts';

/* Filesystem snapshots through GraphQL: typed errors, mutations, the reflog connection, Nodes and listing pages. */
let t: TestApp;
/** Two tenants: two mcp-v8 API keys (principalId apikey:<id>). */
let alice: string;
let bob: string;

const enc = (s: string) => new TextEncoder().encode(s);
const tree = (o: Record<string, string>) =>
  writeTree(t.app.services, new Map(Object.entries(o).map(([k, v]) => [k, enc(v)])));

const mcpKey = (name: string) => mcpV8Key(t, name);

const { call } = mcpV8Client(
  () => t,
  () => alice,
);

beforeAll(async () => {
  t = await startTestApp();
  alice = await mcpKey('alice');
  bob = await mcpKey('bob');
});
afterAll(async () => {
  await t?.close();
});

describe('GraphQL', () => {
  it('serves typed errors as union members and needs authentication', async () => {
    const q = McpV8TestFsLabelDocument;
    const unknown = await gql(t.baseUrl, q, { name: 'nothing-here' }, alice);
    expect(unknown.body.data?.fsLabel).toEqual({
      __typename: 'FsLabelNotFoundError',
      message: 'unknown label: nothing-here',
      code: 'FS_LABEL_NOT_FOUND',
    });
    const bad = await gql(t.baseUrl, q, { name: 'a b' }, alice);
    expect(bad.body.data?.fsLabel.__typename).toBe('FsInvalidInputError');
    const anon = await gql(t.baseUrl, McpV8TestFsLabelsDocument, { first: 1 });
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('sets, pushes, resets and merges through mutations, with the reflog on the label', async () => {
    const [a, b] = await Promise.all([tree({ g: 'a' }), tree({ g: 'b' })]);
    const set = await gql(t.baseUrl, McpV8TestFsSetLabelDocument, { name: 'gql', caId: a }, bob);
    expect(success(set.body.data?.fsSetLabel)).toEqual({ label: 'gql', caId: a });
    const push = McpV8TestFsPushDocument;
    expect(success((await gql(t.baseUrl, push, { label: 'gql', caId: b }, bob)).body.data?.fsPush)).toEqual({
      status: 'rejected',
      label: 'gql',
      caId: null,
      current: a,
    });
    const advanced = await gql(t.baseUrl, push, { label: 'gql', caId: b, expected: a }, bob);
    expect(success(advanced.body.data?.fsPush).status).toBe('advanced');
    const reset = await gql(
      t.baseUrl,
      McpV8TestFsResetDocument,
      { label: 'gql', caId: await tree({ g: 'never logged' }) },
      bob,
    );
    expect(reset.body.data?.fsReset.__typename).toBe('FsNotInReflogError');
    const label = await gql(t.baseUrl, McpV8TestFsLabelReflogDocument, { name: 'gql' }, bob);
    const head = success(label.body.data?.fsLabel);
    expect(head).toMatchObject({
      caId: b,
      reflog: {
        totalCount: 2,
        edges: [
          { node: { seq: 2, op: 'push', from: a, to: b } },
          { node: { seq: 1, op: 'create', from: null, to: a } },
        ],
      },
    });
    // Labels and reflog entries are Nodes of their tenant: null for anyone else, like missing ids.
    const entryId = head.reflog.edges[0]?.node.id ?? '';
    for (const id of [head.id, entryId]) {
      const mine = await gql(t.baseUrl, McpV8TestFsNodeDocument, { id }, bob);
      expect(mine.body.data?.node?.id).toBe(id);
      const theirs = await gql(t.baseUrl, McpV8TestFsNodeDocument, { id }, alice);
      expect(theirs.body.errors).toBeUndefined();
      expect(theirs.body.data?.node).toBeNull();
    }
    const forged = await gql(t.baseUrl, McpV8TestFsNodeDocument, { id: 'Rm9vOmJhcg==' }, bob);
    expect(forged.body.data?.node ?? null).toBeNull();
    const merge = await gql(t.baseUrl, McpV8TestFsMergeDocument, { ours: a, theirs: b }, bob);
    expect(success(merge.body.data?.fsMerge)).toEqual({
      status: 'conflict',
      caId: null,
      conflicts: [{ path: 'g', kind: 'text' }],
    });
    const unknown = await gql(t.baseUrl, McpV8TestFsSnapshotDocument, { caId: '0'.repeat(64) }, bob);
    expect(unknown.body.data?.fsSnapshot.__typename).toBe('FsUnknownSnapshotError');
  });

  it('lists a snapshot in bounded pages and answers bad page arguments with an error, not a 500', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`d/f${String(i).padStart(2, '0')}`] = 'x'.repeat(i);
    const id = await tree(files);
    const first = success(
      (await gql(t.baseUrl, McpV8TestFsSnapshotDocument, { caId: id, first: 10 }, alice)).body.data?.fsSnapshot,
    );
    expect(first.files.edges).toHaveLength(10);
    expect(first.files.pageInfo.hasNextPage).toBe(true);
    const page = await gql(
      t.baseUrl,
      McpV8TestFsSnapshotDocument,
      { caId: id, first: 5, after: first.files.pageInfo.endCursor },
      alice,
    );
    expect(success(page.body.data?.fsSnapshot)).toMatchObject({
      fileCount: 12,
      files: {
        totalCount: 12,
        edges: [{ node: { path: 'd/f10', size: 10 } }, { node: { path: 'd/f11', size: 11 } }],
      },
    });
    // Pages are bounded: a larger `first` gets at most 1000.
    const all = await gql(t.baseUrl, McpV8TestFsSnapshotDocument, { caId: id, first: 5000 }, alice);
    expect(success(all.body.data?.fsSnapshot).files.edges).toHaveLength(12);
    // The snapshot is a Node too; anyone may read it by id (a CA id is content).
    const node = await gql(t.baseUrl, McpV8TestFsNodeDocument, { id: first.id }, bob);
    expect(node.body.data?.node).toMatchObject({ __typename: 'FsSnapshot', caId: id, fileCount: 12 });
    expect((await call('POST', '/api/fs/labels', { body: { name: 'lim', ca_id: id } })).status).toBe(200);
    const badLimit = await gql(t.baseUrl, McpV8TestFsLabelReflogDocument, { name: 'lim', first: -1 }, alice);
    // Pothos' own validation error (not masked, no internals; it carries no extensions code).
    expect(badLimit.body.errors?.[0]?.message).toBe('Argument "first" must be a non-negative integer');
    const malformed = await gql(t.baseUrl, McpV8TestFsSnapshotDocument, { caId: 'xyz' }, alice);
    expect(malformed.body.data?.fsSnapshot.__typename).toBe('FsInvalidInputError');
  });
});
