import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabasesService, EngineUnavailableError } from '../../src/modules/databases/databases.service.ts';
import { connectionString, type DatabaseCredentials } from '../../src/modules/databases/engines.ts';
import { polykomosMysqlUrl, polykomosPostgresUrl } from '../kit/polykomos.ts';

/*
 * The databases module against the real engine servers (the same ones Polykomos' tests use; each engine's tests
 * skip when its server is not there).
 */
const service = new DatabasesService({
  postgresUrl: polykomosPostgresUrl || undefined,
  mysqlUrl: polykomosMysqlUrl || undefined,
});
const created: { kind: 'postgres' | 'mysql'; c: DatabaseCredentials }[] = [];
afterAll(async () => {
  for (const { kind, c } of created) await service.drop(kind, c).catch(() => undefined);
});

async function canLogIn(kind: 'postgres' | 'mysql', c: DatabaseCredentials): Promise<boolean> {
  const url = connectionString(kind, service.endpoint(kind), c, c.password);
  // The login owns its database: it may create a table there.
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('CREATE TABLE IF NOT EXISTS t (id int)');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const conn = await mysql.createConnection({ uri: url, connectTimeout: 5000 }).catch(() => undefined);
  if (!conn) return false;
  try {
    await conn.query('CREATE TABLE IF NOT EXISTS t (id int)');
    return true;
  } catch {
    return false;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

describe('databases module', () => {
  it('generated credentials carry the prefix; bad prefixes and foreign names are refused', async () => {
    const c = service.generateCredentials('ath');
    expect(c.database).toMatch(/^ath_[0-9a-f]{16}$/);
    expect(c.role).toBe(`${c.database}_u`);
    expect(c.password.length).toBeGreaterThanOrEqual(32);
    expect(() => service.generateCredentials('Bad-Prefix')).toThrow(/prefix/);
    if (service.isAvailable('postgres')) {
      await expect(service.drop('postgres', { database: 'postgres', role: 'postgres' })).rejects.toThrow(
        /not generated/,
      );
    }
  });

  it('an unconfigured engine is unavailable, with a typed error', async () => {
    const none = new DatabasesService({ postgresUrl: undefined, mysqlUrl: undefined });
    expect(none.kinds).toEqual(['postgres', 'mysql']);
    expect(none.isAvailable('postgres')).toBe(false);
    await expect(none.ensure('mysql', none.generateCredentials('x'), null)).rejects.toBeInstanceOf(
      EngineUnavailableError,
    );
  });

  for (const kind of ['postgres', 'mysql'] as const) {
    it.skipIf(!(kind === 'postgres' ? polykomosPostgresUrl : polykomosMysqlUrl))(
      `${kind}: ensure is idempotent (a half-made database is completed), the login works, drop removes both`,
      async () => {
        const c = service.generateCredentials('dbt');
        created.push({ kind, c });
        expect(await service.inspect(kind, c)).toEqual({ database: false, role: false });
        await service.ensure(kind, c, 5);
        await service.ensure(kind, c, 5); // a re-run after a crash
        expect(await service.inspect(kind, c)).toEqual({ database: true, role: true });
        expect(await canLogIn(kind, c)).toBe(true);
        // A re-run with a new password (the row kept another one) makes that the password.
        const again = { ...c, password: service.generateCredentials('dbt').password };
        await service.ensure(kind, again, null);
        // (The local Postgres trusts loopback logins whatever the password; MariaDB checks it.)
        if (kind === 'mysql') expect(await canLogIn(kind, c)).toBe(false);
        expect(await canLogIn(kind, again)).toBe(true);
        await service.setConnectionLimit(kind, c.role, 3);
        await service.drop(kind, c);
        await service.drop(kind, c);
        expect(await service.inspect(kind, c)).toEqual({ database: false, role: false });
      },
      30_000,
    );
  }
});
