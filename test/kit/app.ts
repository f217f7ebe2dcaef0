import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import pg from 'pg';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { randomHex } from '../../src/core/auth/secrets.ts';
import { emptyPgliteTemplate, seedPlatformDatabase } from './pglite-template.ts';

/** Which platform database the suite runs on: `pglite` (default) or `postgres` (ATRIUM_TEST_DB=postgres). */
export const testDb = process.env.ATRIUM_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
export const postgresAdminUrl = process.env.ATRIUM_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestApp {
  app: App;
  baseUrl: string;
  adminKey: string;
  dataDir: string;
  databaseUrl: string | undefined;
  close(): Promise<void>;
}

/** Creates an empty Postgres database for one test file; returns its URL and a drop function. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `atrium_t_${randomHex(6)}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresAdminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Starts a real server on a free loopback port with a fresh data dir and database. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-test-'));
  const database = testDb === 'postgres' ? await createTestDatabase() : undefined;
  if (!database) await seedPlatformDatabase(dataDir);
  const adminKey = `test-admin-${randomHex(24)}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_PGLITE_TEMPLATE_DIR: emptyPgliteTemplate,
    ATRIUM_ADMIN_KEY: adminKey,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const app = await createApp(config);
  const baseUrl = await app.listen(0, '127.0.0.1');
  return {
    app,
    baseUrl,
    adminKey,
    dataDir,
    databaseUrl: database?.url,
    close: async () => {
      await app.close();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A GraphQL response as a test reads it. */
export type GqlResult<T> = {
  status: number;
  body: { data?: T; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] };
};

/**
 * POSTs a GraphQL operation over real HTTP. Pass a typed document (from `test/<product>/*.graphql`, generated into
 * `test/generated/<product>.ts`) to get typed data and checked variables; a string query is untyped.
 */
export async function gql<TData, TVars>(
  baseUrl: string,
  query: TypedDocumentNode<TData, TVars>,
  variables?: TVars,
  token?: string,
): Promise<GqlResult<TData>>;
export async function gql<T = any>(
  baseUrl: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<GqlResult<T>>;
export async function gql(
  baseUrl: string,
  document: string | TypedDocumentNode<unknown, unknown>,
  variables?: unknown,
  token?: string,
): Promise<GqlResult<unknown>> {
  const query = typeof document === 'string' ? document : print(document);
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as never };
}
