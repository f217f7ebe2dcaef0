// First, so an unsupported Node is reported before the rest loads.
import './node-guard.ts';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './core/config.ts';
import { openDatabase } from './core/db.ts';
import { createLogger } from './core/logger.ts';

const usage = 'usage: atrium <serve|migrate>';

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

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await app.close();
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
