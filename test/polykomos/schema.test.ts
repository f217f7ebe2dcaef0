import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PolykomosSchemaApplicationsPageDocument,
  PolykomosSchemaBlueprintsDocument,
  PolykomosSchemaDatabasesDocument,
  PolykomosSchemaDatabaseTypesDocument,
  PolykomosSchemaMeDocument,
  PolykomosSchemaNodeDocument,
  PolykomosSchemaNodesDocument,
  PolykomosSchemaValidateBlueprintDocument,
} from '../generated/polykomos.ts';
import { gql, type TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import {
  createPolykomosKey,
  type PolykomosKey,
  polykomosClient,
  polykomosPostgresUrl,
  setControls,
  startPolykomosApp,
} from '../kit/polykomos.ts';

/*
 * Polykomos' GraphQL schema conventions: every resource is a Node (node(id) answers the owner's object and null for
 * another owner's or an unknown id), every list a connection with totalCount, closed sets enums.
 */

let t: TestApp;
let call: ReturnType<typeof polykomosClient>;
let contract: ContractExpectations;
let owner: PolykomosKey;
let stranger: PolykomosKey;
const scopes = ['databases:read', 'databases:write', 'blueprints:read', 'blueprints:write'];

beforeAll(async () => {
  t = await startPolykomosApp();
  contract = await contractValidator('polykomos');
  call = polykomosClient(t, contract);
  owner = await createPolykomosKey(t, scopes);
  stranger = await createPolykomosKey(t, scopes);
});

afterAll(async () => {
  await t?.close();
});

/** A well-formed global id of `type` for a raw id nobody holds. */
const unknownId = (type: string, raw: string) => Buffer.from(`${type}:${raw}`).toString('base64');

async function node(id: string, key: PolykomosKey) {
  const r = await gql(t.baseUrl, PolykomosSchemaNodeDocument, { id }, key.raw);
  expect(r.body.errors).toBeUndefined();
  return r.body.data?.node ?? null;
}

async function blueprints(key: PolykomosKey, first: number) {
  const r = await gql(t.baseUrl, PolykomosSchemaBlueprintsDocument, { first }, key.raw);
  const list = r.body.data?.polykomosBlueprints;
  if (list?.__typename !== 'QueryPolykomosBlueprintsSuccess') throw new Error(JSON.stringify(r.body));
  return list.data;
}

describe('blueprints and versions', () => {
  it('lists with totalCount across pages; versions are a connection with totalCount', async () => {
    const k = await createPolykomosKey(t, scopes);
    const made: string[] = [];
    for (const sql of ['SELECT 1;', 'SELECT 2;']) {
      const r = await call('POST', '/api/v1/blueprints', { key: k.raw, body: { name: 'counted', sql_content: sql } });
      expect(r.status).toBe(201);
      made.push(r.body.data.uuid);
    }
    for (const sql of ['SELECT 3;', 'SELECT 4;']) {
      const u = await call('PATCH', `/api/v1/blueprints/${made[1]}`, { key: k.raw, body: { sql_content: sql } });
      expect(u.status).toBe(200);
    }
    const page = await blueprints(k, 1);
    expect(page.totalCount).toBe(2);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const [edge] = page.edges;
    expect(edge?.node.uuid).toBe(made[1]);
    expect(edge?.node.contentType).toBe('sql');
    expect(edge?.node.versions.totalCount).toBe(3);
    expect(edge?.node.versions.pageInfo.hasNextPage).toBe(true);
    expect(edge?.node.versions.edges.map((e) => [e.node.version, e.node.sqlContent])).toEqual([
      [1, 'SELECT 2;'],
      [2, 'SELECT 3;'],
    ]);
    // Another user sees none of them.
    expect((await blueprints(stranger, 10)).totalCount).toBe(0);
  });

  it('node(id): own blueprint and version → object; another owner’s and unknown → null', async () => {
    const r = await call('POST', '/api/v1/blueprints', {
      key: owner.raw,
      body: { name: 'node', sql_content: 'SELECT 1;' },
    });
    expect(r.status).toBe(201);
    const uuid = r.body.data.uuid as string;
    const page = await blueprints(owner, 100);
    const mine = page.edges.find((e) => e.node.uuid === uuid)?.node;
    if (!mine) throw new Error('blueprint not listed');
    const versionId = mine.versions.edges[0]?.node.id as string;

    expect(await node(mine.id, owner)).toEqual({
      __typename: 'PolykomosBlueprint',
      id: mine.id,
      uuid,
      contentType: 'sql',
    });
    expect(await node(versionId, owner)).toEqual({
      __typename: 'PolykomosBlueprintVersion',
      id: versionId,
      blueprintUuid: uuid,
      version: 1,
    });
    expect(await node(mine.id, stranger)).toBeNull();
    expect(await node(versionId, stranger)).toBeNull();
    expect(await node(unknownId('PolykomosBlueprint', randomUUID()), owner)).toBeNull();
    expect(await node(unknownId('PolykomosBlueprintVersion', `${uuid}/9`), owner)).toBeNull();
    expect(await node(unknownId('PolykomosBlueprintVersion', 'garbage'), owner)).toBeNull();

    // Deleted blueprints are gone, their versions too.
    expect((await call('DELETE', `/api/v1/blueprints/${uuid}`, { key: owner.raw })).status).toBe(200);
    expect(await node(mine.id, owner)).toBeNull();
    expect(await node(versionId, owner)).toBeNull();
  });

  it('enums: semanticCheck, database types, the API key status', async () => {
    const v = await gql(t.baseUrl, PolykomosSchemaValidateBlueprintDocument, { sqlContent: 'SELECT 1;' }, owner.raw);
    expect(v.body.data?.validatePolykomosBlueprint).toEqual({
      __typename: 'MutationValidatePolykomosBlueprintSuccess',
      data: { manifest: { semanticCheck: 'passed' } },
    });
    const types = await gql(t.baseUrl, PolykomosSchemaDatabaseTypesDocument, {}, owner.raw);
    expect(types.body.data?.polykomosDatabaseTypes).toEqual({
      __typename: 'QueryPolykomosDatabaseTypesSuccess',
      data: [{ value: 'postgres' }, { value: 'mysql' }],
    });
    const me = await gql(t.baseUrl, PolykomosSchemaMeDocument, {}, owner.raw);
    expect(me.body.data?.polykomosMe).toEqual({
      __typename: 'QueryPolykomosMeSuccess',
      data: { apiKey: { status: 'active' } },
    });
  });
});

describe.skipIf(!polykomosPostgresUrl)('databases and blueprint applications (real provisioned Postgres)', () => {
  let database: { uuid: string };
  let applicationId: number;
  let blueprintUuid: string;

  beforeAll(async () => {
    const db = await call('POST', '/api/v1/databases?wait=true&timeout=60', {
      key: owner.raw,
      body: { name: `schema-${randomUUID().slice(0, 8)}` },
    });
    expect(db.status).toBe(201);
    database = db.body.data;
    const bp = await call('POST', '/api/v1/blueprints', {
      key: owner.raw,
      body: { name: 'apply', sql_content: 'CREATE TABLE t (id int);' },
    });
    expect(bp.status).toBe(201);
    blueprintUuid = bp.body.data.uuid;
    const a = await call('POST', `/api/v1/databases/${database.uuid}/blueprint_applications`, {
      key: owner.raw,
      body: { blueprint_uuid: bp.body.data.uuid, dry_run: true },
    });
    expect(a.status).toBe(200);
    applicationId = a.body.data.id;
  });

  afterAll(async () => {
    if (database) await call('DELETE', `/api/v1/databases/${database.uuid}`, { key: owner.raw });
  });

  async function databases(key: PolykomosKey) {
    const r = await gql(t.baseUrl, PolykomosSchemaDatabasesDocument, { first: 10 }, key.raw);
    const list = r.body.data?.polykomosDatabases;
    if (list?.__typename !== 'QueryPolykomosDatabasesSuccess') throw new Error(JSON.stringify(r.body));
    return list.data;
  }

  it('lists databases with totalCount and their applications as a connection with totalCount', async () => {
    const page = await databases(owner);
    expect(page.totalCount).toBe(1);
    expect(page.pageInfo.hasNextPage).toBe(false);
    const db = page.edges[0]?.node;
    expect(db).toMatchObject({ uuid: database.uuid, status: 'active', plan: 'free', dbType: 'postgres' });
    const apps = db?.blueprintApplications;
    if (apps?.__typename !== 'PolykomosDatabaseBlueprintApplicationsSuccess') throw new Error(JSON.stringify(apps));
    expect(apps.data.totalCount).toBe(1);
    expect(apps.data.edges.map((e) => [e.node.applicationId, e.node.status])).toEqual([[applicationId, 'completed']]);
    expect((await databases(stranger)).totalCount).toBe(0);
  });

  it('node(id): own database and application → object; another owner’s and unknown → null', async () => {
    const db = (await databases(owner)).edges[0]?.node;
    if (db?.blueprintApplications.__typename !== 'PolykomosDatabaseBlueprintApplicationsSuccess') {
      throw new Error('no applications');
    }
    const appId = db.blueprintApplications.data.edges[0]?.node.id as string;
    expect(await node(db.id, owner)).toEqual({
      __typename: 'PolykomosDatabase',
      id: db.id,
      uuid: database.uuid,
      status: 'active',
      plan: 'free',
      dbType: 'postgres',
    });
    expect(await node(appId, owner)).toEqual({
      __typename: 'PolykomosBlueprintApplication',
      id: appId,
      applicationId,
      applicationStatus: 'completed',
    });
    expect(await node(db.id, stranger)).toBeNull();
    expect(await node(appId, stranger)).toBeNull();
    // nodes(ids) answers in order, null where node(id) is null.
    const missing = unknownId('PolykomosDatabase', randomUUID());
    const many = async (key: PolykomosKey) => {
      const r = await gql(t.baseUrl, PolykomosSchemaNodesDocument, { ids: [db.id, missing, appId] }, key.raw);
      expect(r.body.errors).toBeUndefined();
      return r.body.data?.nodes;
    };
    expect(await many(owner)).toEqual([
      { __typename: 'PolykomosDatabase', id: db.id },
      null,
      { __typename: 'PolykomosBlueprintApplication', id: appId },
    ]);
    expect(await many(stranger)).toEqual([null, null, null]);
    expect(await node(unknownId('PolykomosDatabase', randomUUID()), owner)).toBeNull();
    expect(await node(unknownId('PolykomosBlueprintApplication', '2147483000'), owner)).toBeNull();
    expect(await node(unknownId('PolykomosBlueprintApplication', 'x1'), owner)).toBeNull();
    // Another key of the same user, without blueprints:read: the database is visible, the application null.
    const narrow = await createPolykomosKey(t, ['databases:read']);
    await setControls(t, narrow.id, { userId: `apikey:${owner.id}` });
    expect((await node(db.id, narrow))?.__typename).toBe('PolykomosDatabase');
    expect(await node(appId, narrow)).toBeNull();
  });

  it('pages applications newest first by id cursor; a bad cursor is PolykomosInvalidInputError', async () => {
    const second = await call('POST', `/api/v1/databases/${database.uuid}/blueprint_applications`, {
      key: owner.raw,
      body: { blueprint_uuid: blueprintUuid, dry_run: true },
    });
    expect(second.status).toBe(200);
    const page = async (after: string | null) => {
      const r = await gql(
        t.baseUrl,
        PolykomosSchemaApplicationsPageDocument,
        { uuid: database.uuid, after },
        owner.raw,
      );
      const db = r.body.data?.polykomosDatabase;
      if (db?.__typename !== 'QueryPolykomosDatabaseSuccess') throw new Error(JSON.stringify(r.body));
      return db.data.blueprintApplications;
    };
    const first = await page(null);
    if (first.__typename !== 'PolykomosDatabaseBlueprintApplicationsSuccess') throw new Error(JSON.stringify(first));
    expect(first.data.totalCount).toBe(2);
    expect(first.data.pageInfo.hasNextPage).toBe(true);
    expect(first.data.edges.map((e) => e.node.applicationId)).toEqual([second.body.data.id]);
    const next = await page(first.data.edges[0]?.cursor ?? null);
    if (next.__typename !== 'PolykomosDatabaseBlueprintApplicationsSuccess') throw new Error(JSON.stringify(next));
    expect(next.data.totalCount).toBe(2);
    expect(next.data.pageInfo.hasNextPage).toBe(false);
    expect(next.data.edges.map((e) => e.node.applicationId)).toEqual([applicationId]);
    expect(await page('nope')).toEqual({ __typename: 'PolykomosInvalidInputError', code: 'INVALID_PARAMETER' });
  });
});
