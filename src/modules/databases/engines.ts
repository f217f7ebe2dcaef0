import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

/** The database servers client databases can live on. */
export type EngineKind = 'postgres' | 'mysql';
export const engineKinds: readonly EngineKind[] = ['postgres', 'mysql'];

/** Where a client connects: the engine server's own host and port (never the admin credentials). */
export interface EngineEndpoint {
  host: string;
  port: number;
}

/** One client database and the one login that owns it. */
export interface DatabaseCredentials {
  /** Database (schema on MySQL) name; generated (see generateCredentials). */
  database: string;
  /** Role (Postgres) or user (MySQL) name; generated. */
  role: string;
  password: string;
}

/** What identifies a database on its server, without the secret. */
export type DatabaseRef = Pick<DatabaseCredentials, 'database' | 'role'>;

/** Real databases with their own login on one engine server. Names are generated and checked; values are escaped. */
export interface Engine {
  readonly kind: EngineKind;
  readonly endpoint: EngineEndpoint;
  /**
   * Makes the login and a database only it can use exist, with this password and connection limit (null: none).
   * Idempotent: whatever already exists from an earlier, interrupted call is completed, never created twice.
   */
  ensure(credentials: DatabaseCredentials, connectionLimit: number | null): Promise<void>;
  /** Whether the database and the login exist on the server. */
  inspect(ref: DatabaseRef): Promise<{ database: boolean; role: boolean }>;
  /** Sets (or clears with null) the login's connection limit. */
  setConnectionLimit(role: string, limit: number | null): Promise<void>;
  /** Drops the database and the login if they exist (idempotent). */
  drop(ref: DatabaseRef): Promise<void>;
}

const prefixPattern = /^[a-z][a-z0-9]{0,7}$/;
const generatedName = /^[a-z][a-z0-9]{0,7}_[0-9a-f]{16}(_u)?$/;

/**
 * Fresh credentials: `<prefix>_<16 hex>` for the database, `<prefix>_<16 hex>_u` for the login, a 192-bit password.
 * The names fit every engine's identifier rules unquoted (≤ 28 characters, lower case); the prefix (1–8 lower-case
 * letters and digits) says which product owns them (`pk` for Polykomos).
 */
export function generateCredentials(prefix: string): DatabaseCredentials {
  if (!prefixPattern.test(prefix)) throw new Error('a database name prefix is 1-8 lower-case letters and digits');
  const id = randomBytes(8).toString('hex');
  return { database: `${prefix}_${id}`, role: `${prefix}_${id}_u`, password: randomBytes(24).toString('base64url') };
}

function checkName(name: string): string {
  // Defence in depth: only names we generated ever reach DDL, even though they are also quoted.
  if (!generatedName.test(name)) throw new Error('refusing a database identifier that was not generated');
  return name;
}

/**
 * The lock `ensure` and `drop` hold on the engine server while they work on one database (a Postgres session
 * advisory lock on `hashtextextended(name, 0)`, a MySQL `GET_LOCK(name)`): two runs for one database, such as a
 * reclaimed job and the runner that lost it, or a delete during provisioning, take turns instead of interleaving.
 */
export function lockName(database: string): string {
  return `atrium.databases:${database}`;
}
const mysqlLockWaitSeconds = 120;

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
  readonly kind = 'postgres' as const;
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

  async ensure(credentials: DatabaseCredentials, connectionLimit: number | null): Promise<void> {
    const db = checkName(credentials.database);
    const user = checkName(credentials.role);
    const limit = checkLimit(connectionLimit);
    await this.withAdmin(async (c) => {
      await c.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockName(db)]);
      const role = c.escapeIdentifier(user);
      const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
      // Utility statements take no bind parameters: the password is a quoted literal (escapeLiteral).
      const options = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT ${limit} PASSWORD ${c.escapeLiteral(credentials.password)}`;
      await c.query(exists.rowCount ? `ALTER ROLE ${role} ${options}` : `CREATE ROLE ${role} ${options}`);
      const dbExists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!dbExists.rowCount) {
        try {
          await c.query(`CREATE DATABASE ${c.escapeIdentifier(db)} OWNER ${role}`);
        } catch (err) {
          // Another run created it between the check and here (42P04 duplicate_database): that is the goal.
          if ((err as { code?: string }).code !== '42P04') throw err;
        }
      }
      await c.query(`REVOKE ALL ON DATABASE ${c.escapeIdentifier(db)} FROM PUBLIC`);
    });
  }

  async inspect(ref: DatabaseRef): Promise<{ database: boolean; role: boolean }> {
    return this.withAdmin(async (c) => {
      const r = await c.query<{ database: boolean; role: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS database,
                EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2) AS role`,
        [checkName(ref.database), checkName(ref.role)],
      );
      return { database: r.rows[0]?.database === true, role: r.rows[0]?.role === true };
    });
  }

  async setConnectionLimit(role: string, limit: number | null): Promise<void> {
    await this.withAdmin(async (c) => {
      await c.query(`ALTER ROLE ${c.escapeIdentifier(checkName(role))} CONNECTION LIMIT ${checkLimit(limit)}`);
    });
  }

  async drop(ref: DatabaseRef): Promise<void> {
    await this.withAdmin(async (c) => {
      await c.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockName(checkName(ref.database))]);
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(checkName(ref.database))} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(checkName(ref.role))}`);
    });
  }
}

/** A MySQL/MariaDB server reached with an admin connection string (root or a user WITH GRANT OPTION). */
export class MysqlEngine implements Engine {
  readonly kind = 'mysql' as const;
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

  async ensure(credentials: DatabaseCredentials, connectionLimit: number | null): Promise<void> {
    const db = checkName(credentials.database);
    const user = checkName(credentials.role);
    const limit = connectionLimit === null ? 0 : checkLimit(connectionLimit);
    await this.withAdmin(async (c) => {
      await mysqlLock(c, db);
      // mysql2 escapes `?` as a quoted value and `??` as a backquoted identifier, client side.
      await c.query('CREATE DATABASE IF NOT EXISTS ??', [db]);
      await c.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS ${limit}`, [
        user,
        credentials.password,
      ]);
      // A user left by an interrupted run gets this run's password and limit.
      await c.query(`ALTER USER ?@'%' IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS ${limit}`, [
        user,
        credentials.password,
      ]);
      await c.query("GRANT ALL PRIVILEGES ON ??.* TO ?@'%'", [db, user]);
    });
  }

  async inspect(ref: DatabaseRef): Promise<{ database: boolean; role: boolean }> {
    return this.withAdmin(async (c) => {
      const [rows] = await c.query(
        `SELECT EXISTS (SELECT 1 FROM information_schema.schemata WHERE schema_name = ?) AS db,
                EXISTS (SELECT 1 FROM mysql.user WHERE user = ? AND host = '%') AS role`,
        [checkName(ref.database), checkName(ref.role)],
      );
      const row = (rows as { db: number; role: number }[])[0];
      return { database: Number(row?.db) === 1, role: Number(row?.role) === 1 };
    });
  }

  async setConnectionLimit(role: string, limit: number | null): Promise<void> {
    const n = limit === null ? 0 : checkLimit(limit);
    await this.withAdmin(async (c) => {
      await c.query(`ALTER USER ?@'%' WITH MAX_USER_CONNECTIONS ${n}`, [checkName(role)]);
    });
  }

  async drop(ref: DatabaseRef): Promise<void> {
    await this.withAdmin(async (c) => {
      await mysqlLock(c, checkName(ref.database));
      await c.query('DROP DATABASE IF EXISTS ??', [checkName(ref.database)]);
      await c.query("DROP USER IF EXISTS ?@'%'", [checkName(ref.role)]);
    });
  }
}

/** The session lock of lockName(); released when the admin connection ends. */
async function mysqlLock(c: mysql.Connection, database: string): Promise<void> {
  const [rows] = await c.query('SELECT GET_LOCK(?, ?) AS got', [lockName(database), mysqlLockWaitSeconds]);
  if (Number((rows as { got: number | null }[])[0]?.got) !== 1) {
    throw new Error(`timed out waiting for another operation on database ${database}`);
  }
}

/**
 * `postgresql://role:password@host:port/database` (or `mysql://…`). Without a password the password part is
 * `***`: the masked form shown next to a separately delivered password.
 */
export function connectionString(
  kind: EngineKind,
  endpoint: EngineEndpoint,
  ref: DatabaseRef,
  password?: string,
): string {
  const h = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  const scheme = kind === 'postgres' ? 'postgresql' : 'mysql';
  const secret = password === undefined ? '***' : encodeURIComponent(password);
  return `${scheme}://${encodeURIComponent(ref.role)}:${secret}@${h}:${endpoint.port}/${encodeURIComponent(ref.database)}`;
}
