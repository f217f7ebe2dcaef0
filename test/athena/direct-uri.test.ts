import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAdminUrl, testDb } from '../kit/app.ts';
import { type AthenaTestApp, athenaRest, startAthenaApp } from '../kit/athena.ts';
import { reachable } from '../kit/reachable.ts';

/*
 * Direct URI headers (`x-pg-uri` > `x-athena-jdbc-url` > `x-jdbc-url`) against a real PostgreSQL database: a login
 * of its own (user and password), 127.0.0.1 allowlisted; the URI's credentials authorize the request.
 */

const available = await reachable(postgresAdminUrl);
const role = `atrium_direct_${randomBytes(4).toString('hex')}`;
const password = 'direct-pw';

let t: AthenaTestApp;
let database: { url: string; drop(): Promise<void> } | undefined;
let uri: string;
let dbName: string;

beforeAll(async () => {
  if (!available) return;
  database = await createTestDatabase();
  dbName = new URL(database.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
  await admin.query(`
    CREATE TABLE gadgets (id int PRIMARY KEY, label text NOT NULL);
    INSERT INTO gadgets VALUES (1, 'lever'), (2, 'pulley');
    GRANT SELECT, INSERT, UPDATE, DELETE ON gadgets TO "${role}";
  `);
  await admin.end();
  uri = `postgres://${role}:${password}@127.0.0.1:5432/${dbName}`;
  t = await startAthenaApp({ ATRIUM_ATHENA_DIRECT_URI_HOSTS: '127.0.0.1', ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true' });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await database?.drop();
  if (available) {
    const admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS "${role}"`);
    await admin.end();
  }
});

const direct = (headers: Record<string, string>) => ({ key: null, client: null, headers });

describe.skipIf(!available)('direct URIs (x-pg-uri and the JDBC forms)', () => {
  it('runs fetch, insert, update, delete and query on the URI’s database with no API key', async () => {
    const fetched = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-pg-uri': uri }),
      body: { table_name: 'gadgets', columns: ['id', 'label'], sort_by: { field: 'id', direction: 'asc' } },
    });
    expect(fetched.status).toBe(200);
    expect(fetched.body.data).toEqual([
      { id: 1, label: 'lever' },
      { id: 2, label: 'pulley' },
    ]);
    const inserted = await athenaRest(t, 'PUT', '/gateway/insert', {
      ...direct({ 'x-pg-uri': uri, 'x-company-id': 'c', 'x-organization-id': 'o' }),
      body: { table_name: 'gadgets', insert_body: { id: 3, label: 'wedge' } },
    });
    expect(inserted.status).toBe(200);
    expect(inserted.body.data.row).toEqual({ id: 3, label: 'wedge' });
    const updated = await athenaRest(t, 'POST', '/gateway/update', {
      ...direct({ 'x-pg-uri': uri }),
      body: {
        table_name: 'gadgets',
        update_body: { label: 'screw' },
        conditions: [{ eq_column: 'id', eq_value: '3' }],
      },
    });
    expect(updated.body.data.affected_rows).toBe(1);
    const queried = await athenaRest(t, 'POST', '/gateway/query', {
      ...direct({ 'x-pg-uri': uri }),
      body: { query: 'SELECT label FROM gadgets WHERE id = 3' },
    });
    expect(queried.body.data.rows).toEqual([{ label: 'screw' }]);
    const deleted = await athenaRest(t, 'DELETE', '/gateway/delete', {
      ...direct({ 'x-pg-uri': uri }),
      body: { table_name: 'gadgets', resource_id: '3' },
    });
    expect(deleted.status).toBe(200);
    // The login's own privileges still apply: it may not create tables in a schema it does not own.
    const ddl = await athenaRest(t, 'POST', '/query/sql', {
      ...direct({ 'x-pg-uri': uri }),
      body: { driver: 'postgresql', db_name: dbName, query: 'CREATE TABLE public.owned_by_direct (id int)' },
    });
    expect([400, 403]).toContain(ddl.status);
    expect(ddl.body.code).toBe('42501');
  });

  it('takes the JDBC headers, in precedence order, and ignores X-Athena-Client for routing', async () => {
    const jdbc = `jdbc:postgresql://127.0.0.1:5432/${dbName}?user=${role}&password=${password}`;
    const viaJdbc = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-athena-jdbc-url': jdbc }),
      body: { table_name: 'gadgets', columns: ['id'] },
    });
    expect(viaJdbc.status).toBe(200);
    const viaLegacy = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-jdbc-url': jdbc }),
      body: { table_name: 'gadgets', columns: ['id'] },
    });
    expect(viaLegacy.status).toBe(200);
    // x-pg-uri wins over a broken JDBC header; a client header (even an unknown one) does not route.
    const precedence = await athenaRest(t, 'POST', '/gateway/fetch', {
      key: null,
      client: 'no_such_client',
      headers: { 'x-pg-uri': uri, 'x-jdbc-url': 'jdbc:postgresql://10.0.0.1/x?user=a&password=b' },
      body: { table_name: 'gadgets', columns: ['id'] },
    });
    expect(precedence.status).toBe(200);
    expect(precedence.body.data.length).toBeGreaterThanOrEqual(2);
  });

  it('never defers a direct-URI request: it runs inline', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-pg-uri': uri, 'x-athena-defer': 'true' }),
      body: { table_name: 'gadgets', columns: ['id'] },
    });
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body.data)).toBe(true);
  });

  it('refuses a URI without a password, a host not listed, an unreachable server or unknown login', async () => {
    const noPassword = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-pg-uri': `postgres://${role}@127.0.0.1:5432/${dbName}` }),
      body: { table_name: 'gadgets' },
    });
    expect(noPassword.status).toBe(401);
    expect(noPassword.body.code).toBe('direct_uri_credentials_required');
    const notListed = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-pg-uri': `postgres://${role}:${password}@localhost:5432/${dbName}` }),
      body: { table_name: 'gadgets' },
    });
    expect(notListed.status).toBe(403);
    expect(notListed.body.code).toBe('direct_uri_host_not_allowed');
    const closedPort = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-pg-uri': `postgres://${role}:${password}@127.0.0.1:1/${dbName}` }),
      body: { table_name: 'gadgets' },
    });
    // 127.0.0.1:1 is allowlisted by host; nothing listens there.
    expect(closedPort.status).toBe(503);
    expect(closedPort.body.code).toBe('direct_uri_unreachable');
    const unknownLogin = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-pg-uri': `postgres://nobody_${role}:x@127.0.0.1:5432/${dbName}` }),
      body: { table_name: 'gadgets' },
    });
    expect(unknownLogin.status).toBe(503);
    expect(unknownLogin.body.message).not.toMatch(/password|role/i);
    const options = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-pg-uri': `${uri}?host=/var/run/postgresql` }),
      body: { table_name: 'gadgets' },
    });
    expect(options.status).toBe(400);
    expect(options.body.code).toBe('invalid_direct_uri');
    // GET /data takes no URI headers.
    const data = await athenaRest(t, 'GET', '/data?view=gadgets&eq_column=id&eq_value=1', {
      headers: { 'x-pg-uri': uri },
    });
    expect(data.status).toBe(403);
  });

  it.skipIf(testDb !== 'postgres')('refuses the server’s own login (the platform database’s user)', async () => {
    const own = new URL(t.databaseUrl as string);
    const res = await athenaRest(t, 'POST', '/gateway/fetch', {
      ...direct({ 'x-pg-uri': `postgres://${own.username}:anything@127.0.0.1:5432/${dbName}` }),
      body: { table_name: 'gadgets' },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('direct_uri_server_credentials');
  });

  it('keeps a bounded LRU of pools keyed by the normalised URI', async () => {
    const { clients } = t.app.services.athena;
    const a = await clients.direct(uri);
    const again = await clients.direct(`jdbc:postgresql://127.0.0.1:5432/${dbName}?user=${role}&password=${password}`);
    expect(again.db).toBe(a.db);
    // Trust authentication accepts any password, so distinct passwords make distinct pools of one login.
    for (let i = 0; i < 20; i++) await clients.direct(`postgres://${role}:pw${i}@127.0.0.1:5432/${dbName}`);
    expect(clients.directPools.size()).toBe(16);
    // The first pool was the least recently used: it was closed and is rebuilt on demand.
    const rebuilt = await clients.direct(uri);
    expect(rebuilt.db).not.toBe(a.db);
    expect((await rebuilt.db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('GraphQL takes the URI as the directUri argument', async () => {
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify({
        query: `query($u: String) { athenaRows(client: "", table: "gadgets", directUri: $u, first: 1, orderBy: [{ column: "id" }]) {
          __typename ... on QueryAthenaRowsSuccess { data { rows } } ... on AthenaError { code } } }`,
        variables: { u: uri },
      }),
    });
    const body = (await res.json()) as { data: { athenaRows: { __typename: string; data?: { rows: unknown[] } } } };
    expect(body.data.athenaRows.__typename).toBe('QueryAthenaRowsSuccess');
    expect(body.data.athenaRows.data?.rows).toEqual([{ id: 1, label: 'lever' }]);
  });
});
