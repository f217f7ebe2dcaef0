// Child process for bench/athena-storage.ts: the full Atrium app with its embedded S3 server (s3rver, in a worker
// thread of this same process), its platform database on a fresh PostgreSQL database (BENCH_PLATFORM=pglite for
// PGlite), a fresh PostgreSQL database registered as the Athena client `bench` (managed storage keeps its
// file rows there), an S3 catalog of that client pointing at the embedded S3 server, a bucket for the bench and
// an Athena session (a user in one organization) to call managed storage with. Prints one JSON line, then serves
// until killed; on SIGTERM/SIGINT it closes the app and drops the database it created. Its pid is the process
// whose RSS the bench samples.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { adminPrincipal } from '../src/core/auth/principal.ts';
import { randomHex } from '../src/core/auth/secrets.ts';

const pgAdminUrl = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const suffix = randomHex(6);
const dataDb = `athena_storage_bench_${suffix}`;
// The platform database (sessions, catalogs, keys) is a second fresh database on the same server, as deployed,
// unless BENCH_PLATFORM=pglite.
const platformDb = process.env.BENCH_PLATFORM === 'pglite' ? undefined : `athena_storage_bench_platform_${suffix}`;

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
const dataUrl = urlOf(dataDb);
const created: string[] = [];
for (const db of [dataDb, platformDb]) {
  if (!db) continue;
  await admin(`CREATE DATABASE "${db}"`);
  created.push(db);
}
const adminKey = `bench-admin-${randomHex(24)}`;
const dataDir = await mkdtemp(path.join(tmpdir(), 'athena-storage-bench-'));
const app = await createApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_ADMIN_KEY: adminKey,
    // The catalog's endpoint is the embedded server on 127.0.0.1, which the outbound guard refuses by default.
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ...(platformDb ? { DATABASE_URL: urlOf(platformDb) } : {}),
  }),
);
const appUrl = await app.listen(0, '127.0.0.1');
const { athena, objectStore } = app.services;
const clientName = 'bench';
await athena.clients.create(adminPrincipal, { clientName, pgUri: dataUrl });

// The same S3 server both paths use: the embedded one, in this process.
const s3Endpoint = objectStore.endpoint;
const bucket = 'storage-bench';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
{
  const s3 = new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
}
const catalog = await athena.s3Catalogs.create(adminPrincipal, clientName, {
  name: 'bench',
  endpoint: s3Endpoint,
  region: 'us-east-1',
  bucket,
  provider: 'minio',
  accessKeyId: credentials.accessKeyId,
  secretKey: credentials.secretAccessKey,
});
const { token: sessionToken } = await athena.sessions.create(adminPrincipal, {
  clientName,
  userId: 'bench-user',
  organizationId: 'bench-org',
});

process.stdout.write(
  `${JSON.stringify({
    pid: process.pid,
    appUrl,
    adminKey,
    clientName,
    s3Endpoint,
    bucket,
    credentials,
    catalogName: 'bench',
    s3Id: catalog.id,
    sessionToken,
    platform: platformDb ? 'postgres' : 'pglite',
  })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await app.close();
  } finally {
    for (const db of created) await admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  }
};
process.on('uncaughtException', (err) => {
  if (stopping && (err as { code?: string }).code === '57P01') return;
  throw err;
});
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
