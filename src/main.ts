// First, so an unsupported Node is reported before the rest loads.
import './node-guard.ts';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { ConfigError } from './core/config.ts';
import { openDatabase } from './core/db.ts';
import { createLogger } from './core/logger.ts';
import { startPlatform } from './platform.ts';

const usage = 'usage: atrium <serve|worker|migrate>';

async function main(command: string | undefined) {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config);

  if (command === 'migrate') {
    const db = await openDatabase(config, logger);
    const applied = await db.migrate();
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
    await db.close();
    return;
  }
  if (command === 'worker') {
    // The same modules and job kinds as a server, without HTTP: more capacity for durable jobs on other machines.
    if (config.jobs.concurrency === 0) {
      console.error('ATRIUM_JOBS_CONCURRENCY is 0: a worker with no job slots would do nothing');
      process.exit(2);
    }
    const platform = await startPlatform(config, logger);
    console.log(
      `Atrium worker ${config.instanceId} is running ${config.jobs.concurrency} job slots on ${platform.core.db.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}/pgdata (this process only)` : 'PostgreSQL (DATABASE_URL)'}`,
    );
    onSignals(logger, () => platform.close());
    return;
  }
  if (command !== 'serve') {
    console.error(usage);
    process.exit(2);
  }

  const app = await createApp(config, { logger });
  const base = await app.listen();
  const lines = [
    `Atrium is listening on ${base}`,
    `  GraphQL:   ${base}/graphql   (POST/GET, SSE; WebSocket graphql-ws on the same path)`,
    `  GraphiQL:  ${base}/graphql   (open in a browser)`,
    ...app.restPrefixes.map((p) => `  REST:      ${base}${p}   (contract: ${base}${p}/openapi.json)`),
    `  Health:    ${base}/healthz  ${base}/readyz   Metrics: ${base}/metrics`,
    `  Database:  ${app.services.db.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}/pgdata` : 'PostgreSQL (DATABASE_URL)'}`,
    `  Storage:   ${app.services.objectStore.embedded ? `embedded S3 at ${app.services.objectStore.endpoint}` : app.services.objectStore.endpoint} bucket ${app.services.objectStore.bucket}`,
    `  Pub/sub:   ${config.redisUrl ? 'Redis (REDIS_URL)' : 'in-memory (single instance)'}`,
    app.adminKey.origin.kind === 'env'
      ? '  Admin key: the value of ATRIUM_ADMIN_KEY (send it as "Authorization: Bearer <key>")'
      : `  Admin key: cat ${app.adminKey.origin.path}   (send it as "Authorization: Bearer <key>")`,
  ];
  console.log(lines.join('\n'));

  onSignals(logger, () => app.close());
}

/** SIGINT/SIGTERM close gracefully once; exit 0 when closed, 1 when closing failed. */
function onSignals(logger: ReturnType<typeof createLogger>, close: () => Promise<void>) {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
