import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { Prisma, PrismaClient } from '../../prisma/generated/client/client.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { applyMigrations } from './migrations.ts';
import { openEmbeddedPostgres } from './pglite.ts';

export { Prisma, PrismaClient };
export type Tx = Prisma.TransactionClient;

/** The platform database: one PrismaClient over either embedded PGlite or a real Postgres server. */
export interface Database {
  prisma: PrismaClient;
  kind: 'pglite' | 'postgres';
  /** Applies pending committed migrations; returns the names applied now. */
  migrate(): Promise<string[]>;
  /** Cheap round trip for /readyz. */
  check(): Promise<void>;
  close(): Promise<void>;
}

// Arbitrary but fixed: serialises migration runs of several nodes starting at once on one Postgres.
const migrationLockId = 7_031_977_214n;

/** Opens the platform database selected by config (DATABASE_URL, else PGlite under the data dir). */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'> & Partial<Pick<Config, 'pgliteTemplateDir'>>,
  logger: Logger,
): Promise<Database> {
  if (config.databaseUrl) {
    const connectionString = config.databaseUrl;
    const adapter = new PrismaPg({ connectionString, connectionTimeoutMillis: 10_000, max: 10 });
    const prisma = new PrismaClient({ adapter });
    return {
      prisma,
      kind: 'postgres',
      migrate: () => withAdvisoryLock(connectionString, () => applyMigrations(migrationAdapter(connectionString))),
      check: async () => {
        await prisma.$queryRaw`SELECT 1`;
      },
      close: () => prisma.$disconnect(),
    };
  }
  const dir = path.join(config.dataDir, 'pgdata');
  const pglite = await openEmbeddedPostgres(dir, config.pgliteTemplateDir);
  const factory = new PrismaPGlite(pglite);
  const prisma = new PrismaClient({ adapter: factory });
  logger.debug({ dir }, 'embedded PGlite opened');
  return {
    prisma,
    kind: 'pglite',
    migrate: () => applyMigrations(factory),
    check: async () => {
      await pglite.query('SELECT 1');
    },
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}

function migrationAdapter(connectionString: string): SqlMigrationAwareDriverAdapterFactory {
  return new PrismaPg({ connectionString, connectionTimeoutMillis: 10_000, max: 2 });
}

async function withAdvisoryLock<T>(connectionString: string, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockId.toString()]);
    return await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockId.toString()]).catch(() => {});
    await client.end();
  }
}

export const isUniqueViolation = (e: unknown) =>
  e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';
export const isRecordNotFound = (e: unknown) => e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2025';
