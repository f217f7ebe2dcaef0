import { createHash } from 'node:crypto';
import type { Principal } from '../../core/auth/principal.ts';
import type { Logger } from '../../core/logger.ts';
import type { AppPubSub } from '../../core/pubsub.ts';
import { type AthenaRight, holdsRight, isAthenaAdmin, requireClientRight } from './athena.access.ts';
import type { AthenaConfig } from './athena.config.ts';
import { AthenaError, AthenaInvalidInputError, AthenaNotFoundError } from './athena.errors.ts';
import type { AthenaClientsService } from './clients.service.ts';
import type { DeleteCommand, InsertCommand, ReadQuery, RpcCall, UpdateCommand } from './gateway/ast.ts';
import { CatalogCache } from './gateway/catalog.ts';
import type { Catalog, Queryable } from './gateway/catalog-types.ts';
import {
  compileCount,
  compileDelete,
  compileInsert,
  compileRead,
  compileReadPlan,
  compileRpc,
  compileUpdate,
  planRows,
  type RpcShape,
} from './gateway/compile.ts';
import { fromPostgresError, GatewayError } from './gateway/errors.ts';
import { type PostProcessed, postProcess, stripNulls } from './gateway/post-process.ts';
import { type GatewayRequest, writtenTable } from './gateway/requests.ts';
import type { ClientDatabase } from './pools.ts';
import { validateCountQuery } from './sql/count-query.ts';
import { SqlRejectedError, SqlSyntaxError } from './sql/errors.ts';
import { checkRawStatement } from './sql/statement.ts';

/**
 * An RPC result as rows of objects, the form Athena's routes and GraphQL return: a scalar (or a set of scalars)
 * becomes one column named after the function (PostgREST's naming), a single row a one-row list, void none.
 */
function rpcRows(shape: RpcShape, fnName: string, body: string | null): string | null {
  if (body === null) return shape === 'void' ? '[]' : null;
  switch (shape) {
    case 'void':
      return '[]';
    case 'scalar':
      return JSON.stringify([{ [fnName]: JSON.parse(body) }]);
    case 'scalar_set':
      return JSON.stringify((JSON.parse(body) as unknown[]).map((v) => ({ [fnName]: v })));
    case 'row':
      return body === 'null' ? '[]' : `[${body}]`;
    case 'rows':
      return body;
  }
}

/** A socket-level failure (refused, reset, timed out, DNS) or pg's connect timeout, not an answer of the server. */
function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { syscall?: unknown; code?: unknown };
  if (typeof e.syscall === 'string') return true;
  return /^(Connection terminated|timeout expired|timeout exceeded when trying to connect)/i.test(e.message);
}

/**
 * `/gateway/delete`'s `resource_id`: a filter on the table's single-column primary key (or its `id` column when it
 * has none); a composite key cannot be named by one id (400).
 */
function byPrimaryKey(catalog: Catalog, command: DeleteCommand): DeleteCommand {
  if (command.byPrimaryKey === undefined) return command;
  const relation = catalog.relations.get(`${command.schema}.${command.table}`);
  if (!relation) {
    throw new GatewayError(
      404,
      'PGRST205',
      `Could not find the table '${command.schema}.${command.table}' in the schema cache`,
    );
  }
  const pk = relation.primaryKey;
  const column =
    pk.length === 1 ? pk[0] : pk.length === 0 && relation.columns.some((c) => c.name === 'id') ? 'id' : undefined;
  if (!column) {
    throw new GatewayError(
      400,
      'PGRST100',
      `${command.schema}.${command.table} has ${pk.length > 1 ? 'a composite primary key' : 'no primary key and no id column'}: resource_id cannot name one row`,
    );
  }
  const condition = {
    kind: 'condition' as const,
    column: { column },
    operator: 'eq' as const,
    value: command.byPrimaryKey,
  };
  const { byPrimaryKey: _, ...rest } = command;
  return {
    ...rest,
    filter: rest.filter ? { kind: 'and', filters: [rest.filter, condition] } : { kind: 'and', filters: [condition] },
  };
}

/** The answer of a read or a write with RETURNING: the rows as JSON text (as Postgres built it) and the counts. */
export interface RowsResult {
  /** A JSON array, straight from Postgres (`json_agg`), or null when the write returned nothing. */
  body: string | null;
  /** Rows in this page (or affected by the write). */
  pageTotal: number;
  /** RPC only: how the function returns (`scalar`/`row` are one value, PostgREST answers them bare). */
  shape?: RpcShape;
  /** All matching rows (only when a count was asked for). */
  total: number | null;
  offset: number;
}

export interface SqlResult {
  rows: Record<string, unknown>[];
  rowCount: number;
  command: string;
  fields: { name: string; dataTypeID: number }[];
}

export interface WriteOptions {
  /** `Prefer: tx=rollback`: run, answer, roll back. */
  rollback?: boolean;
  /** `Prefer: handling=strict, max-affected=n`: more affected rows than this roll back with PGRST124. */
  maxAffected?: number;
}

/**
 * Where a gateway call runs: the catalog client `client` names (`X-Athena-Client`), or — when `directUri` is given
 * — a direct connection (`x-pg-uri`, allowlisted hosts only), whose credentials are the authorization; the client
 * name is then ignored for routing (and logged).
 */
export interface GatewayTarget {
  client: string | undefined;
  directUri?: string;
}

/** A structured gateway request's answer, as Athena's `{status, message, data}` envelope carries it. */
export interface GatewayAnswer {
  message: string;
  data: unknown;
  /** Fetch with post-processing options. */
  postProcessing?: PostProcessed;
  /** The table a write touched (`schema.table`). */
  written?: string;
}

type GatewayOp = 'fetch' | 'insert' | 'update' | 'delete' | 'rpc' | 'query' | 'count';

const rightOf: Record<GatewayOp, AthenaRight> = {
  fetch: 'gateway.fetch.execute',
  insert: 'gateway.insert.execute',
  update: 'gateway.update.execute',
  delete: 'gateway.delete.execute',
  rpc: 'gateway.rpc.execute',
  query: 'gateway.query.execute',
  count: 'gateway.count.execute',
};

/**
 * The gateway (G1) over client databases: reads, writes and calls compiled from the shared request language
 * (gateway/ast.ts) against the live catalog, raw single statements checked by the Postgres parser, counts with a
 * cache the gateway's own writes invalidate, and `athena.rowsChanged` events after every committed write.
 */
export class AthenaGatewayService {
  readonly catalogs = new CatalogCache();
  private readonly countCache = new Map<string, { count: number; at: number; tables: Set<string> }>();

  constructor(
    private readonly deps: {
      clients: AthenaClientsService;
      config: AthenaConfig;
      pubsub: AppPubSub;
      logger: Logger;
    },
  ) {}

  /**
   * The database of a target and its catalog. A catalog client: the caller must hold `op`'s right on it (unless
   * `authorized`: a public route whose binding was checked). A direct URI: its own credentials authorize.
   */
  private async open(
    principal: Principal,
    target: GatewayTarget,
    op: GatewayOp,
    options: { authorized?: boolean } = {},
  ): Promise<{ name: string; db: ClientDatabase; catalog: Catalog; direct: boolean }> {
    const { name, db, direct } = await this.database(principal, target, rightOf[op], options);
    const catalog = await this.catalog(name, db);
    return { name, db, catalog, direct };
  }

  private async database(
    principal: Principal,
    target: GatewayTarget,
    right: AthenaRight,
    options: { authorized?: boolean },
  ): Promise<{ name: string; db: ClientDatabase; direct: boolean }> {
    if (target.directUri !== undefined) {
      if (target.client) {
        this.deps.logger.info(
          { client: target.client },
          'athena: X-Athena-Client ignored for routing, the request names a direct URI',
        );
      }
      const { name, db } = await this.deps.clients.direct(target.directUri);
      return { name, db, direct: true };
    }
    const { client, db } = await this.deps.clients.database(target.client);
    if (!options.authorized) {
      requireClientRight(principal, client.clientName, right, this.deps.clients.enforces(client.clientName));
    }
    return { name: client.clientName, db, direct: false };
  }

  async catalog(clientName: string, db: Queryable): Promise<Catalog> {
    try {
      return await this.catalogs.get(clientName, db);
    } catch (err) {
      throw this.failure(err);
    }
  }

  /** Drops the cached catalog of a client (after DDL). */
  invalidateCatalog(clientName: string): void {
    this.catalogs.invalidate(clientName);
  }

  async read(
    principal: Principal,
    input: GatewayTarget & {
      query: ReadQuery;
      /** `geojson`: the page as one FeatureCollection in `body` (PostGIS on the client database). */
      format?: 'rows' | 'geojson';
    },
    options: { authorized?: boolean } = {},
  ): Promise<RowsResult> {
    const { db, catalog } = await this.open(principal, input, 'fetch', options);
    let geojson: { postgisSchema: string } | undefined;
    if (input.format === 'geojson') {
      const postgis = catalog.extensions.find((e) => e.name === 'postgis');
      if (!postgis) {
        throw new GatewayError(
          406,
          'PGRST107',
          'None of these media types are available: application/geo+json',
          null,
          'The client database has no PostGIS extension',
        );
      }
      geojson = { postgisSchema: postgis.schema };
    }
    let query = input.query;
    let planned: number | null = null;
    if (query.count === 'planned' || query.count === 'estimated') {
      // PostgREST: planned = the planner's row estimate; estimated = exact while the estimate is within the row
      // cap, else the estimate.
      const plan = this.compile(() => compileReadPlan(catalog, query));
      const r = await this.inTransaction(db, { readOnly: true }, (q) => q.query(plan.text, plan.values));
      const estimate = planRows(r.rows);
      planned = estimate;
      const exact = query.count === 'estimated' && estimate <= this.deps.config.maxRows;
      query = { ...query, count: exact ? 'exact' : undefined };
      if (exact) planned = null;
    }
    const statement = this.compile(() => compileRead(catalog, query, { ...this.compileOptions(), geojson }));
    const row = await this.one(db, statement.text, statement.values);
    const out = this.rows(row, input.query.offset ?? 0);
    return planned === null ? out : { ...out, total: planned };
  }

  /** The execution plan of a read (PostgREST's `application/vnd.pgrst.plan+json`): EXPLAIN (FORMAT JSON) of it. */
  async explainRead(
    principal: Principal,
    input: { client: string | undefined; query: ReadQuery; analyze?: boolean },
  ): Promise<unknown> {
    const { db, catalog } = await this.open(principal, input, 'fetch');
    const statement = this.compile(() => compileRead(catalog, input.query, this.compileOptions()));
    // ANALYZE runs the read; it stays read-only and is rolled back like any read.
    const options = input.analyze ? 'ANALYZE, FORMAT JSON' : 'FORMAT JSON';
    const r = await this.inTransaction(db, { readOnly: true }, (q) =>
      q.query<Record<string, unknown>>(`EXPLAIN (${options}) ${statement.text}`, statement.values),
    );
    const plan = Object.values(r.rows[0] ?? {})[0];
    return typeof plan === 'string' ? JSON.parse(plan) : plan;
  }

  async insert(
    principal: Principal,
    input: GatewayTarget & { command: InsertCommand } & WriteOptions,
    options: { authorized?: boolean } = {},
  ): Promise<RowsResult> {
    const { name, db, catalog } = await this.open(principal, input, 'insert', options);
    const statement = this.compile(() => compileInsert(catalog, input.command));
    return this.write(name, db, statement, input, 'insert', input.command);
  }

  async update(
    principal: Principal,
    input: GatewayTarget & { command: UpdateCommand } & WriteOptions,
    options: { authorized?: boolean } = {},
  ): Promise<RowsResult> {
    const { name, db, catalog } = await this.open(principal, input, 'update', options);
    const statement = this.compile(() => compileUpdate(catalog, input.command));
    return this.write(name, db, statement, input, 'update', input.command);
  }

  async delete(
    principal: Principal,
    input: GatewayTarget & { command: DeleteCommand } & WriteOptions,
    options: { authorized?: boolean } = {},
  ): Promise<RowsResult> {
    const { name, db, catalog } = await this.open(principal, input, 'delete', options);
    const command = this.compile(() => byPrimaryKey(catalog, input.command));
    const statement = this.compile(() => compileDelete(catalog, command));
    return this.write(name, db, statement, input, 'delete', input.command);
  }

  async rpc(principal: Principal, input: { client: string | undefined; call: RpcCall } & WriteOptions) {
    const { name, db, catalog } = await this.open(principal, { client: input.client }, 'rpc');
    const statement = this.compile(() => compileRpc(catalog, input.call, this.compileOptions()));
    const options = input.call.readOnly ? { readOnly: true } : { rollback: input.rollback };
    const row = await this.inTransaction(db, options, (q) => this.oneOn(q, statement));
    // A function may write anything: every cached count of the client is stale.
    if (!input.call.readOnly) this.invalidateCounts(name);
    const out = this.rows(row, input.call.offset ?? 0);
    return { ...out, body: rpcRows(statement.shape, statement.fn.name, out.body), shape: statement.shape };
  }

  /**
   * One raw statement (`/gateway/query`, `/query/sql`): exactly one, checked by the Postgres parser; read-only
   * unless the caller holds `gateway.query.write`; DDL refreshes the catalog.
   */
  async sql(
    principal: Principal,
    input: GatewayTarget & { sql: string; schema?: string },
    options: { authorized?: boolean } = {},
  ): Promise<SqlResult> {
    const { name, db, direct } = await this.database(principal, input, 'gateway.query.execute', options);
    const client = { clientName: name };
    // A direct URI's own credentials decide what it may do; everyone else writes only with gateway.query.write.
    const mayWrite = direct || isAthenaAdmin(principal) || holdsRight(principal, 'gateway.query.write');
    const { classification: kind } = await this.sqlCheck(() => checkRawStatement(input.sql, { readOnly: !mayWrite }));
    if (input.schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(input.schema)) {
      throw new AthenaInvalidInputError('schema_name must be an identifier');
    }
    const result = await this.inTransaction(
      db,
      { readOnly: kind.readOnly, searchPath: input.schema ? [input.schema, 'public'] : undefined },
      async (q) => {
        const r = await q.query(input.sql, []);
        return r;
      },
    );
    if (kind.ddl) this.invalidateCatalog(client.clientName);
    if (!kind.readOnly) this.invalidateCounts(client.clientName);
    const max = this.deps.config.maxRows;
    const rows = result.rows.length > max ? result.rows.slice(0, max) : result.rows;
    return {
      rows,
      rowCount: result.rowCount ?? rows.length,
      command: kind.nodeType.replace(/Stmt$/, '').toUpperCase(),
      fields: result.fields,
    };
  }

  /**
   * `SELECT count(*)` of a table, or a count query the Postgres parser accepts (one SELECT of one count(...), no
   * grouping, set operations, CTEs or comments), read-only, cached per client and statement until a gateway write
   * to one of its tables invalidates it.
   */
  async count(
    principal: Principal,
    input: { client: string | undefined; schema?: string; table?: string; query?: string; bypassCache?: boolean },
  ): Promise<{ count: number; cacheKey: string; outcome: 'hit_local' | 'miss' | 'bypass'; durationMs: number }> {
    const started = performance.now();
    const { name, db, catalog } = await this.open(principal, { client: input.client }, 'count');
    let statement: { text: string; values: unknown[] };
    let tables: string[];
    if (input.query !== undefined) {
      const checked = await this.sqlCheck(() => validateCountQuery(input.query as string));
      statement = { text: checked.sql, values: [] };
      tables = checked.relations.map((r) => `${r.schema ?? 'public'}.${r.name}`);
    } else {
      const schema = input.schema ?? 'public';
      const table = input.table ?? '';
      statement = this.compile(() => compileCount(catalog, { schema, table }));
      tables = [`${schema}.${table}`];
    }
    const digest = createHash('sha256').update(statement.text).update(JSON.stringify(statement.values)).digest('hex');
    const cacheKey = `count:${name}:${digest.slice(0, 16)}`;
    const hit = this.countCache.get(cacheKey);
    if (!input.bypassCache && hit && Date.now() - hit.at < this.deps.config.countCacheTtlMs) {
      return { count: hit.count, cacheKey, outcome: 'hit_local', durationMs: performance.now() - started };
    }
    const row = await this.inTransaction(db, { readOnly: true }, (q) => this.oneOn(q, statement));
    const value = Object.values(row)[0];
    const count = Number(value ?? 0);
    this.countCache.set(cacheKey, { count, at: Date.now(), tables: new Set(tables) });
    return { count, cacheKey, outcome: input.bypassCache ? 'bypass' : 'miss', durationMs: performance.now() - started };
  }

  /**
   * One structured gateway request (deferred requests, public routes), answered as the REST route answers it:
   * fetch rows (nulls stripped, post-processed), update/insert/delete results, one raw statement's rows. Deleting
   * nothing is a 404, as on `/gateway/delete`.
   */
  async execute(
    principal: Principal,
    input: GatewayTarget & { request: GatewayRequest },
    options: { authorized?: boolean } = {},
  ): Promise<GatewayAnswer> {
    const { request } = input;
    const target: GatewayTarget = { client: input.client, ...(input.directUri ? { directUri: input.directUri } : {}) };
    const rowsOf = (r: RowsResult) => (r.body === null ? [] : (JSON.parse(r.body) as Record<string, unknown>[]));
    const written = writtenTable(request);
    switch (request.route) {
      case 'fetch': {
        let rows = rowsOf(await this.read(principal, { ...target, query: request.request.query }, options));
        if (request.request.stripNulls) rows = stripNulls(rows);
        const post = request.request.postProcessing ? postProcess(rows, request.request.postProcessing) : undefined;
        return { message: `Fetched ${rows.length} rows`, data: rows, ...(post ? { postProcessing: post } : {}) };
      }
      case 'update': {
        const r = await this.update(principal, { ...target, command: request.command }, options);
        return { message: 'Rows updated', data: { affected_rows: r.pageTotal, rows: rowsOf(r) }, written };
      }
      case 'insert': {
        const r = await this.insert(principal, { ...target, command: request.command }, options);
        return {
          message: 'Row inserted',
          data: { table_name: request.command.table, row: rowsOf(r)[0] ?? null },
          written,
        };
      }
      case 'delete': {
        const r = await this.delete(principal, { ...target, command: request.command }, options);
        if (r.pageTotal === 0) throw new AthenaNotFoundError(`row of ${request.command.table}`, request.resourceId);
        return {
          message: 'Row deleted',
          data: { table_name: request.command.table, resource_id: request.resourceId },
          written,
        };
      }
      case 'query': {
        const r = await this.sql(
          principal,
          { ...target, sql: request.sql, ...(request.schema ? { schema: request.schema } : {}) },
          options,
        );
        return {
          message: 'Query executed',
          data: { rows: r.rows, row_count: r.rowCount, command: r.command, columns: r.fields.map((f) => f.name) },
        };
      }
    }
  }

  /** For `GET /rpc/{fn}`: whether a query key names a declared input argument of the function. */
  async argumentLookup(
    principal: Principal,
    clientName: string | undefined,
    fn: string,
  ): Promise<(name: string, schema: string) => boolean> {
    const { catalog } = await this.open(principal, { client: clientName }, 'rpc');
    return (name, schema) =>
      (catalog.functions.get(`${schema}.${fn}`) ?? []).some((f) =>
        f.args.some((a) => a.name === name && a.mode !== 'out' && a.mode !== 'table'),
      );
  }

  /** Drops cached counts of a client (all, or those over one table). */
  invalidateCounts(clientName: string, table?: string): string[] {
    const dropped: string[] = [];
    for (const [key, entry] of this.countCache) {
      if (!key.startsWith(`count:${clientName}:`)) continue;
      if (table !== undefined && !entry.tables.has(table)) continue;
      this.countCache.delete(key);
      dropped.push(...entry.tables);
    }
    return [...new Set(dropped)];
  }

  /** The parser's refusals as Athena errors (`sql_syntax_error`, `sql_not_read_only`, …). */
  private async sqlCheck<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SqlRejectedError || err instanceof SqlSyntaxError) {
        throw new AthenaError(err.code.toLowerCase(), err.code === 'SQL_NOT_READ_ONLY' ? 403 : 400, err.message);
      }
      throw err;
    }
  }

  private compileOptions() {
    return { maxRows: this.deps.config.maxRows, maxEmbedDepth: this.deps.config.maxEmbedDepth };
  }

  private compile<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.failure(err);
    }
  }

  private async write(
    clientName: string,
    db: ClientDatabase,
    statement: { text: string; values: unknown[] },
    options: WriteOptions,
    op: 'insert' | 'update' | 'delete',
    target: { schema: string; table: string },
  ): Promise<RowsResult> {
    const row = await this.inTransaction(db, { rollback: options.rollback }, async (q) => {
      const r = await this.oneOn(q, statement);
      const affected = Number(r.page_total ?? 0);
      if (options.maxAffected !== undefined && affected > options.maxAffected) {
        throw new GatewayError(
          400,
          'PGRST124',
          'Query result exceeds max-affected preference constraint',
          `The query affects ${affected} rows`,
        );
      }
      return r;
    });
    if (!options.rollback) {
      this.invalidateCounts(clientName, `${target.schema}.${target.table}`);
      this.deps.pubsub.publish('athena.rowsChanged', `${clientName}:${target.schema}.${target.table}`, {
        clientName,
        schema: target.schema,
        table: target.table,
        op,
        source: 'gateway',
      });
    }
    return this.rows(row, 0);
  }

  private rows(row: Record<string, unknown>, offset: number): RowsResult {
    const body = row.body === null || row.body === undefined ? null : String(row.body);
    const total = row.total === null || row.total === undefined ? null : Number(row.total);
    return { body, pageTotal: Number(row.page_total ?? 0), total, offset };
  }

  /** A read outside a transaction: prepared on Postgres (the gateway's texts repeat; values are always bound). */
  private async one(db: ClientDatabase, text: string, values: unknown[]): Promise<Record<string, unknown>> {
    try {
      const r = await db.queryCompiled<Record<string, unknown>>(text, values);
      return r.rows[0] ?? {};
    } catch (err) {
      throw this.failure(err);
    }
  }

  private async oneOn(q: Queryable, statement: { text: string; values: unknown[] }) {
    try {
      const r = await q.query<Record<string, unknown>>(statement.text, statement.values);
      return r.rows[0] ?? {};
    } catch (err) {
      throw this.failure(err);
    }
  }

  private async inTransaction<T>(
    db: ClientDatabase,
    options: { readOnly?: boolean; rollback?: boolean; searchPath?: string[] },
    fn: (q: Queryable) => Promise<T>,
  ): Promise<T> {
    try {
      return await db.transaction(options, fn);
    } catch (err) {
      throw this.failure(err);
    }
  }

  /** Expected failures pass; a database error becomes the PostgREST-shaped GatewayError; anything else is a bug. */
  private failure(err: unknown): unknown {
    if (err instanceof AthenaError || err instanceof GatewayError) return err;
    if (err instanceof Error && err.name === 'GatewayParseError') return err;
    if (isConnectionFailure(err)) {
      // Pools connect lazily: an unreachable client database surfaces at the first statement, and is a 503.
      this.deps.logger.warn({ err: (err as Error).message }, 'athena client database unreachable');
      return new AthenaError('client_unreachable', 503, "The client database can't be reached");
    }
    try {
      return fromPostgresError(err);
    } catch {
      return err;
    }
  }
}
