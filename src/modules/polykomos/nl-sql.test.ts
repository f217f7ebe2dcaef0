import { describe, expect, it } from 'vitest';
import { checkPostgresSql, describeSchema, extractSql, uniqueNames } from './nl-sql.ts';

describe('extractSql', () => {
  it('takes the first fenced block, else the whole answer, without trailing semicolons', () => {
    expect(extractSql('```sql\nSELECT 1;\n```\nThis counts.')).toBe('SELECT 1');
    expect(extractSql('  SELECT 2 ;; \n')).toBe('SELECT 2');
    expect(extractSql('```\nSELECT 3\n```')).toBe('SELECT 3');
    expect(extractSql('   ')).toBeUndefined();
    expect(extractSql('```sql\n```')).toBeUndefined();
  });
});

describe('checkPostgresSql', () => {
  it('lets SELECT, WITH … SELECT, VALUES, set operations and EXPLAIN of a SELECT through', async () => {
    for (const sql of [
      'SELECT * FROM t',
      'WITH x AS (SELECT 1 AS a) SELECT a FROM x',
      'VALUES (1), (2)',
      '(SELECT 1) UNION ALL (SELECT 2)',
      'TABLE t',
    ]) {
      expect(await checkPostgresSql(sql), sql).toMatchObject({ ok: true, kind: 'select', sql });
    }
    expect(await checkPostgresSql('EXPLAIN ANALYZE SELECT 1')).toMatchObject({ ok: true, kind: 'explain' });
    expect(await checkPostgresSql('SELECT 1;')).toMatchObject({ ok: true, sql: 'SELECT 1' });
  });

  it('refuses writes, DDL, SET, data-modifying CTEs, SELECT INTO, row locks and session functions', async () => {
    for (const sql of [
      'DELETE FROM t',
      'UPDATE t SET a = 1',
      "INSERT INTO t VALUES ('x')",
      'DROP TABLE t',
      'CREATE TABLE u (a int)',
      'SET statement_timeout = 0',
      'BEGIN',
      'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
      'SELECT * INTO u FROM t',
      'SELECT * FROM t FOR UPDATE',
      "SELECT set_config('statement_timeout', '0', false)",
      'SELECT * FROM t WHERE a IN (SELECT pg_catalog.pg_terminate_backend(1))',
      'EXPLAIN ANALYZE DELETE FROM t',
    ]) {
      const v = await checkPostgresSql(sql);
      expect(v, sql).toMatchObject({ ok: false, code: 'sql_not_read_only' });
    }
  });

  it('refuses several statements and text that does not parse', async () => {
    expect(await checkPostgresSql('SELECT 1; SELECT 2')).toMatchObject({ ok: false, code: 'multiple_statements' });
    expect(await checkPostgresSql('SELECT 1; DROP TABLE t')).toMatchObject({ ok: false, code: 'multiple_statements' });
    const bad = await checkPostgresSql('SELEC 1');
    expect(bad).toMatchObject({ ok: false, code: 'generated_sql_invalid' });
    expect(bad.ok === false && bad.message).toContain('syntax error');
  });
});

describe('describeSchema and uniqueNames', () => {
  it('lists tables with types, keys and references', () => {
    const text = describeSchema(
      'postgres',
      [
        { schema: 'public', table: 'teams', column: 'id', type: 'integer', nullable: false },
        { schema: 'public', table: 'users', column: 'id', type: 'integer', nullable: false },
        { schema: 'public', table: 'users', column: 'team_id', type: 'integer', nullable: true },
      ],
      [
        { schema: 'public', table: 'teams', column: 'id', kind: 'primary' },
        {
          schema: 'public',
          table: 'users',
          column: 'team_id',
          kind: 'foreign',
          references: { schema: 'public', table: 'teams', column: 'id' },
        },
      ],
    );
    expect(text).toBe(
      'public.teams: id integer not null primary key\n' +
        'public.users: id integer not null, team_id integer references public.teams(id)',
    );
    expect(describeSchema('mysql', [], [])).toBe('(the database has no tables)');
    expect(uniqueNames(['id', 'name', 'id', 'id'])).toEqual(['id', 'name', 'id_2', 'id_3']);
  });
});
