import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractValidator } from '../../rest-shim/engine/contract.ts';
import { surfaces } from '../../rest-shim/surfaces.ts';
import { gql, testDb } from '../kit/app.ts';
import { type AthenaTestApp, athenaKey, athenaRest, type RestAnswer, startAthenaApp } from '../kit/athena.ts';

/*
 * G2 management DDL through real HTTP: capabilities, tables, columns, indexes, views, functions, extensions —
 * the DDL really runs on the client database (PGlite, or PostgreSQL with ATRIUM_TEST_DB=postgres), is audited in
 * athena_ddl_audit, and the gateway sees the change at once. Hostile input must end in a typed 4xx.
 */

let t: AthenaTestApp;
let check: (method: string, path: string, res: RestAnswer) => void;

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
      expect(res.body).toMatchObject({ status: 'error', message: expect.any(String), error: expect.any(String) });
    } else {
      expect(statuses).toContain(String(res.status));
      // Management answers are Athena's success envelope.
      expect(res.body).toMatchObject({ status: 'success', message: expect.any(String), data: expect.any(Object) });
    }
  };
}

/** One REST call whose answer is also checked against the contract. */
async function call(method: string, path: string, options: Parameters<typeof athenaRest>[3] = {}): Promise<RestAnswer> {
  const res = await athenaRest(t, method, path, options);
  check(method, path, res);
  return res;
}

const columnsOf = async (table: string, schema = 'public') =>
  (
    await t.sql(
      `SELECT column_name::text AS name, is_nullable::text AS nullable, column_default::text AS def
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [schema, table],
    )
  ).map((r) => r as { name: string; nullable: string; def: string | null });

const relationExists = async (name: string) =>
  (await t.sql(`SELECT to_regclass($1)::text AS r`, [name]))[0]?.r !== null;

const audits = (operation: string) =>
  t.app.services.prisma.athenaDdlAudit.findMany({
    where: { clientName: t.client, operation },
    orderBy: { createdAt: 'asc' },
  });

beforeAll(async () => {
  t = await startAthenaApp({ ATRIUM_ATHENA_EXTENSIONS: 'pgcrypto,plpgsql' });
  check = await contractChecker();
  await t.sql(`
    CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL UNIQUE);
    INSERT INTO users (username) VALUES ('ada'), ('bob');
    CREATE SEQUENCE ticket_seq;
  `);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('GET /management/capabilities', () => {
  it('describes this backend', async () => {
    const res = await call('GET', '/management/capabilities');
    expect(res.status).toBe(200);
    const c = res.body.data;
    expect(c.backend).toBe(testDb === 'postgres' ? 'postgres' : 'pglite');
    expect(c.allowed_index_methods).toEqual(['btree', 'hash', 'gist', 'gin', 'brin', 'spgist']);
    expect(c.allowed_column_data_types).toContain('timestamptz');
    expect(c.required_rights).toContainEqual({ operation: 'create_view', required_right: 'management.views.write' });
    expect(c.supported_operations).toContain('install_extension');
    const names = (c.available_extensions as { name: string }[]).map((e) => e.name);
    // PGlite bundles no contrib extensions unless loaded: only plpgsql is available there.
    expect(names).toEqual(testDb === 'postgres' ? ['pgcrypto', 'plpgsql'] : ['plpgsql']);
  });

  it('needs a key bound to the client with management.read', async () => {
    expect(
      (await call('GET', '/management/capabilities', { key: await athenaKey(t, ['management.read']) })).status,
    ).toBe(200);
    const lacking = await call('GET', '/management/capabilities', {
      key: await athenaKey(t, ['gateway.fetch.execute']),
    });
    expect(lacking.status).toBe(403);
    const other = await call('GET', '/management/capabilities', {
      key: await athenaKey(t, ['management.read'], 'another_client'),
    });
    expect(other.status).toBe(403);
    expect((await call('GET', '/management/capabilities', { key: null })).status).toBe(401);
  });
});

describe('POST /management/tables', () => {
  it('creates a table with checked types and defaults (201), audited, seen by the gateway at once', async () => {
    // Warm the gateway's catalog so a stale cache would miss the new table.
    expect((await call('POST', '/gateway/fetch', { body: { table_name: 'users' } })).status).toBe(200);
    const res = await call('POST', '/management/tables', {
      body: {
        table_name: 'tickets',
        columns: [
          { name: 'id', data_type: 'uuid', nullable: false, default_expression: 'gen_random_uuid()' },
          { name: 'number', data_type: 'bigint', default_expression: "nextval('ticket_seq')" },
          { name: 'title', data_type: 'varchar(200)', nullable: false },
          { name: 'price', data_type: 'numeric(10,2)', default_expression: '0' },
          { name: 'tags', data_type: 'text[]' },
          { name: 'created_at', data_type: 'timestamptz', nullable: false, default_expression: 'now()' },
        ],
      },
      headers: { 'x-request-id': 'req-create-tickets' },
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ operation: 'create_table', schema_name: 'public', table_name: 'tickets' });
    expect(res.body.data.ddl).toMatch(
      /^CREATE TABLE "public"\."tickets" \("id" uuid NOT NULL DEFAULT gen_random_uuid\(\)/,
    );
    const cols = await columnsOf('tickets');
    expect(cols.map((c) => c.name)).toEqual(['id', 'number', 'title', 'price', 'tags', 'created_at']);
    expect(cols.find((c) => c.name === 'title')?.nullable).toBe('NO');
    const insert = await call('PUT', '/gateway/insert', {
      body: { table_name: 'tickets', insert_body: { title: 'first' } },
      headers: { 'x-company-id': 'c', 'x-organization-id': 'o' },
    });
    expect(insert.status).toBe(200);
    const fetched = await call('POST', '/gateway/fetch', {
      body: { table_name: 'tickets', columns: ['title', 'price'] },
    });
    expect(fetched.status).toBe(200);
    expect(fetched.body.data).toEqual([{ title: 'first', price: 0 }]);
    const [audit] = await audits('create_table');
    expect(audit).toMatchObject({
      status: 'ok',
      objectType: 'table',
      schemaName: 'public',
      objectName: 'tickets',
      actor: 'admin',
    });
    expect(audit?.ddl).toBe(res.body.data.ddl);
    expect(audit?.requestId).toBeTruthy();
  });

  it('answers 409 when the table exists, even with if_not_exists', async () => {
    for (const body of [{ table_name: 'users' }, { table_name: 'users', if_not_exists: true }]) {
      const res = await call('POST', '/management/tables', { body });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('conflict');
    }
  });

  it('refuses hostile identifiers, types and defaults with typed 400s, running nothing', async () => {
    const cases: [unknown, string][] = [
      [{ table_name: 'x"; DROP TABLE users; --' }, 'invalid_identifier'],
      [{ table_name: 'ok_t', columns: [{ name: 'a"b', data_type: 'text' }] }, 'invalid_identifier'],
      [{ table_name: 'ok_t', columns: [{ name: 'a', data_type: 'text; DROP TABLE users' }] }, 'invalid_data_type'],
      [
        { table_name: 'ok_t', columns: [{ name: 'a', data_type: 'text', default_expression: '(SELECT 1)' }] },
        'invalid_default_expression',
      ],
      [
        { table_name: 'ok_t', columns: [{ name: 'a', data_type: 'text', default_expression: 'pg_sleep(10)' }] },
        'invalid_default_expression',
      ],
      [
        {
          table_name: 'ok_t',
          columns: [{ name: 'a', data_type: 'text', default_expression: "'x'); DROP TABLE users; --" }],
        },
        'invalid_default_expression',
      ],
      [
        {
          table_name: 'ok_t',
          columns: [{ name: 'a', data_type: 'int', default_expression: "nextval('missing_seq')" }],
        },
        'invalid_default_expression',
      ],
      [
        {
          table_name: 'ok_t',
          columns: [
            { name: 'a', data_type: 'text' },
            { name: 'a', data_type: 'int' },
          ],
        },
        'invalid_request',
      ],
      [{ schema_name: 'nope', table_name: 'ok_t' }, 'invalid_request'],
    ];
    for (const [body, code] of cases) {
      const res = await call('POST', '/management/tables', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code, JSON.stringify(body)).toBe(code);
    }
    expect(await relationExists('ok_t')).toBe(false);
    expect(await relationExists('users')).toBe(true);
  });

  it('needs management.tables.write on a key bound to this client', async () => {
    const lacking = await call('POST', '/management/tables', {
      body: { table_name: 'k1' },
      key: await athenaKey(t, ['management.read', 'management.tables.drop']),
    });
    expect(lacking.status).toBe(403);
    const other = await call('POST', '/management/tables', {
      body: { table_name: 'k1' },
      key: await athenaKey(t, ['management.tables.write'], 'another_client'),
    });
    expect(other.status).toBe(403);
    const ok = await call('POST', '/management/tables', {
      body: { table_name: 'k1', columns: [{ name: 'id', data_type: 'int' }] },
      key: await athenaKey(t, ['management.tables.write']),
    });
    expect(ok.status).toBe(201);
    const [audit] = await audits('create_table').then((rows) => rows.filter((r) => r.objectName === 'k1'));
    expect(audit?.actor).toMatch(/^apikey:/);
  });
});

describe('PATCH /management/tables/{table_name}', () => {
  it('applies every operation in order in one transaction', async () => {
    const res = await call('PATCH', '/management/tables/tickets', {
      body: {
        operations: [
          { type: 'add_column', column: { name: 'status', data_type: 'text', default_expression: "'open'" } },
          { type: 'rename_column', from: 'title', to: 'subject' },
          { type: 'set_default', column_name: 'subject', default_expression: "'untitled'::text" },
          { type: 'drop_not_null', column_name: 'subject' },
          { type: 'set_not_null', column_name: 'status' },
          { type: 'drop_default', column_name: 'price' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.ddl.split(';\n')).toHaveLength(6);
    const cols = Object.fromEntries((await columnsOf('tickets')).map((c) => [c.name, c]));
    expect(cols.subject).toMatchObject({ nullable: 'YES' });
    expect(cols.subject?.def).toContain('untitled');
    expect(cols.status).toMatchObject({ nullable: 'NO' });
    expect(cols.price?.def).toBeNull();
    expect(cols.title).toBeUndefined();
  });

  it('rolls every step back when one fails in the database', async () => {
    await t.sql(`INSERT INTO tickets (subject, tags) VALUES ('no tags', NULL)`);
    const res = await call('PATCH', '/management/tables/tickets', {
      body: {
        operations: [
          { type: 'add_column', column: { name: 'never', data_type: 'int' } },
          { type: 'set_not_null', column_name: 'tags' },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('ddl_failed');
    expect((await columnsOf('tickets')).map((c) => c.name)).not.toContain('never');
    const failed = (await audits('edit_table')).filter((a) => a.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.error).toBeTruthy();
  });

  it('answers 404 for a missing table and 400 for unknown columns, bad defaults and unsupported alterations', async () => {
    const missing = await call('PATCH', '/management/tables/nope', {
      body: { operations: [{ type: 'drop_default', column_name: 'x' }] },
    });
    expect(missing.status).toBe(404);
    const unknownColumn = await call('PATCH', '/management/tables/tickets', {
      body: { operations: [{ type: 'set_not_null', column_name: 'ghost' }] },
    });
    expect(unknownColumn.status).toBe(400);
    expect(unknownColumn.body.code).toBe('unsupported_alteration');
    const subquery = await call('PATCH', '/management/tables/tickets', {
      body: {
        operations: [
          { type: 'set_default', column_name: 'subject', default_expression: '(SELECT username FROM users LIMIT 1)' },
        ],
      },
    });
    expect(subquery.status).toBe(400);
    expect(subquery.body.code).toBe('invalid_default_expression');
    const unsupported = await call('PATCH', '/management/tables/tickets', {
      body: { operations: [{ type: 'drop_everything', column_name: 'subject' }] },
    });
    expect(unsupported.status).toBe(400);
    const empty = await call('PATCH', '/management/tables/tickets', { body: { operations: [] } });
    expect(empty.status).toBe(400);
  });
});

describe('DELETE /management/tables/{table_name}/columns/{column_name}', () => {
  it('drops a column, refuses the reserved id (400) and a missing column (404)', async () => {
    const reserved = await call('DELETE', '/management/tables/tickets/columns/id', { body: {} });
    expect(reserved.status).toBe(400);
    expect(reserved.body.code).toBe('reserved_column');
    const missing = await call('DELETE', '/management/tables/tickets/columns/ghost', { body: {} });
    expect(missing.status).toBe(404);
    const hostile = await call(
      'DELETE',
      `/management/tables/tickets/columns/${encodeURIComponent('tags"; DROP TABLE users; --')}`,
      {
        body: {},
      },
    );
    expect(hostile.status).toBe(400);
    const ok = await call('DELETE', '/management/tables/tickets/columns/tags', { body: { cascade: false } });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ table_name: 'tickets', column_name: 'tags' });
    expect((await columnsOf('tickets')).map((c) => c.name)).not.toContain('tags');
    const key = await athenaKey(t, ['management.tables.write']);
    expect((await call('DELETE', '/management/tables/tickets/columns/status', { body: {}, key })).status).toBe(403);
  });
});

describe('indexes', () => {
  it('creates an index with a generated name cut to 63 bytes (201) and drops it', async () => {
    const long = 'a_really_long_column_name_for_index_naming_tests_x';
    await t.sql(`ALTER TABLE tickets ADD COLUMN ${long} text`);
    const res = await call('POST', '/management/indexes', {
      body: { table_name: 'tickets', columns: ['subject', long] },
    });
    expect(res.status).toBe(201);
    const name = res.body.data.index_name as string;
    expect(name).toBe(`tickets_subject_${long}_idx`.slice(0, 63));
    expect(Buffer.byteLength(name)).toBe(63);
    const rows = await t.sql(`SELECT indexname::text AS n FROM pg_indexes WHERE tablename = 'tickets'`, []);
    expect(rows.map((r) => r.n)).toContain(name);
    const again = await call('POST', '/management/indexes', {
      body: { table_name: 'tickets', columns: ['subject', long] },
    });
    expect(again.status).toBe(409);
    const dropped = await call('DELETE', `/management/indexes/${name}`, { body: {} });
    expect(dropped.status).toBe(200);
    expect((await call('DELETE', `/management/indexes/${name}`, { body: {} })).status).toBe(404);
  });

  it('takes a method from the allow-list and refuses others, unknown tables and columns', async () => {
    const hash = await call('POST', '/management/indexes', {
      body: { table_name: 'tickets', columns: ['subject'], method: 'hash', index_name: 'tickets_subject_hash' },
    });
    expect(hash.status).toBe(201);
    expect(hash.body.data.ddl).toContain('USING hash');
    const unique = await call('POST', '/management/indexes', {
      body: { table_name: 'users', columns: ['username'], unique: true, index_name: 'users_username_uidx' },
    });
    expect(unique.status).toBe(201);
    for (const method of ['rtree', 'btree; DROP TABLE users', 'BTREE']) {
      const res = await call('POST', '/management/indexes', {
        body: { table_name: 'tickets', columns: ['subject'], method },
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_index_method');
    }
    expect((await call('POST', '/management/indexes', { body: { table_name: 'nope', columns: ['a'] } })).status).toBe(
      404,
    );
    expect(
      (await call('POST', '/management/indexes', { body: { table_name: 'tickets', columns: ['ghost'] } })).status,
    ).toBe(400);
    expect((await call('POST', '/management/indexes', { body: { table_name: 'tickets', columns: [] } })).status).toBe(
      400,
    );
    const hostileName = await call('POST', '/management/indexes', {
      body: { table_name: 'tickets', columns: ['subject'], index_name: 'i"; DROP TABLE users; --' },
    });
    expect(hostileName.status).toBe(400);
    expect(await relationExists('users')).toBe(true);
  });
});

describe('views', () => {
  it('creates a view (parser-checked definition), reads it through the gateway, drops it', async () => {
    const res = await call('POST', '/management/views', {
      body: { view_name: 'open_tickets', definition: "SELECT id, subject FROM tickets WHERE status = 'open'" },
      key: await athenaKey(t, ['management.views.write']),
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ operation: 'create_view', view_name: 'open_tickets' });
    const fetched = await call('POST', '/gateway/fetch', {
      body: { table_name: 'open_tickets', columns: ['subject'] },
    });
    expect(fetched.status).toBe(200);
    expect(
      (await call('POST', '/management/views', { body: { view_name: 'open_tickets', definition: 'SELECT 1' } })).status,
    ).toBe(409);
    const replaced = await call('POST', '/management/views', {
      body: {
        view_name: 'open_tickets',
        definition: "SELECT id, subject FROM tickets WHERE status = 'open'",
        or_replace: true,
      },
    });
    expect(replaced.status).toBe(200);
    const mat = await call('POST', '/management/views', {
      body: { view_name: 'ticket_counts', definition: 'SELECT count(*) AS n FROM tickets', materialized: true },
    });
    expect(mat.status).toBe(200);
    expect(mat.body.data.ddl).toMatch(/^CREATE MATERIALIZED VIEW/);
    expect((await call('DELETE', '/management/views/ticket_counts', { body: {} })).status).toBe(404);
    expect((await call('DELETE', '/management/views/ticket_counts', { body: { materialized: true } })).status).toBe(
      200,
    );
    const dropKey = await athenaKey(t, ['management.views.write']);
    // The contract lists 401 but not 403 for the view routes; the engine answers a refusal as 401 there.
    expect((await call('DELETE', '/management/views/open_tickets', { key: dropKey })).status).toBe(401);
    expect((await call('DELETE', '/management/views/open_tickets')).status).toBe(200);
    expect(await relationExists('open_tickets')).toBe(false);
  });

  it('refuses a definition with two statements, a write, or a hostile name', async () => {
    const cases: unknown[] = [
      { view_name: 'v1', definition: 'SELECT 1; DROP TABLE users' },
      { view_name: 'v1', definition: 'SELECT 1; SELECT 2' },
      { view_name: 'v1', definition: 'WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d' },
      { view_name: 'v1', definition: 'DROP TABLE users' },
      { view_name: 'v1"; DROP TABLE users; --', definition: 'SELECT 1' },
      { view_name: 'v1' },
      'not an object',
    ];
    for (const body of cases) {
      const res = await call('POST', '/management/views', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await relationExists('v1')).toBe(false);
    expect((await t.sql('SELECT count(*)::int AS n FROM users', []))[0]?.n).toBe(2);
  });
});

describe('functions', () => {
  const ddl = `CREATE OR REPLACE FUNCTION public.ticket_total(p_min numeric) RETURNS numeric
    LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN (SELECT coalesce(sum(price), 0) FROM tickets WHERE price >= p_min); END $$`;

  it('upserts (created, then replaced), lists and drops by resolved argument types', async () => {
    const created = await call('PUT', '/management/functions', { body: { ddl } });
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({ function_name: 'ticket_total', replaced: false });
    const replaced = await call('PUT', '/management/functions', { body: { ddl } });
    expect(replaced.body.data.replaced).toBe(true);
    const listed = await call('GET', '/management/functions?name_like=ticket_&include_definition=true');
    expect(listed.status).toBe(200);
    expect(listed.body.data.functions).toEqual([
      expect.objectContaining({
        schema_name: 'public',
        function_name: 'ticket_total',
        arguments: 'p_min numeric',
        arg_types: ['numeric'],
        language: 'plpgsql',
        volatility: 'stable',
        security_definer: false,
        definition: expect.stringContaining('coalesce'),
      }),
    ]);
    // `_` and `%` in name_like match themselves.
    expect((await call('GET', '/management/functions?name_like=ticket%25')).body.data.functions).toEqual([]);
    const system = await call('GET', '/management/functions?name_like=lower&include_system=true&schema=pg_catalog');
    expect((system.body.data.functions as { function_name: string }[]).map((f) => f.function_name)).toContain('lower');
    expect((await call('GET', '/management/functions?name_like=lower')).body.data.functions).toEqual([]);
    const wrongTypes = await call('DELETE', '/management/functions', {
      body: { function_name: 'ticket_total', arg_types: ['integer'] },
    });
    expect(wrongTypes.status).toBe(404);
    const dropped = await call('DELETE', '/management/functions', {
      body: { function_name: 'ticket_total', arg_types: ['pg_catalog.numeric'] },
    });
    expect(dropped.status).toBe(200);
    expect(dropped.body.data.ddl).toBe('DROP FUNCTION "public"."ticket_total"(numeric) RESTRICT');
    expect(
      (
        await call('DELETE', '/management/functions', {
          body: { function_name: 'ticket_total', arg_types: ['numeric'] },
        })
      ).status,
    ).toBe(404);
    const audit = await audits('drop_function');
    expect(audit.map((a) => a.status)).toEqual(['ok']);
  });

  it('refuses SECURITY DEFINER, two statements, other languages and hostile arg types', async () => {
    const bad = [
      `CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$`,
      `CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; DROP TABLE users`,
      `CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$`,
      `CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE c AS 'libc', 'abs'`,
      `DROP TABLE users`,
    ];
    for (const body of bad) {
      const res = await call('PUT', '/management/functions', { body: { ddl: body } });
      expect(res.status, body).toBe(400);
      expect(res.body.code, body).toBe('invalid_function_ddl');
    }
    for (const argTypes of [['int); DROP TABLE users; --'], ['no_such_type'], ['']]) {
      const res = await call('DELETE', '/management/functions', { body: { function_name: 'f', arg_types: argTypes } });
      expect(res.status, JSON.stringify(argTypes)).toBe(400);
    }
    const key = await athenaKey(t, ['management.functions.read']);
    expect((await call('PUT', '/management/functions', { body: { ddl }, key })).status).toBe(403);
    expect((await call('GET', '/management/functions', { key })).status).toBe(200);
    expect(await relationExists('users')).toBe(true);
  });
});

describe('POST /management/extensions/install', () => {
  it('refuses an extension that is not allow-listed or not available', async () => {
    for (const name of ['plpython3u', 'hstore', 'pgcrypto"; DROP TABLE users; --']) {
      const res = await call('POST', '/management/extensions/install', { body: { extension_name: name } });
      if (testDb === 'postgres' && name === 'pgcrypto') continue;
      expect(res.status, name).toBe(400);
      expect(res.body.code).toBe('extension_not_allowed');
    }
  });

  it('installs an allow-listed available extension; installing it again is a conflict unless if_not_exists', async () => {
    const name = testDb === 'postgres' ? 'pgcrypto' : 'plpgsql';
    if (testDb === 'postgres') {
      const res = await call('POST', '/management/extensions/install', { body: { extension_name: name } });
      expect(res.status).toBe(200);
      expect(res.body.data.ddl).toBe('CREATE EXTENSION "pgcrypto"');
    }
    const again = await call('POST', '/management/extensions/install', { body: { extension_name: name } });
    expect(again.status).toBe(409);
    const idempotent = await call('POST', '/management/extensions/install', {
      body: { extension_name: name, if_not_exists: true },
    });
    expect(idempotent.status).toBe(200);
    const installed = await t.sql('SELECT extname::text AS n FROM pg_extension', []);
    expect(installed.map((r) => r.n)).toContain(name);
  });
});

describe('DELETE /management/tables/{table_name}', () => {
  it('drops RESTRICT by default (409 with dependents), CASCADE on request, 404 when missing', async () => {
    await t.sql(`CREATE VIEW k1_view AS SELECT id FROM k1`);
    const restricted = await call('DELETE', '/management/tables/k1', { body: {} });
    expect(restricted.status).toBe(409);
    const key = await athenaKey(t, ['management.tables.write']);
    expect((await call('DELETE', '/management/tables/k1', { body: {}, key })).status).toBe(403);
    const cascaded = await call('DELETE', '/management/tables/k1', {
      body: { cascade: true },
      key: await athenaKey(t, ['management.tables.drop']),
    });
    expect(cascaded.status).toBe(200);
    expect(await relationExists('k1')).toBe(false);
    expect(await relationExists('k1_view')).toBe(false);
    expect((await call('DELETE', '/management/tables/k1', { body: {} })).status).toBe(404);
  });
});

describe('audit store', () => {
  it('answers 503 audit_unavailable before running any DDL when the audit table cannot be written', async () => {
    const prisma = t.app.services.prisma;
    await prisma.$executeRawUnsafe('ALTER TABLE athena_ddl_audit RENAME TO athena_ddl_audit_away');
    try {
      const res = await call('POST', '/management/tables', { body: { table_name: 'unaudited' } });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('audit_unavailable');
      expect(await relationExists('unaudited')).toBe(false);
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE athena_ddl_audit_away RENAME TO athena_ddl_audit');
    }
    expect((await call('POST', '/management/tables', { body: { table_name: 'unaudited' } })).status).toBe(201);
  });
});

describe('/metrics', () => {
  it('counts management DDL by operation and outcome', async () => {
    const res = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    const text = await res.text();
    expect(text).toMatch(/atrium_athena_ddl_total\{operation="create_table",status="ok"\} [1-9]/);
    expect(text).toMatch(/atrium_athena_ddl_total\{operation="edit_table",status="failed"\} 1/);
  });
});

describe('GraphQL management mutations', () => {
  it('create and edit a table, with typed errors', async () => {
    const created = await gql(
      t.baseUrl,
      `mutation ($client: String!) {
        athenaCreateTable(client: $client, input: { table: "gql_t", columns: [{ name: "id", dataType: "int", nullable: false }] }) {
          __typename ... on MutationAthenaCreateTableSuccess { data { operation ddl } } ... on AthenaError { code }
        }
      }`,
      { client: t.client },
      t.adminKey,
    );
    expect(created.body.data.athenaCreateTable.data.operation).toBe('create_table');
    const edited = await gql(
      t.baseUrl,
      `mutation ($client: String!) {
        athenaEditTable(client: $client, table: "gql_t", operations: [{ type: ADD_COLUMN, column: { name: "n", dataType: "text" } }, { type: SET_DEFAULT, columnName: "n" }]) {
          __typename ... on AthenaError { code message }
        }
      }`,
      { client: t.client },
      t.adminKey,
    );
    expect(edited.body.data.athenaEditTable).toMatchObject({ __typename: 'AthenaError', code: 'invalid_request' });
    const key = await athenaKey(t, ['management.read']);
    const forbidden = await gql(
      t.baseUrl,
      `mutation ($client: String!) { athenaDropTable(client: $client, table: "gql_t") { __typename } }`,
      { client: t.client },
      key,
    );
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await relationExists('gql_t')).toBe(true);
    // Rights are checked before the input: a caller without the right learns nothing about its input's validity.
    const hostile = await gql(
      t.baseUrl,
      `mutation ($client: String!) { athenaCreateTable(client: $client, input: { table: "x\\"; DROP TABLE users; --" }) { __typename } }`,
      { client: t.client },
      key,
    );
    expect(hostile.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
