import type { DatabasesConfig } from './databases.config.ts';
import {
  type DatabaseCredentials,
  type DatabaseRef,
  type Engine,
  type EngineEndpoint,
  type EngineKind,
  engineKinds,
  generateCredentials,
  MysqlEngine,
  PostgresEngine,
} from './engines.ts';

/** An engine this server has no admin connection for (its `ATRIUM_DATABASES_*_URL` is unset). */
export class EngineUnavailableError extends Error {
  constructor(readonly engine: EngineKind) {
    super(`no ${engine} server is configured`);
    this.name = 'EngineUnavailableError';
  }
}

/**
 * Client databases on the configured engine servers (docs/databases.md): create a database with its own login,
 * change its connection limit, drop it. Product-neutral infrastructure for the modules that `need` it (Polykomos
 * today, Athena later): it has no GraphQL or REST surface and no principal, because its callers authorise; it keeps
 * no state, so callers record what they created (names, sealed password) and may call again after a crash.
 * Engine errors never carry the admin connection string.
 */
export class DatabasesService {
  private readonly engines: Partial<Record<EngineKind, Engine>> = {};

  private readonly logins: Partial<Record<EngineKind, { host: string; port: number; user: string }>> = {};

  constructor(config: DatabasesConfig) {
    if (config.postgresUrl) this.engines.postgres = new PostgresEngine(config.postgresUrl);
    if (config.mysqlUrl) this.engines.mysql = new MysqlEngine(config.mysqlUrl);
    for (const [kind, url] of [
      ['postgres', config.postgresUrl],
      ['mysql', config.mysqlUrl],
    ] as const) {
      if (!url) continue;
      const u = new URL(url);
      const { host, port } = this.endpoint(kind);
      this.logins[kind] = { host, port, user: decodeURIComponent(u.username) };
    }
  }

  /**
   * The admin login of `kind` (host, port, user; never the password), so that callers taking connection strings
   * from users (Athena's direct URIs) can refuse the server's own login.
   */
  adminLogin(kind: EngineKind): { host: string; port: number; user: string } | undefined {
    return this.logins[kind];
  }

  /** Every engine kind this build supports, configured or not. */
  readonly kinds = engineKinds;

  /** Whether an admin connection for `kind` is configured. */
  isAvailable(kind: EngineKind): boolean {
    return this.engines[kind] !== undefined;
  }

  /** The host and port clients of `kind` databases connect to. */
  endpoint(kind: EngineKind): EngineEndpoint {
    return this.engine(kind).endpoint;
  }

  /** New names and password with the owner's prefix (1-8 lower-case letters and digits); nothing is created yet. */
  generateCredentials(prefix: string): DatabaseCredentials {
    return generateCredentials(prefix);
  }

  /** Makes the database and its login exist with these credentials (idempotent; completes an interrupted call). */
  async ensure(kind: EngineKind, credentials: DatabaseCredentials, connectionLimit: number | null): Promise<void> {
    await this.run(() => this.engine(kind).ensure(credentials, connectionLimit));
  }

  /** Whether the database and its login exist. */
  inspect(kind: EngineKind, ref: DatabaseRef): Promise<{ database: boolean; role: boolean }> {
    return this.run(() => this.engine(kind).inspect(ref));
  }

  /** Sets (null: clears) the login's connection limit. */
  async setConnectionLimit(kind: EngineKind, role: string, limit: number | null): Promise<void> {
    await this.run(() => this.engine(kind).setConnectionLimit(role, limit));
  }

  /** Drops the database (closing its sessions) and its login; nothing to drop is not an error. */
  async drop(kind: EngineKind, ref: DatabaseRef): Promise<void> {
    await this.run(() => this.engine(kind).drop(ref));
  }

  private engine(kind: EngineKind): Engine {
    const engine = this.engines[kind];
    if (!engine) throw new EngineUnavailableError(kind);
    return engine;
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof EngineUnavailableError) throw err;
      throw new Error(redact(err instanceof Error ? err.message : String(err)), { cause: err });
    }
  }
}

/** Engine errors name servers, never credentials; keep only the message, and never an admin URL. */
export function redact(message: string): string {
  return message.replace(/\b(postgres(ql)?|mysql):\/\/\S+/gi, '<url>');
}
