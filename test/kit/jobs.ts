import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { type Database, openDatabase, type PrismaClient } from '../../src/core/db.ts';
import type { JobsConfig } from '../../src/core/jobs/config.ts';
import { type JobKind, JobRunner, type JobView } from '../../src/core/jobs/runner.ts';
import { createTestDatabase, testDb } from './app.ts';
import { seedPlatformDatabase } from './pglite-template.ts';

export const silent = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** Short leases and polls so the suite stays fast. */
export const fastJobs: JobsConfig = {
  concurrency: 2,
  pollMs: 20,
  leaseMs: 600,
  maxAttempts: 3,
  backoffBaseMs: 50,
  backoffMaxMs: 400,
  retentionHours: 1,
};

export interface JobsTestDb {
  db: Database;
  prisma: PrismaClient;
  /** The Postgres URL (Postgres pass only), for worker processes. */
  url: string | undefined;
  close(): Promise<void>;
}

/** A migrated platform database for one test file (PGlite, or Postgres with ATRIUM_TEST_DB=postgres). */
export async function openJobsTestDb(): Promise<JobsTestDb> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-jobs-'));
  const pgDb = testDb === 'postgres' ? await createTestDatabase() : undefined;
  if (!pgDb) await seedPlatformDatabase(dataDir);
  const db = await openDatabase({ databaseUrl: pgDb?.url, dataDir }, silent);
  await db.migrate();
  await createJobTestTables(db.prisma);
  return {
    db,
    prisma: db.prisma,
    url: pgDb?.url,
    close: async () => {
      await db.close();
      await pgDb?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Test-only tables the handlers write to. `job_test_effects` has one row per job at most (primary key): a second
 * completion of a job fails loudly instead of being counted silently.
 */
async function createJobTestTables(prisma: PrismaClient): Promise<void> {
  await prisma.$executeRaw`CREATE TABLE job_test_starts (
    job_id uuid NOT NULL, attempt int NOT NULL, instance text NOT NULL, PRIMARY KEY (job_id, attempt))`;
  await prisma.$executeRaw`CREATE TABLE job_test_effects (job_id uuid PRIMARY KEY, instance text NOT NULL)`;
  await prisma.$executeRaw`CREATE TABLE job_test_dead (job_id uuid PRIMARY KEY, error text NOT NULL)`;
}

export function makeRunner(
  prisma: PrismaClient,
  kinds: JobKind<any, any>[],
  opts: { instanceId?: string; config?: Partial<JobsConfig>; onChange?: (job: JobView) => void } = {},
): JobRunner {
  const runner = new JobRunner({
    prisma,
    logger: silent,
    instanceId: opts.instanceId ?? 'test-runner',
    config: { ...fastJobs, ...opts.config },
    onChange: opts.onChange,
  });
  for (const k of kinds) runner.define(k);
  return runner;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 10_000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(20);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise with its resolve function, for holding a handler until the test lets it go. */
export function gate<T = void>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    open = r;
  });
  return { promise, open };
}

export async function countRows(prisma: PrismaClient, table: 'effects' | 'starts' | 'dead', jobId: string) {
  const rows =
    table === 'effects'
      ? await prisma.$queryRaw<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM job_test_effects WHERE job_id = ${jobId}::uuid`
      : table === 'starts'
        ? await prisma.$queryRaw<
            { n: number }[]
          >`SELECT count(*)::int AS n FROM job_test_starts WHERE job_id = ${jobId}::uuid`
        : await prisma.$queryRaw<
            { n: number }[]
          >`SELECT count(*)::int AS n FROM job_test_dead WHERE job_id = ${jobId}::uuid`;
  return rows[0]?.n ?? 0;
}

/**
 * Spawns `node --import tsx <args>` with `env` on top of this process' environment, adds it to `children` at once
 * (so a test's afterAll kills it even when it never gets ready) and resolves once its stdout says `ready` (rejects
 * after `timeoutMs`, or when it exits first, with its stderr).
 */
export async function spawnUntilReady(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: string,
  timeoutMs: number,
  children: ChildProcess[],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} not ready: ${stderr}`)), timeoutMs);
    child.stdout?.on('data', (d) => {
      if (String(d).includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited with ${code}: ${stderr}`));
    });
  });
  return child;
}

/** The exit of a child process (at once when it has exited already). */
export const exited = (c: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) resolve({ code: c.exitCode, signal: c.signalCode });
    else c.once('exit', (code, signal) => resolve({ code, signal }));
  });
