import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type D1StandIn, splitSqliteStatements, startD1StandIn } from '../../../../test/kit/d1-standin.ts';
import { defaultOutboundPolicy, type OutboundPolicy } from '../../../core/net/outbound.ts';
import { parseD1MigrationRequest, runD1Migration } from './d1.ts';
import { D1Client } from './d1-client.ts';
import { D1RequestError } from './errors.ts';

/** Tests talk to the stand-in on loopback, which the guard allows only when configured to. */
const loopbackAllowed: OutboundPolicy = { ...defaultOutboundPolicy, allowPrivate: true, maxResponseBytes: 1024 * 1024 };

let d1: D1StandIn;
let client: D1Client;
beforeAll(async () => {
  d1 = await startD1StandIn();
  client = new D1Client({
    baseUrl: d1.baseUrl,
    accountId: d1.accountId,
    databaseId: d1.databaseId,
    apiToken: d1.token,
    outbound: loopbackAllowed,
  });
});
afterAll(async () => {
  await d1?.close();
});

const schema = `
CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL UNIQUE, created_at timestamptz DEFAULT now());
CREATE TABLE posts (id bigserial PRIMARY KEY, author_id uuid REFERENCES users (id) ON DELETE CASCADE, body jsonb, tags text[]);
CREATE INDEX CONCURRENTLY posts_author_idx ON posts (author_id);
CREATE VIEW post_counts AS SELECT author_id, count(*) AS n FROM posts GROUP BY author_id;
INSERT INTO users (id, email) VALUES ('u1', 'a@example.com'), ('u2', 'b@example.com');
INSERT INTO posts (author_id, body) VALUES ('u1', '{"x":1}'), ('u1', NULL), ('u2', '[]');
`;

describe('D1Client against the stand-in', () => {
  it('applies a converted schema in batches and sqlite_master shows it', async () => {
    const before = d1.requests();
    const r = await runD1Migration(
      parseD1MigrationRequest({
        driver: 'cloudflare-d1',
        dbName: 'app',
        schemaSql: schema,
        dryRun: false,
        batchSize: 2,
      }),
      client,
    );
    expect(r.httpStatus).toBe(200);
    const body = r.body as {
      status: string;
      perStatementResults: { status: string; batchIndex: number; rowsAffected?: number | null }[];
    };
    expect(body.status).toBe('applied');
    expect(body.perStatementResults.map((s) => s.status)).toEqual(Array(6).fill('applied'));
    expect(body.perStatementResults.map((s) => s.batchIndex)).toEqual([0, 0, 1, 1, 2, 2]);
    // Apply order: tables, index, view, then the two inserts (2 and 3 rows).
    expect(body.perStatementResults.slice(4).map((s) => s.rowsAffected)).toEqual([2, 3]);
    expect(d1.requests() - before).toBe(3);

    const [master] = await client.query(
      "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    );
    expect(master?.results).toEqual([
      { type: 'index', name: 'posts_author_idx', tbl_name: 'posts' },
      { type: 'table', name: 'posts', tbl_name: 'posts' },
      { type: 'table', name: 'users', tbl_name: 'users' },
      { type: 'view', name: 'post_counts', tbl_name: 'post_counts' },
    ]);
    const [counts] = await client.query('SELECT author_id, n FROM post_counts WHERE author_id = ?', ['u1']);
    expect(counts?.results).toEqual([{ author_id: 'u1', n: 2 }]);
    expect(counts?.success).toBe(true);
    const [ids] = await client.query('SELECT id FROM posts ORDER BY id');
    expect(ids?.results).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('stops at a failing batch: earlier batches applied, the rest not run, a 503 outcome', async () => {
    const r = await runD1Migration(
      parseD1MigrationRequest({
        driver: 'd1',
        dbName: 'app',
        schemaSql:
          'CREATE TABLE a (x int); CREATE TABLE users (id text); CREATE TABLE b (y int); CREATE TABLE c (z int)',
        dryRun: false,
        batchSize: 1,
      }),
      client,
    );
    expect(r.httpStatus).toBe(503);
    expect(r.failure).toBeInstanceOf(D1RequestError);
    expect(r.failure?.apiErrors[0]?.code).toBe(7500);
    expect(r.failure?.message).toMatch(/table "?users"? already exists/);
    const results = r.body as { status: string; perStatementResults: { status: string }[] };
    expect(results.status).toBe('failed');
    expect(results.perStatementResults.map((s) => s.status)).toEqual(['applied', 'failed', 'not_run', 'not_run']);
    const [tables] = await client.query(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b', 'c') ORDER BY name",
    );
    expect(tables?.results).toEqual([{ name: 'a' }]);
  });

  it('rolls back a whole failing batch', async () => {
    const outcome = await client.executeBatches(['CREATE TABLE batch_one (x int)', 'INSERT INTO nowhere VALUES (1)'], {
      batchSize: 5,
    });
    expect(outcome.failure).toBeInstanceOf(D1RequestError);
    expect(outcome.statements.map((s) => s.status)).toEqual(['failed', 'failed']);
    const [t] = await client.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'batch_one'");
    expect(t?.results).toEqual([{ n: 0 }]);
  });

  it('refuses a wrong token, an unknown database and bad configuration with typed errors', async () => {
    const wrongToken = new D1Client({
      baseUrl: d1.baseUrl,
      accountId: d1.accountId,
      databaseId: d1.databaseId,
      apiToken: 'nope',
      outbound: loopbackAllowed,
    });
    const err = await wrongToken.query('SELECT 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(D1RequestError);
    expect((err as D1RequestError).status).toBe(401);
    expect((err as D1RequestError).apiErrors).toEqual([{ code: 10000, message: 'Authentication error' }]);
    expect((err as D1RequestError).httpStatus).toBe(503);

    const otherDb = new D1Client({
      baseUrl: d1.baseUrl,
      accountId: d1.accountId,
      databaseId: 'other',
      apiToken: d1.token,
      outbound: loopbackAllowed,
    });
    expect(((await otherDb.query('SELECT 1').catch((e: unknown) => e)) as D1RequestError).apiErrors[0]?.code).toBe(
      7404,
    );

    expect(
      () => new D1Client({ accountId: '../x', databaseId: 'd', apiToken: 't', outbound: loopbackAllowed }),
    ).toThrow(D1RequestError);
    expect(
      () => new D1Client({ accountId: 'a', databaseId: 'd/../../x', apiToken: 't', outbound: loopbackAllowed }),
    ).toThrow(D1RequestError);
    expect(
      () => new D1Client({ accountId: 'a', databaseId: 'd', apiToken: 'x\r\nHost: evil', outbound: loopbackAllowed }),
    ).toThrow(D1RequestError);
  });

  it('goes through the outbound guard: loopback is refused unless the policy allows it', async () => {
    const guarded = new D1Client({
      baseUrl: d1.baseUrl,
      accountId: d1.accountId,
      databaseId: d1.databaseId,
      apiToken: d1.token,
      outbound: defaultOutboundPolicy,
    });
    const before = d1.requests();
    const err = (await guarded.query('SELECT 1').catch((e: unknown) => e)) as D1RequestError;
    expect(err).toBeInstanceOf(D1RequestError);
    expect(err.message).toMatch(/outbound guard.*loopback/);
    expect(d1.requests()).toBe(before);
    const metadata = new D1Client({
      baseUrl: 'http://169.254.169.254',
      accountId: 'a',
      databaseId: 'd',
      apiToken: 't',
      outbound: loopbackAllowed,
    });
    expect(((await metadata.query('SELECT 1').catch((e: unknown) => e)) as D1RequestError).message).toMatch(
      /outbound guard/,
    );
  });

  it('reports a malformed answer as a D1 failure', async () => {
    const notD1 = new D1Client({
      baseUrl: `${d1.baseUrl}/elsewhere`,
      accountId: d1.accountId,
      databaseId: d1.databaseId,
      apiToken: d1.token,
      outbound: loopbackAllowed,
    });
    const err = (await notD1.query('SELECT 1').catch((e: unknown) => e)) as D1RequestError;
    expect(err).toBeInstanceOf(D1RequestError);
    expect(err.status).toBe(404);
  });
});

describe('the stand-in statement splitter', () => {
  it('splits at semicolons outside quotes and comments', () => {
    expect(splitSqliteStatements(`SELECT 'a;b'; SELECT "c;d" -- x;y\n; /* ; */ SELECT [e;f];;`)).toEqual([
      "SELECT 'a;b'",
      'SELECT "c;d" -- x;y',
      '/* ; */ SELECT [e;f]',
    ]);
  });
});
