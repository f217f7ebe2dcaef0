import mysql from 'mysql2/promise';
import pg from 'pg';
import type { PolykomosQueryExecution } from '../../../prisma/generated/client/client.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import { redact } from '../databases/databases.service.ts';
import { GoClawProviderUnavailableError } from '../goclaw/goclaw.errors.ts';
import type { GoClawService } from '../goclaw/goclaw.service.ts';
import { LlmProviderError } from '../goclaw/llm/types.ts';
import {
  checkPostgresSql,
  describeSchema,
  extractSql,
  type NlqEngine,
  type SchemaColumn,
  type SchemaKey,
  type SqlVerdict,
  systemPrompt,
  uniqueNames,
} from './nl-sql.ts';
import type { PolykomosConfig } from './polykomos.config.ts';
import { invalidParameter, PolykomosNotFoundError, unprocessable } from './polykomos.errors.ts';
import { type DatabaseRow, type PolykomosService, requireScope } from './polykomos.service.ts';

export type QueryExecutionRow = PolykomosQueryExecution;

/** The REST error code of an execution that did not succeed (GraphQL `PolykomosQueryErrorCode`). */
export type QueryErrorCode =
  | 'query_execution_failed'
  | 'generated_sql_invalid'
  | 'multiple_statements'
  | 'sql_not_read_only'
  | 'nl_query_unavailable'
  | 'llm_rate_limited'
  | 'llm_unavailable';

export interface QueryResult {
  type: 'select' | 'explain';
  rows: Record<string, unknown>[];
  rowCount: number;
  truncated: boolean;
  maxRows: number;
}

/** What a request produced: the recorded execution and, when it succeeded, its rows. */
export interface QueryOutcome {
  execution: QueryExecutionRow;
  result: QueryResult | null;
}

export interface QueryInput {
  databaseUuid: string;
  query: string;
}

const maxQueryLength = 2000;
/** Retry-After when the provider was rate limited without saying how long, or failed otherwise. */
const defaultRateLimitRetry = 60;
const defaultUnavailableRetry = 30;
const maxErrorLength = 1000;

/** Connections dropped on purpose (enough rows read): closed already, so not ended again. */
const dropped = new WeakSet<object>();

/** A database failure before or while running the statement (the contract's 500 query_execution_failed). */
class ExecutionFailure extends Error {}

/** A generated statement refused before it ran. */
class Refusal extends Error {
  constructor(
    readonly code: 'generated_sql_invalid' | 'multiple_statements' | 'sql_not_read_only',
    message: string,
  ) {
    super(message);
  }
}

/*
 * Postgres values as the response carries them: timestamps and dates as the server's text (no time-zone shift by
 * a JavaScript Date), bytea as `\x` hex; everything else as node-postgres parses it (int8 and numeric as strings).
 */
const textOids = new Set([1082, 1083, 1114, 1184, 1266]);
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (textOids.has(oid)) return (v: string) => v;
    if (oid === 17) return (v: string) => v;
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as typeof pg.types.getTypeParser,
};

function jsonValue(v: unknown, engine: NlqEngine): unknown {
  if (Buffer.isBuffer(v)) return engine === 'postgres' ? `\\x${v.toString('hex')}` : `0x${v.toString('hex')}`;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/**
 * Natural-language query executions (docs/polykomos.md): the caller's database's schema is introspected with its
 * own login, GoClaw's configured provider and model write one statement, the statement is judged read-only before
 * it runs (Postgres: libpg-query; MySQL: the server's own parser) and then runs inside a READ ONLY transaction with
 * a statement timeout, capped at `maxRows`. Every request that reaches the pipeline is recorded (success or not).
 */
export class QueryService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      config: PolykomosConfig['nlq'];
      polykomos: PolykomosService;
      goclaw: GoClawService;
    },
  ) {}

  /** One of the caller's executions by its integer id (scope queries:write). */
  async get(principal: Principal, id: number): Promise<QueryExecutionRow> {
    requireScope(principal, 'queries:write');
    const owner = principal.kind === 'admin' ? {} : { ownerId: (await this.deps.polykomos.account(principal)).ownerId };
    const row =
      Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647
        ? await this.deps.prisma.polykomosQueryExecution.findFirst({ where: { id, ...owner } })
        : null;
    if (!row) throw new PolykomosNotFoundError(`Query execution ${id} not found`);
    return row;
  }

  /** Executions on one of the caller's databases, newest first; `afterId` is the previous page's last id. */
  async listForDatabase(principal: Principal, database: DatabaseRow, limit: number, afterId: number | null) {
    requireScope(principal, 'queries:write');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidParameter('limit must be 1..100');
    const owner = principal.kind === 'admin' ? {} : { ownerId: (await this.deps.polykomos.account(principal)).ownerId };
    const where = { databaseId: database.id, ...owner };
    const [rows, totalCount] = await this.deps.prisma.$transaction([
      this.deps.prisma.polykomosQueryExecution.findMany({
        where: { ...where, ...(afterId !== null ? { id: { lt: afterId } } : {}) },
        orderBy: { id: 'desc' },
        take: limit + 1,
      }),
      this.deps.prisma.polykomosQueryExecution.count({ where }),
    ]);
    return { items: rows.slice(0, limit), hasMore: rows.length > limit, totalCount };
  }

  /**
   * Runs one natural-language query. Throws (nothing recorded) for a missing scope, an empty question, an
   * unconfigured server (422 NL_QUERY_UNAVAILABLE), an unknown or another user's database (404) or one that is not
   * active (422); everything after that is recorded and returned, including failures.
   */
  async execute(principal: Principal, input: QueryInput): Promise<QueryOutcome> {
    requireScope(principal, 'queries:write');
    if (typeof input.query !== 'string' || input.query.trim() === '') {
      throw unprocessable('INVALID_PARAMETER', 'query must be a non-empty question');
    }
    if (input.query.length > maxQueryLength)
      throw invalidParameter(`query is longer than ${maxQueryLength} characters`);
    if (input.query.includes('\u0000')) throw invalidParameter('query must not contain NUL');
    const { provider, model, maxRows } = this.deps.config;
    if (!provider || !model) {
      throw unprocessable('NL_QUERY_UNAVAILABLE', 'Natural-language queries are not configured on this server');
    }
    const database = await this.deps.polykomos.getDatabase(principal, input.databaseUuid, 'queries:write');
    if (database.status !== 'active') {
      throw unprocessable('DATABASE_NOT_ACTIVE', `The database is ${database.status}; queries run on active ones`);
    }
    const engine = database.dbType as NlqEngine;
    const started = performance.now();
    const record = {
      ownerId: database.ownerId,
      databaseId: database.id,
      apiKeyId: principal.kind === 'apiKey' ? principal.id : null,
      naturalQuery: input.query,
      maxRows,
      llmProvider: provider,
      llmModel: model,
    };
    const finish = async (
      fields: Partial<QueryExecutionRow> & { status: QueryExecutionRow['status'] },
      result: QueryResult | null = null,
    ): Promise<QueryOutcome> => {
      const execution = await this.deps.prisma.polykomosQueryExecution.create({
        data: {
          ...record,
          ...fields,
          errorMessage: fields.errorMessage ? fields.errorMessage.slice(0, maxErrorLength) : null,
          durationMs: Math.round(performance.now() - started),
        },
      });
      return { execution, result };
    };
    const failed = (errorCode: QueryErrorCode, errorMessage: string, extra: Partial<QueryExecutionRow> = {}) =>
      finish({ status: 'failed', errorCode, errorMessage, ...extra });

    let schema: string;
    try {
      schema = await this.introspect(database);
    } catch (err) {
      return failed('query_execution_failed', `could not read the database's schema: ${messageOf(err)}`);
    }

    let answer: Awaited<ReturnType<GoClawService['completeOnce']>>;
    try {
      answer = await this.deps.goclaw.completeOnce({
        provider,
        model,
        messages: [
          { role: 'system', content: systemPrompt(engine, schema) },
          { role: 'user', content: input.query },
        ],
        temperature: 0,
        maxTokens: 1024,
        name: `polykomos nl-query ${database.uuid}`,
        channel: 'polykomos',
        createdBy: principalId(principal),
        userId: database.ownerId,
        signal: AbortSignal.timeout(this.deps.config.llmTimeoutMs),
      });
    } catch (err) {
      if (err instanceof GoClawProviderUnavailableError) {
        return failed('nl_query_unavailable', `the configured model is unavailable: ${err.message}`);
      }
      if (err instanceof LlmProviderError) {
        if (err.status === 429) {
          return failed('llm_rate_limited', `the model provider is rate limiting: ${err.message}`, {
            retryAfterSeconds: err.retryAfterSeconds ?? defaultRateLimitRetry,
          });
        }
        if (err.status === 401 || err.status === 403 || err.status === 404) {
          return failed('nl_query_unavailable', `the configured model refused the call: ${err.message}`);
        }
        return failed('llm_unavailable', `the model could not be reached: ${err.message}`, {
          retryAfterSeconds: err.retryAfterSeconds ?? defaultUnavailableRetry,
        });
      }
      if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') {
        return failed('llm_unavailable', `the model did not answer within ${this.deps.config.llmTimeoutMs} ms`, {
          retryAfterSeconds: defaultUnavailableRetry,
        });
      }
      throw err;
    }
    const llm = {
      inputTokens: answer.usage.inputTokens,
      outputTokens: answer.usage.outputTokens,
      traceId: answer.traceId,
    };
    const sql = extractSql(answer.content);
    if (!sql) {
      return finish({
        status: 'refused',
        errorCode: 'generated_sql_invalid',
        errorMessage: 'the model answered without a SQL statement',
        ...llm,
      });
    }
    try {
      const result = engine === 'postgres' ? await this.runPostgres(database, sql) : await this.runMysql(database, sql);
      return finish(
        {
          status: 'succeeded',
          generatedSql: result.sql,
          resultType: result.type,
          rowCount: result.rowCount,
          truncated: result.truncated,
          ...llm,
        },
        { type: result.type, rows: result.rows, rowCount: result.rowCount, truncated: result.truncated, maxRows },
      );
    } catch (err) {
      if (err instanceof Refusal) {
        return finish({ status: 'refused', errorCode: err.code, errorMessage: err.message, generatedSql: sql, ...llm });
      }
      if (err instanceof ExecutionFailure) {
        return failed('query_execution_failed', err.message, { generatedSql: sql, ...llm });
      }
      throw err;
    }
  }

  /** The database's tables, columns, primary and foreign keys as prompt text (read with its own login). */
  private async introspect(db: DatabaseRow): Promise<string> {
    if (db.dbType === 'postgres') {
      return this.withPostgres(db, async (c) => {
        const cols = await c.query<{ s: string; t: string; c: string; ty: string; n: string }>(
          `SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS c, c.data_type AS ty, c.is_nullable AS n
             FROM information_schema.columns c
            WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg\\_%'
            ORDER BY c.table_schema, c.table_name, c.ordinal_position
            LIMIT 3000`,
        );
        const keys = await c.query<{ k: string; s: string; t: string; c: string; fs: string; ft: string; fc: string }>(
          `SELECT con.contype::text AS k, ns.nspname AS s, cl.relname AS t, a.attname AS c,
                  fns.nspname AS fs, fcl.relname AS ft, fa.attname AS fc
             FROM pg_constraint con
             JOIN pg_class cl ON cl.oid = con.conrelid
             JOIN pg_namespace ns ON ns.oid = cl.relnamespace
             CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(attnum, fattnum)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             LEFT JOIN pg_class fcl ON fcl.oid = con.confrelid
             LEFT JOIN pg_namespace fns ON fns.oid = fcl.relnamespace
             LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fattnum
            WHERE con.contype IN ('p', 'f') AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
            LIMIT 3000`,
        );
        return describeSchema(
          'postgres',
          cols.rows.map((r) => ({ schema: r.s, table: r.t, column: r.c, type: r.ty, nullable: r.n === 'YES' })),
          keys.rows.map((r) => keyOf(r.k === 'p' ? 'primary' : 'foreign', r.s, r.t, r.c, r.fs, r.ft, r.fc)),
        );
      });
    }
    return this.withMysql(db, async (c) => {
      const timeout = this.deps.config.statementTimeoutMs + 5_000;
      const [cols] = await c.query({
        timeout,
        sql: `SELECT table_name AS t, column_name AS c, column_type AS ty, is_nullable AS n, column_key AS ck
           FROM information_schema.columns WHERE table_schema = DATABASE()
          ORDER BY table_name, ordinal_position LIMIT 3000`,
      });
      const [refs] = await c.query({
        timeout,
        sql: `SELECT table_name AS t, column_name AS c, referenced_table_name AS ft, referenced_column_name AS fc
           FROM information_schema.key_column_usage
          WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL LIMIT 3000`,
      });
      const columns = cols as { t: string; c: string; ty: string; n: string; ck: string }[];
      const keys: SchemaKey[] = [
        ...columns.filter((r) => r.ck === 'PRI').map((r) => keyOf('primary', '', r.t, r.c)),
        ...(refs as { t: string; c: string; ft: string; fc: string }[]).map((r) =>
          keyOf('foreign', '', r.t, r.c, '', r.ft, r.fc),
        ),
      ];
      return describeSchema(
        'mysql',
        columns.map(
          (r): SchemaColumn => ({ schema: '', table: r.t, column: r.c, type: r.ty, nullable: r.n === 'YES' }),
        ),
        keys,
      );
    });
  }

  /**
   * Judged by libpg-query, then run with the database's own login in `BEGIN READ ONLY` with `SET LOCAL
   * statement_timeout`; a SELECT through a cursor so that only `maxRows + 1` rows are ever fetched.
   */
  private async runPostgres(db: DatabaseRow, text: string) {
    const verdict: SqlVerdict = await checkPostgresSql(text);
    if (!verdict.ok) throw new Refusal(verdict.code, verdict.message);
    const { maxRows, statementTimeoutMs } = this.deps.config;
    return this.withPostgres(db, async (c) => {
      try {
        await c.query('BEGIN TRANSACTION READ ONLY');
        await c.query(`SET LOCAL statement_timeout = ${Math.trunc(statementTimeoutMs)}`);
        let result: pg.QueryArrayResult;
        if (verdict.kind === 'select') {
          await c.query(`DECLARE pk_nlq NO SCROLL CURSOR FOR ${verdict.sql}`);
          result = await c.query({ text: `FETCH FORWARD ${maxRows + 1} FROM pk_nlq`, rowMode: 'array' });
        } else {
          result = await c.query({ text: verdict.sql, rowMode: 'array' });
        }
        const names = uniqueNames(result.fields.map((f) => f.name));
        const truncated = result.rows.length > maxRows;
        const rows = result.rows.slice(0, maxRows).map((r) => rowObject(names, r, 'postgres'));
        return { sql: verdict.sql, type: verdict.kind, rows, rowCount: rows.length, truncated };
      } catch (err) {
        if (err instanceof pg.DatabaseError) throw new ExecutionFailure(err.message);
        throw new ExecutionFailure(messageOf(err));
      } finally {
        await c.query('ROLLBACK').catch(() => undefined);
      }
    });
  }

  /**
   * Judged by the MySQL server's own parser without running anything: the statement must prepare on its own (one
   * statement, valid syntax) and as `SELECT EXISTS (<statement>)`, which only a query expression (SELECT, WITH …
   * SELECT, VALUES, a UNION) fits — INSERT/UPDATE/DELETE (with RETURNING too), DDL, SELECT … INTO, SHOW and
   * several statements are a parse error there. Then it runs in `START TRANSACTION READ ONLY` with the server's
   * statement time limit, rows read as a stream and the connection dropped after `maxRows + 1`.
   */
  private async runMysql(db: DatabaseRow, sql: string) {
    const { maxRows, statementTimeoutMs } = this.deps.config;
    return this.withMysql(db, async (c) => {
      const parseError = (err: unknown) => (err as { errno?: number }).errno === 1064;
      try {
        await (await c.prepare(sql)).close();
      } catch (err) {
        if (parseError(err)) {
          throw new Refusal(
            'generated_sql_invalid',
            `the server's parser refused it (exactly one statement runs): ${messageOf(err)}`,
          );
        }
        throw new ExecutionFailure(messageOf(err));
      }
      try {
        await (await c.prepare(`SELECT EXISTS (\n${sql}\n) AS pk_nlq_check`)).close();
      } catch (err) {
        throw new Refusal(
          'sql_not_read_only',
          parseError(err)
            ? 'only SELECT and WITH … SELECT run: the statement is not a query'
            : `the statement could not be verified as a read-only query: ${messageOf(err)}`,
        );
      }
      const [version] = await c.query('SELECT VERSION() AS v');
      const mariadb = String((version as { v: string }[])[0]?.v ?? '').includes('MariaDB');
      await c.query(
        mariadb
          ? `SET SESSION max_statement_time = ${(statementTimeoutMs / 1000).toFixed(3)}`
          : `SET SESSION max_execution_time = ${Math.trunc(statementTimeoutMs)}`,
      );
      await c.query('START TRANSACTION READ ONLY');
      // The callback connection under the promise wrapper: its query emits rows one by one.
      const core = (c as unknown as { connection: { query(options: object): NodeJS.EventEmitter; destroy(): void } })
        .connection;
      const { names, rows, truncated } = await new Promise<{ names: string[]; rows: unknown[][]; truncated: boolean }>(
        (resolve, reject) => {
          const rows: unknown[][] = [];
          let names: string[] = [];
          let done = false;
          const q = core.query({ sql, rowsAsArray: true, timeout: statementTimeoutMs + 2000 });
          q.on('fields', (fields: { name: string }[]) => {
            names = uniqueNames(fields.map((f) => f.name));
          });
          q.on('result', (row: unknown) => {
            if (done) return;
            if (!Array.isArray(row)) {
              done = true;
              reject(new ExecutionFailure('the statement returned no rows (not a query)'));
              return;
            }
            rows.push(row);
            if (rows.length > maxRows) {
              done = true;
              // Enough: the connection goes (the server rolls the read-only transaction back).
              dropped.add(c);
              core.destroy();
              resolve({ names, rows: rows.slice(0, maxRows), truncated: true });
            }
          });
          q.on('error', (err: Error) => {
            if (!done) reject(new ExecutionFailure(messageOf(err)));
            done = true;
          });
          q.on('end', () => {
            if (!done) resolve({ names, rows, truncated: false });
            done = true;
          });
        },
      );
      if (!truncated) await c.query('ROLLBACK').catch(() => undefined);
      return {
        sql,
        type: 'select' as const,
        rows: rows.map((r) => rowObject(names, r, 'mysql')),
        rowCount: rows.length,
        truncated,
      };
    });
  }

  private async withPostgres<T>(db: DatabaseRow, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({
      host: db.host,
      port: db.port,
      database: db.dbName,
      user: db.dbUsername,
      password: this.deps.polykomos.password(db),
      connectionTimeoutMillis: 10_000,
      query_timeout: this.deps.config.statementTimeoutMs + 5_000,
      types: pgTypes,
      application_name: 'polykomos-nlq',
    });
    c.on('error', () => undefined); // a dropped connection surfaces as the failing query's error
    try {
      await c.connect();
    } catch (err) {
      throw new ExecutionFailure(`could not connect to the database: ${messageOf(err)}`);
    }
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  private async withMysql<T>(db: DatabaseRow, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
    let c: mysql.Connection;
    try {
      c = await mysql.createConnection({
        host: db.host,
        port: db.port,
        database: db.dbName,
        user: db.dbUsername,
        password: this.deps.polykomos.password(db),
        connectTimeout: 10_000,
        multipleStatements: false,
        dateStrings: true,
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
    } catch (err) {
      throw new ExecutionFailure(`could not connect to the database: ${messageOf(err)}`);
    }
    c.on('error', () => undefined);
    try {
      return await fn(c);
    } finally {
      if (!dropped.has(c)) await c.end().catch(() => undefined);
    }
  }
}

function keyOf(
  kind: SchemaKey['kind'],
  schema: string,
  table: string,
  column: string,
  fschema?: string | null,
  ftable?: string | null,
  fcolumn?: string | null,
): SchemaKey {
  return {
    schema,
    table,
    column,
    kind,
    ...(kind === 'foreign' && ftable && fcolumn
      ? { references: { schema: fschema ?? '', table: ftable, column: fcolumn } }
      : {}),
  };
}

function rowObject(names: string[], values: unknown[], engine: NlqEngine): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  names.forEach((name, i) => {
    row[name] = jsonValue(values[i], engine);
  });
  return row;
}

function messageOf(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err)).slice(0, maxErrorLength);
}
