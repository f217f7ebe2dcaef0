import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PolykomosNlqCreateDocument,
  PolykomosNlqExecutionDocument,
  PolykomosNlqHistoryDocument,
  PolykomosNlqNodeDocument,
} from '../generated/polykomos.ts';
import { gql, type TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import { goclawCall } from '../kit/goclaw.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';
import {
  createPolykomosKey,
  type DatabaseCredentials,
  type PolykomosKey,
  polykomosClient,
  polykomosMysqlUrl,
  polykomosPostgresUrl,
  queryAsOwner,
  startPolykomosApp,
} from '../kit/polykomos.ts';

/*
 * createQueryExecution end to end: a real server, GoClaw's provider registry pointing at the loopback LLM
 * stand-in (the model's SQL answer is scripted per test), real provisioned Postgres and MariaDB databases the
 * generated SQL really runs on. maxRows is 3 and the statement timeout 1 s here, so truncation and timeouts show.
 */

let llm: LlmStandin;
let t: TestApp;
let contract: ContractExpectations;
let call: ReturnType<typeof polykomosClient>;
let key: PolykomosKey;
let other: PolykomosKey;
const scopes = ['databases:read', 'databases:write', 'queries:write'];

beforeAll(async () => {
  llm = await startLlmStandin();
  t = await startPolykomosApp({
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ATRIUM_POLYKOMOS_NLQ_PROVIDER: 'nlq',
    ATRIUM_POLYKOMOS_NLQ_MODEL: 'standin-small',
    ATRIUM_POLYKOMOS_NLQ_MAX_ROWS: '3',
    ATRIUM_POLYKOMOS_NLQ_STATEMENT_TIMEOUT_MS: '1000',
  });
  contract = await contractValidator('polykomos');
  call = polykomosClient(t, contract);
  const made = await goclawCall(t, 'POST', '/v1/providers', {
    token: t.adminKey,
    body: { name: 'nlq', provider_type: 'openai_compat', api_base: llm.openaiBase },
  });
  expect(made.status).toBe(201);
  key = await createPolykomosKey(t, scopes);
  other = await createPolykomosKey(t, scopes);
});

afterAll(async () => {
  await t?.close();
  await llm?.close();
});

const ask = (databaseUuid: string, query: string, k = key) =>
  call('POST', '/api/v1/query_executions', { key: k.raw, body: { database_uuid: databaseUuid, query } });

/** The last prompt the stand-in received: its system message and the user's question. */
function lastPrompt(): { system: string; user: string } {
  const body = llm.requests.at(-1)?.body;
  return {
    system: body.messages.find((m: any) => m.role === 'system')?.content ?? '',
    user: body.messages.find((m: any) => m.role === 'user')?.content ?? '',
  };
}

async function createDatabase(dbType: 'postgres' | 'mysql', k = key): Promise<DatabaseCredentials & any> {
  const r = await call('POST', '/api/v1/databases?wait=true&timeout=60', {
    key: k.raw,
    body: { name: `nlq-${dbType}-${randomUUID().slice(0, 8)}`, db_type: dbType },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data;
}

/** Runs statements as the database's own login (the test's seeding, not the product's). */
async function asOwner(db: DatabaseCredentials & { db_type: string }, statements: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  if (db.db_type === 'postgres') {
    for (const s of statements) out.push((await queryAsOwner(db, s)).rows);
    return out;
  }
  const c = await mysql.createConnection({
    host: db.host,
    port: db.port,
    database: db.db_name,
    user: db.db_username,
    password: db.db_password,
  });
  try {
    for (const s of statements) out.push((await c.query(s))[0]);
  } finally {
    await c.end();
  }
  return out;
}

const engines = [
  { engine: 'postgres' as const, url: polykomosPostgresUrl },
  { engine: 'mysql' as const, url: polykomosMysqlUrl },
];

for (const { engine, url } of engines) {
  describe.skipIf(!url)(`natural-language queries on ${engine}`, () => {
    let db: DatabaseCredentials & any;
    const count = async () => {
      const [rows] = await asOwner(db, ['SELECT COUNT(*) AS n FROM items']);
      return Number((rows as { n: unknown }[])[0]?.n);
    };

    beforeAll(async () => {
      db = await createDatabase(engine);
      await asOwner(db, [
        'CREATE TABLE teams (id integer PRIMARY KEY, title varchar(40) NOT NULL)',
        'CREATE TABLE items (id integer PRIMARY KEY, name varchar(40) NOT NULL, team_id integer, ' +
          'FOREIGN KEY (team_id) REFERENCES teams(id))',
        "INSERT INTO teams VALUES (1, 'red'), (2, 'blue')",
        "INSERT INTO items VALUES (1, 'apple', 1), (2, 'pear', 1), (3, 'plum', 2), (4, 'fig', 2), (5, 'kiwi', NULL)",
      ]);
    });

    afterAll(async () => {
      if (db) await call('DELETE', `/api/v1/databases/${db.uuid}`, { key: key.raw }).catch(() => undefined);
    });

    it('runs the model’s SELECT on the database: flat 200 with rows, sql and query_id; schema in the prompt', async () => {
      llm.script({
        text: '```sql\nSELECT i.name, t.title FROM items i JOIN teams t ON t.id = i.team_id WHERE t.id = 2 ORDER BY i.id;\n```',
      });
      const r = await ask(db.uuid, 'Which items belong to the blue team?');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.headers.get('x-request-id')).toBe(r.body.request_id);
      expect(Object.keys(r.body).sort()).toEqual(['query_id', 'request_id', 'result', 'sql', 'success']);
      expect(r.body).toMatchObject({
        success: true,
        sql: 'SELECT i.name, t.title FROM items i JOIN teams t ON t.id = i.team_id WHERE t.id = 2 ORDER BY i.id',
        result: {
          type: 'select',
          rows: [
            { name: 'plum', title: 'blue' },
            { name: 'fig', title: 'blue' },
          ],
          rowCount: 2,
          truncated: false,
          maxRows: 3,
        },
      });
      expect(Number.isInteger(r.body.query_id)).toBe(true);
      // The prompt carried the introspected schema (tables, types, keys, references) and the question as asked.
      const prompt = lastPrompt();
      expect(prompt.user).toBe('Which items belong to the blue team?');
      expect(prompt.system).toContain(engine === 'postgres' ? 'PostgreSQL' : 'MySQL');
      expect(prompt.system).toMatch(/items: id (integer|int\(11\)) not null primary key, name/);
      expect(prompt.system).toMatch(/team_id (integer|int\(11\)) references (public\.)?teams\(id\)/);
      expect(llm.requests.at(-1)?.body.model).toBe('standin-small');

      // Recorded: the execution (GraphQL node) and the model call as a GoClaw trace with one llm_call span.
      const got = await gql(t.baseUrl, PolykomosNlqExecutionDocument, { queryId: r.body.query_id }, key.raw);
      const e = got.body.data?.polykomosQueryExecution;
      expect(e?.__typename).toBe('QueryPolykomosQueryExecutionSuccess');
      const exec = e?.__typename === 'QueryPolykomosQueryExecutionSuccess' ? e.data : undefined;
      expect(exec).toMatchObject({
        queryId: r.body.query_id,
        naturalQuery: 'Which items belong to the blue team?',
        sql: r.body.sql,
        status: 'succeeded',
        resultType: 'select',
        rowCount: 2,
        truncated: false,
        maxRows: 3,
        errorCode: null,
        llmProvider: 'nlq',
        llmModel: 'standin-small',
      });
      expect(exec?.inputTokens).toBeGreaterThan(0);
      await t.app.services.goclaw.flushTraces();
      const trace = await goclawCall(t, 'GET', `/v1/traces/${exec?.traceId}`, { token: t.adminKey });
      expect(trace.status).toBe(200);
      expect(trace.body.trace).toMatchObject({ channel: 'polykomos', status: 'completed', provider: 'nlq' });
      expect(trace.body.spans).toHaveLength(1);
      expect(trace.body.spans[0]).toMatchObject({ span_type: 'llm_call', model: 'standin-small' });
    });

    it('caps the rows at maxRows and says truncated', async () => {
      llm.script({ text: 'SELECT id, name FROM items ORDER BY id' });
      const r = await ask(db.uuid, 'All items');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.result).toEqual({
        type: 'select',
        rows: [
          { id: 1, name: 'apple' },
          { id: 2, name: 'pear' },
          { id: 3, name: 'plum' },
        ],
        rowCount: 3,
        truncated: true,
        maxRows: 3,
      });
      // Repeated column names stay apart.
      llm.script({ text: 'SELECT i.id, t.id FROM items i JOIN teams t ON t.id = i.team_id WHERE i.id = 1' });
      const dup = await ask(db.uuid, 'ids');
      expect(dup.body.result.rows).toEqual([{ id: 1, id_2: 1 }]);
    });

    it('refuses DML before running it (422 sql_not_read_only, recorded with its sql and query_id)', async () => {
      for (const sql of ['DELETE FROM items', "UPDATE items SET name = 'x'", 'DROP TABLE items']) {
        llm.script({ text: sql });
        const r = await ask(db.uuid, 'Remove everything');
        expect(r.status, sql).toBe(422);
        expect(r.body.error).toMatchObject({ code: 'sql_not_read_only', details: { sql } });
        expect(Number.isInteger(r.body.error.details.query_id)).toBe(true);
      }
      expect(await count()).toBe(5);
    });

    it('refuses two statements (422) and runs neither', async () => {
      llm.script({ text: 'SELECT 1; DROP TABLE items' });
      const r = await ask(db.uuid, 'One and drop');
      expect(r.status).toBe(422);
      // Postgres' parser counts statements; MySQL's own parser refuses the text as one statement.
      expect(r.body.error.code).toBe(engine === 'postgres' ? 'multiple_statements' : 'generated_sql_invalid');
      expect(r.body.error.details.sql).toBe('SELECT 1; DROP TABLE items');
      expect(await count()).toBe(5);
    });

    it('answers a SQL error with the contract’s 500 query_execution_failed {sql, query_id}', async () => {
      llm.script({ text: 'SELECT no_such_column FROM items' });
      const r = await ask(db.uuid, 'Something odd');
      expect(r.status).toBe(500);
      expect(Object.keys(r.body).sort()).toEqual(['error', 'request_id']);
      expect(r.body.error.code).toBe('query_execution_failed');
      expect(r.body.error.message).toMatch(/no_such_column/);
      expect(r.body.error.details).toEqual({ sql: 'SELECT no_such_column FROM items', query_id: expect.any(Number) });
      const got = await gql(
        t.baseUrl,
        PolykomosNlqExecutionDocument,
        { queryId: r.body.error.details.query_id },
        key.raw,
      );
      expect(got.body.data?.polykomosQueryExecution).toMatchObject({
        data: { status: 'failed', errorCode: 'query_execution_failed', sql: 'SELECT no_such_column FROM items' },
      });
    });

    it('stops a statement at the statement timeout (500)', async () => {
      llm.script({ text: engine === 'postgres' ? 'SELECT pg_sleep(10)' : 'SELECT SLEEP(10) AS s FROM teams' });
      const started = Date.now();
      const r = await ask(db.uuid, 'Wait a while');
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('query_execution_failed');
      expect(r.body.error.message).toMatch(/statement timeout|max_statement_time|maximum statement execution time/i);
      expect(Date.now() - started).toBeLessThan(8000);
    });

    it('refuses a model answer without SQL (422 generated_sql_invalid)', async () => {
      llm.script({ text: '```sql\n```' });
      const r = await ask(db.uuid, 'Tell me a joke');
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('generated_sql_invalid');
      expect(r.body.error.details).toEqual({ query_id: expect.any(Number) });
    });

    it('404s on another user’s database and 403s without queries:write', async () => {
      const r = await ask(db.uuid, 'Mine?', other);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
      const readOnly = await createPolykomosKey(t, ['databases:read']);
      const f = await ask(db.uuid, 'Mine?', readOnly);
      expect(f.status).toBe(403);
      expect(f.body.error.code).toBe('insufficient_scope');
    });
  });
}

describe.skipIf(!polykomosPostgresUrl)('the read-only transaction, inactive databases, provider failures', () => {
  let db: DatabaseCredentials & any;

  beforeAll(async () => {
    db = await createDatabase('postgres');
    await asOwner(db, [
      'CREATE TABLE items (id serial PRIMARY KEY, name text)',
      "INSERT INTO items (name) VALUES ('a')",
      // A SELECT that writes through a function: the parser's verdict cannot see it, the transaction refuses it.
      "CREATE FUNCTION add_item() RETURNS integer LANGUAGE sql AS $$ INSERT INTO items (name) VALUES ('b') RETURNING id $$",
    ]);
  });

  afterAll(async () => {
    if (db) await call('DELETE', `/api/v1/databases/${db.uuid}`, { key: key.raw }).catch(() => undefined);
  });

  it('runs inside a READ ONLY transaction (a writing function called from a SELECT fails, nothing written)', async () => {
    llm.script({ text: 'SELECT add_item()' });
    const r = await ask(db.uuid, 'Add one');
    expect(r.status).toBe(500);
    expect(r.body.error.message).toMatch(/read-only transaction/);
    const rows = await queryAsOwner(db, 'SELECT count(*)::int AS n FROM items');
    expect(rows.rows[0].n).toBe(1);
  });

  it('runs EXPLAIN of a SELECT and refuses a data-modifying WITH', async () => {
    llm.script({ text: 'EXPLAIN SELECT * FROM items' });
    const r = await ask(db.uuid, 'Plan?');
    expect(r.status).toBe(200);
    expect(r.body.result.type).toBe('explain');
    expect(Object.keys(r.body.result.rows[0])).toEqual(['QUERY PLAN']);
    llm.script({ text: 'WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d' });
    const w = await ask(db.uuid, 'Delete quietly');
    expect(w.status).toBe(422);
    expect(w.body.error.code).toBe('sql_not_read_only');
  });

  it('answers 422 database_not_active for a database that is not active', async () => {
    await t.app.services.prisma.polykomosDatabase.update({ where: { uuid: db.uuid }, data: { status: 'paused' } });
    try {
      const before = llm.requests.length;
      const r = await ask(db.uuid, 'Anything');
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('database_not_active');
      expect(llm.requests.length).toBe(before);
    } finally {
      await t.app.services.prisma.polykomosDatabase.update({ where: { uuid: db.uuid }, data: { status: 'active' } });
    }
  });

  it('answers a provider rate limit with 429 and its Retry-After; other provider failures 429 too', async () => {
    llm.script({ status: 429, error: 'slow down', retryAfter: 7 });
    const r = await ask(db.uuid, 'Busy?');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(r.body.error).toMatchObject({ code: 'llm_rate_limited', details: { query_id: expect.any(Number) } });
    expect(r.body.error.message).toContain('slow down');

    llm.script({ status: 500, error: 'boom' });
    const down = await ask(db.uuid, 'Down?');
    expect(down.status).toBe(429);
    expect(down.headers.get('retry-after')).toBe('30');
    expect(down.body.error.code).toBe('llm_unavailable');

    // A provider refusing the server's credentials is a configuration problem: 422.
    llm.script({ status: 401, error: 'bad key' });
    const refused = await ask(db.uuid, 'Key?');
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('nl_query_unavailable');
  });

  it('serves GraphQL: the mutation, the execution as a Node and the database’s connection of executions', async () => {
    llm.script({ text: 'SELECT name FROM items' });
    const m = await gql(
      t.baseUrl,
      PolykomosNlqCreateDocument,
      { input: { databaseUuid: db.uuid, query: 'Names' } },
      key.raw,
    );
    const made = m.body.data?.createPolykomosQueryExecution;
    expect(made?.__typename).toBe('MutationCreatePolykomosQueryExecutionSuccess');
    const data = made?.__typename === 'MutationCreatePolykomosQueryExecutionSuccess' ? made.data : undefined;
    expect(data?.execution).toMatchObject({ status: 'succeeded', sql: 'SELECT name FROM items', errorCode: null });
    expect(data?.result).toEqual({ type: 'select', rows: [{ name: 'a' }], rowCount: 1, truncated: false, maxRows: 3 });

    const node = await gql(t.baseUrl, PolykomosNlqNodeDocument, { id: data?.execution.id ?? '' }, key.raw);
    expect(node.body.data?.node).toEqual({ __typename: 'PolykomosQueryExecution', queryId: data?.execution.queryId });
    const hidden = await gql(t.baseUrl, PolykomosNlqNodeDocument, { id: data?.execution.id ?? '' }, other.raw);
    expect(hidden.body.data?.node).toBeNull();

    const page = await gql(t.baseUrl, PolykomosNlqHistoryDocument, { uuid: db.uuid }, key.raw);
    const dbResult = page.body.data?.polykomosDatabase;
    const conn =
      dbResult?.__typename === 'QueryPolykomosDatabaseSuccess' &&
      dbResult.data.queryExecutions.__typename === 'PolykomosDatabaseQueryExecutionsSuccess'
        ? dbResult.data.queryExecutions.data
        : undefined;
    expect(conn?.totalCount).toBeGreaterThanOrEqual(6);
    expect(conn?.edges).toHaveLength(2);
    expect(conn?.edges[0]?.node.queryId).toBe(data?.execution.queryId);
    expect(conn?.pageInfo.hasNextPage).toBe(true);
    const next = await gql(
      t.baseUrl,
      PolykomosNlqHistoryDocument,
      { uuid: db.uuid, after: conn?.pageInfo.endCursor ?? null },
      key.raw,
    );
    const nextResult = next.body.data?.polykomosDatabase;
    const nextConn =
      nextResult?.__typename === 'QueryPolykomosDatabaseSuccess' &&
      nextResult.data.queryExecutions.__typename === 'PolykomosDatabaseQueryExecutionsSuccess'
        ? nextResult.data.queryExecutions.data
        : undefined;
    expect(nextConn?.edges[0]?.node.queryId).toBeLessThan(conn?.edges[1]?.node.queryId ?? 0);
  });
});

describe('requests refused before anything runs', () => {
  it('validates the body against the contract (400) and refuses an empty question (422)', async () => {
    const missing = await call('POST', '/api/v1/query_executions', { key: key.raw, body: { query: 'x' } });
    expect(missing.status).toBe(400);
    const long = await ask(randomUUID(), 'x'.repeat(2001));
    expect(long.status).toBe(400);
    const empty = await ask(randomUUID(), '   ');
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe('invalid_parameter');
    const unknown = await ask(randomUUID(), 'Anything');
    expect(unknown.status).toBe(404);
  });

  it('answers 422 nl_query_unavailable on a server without a configured model', async () => {
    const bare = await startPolykomosApp();
    try {
      const k = await createPolykomosKey(bare, scopes);
      const r = await polykomosClient(bare, contract)('POST', '/api/v1/query_executions', {
        key: k.raw,
        body: { database_uuid: randomUUID(), query: 'How many items?' },
      });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('nl_query_unavailable');
    } finally {
      await bare.close();
    }
  });
});
