import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentHash } from '../../src/core/graphql/protection.ts';
import {
  PlatformViewerKindDocument,
  ProtectionIntrospectionDocument,
  ProtectionOrdinaryDocument,
  TrustedViewerDocument,
} from '../generated/platform.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';

async function post(t: TestApp, body: unknown, token?: string) {
  const start = performance.now();
  const res = await fetch(`${t.baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, ms: Math.round(performance.now() - start), body: JSON.parse(text) as any };
}

const mb = (n: number) => Math.round(n / 1024 / 1024);

describe('GraphQL protects itself (default limits)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ATRIUM_MAX_BODY_BYTES: String(8 * 1024 * 1024) });
  }, 60_000);
  afterAll(() => t?.close());

  it('refuses the attacks of issue 10 with 400, quickly, and memory stays put', async () => {
    // Strings on purpose, as in the tests below: generated alias, depth, list-nesting and directive attacks.
    const rssBefore = process.memoryUsage().rss;
    const aliases = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const audit = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: auditEvents(first: 100) { edges { node { id action } } }`).join(' ')} }`;
    const list = `query { node(id: ${'['.repeat(10_000)}"x"${']'.repeat(10_000)}) { id } }`;
    const selection = `{ ${'viewer { '.repeat(5000)}kind${' }'.repeat(5000)} }`;
    const timings: Record<string, number> = {};
    for (const [name, query, token] of [
      ['10,000 __typename aliases (anonymous)', aliases, undefined],
      ['1,000 aliased auditEvents(first:100) (admin)', audit, t.adminKey],
      ['list literal nested 10,000 deep', list, undefined],
      ['selection nested 5,000 deep', selection, undefined],
    ] as const) {
      const r = await post(t, { query }, token);
      expect(r.status, `${name}: ${r.text.slice(0, 200)}`).toBe(400);
      expect(r.body.data).toBeUndefined();
      expect(r.text).not.toContain('INTERNAL_SERVER_ERROR');
      timings[name] = r.ms;
    }
    const rssAfter = process.memoryUsage().rss;
    console.log(`refused attacks (ms): ${JSON.stringify(timings)}; RSS ${mb(rssBefore)} → ${mb(rssAfter)} MB`);
    for (const ms of Object.values(timings)) expect(ms).toBeLessThan(1000);
  });

  it('names the limit a document broke', async () => {
    const deep = `{ ${'viewer { '.repeat(16)}kind${' }'.repeat(16)} }`;
    const r = await post(t, { query: deep });
    expect(r.status, r.text).toBe(400);
    expect(r.text).toMatch(/depth/i);
    const aliases = await post(t, {
      query: `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
    });
    expect(aliases.status, aliases.text).toBe(400);
    expect(aliases.text).toMatch(/alias/i);
    const directives = await post(t, { query: `{ __typename ${'@include(if: true) '.repeat(51)} }` });
    expect(directives.status, directives.text).toBe(400);
    expect(directives.text).toMatch(/directive/i);
    const cost = await post(t, {
      query: `{ ${'viewer { '.repeat(14)}kind${' }'.repeat(14)} ${Array.from({ length: 20 }, (_, i) => `a${i}: viewer { kind id }`).join(' ')} }`,
    });
    expect(cost.status, cost.text).toBe(400);
  });

  it('still serves ordinary documents, introspection and suggestions outside production', async () => {
    const ok = await gql(t.baseUrl, ProtectionOrdinaryDocument);
    expect(ok.status).toBe(200);
    expect(ok.body.data?.viewer?.kind).toBe('anonymous');
    const intro = await gql(t.baseUrl, ProtectionIntrospectionDocument);
    expect(intro.body.data?.__schema.queryType.name).toBe('Query');
    // A string on purpose: a misspelt field, for the suggestion.
    const typo = await post(t, { query: '{ viewr { kind } }' });
    expect(typo.text).toContain('Did you mean');
  });
});

describe('GraphQL protection switched for production', () => {
  let t: TestApp;
  let dir: string;
  const trustedDoc = print(TrustedViewerDocument);
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'atrium-trusted-'));
    const file = path.join(dir, 'trusted.json');
    await writeFile(file, JSON.stringify({ [documentHash(trustedDoc)]: trustedDoc }));
    t = await startTestApp({
      ATRIUM_GRAPHQL_INTROSPECTION: 'false',
      ATRIUM_GRAPHQL_SUGGESTIONS: 'false',
      ATRIUM_GRAPHQL_TRUSTED_DOCUMENTS: file,
      ATRIUM_GRAPHQL_TRUSTED_DOCUMENTS_ONLY: 'true',
      ATRIUM_GRAPHQL_MAX_DEPTH: '3',
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs trusted documents by hash and refuses everything else', async () => {
    const byHash = await post(t, {
      extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(trustedDoc) } },
    });
    expect(byHash.status).toBe(200);
    expect(byHash.body.data.viewer.kind).toBe('anonymous');
    const arbitrary = await post(t, { query: print(PlatformViewerKindDocument) });
    expect(arbitrary.status).toBe(400);
    expect(arbitrary.text).toContain('Only trusted documents');
    const unknown = await post(t, { extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('Unknown trusted document');
  });
});

describe('GraphQL introspection and suggestions off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ATRIUM_GRAPHQL_INTROSPECTION: 'false', ATRIUM_GRAPHQL_SUGGESTIONS: 'false' });
  }, 60_000);
  afterAll(() => t?.close());

  it('refuses introspection and suggests nothing', async () => {
    const intro = await post(t, { query: print(ProtectionIntrospectionDocument) });
    expect(intro.status).toBe(400);
    expect(intro.text).toMatch(/introspection/i);
    // A string on purpose: a misspelt field, for the (absent) suggestion.
    const typo = await post(t, { query: '{ viewr { kind } }' });
    expect(typo.status).toBe(400);
    expect(typo.text).not.toContain('Did you mean');
    const ok = await gql(t.baseUrl, PlatformViewerKindDocument);
    expect(ok.body.data?.viewer?.kind).toBe('anonymous');
  });
});
