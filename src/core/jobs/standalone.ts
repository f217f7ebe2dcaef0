/**
 * A job runner process on its own: `node --import tsx src/core/jobs/standalone.ts <kinds-module>…`
 *
 * Each kinds module exports `jobKinds(deps: { prisma, logger, instanceId }): JobKind[] | Promise<JobKind[]>`.
 * Reads DATABASE_URL (else PGlite under ATRIUM_DATA_DIR, one process only), ATRIUM_INSTANCE_ID, ATRIUM_JOBS_*
 * and LOG_LEVEL; does not migrate. Prints `jobs runner ready <instanceId>` once claiming, and closes gracefully
 * on SIGTERM/SIGINT. The server's `atrium worker` command is the production entry; this one serves tests and
 * ad-hoc workers, and imports no module itself.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openDatabase, type PrismaClient } from '../db.ts';
import { createLogger, type Logger } from '../logger.ts';
import { parseJobsConfig } from './config.ts';
import { type JobKind, JobRunner } from './runner.ts';

export type JobKindsFactory = (deps: {
  prisma: PrismaClient;
  logger: Logger;
  instanceId: string;
}) => JobKind[] | Promise<JobKind[]>;

const modules = process.argv.slice(2);
const problems: string[] = [];
const config = parseJobsConfig(process.env, problems);
if (modules.length === 0) problems.push('usage: standalone.ts <kinds-module>…');
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(2);
}

const logger = createLogger({ logLevel: process.env.LOG_LEVEL ?? 'info' });
const instanceId = process.env.ATRIUM_INSTANCE_ID ?? `${hostname()}:${process.pid}`;
const db = await openDatabase(
  {
    databaseUrl: process.env.DATABASE_URL,
    dataDir: path.resolve(process.env.ATRIUM_DATA_DIR ?? '.atrium'),
    pgliteTemplateDir: process.env.ATRIUM_PGLITE_TEMPLATE_DIR,
  },
  logger,
);
const runner = new JobRunner({ prisma: db.prisma, logger, instanceId, config });
for (const file of modules) {
  const mod = (await import(pathToFileURL(path.resolve(file)).href)) as { jobKinds?: JobKindsFactory };
  if (typeof mod.jobKinds !== 'function') throw new Error(`${file} does not export jobKinds(deps)`);
  for (const kind of await mod.jobKinds({ prisma: db.prisma, logger, instanceId })) runner.define(kind);
}
runner.start();
process.stdout.write(`jobs runner ready ${instanceId}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await runner.close();
  await db.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
