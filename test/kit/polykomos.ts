import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { PolykomosKitCreateKeyDocument, PolykomosKitSetKeyControlsDocument } from '../generated/polykomos.ts';
import { gql, startTestApp, type TestApp } from './app.ts';
import type { ContractExpectations } from './contract.ts';
import { reachable } from './reachable.ts';

/**
 * Engine servers Polykomos provisions on in tests: the env vars when set, else the local servers when they answer
 * (CI starts both). Empty: tests that need that engine skip, with the reason printed. Set a var to the empty string
 * to run without that engine.
 */
async function engineUrl(name: string, local: string): Promise<string> {
  const configured = process.env[name];
  if (configured !== undefined) return configured;
  if (await reachable(local)) return local;
  console.warn(`${name} is not set and nothing answers at ${new URL(local).host}: tests provisioning on it skip`);
  return '';
}
export const polykomosPostgresUrl = await engineUrl(
  'ATRIUM_DATABASES_POSTGRES_URL',
  'postgresql://postgres@127.0.0.1:5432/postgres',
);
export const polykomosMysqlUrl = await engineUrl('ATRIUM_DATABASES_MYSQL_URL', 'mysql://root@127.0.0.1:3306');

export const allScopes = ['databases:read', 'databases:write'];

/** The engine's URL unless the caller's env names it under either name (the old one is an alias). */
function engineDefault(env: Record<string, string>, engine: 'POSTGRES' | 'MYSQL', url: string) {
  const name = `ATRIUM_DATABASES_${engine}_URL`;
  if (!url || name in env || `ATRIUM_POLYKOMOS_${engine}_URL` in env) return {};
  return { [name]: url };
}

/** A test app with both engines configured (unless disabled through the env). */
export function startPolykomosApp(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({
    ...engineDefault(env, 'POSTGRES', polykomosPostgresUrl),
    ...engineDefault(env, 'MYSQL', polykomosMysqlUrl),
    ...env,
  });
}

export interface PolykomosKey {
  raw: string;
  id: string;
}

/** Mints a `pk_live_` key through GraphQL as the admin, optionally with controls. */
export async function createPolykomosKey(
  t: TestApp,
  scopes: string[] = allScopes,
  controls?: Record<string, unknown>,
): Promise<PolykomosKey> {
  const r = await gql(
    t.baseUrl,
    PolykomosKitCreateKeyDocument,
    { i: { product: 'polykomos', name: `key-${randomUUID().slice(0, 8)}`, scopes } },
    t.adminKey,
  );
  const created = r.body.data?.createApiKey;
  const data = created?.__typename === 'MutationCreateApiKeySuccess' ? created.data : undefined;
  if (!data) throw new Error(`could not create a key: ${JSON.stringify(r.body)}`);
  const key = { raw: data.rawKey, id: data.apiKey.uuid };
  if (controls) await setControls(t, key.id, controls);
  return key;
}

export async function setControls(t: TestApp, apiKeyId: string, input: Record<string, unknown>): Promise<void> {
  const r = await gql(t.baseUrl, PolykomosKitSetKeyControlsDocument, { k: apiKeyId, i: input }, t.adminKey);
  if (r.body.data?.setPolykomosKeyControls?.__typename !== 'MutationSetPolykomosKeyControlsSuccess') {
    throw new Error(`could not set controls: ${JSON.stringify(r.body)}`);
  }
}

export interface PolykomosResponse {
  status: number;
  body: any;
  headers: Headers;
}

/** A Polykomos REST client; `contract` (when given) validates every JSON body against the contract. */
export function polykomosClient(t: TestApp, contract?: ContractExpectations) {
  return async (
    method: string,
    path: string,
    opts: { key?: string; auth?: string; body?: unknown; idempotencyKey?: string | null } = {},
  ): Promise<PolykomosResponse> => {
    const needsIdem = method !== 'GET' && opts.idempotencyKey !== null;
    const res = await fetch(`${t.baseUrl}/polykomos${path}`, {
      method,
      headers: {
        ...(opts.auth !== undefined
          ? { authorization: opts.auth }
          : opts.key
            ? { authorization: `Bearer ${opts.key}` }
            : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(needsIdem ? { 'idempotency-key': opts.idempotencyKey ?? randomUUID() } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    const body = text ? JSON.parse(text) : undefined;
    if (contract && body !== undefined) {
      try {
        contract.expectValidResponse(method, path.split('?')[0] ?? path, res.status, body);
      } catch (err) {
        // Statuses the contract leaves undeclared for an operation (400 on gets, 409, 429…) still carry ApiError.
        if (!String(err).includes('defines no JSON response')) throw err;
        expectApiError(body);
      }
    }
    return { status: res.status, body, headers: res.headers };
  };
}

/** The connection fields of the contract's `Database` (create and single-get responses). */
export interface DatabaseCredentials {
  host: string;
  port: number;
  db_name: string;
  db_username: string;
  db_password: string;
}

/** Runs one statement on a provisioned Postgres database, logged in with the credentials a create/get returned. */
export async function queryAsOwner(db: DatabaseCredentials, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({
    host: db.host,
    port: db.port,
    database: db.db_name,
    user: db.db_username,
    password: db.db_password,
  });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Connects with the credentials a create/get returned and runs `SELECT 1`. */
export async function selectOne(db: {
  db_type: string;
  host: string;
  port: number;
  db_name: string;
  db_username: string;
  db_password: string;
}): Promise<number> {
  if (db.db_type === 'postgres') {
    const r = await queryAsOwner(db, 'SELECT 1 AS one');
    return Number(r.rows[0].one);
  }
  const c = await mysql.createConnection({
    host: db.host,
    port: db.port,
    database: db.db_name,
    user: db.db_username,
    password: db.db_password,
  });
  try {
    const [rows] = await c.query('SELECT 1 AS one');
    return Number((rows as { one: number }[])[0]?.one);
  } finally {
    await c.end();
  }
}

/** Whether a database or login generated by Polykomos still exists on the engine server. */
export async function remoteExists(dbType: string, dbName: string, username: string): Promise<boolean> {
  if (dbType === 'postgres') {
    const c = new pg.Client({ connectionString: polykomosPostgresUrl });
    await c.connect();
    try {
      const d = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
      const r = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
      return (d.rowCount ?? 0) > 0 || (r.rowCount ?? 0) > 0;
    } finally {
      await c.end();
    }
  }
  const c = await mysql.createConnection({ uri: polykomosMysqlUrl });
  try {
    const [d] = await c.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = ?', [dbName]);
    const [u] = await c.query('SELECT 1 FROM mysql.user WHERE user = ?', [username]);
    return (d as unknown[]).length > 0 || (u as unknown[]).length > 0;
  } finally {
    await c.end();
  }
}

/** The contract's ApiError shape: `{error: {code, message, details?}, request_id}`. */
export function expectApiError(body: any): void {
  const ok =
    typeof body?.error?.code === 'string' &&
    typeof body.error.message === 'string' &&
    typeof body.request_id === 'string';
  if (!ok) throw new Error(`not an ApiError: ${JSON.stringify(body)}`);
}
