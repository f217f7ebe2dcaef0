import pg from 'pg';
import type { PolykomosBlueprintApplication, Prisma } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import {
  defineJobKind,
  type JobContext,
  type JobKind,
  type JobRunner,
  PermanentJobError,
} from '../../core/jobs/runner.ts';
import type { Logger } from '../../core/logger.ts';
import {
  nonTransactional,
  parseBlueprint,
  referencedVariables,
  renderSql,
  type VariableDeclaration,
  type VariableType,
  valueProblem,
} from './blueprint-sql.ts';
import type { BlueprintService } from './blueprints.service.ts';
import { invalidParameter, PolykomosNotFoundError, unprocessable } from './polykomos.errors.ts';
import { type PolykomosService, requireScope } from './polykomos.service.ts';

export type ApplicationRow = PolykomosBlueprintApplication;

export interface ApplyInput {
  blueprintUuid: string;
  variables?: unknown;
  dryRun?: boolean | null;
}

interface LogEntry {
  index: number;
  sql: string;
  status: 'succeeded' | 'failed';
  duration_ms: number;
  rows_affected?: number | null;
  error?: string;
}

/** Serialises applications per target database: an advisory lock inside the target's own transaction. */
const applyLockKey = 0x706b_6170; // "pkap"
const statementTimeoutMs = 60_000;
const logSqlLength = 500;

/** The payload of `polykomos.applyBlueprint`: the application row and its rendered statements (no secrets). */
export interface ApplyPayload {
  applicationId: number;
  statements: { index: number; sql: string }[];
}

/**
 * Blueprint applications (docs/polykomos.md): the blueprint's SQL, its `{{var}}` placeholders rendered as quoted
 * literals (%L) or identifiers (%I), run on one of the caller's Postgres databases with that database's own login,
 * in one transaction (ROLLBACK on the first failure → rolled_back; dry runs always roll back).
 */
export class ApplicationService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      /** The durable job runner applications run on (core). */
      jobs: JobRunner;
      polykomos: PolykomosService;
      blueprints: BlueprintService;
    },
  ) {}

  async get(principal: Principal, id: number): Promise<ApplicationRow> {
    requireScope(principal, 'blueprints:read');
    const ownerId = (await this.deps.polykomos.account(principal)).ownerId;
    const row = Number.isSafeInteger(id)
      ? await this.deps.prisma.polykomosBlueprintApplication.findFirst({
          where: { id, ...(principal.kind === 'admin' ? {} : { ownerId }) },
        })
      : null;
    if (!row) throw new PolykomosNotFoundError(`Blueprint application ${id} not found`);
    return row;
  }

  /** Records the application and runs it; waits up to `waitSeconds` (0: not at all) for a terminal status. */
  async apply(principal: Principal, databaseUuid: string, input: ApplyInput, waitSeconds: number) {
    requireScope(principal, 'databases:write');
    requireScope(principal, 'blueprints:read');
    const database = await this.deps.polykomos.getDatabase(principal, databaseUuid, 'databases:write');
    if (database.status !== 'active') {
      throw unprocessable('DATABASE_NOT_ACTIVE', `The database is ${database.status}; blueprints apply to active ones`);
    }
    if (database.dbType !== 'postgres') {
      throw unprocessable('UNSUPPORTED_DB_TYPE', 'Blueprint applications run on Postgres databases only for now');
    }
    const blueprint = await this.deps.blueprints.get(principal, input.blueprintUuid).catch(() => {
      throw unprocessable('BLUEPRINT_NOT_FOUND', `Blueprint "${input.blueprintUuid}" not found`);
    });
    const declarations = (blueprint.variables ?? {}) as unknown as Record<string, VariableDeclaration>;
    const values = resolveValues(declarations, blueprint.sqlContent, input.variables);
    const parsed = await parseBlueprint(blueprint.sqlContent, declarations);
    if (!parsed.ok) throw unprocessable('INVALID_BLUEPRINT', parsed.error);
    if (parsed.statements.length === 0) throw unprocessable('INVALID_BLUEPRINT', 'The blueprint has no statements');
    for (const s of parsed.statements) {
      const why = nonTransactional(s);
      if (why) {
        throw unprocessable(
          'INVALID_BLUEPRINT',
          `Statement ${s.index}: ${why} cannot run inside the application's transaction`,
        );
      }
    }
    const statements = parsed.statements.map((s) => ({
      index: s.index,
      sql: renderSql(s.sql, declarations, values),
    }));
    const { row, jobId } = await this.deps.prisma.$transaction(async (tx) => {
      const created = await tx.polykomosBlueprintApplication.create({
        data: {
          ownerId: database.ownerId,
          blueprintId: blueprint.id,
          blueprintVersion: blueprint.version,
          databaseId: database.id,
          status: 'pending',
          isDryRun: input.dryRun === true,
          statementsTotal: statements.length,
          variableValues: values as Prisma.InputJsonObject,
        },
      });
      // The rendered statements travel with the job: a later blueprint version never changes a queued run.
      const job = await this.deps.jobs.enqueue(
        this.applyKind,
        { applicationId: created.id, statements },
        { tx, dedupeKey: `apply:${created.id}` },
      );
      return { row: created, jobId: job.id };
    });
    this.deps.jobs.wake();
    if (waitSeconds > 0) await this.deps.jobs.waitFor(jobId, waitSeconds * 1000);
    const current = await this.deps.prisma.polykomosBlueprintApplication.findUniqueOrThrow({ where: { id: row.id } });
    return { application: current, done: !['pending', 'running'].includes(current.status) };
  }

  /** Nothing to wait for: applications run on the core job runner, which core closes first. */
  async close(): Promise<void> {}

  /**
   * `polykomos.applyBlueprint`: runs an application's statements on its database (docs/polykomos.md). Once per
   * application even across crashes: each attempt records its target transaction id (`target_xid`) before running
   * anything, and a rerun first asks the target whether that transaction committed (`pg_xact_status`): committed,
   * the recorded log is final; aborted (the runner died mid-way, the target rolled back), it runs again. A failing
   * statement is an outcome (`rolled_back`), not a job failure; connection failures are retried, and after the
   * last attempt the application is `failed` with the error.
   */
  readonly applyKind: JobKind<ApplyPayload, { applicationId: number; status: string }> = defineJobKind({
    kind: 'polykomos.applyBlueprint',
    maxAttempts: 5,
    backoff: { baseMs: 1000, maxMs: 10_000 },
    run: (payload, ctx) => this.run(payload, ctx),
    onDead: async ({ applicationId }, error, { tx }) => {
      const now = new Date();
      await tx.polykomosBlueprintApplication.updateMany({
        where: { id: applicationId, status: { in: ['pending', 'running'] } },
        data: { status: 'failed', errorMessage: error.slice(0, 1000), completedAt: now },
      });
    },
  });

  private async run({ applicationId: id, statements }: ApplyPayload, ctx: JobContext) {
    const { prisma } = this.deps;
    const app = await prisma.polykomosBlueprintApplication.findUnique({ where: { id } });
    if (!app) throw new PermanentJobError('the blueprint application row is gone');
    if (!['pending', 'running'].includes(app.status)) return { applicationId: id, status: app.status };
    const database = await prisma.polykomosDatabase.findUnique({ where: { id: app.databaseId } });
    if (database?.status !== 'active') throw new PermanentJobError('the target database is no longer active');
    const client = new pg.Client({
      host: database.host,
      port: database.port,
      database: database.dbName,
      user: database.dbUsername,
      password: this.deps.polykomos.password(database),
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', () => undefined); // a dropped connection surfaces as the failing query's error
    await client.connect();
    try {
      if (app.targetXid && !app.isDryRun) {
        const st = await client.query<{ s: string | null }>('SELECT pg_xact_status($1::xid8) AS s', [app.targetXid]);
        const status = st.rows[0]?.s;
        if (status === 'committed') {
          // The earlier attempt committed and died before recording it: its stored log is the outcome.
          const done = await ctx.fenced((tx) =>
            tx.polykomosBlueprintApplication.update({
              where: { id },
              data: { status: 'completed', completedAt: app.completedAt ?? new Date() },
            }),
          );
          return { applicationId: id, status: done.status };
        }
        if (status === 'in progress') throw new Error('the previous attempt is still open on the database; retrying');
        // aborted (or forgotten): that attempt left nothing behind; run again.
      }
      const log: LogEntry[] = [];
      let failure: string | undefined;
      await client.query('BEGIN');
      await client.query(`SET LOCAL statement_timeout = ${statementTimeoutMs}`);
      // One application at a time per database (across instances too): the lock lives in the target database.
      await client.query('SELECT pg_advisory_xact_lock($1)', [applyLockKey]);
      const xid = await client.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x');
      const started = new Date();
      await ctx.fenced((tx) =>
        tx.polykomosBlueprintApplication.update({
          where: { id },
          data: { status: 'running', startedAt: started, targetXid: xid.rows[0]?.x ?? null },
        }),
      );
      for (const s of statements) {
        const t0 = performance.now();
        try {
          const r = await client.query(s.sql);
          log.push({
            index: s.index,
            sql: s.sql.slice(0, logSqlLength),
            status: 'succeeded',
            duration_ms: Math.round(performance.now() - t0),
            rows_affected: Array.isArray(r) ? null : (r.rowCount ?? null),
          });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (!(err instanceof pg.DatabaseError)) throw err; // the connection, not the statement: retry
          failure = `Statement ${s.index}: ${message}`;
          log.push({
            index: s.index,
            sql: s.sql.slice(0, logSqlLength),
            status: 'failed',
            duration_ms: Math.round(performance.now() - t0),
            error: message,
          });
          break;
        }
        await ctx.progress({ done: log.length, total: statements.length, message: `statement ${s.index} done` });
      }
      const ok = log.filter((l) => l.status === 'succeeded').length;
      const outcome = (status: string, completedAt: Date | null) => ({
        status,
        executionLog: log as unknown as Prisma.InputJsonArray,
        statementsOk: ok,
        statementsFailed: log.length - ok,
        errorMessage: failure ?? null,
        completedAt,
        totalDurationMs: completedAt ? completedAt.getTime() - started.getTime() : null,
      });
      if (failure || app.isDryRun) {
        await client.query('ROLLBACK');
        const row = await ctx.fenced((tx) =>
          tx.polykomosBlueprintApplication.update({
            where: { id },
            data: outcome(failure ? 'rolled_back' : 'completed', new Date()),
          }),
        );
        return { applicationId: id, status: row.status };
      }
      // The log goes first, still running: a crash between COMMIT and the last write leaves the full record.
      const committedAt = new Date();
      await ctx.fenced((tx) =>
        tx.polykomosBlueprintApplication.update({ where: { id }, data: outcome('running', committedAt) }),
      );
      await client.query('COMMIT');
      const row = await ctx.fenced((tx) =>
        tx.polykomosBlueprintApplication.update({ where: { id }, data: { status: 'completed' } }),
      );
      return { applicationId: id, status: row.status };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Provided values checked against the declarations, defaults filled in; a missing required value is 422. */
function resolveValues(
  declarations: Record<string, VariableDeclaration>,
  sql: string,
  provided: unknown,
): Record<string, unknown> {
  if (provided !== undefined && provided !== null && (typeof provided !== 'object' || Array.isArray(provided))) {
    throw invalidParameter('variables must be an object');
  }
  const given = (provided ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!(name in declarations)) throw unprocessable('INVALID_PARAMETER', `Variable "${name}" is not declared`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(declarations)) {
    const value = given[name] ?? decl.default;
    if (value === undefined || value === null) continue;
    const problem = valueProblem(decl.type as VariableType, value);
    if (problem) throw unprocessable('INVALID_PARAMETER', `Variable "${name}" ${problem}`);
    values[name] = value;
  }
  for (const name of referencedVariables(sql)) {
    if (!(name in values)) throw unprocessable('MISSING_VARIABLE', `Variable "${name}" has no value and no default`);
  }
  for (const [name, decl] of Object.entries(declarations)) {
    if (decl.required && !(name in values)) {
      throw unprocessable('MISSING_VARIABLE', `Variable "${name}" is required`);
    }
  }
  return values;
}
