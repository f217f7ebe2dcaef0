import pg from 'pg';
import type { PolykomosBlueprintApplication, Prisma } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
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
import { invalidParameter, PolykomosError, unprocessable } from './polykomos.errors.ts';
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

/**
 * Blueprint applications (docs/polykomos.md): the blueprint's SQL, its `{{var}}` placeholders rendered as quoted
 * literals (%L) or identifiers (%I), run on one of the caller's Postgres databases with that database's own login,
 * in one transaction (ROLLBACK on the first failure → rolled_back; dry runs always roll back).
 */
export class ApplicationService {
  private readonly jobs = new Map<number, Promise<void>>();

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
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
    if (!row) throw new PolykomosError('NOT_FOUND', 404, `Blueprint application ${id} not found`);
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
    const row = await this.deps.prisma.polykomosBlueprintApplication.create({
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
    const connection = {
      host: database.host,
      port: database.port,
      database: database.dbName,
      user: database.dbUsername,
      password: this.deps.polykomos.password(database),
    };
    const job = this.run(row.id, connection, statements, row.isDryRun).catch((err) =>
      this.deps.logger.error({ id: row.id, error: String(err) }, 'polykomos blueprint application crashed'),
    );
    this.jobs.set(row.id, job);
    void job.finally(() => this.jobs.delete(row.id));
    if (waitSeconds > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([job, new Promise((r) => (timer = setTimeout(r, waitSeconds * 1000)))]);
      clearTimeout(timer);
    }
    const current = await this.deps.prisma.polykomosBlueprintApplication.findUniqueOrThrow({ where: { id: row.id } });
    return { application: current, done: !['pending', 'running'].includes(current.status) };
  }

  /** Waits for runs in flight (shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.jobs.values()]);
  }

  private async run(
    id: number,
    connection: pg.ClientConfig,
    statements: { index: number; sql: string }[],
    dryRun: boolean,
  ): Promise<void> {
    const { prisma } = this.deps;
    const client = new pg.Client({ ...connection, connectionTimeoutMillis: 10_000 });
    const log: LogEntry[] = [];
    let started: Date | undefined;
    let ended: Date | undefined;
    let failure: string | undefined;
    let status: 'completed' | 'failed' | 'rolled_back' = 'completed';
    try {
      await client.connect();
      await client.query('BEGIN');
      await client.query(`SET LOCAL statement_timeout = ${statementTimeoutMs}`);
      // One application at a time per database (across instances too): the lock lives in the target database.
      await client.query('SELECT pg_advisory_xact_lock($1)', [applyLockKey]);
      started = new Date();
      await prisma.polykomosBlueprintApplication.update({
        where: { id },
        data: { status: 'running', startedAt: started },
      });
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
          failure = `Statement ${s.index}: ${err instanceof Error ? err.message : String(err)}`;
          log.push({
            index: s.index,
            sql: s.sql.slice(0, logSqlLength),
            status: 'failed',
            duration_ms: Math.round(performance.now() - t0),
            error: err instanceof Error ? err.message : String(err),
          });
          break;
        }
      }
      if (failure || dryRun) {
        await client.query('ROLLBACK');
        if (failure) status = 'rolled_back';
      } else {
        await client.query('COMMIT');
      }
      ended = new Date();
    } catch (err) {
      // Connection or transaction control failed: the outcome on the server is unknown or partial.
      failure ??= err instanceof Error ? err.message : String(err);
      status = 'failed';
      await client.query('ROLLBACK').catch(() => undefined);
    } finally {
      await client.end().catch(() => undefined);
    }
    const completedAt = ended ?? new Date();
    const ok = log.filter((l) => l.status === 'succeeded').length;
    await prisma.polykomosBlueprintApplication.update({
      where: { id },
      data: {
        status,
        executionLog: log as unknown as Prisma.InputJsonArray,
        statementsOk: ok,
        statementsFailed: log.length - ok,
        errorMessage: failure ?? null,
        startedAt: started ?? completedAt,
        completedAt,
        totalDurationMs: completedAt.getTime() - (started ?? completedAt).getTime(),
      },
    });
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
