import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, type TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import {
  createPolykomosKey,
  type DatabaseCredentials,
  type PolykomosKey,
  polykomosClient,
  polykomosPostgresUrl,
  queryAsOwner,
  startPolykomosApp,
} from '../kit/polykomos.ts';

let t: TestApp;
let contract: ContractExpectations;
let call: ReturnType<typeof polykomosClient>;
let key: PolykomosKey;
let other: PolykomosKey;
const scopes = ['blueprints:read', 'blueprints:write'];

beforeAll(async () => {
  t = await startPolykomosApp();
  contract = await contractValidator('polykomos');
  call = polykomosClient(t, contract);
  key = await createPolykomosKey(t, scopes);
  other = await createPolykomosKey(t, scopes);
});

afterAll(async () => {
  await t?.close();
});

async function createBlueprint(body: Record<string, unknown>, k = key) {
  return call('POST', '/api/v1/blueprints', { key: k.raw, body });
}

async function validate(body: Record<string, unknown>) {
  const r = await call('POST', '/api/v1/blueprint_validations', { key: key.raw, body });
  expect(r.status).toBe(200);
  return r.body.data;
}

describe('blueprints CRUD', () => {
  it('creates (201) with server-set fields: slug, version 1, UTF-8 size_bytes, sql_content; -2 on collision', async () => {
    const name = `Seed Contacts ${randomUUID().slice(0, 6)}`;
    const sql = "INSERT INTO t VALUES ('héllo ✓');";
    const r = await createBlueprint({ name, sql_content: sql, description: 'seed' });
    expect(r.status).toBe(201);
    expect(r.headers.get('x-request-id')).toBe(r.body.request_id);
    const b = r.body.data;
    const slug = name.toLowerCase().replace(/ /g, '-');
    expect(b).toMatchObject({
      object: 'blueprint',
      name,
      slug,
      description: 'seed',
      content_type: 'sql',
      version: 1,
      is_system_blueprint: false,
      variables: null,
      metadata: null,
      sql_content: sql,
    });
    expect(b.size_bytes).toBe(Buffer.byteLength(sql, 'utf8'));
    expect(b.size_bytes).toBeGreaterThan(sql.length);

    const second = await createBlueprint({ name, sql_content: 'SELECT 1;' });
    expect(second.status).toBe(201);
    expect(second.body.data.slug).toBe(`${slug}-2`);
    const third = await createBlueprint({ name, sql_content: 'SELECT 1;' });
    expect(third.body.data.slug).toBe(`${slug}-3`);
    // Another user has its own slug space.
    const theirs = await createBlueprint({ name, sql_content: 'SELECT 1;' }, other);
    expect(theirs.body.data.slug).toBe(slug);
  });

  it('gets with sql_content, lists without it, newest first with uuid cursors', async () => {
    const k = await createPolykomosKey(t, scopes);
    const uuids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await createBlueprint({ name: `list ${i}`, sql_content: `SELECT ${i};` }, k);
      uuids.push(r.body.data.uuid);
    }
    const got = await call('GET', `/api/v1/blueprints/${uuids[0]}`, { key: k.raw });
    expect(got.status).toBe(200);
    expect(got.body.data.sql_content).toBe('SELECT 0;');

    const page1 = await call('GET', '/api/v1/blueprints?limit=2', { key: k.raw });
    expect(page1.status).toBe(200);
    expect(page1.body.has_more).toBe(true);
    expect(page1.body.data.map((b: { uuid: string }) => b.uuid)).toEqual([uuids[2], uuids[1]]);
    expect(page1.body.data[0]).not.toHaveProperty('sql_content');
    const page2 = await call('GET', `/api/v1/blueprints?limit=2&starting_after=${uuids[1]}`, { key: k.raw });
    expect(page2.body.data.map((b: { uuid: string }) => b.uuid)).toEqual([uuids[0]]);
    expect(page2.body.has_more).toBe(false);

    const unknown = await call('GET', `/api/v1/blueprints?starting_after=${randomUUID()}`, { key: k.raw });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('invalid_parameter');
    expect((await call('GET', '/api/v1/blueprints?limit=101', { key: k.raw })).status).toBe(400);
  });

  it('bumps version only when sql_content or variables change, and keeps the history', async () => {
    const r = await createBlueprint({ name: 'versions', sql_content: 'SELECT 1;' });
    const uuid = r.body.data.uuid;
    const patch = (body: unknown) => call('PATCH', `/api/v1/blueprints/${uuid}`, { key: key.raw, body });

    const renamed = await patch({ name: 'versions renamed', description: 'd' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data).toMatchObject({ name: 'versions renamed', description: 'd', version: 1 });
    expect(renamed.body.data.slug).toBe(r.body.data.slug);

    const noop = await patch({});
    expect(noop.status).toBe(200);
    expect(noop.body.data.version).toBe(1);
    expect((await patch({ sql_content: 'SELECT 1;' })).body.data.version).toBe(1);

    const v2 = await patch({ sql_content: 'SELECT 22;' });
    expect(v2.body.data).toMatchObject({ version: 2, sql_content: 'SELECT 22;', size_bytes: 10 });
    const v3 = await patch({ variables: { n: { type: 'integer', default: 1 } } });
    expect(v3.body.data.version).toBe(3);
    expect(v3.body.data.variables).toEqual({ n: { type: 'integer', default: 1 } });
    // Same variables in another key order: no change.
    expect((await patch({ variables: { n: { default: 1, type: 'integer' } } })).body.data.version).toBe(3);

    const bad = await patch({ variables: { n: { type: 'float' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_parameter');

    const history = await gql(
      t.baseUrl,
      `query($u: String!) { polykomosBlueprint(uuid: $u) { ... on QueryPolykomosBlueprintSuccess {
        data { version versions { version sqlContent variables } } } } }`,
      { u: uuid },
      key.raw,
    );
    const data = history.body.data.polykomosBlueprint.data;
    expect(data.version).toBe(3);
    expect(data.versions).toEqual([
      { version: 1, sqlContent: 'SELECT 1;', variables: null },
      { version: 2, sqlContent: 'SELECT 22;', variables: null },
      { version: 3, sqlContent: 'SELECT 22;', variables: { n: { type: 'integer', default: 1 } } },
    ]);
  });

  it('soft-deletes: {uuid, deleted}, then 404 and unlisted; the slug stays taken', async () => {
    const name = `gone ${randomUUID().slice(0, 6)}`;
    const r = await createBlueprint({ name, sql_content: 'SELECT 1;' });
    const uuid = r.body.data.uuid;
    const del = await call('DELETE', `/api/v1/blueprints/${uuid}`, { key: key.raw });
    expect(del.status).toBe(200);
    expect(del.body.data).toEqual({ uuid, deleted: true });
    expect((await call('GET', `/api/v1/blueprints/${uuid}`, { key: key.raw })).status).toBe(404);
    expect((await call('PATCH', `/api/v1/blueprints/${uuid}`, { key: key.raw, body: {} })).status).toBe(404);
    expect((await call('DELETE', `/api/v1/blueprints/${uuid}`, { key: key.raw })).status).toBe(404);
    const list = await call('GET', '/api/v1/blueprints?limit=100', { key: key.raw });
    expect(list.body.data.some((b: { uuid: string }) => b.uuid === uuid)).toBe(false);
    const again = await createBlueprint({ name, sql_content: 'SELECT 1;' });
    expect(again.body.data.slug).toBe(`${r.body.data.slug}-2`);
  });

  it("isolates users: another user's blueprint is 404 everywhere and never listed", async () => {
    const mine = await createBlueprint({ name: 'private', sql_content: 'SELECT 1;' });
    const uuid = mine.body.data.uuid;
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { name: 'stolen' }],
      ['DELETE', undefined],
    ] as const) {
      const r = await call(method, `/api/v1/blueprints/${uuid}`, { key: other.raw, body });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    const theirs = await call('GET', '/api/v1/blueprints?limit=100', { key: other.raw });
    expect(theirs.body.data.some((b: { uuid: string }) => b.uuid === uuid)).toBe(false);
    // Still intact for the owner.
    const got = await call('GET', `/api/v1/blueprints/${uuid}`, { key: key.raw });
    expect(got.body.data.name).toBe('private');
    const q = await gql(
      t.baseUrl,
      `query($u: String!) { polykomosBlueprint(uuid: $u) { __typename ... on Error { code } } }`,
      { u: uuid },
      other.raw,
    );
    expect(q.body.data.polykomosBlueprint).toEqual({ __typename: 'PolykomosNotFoundError', code: 'NOT_FOUND' });
  });

  it('refuses missing scopes (REST and GraphQL), a missing Idempotency-Key and bad bodies', async () => {
    const readOnly = await createPolykomosKey(t, ['blueprints:read']);
    const dbOnly = await createPolykomosKey(t, ['databases:read', 'databases:write']);
    const w = await createBlueprint({ name: 'x', sql_content: 'SELECT 1;' }, readOnly);
    expect(w.status).toBe(403);
    expect(w.body.error.code).toBe('insufficient_scope');
    const list = await call('GET', '/api/v1/blueprints', { key: dbOnly.raw });
    expect(list.status).toBe(403);
    expect(list.body.error.code).toBe('insufficient_scope');
    const v = await call('POST', '/api/v1/blueprint_validations', { key: dbOnly.raw, body: { sql_content: 'x' } });
    expect(v.status).toBe(403);
    const g = await gql(
      t.baseUrl,
      `mutation { createPolykomosBlueprint(input: {name: "x", sqlContent: "SELECT 1"}) {
        __typename ... on Error { code } } }`,
      {},
      readOnly.raw,
    );
    expect(g.body.data.createPolykomosBlueprint).toEqual({
      __typename: 'PolykomosForbiddenError',
      code: 'INSUFFICIENT_SCOPE',
    });

    const noKey = await call('POST', '/api/v1/blueprints', {
      key: key.raw,
      body: { name: 'x', sql_content: 'SELECT 1;' },
      idempotencyKey: null,
    });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.code).toBe('missing_idempotency_key');
    const missing = await createBlueprint({ name: 'x' });
    expect([400, 422]).toContain(missing.status);
    const empty = await createBlueprint({ name: 'x', sql_content: '   ' });
    expect(empty.status).toBe(422);
    const badVars = await createBlueprint({ name: 'x', sql_content: 'SELECT 1;', variables: { 'bad name': {} } });
    expect(badVars.status).toBe(422);
    expect((await call('GET', '/api/v1/blueprints/not-a-uuid', { key: key.raw })).status).toBe(400);
  });

  it('replays createBlueprint for the same Idempotency-Key (one blueprint)', async () => {
    const k = await createPolykomosKey(t, scopes);
    const idem = randomUUID();
    const body = { name: 'once', sql_content: 'SELECT 1;' };
    const a = await call('POST', '/api/v1/blueprints', { key: k.raw, body, idempotencyKey: idem });
    const b = await call('POST', '/api/v1/blueprints', { key: k.raw, body, idempotencyKey: idem });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.body.data.uuid).toBe(a.body.data.uuid);
    const list = await call('GET', '/api/v1/blueprints', { key: k.raw });
    expect(list.body.data).toHaveLength(1);
  });

  it('GraphQL: create, update, list, delete', async () => {
    const k = await createPolykomosKey(t, scopes);
    const c = await gql(
      t.baseUrl,
      `mutation($i: CreatePolykomosBlueprintInput!) { createPolykomosBlueprint(input: $i) {
        ... on MutationCreatePolykomosBlueprintSuccess { data { uuid slug version sizeBytes } } } }`,
      { i: { name: 'GQL Blueprint', sqlContent: 'SELECT 1;' } },
      k.raw,
    );
    const created = c.body.data.createPolykomosBlueprint.data;
    expect(created).toMatchObject({ slug: 'gql-blueprint', version: 1, sizeBytes: 9 });
    const u = await gql(
      t.baseUrl,
      `mutation($u: String!) { updatePolykomosBlueprint(uuid: $u, input: {sqlContent: "SELECT 2;"}) {
        ... on MutationUpdatePolykomosBlueprintSuccess { data { version } } } }`,
      { u: created.uuid },
      k.raw,
    );
    expect(u.body.data.updatePolykomosBlueprint.data.version).toBe(2);
    const l = await gql(
      t.baseUrl,
      `{ polykomosBlueprints(first: 10) { ... on QueryPolykomosBlueprintsSuccess { data { edges { node { uuid } } } } } }`,
      {},
      k.raw,
    );
    expect(l.body.data.polykomosBlueprints.data.edges).toEqual([{ node: { uuid: created.uuid } }]);
    const d = await gql(
      t.baseUrl,
      `mutation($u: String!) { deletePolykomosBlueprint(uuid: $u) {
        ... on MutationDeletePolykomosBlueprintSuccess { data { uuid deleted } } } }`,
      { u: created.uuid },
      k.raw,
    );
    expect(d.body.data.deletePolykomosBlueprint.data).toEqual({ uuid: created.uuid, deleted: true });
  });
});

describe('blueprint validation (real parser + PGlite dry run)', () => {
  it('accepts a valid script with the manifest and a passed semantic check', async () => {
    const v = await validate({
      sql_content: `-- a comment; with a semicolon
        CREATE TABLE contacts (id serial PRIMARY KEY, note text DEFAULT 'a;b');
        CREATE INDEX contacts_note ON contacts (note);
        CREATE VIEW v AS SELECT id FROM contacts;
        CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;
        INSERT INTO contacts (note) VALUES ('x;y');`,
    });
    expect(v.errors).toEqual([]);
    expect(v.valid).toBe(true);
    expect(v.statement_count).toBe(5);
    expect(v.manifest.statements.map((s: { type: string }) => s.type)).toEqual([
      'create_table',
      'create_index',
      'create_view',
      'create_function',
      'insert',
    ]);
    expect(v.manifest.objects_created).toEqual({
      tables: ['contacts'],
      indexes: ['contacts_note'],
      views: ['v'],
      functions: ['f'],
      extensions: [],
    });
    expect(v.manifest.semantic_check).toBe('passed');
  });

  it('reports a syntax error with the statement index, line and column', async () => {
    const v = await validate({ sql_content: 'SELECT 1;\nCREATE TABLE t (id int);\nSELEC 2;' });
    expect(v.valid).toBe(false);
    expect(v.errors[0]).toMatch(/^Statement 3: syntax error at or near "SELEC" at line 3, column 1$/);
    const w = await validate({ sql_content: 'CREATE TABLE t (id int,);' });
    expect(w.errors[0]).toMatch(/^Statement 1: syntax error at or near "\)" at line 1, column 24$/);
  });

  it('catches an unknown type in the PGlite semantic check, with its statement', async () => {
    const v = await validate({ sql_content: 'CREATE TABLE a (id int);\nCREATE TABLE b (x no_such_type);' });
    expect(v.valid).toBe(false);
    expect(v.manifest.semantic_check).toBe('failed');
    expect(v.errors).toEqual([expect.stringMatching(/^Statement 2: type "no_such_type" does not exist/)]);
    const f = await validate({ sql_content: 'SELECT no_such_function(1);' });
    expect(f.errors[0]).toMatch(/function no_such_function\(integer\) does not exist/);
  });

  it('warns about destructive and non-transactional statements', async () => {
    const v = await validate({
      sql_content: `CREATE TABLE t (id int);
        DELETE FROM t;
        DELETE FROM t WHERE id = 1;
        UPDATE t SET id = 2;
        TRUNCATE t;
        CREATE INDEX CONCURRENTLY ti ON t (id);
        DROP TABLE t;
        VACUUM;`,
    });
    expect(v.valid).toBe(true);
    expect(v.warnings).toEqual([
      'Statement 2: destructive statement (DELETE without WHERE)',
      'Statement 4: destructive statement (UPDATE without WHERE)',
      'Statement 5: destructive statement (TRUNCATE)',
      'Statement 6: CREATE INDEX CONCURRENTLY cannot run inside a transaction; it is not rolled back on failure',
      'Statement 7: destructive statement (DROP)',
      'Statement 8: VACUUM cannot run inside a transaction; it is not rolled back on failure',
    ]);
  });

  it('checks {{var}} references: undeclared is an error, unused a warning, values are rendered quoted', async () => {
    const undeclared = await validate({ sql_content: 'INSERT INTO t VALUES ({{missing}});' });
    expect(undeclared.valid).toBe(false);
    expect(undeclared.errors).toContain('Variable {{missing}} is referenced but not declared in variables');
    expect(undeclared.manifest.variables_referenced).toEqual(['missing']);

    const ok = await validate({
      sql_content:
        'CREATE TABLE {{tbl}} (id int, note text);\nINSERT INTO {{tbl}} VALUES ({{n}}, {{note}});\nSELECT * FROM {{tbl}};',
      variables: {
        tbl: { type: 'identifier', default: 'My "Table"' },
        n: { type: 'integer', default: 7 },
        note: { type: 'string', default: "it's'); DROP TABLE x; --" },
        unused: { type: 'boolean' },
      },
    });
    expect(ok.errors).toEqual([]);
    expect(ok.valid).toBe(true);
    expect(ok.manifest.semantic_check).toBe('passed');
    expect(ok.warnings).toEqual(['Variable "unused" is declared but never referenced']);
    expect(ok.manifest.variables_referenced).toEqual(['tbl', 'n', 'note']);
    expect(ok.statement_count).toBe(3);
  });

  it('GraphQL validatePolykomosBlueprint answers the same', async () => {
    const r = await gql(
      t.baseUrl,
      `mutation { validatePolykomosBlueprint(sqlContent: "CREATE TABLE t (x nope);") {
        ... on MutationValidatePolykomosBlueprintSuccess { data { valid statementCount errors manifest { semanticCheck } } } } }`,
      {},
      key.raw,
    );
    expect(r.body.data.validatePolykomosBlueprint.data).toMatchObject({
      valid: false,
      statementCount: 1,
      manifest: { semanticCheck: 'failed' },
    });
  });
});

describe.skipIf(!polykomosPostgresUrl)('blueprint applications (real provisioned Postgres)', () => {
  const allKeyScopes = ['databases:read', 'databases:write', 'blueprints:read', 'blueprints:write'];
  let k: PolykomosKey;
  let db: DatabaseCredentials & Record<string, any>;

  beforeAll(async () => {
    k = await createPolykomosKey(t, allKeyScopes);
    const r = await call('POST', '/api/v1/databases?wait=true&timeout=60', {
      key: k.raw,
      body: { name: `bp-${randomUUID().slice(0, 8)}` },
    });
    expect(r.status).toBe(201);
    db = r.body.data;
  });

  afterAll(async () => {
    if (db) await call('DELETE', `/api/v1/databases/${db.uuid}`, { key: k.raw }).catch(() => undefined);
  });

  async function tables(): Promise<string[]> {
    const r = await queryAsOwner(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    return r.rows.map((row) => row.tablename as string);
  }

  async function blueprintOf(sql: string, variables?: Record<string, unknown>) {
    const r = await createBlueprint({ name: 'apply', sql_content: sql, ...(variables ? { variables } : {}) }, k);
    expect(r.status).toBe(201);
    return r.body.data;
  }

  const apply = (body: Record<string, unknown>, key = k) =>
    call('POST', `/api/v1/databases/${db.uuid}/blueprint_applications`, { key: key.raw, body });

  it('applies for real: the table exists afterwards, values rendered as quoted literals/identifiers', async () => {
    const bp = await blueprintOf(
      'CREATE TABLE {{tbl}} (id serial PRIMARY KEY, note text);\nINSERT INTO {{tbl}} (note) VALUES ({{note}}), ({{note}});',
      { tbl: { type: 'identifier', required: true }, note: { type: 'string', default: "o'brien'); DROP TABLE x; --" } },
    );
    const r = await apply({ blueprint_uuid: bp.uuid, variables: { tbl: 'Contacts "2"' } });
    expect(r.status).toBe(200);
    const a = r.body.data;
    expect(a).toMatchObject({
      object: 'blueprint_application',
      status: 'completed',
      is_dry_run: false,
      statements_total: 2,
      statements_succeeded: 2,
      statements_failed: 0,
      error_message: null,
      blueprint_version: 1,
      database_instance_id: expect.any(Number),
      blueprint_id: expect.any(Number),
      variable_values: { tbl: 'Contacts "2"', note: "o'brien'); DROP TABLE x; --" },
    });
    expect(a.execution_log).toHaveLength(2);
    expect(a.execution_log[1]).toMatchObject({ index: 2, status: 'succeeded', rows_affected: 2 });
    expect(await tables()).toContain('Contacts "2"');

    const got = await call('GET', `/api/v1/blueprint_applications/${a.id}`, { key: k.raw });
    expect(got.status).toBe(200);
    expect(got.body.data).toEqual(a);
    // Another user cannot see it, nor apply to this database.
    const stranger = await createPolykomosKey(t, allKeyScopes);
    expect((await call('GET', `/api/v1/blueprint_applications/${a.id}`, { key: stranger.raw })).status).toBe(404);
    expect((await apply({ blueprint_uuid: bp.uuid }, stranger)).status).toBe(404);
  });

  it('a failing statement rolls everything back (rolled_back)', async () => {
    const bp = await blueprintOf(
      'CREATE TABLE will_vanish (id int);\nINSERT INTO will_vanish VALUES (1);\nSELECT 1/0;',
    );
    const r = await apply({ blueprint_uuid: bp.uuid });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({
      status: 'rolled_back',
      statements_total: 3,
      statements_succeeded: 2,
      statements_failed: 1,
    });
    expect(r.body.data.error_message).toMatch(/^Statement 3: division by zero/);
    expect(r.body.data.execution_log[2]).toMatchObject({ index: 3, status: 'failed', error: 'division by zero' });
    expect(await tables()).not.toContain('will_vanish');
  });

  it('a dry run completes and leaves nothing', async () => {
    const bp = await blueprintOf('CREATE TABLE dry_only (id int);');
    const r = await apply({ blueprint_uuid: bp.uuid, dry_run: true });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ status: 'completed', is_dry_run: true, statements_succeeded: 1 });
    expect(await tables()).not.toContain('dry_only');
  });

  it('runs one application at a time per database', async () => {
    const slow = await blueprintOf('SELECT pg_sleep(1);\nCREATE TABLE serial_a (id int);');
    const quick = await blueprintOf('CREATE TABLE serial_b (id int);');
    const [a, b] = await Promise.all([
      apply({ blueprint_uuid: slow.uuid }),
      new Promise((r) => setTimeout(r, 200)).then(() => apply({ blueprint_uuid: quick.uuid })),
    ]);
    expect(a.body.data.status).toBe('completed');
    expect(b.body.data.status).toBe('completed');
    // Whichever got the lock second started only once the other had finished (their runs do not overlap).
    const [x, y] = [a.body.data, b.body.data].sort((p, q) => Date.parse(p.started_at) - Date.parse(q.started_at));
    // (the lock is released at COMMIT, a few ms before the first records its end: 100 ms of slack)
    expect(Date.parse(y.started_at)).toBeGreaterThanOrEqual(Date.parse(x.completed_at) - 100);
    expect(Date.parse(a.body.data.completed_at) - Date.parse(a.body.data.started_at)).toBeGreaterThanOrEqual(1000);
    expect(await tables()).toEqual(expect.arrayContaining(['serial_a', 'serial_b']));
  });

  it('refuses a missing required variable, an unknown blueprint and wait=false answers 202 then completes', async () => {
    const bp = await blueprintOf('CREATE TABLE {{tbl}} (id int);', { tbl: { type: 'identifier', required: true } });
    const missing = await apply({ blueprint_uuid: bp.uuid });
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe('missing_variable');
    const unknown = await apply({ blueprint_uuid: randomUUID() });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe('blueprint_not_found');

    const bg = await apply({ blueprint_uuid: bp.uuid, variables: { tbl: 'later' }, wait: false });
    expect(bg.status).toBe(202);
    expect(['pending', 'running', 'completed']).toContain(bg.body.data.status);
    let status = bg.body.data.status;
    for (let i = 0; i < 50 && status !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await call('GET', `/api/v1/blueprint_applications/${bg.body.data.id}`, { key: k.raw })).body.data
        .status;
    }
    expect(status).toBe('completed');
    expect(await tables()).toContain('later');
  });
});
