// The server scripts/sqlmap-athena.sh scans: the full Atrium app on a free port, with a fresh database on the local
// PostgreSQL registered as the Athena client `sqlmap`, holding a small table (`items`) and a function
// (`search_items(q text)`, a set-returning SQL function with an argument to inject into). Prints one JSON line
// (URL, client, a client-bound key), then serves until SIGTERM/SIGINT, when it drops its databases.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { adminPrincipal } from '../src/core/auth/principal.ts';
import { randomHex } from '../src/core/auth/secrets.ts';

const pgAdminUrl = process.env.SQLMAP_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const suffix = randomHex(6);
const dataDb = `athena_sqlmap_${suffix}`;
const platformDb = `athena_sqlmap_platform_${suffix}`;

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: pgAdminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
function urlOf(database: string): string {
  const url = new URL(pgAdminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
const created: string[] = [];
async function dropAll() {
  for (const db of created.splice(0)) await admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
}

let app: Awaited<ReturnType<typeof createApp>> | undefined;
let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  try {
    await app?.close();
  } finally {
    await dropAll();
    process.exit(code);
  }
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

try {
  for (const db of [dataDb, platformDb]) {
    await admin(`CREATE DATABASE "${db}"`);
    created.push(db);
  }
  const dataUrl = urlOf(dataDb);
  const db = new pg.Client({ connectionString: dataUrl });
  await db.connect();
  try {
    await db.query(`
      CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price numeric NOT NULL, secret text);
      INSERT INTO items VALUES (1, 'widget', 9.5, 's1'), (2, 'gadget', 12, 's2'), (3, 'gizmo', 3.25, 's3');
      CREATE FUNCTION search_items(q text) RETURNS SETOF items LANGUAGE sql STABLE
        AS $$ SELECT * FROM items WHERE name ILIKE '%' || q || '%' ORDER BY id $$;
    `);
  } finally {
    await db.end();
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'athena-sqlmap-'));
  app = await createApp(
    loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.SQLMAP_SERVER_LOG ?? 'error',
      ATRIUM_DATA_DIR: dataDir,
      ATRIUM_ADMIN_KEY: `sqlmap-admin-${randomHex(24)}`,
      DATABASE_URL: urlOf(platformDb),
    }),
  );
  const url = await app.listen(0, '127.0.0.1');
  const clientName = 'sqlmap';
  await app.services.athena.clients.create(adminPrincipal, { clientName, pgUri: dataUrl });
  // What an application would hold: a key bound to the client with the read and RPC rights the scanned routes need.
  const { rawKey } = await app.services.access.createApiKey(adminPrincipal, {
    product: 'athena',
    name: 'sqlmap',
    scopes: [`client:${clientName}`, 'gateway.fetch.execute', 'gateway.rpc.execute'],
  });
  process.stdout.write(`${JSON.stringify({ url, clientName, key: rawKey })}\n`);
} catch (err) {
  process.stderr.write(`sqlmap server: ${(err as Error).stack ?? err}\n`);
  await stop(1);
}
