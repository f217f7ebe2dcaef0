import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TestDeleteGoClawKgEntityDocument,
  TestGoClawKgEntitiesDocument,
  TestUpsertGoClawKgRelationDocument,
} from '../generated/goclaw.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { goclawClient, goclawContract, goclawKey } from '../kit/goclaw.ts';

let t: TestApp;
let call: ReturnType<typeof goclawClient>;
let operator: string;
let viewer: string;
const contract = await goclawContract();
const ids: Record<string, string> = {};

const upsert = (agent: string, body: unknown, token = operator) =>
  call('POST', `/v1/agents/${agent}/kg/entities`, { token, body });
const traverse = (body: unknown, agent = 'kg-agent') =>
  call('POST', `/v1/agents/${agent}/kg/traverse`, { token: viewer, body });

async function relate(source: string, relationType: string, target: string) {
  const res = await gql(
    t.baseUrl,
    TestUpsertGoClawKgRelationDocument,
    {
      agentId: 'kg-agent',
      input: { source, relationType, target },
    },
    operator,
  );
  const r = res.body.data?.upsertGoClawKgRelation;
  if (r?.__typename !== 'MutationUpsertGoClawKgRelationSuccess') throw new Error(JSON.stringify(res));
  return r.data;
}

const reached = (body: any[]) => body.map((s) => [s.entity.external_id, s.depth, s.via]);

beforeAll(async () => {
  t = await startTestApp();
  call = goclawClient(t, contract);
  operator = await goclawKey(t, ['operator.write']);
  viewer = await goclawKey(t, ['operator.read']);
  const agent = await call('POST', '/v1/agents', {
    token: operator,
    headers: { 'x-goclaw-user-id': 'owner' },
    body: { name: 'kg-agent' },
  });
  expect(agent.status).toBe(201);
  for (const [external_id, name, entity_type] of [
    ['alice', 'Alice', 'person'],
    ['acme', 'Acme Corp', 'company'],
    ['bob', 'Bob', 'person'],
    ['apollo', 'Project Apollo', 'project'],
    ['moon', 'The Moon', 'place'],
  ]) {
    const res = await upsert('kg-agent', { external_id, name, entity_type });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('ok');
    ids[external_id as string] = res.body.id;
  }
  // alice → acme → bob → apollo → moon, and bob → alice (a cycle), acme → acme (a self loop).
  await relate('alice', 'works_at', 'acme');
  await relate(ids.acme as string, 'employs', 'bob');
  await relate('bob', 'knows', 'alice');
  await relate('bob', 'leads', 'apollo');
  await relate('apollo', 'targets', 'moon');
  await relate('acme', 'owns', 'acme');
});
afterAll(async () => {
  await t?.close();
});

describe('GoClaw knowledge graph', () => {
  it('upserts entities idempotently by external_id', async () => {
    const again = await upsert('kg-agent', {
      external_id: 'bob',
      name: 'Robert',
      entity_type: 'person',
      description: 'Engineer',
      properties: { team: 'rockets' },
      confidence: 0.8,
      source_id: 'chat-1',
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: 'ok', id: ids.bob });
    const list = await call('GET', '/v1/agents/kg-agent/kg/entities?q=bob', { token: viewer });
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    const [bob] = list.body;
    expect(bob).toMatchObject({
      id: ids.bob,
      external_id: 'bob',
      name: 'Robert',
      entity_type: 'person',
      description: 'Engineer',
      properties: { team: 'rockets' },
      confidence: 0.8,
      source_id: 'chat-1',
      user_id: '',
    });
    expect(Number.isInteger(bob.created_at) && Number.isInteger(bob.updated_at)).toBe(true);
    expect(bob.updated_at).toBeGreaterThanOrEqual(bob.created_at);
  });

  it('lists entities as a bare array with filters and paging', async () => {
    const all = await call('GET', '/v1/agents/kg-agent/kg/entities', { token: viewer });
    expect(all.body.map((e: any) => e.external_id)).toEqual(['acme', 'alice', 'apollo', 'bob', 'moon']);
    const people = await call('GET', '/v1/agents/kg-agent/kg/entities?type=person', { token: viewer });
    expect(people.body.map((e: any) => e.external_id).sort()).toEqual(['alice', 'bob']);
    const page = await call('GET', '/v1/agents/kg-agent/kg/entities?limit=2&offset=1', { token: viewer });
    expect(page.body.map((e: any) => e.external_id)).toEqual(['alice', 'apollo']);
    const q = await call('GET', '/v1/agents/kg-agent/kg/entities?q=CORP', { token: viewer });
    expect(q.body.map((e: any) => e.external_id)).toEqual(['acme']);
    const wild = await call('GET', `/v1/agents/kg-agent/kg/entities?q=${encodeURIComponent('%')}`, { token: viewer });
    expect(wild.body).toEqual([]);
    const graph = await gql(t.baseUrl, TestGoClawKgEntitiesDocument, { agentId: 'kg-agent' }, viewer);
    const data = graph.body.data?.goclawKgEntities;
    if (data?.__typename !== 'QueryGoclawKgEntitiesSuccess') throw new Error(JSON.stringify(graph));
    expect(data.data.totalCount).toBe(5);
    const acme = data.data.edges.find((e) => e.node.externalId === 'acme')?.node;
    expect(acme?.relations.map((r) => r.relationType)).toEqual(['employs', 'owns']);
  });

  it('traverses breadth-first with depth, path and via; cycles end', async () => {
    const two = await traverse({ entity_id: ids.alice });
    expect(two.status).toBe(200);
    expect(reached(two.body)).toEqual([
      ['acme', 1, 'works_at'],
      ['bob', 2, 'employs'],
    ]);
    expect(two.body[1].path).toEqual([ids.alice, ids.acme, ids.bob]);
    expect(two.body[0].entity).toMatchObject({ id: ids.acme, name: 'Acme Corp', entity_type: 'company' });

    // Depth 3 reaches apollo; alice (the start, reached again through bob → alice) and acme's self loop do not
    // come back, and every entity comes once.
    const three = await traverse({ entity_id: 'alice', max_depth: 3 });
    expect(reached(three.body)).toEqual([
      ['acme', 1, 'works_at'],
      ['bob', 2, 'employs'],
      ['apollo', 3, 'leads'],
    ]);
    // From bob the cycle leads back to alice at depth 1, then acme at 2.
    const fromBob = await traverse({ entity_id: 'bob', max_depth: 2 });
    expect(reached(fromBob.body)).toEqual([
      ['alice', 1, 'knows'],
      ['apollo', 1, 'leads'],
      ['acme', 2, 'works_at'],
      ['moon', 2, 'targets'],
    ]);
  });

  it('clamps max_depth to [1, 3]', async () => {
    const deep = await traverse({ entity_id: 'alice', max_depth: 50 });
    expect(reached(deep.body).map((r) => r[0])).toEqual(['acme', 'bob', 'apollo']);
    const shallow = await traverse({ entity_id: 'alice', max_depth: 0 });
    expect(reached(shallow.body)).toEqual([['acme', 1, 'works_at']]);
    const negative = await traverse({ entity_id: 'alice', max_depth: -4 });
    expect(reached(negative.body)).toEqual([['acme', 1, 'works_at']]);
    const leaf = await traverse({ entity_id: 'moon' });
    expect(leaf.body).toEqual([]);
  });

  it('keeps a user’s entities to that user', async () => {
    const res = await upsert('kg-agent', {
      external_id: 'secret',
      name: 'Secret',
      entity_type: 'note',
      user_id: 'u-1',
    });
    expect(res.status).toBe(200);
    const rel = await gql(
      t.baseUrl,
      TestUpsertGoClawKgRelationDocument,
      {
        agentId: 'kg-agent',
        input: { source: 'moon', relationType: 'hides', target: 'secret', userId: 'u-1' },
      },
      operator,
    );
    expect(rel.body.data?.upsertGoClawKgRelation.__typename).toBe('MutationUpsertGoClawKgRelationSuccess');
    const anonymous = await call('GET', '/v1/agents/kg-agent/kg/entities?q=secret', { token: viewer });
    expect(anonymous.body).toEqual([]);
    const mine = await call('GET', '/v1/agents/kg-agent/kg/entities?q=secret&user_id=u-1', { token: viewer });
    expect(mine.body.map((e: any) => [e.external_id, e.user_id])).toEqual([['secret', 'u-1']]);
    expect((await traverse({ entity_id: 'moon' })).body).toEqual([]);
    const seen = await call('POST', '/v1/agents/kg-agent/kg/traverse', {
      token: viewer,
      headers: { 'x-goclaw-user-id': 'u-1' },
      body: { entity_id: 'moon' },
    });
    expect(reached(seen.body)).toEqual([['secret', 1, 'hides']]);
  });

  it('deletes an entity with its relations', async () => {
    await upsert('kg-agent', { external_id: 'temp', name: 'Temp', entity_type: 'thing' });
    await relate('moon', 'near', 'temp');
    expect(reached((await traverse({ entity_id: 'moon' })).body)).toEqual([['temp', 1, 'near']]);
    const del = await gql(
      t.baseUrl,
      TestDeleteGoClawKgEntityDocument,
      { agentId: 'kg-agent', entityId: 'temp' },
      operator,
    );
    expect(del.body.data?.deleteGoClawKgEntity.__typename).toBe('MutationDeleteGoClawKgEntitySuccess');
    expect((await traverse({ entity_id: 'moon' })).body).toEqual([]);
  });

  it('goes with its agent', async () => {
    const temp = await call('POST', '/v1/agents', {
      token: operator,
      headers: { 'x-goclaw-user-id': 'owner' },
      body: { name: 'kg-temp' },
    });
    expect(temp.status).toBe(201);
    expect((await upsert('kg-temp', { external_id: 'a', name: 'A', entity_type: 't' })).status).toBe(200);
    expect((await call('GET', '/v1/agents/kg-temp/kg/entities', { token: viewer })).body).toHaveLength(1);
    expect((await call('DELETE', '/v1/agents/kg-temp', { headers: { 'x-goclaw-user-id': 'owner' } })).status).toBe(200);
    expect((await call('GET', '/v1/agents/kg-temp/kg/entities', { token: viewer })).status).toBe(404);
    const left = await t.app.services.prisma.goclawKgEntity.count({ where: { agentId: temp.body.id } });
    expect(left).toBe(0);
  });

  it('answers bad input with 4xx in the contract’s error shape', async () => {
    const entityCases: unknown[] = [
      {},
      { name: 'x', entity_type: 't' },
      { external_id: 'x', entity_type: 't' },
      { external_id: 'x', name: 'x' },
      { external_id: 'x', name: 5, entity_type: 't' },
      { external_id: 'x', name: 'x', entity_type: 't', properties: { a: 1 } },
      { external_id: 'x', name: 'x', entity_type: 't', properties: ['a'] },
      { external_id: 'x', name: 'x', entity_type: 't', confidence: 2 },
      { external_id: 'x', name: 'x', entity_type: 't', confidence: 'high' },
      { external_id: 'x'.repeat(256), name: 'x', entity_type: 't' },
      { external_id: 'x', name: 'x', entity_type: 't', user_id: 'u'.repeat(256) },
      [1, 2],
    ];
    for (const body of entityCases) {
      const res = await upsert('kg-agent', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(Object.keys(res.body)).toEqual(['error']);
    }
    const traverseCases: unknown[] = [
      {},
      { entity_id: '' },
      { entity_id: 5 },
      { entity_id: 'alice', max_depth: 1.5 },
      { entity_id: 'alice', max_depth: '2' },
    ];
    for (const body of traverseCases) {
      const res = await traverse(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(res.body)).toEqual(['error']);
    }
    expect((await traverse({ entity_id: 'nobody' })).status).toBe(404);
    expect((await traverse({ entity_id: 'alice' }, 'no-agent')).status).toBe(404);
    expect((await call('GET', '/v1/agents/no-agent/kg/entities', { token: viewer })).status).toBe(404);
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'offset=-1']) {
      expect((await call('GET', `/v1/agents/kg-agent/kg/entities?${q}`, { token: viewer })).status, q).toBe(400);
    }
    // RBAC: viewers read, operators write; no credential is 401.
    const asViewer = await upsert('kg-agent', { external_id: 'v', name: 'v', entity_type: 't' }, viewer);
    expect(asViewer.status).toBe(403);
    const anonymous = await fetch(`${t.baseUrl}/goclaw/v1/agents/kg-agent/kg/entities`);
    expect(anonymous.status).toBe(401);
    const badRelation = await gql(
      t.baseUrl,
      TestUpsertGoClawKgRelationDocument,
      {
        agentId: 'kg-agent',
        input: { source: 'alice', relationType: '', target: 'bob' },
      },
      operator,
    );
    expect(badRelation.body.data?.upsertGoClawKgRelation.__typename).toBe('GoClawBadRequestError');
    const missing = await gql(
      t.baseUrl,
      TestUpsertGoClawKgRelationDocument,
      {
        agentId: 'kg-agent',
        input: { source: 'alice', relationType: 'x', target: 'nobody' },
      },
      operator,
    );
    expect(missing.body.data?.upsertGoClawKgRelation.__typename).toBe('GoClawResourceNotFoundError');
  });
});
