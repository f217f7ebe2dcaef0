import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, migrationsDir } from '../../src/core/migrations.ts';
import { createTestDatabase, testDb } from '../kit/app.ts';

/*
 * The migrations that move Polykomos-prefixed tables to neutral names must keep the rows: apply every migration
 * before one of them on an empty database, write rows into the old tables, apply the rest, and read the rows back
 * from the new tables. PGlite by default; a real PostgreSQL database with ATRIUM_TEST_DB=postgres (the pg adapter
 * runs migration scripts differently, e.g. it splits on semicolons even inside comments).
 */

interface Db {
  adapter: SqlMigrationAwareDriverAdapterFactory;
  exec(sql: string): Promise<void>;
  query<R>(sql: string): Promise<{ rows: R[] }>;
  close(): Promise<void>;
}

async function emptyDatabase(): Promise<Db> {
  if (testDb === 'postgres') {
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const adapter = new PrismaPg({ connectionString: database.url, max: 2 });
    return {
      adapter,
      exec: async (sql) => {
        await client.query(sql);
      },
      query: async <R>(sql: string) => ({ rows: (await client.query(sql)).rows as R[] }),
      close: async () => {
        await client.end();
        await database.drop();
      },
    };
  }
  const pglite = new PGlite();
  return {
    adapter: new PrismaPGlite(pglite),
    exec: async (sql) => {
      await pglite.exec(sql);
    },
    query: async <R>(sql: string) => ({ rows: (await pglite.query<R>(sql)).rows }),
    close: () => pglite.close(),
  };
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'atrium-migrations-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A copy of the committed migrations, up to (excluding) `before`, or all of them. */
async function migrationsUpTo(name: string, before?: string): Promise<string> {
  const dir = path.join(work, name);
  const all = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (before !== undefined) expect(all, `migration ${before} exists`).toContain(before);
  for (const m of all) {
    if (before !== undefined && m >= before) break;
    await cp(path.join(migrationsDir, m), path.join(dir, m), { recursive: true });
  }
  return dir;
}

describe('renaming shared tables keeps their rows', () => {
  it('20261201135216_webhooks_shared: polykomos_webhook_* → webhook_*', async () => {
    const target = '20261201135216_webhooks_shared';
    const pglite = await emptyDatabase();
    try {
      const adapter = pglite.adapter;
      const applied = await applyMigrations(adapter, await migrationsUpTo('before-webhooks', target));
      expect(applied).not.toContain(target);
      await pglite.exec(`
        INSERT INTO polykomos_webhook_endpoints (owner_id, url, events, status, secret_enc)
          VALUES ('user-1', 'https://hooks.example.com/a', '{database.created}', 'active', 'v1.sealed'),
                 ('user-2', 'https://hooks.example.com/b', '{}', 'revoked', 'v1.sealed2');
        INSERT INTO polykomos_webhook_events (id, owner_id, type, payload, fanned_out_at)
          VALUES ('evt_1', 'user-1', 'database.created', '{"uuid":"u-1"}', now());
        INSERT INTO polykomos_webhook_deliveries (endpoint_id, event_id, event_type, status, response_code, attempt_count)
          VALUES (1, 'evt_1', 'database.created', 'delivered', 200, 1);
      `);
      const rest = await applyMigrations(adapter, await migrationsUpTo('all-webhooks'));
      expect(rest).toContain(target);

      const endpoints = await pglite.query<Record<string, unknown>>(
        'SELECT id, product, owner_id, url, events, status, secret_enc FROM webhook_endpoints ORDER BY id',
      );
      expect(endpoints.rows).toEqual([
        {
          id: 1,
          product: 'polykomos',
          owner_id: 'user-1',
          url: 'https://hooks.example.com/a',
          events: ['database.created'],
          status: 'active',
          secret_enc: 'v1.sealed',
        },
        {
          id: 2,
          product: 'polykomos',
          owner_id: 'user-2',
          url: 'https://hooks.example.com/b',
          events: [],
          status: 'revoked',
          secret_enc: 'v1.sealed2',
        },
      ]);
      const events = await pglite.query<Record<string, unknown>>(
        'SELECT id, product, owner_id, type, payload FROM webhook_events',
      );
      expect(events.rows).toEqual([
        { id: 'evt_1', product: 'polykomos', owner_id: 'user-1', type: 'database.created', payload: { uuid: 'u-1' } },
      ]);
      const deliveries = await pglite.query<Record<string, unknown>>(
        'SELECT endpoint_id, event_id, status, response_code, attempt_count, job_id FROM webhook_deliveries',
      );
      expect(deliveries.rows).toEqual([
        { endpoint_id: 1, event_id: 'evt_1', status: 'delivered', response_code: 200, attempt_count: 1, job_id: null },
      ]);
      // The sequence came along: the next endpoint gets id 3, and the foreign key still cascades.
      const next = await pglite.query<{ id: number }>(
        "INSERT INTO webhook_endpoints (owner_id, url, events, secret_enc) VALUES ('u', 'https://x.example', '{}', 's') RETURNING id",
      );
      expect(next.rows[0]?.id).toBe(3);
      await pglite.exec('DELETE FROM webhook_endpoints WHERE id = 1');
      expect((await pglite.query('SELECT 1 FROM webhook_deliveries')).rows).toHaveLength(0);
      const old = await pglite.query("SELECT 1 FROM pg_tables WHERE tablename LIKE 'polykomos_webhook_%'");
      expect(old.rows).toHaveLength(0);
    } finally {
      await pglite.close();
    }
  }, 120_000);

  it('20261201135856_api_key_controls: polykomos_key_controls/usage_counters → api_key_*, owners kept', async () => {
    const target = '20261201135856_api_key_controls';
    const pglite = await emptyDatabase();
    try {
      const adapter = pglite.adapter;
      const applied = await applyMigrations(adapter, await migrationsUpTo('before-controls', target));
      expect(applied).not.toContain(target);
      const key = '11111111-2222-4333-8444-555555555555';
      await pglite.exec(`
        INSERT INTO polykomos_key_controls (api_key_id, user_id, user_name, user_email, requests_per_minute,
            monthly_quota, allowed_ip_list, inactive_ttl_days, updated_at)
          VALUES ('${key}', 'user-7', 'Ada', 'ada@example.test', 5, 1000, '{10.0.0.0/8}', 30, now());
        INSERT INTO polykomos_usage_counters (api_key_id, month, count) VALUES ('${key}', '2026-11', 42);
      `);
      const rest = await applyMigrations(adapter, await migrationsUpTo('all-controls'));
      expect(rest).toContain(target);
      const controls = await pglite.query<Record<string, unknown>>(
        'SELECT api_key_id, requests_per_minute, monthly_quota, allowed_ip_list, inactive_ttl_days FROM api_key_controls',
      );
      expect(controls.rows).toEqual([
        {
          api_key_id: key,
          requests_per_minute: 5,
          monthly_quota: 1000,
          allowed_ip_list: ['10.0.0.0/8'],
          inactive_ttl_days: 30,
        },
      ]);
      const owners = await pglite.query<Record<string, unknown>>(
        'SELECT api_key_id, user_id, user_name, user_email FROM polykomos_key_owners',
      );
      expect(owners.rows).toEqual([
        { api_key_id: key, user_id: 'user-7', user_name: 'Ada', user_email: 'ada@example.test' },
      ]);
      const counters = await pglite.query<Record<string, unknown>>('SELECT * FROM api_key_usage_counters');
      expect(counters.rows).toEqual([{ api_key_id: key, month: '2026-11', count: 42 }]);
      const old = await pglite.query(
        "SELECT 1 FROM pg_tables WHERE tablename IN ('polykomos_key_controls', 'polykomos_usage_counters')",
      );
      expect(old.rows).toHaveLength(0);
    } finally {
      await pglite.close();
    }
  }, 120_000);
});
