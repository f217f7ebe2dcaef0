import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

export type DbType = 'postgres' | 'mysql';

/** Where a client connects: the engine server's own host and port (never the admin credentials). */
export interface EngineEndpoint {
  host: string;
  port: number;
}

/** Real databases with their own login on one engine server. Names are generated; values are escaped. */
export interface Engine {
  readonly dbType: DbType;
  readonly endpoint: EngineEndpoint;
  /** Creates the role/user and a database only it can use. Idempotent for one (dbName, username). */
  provision(names: ProvisionNames, connectionLimit: number | null): Promise<void>;
  /** Sets (or clears with null) the login's connection limit. */
  setConnectionLimit(username: string, limit: number | null): Promise<void>;
  /** Drops the database and the login if they exist. */
  destroy(names: ProvisionNames): Promise<void>;
}

export interface ProvisionNames {
  dbName: string;
  username: string;
  password: string;
}

/** Generated identifiers and password: `pk_<hex>` names fit every engine's identifier rules unquoted. */
export function generateNames(): ProvisionNames {
  const id = randomBytes(8).toString('hex');
  return { dbName: `pk_${id}`, username: `pk_${id}_u`, password: randomBytes(24).toString('base64url') };
}

const generatedName = /^pk_[0-9a-f]{16}(_u)?$/;
function checkName(name: string): string {
  // Defence in depth: only names we generated ever reach DDL, even though they are also quoted.
  if (!generatedName.test(name)) throw new Error('refusing a database identifier that was not generated');
  return name;
}

function checkLimit(limit: number | null): number {
  if (limit === null) return -1;
  if (!Number.isInteger(limit) || limit < 0 || limit > 100_000) throw new Error('connection limit out of range');
  return limit;
}

function endpointOf(url: string, defaultPort: number): EngineEndpoint {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaultPort };
}

/** A Postgres server reached with an admin connection string (superuser, or CREATEDB + CREATEROLE). */
export class PostgresEngine implements Engine {
  readonly dbType = 'postgres' as const;
  readonly endpoint: EngineEndpoint;
  constructor(private readonly adminUrl: string) {
    this.endpoint = endpointOf(adminUrl, 5432);
  }

  private async withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async provision(names: ProvisionNames, connectionLimit: number | null): Promise<void> {
    const db = checkName(names.dbName);
    const user = checkName(names.username);
    const limit = checkLimit(connectionLimit);
    await this.withAdmin(async (c) => {
      const role = c.escapeIdentifier(user);
      const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
      // Utility statements take no bind parameters: the password is a quoted literal (escapeLiteral).
      const options = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT ${limit} PASSWORD ${c.escapeLiteral(names.password)}`;
      await c.query(exists.rowCount ? `ALTER ROLE ${role} ${options}` : `CREATE ROLE ${role} ${options}`);
      const dbExists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!dbExists.rowCount) await c.query(`CREATE DATABASE ${c.escapeIdentifier(db)} OWNER ${role}`);
      await c.query(`REVOKE ALL ON DATABASE ${c.escapeIdentifier(db)} FROM PUBLIC`);
    });
  }

  async setConnectionLimit(username: string, limit: number | null): Promise<void> {
    await this.withAdmin(async (c) => {
      await c.query(`ALTER ROLE ${c.escapeIdentifier(checkName(username))} CONNECTION LIMIT ${checkLimit(limit)}`);
    });
  }

  async destroy(names: ProvisionNames): Promise<void> {
    await this.withAdmin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(checkName(names.dbName))} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(checkName(names.username))}`);
    });
  }
}

/** A MySQL/MariaDB server reached with an admin connection string (root or a user WITH GRANT OPTION). */
export class MysqlEngine implements Engine {
  readonly dbType = 'mysql' as const;
  readonly endpoint: EngineEndpoint;
  constructor(private readonly adminUrl: string) {
    this.endpoint = endpointOf(adminUrl, 3306);
  }

  private async withAdmin<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
    const client = await mysql.createConnection({ uri: this.adminUrl, connectTimeout: 10_000 });
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async provision(names: ProvisionNames, connectionLimit: number | null): Promise<void> {
    const db = checkName(names.dbName);
    const user = checkName(names.username);
    const limit = connectionLimit === null ? 0 : checkLimit(connectionLimit);
    await this.withAdmin(async (c) => {
      // mysql2 escapes `?` as a quoted value and `??` as a backquoted identifier, client side.
      await c.query('CREATE DATABASE IF NOT EXISTS ??', [db]);
      await c.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS ${limit}`, [
        user,
        names.password,
      ]);
      await c.query("GRANT ALL PRIVILEGES ON ??.* TO ?@'%'", [db, user]);
    });
  }

  async setConnectionLimit(username: string, limit: number | null): Promise<void> {
    const n = limit === null ? 0 : checkLimit(limit);
    await this.withAdmin(async (c) => {
      await c.query(`ALTER USER ?@'%' WITH MAX_USER_CONNECTIONS ${n}`, [checkName(username)]);
    });
  }

  async destroy(names: ProvisionNames): Promise<void> {
    await this.withAdmin(async (c) => {
      await c.query('DROP DATABASE IF EXISTS ??', [checkName(names.dbName)]);
      await c.query("DROP USER IF EXISTS ?@'%'", [checkName(names.username)]);
    });
  }
}

/** `postgresql://user:***@host:port/db` — the contract's masked form; clients combine it with `db_password`. */
export function maskedConnectionString(dbType: DbType, host: string, port: number, user: string, db: string) {
  const h = host.includes(':') ? `[${host}]` : host;
  const scheme = dbType === 'postgres' ? 'postgresql' : 'mysql';
  return `${scheme}://${encodeURIComponent(user)}:***@${h}:${port}/${encodeURIComponent(db)}`;
}
