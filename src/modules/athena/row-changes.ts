import type { Principal } from '../../core/auth/principal.ts';
import type { Logger } from '../../core/logger.ts';
import { requireClientRight } from './athena.access.ts';
import type { AthenaConfig } from './athena.config.ts';
import type { AthenaClientsService } from './clients.service.ts';
import type { Filter, ReadQuery, SelectItem } from './gateway/ast.ts';
import type { Catalog } from './gateway/catalog-types.ts';
import { compileRead, quoteIdent } from './gateway/compile.ts';
import { GatewayError } from './gateway/errors.ts';
import type { AthenaGatewayService } from './gateway.service.ts';
import type { ClientDatabase } from './pools.ts';

/*
 * Row-change subscriptions (`gatewayRowsChanged`, docs/athena.md): every change to a watched table — through the
 * gateway or by anyone else writing to the database — reaches subscribers whose filter matches.
 *
 * Source: a row trigger on the table (installed on first subscription) that NOTIFYs `atrium_row_changes` with the
 * table, the operation and the primary-key values of the row; each instance LISTENs on the client database (a
 * dedicated connection on Postgres, the embedded instance on PGlite). Notifications are batched per table for a
 * few milliseconds; then ONE query per distinct (filter, select) group reads the changed rows that match, and every
 * subscriber of the group receives them. Deleted rows cannot be read back: a delete delivers its keys.
 */

export type RowOp = 'INSERT' | 'UPDATE' | 'DELETE';

export interface RowsChange {
  op: RowOp;
  /** The changed rows that match the subscription's filter (inserts and updates). */
  rows: unknown[];
  /** Primary-key values of every changed row of this batch and operation. */
  keys: Record<string, unknown>[];
}

interface Subscriber {
  push(change: RowsChange): void;
}

interface Group {
  filter?: Filter;
  select: SelectItem[];
  subscribers: Set<Subscriber>;
}

interface TableWatch {
  client: string;
  schema: string;
  table: string;
  groups: Map<string, Group>;
  pending: { op: RowOp; keys: Record<string, unknown> }[];
  timer: NodeJS.Timeout | undefined;
}

interface ClientWatch {
  stop: Promise<() => Promise<void>>;
  /** Trigger installations by `schema.table`, once per table and listener. */
  installs: Map<string, Promise<void>>;
}

export const notifyChannel = 'atrium_row_changes';
const batchMs = 15;
const maxPending = 10_000;

/** The trigger function, created once per client database in its own schema. */
const triggerFunctionSql = `
CREATE SCHEMA IF NOT EXISTS atrium_realtime;
CREATE OR REPLACE FUNCTION atrium_realtime.notify_row_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  r jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
  k jsonb;
BEGIN
  SELECT coalesce(jsonb_object_agg(c, r -> c), '{}'::jsonb) INTO k FROM unnest(TG_ARGV) AS c;
  PERFORM pg_notify('${notifyChannel}', json_build_object('s', TG_TABLE_SCHEMA, 't', TG_TABLE_NAME, 'op', TG_OP, 'k', k)::text);
  RETURN NULL;
END
$fn$;`;

export class RowChangeHub {
  /** Reads run for batches (one per batch, operation and distinct filter), for tests and metrics. */
  batchReads = 0;
  private readonly tables = new Map<string, TableWatch>();
  private readonly clients = new Map<string, ClientWatch>();

  constructor(
    private readonly deps: {
      clients: AthenaClientsService;
      gateway: AthenaGatewayService;
      config: AthenaConfig;
      logger: Logger;
    },
  ) {}

  /** Subscribes to changes of one table; the iterator ends when the caller stops consuming. */
  async subscribe(
    principal: Principal,
    input: { client: string; schema: string; table: string; filter?: Filter; select?: SelectItem[] },
  ): Promise<AsyncIterableIterator<RowsChange>> {
    const { client, db } = await this.deps.clients.database(input.client);
    requireClientRight(
      principal,
      client.clientName,
      'gateway.fetch.execute',
      this.deps.clients.enforces(client.clientName),
    );
    const catalog = await this.deps.gateway.catalog(client.clientName, db);
    const relation = catalog.relations.get(`${input.schema}.${input.table}`);
    if (relation?.kind !== 'table') {
      throw new GatewayError(
        404,
        'PGRST205',
        `Could not find the table '${input.schema}.${input.table}' in the schema cache`,
      );
    }
    if (relation.primaryKey.length === 0) {
      throw new GatewayError(
        400,
        'PGRST100',
        `${input.schema}.${input.table} has no primary key: its rows cannot be followed`,
      );
    }
    const select = input.select ?? [{ kind: 'star' }];
    // Compile once now so that a bad filter or select fails the subscription, not every batch.
    this.readChanged(catalog, input, select, input.filter, [
      Object.fromEntries(relation.primaryKey.map((c) => [c, null])),
    ]);

    await this.watchTable(client.clientName, db, input.schema, input.table, relation.primaryKey);
    const key = `${client.clientName}\u0000${input.schema}.${input.table}`;
    const watch = this.tables.get(key) as TableWatch;
    const groupKey = JSON.stringify([input.filter ?? null, select]);
    let group = watch.groups.get(groupKey);
    if (!group) {
      group = { filter: input.filter, select, subscribers: new Set() };
      watch.groups.set(groupKey, group);
    }
    const queue: RowsChange[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const subscriber: Subscriber = {
      push(change) {
        if (queue.length < 1000) queue.push(change);
        wake?.();
      },
    };
    group.subscribers.add(subscriber);
    const g = group;
    const stop = () => {
      done = true;
      g.subscribers.delete(subscriber);
      if (g.subscribers.size === 0) watch.groups.delete(groupKey);
      wake?.();
    };
    const iterator: AsyncIterableIterator<RowsChange> = {
      [Symbol.asyncIterator]() {
        return iterator;
      },
      async next() {
        while (!done && queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (done) return { done: true, value: undefined };
        return { done: false, value: queue.shift() as RowsChange };
      },
      async return() {
        stop();
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  /** Open subscriptions on this instance (metrics, tests). */
  subscriberCount(): number {
    let n = 0;
    for (const w of this.tables.values()) for (const g of w.groups.values()) n += g.subscribers.size;
    return n;
  }

  async close(): Promise<void> {
    for (const w of this.tables.values()) clearTimeout(w.timer);
    await Promise.all([...this.clients.values()].map(async (c) => (await c.stop.catch(() => async () => {}))()));
    this.clients.clear();
  }

  private async watchTable(client: string, db: ClientDatabase, schema: string, table: string, pk: string[]) {
    const key = `${client}\u0000${schema}.${table}`;
    if (!this.tables.has(key)) {
      this.tables.set(key, { client, schema, table, groups: new Map(), pending: [], timer: undefined });
    }
    let cw = this.clients.get(client);
    if (!cw) {
      cw = { stop: this.listen(client, db), installs: new Map() };
      this.clients.set(client, cw);
    }
    await cw.stop;
    // Concurrent first subscriptions share one installation (concurrent CREATE OR REPLACE FUNCTION collide).
    let installing = cw.installs.get(`${schema}.${table}`);
    if (!installing) {
      installing = this.installTrigger(db, schema, table, pk);
      cw.installs.set(`${schema}.${table}`, installing);
      installing.catch(() => cw?.installs.delete(`${schema}.${table}`));
    }
    await installing;
  }

  private listen(client: string, db: ClientDatabase): Promise<() => Promise<void>> {
    return db.listen(
      notifyChannel,
      (payload) => this.onNotify(client, payload),
      () => {
        // The LISTEN connection dropped: forget it, so that the next subscription listens again.
        this.deps.logger.warn({ client }, 'athena row-change listener lost');
        this.clients.delete(client);
      },
    );
  }

  /** The trigger (idempotent: the function is replaced, the trigger recreated with the current key columns). */
  private async installTrigger(db: ClientDatabase, schema: string, table: string, pk: string[]) {
    const target = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    const args = pk.map((c) => `'${c.replaceAll("'", "''")}'`).join(', ');
    // One transaction under an advisory lock: installations by other tables, instances or processes take turns.
    await db.exec(
      `BEGIN;
SELECT pg_advisory_xact_lock(hashtext('atrium_realtime.notify_row_change'));
${triggerFunctionSql}
DROP TRIGGER IF EXISTS atrium_row_changes ON ${target};
CREATE TRIGGER atrium_row_changes AFTER INSERT OR UPDATE OR DELETE ON ${target}
  FOR EACH ROW EXECUTE FUNCTION atrium_realtime.notify_row_change(${args});
COMMIT;`,
    );
  }

  private onNotify(client: string, payload: string) {
    let event: { s?: unknown; t?: unknown; op?: unknown; k?: unknown };
    try {
      event = JSON.parse(payload) as typeof event;
    } catch {
      return;
    }
    if (typeof event.s !== 'string' || typeof event.t !== 'string') return;
    const watch = this.tables.get(`${client}\u0000${event.s}.${event.t}`);
    if (!watch || watch.groups.size === 0) return;
    const op = event.op === 'INSERT' || event.op === 'UPDATE' || event.op === 'DELETE' ? event.op : undefined;
    if (!op || typeof event.k !== 'object' || event.k === null) return;
    if (watch.pending.length < maxPending) watch.pending.push({ op, keys: event.k as Record<string, unknown> });
    watch.timer ??= setTimeout(() => {
      watch.timer = undefined;
      void this.flush(watch).catch((err: Error) =>
        this.deps.logger.warn({ client, table: watch.table, err: err.message }, 'athena row-change batch failed'),
      );
    }, batchMs);
  }

  /** One read per (filter, select) group for the whole batch; deletes deliver their keys. */
  private async flush(watch: TableWatch) {
    const batch = watch.pending.splice(0);
    if (batch.length === 0 || watch.groups.size === 0) return;
    const { db } = await this.deps.clients.database(watch.client);
    const catalog = await this.deps.gateway.catalog(watch.client, db);
    for (const op of ['INSERT', 'UPDATE', 'DELETE'] as const) {
      const keys = batch.filter((b) => b.op === op).map((b) => b.keys);
      if (keys.length === 0) continue;
      for (const group of watch.groups.values()) {
        let rows: unknown[] = [];
        if (op !== 'DELETE') {
          const statement = this.readChanged(catalog, watch, group.select, group.filter, keys);
          this.batchReads++;
          const r = await db.query<{ body: string | null }>(statement.text, statement.values);
          rows = JSON.parse(r.rows[0]?.body ?? '[]') as unknown[];
          if (rows.length === 0) continue;
        }
        for (const s of group.subscribers) s.push({ op, rows, keys });
      }
    }
  }

  /** The rows among `keys` that match the filter: `(filter) AND (pk IN keys)` through the one compiler. */
  private readChanged(
    catalog: Catalog,
    target: { schema: string; table: string },
    select: SelectItem[],
    filter: Filter | undefined,
    keys: Record<string, unknown>[],
  ) {
    const scalar = (v: unknown) =>
      v === null || v === undefined
        ? null
        : typeof v === 'object'
          ? JSON.stringify(v)
          : (v as string | number | boolean);
    const byKey: Filter = {
      kind: 'or',
      filters: keys.map((k) => ({
        kind: 'and' as const,
        filters: Object.entries(k).map(([column, value]) => ({
          kind: 'condition' as const,
          column: { column },
          operator: 'eq' as const,
          value: scalar(value),
        })),
      })),
    };
    const query: ReadQuery = {
      schema: target.schema,
      table: target.table,
      select,
      filter: filter ? { kind: 'and', filters: [filter, byKey] } : byKey,
    };
    return compileRead(catalog, query, { maxRows: this.deps.config.maxRows, maxDepth: this.deps.config.maxEmbedDepth });
  }
}
