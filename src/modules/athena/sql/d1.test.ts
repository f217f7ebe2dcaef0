import { DatabaseSync } from 'node:sqlite';
import { beforeAll, describe, expect, it } from 'vitest';
import { athenaSurface } from '../../../../rest-shim/athena/surface.ts';
import { createContractValidator } from '../../../../rest-shim/engine/contract.ts';
import { convertPostgresToD1, d1RequestErrorBody, parseD1MigrationRequest, runD1Migration } from './d1.ts';
import type { D1BatchOutcome, D1Executor } from './d1-client.ts';
import { D1RequestError, SqlRejectedError } from './errors.ts';

const migrate = '/gateway/sql/d1/migrate';
/** Athena's patched contract, as test/kit/contract.ts loads it (without starting every surface). */
let contract: { expectValidResponse(method: string, path: string, status: number, body: unknown): void };
beforeAll(async () => {
  const validator = await createContractValidator(athenaSurface.contract);
  contract = {
    expectValidResponse(method, path, status, body) {
      expect(validator.definesResponse(method, path, status), `${method} ${path} ${status} has a schema`).toBe(true);
      expect(validator.responseErrors(method, path, status, body), JSON.stringify(body).slice(0, 500)).toBeNull();
    },
  };
  // The check itself must be able to fail: a body without the required fields is refused.
  expect(validator.responseErrors('POST', migrate, 200, { status: 'preview' })).not.toBeNull();
  expect(validator.responseErrors('POST', migrate, 422, { status: 'invalid', originalSql: '' })).not.toBeNull();
});

const schema = `
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE posts (
  id bigserial PRIMARY KEY,
  author_id uuid NOT NULL REFERENCES public.users(id) ON DELETE CASCADE,
  title varchar(200) NOT NULL DEFAULT 'untitled',
  body jsonb DEFAULT '{}'::jsonb,
  tags text[],
  score numeric(10,2) CHECK (score >= 0),
  feeling mood,
  published boolean DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text UNIQUE, n int GENERATED ALWAYS AS IDENTITY);
CREATE UNIQUE INDEX CONCURRENTLY posts_title_idx ON posts USING btree (lower(title)) WHERE published;
ALTER TABLE ONLY posts ADD CONSTRAINT posts_score_positive CHECK (score < 1000000);
INSERT INTO users (id, email) VALUES ('a', 'x@y'), ('b', 'it''s');
CREATE VIEW recent AS SELECT p.id, p.title FROM posts p JOIN users u ON u.id = p.author_id ORDER BY p.id DESC LIMIT 10;
`;

/** Every code of a conversion's diagnostics. */
function codes(list: { code: string }[]): string[] {
  return [...new Set(list.map((d) => d.code))].sort();
}

/** Runs the converted SQL for real in SQLite (what D1 is). */
function applyToSqlite(sql: string): DatabaseSync {
  const db = new DatabaseSync(':memory:');
  db.exec('PRAGMA foreign_keys = ON');
  db.exec(sql);
  return db;
}

describe('parseD1MigrationRequest', () => {
  it('accepts camelCase and snake_case with the contract defaults', () => {
    expect(parseD1MigrationRequest({ driver: 'd1', dbName: 'app', schemaSql: 'SELECT 1' })).toEqual({
      driver: 'cloudflare-d1',
      dbName: 'app',
      sources: ['SELECT 1'],
      dialect: 'postgresql',
      dryRun: true,
      strict: true,
      batchSize: null,
    });
    expect(
      parseD1MigrationRequest({
        driver: 'athena-d1',
        db_name: 'app',
        schema_sql: 'x',
        dry_run: false,
        strict: false,
        batch_size: 5,
      }),
    ).toMatchObject({ dbName: 'app', sources: ['x'], dryRun: false, strict: false, batchSize: 5 });
    expect(
      parseD1MigrationRequest({ driver: 'cloudflare-d1', dbName: 'a', statements: ['A', ' ', 'B'] }).sources,
    ).toEqual(['A', 'B']);
    expect(
      parseD1MigrationRequest({ driver: 'cloudflare-d1', dbName: 'a', schemaSql: '', files: ['F'] }).sources,
    ).toEqual(['F']);
  });

  it('refuses bad bodies with a 400', () => {
    for (const body of [
      null,
      [],
      { dbName: 'a', schemaSql: 'x' },
      { driver: 'postgresql', dbName: 'a', schemaSql: 'x' },
      { driver: 'd1', schemaSql: 'x' },
      { driver: 'd1', dbName: 'a' },
      { driver: 'd1', dbName: 'a', schemaSql: 'x', dialect: 'mysql' },
      { driver: 'd1', dbName: 'a', schemaSql: 'x', dryRun: 'no' },
      { driver: 'd1', dbName: 'a', schemaSql: 'x', batchSize: 0 },
      { driver: 'd1', dbName: 'a', schemaSql: 'x', batchSize: 1.5 },
      { driver: 'd1', dbName: 'a', schemaSql: 'x', dryRun: true, dry_run: false },
      { driver: 'd1', dbName: 'a', statements: [1] },
    ]) {
      expect(() => parseD1MigrationRequest(body), JSON.stringify(body)).toThrow(SqlRejectedError);
    }
    contract.expectValidResponse('POST', migrate, 400, d1RequestErrorBody('Invalid driver'));
  });
});

describe('convertPostgresToD1', () => {
  it('converts a schema by the contract table and the SQL runs in SQLite', async () => {
    const { preview, planned, rejected } = await convertPostgresToD1(schema, { strict: false });
    expect(rejected).toBe(false);
    expect(preview.status).toBe('preview');
    contract.expectValidResponse('POST', migrate, 200, preview);
    expect(codes(preview.warnings)).toEqual(
      expect.arrayContaining([
        'type.serial',
        'ddl.identity',
        'type.uuid',
        'type.json',
        'type.numeric',
        'type.custom',
        'type.array',
        'type.time',
        'ddl.timestamp',
        'ddl.index',
        'unsupported.extension',
      ]),
    );
    expect(preview.errors).toEqual([]);
    const posts = preview.statements[2];
    expect(posts?.targetSql).toContain('"id" INTEGER PRIMARY KEY AUTOINCREMENT');
    expect(posts?.targetSql).toContain('"author_id" TEXT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE');
    expect(posts?.targetSql).toContain('"score" REAL CHECK');
    expect(posts?.targetSql).toContain(`"feeling" TEXT CHECK ("feeling" IN ('happy', 'sad'))`);
    expect(posts?.targetSql).toContain('"created_at" TEXT NOT NULL DEFAULT (CURRENT_TIMESTAMP)');
    expect(posts?.targetSql).toContain('CONSTRAINT "posts_score_positive" CHECK');
    expect(preview.statements[4]?.targetSql).toBe(
      'CREATE UNIQUE INDEX "posts_title_idx" ON "posts" ((lower("title"))) WHERE "published"',
    );
    expect(preview.statements[0]).toMatchObject({ action: 'skipped', targetSql: '', applyOrder: -1 });
    expect(preview.statements[5]).toMatchObject({ action: 'warning', targetSql: '', applyOrder: -1 });
    // users (referenced) before posts, then the index, the view, the rows.
    expect(preview.sourceMeta.estimatedApplyOrder).toEqual([3, 2, 4, 7, 6]);
    expect(preview.statements.map((s) => s.applyOrder)).toEqual([-1, -1, 1, 0, 2, -1, 4, 3]);
    expect(preview.sourceMeta.statementCount).toBe(8);
    expect(preview.statements[2]?.sourceRange).toMatchObject({
      statementIndex: 2,
      startLine: 4,
      startColumn: 1,
      endLine: 14,
      endColumn: 1,
    });
    expect(planned.map((p) => p.statementIndex)).toEqual([3, 2, 4, 7, 6]);

    const db = applyToSqlite(preview.convertedSql);
    const objects = db
      .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
      .all();
    expect(objects).toEqual([
      { type: 'index', name: 'posts_title_idx' },
      { type: 'table', name: 'posts' },
      { type: 'table', name: 'users' },
      { type: 'view', name: 'recent' },
    ]);
    db.prepare("INSERT INTO posts (author_id, title, score, feeling) VALUES ('a', 't', 1.5, 'happy')").run();
    expect(() => db.prepare("INSERT INTO posts (author_id, feeling) VALUES ('a', 'angry')").run()).toThrow(/CHECK/);
    expect(() => db.prepare("INSERT INTO posts (author_id) VALUES ('nobody')").run()).toThrow(/FOREIGN KEY/);
    const row = db.prepare('SELECT id, created_at, published, body FROM posts').get() as Record<string, unknown>;
    expect(row).toMatchObject({ id: 1, published: 0, body: '{}' });
    expect(String(row.created_at)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const user = db.prepare("INSERT INTO users (email) VALUES ('new') RETURNING id").get() as { id: string };
    expect(user.id).toMatch(/^[0-9a-f]{32}$/);
    db.close();
  });

  it('fails strict mode on unsupported constructs with 422 diagnostics, and warns otherwise', async () => {
    const sql = `CREATE EXTENSION postgis;
CREATE PUBLICATION pub FOR ALL TABLES;
CREATE ROLE app LOGIN;
COPY t FROM STDIN;
LISTEN ch;
NOTIFY ch;
CREATE TABLE m (a int) PARTITION BY RANGE (a);
CREATE TABLE g (p point);
CREATE TABLE ok (id serial PRIMARY KEY);`;
    const strict = await runD1Migration(parseD1MigrationRequest({ driver: 'd1', dbName: 'x', schemaSql: sql }));
    expect(strict.httpStatus).toBe(422);
    contract.expectValidResponse('POST', migrate, 422, strict.body);
    const body = strict.body as Awaited<ReturnType<typeof convertPostgresToD1>>['preview'];
    expect(codes(body.errors)).toEqual([
      'type.unsupported',
      'unsupported.copy',
      'unsupported.extension',
      'unsupported.listen',
      'unsupported.notify',
      'unsupported.partitioning',
      'unsupported.publication',
      'unsupported.role',
    ]);
    expect(body.errors.find((e) => e.code === 'unsupported.role')?.sourceRange).toMatchObject({
      startLine: 3,
      endLine: 3,
    });
    expect(codes(body.warnings)).toEqual(['type.serial']);

    const lenient = await runD1Migration(
      parseD1MigrationRequest({ driver: 'd1', dbName: 'x', schemaSql: sql, strict: false }),
    );
    expect(lenient.httpStatus).toBe(200);
    const preview = lenient.body as typeof body;
    expect(preview.errors).toEqual([]);
    expect(preview.statements.filter((s) => s.action === 'skipped')).toHaveLength(7);
    expect(preview.convertedSql).toBe(
      'CREATE TABLE "g" (\n  "p" TEXT\n);\nCREATE TABLE "ok" (\n  "id" INTEGER PRIMARY KEY AUTOINCREMENT\n);',
    );
  });

  it('answers a parse error as a 422 diagnostic with its position', async () => {
    const r = await runD1Migration(
      parseD1MigrationRequest({
        driver: 'd1',
        dbName: 'x',
        schemaSql: 'CREATE TABLE t (a int);\nCREAT TABLE u (b int);',
        strict: false,
      }),
    );
    expect(r.httpStatus).toBe(422);
    contract.expectValidResponse('POST', migrate, 422, r.body);
    const body = r.body as Awaited<ReturnType<typeof convertPostgresToD1>>['preview'];
    expect(body.errors[0]).toMatchObject({ code: 'unsupported.syntax', sourceRange: { startLine: 2, startColumn: 1 } });
    expect(body.errors[0]?.message).toMatch(/syntax error at or near "CREAT"/);
  });

  it('keeps hostile identifiers and literals quoted', async () => {
    const sql = `CREATE TABLE "x""; DROP TABLE y; --" ("a'b" text DEFAULT 'it''s; DROP', "c""d" int CHECK ("c""d" > 0));
INSERT INTO "x""; DROP TABLE y; --" ("a'b") VALUES ('); DELETE FROM y; --');`;
    const { preview } = await convertPostgresToD1(sql, { strict: true });
    expect(preview.errors).toEqual([]);
    const db = applyToSqlite(preview.convertedSql);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables).toEqual([{ name: 'x"; DROP TABLE y; --' }]);
    expect(db.prepare('SELECT "a\'b" AS v FROM "x""; DROP TABLE y; --"').all()).toEqual([
      { v: '); DELETE FROM y; --' },
    ]);
    db.close();
  });

  it('drops what SQLite cannot express with a diagnostic instead of emitting it', async () => {
    const sql = `CREATE TABLE t (a int DEFAULT random_thing(), b text CHECK (b ~ '^x'), c int);
CREATE INDEX t_gin ON t USING gin (c);
CREATE INDEX ON t (c DESC NULLS LAST);
DROP TABLE IF EXISTS old, older CASCADE;
ALTER TABLE t RENAME COLUMN c TO d;
ALTER TABLE elsewhere ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES t (a);
INSERT INTO t (a) VALUES (DEFAULT);
BEGIN;`;
    const { preview } = await convertPostgresToD1(sql, { strict: true });
    expect(preview.status).toBe('invalid');
    expect(codes(preview.errors)).toEqual([
      'unsupported.alter_table',
      'unsupported.cascade',
      'unsupported.function',
      'unsupported.insert_default',
      'unsupported.operator',
      'unsupported.transaction',
    ]);
    expect(preview.statements[0]?.targetSql).toBe('CREATE TABLE "t" (\n  "a" INTEGER,\n  "b" TEXT,\n  "c" INTEGER\n)');
    expect(preview.statements[1]?.targetSql).toBe('CREATE INDEX "t_gin" ON "t" ("c")');
    expect(preview.statements[2]?.targetSql).toBe('CREATE INDEX "t_c_idx" ON "t" ("c" DESC)');
    expect(preview.statements[3]?.targetSql).toBe('DROP TABLE IF EXISTS "old";\nDROP TABLE IF EXISTS "older"');
    expect(preview.statements[4]?.targetSql).toBe('ALTER TABLE "t" RENAME COLUMN "c" TO "d"');
    // Drops first, then the table, the rename, the indexes.
    expect(preview.sourceMeta.estimatedApplyOrder).toEqual([3, 0, 4, 1, 2]);
  });

  it('converts ALTER TABLE where SQLite can and refuses keys on ADD COLUMN', async () => {
    const sql = `CREATE TABLE t (id integer PRIMARY KEY);
ALTER TABLE t ADD COLUMN note text DEFAULT 'n', DROP COLUMN old;
ALTER TABLE t ADD COLUMN code text UNIQUE;
ALTER TABLE t ADD COLUMN seq serial;
ALTER TABLE t ALTER COLUMN note SET NOT NULL;
ALTER TABLE t RENAME TO u;`;
    const { preview } = await convertPostgresToD1(sql, { strict: false });
    expect(preview.statements.map((s) => s.targetSql)).toEqual([
      'CREATE TABLE "t" (\n  "id" INTEGER PRIMARY KEY\n)',
      `ALTER TABLE "t" ADD COLUMN "note" TEXT DEFAULT ('n');\nALTER TABLE "t" DROP COLUMN "old"`,
      '',
      '',
      '',
      'ALTER TABLE "t" RENAME TO "u"',
    ]);
    expect(preview.warnings.filter((w) => w.code === 'unsupported.alter_table').map((w) => w.statementIndex)).toEqual([
      2, 3, 4,
    ]);
  });

  it('takes pg_dump output in non-strict mode and the result runs', async () => {
    const dump = `SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.accounts (id integer NOT NULL, name character varying(50), balance numeric(12,2) DEFAULT 0.00 NOT NULL);
ALTER TABLE public.accounts OWNER TO app;
CREATE SEQUENCE public.accounts_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
ALTER SEQUENCE public.accounts_id_seq OWNED BY public.accounts.id;
CREATE TABLE public.entries (id bigint NOT NULL, account_id integer, at timestamp without time zone DEFAULT CURRENT_TIMESTAMP);
ALTER TABLE ONLY public.accounts ALTER COLUMN id SET DEFAULT nextval('public.accounts_id_seq'::regclass);
ALTER TABLE ONLY public.accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.entries ADD CONSTRAINT entries_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.entries ADD CONSTRAINT entries_account_fk FOREIGN KEY (account_id) REFERENCES public.accounts(id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX entries_account_idx ON public.entries USING btree (account_id);
GRANT ALL ON TABLE public.accounts TO reader;
COMMENT ON TABLE public.accounts IS 'money';`;
    const strict = await convertPostgresToD1(dump, { strict: true });
    expect(strict.rejected).toBe(true);
    expect(codes(strict.preview.errors)).toEqual([
      'unsupported.alter_table',
      'unsupported.comment',
      'unsupported.grant',
      'unsupported.select',
      'unsupported.sequence',
      'unsupported.set',
    ]);
    const { preview } = await convertPostgresToD1(dump, { strict: false });
    expect(preview.statements[6]?.targetSql).toBe(
      'CREATE TABLE "entries" (\n  "id" INTEGER NOT NULL,\n  "account_id" INTEGER,\n  "at" TEXT DEFAULT (CURRENT_TIMESTAMP),\n  CONSTRAINT "entries_pkey" PRIMARY KEY ("id"),\n  CONSTRAINT "entries_account_fk" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") DEFERRABLE INITIALLY DEFERRED\n)',
    );
    expect(codes(preview.warnings)).toEqual(
      expect.arrayContaining(['ddl.constraint', 'ddl.foreign_key', 'type.numeric', 'type.time']),
    );
    const db = applyToSqlite(preview.convertedSql);
    // An INTEGER PRIMARY KEY is SQLite's rowid: the dropped sequence default is not missed.
    db.prepare("INSERT INTO accounts (name) VALUES ('a')").run();
    expect(db.prepare('SELECT id, balance FROM accounts').all()).toEqual([{ id: 1, balance: 0 }]);
    expect(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'entries_account_idx'").all(),
    ).toHaveLength(1);
    db.close();
  });

  it('fingerprints the statements, not their formatting', async () => {
    const a = await convertPostgresToD1('CREATE TABLE t (a int);', { strict: true });
    const b = await convertPostgresToD1('-- comment\ncreate   table t (\n a  integer\n)', { strict: true });
    const c = await convertPostgresToD1('CREATE TABLE t (a bigint);', { strict: true });
    expect(a.preview.sourceMeta.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.preview.sourceMeta.fingerprint).toBe(a.preview.sourceMeta.fingerprint);
    expect(c.preview.sourceMeta.fingerprint).not.toBe(a.preview.sourceMeta.fingerprint);
  });

  it('joins statements and files as separate units', async () => {
    const r = await convertPostgresToD1(['CREATE TABLE a (x int) -- trailing', 'CREATE TABLE b (y int)'], {
      strict: true,
    });
    expect(r.preview.sourceMeta.statementCount).toBe(2);
    expect(r.planned).toHaveLength(2);
  });
});

describe('runD1Migration execution', () => {
  it('applies the plan through the executor and reports per-statement results', async () => {
    const seen: string[][] = [];
    const executor: D1Executor = {
      async executeBatches(statements, options): Promise<D1BatchOutcome> {
        seen.push(statements);
        expect(options?.batchSize).toBe(2);
        return {
          statements: statements.map((_, index) => ({
            index,
            batchIndex: Math.floor(index / 2),
            status: 'applied',
            rowsAffected: 0,
            durationMs: 1,
            results: [],
          })),
        };
      },
    };
    const r = await runD1Migration(
      parseD1MigrationRequest({
        driver: 'd1',
        dbName: 'x',
        schemaSql: schema,
        dryRun: false,
        strict: false,
        batchSize: 2,
      }),
      executor,
    );
    expect(r.httpStatus).toBe(200);
    contract.expectValidResponse('POST', migrate, 200, r.body);
    expect(r.body).toMatchObject({ status: 'applied', planId: expect.stringMatching(/^d1plan_[0-9a-f]{24}$/) });
    expect(seen[0]).toHaveLength(5);

    const failing: D1Executor = {
      async executeBatches(statements) {
        return {
          statements: statements.map((_, index) => ({
            index,
            batchIndex: index,
            status: index === 0 ? 'applied' : index === 1 ? 'failed' : 'not_run',
            rowsAffected: null,
            durationMs: null,
            results: [],
          })),
          failure: new D1RequestError('boom'),
        };
      },
    };
    const f = await runD1Migration(
      parseD1MigrationRequest({ driver: 'd1', dbName: 'x', schemaSql: schema, dry_run: false, strict: false }),
      failing,
    );
    expect(f.httpStatus).toBe(503);
    expect(f.failure?.httpStatus).toBe(503);
    expect((f.body as { perStatementResults: { status: string }[] }).perStatementResults.map((s) => s.status)).toEqual([
      'applied',
      'failed',
      'not_run',
      'not_run',
      'not_run',
    ]);
  });

  it('does not execute without an executor', async () => {
    await expect(
      runD1Migration(
        parseD1MigrationRequest({ driver: 'd1', dbName: 'x', schemaSql: 'CREATE TABLE t (a int)', dryRun: false }),
      ),
    ).rejects.toThrow(SqlRejectedError);
  });
});
