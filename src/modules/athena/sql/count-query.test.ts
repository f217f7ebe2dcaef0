import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { tableCountSql, validateCountQuery } from './count-query.ts';
import { SqlRejectedError, SqlSyntaxError } from './errors.ts';

async function refused(sql: string): Promise<string> {
  try {
    await validateCountQuery(sql);
  } catch (err) {
    if (err instanceof SqlRejectedError) {
      expect(err.code).toBe('INVALID_COUNT_QUERY');
      expect(err.httpStatus).toBe(400);
      return err.message;
    }
    if (err instanceof SqlSyntaxError) return err.message;
    throw err;
  }
  throw new Error(`accepted: ${sql}`);
}

describe('validateCountQuery', () => {
  it('accepts count queries and lists the relations they read', async () => {
    expect(await validateCountQuery('SELECT COUNT(*) FROM http_request_log')).toEqual({
      sql: 'SELECT COUNT(*) FROM http_request_log',
      relations: [{ schema: null, name: 'http_request_log' }],
    });
    const q = await validateCountQuery(
      "select count(distinct client_name) from public.http_request_log l join audit a on a.id = l.id where l.created_at > now() - interval '1 day' and lower(l.path) like '/gateway%';",
    );
    expect(q.sql.endsWith(';')).toBe(false);
    expect(q.relations).toEqual([
      { schema: 'public', name: 'http_request_log' },
      { schema: null, name: 'audit' },
    ]);
    await validateCountQuery('SELECT pg_catalog.count(id) FROM t WHERE id IN (SELECT id FROM u WHERE u.x = 1)');
    await validateCountQuery('SELECT count(*) FILTER (WHERE status_code >= 500) FROM http_request_log');
    await validateCountQuery('SELECT count(*) AS n FROM (SELECT DISTINCT path FROM http_request_log) s');
  });

  it('refuses anything but one count(...) target', async () => {
    expect(await refused('SELECT * FROM t')).toMatch(/exactly one count/);
    expect(await refused('SELECT count(*), 1 FROM t')).toMatch(/found 2 items/);
    expect(await refused('SELECT sum(a) FROM t')).toMatch(/count/);
    expect(await refused('SELECT count(*) + 1 FROM t')).toMatch(/count/);
    expect(await refused('SELECT count(*) OVER () FROM t')).toMatch(/count/);
    expect(await refused('SELECT public.count(*) FROM t')).toMatch(/count/);
    expect(await refused('VALUES (1)')).toMatch(/count|VALUES/);
  });

  it('refuses GROUP BY, HAVING, set operations, WITH and locking', async () => {
    expect(await refused('SELECT count(*) FROM t GROUP BY a')).toMatch(/GROUP BY/);
    expect(await refused('SELECT count(*) FROM t HAVING count(*) > 1')).toMatch(/HAVING/);
    expect(await refused('SELECT count(*) FROM t UNION SELECT count(*) FROM u')).toMatch(/set operations/);
    expect(await refused('SELECT count(*) FROM t EXCEPT SELECT 1')).toMatch(/set operations/);
    expect(await refused('WITH x AS (SELECT 1) SELECT count(*) FROM x')).toMatch(/WITH/);
    expect(await refused('WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d')).toMatch(/WITH/);
    expect(await refused('SELECT count(*) FROM (WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d) s')).toMatch(
      /WITH/,
    );
    expect(await refused('SELECT count(*) FROM t FOR UPDATE')).toMatch(/locking/);
    expect(await refused('SELECT count(*) FROM (SELECT * FROM t FOR SHARE) s')).toMatch(/locking/);
    expect(await refused('SELECT count(*) INTO x FROM t')).toMatch(/INTO/);
  });

  it('refuses comments anywhere in the raw text', async () => {
    expect(await refused('SELECT count(*) FROM t -- hi')).toMatch(/comments/);
    expect(await refused('SELECT count(*) /* x */ FROM t')).toMatch(/comments/);
    expect(await refused("SELECT count(*) FROM t WHERE a = '--'")).toMatch(/comments/);
  });

  it('refuses multiple statements however they are hidden', async () => {
    expect(await refused('SELECT count(*) FROM t; DROP TABLE t')).toMatch(/exactly one statement/);
    expect(await refused("SELECT count(*) FROM t WHERE a = ';'; DELETE FROM t")).toMatch(/exactly one statement/);
    expect(await refused('SELECT count(*) FROM t WHERE a = $$;$$; DELETE FROM t')).toMatch(/exactly one statement/);
    expect(await refused('DELETE FROM t')).toMatch(/SELECT/);
  });

  it('refuses slow or dangerous function calls anywhere', async () => {
    expect(await refused('SELECT count(*) FROM t WHERE pg_sleep(10) IS NOT NULL')).toMatch(/pg_sleep/);
    expect(await refused('SELECT count(pg_sleep(10)) FROM t')).toMatch(/pg_sleep/);
    expect(await refused('SELECT count(*) FROM t WHERE a IN (SELECT pg_sleep(5))')).toMatch(/pg_sleep/);
    expect(await refused("SELECT count(*) FROM t WHERE a = pg_read_file('/etc/passwd')")).toMatch(/pg_read_file/);
    expect(await refused('SELECT count(*) FROM generate_series(1, 1000000000)')).toMatch(/generate_series|FROM/);
    expect(await refused("SELECT count(*) FROM t WHERE a = set_config('role', 'x', true)")).toMatch(/set_config/);
    expect(await refused('SELECT count(*) FROM t WHERE pg_catalog.pg_sleep(1) IS NULL')).toMatch(/pg_sleep/);
    expect(await refused('SELECT count(*) FROM t WHERE public.lower(a) = 1')).toMatch(/public\.lower/);
  });

  it("passes parse errors through as Postgres' own", async () => {
    expect(await refused('SELECT count(* FROM t')).toMatch(/syntax error/);
    expect(await refused('   ')).toMatch(/non-empty/);
  });

  it('quotes the table_name form', () => {
    expect(tableCountSql('public', 'http_request_log')).toBe('SELECT count(*) FROM "public"."http_request_log"');
    expect(tableCountSql('s"x', 't')).toBe('SELECT count(*) FROM "s""x"."t"');
  });
});

describe('accepted count queries run', () => {
  it('on PGlite, in a read-only transaction', async () => {
    const db = await PGlite.create();
    try {
      await db.exec(`CREATE TABLE http_request_log (id int, path text, status_code int, client_name text, created_at timestamptz DEFAULT now());
        INSERT INTO http_request_log (id, path, status_code, client_name) VALUES (1, '/gateway/a', 200, 'x'), (2, '/gateway/b', 503, 'y'), (3, '/other', 500, 'x');`);
      const cases: [string, number][] = [
        ['SELECT count(*) FROM http_request_log', 3],
        [
          "SELECT count(*) FROM http_request_log WHERE lower(path) LIKE '/gateway%' AND created_at > now() - interval '1 day'",
          2,
        ],
        ['SELECT count(DISTINCT client_name) FROM public.http_request_log', 2],
        ['SELECT count(*) FILTER (WHERE status_code >= 500) FROM http_request_log', 2],
        [tableCountSql('public', 'http_request_log'), 3],
      ];
      for (const [sql, expected] of cases) {
        const { sql: checked } = await validateCountQuery(sql);
        await db.exec('BEGIN READ ONLY');
        const { rows } = await db.query<{ count: number }>(checked);
        await db.exec('ROLLBACK');
        expect(Number(Object.values(rows[0] ?? {})[0]), sql).toBe(expected);
      }
    } finally {
      await db.close();
    }
  });
});
