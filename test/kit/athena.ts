import { adminPrincipal } from '../../src/core/auth/principal.ts';
import { createTestDatabase, startTestApp, type TestApp, testDb } from './app.ts';

/*
 * Athena test kit: a server with a client database to work on — on the PGlite pass the embedded `local` client, on
 * the Postgres pass a fresh PostgreSQL database registered as a client (what an operator does) — and helpers for
 * REST calls with Athena's headers and for client-bound `ath_` keys.
 */

export interface AthenaTestApp extends TestApp {
  /** The client tests use (`X-Athena-Client`). */
  client: string;
  /** Runs SQL directly on the client database, as its owner would (fixtures). */
  sql(text: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
}

export async function startAthenaApp(env: Record<string, string> = {}): Promise<AthenaTestApp> {
  const t = await startTestApp(env);
  const { athena } = t.app.services;
  let client = 'local';
  let drop: (() => Promise<void>) | undefined;
  if (testDb === 'postgres') {
    const database = await createTestDatabase();
    drop = database.drop;
    client = 'pgtest';
    await athena.clients.create(adminPrincipal, { clientName: client, pgUri: database.url });
  }
  const { db } = await athena.clients.database(client);
  return {
    ...t,
    client,
    async sql(text, values) {
      if (values === undefined) {
        await db.exec(text);
        athena.gateway.invalidateCatalog(client);
        return [];
      }
      const r = await db.query<Record<string, unknown>>(text, values);
      // DDL through this door must be seen by the gateway at once.
      athena.gateway.invalidateCatalog(client);
      return r.rows;
    },
    async close() {
      await t.close();
      await drop?.();
    },
  };
}

/** A client-bound Athena key with these rights. */
export async function athenaKey(t: AthenaTestApp, rights: string[], client = t.client): Promise<string> {
  const { rawKey } = await t.app.services.access.createApiKey(adminPrincipal, {
    product: 'athena',
    name: `test ${rights.join(' ')}`,
    scopes: [`client:${client}`, ...rights],
  });
  return rawKey;
}

export interface RestAnswer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** One REST call under /athena with `X-Athena-Client` and the given key (default: the admin key). */
export async function athenaRest(
  t: AthenaTestApp,
  method: string,
  path: string,
  options: { body?: unknown; key?: string | null; headers?: Record<string, string>; client?: string | null } = {},
): Promise<RestAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? t.adminKey : options.key;
  if (key !== null) headers.apikey = key;
  const client = options.client === undefined ? t.client : options.client;
  if (client !== null) headers['x-athena-client'] = client;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${t.baseUrl}/athena${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body, text };
}
