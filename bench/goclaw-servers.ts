// Child process for bench/goclaw-completions.ts: the LLM stand-in (test/kit/llm-standin.ts) and the full Atrium
// app (PGlite, or PostgreSQL with BENCH_DB=postgres) with one OpenAI-compatible provider `bench` pointing at the
// stand-in. Prints one JSON line, then serves until killed.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { adminPrincipal } from '../src/core/auth/principal.ts';
import { randomHex } from '../src/core/auth/secrets.ts';
import { startLlmStandin } from '../test/kit/llm-standin.ts';

const adminKey = `bench-admin-${randomHex(24)}`;
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
const llm = await startLlmStandin();
// The stand-in records every request for tests; the bench sends thousands.
setInterval(() => llm.requests.splice(0), 1000).unref();
const app = await createApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ATRIUM_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'atrium-bench-')),
    ATRIUM_ADMIN_KEY: adminKey,
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  }),
);
const appUrl = await app.listen(0, '127.0.0.1');
await app.services.goclaw.providers.create(adminPrincipal, {
  name: 'bench',
  providerType: 'openai_compat',
  apiBase: llm.openaiBase,
  apiKey: 'bench-key',
});
process.stdout.write(
  `${JSON.stringify({ appUrl, standinUrl: llm.baseUrl, adminKey, db: database ? 'postgres' : 'pglite' })}\n`,
);
const stop = async () => {
  await app.close();
  await llm.close();
  if (database) await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
