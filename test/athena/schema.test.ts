import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractValidator } from '../../rest-shim/engine/contract.ts';
import { surfaces } from '../../rest-shim/surfaces.ts';
import { gql } from '../kit/app.ts';
import { type AthenaTestApp, athenaKey, athenaRest, type RestAnswer, startAthenaApp } from '../kit/athena.ts';

/*
 * G2 introspection through real HTTP: /clients, /schema/clients, /schema, /schema/tables|columns|constraints|
 * migrations, every body checked against the contract, plus the typed GraphQL `athenaSchema`.
 */

let t: AthenaTestApp;
let check: (method: string, path: string, res: RestAnswer) => void;

/** Validates a body against the contract where it defines one; else the status must be listed and JSON. */
async function contractChecker() {
  const surface = surfaces.find((s) => s.product === 'athena');
  if (!surface) throw new Error('no athena surface');
  const v = await createContractValidator(surface.contract);
  return (method: string, path: string, res: RestAnswer) => {
    const route = path.split('?')[0] as string;
    if (v.definesResponse(method, route, res.status)) {
      const errors = v.responseErrors(method, route, res.status, res.body);
      if (errors !== null) throw new Error(`${method} ${route} ${res.status}: ${errors}\n${res.text}`);
      return;
    }
    const statuses = Object.keys(v.operation(method, route).responses ?? {});
    if (res.status >= 400) {
      // Error bodies are the contract's one envelope (DefaultServerError5xx).
      expect(res.body).toMatchObject({ status: 'error', message: expect.any(String), error: expect.any(String) });
    } else {
      expect(statuses).toContain(String(res.status));
      expect(typeof res.body).toBe('object');
    }
  };
}

beforeAll(async () => {
  t = await startAthenaApp();
  check = await contractChecker();
  await t.sql(`
    CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL UNIQUE, email text, created_at timestamptz DEFAULT now());
    CREATE TABLE memberships (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id int NOT NULL REFERENCES users(id),
      org text NOT NULL,
      role text,
      label text GENERATED ALWAYS AS (org || ':' || coalesce(role, '')) STORED,
      CONSTRAINT memberships_user_org_key UNIQUE (user_id, org)
    );
    CREATE INDEX memberships_org_idx ON memberships USING hash (org);
    CREATE VIEW active_users AS SELECT id, username FROM users WHERE email IS NOT NULL;
    CREATE FUNCTION user_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM users $$;
    CREATE SCHEMA other;
    CREATE TABLE other.users (id int PRIMARY KEY, nick text);
  `);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('/clients and /schema/clients', () => {
  it('list client names to the admin', async () => {
    for (const path of ['/clients', '/schema/clients']) {
      const res = await athenaRest(t, 'GET', path, { client: null });
      expect(res.status).toBe(200);
      check('GET', path, res);
      expect(res.body.clients).toContain(t.client);
    }
  });

  it('refuse a client key (403) and no key (401)', async () => {
    const key = await athenaKey(t, ['management.read']);
    const forbidden = await athenaRest(t, 'GET', '/schema/clients', { key });
    expect(forbidden.status).toBe(403);
    check('GET', '/schema/clients', forbidden);
    const anonymous = await athenaRest(t, 'GET', '/clients', { key: null });
    expect(anonymous.status).toBe(401);
  });
});

describe('GET /schema/tables', () => {
  it('lists tables and views outside the system schemas', async () => {
    const res = await athenaRest(t, 'GET', '/schema/tables');
    expect(res.status).toBe(200);
    check('GET', '/schema/tables', res);
    const names = (res.body.tables as { table_schema: string; table_name: string }[]).map(
      (r) => `${r.table_schema}.${r.table_name}`,
    );
    expect(names).toEqual(
      expect.arrayContaining(['public.users', 'public.memberships', 'public.active_users', 'other.users']),
    );
    expect(names.some((n) => n.startsWith('pg_catalog.') || n.startsWith('information_schema.'))).toBe(false);
  });

  it('answers 400 for a missing or unknown X-Athena-Client', async () => {
    const missing = await athenaRest(t, 'GET', '/schema/tables', { client: null });
    expect(missing.status).toBe(400);
    const unknown = await athenaRest(t, 'GET', '/schema/tables', { client: 'no_such_client' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('unknown_client');
    check('GET', '/schema/tables', unknown);
  });

  it('takes a key bound to the client with management.read or gateway.fetch.execute, nothing else', async () => {
    for (const rights of [['management.read'], ['gateway.fetch.execute']]) {
      const res = await athenaRest(t, 'GET', '/schema/tables', { key: await athenaKey(t, rights) });
      expect(res.status).toBe(200);
    }
    const lacking = await athenaRest(t, 'GET', '/schema/tables', {
      key: await athenaKey(t, ['gateway.insert.execute']),
    });
    expect(lacking.status).toBe(403);
    const otherClient = await athenaRest(t, 'GET', '/schema/tables', {
      key: await athenaKey(t, ['management.read'], 'someone_else'),
    });
    expect(otherClient.status).toBe(403);
    // API-key enforcement is on by default: no key is 401.
    const anonymous = await athenaRest(t, 'GET', '/schema/tables', { key: null });
    expect(anonymous.status).toBe(401);
  });
});

describe('GET /schema/columns', () => {
  it('lists a table’s columns in order, in every schema unless table_schema restricts it', async () => {
    const all = await athenaRest(t, 'GET', '/schema/columns?table_name=users');
    expect(all.status).toBe(200);
    check('GET', '/schema/columns', all);
    const cols = all.body.columns as Record<string, unknown>[];
    expect(cols.filter((c) => c.table_schema === 'public').map((c) => c.column_name)).toEqual([
      'id',
      'username',
      'email',
      'created_at',
    ]);
    expect(cols.some((c) => c.table_schema === 'other')).toBe(true);
    const publicOnly = await athenaRest(t, 'GET', '/schema/columns?table_name=users&table_schema=public');
    const rows = publicOnly.body.columns as Record<string, unknown>[];
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({ column_name: 'id', data_type: 'integer', is_nullable: 'NO' });
    expect(String(rows[0]?.column_default)).toContain('nextval');
    expect(rows[2]).toMatchObject({
      column_name: 'email',
      data_type: 'text',
      is_nullable: 'YES',
      column_default: null,
    });
  });

  it('refuses a table_name that is not an identifier (400) and a missing one', async () => {
    const hostile = await athenaRest(
      t,
      'GET',
      `/schema/columns?table_name=${encodeURIComponent('users"; DROP TABLE users; --')}`,
    );
    expect(hostile.status).toBe(400);
    expect(hostile.body.code).toBe('invalid_identifier');
    check('GET', '/schema/columns', hostile);
    const missing = await athenaRest(t, 'GET', '/schema/columns');
    expect(missing.status).toBe(400);
    const still = await athenaRest(t, 'GET', '/schema/columns?table_name=users&table_schema=public');
    expect(still.body.columns).toHaveLength(4);
  });
});

describe('GET /schema/constraints', () => {
  it('lists unique constraints (not the primary key), columns in key order; schema defaults to public', async () => {
    const res = await athenaRest(t, 'GET', '/schema/constraints?table_name=memberships');
    expect(res.status).toBe(200);
    check('GET', '/schema/constraints', res);
    expect(res.body.constraints).toEqual([
      { constraint_name: 'memberships_user_org_key', columns: ['user_id', 'org'] },
    ]);
    const users = await athenaRest(t, 'GET', '/schema/constraints?table_name=users');
    expect(users.body.constraints).toEqual([{ constraint_name: 'users_username_key', columns: ['username'] }]);
    const other = await athenaRest(t, 'GET', '/schema/constraints?table_name=users&table_schema=other');
    expect(other.body.constraints).toEqual([]);
  });
});

describe('GET /schema/migrations', () => {
  it('answers an empty list with a message while the table does not exist, then its rows', async () => {
    const absent = await athenaRest(t, 'GET', '/schema/migrations');
    expect(absent.status).toBe(200);
    check('GET', '/schema/migrations', absent);
    expect(absent.body.migrations).toEqual([]);
    expect(absent.body.message).toMatch(/does not exist/);
    await t.sql(`
      CREATE SCHEMA supabase_migrations;
      CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
      INSERT INTO supabase_migrations.schema_migrations VALUES ('20240102000000', NULL, 'second'), ('20240101000000', NULL, 'init');
    `);
    const present = await athenaRest(t, 'GET', '/schema/migrations');
    expect(present.status).toBe(200);
    check('GET', '/schema/migrations', present);
    expect(present.body).toEqual({
      migrations: [
        { version: '20240101000000', name: 'init' },
        { version: '20240102000000', name: 'second' },
      ],
    });
  });
});

describe('GET /schema', () => {
  it('describes one schema: tables with columns, keys and indexes, views, functions, extensions', async () => {
    const res = await athenaRest(t, 'GET', '/schema');
    expect(res.status).toBe(200);
    check('GET', '/schema', res);
    expect(res.body.schema).toBe('public');
    const memberships = (res.body.tables as Record<string, any>[]).find((x) => x.name === 'memberships') ?? {};
    expect(memberships.kind).toBe('table');
    expect(memberships.primary_key).toEqual({ name: 'memberships_pkey', columns: ['id'] });
    expect(memberships.foreign_keys).toEqual([
      {
        name: 'memberships_user_id_fkey',
        columns: ['user_id'],
        referenced_schema: 'public',
        referenced_table: 'users',
        referenced_columns: ['id'],
      },
    ]);
    const byName = Object.fromEntries((memberships.columns as Record<string, any>[]).map((c) => [c.name, c]));
    expect(byName.id).toMatchObject({ data_type: 'bigint', identity: 'always', nullable: false });
    expect(byName.label.generated).toContain('org');
    expect(byName.label.default).toBeNull();
    const hash = (memberships.indexes as Record<string, any>[]).find((i) => i.name === 'memberships_org_idx');
    expect(hash).toMatchObject({ method: 'hash', unique: false, primary: false, columns: ['org'] });
    expect(res.body.views).toEqual([
      expect.objectContaining({
        name: 'active_users',
        materialized: false,
        definition: expect.stringContaining('username'),
      }),
    ]);
    expect((res.body.functions as Record<string, any>[]).map((f) => f.function_name)).toContain('user_count');
    expect((res.body.extensions as Record<string, any>[]).map((e) => e.name)).toContain('plpgsql');
    // No table of another schema leaks in.
    expect((res.body.tables as Record<string, any>[]).map((x) => x.name)).not.toContain('nick');
  });

  it('takes ?schema= and answers 404 for a schema that does not exist, 400 for a hostile name', async () => {
    const other = await athenaRest(t, 'GET', '/schema?schema=other');
    expect(other.status).toBe(200);
    expect((other.body.tables as Record<string, any>[]).map((x) => x.name)).toEqual(['users']);
    const none = await athenaRest(t, 'GET', '/schema?schema=nope');
    expect(none.status).toBe(404);
    expect(none.body.code).toBe('schema_object_missing');
    const hostile = await athenaRest(t, 'GET', `/schema?schema=${encodeURIComponent("public' OR 1=1 --")}`);
    expect(hostile.status).toBe(400);
  });
});

describe('GraphQL athenaSchema', () => {
  it('returns typed objects', async () => {
    const res = await gql(
      t.baseUrl,
      `query ($client: String!) {
        athenaSchema(client: $client) {
          __typename
          ... on QueryAthenaSchemaSuccess {
            data { name tables { name columns { name type nullable default identity generated }
              primaryKey { columns } foreignKeys { refTable refColumns } indexes { name method } }
              views { name materialized } functions { name returnType argTypes } extensions { name } }
          }
          ... on AthenaError { code message }
        }
      }`,
      { client: t.client },
      t.adminKey,
    );
    expect(res.body.errors).toBeUndefined();
    const data = res.body.data.athenaSchema.data;
    expect(data.name).toBe('public');
    const users = data.tables.find((x: { name: string }) => x.name === 'users');
    expect(users.primaryKey.columns).toEqual(['id']);
    expect(users.columns[0]).toMatchObject({ name: 'id', type: 'integer', nullable: false, identity: null });
    expect(data.functions.find((f: { name: string }) => f.name === 'user_count')).toMatchObject({
      returnType: 'bigint',
      argTypes: [],
    });
  });

  it('answers a typed error for a missing schema', async () => {
    const res = await gql(
      t.baseUrl,
      `query ($client: String!) { athenaSchema(client: $client, schema: "nope") { __typename ... on AthenaError { code } } }`,
      { client: t.client },
      t.adminKey,
    );
    expect(res.body.data.athenaSchema).toEqual({ __typename: 'AthenaError', code: 'schema_object_missing' });
  });
});

describe('with API-key enforcement off', () => {
  let open: AthenaTestApp;

  beforeAll(async () => {
    open = await startAthenaApp({ ATRIUM_ATHENA_ENFORCE_API_KEYS: 'false' });
    await open.sql('CREATE TABLE notes (id int PRIMARY KEY, body text)');
  }, 120_000);

  afterAll(async () => {
    await open?.close();
  });

  it('introspection needs no key, a presented key is still checked, management still needs one', async () => {
    const anonymous = await athenaRest(open, 'GET', '/schema/tables', { key: null });
    expect(anonymous.status).toBe(200);
    check('GET', '/schema/tables', anonymous);
    expect(anonymous.body.tables).toContainEqual({ table_schema: 'public', table_name: 'notes' });
    const columns = await athenaRest(open, 'GET', '/schema/columns?table_name=notes', { key: null });
    expect((columns.body.columns as { column_name: string }[]).map((c) => c.column_name)).toEqual(['id', 'body']);
    expect((await athenaRest(open, 'GET', '/schema/tables', { key: 'ath_not_a_key' })).status).toBe(401);
    expect((await athenaRest(open, 'GET', '/management/capabilities', { key: null })).status).toBe(401);
    expect((await athenaRest(open, 'GET', '/schema/clients', { key: null })).status).toBe(401);
  });
});
