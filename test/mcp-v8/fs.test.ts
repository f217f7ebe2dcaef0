import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTree } from '../../src/modules/snapshots/snapshots.service.ts';
import { entryId } from '../../src/modules/snapshots/tree.ts';
import { McpV8TestFsLabelsDocument, McpV8TestFsSnapshotDocument } from '../generated/mcp-v8.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import { mcpV8Key, success } from '../kit/mcp-v8.ts';

let t: TestApp;
let contract: ContractExpectations;
/** Two tenants: two mcp-v8 API keys (principalId apikey:<id>). */
let alice: string;
let bob: string;

const enc = (s: string) => new TextEncoder().encode(s);
const tree = (o: Record<string, string>) =>
  writeTree(t.app.services, new Map(Object.entries(o).map(([k, v]) => [k, enc(v)])));

const mcpKey = (name: string) => mcpV8Key(t, name);

async function call(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${t.baseUrl}/mcp-v8${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as any) };
}

beforeAll(async () => {
  t = await startTestApp();
  contract = await contractValidator('mcp_v8');
  alice = await mcpKey('alice');
  bob = await mcpKey('bob');
});
afterAll(async () => {
  await t?.close();
});

/** 400/404 bodies are the contract's ApiError, and never a 500. */
function expectApiError(r: { status: number; body: any }, status: number, pattern?: RegExp) {
  expect(r.status).toBe(status);
  expect(r.body).toEqual({ error: expect.any(String) });
  if (pattern) expect(r.body.error).toMatch(pattern);
}

describe('labels and reflog', () => {
  it('creates, repoints, resolves, lists and logs labels (epoch-ms at, oldest first, limit = most recent N)', async () => {
    const one = await tree({ 'a.txt': '1' });
    const two = await tree({ 'a.txt': '2' });
    const before = Date.now();
    expect(await call(alice, 'POST', '/api/fs/labels', { name: 'main', ca_id: one, message: 'first' })).toEqual({
      status: 200,
      body: { label: 'main', ca_id: one },
    });
    expect(await call(alice, 'POST', '/api/fs/labels', { name: 'main', ca_id: two.toUpperCase() })).toEqual({
      status: 200,
      body: { label: 'main', ca_id: two },
    });
    expect(await call(alice, 'GET', '/api/fs/labels/main')).toEqual({
      status: 200,
      body: { label: 'main', ca_id: two },
    });
    expect(await call(alice, 'GET', '/api/fs/labels')).toEqual({
      status: 200,
      body: { labels: [{ name: 'main', ca_id: two }] },
    });
    const log = await call(alice, 'GET', '/api/fs/labels/main/log');
    expect(log.status).toBe(200);
    expect(log.body).toEqual({
      label: 'main',
      log: [
        { at: expect.any(Number), from: null, to: one, op: 'create', message: 'first' },
        { at: expect.any(Number), from: one, to: two, op: 'force' },
      ],
    });
    expect(log.body.log[0].at).toBeGreaterThanOrEqual(before - 1000);
    expect(log.body.log[0].at).toBeLessThanOrEqual(log.body.log[1].at);
    const last = await call(alice, 'GET', '/api/fs/labels/main/log?limit=1');
    expect(last.body.log).toEqual([expect.objectContaining({ from: one, to: two })]);
    expect((await call(alice, 'GET', '/api/fs/labels/main/log?limit=0')).body.log).toEqual([]);
    // An empty nullable query parameter means absent: the full log.
    expect((await call(alice, 'GET', '/api/fs/labels/main/log?limit=')).body.log).toHaveLength(2);
    expect(await call(alice, 'GET', '/api/fs/labels/never-made/log')).toEqual({
      status: 200,
      body: { label: 'never-made', log: [] },
    });
  });

  it('answers 404 {"error": "unknown label: x"} for an unknown label', async () => {
    const r = await call(alice, 'GET', '/api/fs/labels/nope');
    expectApiError(r, 404, /^unknown label: nope$/);
    // The contract gives fs responses no body schema (so these tests pin the shapes); it must stay that way.
    expect(() => contract.expectValidResponse('get', '/api/fs/labels/nope', 404, r.body)).toThrow(/defines no JSON/);
  });

  it("keeps tenants apart: another tenant's labels are invisible and its names are free", async () => {
    const mine = await tree({ secret: 'alice' });
    const theirs = await tree({ secret: 'bob' });
    expect((await call(alice, 'POST', '/api/fs/labels', { name: 'shared-name', ca_id: mine })).status).toBe(200);
    expectApiError(await call(bob, 'GET', '/api/fs/labels/shared-name'), 404);
    expect((await call(bob, 'GET', '/api/fs/labels')).body).toEqual({ labels: [] });
    expect((await call(bob, 'GET', '/api/fs/labels/shared-name/log')).body.log).toEqual([]);
    // Bob cannot move Alice's label: pushing to the same name creates his own.
    expect((await call(bob, 'POST', '/api/fs/push', { label: 'shared-name', ca_id: theirs })).body).toEqual({
      status: 'advanced',
      label: 'shared-name',
      ca_id: theirs,
    });
    expect((await call(alice, 'GET', '/api/fs/labels/shared-name')).body.ca_id).toBe(mine);
    expect((await call(bob, 'GET', '/api/fs/labels/shared-name')).body.ca_id).toBe(theirs);
    // A CA id is content: knowing Alice's id lets Bob label and merge it (docs/snapshots.md, decision).
    expect((await call(bob, 'POST', '/api/fs/labels', { name: 'copied', ca_id: mine })).body).toEqual({
      label: 'copied',
      ca_id: mine,
    });
    expect((await call(bob, 'POST', '/api/fs/merge', { ours: mine, theirs: mine })).body).toEqual({
      status: 'merged',
      ca_id: mine,
    });
    // GraphQL is tenant-scoped too.
    const g = await gql(t.baseUrl, McpV8TestFsLabelsDocument, { first: 10 }, bob);
    expect(g.body.data?.fsLabels.edges).toEqual([
      { node: { name: 'copied', caId: mine } },
      { node: { name: 'shared-name', caId: theirs } },
    ]);
  });
});

describe('push (compare-and-set)', () => {
  it('creates, advances with the right expected, rejects with 409 {status, label, current}, forces, detaches', async () => {
    const [a, b, c] = await Promise.all([tree({ f: 'a' }), tree({ f: 'b' }), tree({ f: 'c' })]);
    expect(await call(alice, 'POST', '/api/fs/push', { label: 'p', ca_id: a })).toEqual({
      status: 200,
      body: { status: 'advanced', label: 'p', ca_id: a },
    });
    // expected omitted on an existing label: rejected (None ≠ current).
    expect(await call(alice, 'POST', '/api/fs/push', { label: 'p', ca_id: b })).toEqual({
      status: 409,
      body: { status: 'rejected', label: 'p', current: a },
    });
    expect(await call(alice, 'POST', '/api/fs/push', { label: 'p', ca_id: b, expected: a, message: 'm' })).toEqual({
      status: 200,
      body: { status: 'advanced', label: 'p', ca_id: b },
    });
    expect(await call(alice, 'POST', '/api/fs/push', { label: 'p', ca_id: c, expected: a })).toEqual({
      status: 409,
      body: { status: 'rejected', label: 'p', current: b },
    });
    // A missing label with expected given: rejected with current null.
    expect(await call(alice, 'POST', '/api/fs/push', { label: 'q', ca_id: c, expected: a })).toEqual({
      status: 409,
      body: { status: 'rejected', label: 'q', current: null },
    });
    expect(await call(alice, 'POST', '/api/fs/push', { label: 'p', ca_id: c, expected: a, force: true })).toEqual({
      status: 200,
      body: { status: 'advanced', label: 'p', ca_id: c },
    });
    expect(await call(alice, 'POST', '/api/fs/push', { ca_id: a, detach: true })).toEqual({
      status: 200,
      body: { status: 'detached', ca_id: a },
    });
    expectApiError(await call(alice, 'POST', '/api/fs/push', { ca_id: a }), 400, /requires a label unless detach/);
    const log = (await call(alice, 'GET', '/api/fs/labels/p/log')).body.log;
    expect(log.map((e: any) => [e.op, e.from, e.to])).toEqual([
      ['create', null, a],
      ['push', a, b],
      ['force', b, c],
    ]);
    expect(log[1].message).toBe('m');
  });

  it('lets exactly one of many concurrent pushes with the same expected win', async () => {
    const base = await tree({ race: 'base' });
    await call(alice, 'POST', '/api/fs/push', { label: 'race', ca_id: base });
    const candidates = await Promise.all(Array.from({ length: 8 }, (_, i) => tree({ race: `candidate ${i}` })));
    const results = await Promise.all(
      candidates.map((ca_id) => call(alice, 'POST', '/api/fs/push', { label: 'race', ca_id, expected: base })),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    const winner = winners[0]?.body.ca_id;
    expect(candidates).toContain(winner);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r).toEqual({ status: 409, body: { status: 'rejected', label: 'race', current: winner } });
    }
    expect((await call(alice, 'GET', '/api/fs/labels/race')).body.ca_id).toBe(winner);
    expect((await call(alice, 'GET', '/api/fs/labels/race/log')).body.log).toHaveLength(2);
  });

  it('lets exactly one of concurrent creates (no expected) win', async () => {
    const candidates = await Promise.all(Array.from({ length: 6 }, (_, i) => tree({ create: `c${i}` })));
    const results = await Promise.all(
      candidates.map((ca_id) => call(alice, 'POST', '/api/fs/push', { label: 'fresh', ca_id })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(5);
  });
});

describe('reset (reflog-gated)', () => {
  it('resets only to ids in the reflog unless allow_unlogged', async () => {
    const [a, b, stranger] = await Promise.all([tree({ r: 'a' }), tree({ r: 'b' }), tree({ r: 'x' })]);
    await call(alice, 'POST', '/api/fs/push', { label: 'rs', ca_id: a });
    await call(alice, 'POST', '/api/fs/push', { label: 'rs', ca_id: b, expected: a });
    expect(await call(alice, 'POST', '/api/fs/reset', { label: 'rs', ca_id: a, message: 'rollback' })).toEqual({
      status: 200,
      body: { label: 'rs', ca_id: a },
    });
    // Roll forward to b: it is in the reflog (as an entry's to and from).
    expect((await call(alice, 'POST', '/api/fs/reset', { label: 'rs', ca_id: b })).status).toBe(200);
    const refused = await call(alice, 'POST', '/api/fs/reset', { label: 'rs', ca_id: stranger });
    expectApiError(refused, 400, /is not in the reflog for label 'rs'; pass allow_unlogged/);
    expect(
      (await call(alice, 'POST', '/api/fs/reset', { label: 'rs', ca_id: stranger, allow_unlogged: true })).status,
    ).toBe(200);
    // A label that does not exist has an empty reflog.
    expectApiError(await call(alice, 'POST', '/api/fs/reset', { label: 'nolabel', ca_id: a }), 400);
    expect(
      (await call(alice, 'POST', '/api/fs/reset', { label: 'nolabel', ca_id: a, allow_unlogged: true })).body,
    ).toEqual({ label: 'nolabel', ca_id: a });
    // Another tenant's reflog does not count.
    expectApiError(await call(bob, 'POST', '/api/fs/reset', { label: 'rs', ca_id: a }), 400);
    const ops = (await call(alice, 'GET', '/api/fs/labels/rs/log')).body.log.map((e: any) => e.op);
    expect(ops).toEqual(['create', 'push', 'reset', 'reset', 'reset']);
  });
});

describe('merge', () => {
  it('3-way: merges disjoint and line-level changes, stores the result, moves no label', async () => {
    const base = await tree({ 'src/t.txt': 'one\ntwo\nthree\n', 'del.txt': 'x', same: 's' });
    const ours = await tree({ 'src/t.txt': 'ONE\ntwo\nthree\n', same: 's', 'ours.txt': 'o' });
    const theirs = await tree({ 'src/t.txt': 'one\ntwo\nTHREE\n', 'del.txt': 'x', same: 's', 'dir/new': 'n' });
    const r = await call(alice, 'POST', '/api/fs/merge', { ours, theirs, base });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'merged', ca_id: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(r.body.ca_id).toBe(
      await tree({ 'src/t.txt': 'ONE\ntwo\nTHREE\n', same: 's', 'ours.txt': 'o', 'dir/new': 'n' }),
    );
    const listing = await gql(t.baseUrl, McpV8TestFsSnapshotDocument, { caId: r.body.ca_id, first: 10 }, alice);
    expect(success(listing.body.data?.fsSnapshot)).toMatchObject({
      caId: r.body.ca_id,
      fileCount: 4,
      totalBytes: 17,
      files: {
        totalCount: 4,
        pageInfo: { hasNextPage: false },
        edges: [
          { node: { path: 'dir/new', size: 1 } },
          { node: { path: 'ours.txt', size: 1 } },
          { node: { path: 'same', size: 1 } },
          { node: { path: 'src/t.txt', size: 14 } },
        ],
      },
    });
  });

  it('3-way: reports text conflicts with entry ids, diff3 markers and unified diffs; stores nothing', async () => {
    const base = await tree({ 'c.txt': 'a\nb\nc\n', gone: 'g' });
    const ours = await tree({ 'c.txt': 'a\nOURS\nc\n', gone: 'changed' });
    const theirs = await tree({ 'c.txt': 'a\nTHEIRS\nc\n', 'new/dir/file': 'would need new nodes' });
    const stored = async () => (await t.app.services.objectStore.listObjects('fs/')).keys.length;
    const before = await stored();
    const r = await call(alice, 'POST', '/api/fs/merge', { ours, theirs, base });
    expect(r.status).toBe(200);
    expect(await stored()).toBe(before);
    const id = (s: string) =>
      entryId({ t: 'f', size: Buffer.byteLength(s), inline: Buffer.from(s).toString('base64') });
    expect(r.body).toEqual({
      status: 'conflict',
      conflicts: [
        {
          path: 'c.txt',
          base: id('a\nb\nc\n'),
          ours: id('a\nOURS\nc\n'),
          theirs: id('a\nTHEIRS\nc\n'),
          kind: 'text',
          markers: 'a\n<<<<<<< ours\nOURS\n||||||| base\nb\n=======\nTHEIRS\n>>>>>>> theirs\nc\n',
          diff_ours: expect.stringContaining('-b\n+OURS'),
          diff_theirs: expect.stringContaining('-b\n+THEIRS'),
        },
        { path: 'gone', base: id('g'), ours: id('changed'), theirs: null, kind: 'modify/delete' },
      ],
    });
    expect(r.body.conflicts[0].diff_ours).toMatch(/^(Index: .*\n=+\n)?--- a\/c.txt/m);
  });

  it('prefer resolves conflicts wholesale to one side (including deletions)', async () => {
    const base = await tree({ 'c.txt': 'a\nb\nc\n', gone: 'g' });
    const ours = await tree({ 'c.txt': 'a\nOURS\nc\n', gone: 'changed' });
    const theirs = await tree({ 'c.txt': 'a\nTHEIRS\nc\n' });
    const o = await call(alice, 'POST', '/api/fs/merge', { ours, theirs, base, prefer: 'ours' });
    expect(o.body.ca_id).toBe(ours);
    const th = await call(alice, 'POST', '/api/fs/merge', { ours, theirs, base, prefer: 'THEIRS' });
    expect(th.body.ca_id).toBe(theirs);
    const none = await call(alice, 'POST', '/api/fs/merge', { ours, theirs, base, prefer: 'none' });
    expect(none.body.status).toBe('conflict');
    expectApiError(await call(alice, 'POST', '/api/fs/merge', { ours, theirs, prefer: 'mine' }), 400, /invalid prefer/);
  });

  it('2-way: unions one-sided paths, keeps one-sided deletions, conflicts on differing common paths', async () => {
    const ours = await tree({ common: 'o', 'only-ours': '1', 'bin.dat': '\0\x01' });
    const theirs = await tree({ common: 't', 'only-theirs': '2', 'bin.dat': '\0\x02' });
    const r = await call(alice, 'POST', '/api/fs/merge', { ours, theirs });
    expect(r.body.status).toBe('conflict');
    expect(r.body.conflicts.map((c: any) => [c.path, c.kind, c.base])).toEqual([
      ['bin.dat', 'binary', null],
      ['common', 'text', null],
    ]);
    expect(r.body.conflicts[0].markers).toBeUndefined();
    expect(r.body.conflicts[1].markers).toBe('<<<<<<< ours\no\n||||||| base\n=======\nt\n>>>>>>> theirs\n');
    const clean = await call(alice, 'POST', '/api/fs/merge', {
      ours: await tree({ a: '1', same: 's' }),
      theirs: await tree({ b: '2', same: 's' }),
    });
    expect(clean.body.ca_id).toBe(await tree({ a: '1', b: '2', same: 's' }));
    const preferred = await call(alice, 'POST', '/api/fs/merge', { ours, theirs, prefer: 'theirs' });
    expect(preferred.body.ca_id).toBe(
      await tree({ common: 't', 'only-ours': '1', 'only-theirs': '2', 'bin.dat': '\0\x02' }),
    );
  });

  it('reports sqlite and file/directory conflicts by kind', async () => {
    const sqlite = (tail: string) => `SQLite format 3\0${tail}`;
    const ours = await tree({ 'db.sqlite': sqlite('o'), x: 'file' });
    const theirs = await tree({ 'db.sqlite': sqlite('t'), 'x/inner': 'dir' });
    const r = await call(alice, 'POST', '/api/fs/merge', { ours, theirs });
    expect(r.body.conflicts.map((c: any) => [c.path, c.kind])).toEqual([
      ['db.sqlite', 'sqlite'],
      ['x', 'file/directory'],
    ]);
  });
});

describe('bad input: 4xx {"error": ...}, never 500', () => {
  it('rejects malformed CA ids, labels, messages and unknown snapshots', async () => {
    const ok = await tree({ ok: 'ok' });
    const unknown = 'ab'.repeat(32);
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/api/fs/labels', { name: 'x', ca_id: 'nothex' }, 400, /invalid ca_id/],
      ['POST', '/api/fs/labels', { name: 'x', ca_id: unknown }, 400, /unknown snapshot/],
      ['POST', '/api/fs/labels', { name: 'a/b', ca_id: ok }, 400, /invalid name/],
      ['POST', '/api/fs/labels', { name: 'c'.repeat(64), ca_id: ok }, 400, /64 hex/],
      ['POST', '/api/fs/labels', { name: '..', ca_id: ok }, 400, /invalid name/],
      ['POST', '/api/fs/labels', { name: 'x', ca_id: ok, message: 'm'.repeat(4097) }, 400, /message too long/],
      ['POST', '/api/fs/labels', { name: 'x' }, 400, /ca_id/],
      ['POST', '/api/fs/labels', { name: 5, ca_id: ok }, 400, /name/],
      ['POST', '/api/fs/labels', '{not json', 400, /./],
      ['POST', '/api/fs/push', { label: 'x', ca_id: ok, expected: 'zz' }, 400, /invalid expected/],
      ['POST', '/api/fs/push', { label: 'x', ca_id: unknown }, 400, /unknown snapshot/],
      ['POST', '/api/fs/push', { label: 'x', ca_id: ok, force: 'yes' }, 400, /force/],
      ['POST', '/api/fs/push', { ca_id: 'short', detach: true }, 400, /invalid ca_id/],
      ['POST', '/api/fs/reset', { label: 'x', ca_id: unknown, allow_unlogged: true }, 400, /unknown snapshot/],
      ['POST', '/api/fs/merge', { ours: ok, theirs: unknown }, 400, /unknown snapshot/],
      ['POST', '/api/fs/merge', { ours: ok, theirs: ok, base: 'xyz' }, 400, /invalid base/],
      ['POST', '/api/fs/merge', { ours: ok }, 400, /theirs/],
      ['GET', '/api/fs/labels/bad%20label', undefined, 400, /invalid name/],
      ['GET', `/api/fs/labels/${'l'.repeat(201)}/log`, undefined, 400, /invalid label/],
      ['GET', '/api/fs/labels/x/log?limit=-1', undefined, 400, /limit/],
      ['GET', '/api/fs/labels/x/log?limit=abc', undefined, 400, /limit/],
    ];
    for (const [method, path, body, status, pattern] of cases) {
      const r = await call(alice, method, path, body);
      expect({ method, path, status: r.status }).toEqual({ method, path, status });
      expect(r.body).toEqual({ error: expect.stringMatching(pattern) });
    }
  });

  it('answers an oversized body with 413 {"error": ...}', async () => {
    const r = await call(alice, 'POST', '/api/fs/labels', {
      name: 'x',
      ca_id: 'a'.repeat(64),
      message: 'm'.repeat(2 << 20),
    });
    expectApiError(r, 413);
  });

  it('rejects every fs operation without a credential (401 ApiError)', async () => {
    const res = await fetch(`${t.baseUrl}/mcp-v8/api/fs/labels`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: expect.any(String) });
  });
});
