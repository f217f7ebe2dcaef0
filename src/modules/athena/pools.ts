import { createHash } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from '../../core/logger.ts';
import { openEmbeddedPostgres } from '../../core/pglite.ts';
import type { Queryable } from './gateway/catalog-types.ts';

/** Pool statistics of one client (`GET /admin/pools`). */
export interface PoolStats {
  clientName: string;
  engine: 'postgres' | 'pglite';
  initTime: Date;
  lastUsed: Date | null;
  size: number;
  idle: number;
  active: number;
  waiting: number;
  max: number;
}

export interface TransactionOptions {
  readOnly?: boolean;
  /** `SET LOCAL search_path TO <schema>, public` (names are quoted here). */
  searchPath?: string[];
  /** Roll back instead of committing (PostgREST `Prefer: tx=rollback`). */
  rollback?: boolean;
}

/** One client database's connections: a bounded pg pool, or one embedded PGlite. */
export interface ClientDatabase extends Queryable {
  readonly engine: 'postgres' | 'pglite';
  /**
   * Runs a statement the gateway compiled (never caller text) as a prepared statement where the engine has them:
   * the server parses and plans each distinct text once per connection instead of on every request.
   */
  queryCompiled<R = Record<string, unknown>>(
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null; fields: { name: string; dataTypeID: number }[] }>;
  /** Runs `fn` in one transaction with the client's statement timeout. */
  transaction<T>(options: TransactionOptions, fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs a script of several statements (simple query protocol), outside the gateway: management DDL already
   * checked statement by statement, fixtures. Never caller text.
   */
  exec(script: string): Promise<void>;
  /**
   * LISTENs on a channel (a dedicated connection on Postgres, the instance itself on PGlite) until the returned
   * function is called. `onLost` runs if the connection drops (the caller re-listens).
   */
  listen(channel: string, onPayload: (payload: string) => void, onLost: () => void): Promise<() => Promise<void>>;
  stats(): PoolStats;
  close(): Promise<void>;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Distinct compiled statements one client database prepares (each on every pooled connection that runs it); past
 * this, texts run unnamed. The gateway's statements come in a handful of shapes per table, so this bounds server
 * memory against callers who vary their queries without slowing the ones who repeat them.
 */
const maxPreparedStatements = 500;
/** `cached plan must not change result type`: DDL changed a prepared statement's columns under it. */
const isStalePreparedPlan = (err: unknown) =>
  (err as { code?: string }).code === '0A000' && /cached plan/.test((err as Error).message ?? '');

// int8 and numeric as JSON numbers when exact, else strings (docs/athena.md); timestamps stay Postgres text so no
// precision or zone is lost on the way to JSON.
const exactNumber = (text: string) => {
  const n = Number(text);
  return Number.isSafeInteger(n) || (Number.isFinite(n) && String(n) === text) ? n : text;
};
const textTypes = new Set([1082, 1083, 1114, 1184, 1266]);
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return exactNumber;
    if (textTypes.has(oid)) return (text: string) => text;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

class PostgresClientDatabase implements ClientDatabase {
  readonly engine = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly initTime = new Date();
  private lastUsed: Date | null = null;

  constructor(
    private readonly clientName: string,
    private readonly connection: string | pg.ClientConfig,
    private readonly max: number,
    timeoutMs: number,
    logger: Logger,
  ) {
    this.pool = new pg.Pool({
      ...(typeof connection === 'string' ? { connectionString: connection } : connection),
      max,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5_000,
      statement_timeout: timeoutMs,
      application_name: 'atrium-athena',
      types: typeParsers,
    });
    // An idle client's error (server restart) must not crash the process; the next checkout reconnects.
    this.pool.on('error', (err) => logger.warn({ client: clientName, err: err.message }, 'athena pool client error'));
  }

  async query<R>(text: string, values?: unknown[]) {
    this.lastUsed = new Date();
    const r = await this.pool.query(text, values as unknown[]);
    return { rows: r.rows as R[], rowCount: r.rowCount, fields: r.fields };
  }

  /** Statement names by text (`null`: runs unnamed from now on, after its plan went stale under DDL). */
  private readonly prepared = new Map<string, string | null>();

  async queryCompiled<R>(text: string, values: unknown[]) {
    let name = this.prepared.get(text);
    if (name === undefined && this.prepared.size < maxPreparedStatements) {
      // The name is a digest of the text: pg skips the parse when a connection has already prepared that name.
      name = `atrium_${createHash('sha256').update(text).digest('base64url').slice(0, 40)}`;
      this.prepared.set(text, name);
    }
    if (!name) return this.query<R>(text, values);
    this.lastUsed = new Date();
    try {
      const r = await this.pool.query({ name, text, values });
      return { rows: r.rows as R[], rowCount: r.rowCount, fields: r.fields };
    } catch (err) {
      if (!isStalePreparedPlan(err)) throw err;
      this.prepared.set(text, null);
      return this.query<R>(text, values);
    }
  }

  async transaction<T>(options: TransactionOptions, fn: (q: Queryable) => Promise<T>): Promise<T> {
    this.lastUsed = new Date();
    const client = await this.pool.connect();
    let broken = false;
    try {
      const setup = [options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN'];
      if (options.searchPath?.length)
        setup.push(`SET LOCAL search_path TO ${options.searchPath.map(quote).join(', ')}`);
      await client.query(setup.join('; '));
      const q: Queryable = {
        query: async <R>(text: string, values?: unknown[]) => {
          const r = await client.query(text, values as unknown[]);
          return { rows: r.rows as R[], rowCount: r.rowCount, fields: r.fields };
        },
      };
      try {
        const out = await fn(q);
        await client.query(options.rollback ? 'ROLLBACK' : 'COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  async exec(script: string): Promise<void> {
    this.lastUsed = new Date();
    // On one connection, so that a script's failed explicit transaction is rolled back before the connection is
    // reused (an error leaves it in the aborted state).
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query(script);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async listen(channel: string, onPayload: (payload: string) => void, onLost: () => void) {
    // Outside the pool: a LISTEN connection is held for as long as someone subscribes.
    const target = typeof this.connection === 'string' ? { connectionString: this.connection } : this.connection;
    const client = new pg.Client({ ...target, application_name: 'atrium-athena-listen' });
    let closed = false;
    client.on('notification', (n) => {
      if (n.channel === channel && n.payload !== undefined) onPayload(n.payload);
    });
    client.on('error', () => {
      if (!closed) onLost();
    });
    client.on('end', () => {
      if (!closed) onLost();
    });
    await client.connect();
    await client.query(`LISTEN ${quote(channel)}`);
    return async () => {
      closed = true;
      await client.end().catch(() => {});
    };
  }

  stats(): PoolStats {
    const size = this.pool.totalCount;
    return {
      clientName: this.clientName,
      engine: 'postgres',
      initTime: this.initTime,
      lastUsed: this.lastUsed,
      size,
      idle: this.pool.idleCount,
      active: size - this.pool.idleCount,
      waiting: this.pool.waitingCount,
      max: this.max,
    };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** PGlite returns int8 as bigint; JSON needs numbers (or strings beyond 2^53). */
function jsonSafe(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (typeof v === 'bigint') row[k] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    }
  }
  return rows;
}

class PgliteClientDatabase implements ClientDatabase {
  readonly engine = 'pglite' as const;
  private readonly initTime = new Date();
  private lastUsed: Date | null = null;
  private active = 0;

  constructor(
    private readonly clientName: string,
    private readonly db: PGlite,
  ) {}

  async query<R>(text: string, values?: unknown[]) {
    this.lastUsed = new Date();
    this.active++;
    try {
      const r = await this.db.query<Record<string, unknown>>(text, values as unknown[]);
      return { rows: jsonSafe(r.rows) as R[], rowCount: r.affectedRows ?? r.rows.length, fields: r.fields };
    } finally {
      this.active--;
    }
  }

  /** PGlite is one in-process connection: its statements are cheap to parse, so they run as they come. */
  queryCompiled<R>(text: string, values: unknown[]) {
    return this.query<R>(text, values);
  }

  async transaction<T>(options: TransactionOptions, fn: (q: Queryable) => Promise<T>): Promise<T> {
    this.lastUsed = new Date();
    this.active++;
    try {
      return await this.db.transaction(async (tx) => {
        if (options.readOnly) await tx.query('SET TRANSACTION READ ONLY');
        if (options.searchPath?.length) {
          await tx.query(`SET LOCAL search_path TO ${options.searchPath.map(quote).join(', ')}`);
        }
        const q: Queryable = {
          query: async <R>(text: string, values?: unknown[]) => {
            const r = await tx.query<Record<string, unknown>>(text, values as unknown[]);
            return { rows: jsonSafe(r.rows) as R[], rowCount: r.affectedRows ?? r.rows.length, fields: r.fields };
          },
        };
        const out = await fn(q);
        if (options.rollback) await tx.rollback();
        return out;
      });
    } finally {
      this.active--;
    }
  }

  async exec(script: string): Promise<void> {
    this.lastUsed = new Date();
    await this.db.exec(script);
  }

  async listen(channel: string, onPayload: (payload: string) => void, _onLost: () => void) {
    const stop = await this.db.listen(channel, onPayload);
    return () => stop();
  }

  stats(): PoolStats {
    return {
      clientName: this.clientName,
      engine: 'pglite',
      initTime: this.initTime,
      lastUsed: this.lastUsed,
      size: 1,
      idle: this.active === 0 ? 1 : 0,
      active: this.active > 0 ? 1 : 0,
      waiting: Math.max(0, this.active - 1),
      max: 1,
    };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** Where a client's connection comes from, resolved by the catalog. */
export type ClientTarget = { kind: 'uri'; uri: string } | { kind: 'embedded'; dir: string };

/**
 * One database per client, built on first use and kept (bounded pg pools; PGlite is one connection), rebuilt when
 * the client's target changes, closed when the client is deleted. Concurrent first uses share one build.
 */
export class ClientPools {
  private readonly entries = new Map<string, { key: string; db: Promise<ClientDatabase> }>();

  constructor(
    private readonly deps: {
      logger: Logger;
      poolMax: number;
      statementTimeoutMs: number;
      /** Where new embedded client databases are copied from (core config `pgliteTemplateDir`). */
      pgliteTemplateDir?: string;
    },
  ) {}

  get(clientName: string, target: ClientTarget): Promise<ClientDatabase> {
    const key = target.kind === 'uri' ? `uri:${target.uri}` : `dir:${target.dir}`;
    const existing = this.entries.get(clientName);
    if (existing && existing.key === key) return existing.db;
    if (existing) void this.drop(clientName, existing);
    const db = this.build(clientName, target);
    const entry = { key, db };
    this.entries.set(clientName, entry);
    db.catch(() => {
      if (this.entries.get(clientName) === entry) this.entries.delete(clientName);
    });
    return db;
  }

  /** The database if it has been built (stats, health), without building it. */
  async peek(clientName: string): Promise<ClientDatabase | undefined> {
    const entry = this.entries.get(clientName);
    return entry ? entry.db.catch(() => undefined) : undefined;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  async evict(clientName: string): Promise<void> {
    const entry = this.entries.get(clientName);
    if (entry) await this.drop(clientName, entry);
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries].map(([name, entry]) => this.drop(name, entry)));
  }

  private async drop(clientName: string, entry: { key: string; db: Promise<ClientDatabase> }) {
    if (this.entries.get(clientName) === entry) this.entries.delete(clientName);
    const db = await entry.db.catch(() => undefined);
    await db?.close().catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'athena pool close failed'));
  }

  private async build(clientName: string, target: ClientTarget): Promise<ClientDatabase> {
    if (target.kind === 'uri') {
      return new PostgresClientDatabase(
        clientName,
        target.uri,
        this.deps.poolMax,
        this.deps.statementTimeoutMs,
        this.deps.logger,
      );
    }
    const db = await openEmbeddedPostgres(target.dir, this.deps.pgliteTemplateDir);
    return new PgliteClientDatabase(clientName, db);
  }
}

/**
 * Pools of direct URIs (`x-pg-uri`), keyed by the normalised URI (credentials included), least recently used
 * first out: at most `max` are open; the oldest is closed when another is needed. A pool is kept only once its
 * first connection worked, so an unreachable server or a wrong password leaves nothing behind.
 */
export class DirectPools {
  private readonly entries = new Map<string, Promise<ClientDatabase>>();

  constructor(private readonly deps: { logger: Logger; max: number; poolMax: number; statementTimeoutMs: number }) {}

  get(name: string, key: string, connection: pg.ClientConfig): Promise<ClientDatabase> {
    const existing = this.entries.get(key);
    if (existing) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, existing);
      return existing;
    }
    const db = (async () => {
      const built = new PostgresClientDatabase(
        name,
        { ...connection, connectionTimeoutMillis: 5_000 } as pg.ClientConfig,
        this.deps.poolMax,
        this.deps.statementTimeoutMs,
        this.deps.logger,
      );
      try {
        await built.query('SELECT 1');
        return built;
      } catch (err) {
        await built.close().catch(() => undefined);
        throw err;
      }
    })();
    this.entries.set(key, db);
    db.catch(() => {
      if (this.entries.get(key) === db) this.entries.delete(key);
    });
    while (this.entries.size > this.deps.max) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Promise<ClientDatabase>];
      this.entries.delete(oldest);
      void entry
        .then((d) => d.close())
        .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'athena direct pool close failed'));
    }
    return db;
  }

  /** How many direct pools are open (or opening). */
  size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.then((d) => d.close()).catch(() => undefined)));
  }
}
