import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AthenaTestApp, athenaKey, athenaRest, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';

let t: AthenaTestApp;
let contract: ContractExpectations;

beforeAll(async () => {
  t = await startAthenaApp();
  contract = await contractValidator('athena');
  await t.sql(`
    CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL UNIQUE, image text);
    CREATE TABLE app_events (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id int REFERENCES users(id),
      event_type text NOT NULL,
      amount numeric,
      created_at timestamptz NOT NULL DEFAULT now(),
      source text
    );
    INSERT INTO users (username, image) VALUES ('ada', 'a.png'), ('bob', NULL), ('cy', 'c.png');
    INSERT INTO app_events (user_id, event_type, amount, created_at, source) VALUES
      (1, 'login', 1, '2026-01-01T10:00:00Z', 'web'),
      (1, 'purchase', 20, '2026-01-01T11:00:00Z', 'web'),
      (2, 'login', 1, '2026-01-02T10:00:00Z', 'app'),
      (3, 'purchase', 5.5, '2026-01-03T09:30:00Z', NULL);
    CREATE FUNCTION recent_events(p_limit int) RETURNS SETOF app_events LANGUAGE sql STABLE
      AS $$ SELECT * FROM app_events ORDER BY created_at DESC LIMIT p_limit $$;
    CREATE FUNCTION add_numbers(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT a + b $$;
  `);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('POST /gateway/fetch', () => {
  it('reads with conditions, columns, ordering and pagination', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/fetch', {
      body: {
        table_name: 'app_events',
        columns: ['event_type', 'amount'],
        conditions: [{ eq_column: 'event_type', eq_value: 'login' }],
        sort_by: { field: 'created_at', direction: 'desc' },
        limit: 10,
      },
    });
    expect(res.status).toBe(200);
    contract.expectValidResponse('POST', '/gateway/fetch', 200, res.body);
    expect(res.body.data).toEqual([
      { event_type: 'login', amount: 1 },
      { event_type: 'login', amount: 1 },
    ]);
    expect(res.body.message).toBe('Fetched 2 rows');
    expect(typeof res.body.cache_key).toBe('string');
  });

  it('embeds a to-one relation from the select string and filters with where_filters', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/fetch', {
      body: {
        table_name: 'app_events',
        select: 'event_type,user:users(username)',
        where_filters: [{ column: 'amount', operator: 'gt', value: 2 }],
        orderBy: [{ column: 'amount', direction: 'asc' }],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      { event_type: 'purchase', user: { username: 'cy' } },
      { event_type: 'purchase', user: { username: 'ada' } },
    ]);
  });

  it('post-processes: day buckets with a cumulative sum', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/fetch', {
      body: {
        table_name: 'app_events',
        group_by: 'created_at',
        time_granularity: 'day',
        aggregation_column: 'amount',
        aggregation_strategy: 'cumulative_sum',
      },
    });
    expect(res.status).toBe(200);
    const buckets = res.body.post_processing.buckets;
    expect(buckets.map((b: { count: number }) => b.count)).toEqual([2, 1, 1]);
    expect(buckets.map((b: { cumulative_sum: number }) => b.cumulative_sum)).toEqual([21, 22, 27.5]);
  });

  it('answers an unknown table and column with 400 in the envelope', async () => {
    const table = await athenaRest(t, 'POST', '/gateway/fetch', { body: { table_name: 'nope' } });
    expect(table.status).toBe(400);
    contract.expectValidResponse('POST', '/gateway/fetch', 400, table.body);
    expect(table.body).toMatchObject({ status: 'error', data: { operation: 'fetch' } });
    const column = await athenaRest(t, 'POST', '/gateway/fetch', {
      body: { table_name: 'users', conditions: [{ eq_column: 'nope"; DROP TABLE users; --', eq_value: 'x' }] },
    });
    expect(column.status).toBe(400);
    const still = await athenaRest(t, 'POST', '/gateway/fetch', { body: { table_name: 'users' } });
    expect(still.body.data).toHaveLength(3);
  });

  it('refuses direct connection headers unless configured', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/fetch', {
      body: { table_name: 'users' },
      headers: { 'x-pg-uri': 'postgres://u:p@127.0.0.1:5432/x' },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('direct_uri_disabled');
  });
});

describe('writes', () => {
  it('inserts (409 on a duplicate), updates and deletes', async () => {
    const headers = { 'x-company-id': 'c1', 'x-organization-id': 'o1' };
    const ins = await athenaRest(t, 'PUT', '/gateway/insert', {
      headers,
      body: { table_name: 'users', insert_body: { username: 'dee' } },
    });
    expect(ins.status).toBe(200);
    contract.expectValidResponse('PUT', '/gateway/insert', 200, ins.body);
    expect(ins.body.data).toMatchObject({ table_name: 'users', row: { username: 'dee', image: null } });
    const id = ins.body.data.row.id;

    const dup = await athenaRest(t, 'PUT', '/gateway/insert', {
      headers,
      body: { table_name: 'users', insert_body: { username: 'dee' } },
    });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ status: 'error', code: '23505' });

    const upd = await athenaRest(t, 'POST', '/gateway/update', {
      body: {
        table_name: 'users',
        conditions: [{ eq_column: 'id', eq_value: String(id) }],
        update_body: { image: 'd.png' },
      },
    });
    expect(upd.status).toBe(200);
    expect(upd.body.data.affected_rows).toBe(1);

    const del = await athenaRest(t, 'DELETE', '/gateway/delete', {
      body: { table_name: 'users', resource_id: String(id) },
    });
    expect(del.status).toBe(200);
    expect(del.body.data).toEqual({ table_name: 'users', resource_id: String(id) });
    const again = await athenaRest(t, 'DELETE', '/gateway/delete', {
      body: { table_name: 'users', resource_id: String(id) },
    });
    expect(again.status).toBe(404);
  });

  it('refuses an update without conditions', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/update', {
      body: { table_name: 'users', update_body: { image: 'x' } },
    });
    expect(res.status).toBe(400);
  });
});

describe('PUT /gateway/insert with update_body (upsert on the primary key)', () => {
  it('inserts a new row as given, and on a conflict sets the update_body values on the existing row', async () => {
    await t.sql('CREATE TABLE upserts (id int PRIMARY KEY, username text NOT NULL, image text)');
    const headers = { 'x-company-id': 'c1', 'x-organization-id': 'o1' };
    const fresh = await athenaRest(t, 'PUT', '/gateway/insert', {
      headers,
      body: { table_name: 'upserts', insert_body: { id: 900, username: 'up' }, update_body: { image: 'unused.png' } },
    });
    expect(fresh.status).toBe(200);
    contract.expectValidResponse('PUT', '/gateway/insert', 200, fresh.body);
    expect(fresh.body.data.row).toEqual({ id: 900, username: 'up', image: null });
    const again = await athenaRest(t, 'PUT', '/gateway/insert', {
      headers,
      body: { table_name: 'upserts', insert_body: { id: 900, username: 'ignored' }, update_body: { image: 'set.png' } },
    });
    expect(again.status).toBe(200);
    expect(again.body.data.row).toEqual({ id: 900, username: 'up', image: 'set.png' });
    expect(await t.sql('SELECT username, image FROM upserts WHERE id = $1', [900])).toEqual([
      { username: 'up', image: 'set.png' },
    ]);
    const unknownColumn = await athenaRest(t, 'PUT', '/gateway/insert', {
      headers,
      body: { table_name: 'upserts', insert_body: { id: 900, username: 'x' }, update_body: { nope: 1 } },
    });
    expect(unknownColumn.status).toBe(400);
  });
});

describe('SQL', () => {
  it('runs one statement and refuses two', async () => {
    const one = await athenaRest(t, 'POST', '/gateway/query', {
      body: { query: 'SELECT count(*)::int AS n FROM users' },
    });
    expect(one.status).toBe(200);
    expect(one.body.data.rows).toEqual([{ n: 3 }]);
    const two = await athenaRest(t, 'POST', '/gateway/query', { body: { query: 'SELECT 1; DROP TABLE users' } });
    expect(two.status).toBe(400);
    expect(two.body.code).toBe('sql_multiple_statements');
  });

  it('keeps a key without gateway.query.write read-only', async () => {
    const key = await athenaKey(t, ['gateway.query.execute']);
    const read = await athenaRest(t, 'POST', '/gateway/query', { key, body: { query: 'SELECT 1 AS one' } });
    expect(read.status).toBe(200);
    const write = await athenaRest(t, 'POST', '/gateway/query', {
      key,
      body: { query: "DELETE FROM users WHERE username = 'ada'" },
    });
    expect(write.status).toBe(403);
  });

  it('routes /query/sql by driver', async () => {
    const pg = await athenaRest(t, 'POST', '/query/sql', {
      body: { query: 'SELECT 2 AS two', driver: 'postgresql', db_name: t.client },
    });
    expect(pg.status).toBe(200);
    expect(pg.body.data.rows).toEqual([{ two: 2 }]);
    const bad = await athenaRest(t, 'POST', '/query/sql', {
      body: { query: 'SELECT 1', driver: 'oracle', db_name: 'x' },
    });
    expect(bad.status).toBe(400);
    const scylla = await athenaRest(t, 'POST', '/query/sql', {
      body: { query: 'SELECT 1', driver: 'athena', db_name: 'x' },
    });
    expect(scylla.status).toBe(503);
  });
});

describe('RPC and counts', () => {
  it('calls functions on all three routes', async () => {
    const body = await athenaRest(t, 'POST', '/gateway/rpc', {
      body: { function: 'recent_events', args: { p_limit: 2 }, select: 'event_type', count: 'exact' },
    });
    expect(body.status).toBe(200);
    contract.expectValidResponse('POST', '/gateway/rpc', 200, body.body);
    expect(body.body.data).toHaveLength(2);
    const scalar = await athenaRest(t, 'POST', '/rpc/add_numbers', { body: { a: 2, b: 3 } });
    expect(scalar.status).toBe(200);
    expect(scalar.body.data).toEqual([{ add_numbers: 5 }]);
    const get = await athenaRest(t, 'GET', '/rpc/recent_events?p_limit=3&event_type=eq.login');
    expect(get.status).toBe(200);
    expect(get.body.data.map((r: { event_type: string }) => r.event_type)).toEqual(['login']);
    const missing = await athenaRest(t, 'POST', '/gateway/rpc', { body: { function: 'nope' } });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('rpc_function_not_found');
  });

  it('needs gateway.rpc.execute', async () => {
    const key = await athenaKey(t, ['gateway.fetch.execute']);
    const res = await athenaRest(t, 'POST', '/gateway/rpc', {
      key,
      body: { function: 'add_numbers', args: { a: 1, b: 1 } },
    });
    expect(res.status).toBe(403);
  });

  it('counts with a cache that gateway writes invalidate', async () => {
    const count = () =>
      athenaRest(t, 'POST', '/query/count', { body: { driver: 'postgresql', db_name: t.client, table_name: 'users' } });
    const first = await count();
    expect(first.status).toBe(200);
    expect(first.body.data.count).toBe(3);
    const second = await count();
    expect(second.body.data.cache_lookup_outcome).toBe('hit_local');
    await athenaRest(t, 'PUT', '/gateway/insert', {
      headers: { 'x-company-id': 'c', 'x-organization-id': 'o' },
      body: { table_name: 'users', insert_body: { username: 'eve' } },
    });
    const third = await count();
    expect(third.body.data).toMatchObject({ count: 4, cache_lookup_outcome: 'miss' });
    const q = await athenaRest(t, 'POST', '/query/count', {
      body: {
        driver: 'postgresql',
        db_name: t.client,
        query: "SELECT count(*) FROM app_events WHERE event_type = 'login'",
      },
    });
    expect(q.body.data.count).toBe(2);
    const bad = await athenaRest(t, 'POST', '/query/count', {
      body: { driver: 'postgresql', db_name: t.client, query: 'SELECT count(*) FROM users; DROP TABLE users' },
    });
    expect(bad.status).toBe(400);
  });
});

describe('reads after DDL', () => {
  it('answers with the new column type after the table is altered under a repeated read', async () => {
    await t.sql(`CREATE TABLE gauges (id int PRIMARY KEY, reading int); INSERT INTO gauges VALUES (1, 7);`);
    const read = () => athenaRest(t, 'GET', '/rest/v1/gauges?id=eq.1');
    for (let i = 0; i < 3; i++) expect((await read()).body.data).toEqual([{ id: 1, reading: 7 }]);
    // On Postgres the read is a prepared statement by now: Postgres must re-plan it against the altered column.
    await t.sql(`ALTER TABLE gauges ALTER COLUMN reading TYPE text USING reading::text || ' bar';`);
    t.app.services.athena.gateway.invalidateCatalog(t.client);
    for (let i = 0; i < 2; i++) expect((await read()).body.data).toEqual([{ id: 1, reading: '7 bar' }]);
  });
});

describe('GET /data', () => {
  it('maps the query onto a fetch', async () => {
    const res = await athenaRest(t, 'GET', '/data?view=users&eq_column=username&eq_value=ada&columns=username,image');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([{ username: 'ada', image: 'a.png' }]);
  });
});

describe('auth', () => {
  it('401 without a key, 403 for a key bound to another client', async () => {
    const none = await athenaRest(t, 'POST', '/gateway/fetch', { key: null, body: { table_name: 'users' } });
    expect(none.status).toBe(401);
    const other = await athenaKey(t, ['gateway.fetch.execute'], 'someone_else');
    const res = await athenaRest(t, 'POST', '/gateway/fetch', { key: other, body: { table_name: 'users' } });
    expect(res.status).toBe(403);
    const bound = await athenaKey(t, ['gateway.fetch.execute']);
    const ok = await athenaRest(t, 'POST', '/gateway/fetch', { key: bound, body: { table_name: 'users' } });
    expect(ok.status).toBe(200);
  });

  it('400 for an unknown client', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/fetch', { client: 'nobody', body: { table_name: 'users' } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('unknown_client');
  });
});
