import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachable } from '../../../../test/kit/reachable.ts';
import { SqlRejectedError } from './errors.ts';
import {
  createViewSql,
  parseQualifiedName,
  validateDataType,
  validateDefaultExpression,
  validateFunctionDdl,
  validateViewDefinition,
} from './fragments.ts';
import { checkIdentifier, isIdentifier, quoteIdent } from './identifiers.ts';

const postgresUrl = process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const postgresUp = await reachable(postgresUrl);
if (!postgresUp) console.warn(`nothing answers at ${postgresUrl}: the Postgres 15 half of fragments.test.ts skips`);

async function refusal(p: Promise<unknown>): Promise<SqlRejectedError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SqlRejectedError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('identifiers', () => {
  it('quotes with doubled quotes and checks plain names', () => {
    expect(quoteIdent('users')).toBe('"users"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent('x"; DROP TABLE t; --')).toBe('"x""; DROP TABLE t; --"');
    expect(checkIdentifier('user_id$2')).toBe('user_id$2');
    expect(isIdentifier('_a')).toBe(true);
    for (const bad of ['', '1a', 'a-b', 'a b', 'a"b', 'é', 'a'.repeat(64), 'x;drop', null, 42]) {
      expect(isIdentifier(bad), String(bad)).toBe(false);
      expect(() => checkIdentifier(bad)).toThrow(SqlRejectedError);
    }
    expect(isIdentifier('a'.repeat(63))).toBe(true);
  });
});

describe('validateDataType', () => {
  it.each([
    ['text', 'text'],
    ['TEXT', 'text'],
    ['varchar(20)', 'character varying(20)'],
    ['character varying(5)', 'character varying(5)'],
    ['varchar', 'character varying'],
    ['char(3)', 'character(3)'],
    ['integer', 'integer'],
    ['int', 'integer'],
    ['int4', 'integer'],
    ['bigint', 'bigint'],
    ['smallint', 'smallint'],
    ['numeric(10,2)', 'numeric(10,2)'],
    ['decimal(5)', 'numeric(5)'],
    ['numeric', 'numeric'],
    ['real', 'real'],
    ['double precision', 'double precision'],
    ['float8', 'double precision'],
    ['boolean', 'boolean'],
    ['bool', 'boolean'],
    ['date', 'date'],
    ['time', 'time without time zone'],
    ['timestamp', 'timestamp without time zone'],
    ['timestamp(3) with time zone', 'timestamp(3) with time zone'],
    ['timestamptz', 'timestamp with time zone'],
    ['interval', 'interval'],
    ['uuid', 'uuid'],
    ['json', 'json'],
    ['jsonb', 'jsonb'],
    ['bytea', 'bytea'],
    ['inet', 'inet'],
    ['cidr', 'cidr'],
    ['text[]', 'text[]'],
    ['integer[][]', 'integer[][]'],
    ['varchar(10)[]', 'character varying(10)[]'],
    ['pg_catalog.int8', 'bigint'],
  ])('%s → %s', async (input, canonical) => {
    expect((await validateDataType(input)).sql).toBe(canonical);
  });

  it('refuses other types and anything that is not a type name', async () => {
    for (const bad of [
      'money',
      'xml',
      'public.mood',
      'evil.text',
      '"char"',
      'regclass',
      'interval day',
      'varchar(0)',
      'numeric(2,5)',
      'timestamp(7)',
      'text(5)',
      'text, 1',
      'text FROM pg_shadow',
      'text AS x',
      'text; DROP TABLE t',
      'text) FROM t; --',
      'text COLLATE "C"',
      '1',
      'setof int',
      '',
    ]) {
      const err = await refusal(validateDataType(bad));
      expect(err.code, bad).toBe('INVALID_DATA_TYPE');
    }
  });
});

describe('validateDefaultExpression', () => {
  const sequences = new Set(['public.order_seq', 'null.user_seq', 'app.My Seq']);
  const sequenceExists = ({ schema, name }: { schema: string | null; name: string }) =>
    sequences.has(`${schema}.${name}`);

  it.each([
    ['42', '42'],
    ['-1', '-1'],
    ['1.50', '1.50'],
    ["'it''s'", "'it''s'"],
    ['true', 'true'],
    ['NULL', 'NULL'],
    ["'{}'::jsonb", "CAST('{}' AS jsonb)"],
    ["'1 day'::interval", "CAST('1 day' AS interval)"],
    ["CAST('a' AS varchar(3))", "CAST('a' AS character varying(3))"],
    ['now()', 'now()'],
    ["'x' -- a comment is dropped by the re-print", "'x'"],
    ['NOW( )', 'now()'],
    ['pg_catalog.now()', 'now()'],
    ['current_timestamp', 'CURRENT_TIMESTAMP'],
    ['CURRENT_TIMESTAMP(3)', 'CURRENT_TIMESTAMP(3)'],
    ['current_date', 'CURRENT_DATE'],
    ['gen_random_uuid()', 'gen_random_uuid()'],
    ['uuid_generate_v4()', 'uuid_generate_v4()'],
    ["nextval('order_seq'::regclass)", `nextval('"order_seq"'::regclass)`],
  ])('%s → %s', async (input, normalised) => {
    const seqs = new Set(['null.order_seq']);
    const r = await validateDefaultExpression(input, {
      sequenceExists: ({ schema, name }) => seqs.has(`${schema}.${name}`),
    });
    expect(r.sql).toBe(normalised);
  });

  it('checks nextval against the catalog', async () => {
    const r = await validateDefaultExpression("nextval('public.order_seq')", { sequenceExists });
    expect(r).toEqual({
      sql: `nextval('"public"."order_seq"'::regclass)`,
      functions: ['nextval'],
      sequence: { schema: 'public', name: 'order_seq' },
    });
    expect((await validateDefaultExpression(`nextval('app."My Seq"')`, { sequenceExists })).sql).toBe(
      `nextval('"app"."My Seq"'::regclass)`,
    );
    expect((await refusal(validateDefaultExpression("nextval('nope')", { sequenceExists }))).message).toMatch(
      /does not exist/,
    );
    expect((await refusal(validateDefaultExpression("nextval('order_seq')"))).message).toMatch(/catalog check/);
    expect(parseQualifiedName('a.b.c')).toBeUndefined();
    expect(parseQualifiedName('"a""b".C')).toEqual(['a"b', 'c']);
  });

  it('refuses subqueries, other calls, column references and smuggled statements', async () => {
    for (const bad of [
      '(SELECT 1)',
      'EXISTS (SELECT 1)',
      'pg_sleep(1)',
      'random()',
      'lower(name)',
      'public.now()',
      "nextval('s'); DROP TABLE t",
      'id',
      't.id',
      '1 + 1',
      "'a' || 'b'",
      '1 FROM pg_shadow',
      '1 AS x',
      '1, 2',
      '1 UNION SELECT 2',
      'now() WHERE false',
      "'x'::regclass",
      "'x'::public.mood",
      'now(1)',
      'count(*)',
      'gen_random_uuid() OVER ()',
      "nextval(concat('a','b'))",
      '',
      '1; DROP TABLE t',
    ]) {
      const err = await refusal(validateDefaultExpression(bad, { sequenceExists }));
      expect(err.code, bad).toBe('INVALID_DEFAULT_EXPRESSION');
    }
  });
});

describe('validateViewDefinition', () => {
  it('accepts one SELECT and builds the view statement', async () => {
    expect((await validateViewDefinition('SELECT id, name FROM users WHERE active;')).sql).toBe(
      'SELECT id, name FROM users WHERE active',
    );
    expect(await createViewSql({ schema: 'public', name: 'active users', definition: 'SELECT 1 AS one -- note' })).toBe(
      'CREATE VIEW "public"."active users" AS SELECT 1 AS one -- note',
    );
    expect(await createViewSql({ schema: 's', name: 'v', definition: 'SELECT 1', orReplace: true })).toBe(
      'CREATE OR REPLACE VIEW "s"."v" AS SELECT 1',
    );
  });

  it('refuses anything else', async () => {
    for (const bad of [
      'SELECT 1; DROP TABLE users',
      "SELECT ';'; DELETE FROM t",
      'DELETE FROM users',
      'WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d',
      'SELECT * FROM (WITH d AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM d) s',
      'SELECT * INTO x FROM users',
      'SELECT * FROM users FOR UPDATE',
      'CREATE TABLE x (a int)',
      '',
    ]) {
      const err = await refusal(validateViewDefinition(bad));
      expect(err.code, bad).toBe('INVALID_VIEW_DEFINITION');
    }
  });
});

describe('validateFunctionDdl', () => {
  it('returns schema, name, identity argument types and language', async () => {
    const r = await validateFunctionDdl(
      "CREATE OR REPLACE FUNCTION app.add(a integer, INOUT b varchar(10), OUT c text, VARIADIC rest int[] DEFAULT '{}') RETURNS record LANGUAGE plpgsql AS $$ BEGIN c := a::text; END $$;",
    );
    expect(r).toMatchObject({
      schema: 'app',
      name: 'add',
      argTypes: ['integer', 'character varying(10)', 'integer[]'],
      argNames: ['a', 'b', 'rest'],
      language: 'plpgsql',
    });
    expect(r.sql.endsWith('$$')).toBe(true);
    const plain = await validateFunctionDdl(
      'CREATE OR REPLACE FUNCTION f(public.mood) RETURNS int LANGUAGE SQL AS $$ SELECT 1 $$',
    );
    expect(plain).toMatchObject({
      schema: 'public',
      name: 'f',
      argTypes: ['"public"."mood"'],
      argNames: [null],
      language: 'sql',
    });
  });

  it('refuses everything else', async () => {
    const cases: [string, RegExp][] = [
      ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', /OR REPLACE/],
      [
        'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$',
        /SECURITY DEFINER/,
      ],
      ["CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'sym'", /LANGUAGE c/],
      ['CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$ return 1 $$', /plpython3u/],
      ['CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETRN 1; END $$', /does not parse/],
      ['CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql SET role = postgres AS $$ SELECT 1 $$', /SET role/],
      ['CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; DROP TABLE t', /found 2/],
      ['CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$', /procedures/],
      ['DROP FUNCTION f()', /not DropStmt/],
    ];
    for (const [sql, message] of cases) {
      const err = await refusal(validateFunctionDdl(sql));
      expect(err.code, sql).toBe('INVALID_FUNCTION_DDL');
      expect(err.message, sql).toMatch(message);
    }
    const allowed = await validateFunctionDdl(
      'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$',
      { allowSecurityDefiner: true },
    );
    expect(allowed.name).toBe('f');
  });
});

/** What was printed must be SQL Postgres itself accepts, with the meaning intended. */
async function applyPrinted(query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>): Promise<void> {
  const columns: string[] = [];
  for (const [i, type] of [
    'varchar(20)',
    'numeric(10,2)',
    'timestamp(3) with time zone',
    'text[]',
    'char(3)',
    'time',
  ].entries()) {
    columns.push(`${quoteIdent(`c${i}`)} ${(await validateDataType(type)).sql}`);
  }
  const seq = await validateDefaultExpression("nextval('frag_seq')", { sequenceExists: () => true });
  const created = await validateDefaultExpression('CURRENT_TIMESTAMP(3)');
  const literal = await validateDefaultExpression("'it''s'::varchar(10)");
  await query('CREATE SEQUENCE frag_seq');
  await query(
    `CREATE TABLE frag_t (id bigint DEFAULT ${seq.sql}, at timestamptz DEFAULT ${created.sql}, note varchar(10) DEFAULT ${literal.sql}, ${columns.join(', ')})`,
  );
  await query('INSERT INTO frag_t DEFAULT VALUES');
  const { rows } = await query(
    "SELECT id, note, format_type(atttypid, atttypmod) AS t FROM frag_t, pg_attribute WHERE attrelid = 'frag_t'::regclass AND attname = 'c2'",
  );
  expect(rows[0]).toMatchObject({ note: "it's", t: 'timestamp(3) with time zone' });
  expect(String(rows[0]?.id)).toBe('1');
  await query(
    await createViewSql({ schema: 'public', name: 'frag v', definition: 'SELECT id FROM frag_t -- trailing' }),
  );
  const fn = await validateFunctionDdl(
    'CREATE OR REPLACE FUNCTION frag_f(a integer, b text[]) RETURNS int LANGUAGE sql AS $$ SELECT a $$',
  );
  await query(fn.sql);
  const resolved = await query(`SELECT to_regprocedure('frag_f(${fn.argTypes.join(',')})') IS NOT NULL AS ok`);
  expect(resolved.rows[0]?.ok).toBe(true);
}

describe('printed fragments run on PGlite', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = await PGlite.create();
  });
  afterAll(async () => {
    await db?.close();
  });
  it('creates a table, view and function from validated pieces', async () => {
    await applyPrinted((sql) => db.query(sql));
  });
});

describe.skipIf(!postgresUp)('printed fragments run on Postgres', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query('BEGIN');
  });
  afterAll(async () => {
    await client?.query('ROLLBACK');
    await client?.end();
  });
  it('creates a table, view and function from validated pieces (rolled back)', async () => {
    await applyPrinted((sql) => client.query(sql));
  });
});
