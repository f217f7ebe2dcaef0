// Child process for bench/athena-gateway.ts. On the local PostgreSQL it creates a fresh bench database with
// `authors` and `posts` (the tables every peer serves), then serves them twice: the full Atrium app with the bench
// database registered as an Athena client (as an operator does), and PostGraphile v5 with its Amber preset on its
// own grafserv node server. Prints one JSON line (URLs, keys, the database URL), then serves until killed; on
// SIGTERM/SIGINT it closes both and drops the databases it created.
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { adminPrincipal } from '../src/core/auth/principal.ts';
import { randomHex } from '../src/core/auth/secrets.ts';

/** Rows seeded: 1 000 authors, 10 000 posts; `score` takes 100 values, so one score matches ~100 posts. */
export const benchShape = { authors: 1000, posts: 10_000, scores: 100 } as const;

const pgAdminUrl = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
// The platform database (API keys, clients) is a second fresh database on the same server unless BENCH_PLATFORM=pglite.
const platformOnPostgres = process.env.BENCH_PLATFORM !== 'pglite';
const suffix = randomHex(6);
const dataDb = `athena_bench_${suffix}`;
const platformDb = platformOnPostgres ? `athena_bench_platform_${suffix}` : undefined;

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

await admin(`CREATE DATABASE "${dataDb}"`);
created.push(dataDb);
if (platformDb) {
  await admin(`CREATE DATABASE "${platformDb}"`);
  created.push(platformDb);
}
const dataUrl = urlOf(dataDb);

// Fixture: generated server-side in one round trip each; deterministic, so every run reads the same rows.
{
  const db = new pg.Client({ connectionString: dataUrl });
  await db.connect();
  try {
    await db.query(`
      CREATE TABLE authors (id integer PRIMARY KEY, name text NOT NULL);
      CREATE TABLE posts (
        id integer PRIMARY KEY,
        author_id integer NOT NULL REFERENCES authors(id),
        title text NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL,
        score integer NOT NULL
      );
      CREATE INDEX posts_author_id_idx ON posts(author_id);
      CREATE INDEX posts_score_idx ON posts(score);
      INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, ${benchShape.authors}) g;
      INSERT INTO posts
        SELECT g, 1 + (g * 7919) % ${benchShape.authors}, 'post ' || g, repeat('lorem ipsum ', 8) || g,
               timestamptz '2026-01-01' + g * interval '1 minute', (g * 31) % ${benchShape.scores}
        FROM generate_series(1, ${benchShape.posts}) g;
      ANALYZE authors; ANALYZE posts;
    `);
  } finally {
    await db.end();
  }
}

const adminKey = `bench-admin-${randomHex(24)}`;
const dataDir = await mkdtemp(path.join(tmpdir(), 'athena-bench-'));
const app = await createApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_ADMIN_KEY: adminKey,
    ...(platformDb ? { DATABASE_URL: urlOf(platformDb) } : {}),
  }),
);
const appUrl = await app.listen(0, '127.0.0.1');
const clientName = 'bench';
await app.services.athena.clients.create(adminPrincipal, { clientName, pgUri: dataUrl });
// The realistic credential: an `ath_` key bound to the client, holding only the read right.
const { rawKey: clientKey } = await app.services.access.createApiKey(adminPrincipal, {
  product: 'athena',
  name: 'bench reader',
  scopes: [`client:${clientName}`, 'gateway.fetch.execute'],
});

// PostGraphile v5, Amber preset, on its own node server; a pool of 10 like Atrium's default client pool. The pool
// is ours so that it is ended before the database is dropped.
const postgraphilePool = new pg.Pool({ connectionString: dataUrl, max: 10 });
// An idle connection ended under it (the database dropped at exit) must not crash the process.
postgraphilePool.on('error', () => {});
const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ pool: postgraphilePool, schemas: ['public'] })],
  grafserv: { graphiql: false, watch: false },
});
const serv = pgl.createServ(grafserv);
const pgServer = createServer();
await serv.addTo(pgServer);
await new Promise<void>((resolve) => pgServer.listen(0, '127.0.0.1', resolve));
const postgraphileUrl = `http://127.0.0.1:${(pgServer.address() as AddressInfo).port}`;

process.stdout.write(
  `${JSON.stringify({ appUrl, postgraphileUrl, adminKey, clientKey, clientName, dataUrl, platform: platformDb ? 'postgres' : 'pglite', shape: benchShape })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    pgServer.close();
    await serv.release();
    await pgl.release();
    await postgraphilePool.end();
    await app.close();
  } finally {
    await dropAll();
    process.exit(0);
  }
};
// Dropping the databases WITH (FORCE) ends any connection a library still holds idle (57P01, admin_shutdown);
// past this point that is expected, not a crash.
process.on('uncaughtException', (err) => {
  if (stopping && (err as { code?: string }).code === '57P01') return;
  throw err;
});
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
