import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPrincipal } from '../../src/core/auth/principal.ts';
import { defaultOutboundPolicy } from '../../src/core/net/outbound.ts';
import type { AthenaConfig } from '../../src/modules/athena/athena.config.ts';
import { AthenaError } from '../../src/modules/athena/athena.errors.ts';
import { AthenaD1Service } from '../../src/modules/athena/d1.service.ts';
import { type AthenaTestApp, athenaKey, athenaRest, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import { type D1StandIn, startD1StandIn } from '../kit/d1-standin.ts';

/*
 * `POST /gateway/sql/d1/migrate` against the D1 stand-in (node:sqlite behind Cloudflare's HTTP API shape). The
 * server's D1 account and token come from ATRIUM_ATHENA_D1_*; the database is the client's `d1_database_id`.
 */

let t: AthenaTestApp;
let d1: D1StandIn;
let contract: ContractExpectations;

const schemaSql = `
CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL, meta jsonb);
CREATE TABLE books (id serial PRIMARY KEY, author_id bigint REFERENCES authors (id), title text NOT NULL, price numeric(8,2));
CREATE INDEX CONCURRENTLY books_author_idx ON books (author_id);
INSERT INTO authors (name) VALUES ('Le Guin');
`;

beforeAll(async () => {
  d1 = await startD1StandIn();
  t = await startAthenaApp({
    ATRIUM_ATHENA_D1_BASE_URL: d1.baseUrl,
    ATRIUM_ATHENA_D1_ACCOUNT_ID: d1.accountId,
    ATRIUM_ATHENA_D1_API_TOKEN: d1.token,
    // The stand-in listens on loopback, which the outbound guard refuses unless told otherwise (tests only).
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
  });
  contract = await contractValidator('athena');
  const { clients } = t.app.services.athena;
  await clients.create(adminPrincipal, {
    clientName: 'd1app',
    pgUri: 'postgres://u:p@127.0.0.1:1/none',
    metadata: { d1_database_id: d1.databaseId },
  });
  await clients.create(adminPrincipal, {
    clientName: 'd1missing',
    pgUri: 'postgres://u:p@127.0.0.1:1/none',
    metadata: { d1_database_id: 'ffffffff-0000-0000-0000-000000000000' },
  });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await d1?.close();
});

const athenaConfig = () => t.app.services.config.modules.athena as AthenaConfig;

const tables = () =>
  (d1.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[])
    .map((r) => r.name)
    .filter((n) => !n.startsWith('sqlite_'));

describe('POST /gateway/sql/d1/migrate', () => {
  it('previews by default: converted SQL, plan and diagnostics, nothing sent to D1, no client needed', async () => {
    const before = d1.requests();
    const res = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', {
      client: null,
      body: { driver: 'cloudflare-d1', dbName: 'books', schemaSql, strict: false },
    });
    expect(res.status).toBe(200);
    contract.expectValidResponse('POST', '/gateway/sql/d1/migrate', 200, res.body);
    expect(res.body.convertedSql).toMatch(/CREATE TABLE "authors"/);
    expect(res.body.convertedSql).not.toMatch(/CONCURRENTLY/);
    expect(res.body.warnings.map((w: { code: string }) => w.code)).toEqual(
      expect.arrayContaining(['type.serial', 'type.json', 'type.numeric', 'ddl.index']),
    );
    expect(res.body.sourceMeta.fingerprint).toMatch(/^sha256:/);
    expect(d1.requests()).toBe(before);
    expect(tables()).toEqual([]);
  });

  it('strict mode with an unsupported construct is a 422 with the preview body; nothing executes', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', {
      client: 'd1app',
      body: { driver: 'd1', dbName: 'books', schemaSql: `CREATE EXTENSION pgcrypto;\n${schemaSql}`, dryRun: false },
    });
    expect(res.status).toBe(422);
    contract.expectValidResponse('POST', '/gateway/sql/d1/migrate', 422, res.body);
    expect(res.body.errors.map((e: { code: string }) => e.code)).toContain('unsupported.extension');
    expect(tables()).toEqual([]);
  });

  it('applies the plan on the client’s D1 database', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', {
      client: 'd1app',
      body: { driver: 'cloudflare-d1', dbName: 'books', schemaSql, strict: false, dryRun: false, batchSize: 2 },
    });
    expect(res.status).toBe(200);
    contract.expectValidResponse('POST', '/gateway/sql/d1/migrate', 200, res.body);
    expect(res.body.status).toBe('applied');
    expect(res.body.planId).toMatch(/^d1plan_/);
    expect(res.body.perStatementResults.every((s: { status: string }) => s.status === 'applied')).toBe(true);
    expect(tables()).toEqual(['authors', 'books']);
    expect(d1.db.prepare('SELECT name FROM authors').all()).toEqual([{ name: 'Le Guin' }]);
  });

  it('400 in the D1 body shape without a client, with a client that is not D1-capable, or an unknown one', async () => {
    const body = { driver: 'cloudflare-d1', dbName: 'books', schemaSql, strict: false, dryRun: false };
    for (const client of [null, t.client, 'no_such_client']) {
      const res = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', { client, body });
      expect(res.status).toBe(400);
      contract.expectValidResponse('POST', '/gateway/sql/d1/migrate', 400, res.body);
      expect(res.body.status).toBe('error');
      expect(res.body.errors[0].code).toBe('request.invalid');
    }
    // Text Postgres cannot parse is a diagnostic of the plan (strict: 422), not a bare 400.
    const syntax = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', {
      client: null,
      body: { driver: 'd1', dbName: 'x', schemaSql: 'CREATE TABLE (' },
    });
    expect(syntax.status).toBe(422);
    expect(syntax.body.errors.length).toBeGreaterThan(0);
  });

  it('a D1 failure is a 503 with the per-statement report; D1 never pretends success', async () => {
    const res = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', {
      client: 'd1missing',
      body: { driver: 'cloudflare-d1', dbName: 'books', schemaSql, strict: false, dryRun: false },
    });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'error', code: 'd1_request_failed' });
    expect(res.body.data.status).toBe('failed');
    expect(res.body.data.perStatementResults[0].status).toBe('failed');
  });

  it('needs a key, and a key needs gateway.sql.execute on the client it names', async () => {
    const body = { driver: 'cloudflare-d1', dbName: 'books', schemaSql: 'CREATE TABLE t (id int)' };
    const anonymous = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', { key: null, client: null, body });
    expect(anonymous.status).toBe(401);
    const weak = await athenaKey(t, ['gateway.fetch.execute'], 'd1app');
    const refused = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', { key: weak, client: 'd1app', body });
    expect(refused.status).toBe(403);
    const strong = await athenaKey(t, ['gateway.sql.execute'], 'd1app');
    const ok = await athenaRest(t, 'POST', '/gateway/sql/d1/migrate', { key: strong, client: 'd1app', body });
    expect(ok.status).toBe(200);
  });
});

describe('the D1 service without configuration or past the outbound guard', () => {
  const body = { driver: 'cloudflare-d1', dbName: 'x', schemaSql: 'CREATE TABLE t2 (id int)', dryRun: false };

  it('unconfigured D1: execution is a 503 d1_unavailable, a preview still works', async () => {
    const { clients } = t.app.services.athena;
    const config = { ...athenaConfig(), d1: { baseUrl: d1.baseUrl, accountId: undefined, apiToken: undefined } };
    const service = new AthenaD1Service({
      clients,
      config,
      outbound: { ...defaultOutboundPolicy, allowPrivate: true },
    });
    const err = await service.migrate(adminPrincipal, { client: 'd1app', body }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AthenaError);
    expect((err as AthenaError).code).toBe('d1_unavailable');
    expect((err as AthenaError).httpStatus).toBe(503);
    const preview = await service.migrate(adminPrincipal, { client: undefined, body: { ...body, dryRun: true } });
    expect(preview.outcome).toBe('preview');
  });

  it('a loopback D1 URL is refused by the outbound guard unless private targets are allowed', async () => {
    const { clients } = t.app.services.athena;
    const config = athenaConfig();
    const service = new AthenaD1Service({ clients, config, outbound: defaultOutboundPolicy });
    const before = d1.requests();
    const r = await service.migrate(adminPrincipal, { client: 'd1app', body });
    expect(r.outcome).toBe('failed');
    expect(r.failure).toMatch(/loopback|private/);
    expect(d1.requests()).toBe(before);
  });
});
