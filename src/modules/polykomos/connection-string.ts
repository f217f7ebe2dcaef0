import { connectionString, type EngineKind } from '../databases/engines.ts';

/** `postgresql://user:***@host:port/db` — the contract's masked form; clients combine it with `db_password`. */
export function maskedConnectionString(dbType: EngineKind, host: string, port: number, user: string, db: string) {
  return connectionString(dbType, { host, port }, { role: user, database: db });
}
