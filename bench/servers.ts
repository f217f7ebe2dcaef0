// Child process for bench/rest-vs-graphql.ts: the full Atrium app (PGlite, or PostgreSQL with BENCH_DB=postgres;
// embedded S3) and, on another port, a bare graphql-yoga server answering a constant. Prints one JSON line with both
// URLs, then serves until killed.
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSchema, createYoga } from 'graphql-yoga';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { randomHex } from '../src/core/auth/secrets.ts';

const adminKey = `bench-admin-${randomHex(24)}`;
const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-bench-'));
// BENCH_DB=postgres: a fresh database on the local server (BENCH_PG_URL names the admin connection), dropped on exit.
const pgAdminUrl = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const database = process.env.BENCH_DB === 'postgres' ? `atrium_bench_${randomHex(6)}` : undefined;
async function admin(sql: string) {
  const client = new pg.Client({ connectionString: pgAdminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
let databaseUrl: string | undefined;
if (database) {
  await admin(`CREATE DATABASE "${database}"`);
  const url = new URL(pgAdminUrl);
  url.pathname = `/${database}`;
  databaseUrl = url.toString();
}
const app = await createApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_ADMIN_KEY: adminKey,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  }),
);
const appUrl = await app.listen(0, '127.0.0.1');

const bare = createYoga({
  schema: createSchema({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } }),
  logging: false,
  graphiql: false,
  landingPage: false,
});
const bareServer = createServer(bare);
await new Promise<void>((resolve) => bareServer.listen(0, '127.0.0.1', resolve));
const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;

process.stdout.write(`${JSON.stringify({ appUrl, bareUrl, adminKey, db: database ? 'postgres' : 'pglite' })}\n`);
const stop = async () => {
  bareServer.close();
  await app.close();
  if (database) await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
