import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachable } from '../../../../test/kit/reachable.ts';
import { SqlRejectedError, SqlSyntaxError } from './errors.ts';
import { checkRawStatement, classifyStatement, requireSingleStatement } from './statement.ts';

async function rejection(p: Promise<unknown>): Promise<SqlRejectedError | SqlSyntaxError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SqlRejectedError || err instanceof SqlSyntaxError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('classifyStatement', () => {
  it.each([
    ['SELECT 1', 'select', true, false],
    ['select * from t where a = 1', 'select', true, false],
    ['VALUES (1), (2)', 'select', true, false],
    ['TABLE t', 'select', true, false],
    ['SHOW search_path', 'show', true, false],
    ['EXPLAIN SELECT 1', 'explain', true, false],
    ['EXPLAIN DELETE FROM t', 'explain', true, false],
    ['EXPLAIN ANALYZE SELECT 1', 'explain', true, false],
    ['EXPLAIN ANALYZE DELETE FROM t', 'explain', false, false],
    ['EXPLAIN (ANALYZE) UPDATE t SET a = 1', 'explain', false, false],
    ['EXPLAIN (ANALYZE false) UPDATE t SET a = 1', 'explain', true, false],
    ['SELECT * FROM t FOR UPDATE', 'select', false, false],
    ['SELECT * FROM (SELECT * FROM t FOR SHARE) s', 'select', false, false],
    ['WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'select', false, false],
    ['SELECT * FROM (WITH x AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT * FROM x) s', 'select', false, false],
    ['SELECT * INTO copy FROM t', 'select', false, true],
    ['INSERT INTO t VALUES (1)', 'insert', false, false],
    ['UPDATE t SET a = 1', 'update', false, false],
    ['DELETE FROM t', 'delete', false, false],
    ['CREATE TABLE t (a int)', 'ddl', false, true],
    ['ALTER TABLE t ADD COLUMN b text', 'ddl', false, true],
    ['DROP TABLE t', 'ddl', false, true],
    ['TRUNCATE t', 'ddl', false, true],
    ['BEGIN', 'transaction', false, false],
    ['SET ROLE postgres', 'set', false, false],
    ['COPY t TO STDOUT', 'copy', false, false],
    ['DO $$ BEGIN PERFORM 1; END $$', 'do', false, true],
    ['CALL p()', 'call', false, true],
    ['NOTIFY ch', 'notify', false, false],
    ['LISTEN ch', 'listen', false, false],
  ])('%s → %s readOnly=%s ddl=%s', async (sql, kind, readOnly, ddl) => {
    const c = await classifyStatement(sql);
    expect(c).toMatchObject({ kind, readOnly, ddl, statementCount: 1 });
  });

  it('counts statements and aggregates them', async () => {
    const c = await classifyStatement('SELECT 1; DELETE FROM t; CREATE TABLE x (a int)');
    expect(c).toMatchObject({ kind: 'multiple', statementCount: 3, readOnly: false, ddl: true });
    expect(c.nodeType).toBe('SelectStmt,DeleteStmt,CreateStmt');
    expect(await classifyStatement('-- only a comment')).toMatchObject({ kind: 'empty', statementCount: 0 });
  });
});

describe('requireSingleStatement', () => {
  it('accepts one statement with a trailing semicolon and comments', async () => {
    const { statement } = await requireSingleStatement('/* hi */ SELECT 1; -- bye');
    expect(statement.nodeType).toBe('SelectStmt');
    expect(statement.text).toBe('SELECT 1');
  });

  it('keeps semicolons inside literals, identifiers, comments and dollar quotes in one statement', async () => {
    for (const sql of [
      "SELECT 'a; DROP TABLE t'",
      'SELECT 1 AS "x; DROP TABLE t"',
      'SELECT 1 /* ; DROP TABLE t; */',
      'SELECT $$; DROP TABLE t;$$',
      'SELECT $tag$ $$; DROP TABLE t; $$ $tag$',
      "SELECT E'\\'; DROP TABLE t; --'",
    ]) {
      const { statement } = await requireSingleStatement(sql);
      expect(statement.nodeType, sql).toBe('SelectStmt');
    }
  });

  it('finds a second statement however it is hidden', async () => {
    for (const sql of [
      'SELECT 1; DROP TABLE t',
      "SELECT 'x'; DROP TABLE t; --'",
      'SELECT 1 -- comment\n; DROP TABLE t',
      'SELECT 1 /* a */; /* b */ DELETE FROM t',
      'SELECT $$x$$; DELETE FROM t; SELECT $$y$$',
      "SELECT 'it''s'; DELETE FROM t",
    ]) {
      const err = await rejection(requireSingleStatement(sql));
      expect(err.code, sql).toBe('SQL_MULTIPLE_STATEMENTS');
      expect(err.httpStatus).toBe(400);
    }
  });

  it('refuses empty text', async () => {
    expect((await rejection(requireSingleStatement('  '))).code).toBe('SQL_EMPTY');
    expect((await rejection(requireSingleStatement('-- nothing\n;'))).code).toBe('SQL_EMPTY');
  });

  it("reports Postgres' message and position on a parse error", async () => {
    const err = await rejection(requireSingleStatement('SELECT 1 FROM\nWHERE x'));
    expect(err).toBeInstanceOf(SqlSyntaxError);
    const syntax = err as SqlSyntaxError;
    expect(syntax.pgMessage).toBe('syntax error at or near "WHERE"');
    expect(syntax.position).toBe(15);
    expect(syntax.line).toBe(2);
    expect(syntax.column).toBe(1);
    expect(syntax.httpStatus).toBe(400);
    const unterminated = (await rejection(requireSingleStatement("SELECT 'abc"))) as SqlSyntaxError;
    expect(unterminated.pgMessage).toMatch(/unterminated quoted string/);
  });
});

describe('checkRawStatement', () => {
  it('lets ordinary reads and writes through in their modes', async () => {
    expect((await checkRawStatement('SELECT now()', { readOnly: true })).classification.kind).toBe('select');
    expect((await checkRawStatement('UPDATE t SET a = 1', { readOnly: false })).classification.kind).toBe('update');
    expect((await checkRawStatement('CREATE TABLE x (a int)', { readOnly: false })).classification.ddl).toBe(true);
    expect((await checkRawStatement('DO $$ BEGIN END $$', { readOnly: false })).classification.kind).toBe('do');
    expect((await checkRawStatement('NOTIFY ch', { readOnly: false })).classification.kind).toBe('notify');
  });

  it('refuses writes, DO blocks and locking reads when read-only is required', async () => {
    for (const sql of [
      'DELETE FROM t',
      'DO $$ BEGIN DELETE FROM t; END $$',
      'SELECT * FROM t FOR UPDATE',
      'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
      'SELECT * INTO x FROM t',
      'EXPLAIN ANALYZE DELETE FROM t',
      'CREATE TABLE x (a int)',
      'NOTIFY ch',
      'CALL p()',
    ]) {
      expect((await rejection(checkRawStatement(sql, { readOnly: true }))).code, sql).toBe('SQL_NOT_READ_ONLY');
    }
  });

  it('refuses what escapes the route transaction or role in every mode', async () => {
    for (const sql of [
      'BEGIN',
      'COMMIT',
      'ROLLBACK',
      'SAVEPOINT s',
      'SET ROLE postgres',
      'SET SESSION AUTHORIZATION postgres',
      'RESET ALL',
      'RESET ROLE',
      'SET statement_timeout = 0',
      'SET LOCAL statement_timeout = 0',
      'SET TRANSACTION READ WRITE',
      "COPY t FROM PROGRAM 'id'",
      "COPY t TO PROGRAM 'curl evil'",
      "COPY t FROM '/etc/passwd'",
      'COPY (SELECT 1) TO STDOUT',
      'LISTEN ch',
      'UNLISTEN *',
      'DISCARD ALL',
      'PREPARE p AS SELECT 1',
      "LOAD 'evil'",
      'VACUUM t',
      'CREATE DATABASE x',
      'ALTER SYSTEM SET work_mem = 1',
      'CREATE ROLE x SUPERUSER',
      'CREATE INDEX CONCURRENTLY i ON t (a)',
      'CREATE EXTENSION postgres_fdw',
      "CREATE SERVER evil FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '169.254.169.254')",
      'CREATE USER MAPPING FOR CURRENT_USER SERVER evil',
      'IMPORT FOREIGN SCHEMA public FROM SERVER evil INTO public',
      'ALTER DATABASE postgres SET statement_timeout = 0',
      'ALTER ROLE CURRENT_USER SET statement_timeout = 0',
      "SELECT set_config('role', 'postgres', false)",
      "SELECT pg_catalog.set_config('statement_timeout', '0', false)",
      "SELECT * FROM t WHERE a = (SELECT pg_read_file('/etc/passwd'))",
    ]) {
      const err = await rejection(checkRawStatement(sql, { readOnly: false }));
      expect(err.code, sql).toBe('SQL_STATEMENT_REFUSED');
    }
  });

  it('refuses several statements before looking at any', async () => {
    expect((await rejection(checkRawStatement('SELECT 1; COMMIT; DROP TABLE t', { readOnly: false }))).code).toBe(
      'SQL_MULTIPLE_STATEMENTS',
    );
  });
});

const postgresUrl = process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const postgresUp = await reachable(postgresUrl);
if (!postgresUp) console.warn(`nothing answers at ${postgresUrl}: the Postgres 15 half of statement.test.ts skips`);

/** Statements whose verdict Postgres itself confirms: read-only ones run in a READ ONLY transaction, the others fail there. */
const verdicts = [
  'SELECT * FROM t',
  'VALUES (1)',
  'TABLE t',
  'SHOW search_path',
  'EXPLAIN SELECT * FROM t',
  'EXPLAIN DELETE FROM t',
  'EXPLAIN ANALYZE SELECT * FROM t',
  'SELECT * FROM t FOR UPDATE',
  'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
  'SELECT * INTO t_copy FROM t',
  'EXPLAIN ANALYZE DELETE FROM t',
  'INSERT INTO t VALUES (1)',
  'UPDATE t SET a = 2',
  'DELETE FROM t',
  'CREATE TABLE t2 (a int)',
];

async function confirmVerdicts(query: (sql: string) => Promise<unknown>): Promise<void> {
  await query('CREATE TABLE IF NOT EXISTS t (a int)');
  for (const sql of verdicts) {
    const { readOnly } = await classifyStatement(sql);
    await query('BEGIN READ ONLY');
    let failure: unknown;
    try {
      await query(sql);
    } catch (err) {
      failure = err;
    } finally {
      await query('ROLLBACK');
    }
    if (readOnly) expect(failure, sql).toBeUndefined();
    else expect(String((failure as Error | undefined)?.message), sql).toMatch(/read-only transaction/);
  }
}

describe('read-only verdicts agree with Postgres', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = await PGlite.create();
  });
  afterAll(async () => {
    await db?.close();
  });
  it('on PGlite', async () => {
    await confirmVerdicts((sql) => db.query(sql));
  });
});

describe.skipIf(!postgresUp)('read-only verdicts agree with Postgres 15', () => {
  const schema = `athena_sql_test_${process.pid}_${Date.now()}`;
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    // A regular table in a schema of its own: temporary tables are writable even in read-only transactions.
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET search_path TO ${schema}`);
  });
  afterAll(async () => {
    await client?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client?.end();
  });
  it('on the server', async () => {
    await confirmVerdicts((sql) => client.query(sql));
  });
});
