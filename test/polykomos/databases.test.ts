import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, type TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import {
  allScopes,
  createPolykomosKey,
  type PolykomosKey,
  polykomosClient,
  polykomosMysqlUrl,
  polykomosPostgresUrl,
  remoteExists,
  selectOne,
  startPolykomosApp,
} from '../kit/polykomos.ts';

let t: TestApp;
let contract: ContractExpectations;
let call: ReturnType<typeof polykomosClient>;
let key: PolykomosKey;
const created: string[] = [];

beforeAll(async () => {
  t = await startPolykomosApp();
  contract = await contractValidator('polykomos');
  call = polykomosClient(t, contract);
  key = await createPolykomosKey(t);
});

afterAll(async () => {
  // Whatever a failed test left behind is dropped on the engine servers too.
  for (const uuid of created)
    await call('DELETE', `/api/v1/databases/${uuid}`, { key: key.raw }).catch(() => undefined);
  await t?.close();
});

const name = () => `db-${randomUUID().slice(0, 8)}`;

async function create(body: Record<string, unknown>, query = '?wait=true&timeout=60') {
  const r = await call('POST', `/api/v1/databases${query}`, { key: key.raw, body });
  if (r.body?.data?.uuid) created.push(r.body.data.uuid);
  return r;
}

describe.skipIf(!polykomosPostgresUrl)('postgres databases (real server)', () => {
  it('creates with wait=true: 201, active, credentials that connect; least privilege; delete drops it', async () => {
    const r = await create({ name: name(), connection_hard_limit: 5 });
    expect(r.status).toBe(201);
    expect(r.headers.get('x-request-id')).toBe(r.body.request_id);
    const db = r.body.data;
    expect(db).toMatchObject({ object: 'database', status: 'active', db_type: 'postgres', plan: 'free' });
    expect(db.db_password).toEqual(expect.any(String));
    expect(db.connection_string).toBe(`postgresql://${db.db_username}:***@${db.host}:${db.port}/${db.db_name}`);
    expect(db.quotas).toEqual({ storage_hard_limit_gb: null, connection_hard_limit: 5, warning_threshold_pct: null });
    expect(await selectOne(db)).toBe(1);

    // Least privilege: a plain login that owns only its database, which PUBLIC may not connect to.
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: polykomosPostgresUrl });
    await admin.connect();
    try {
      const role = await admin.query(
        'SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolconnlimit FROM pg_roles WHERE rolname = $1',
        [db.db_username],
      );
      expect(role.rows[0]).toEqual({
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolconnlimit: 5,
      });
      const acl = await admin.query(
        "SELECT pg_get_userbyid(datdba) AS owner, has_database_privilege('public', oid, 'CONNECT') AS public_connect FROM pg_database WHERE datname = $1",
        [db.db_name],
      );
      expect(acl.rows[0]).toEqual({ owner: db.db_username, public_connect: false });
    } finally {
      await admin.end();
    }

    const got = await call('GET', `/api/v1/databases/${db.uuid}`, { key: key.raw });
    expect(got.status).toBe(200);
    expect(got.body.data.db_password).toBe(db.db_password);

    const del = await call('DELETE', `/api/v1/databases/${db.uuid}`, { key: key.raw });
    expect(del.status).toBe(200);
    expect(del.body.data).toEqual({
      object: 'database',
      uuid: db.uuid,
      deleted: true,
      cancelled_provision_jobs: 0,
      destroy_scheduled_at: null,
      has_remote_resources: false,
    });
    expect(await remoteExists('postgres', db.db_name, db.db_username)).toBe(false);
    expect((await call('GET', `/api/v1/databases/${db.uuid}`, { key: key.raw })).status).toBe(404);
    expect((await call('DELETE', `/api/v1/databases/${db.uuid}`, { key: key.raw })).status).toBe(404);
  });

  it('without wait answers 202 provisioning with a poll_url, then becomes active', async () => {
    const r = await create({ name: name() }, '');
    expect(r.status).toBe(202);
    expect(r.body.data.status).toBe('provisioning');
    expect(r.body.provisioning).toEqual({
      completed: false,
      waited_seconds: 0,
      poll_url: `/polykomos/api/v1/databases/${r.body.data.uuid}`,
    });
    // The poll_url answers on the host the request went to, as given (resolved against the request URL).
    const poll = new URL(r.body.provisioning.poll_url, `${t.baseUrl}/polykomos/api/v1/databases`);
    expect(poll.origin).toBe(new URL(t.baseUrl).origin);
    let status = 'provisioning';
    for (let i = 0; i < 100 && status === 'provisioning'; i++) {
      await new Promise((res) => setTimeout(res, 100));
      const res = await fetch(poll, { headers: { authorization: `Bearer ${key.raw}` } });
      expect(res.status).toBe(200);
      const body = await res.json();
      contract.expectValidResponse('GET', `/api/v1/databases/${r.body.data.uuid}`, 200, body);
      expect(body.data.uuid).toBe(r.body.data.uuid);
      status = body.data.status;
    }
    expect(status).toBe('active');
    expect((await call('DELETE', `/api/v1/databases/${r.body.data.uuid}`, { key: key.raw })).status).toBe(200);
  });

  it('lists newest first with starting_after pages; update renames; quotas patch partially', async () => {
    const a = (await create({ name: name() })).body.data;
    const b = (await create({ name: name() })).body.data;
    const page1 = await call('GET', '/api/v1/databases?limit=1', { key: key.raw });
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((d: { uuid: string }) => d.uuid)).toEqual([b.uuid]);
    expect(page1.body.has_more).toBe(true);
    expect(page1.body.data[0].db_password).toBeNull();
    const page2 = await call('GET', `/api/v1/databases?limit=1&starting_after=${b.uuid}`, { key: key.raw });
    expect(page2.body.data.map((d: { uuid: string }) => d.uuid)).toEqual([a.uuid]);
    const bad = await call('GET', `/api/v1/databases?starting_after=${randomUUID()}`, { key: key.raw });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_parameter');

    const renamed = await call('PATCH', `/api/v1/databases/${a.uuid}`, { key: key.raw, body: { name: `${a.name}-x` } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data.name).toBe(`${a.name}-x`);
    expect(renamed.body.data.db_name).toBe(a.db_name);
    const noop = await call('PATCH', `/api/v1/databases/${a.uuid}`, { key: key.raw, body: {} });
    expect(noop.status).toBe(200);
    const taken = await call('PATCH', `/api/v1/databases/${a.uuid}`, { key: key.raw, body: { name: b.name } });
    expect(taken.status).toBe(422);
    expect(taken.body.error.code).toBe('name_taken');

    const q1 = await call('PATCH', `/api/v1/databases/${a.uuid}/quotas`, {
      key: key.raw,
      body: { connection_hard_limit: 3, warning_threshold_pct: 80 },
    });
    expect(q1.status).toBe(200);
    expect(q1.body.data.quotas).toEqual({
      storage_hard_limit_gb: null,
      connection_hard_limit: 3,
      warning_threshold_pct: 80,
    });
    const q2 = await call('PATCH', `/api/v1/databases/${a.uuid}/quotas`, {
      key: key.raw,
      body: { connection_hard_limit: null },
    });
    expect(q2.body.data.quotas).toEqual({
      storage_hard_limit_gb: null,
      connection_hard_limit: null,
      warning_threshold_pct: 80,
    });
    const q3 = await call('PATCH', `/api/v1/databases/${a.uuid}/quotas`, {
      key: key.raw,
      body: { warning_threshold_pct: 101 },
    });
    expect(q3.status).toBe(400);

    // The connection limit is applied on the server.
    await call('PATCH', `/api/v1/databases/${a.uuid}/quotas`, { key: key.raw, body: { connection_hard_limit: 7 } });
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: polykomosPostgresUrl });
    await admin.connect();
    const limit = await admin.query('SELECT rolconnlimit FROM pg_roles WHERE rolname = $1', [a.db_username]);
    await admin.end();
    expect(limit.rows[0].rolconnlimit).toBe(7);

    for (const d of [a, b])
      expect((await call('DELETE', `/api/v1/databases/${d.uuid}`, { key: key.raw })).status).toBe(200);
  });

  it('a retried POST with the same Idempotency-Key replays the response and provisions once', async () => {
    const idem = randomUUID();
    const body = { name: name() };
    const first = await call('POST', '/api/v1/databases?wait=true', { key: key.raw, body, idempotencyKey: idem });
    created.push(first.body.data.uuid);
    expect(first.status).toBe(201);
    const again = await call('POST', '/api/v1/databases?wait=true', { key: key.raw, body, idempotencyKey: idem });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('x-request-id')).toBe(first.body.request_id);
    const list = await call('GET', '/api/v1/databases?limit=100', { key: key.raw });
    expect(list.body.data.filter((d: { name: string }) => d.name === body.name)).toHaveLength(1);

    const other = await call('POST', '/api/v1/databases', {
      key: key.raw,
      body: { name: name() },
      idempotencyKey: idem,
    });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    expect((await call('DELETE', `/api/v1/databases/${first.body.data.uuid}`, { key: key.raw })).status).toBe(200);
  });

  it('simultaneous retries with one Idempotency-Key provision exactly one database', async () => {
    const idem = randomUUID();
    const body = { name: name() };
    const results = await Promise.all(
      [0, 1, 2].map(() => call('POST', '/api/v1/databases?wait=true', { key: key.raw, body, idempotencyKey: idem })),
    );
    for (const r of results) if (r.body?.data?.uuid) created.push(r.body.data.uuid);
    const winners = results.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
    expect(winners).toHaveLength(1);
    for (const r of results) {
      if (r === winners[0]) continue;
      // Either still running (409) or already recorded (the same 201, replayed).
      if (r.status === 409) expect(r.body.error.code).toBe('idempotency_request_in_progress');
      else expect(r.body).toEqual(winners[0]?.body);
    }
    const list = await call('GET', '/api/v1/databases?limit=100', { key: key.raw });
    const mine = list.body.data.filter((d: { name: string }) => d.name === body.name);
    expect(mine).toHaveLength(1);
    expect((await call('DELETE', `/api/v1/databases/${mine[0].uuid}`, { key: key.raw })).status).toBe(200);
  });

  it('deleting a database still provisioning cancels it and leaves nothing on the server', async () => {
    const r = await create({ name: name() }, '');
    expect(r.status).toBe(202);
    const db = r.body.data;
    const del = await call('DELETE', `/api/v1/databases/${db.uuid}`, { key: key.raw });
    expect(del.status).toBe(200);
    // The run may have finished just before the delete (then nothing was cancelled); either way it is dropped.
    expect([0, 1]).toContain(del.body.data.cancelled_provision_jobs);
    let exists = true;
    for (let i = 0; i < 100 && exists; i++) {
      await new Promise((res) => setTimeout(res, 100));
      exists = await remoteExists('postgres', db.db_name, db.db_username);
    }
    expect(exists).toBe(false);
    expect((await call('GET', `/api/v1/databases/${db.uuid}`, { key: key.raw })).status).toBe(404);
  });

  it('one user never sees another user’s databases', async () => {
    const mine = (await create({ name: name() })).body.data;
    const stranger = await createPolykomosKey(t);
    const list = await call('GET', '/api/v1/databases', { key: stranger.raw });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([]);
    for (const [method, path, body] of [
      ['GET', `/api/v1/databases/${mine.uuid}`, undefined],
      ['PATCH', `/api/v1/databases/${mine.uuid}`, { name: 'stolen' }],
      ['PATCH', `/api/v1/databases/${mine.uuid}/quotas`, { connection_hard_limit: 1 }],
      ['DELETE', `/api/v1/databases/${mine.uuid}`, undefined],
    ] as const) {
      const r = await call(method, path, { key: stranger.raw, body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    expect(await selectOne((await call('GET', `/api/v1/databases/${mine.uuid}`, { key: key.raw })).body.data)).toBe(1);
    expect((await call('DELETE', `/api/v1/databases/${mine.uuid}`, { key: key.raw })).status).toBe(200);
  });
});

describe.skipIf(!polykomosMysqlUrl)('mysql databases (real MariaDB/MySQL server)', () => {
  it('provisions a MySQL database whose credentials connect; delete drops database and user', async () => {
    const r = await create({ name: name(), db_type: 'mysql', connection_hard_limit: 4 });
    expect(r.status).toBe(201);
    const db = r.body.data;
    expect(db).toMatchObject({ db_type: 'mysql', status: 'active' });
    expect(db.connection_string.startsWith(`mysql://${db.db_username}:***@`)).toBe(true);
    expect(await selectOne(db)).toBe(1);
    const q = await call('PATCH', `/api/v1/databases/${db.uuid}/quotas`, {
      key: key.raw,
      body: { connection_hard_limit: 6 },
    });
    expect(q.status).toBe(200);
    const admin = await mysql.createConnection({ uri: polykomosMysqlUrl });
    try {
      const [rows] = await admin.query('SELECT max_user_connections AS n FROM mysql.user WHERE user = ?', [
        db.db_username,
      ]);
      expect(Number((rows as { n: number }[])[0]?.n)).toBe(6);
      // The user sees its own database only.
      const user = await mysql.createConnection({
        host: db.host,
        port: db.port,
        user: db.db_username,
        password: db.db_password,
      });
      const [schemas] = await user.query('SHOW DATABASES');
      await user.end();
      const names = (schemas as { Database: string }[]).map((s) => s.Database);
      expect(names).toContain(db.db_name);
      expect(names.filter((n) => n !== 'information_schema' && n !== db.db_name)).toEqual([]);
    } finally {
      await admin.end();
    }
    expect((await call('DELETE', `/api/v1/databases/${db.uuid}`, { key: key.raw })).status).toBe(200);
    expect(await remoteExists('mysql', db.db_name, db.db_username)).toBe(false);
  });
});

describe('input and availability', () => {
  it('refuses bad input with ApiError 400/422, never 500', async () => {
    const cases: [Record<string, unknown> | undefined, number, string][] = [
      [{}, 400, 'missing_required_field'],
      [{ name: 'Upper' }, 400, 'invalid_parameter'],
      [{ name: 'a'.repeat(64) }, 400, 'invalid_parameter'],
      [{ name: 'ok', plan: 'huge' }, 400, 'invalid_parameter'],
      [{ name: 'ok', db_type: 'oracle' }, 422, 'unsupported_db_type'],
      [{ name: 'ok', region: 'mars-1' }, 422, 'region_unavailable'],
      [{ name: 'ok', connection_hard_limit: 0 }, 422, 'invalid_parameter'],
      [{ name: 'ok', connection_hard_limit: 2 ** 40 }, 422, 'invalid_parameter'],
      [{ name: 'ok', team_id: 7 }, 403, 'forbidden'],
      // A blueprint on create needs blueprints:read too (this key has only the databases scopes).
      [{ name: 'ok', blueprint_uuid: randomUUID() }, 403, 'insufficient_scope'],
    ];
    for (const [body, status, code] of cases) {
      const r = await call('POST', '/api/v1/databases', { key: key.raw, body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.error.code, JSON.stringify(body)).toBe(code);
      expect(r.body.request_id).toBe(r.headers.get('x-request-id'));
    }
    const reader = await createPolykomosKey(t, [...allScopes, 'blueprints:read', 'blueprints:write']);
    const unknownBlueprint = await call('POST', '/api/v1/databases', {
      key: reader.raw,
      body: { name: 'ok', blueprint_uuid: randomUUID() },
    });
    expect([unknownBlueprint.status, unknownBlueprint.body.error.code]).toEqual([422, 'blueprint_not_found']);
    const created = await call('POST', '/api/v1/blueprints', {
      key: reader.raw,
      body: { name: 'on create', sql_content: 'CREATE TABLE t (id int)' },
    });
    expect(created.status).toBe(201);
    const known = await call('POST', '/api/v1/databases', {
      key: reader.raw,
      body: { name: 'ok', blueprint_uuid: created.body.data.uuid },
    });
    expect([known.status, known.body.error.code]).toEqual([422, 'blueprint_on_create_unsupported']);
    expect(await t.app.services.prisma.polykomosDatabase.count({ where: { name: 'ok' } })).toBe(0);
    const badTimeout = await call('POST', '/api/v1/databases?wait=true&timeout=121', {
      key: key.raw,
      body: { name: 'ok' },
    });
    expect(badTimeout.status).toBe(400);
    const noIdem = await call('POST', '/api/v1/databases', {
      key: key.raw,
      body: { name: 'ok' },
      idempotencyKey: null,
    });
    expect(noIdem.status).toBe(400);
    expect(noIdem.body.error.code).toBe('missing_idempotency_key');
    const badIdem = await call('POST', '/api/v1/databases', {
      key: key.raw,
      body: { name: 'ok' },
      idempotencyKey: 'nope',
    });
    expect(badIdem.status).toBe(400);
    const badUuid = await call('GET', '/api/v1/databases/not-a-uuid', { key: key.raw });
    expect(badUuid.status).toBe(400);
    const missing = await call('GET', `/api/v1/databases/${randomUUID()}`, { key: key.raw });
    expect(missing.status).toBe(404);
    const badLimit = await call('GET', '/api/v1/databases?limit=0', { key: key.raw });
    expect(badLimit.status).toBe(400);
  });

  it('database_types lists configured engines as available', async () => {
    const r = await call('GET', '/api/v1/database_types', { key: key.raw });
    expect(r.status).toBe(200);
    const pgType = r.body.data.find((d: { value: string }) => d.value === 'postgres');
    expect(pgType).toMatchObject({
      is_available: Boolean(polykomosPostgresUrl),
      is_provisionable: Boolean(polykomosPostgresUrl),
    });
    expect(pgType.regions).toEqual([
      { code: 'local-1', label: 'local-1', is_available: Boolean(polykomosPostgresUrl) },
    ]);
  });

  it('an engine server that refuses connections: 422 provisioning_failed, the database ends deleted', async () => {
    const broken = await startPolykomosApp({
      ATRIUM_POLYKOMOS_POSTGRES_URL: 'postgresql://postgres:secret-admin-pw@127.0.0.1:1/postgres',
    });
    try {
      const c = polykomosClient(broken, contract);
      const k = await createPolykomosKey(broken);
      const r = await c('POST', '/api/v1/databases?wait=true&timeout=30', { key: k.raw, body: { name: 'x' } });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('provisioning_failed');
      expect(JSON.stringify(r.body)).not.toContain('secret-admin-pw');
      expect((await c('GET', '/api/v1/databases', { key: k.raw })).body.data).toEqual([]);
      const row = await broken.app.services.prisma.polykomosDatabase.findFirstOrThrow({ where: { name: 'x' } });
      expect(row.status).toBe('deleted');
      expect(row.provisionError).not.toContain('secret-admin-pw');
    } finally {
      await broken.close();
    }
  });

  it('without an engine server, create answers 422 unsupported_db_type and nothing is recorded', async () => {
    const bare = await startPolykomosApp({ ATRIUM_POLYKOMOS_POSTGRES_URL: '', ATRIUM_POLYKOMOS_MYSQL_URL: '' });
    try {
      const c = polykomosClient(bare, contract);
      const k = await createPolykomosKey(bare);
      const types = await c('GET', '/api/v1/database_types', { key: k.raw });
      expect(types.body.data.every((d: { is_available: boolean }) => !d.is_available)).toBe(true);
      for (const db_type of ['postgres', 'mysql']) {
        const r = await c('POST', '/api/v1/databases', { key: k.raw, body: { name: 'x', db_type } });
        expect(r.status).toBe(422);
        expect(r.body.error.code).toBe('unsupported_db_type');
      }
      expect((await c('GET', '/api/v1/databases', { key: k.raw })).body.data).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe.skipIf(!polykomosPostgresUrl)('GraphQL', () => {
  it('mirrors the REST operations with the same scopes', async () => {
    // Its own key: key controls apply to GraphQL too, and the file's shared key may have spent its 60 requests per
    // minute (the Polykomos default) on the REST tests above.
    const key = await createPolykomosKey(t);
    const created = await gql(
      t.baseUrl,
      `mutation($i: CreatePolykomosDatabaseInput!) { createPolykomosDatabase(input: $i, wait: true, timeout: 60) {
        __typename ... on MutationCreatePolykomosDatabaseSuccess { data { completed database { id uuid status dbPassword } } }
        ... on Error { code } } }`,
      { i: { name: name() } },
      key.raw,
    );
    const payload = created.body.data?.createPolykomosDatabase?.data;
    expect(payload?.completed).toBe(true);
    const uuid = payload.database.uuid as string;
    const node = await gql(
      t.baseUrl,
      `query($id: ID!) { node(id: $id) { ... on PolykomosDatabase { uuid } } }`,
      { id: payload.database.id },
      key.raw,
    );
    expect(node.body.data?.node?.uuid).toBe(uuid);
    const list = await gql(
      t.baseUrl,
      `{ polykomosDatabases(first: 10) { ... on QueryPolykomosDatabasesSuccess { data { edges { cursor node { uuid } } } } } }`,
      {},
      key.raw,
    );
    expect(list.body.data?.polykomosDatabases.data.edges.map((e: { cursor: string }) => e.cursor)).toContain(uuid);

    const renamed = await gql(
      t.baseUrl,
      `mutation($u: String!, $n: String) { updatePolykomosDatabase(uuid: $u, name: $n) {
        ... on MutationUpdatePolykomosDatabaseSuccess { data { name } } } }`,
      { u: uuid, n: 'gql-renamed' },
      key.raw,
    );
    expect(renamed.body.data?.updatePolykomosDatabase?.data?.name).toBe('gql-renamed');
    const quotas = await gql(
      t.baseUrl,
      `mutation($u: String!) { updatePolykomosDatabaseQuotas(uuid: $u, input: {storageHardLimitGb: 1.5}) {
        ... on MutationUpdatePolykomosDatabaseQuotasSuccess { data { quotas { storageHardLimitGb connectionHardLimit } } } } }`,
      { u: uuid },
      key.raw,
    );
    expect(quotas.body.data?.updatePolykomosDatabaseQuotas?.data?.quotas).toEqual({
      storageHardLimitGb: 1.5,
      connectionHardLimit: null,
    });
    const me = await gql(
      t.baseUrl,
      '{ polykomosMe { ... on QueryPolykomosMeSuccess { data { apiKey { permissions } } } } }',
      {},
      key.raw,
    );
    expect(me.body.data?.polykomosMe?.data?.apiKey?.permissions).toEqual(['databases:read', 'databases:write']);
    const stranger = await createPolykomosKey(t);
    const hidden = await gql(
      t.baseUrl,
      `query($id: ID!) { node(id: $id) { id } }`,
      { id: payload.database.id },
      stranger.raw,
    );
    expect(hidden.body.data?.node).toBeNull();

    const reader = await createPolykomosKey(t, ['databases:read']);
    const refused = await gql(
      t.baseUrl,
      `mutation($u: String!) { deletePolykomosDatabase(uuid: $u) { __typename ... on Error { code } } }`,
      { u: uuid },
      reader.raw,
    );
    expect(refused.body.data?.deletePolykomosDatabase).toEqual({
      __typename: 'PolykomosForbiddenError',
      code: 'INSUFFICIENT_SCOPE',
    });
    const deleted = await gql(
      t.baseUrl,
      `mutation($u: String!) { deletePolykomosDatabase(uuid: $u) { __typename ... on MutationDeletePolykomosDatabaseSuccess { data { deleted } } } }`,
      { u: uuid },
      key.raw,
    );
    expect(deleted.body.data?.deletePolykomosDatabase?.data?.deleted, JSON.stringify(deleted.body)).toBe(true);
  });
});
