import type { EnvReader } from '../../core/config.ts';

/** The engine servers client databases are created on (docs/databases.md). */
export interface DatabasesConfig {
  /** Admin connection string of the Postgres server; absent: the postgres engine is unavailable. */
  postgresUrl: string | undefined;
  /** Admin connection string of the MySQL/MariaDB server; absent: the mysql engine is unavailable. */
  mysqlUrl: string | undefined;
}

/**
 * `ATRIUM_DATABASES_*_URL`, or the older `ATRIUM_POLYKOMOS_*_URL` names (aliases, from when Polykomos owned the
 * engines). Both names set to different values is a problem: which one wins would be a guess.
 */
export function parseDatabasesConfig(env: EnvReader): DatabasesConfig {
  const read = (name: string, alias: string, protocols: string[]) => {
    const value = env.url(name, protocols);
    const old = env.url(alias, protocols);
    if (value !== undefined && old !== undefined && value !== old) {
      env.problem(`${name} and its alias ${alias} are both set, to different values: set only ${name}`);
    }
    return value ?? old;
  };
  return {
    postgresUrl: read('ATRIUM_DATABASES_POSTGRES_URL', 'ATRIUM_POLYKOMOS_POSTGRES_URL', ['postgres:', 'postgresql:']),
    mysqlUrl: read('ATRIUM_DATABASES_MYSQL_URL', 'ATRIUM_POLYKOMOS_MYSQL_URL', ['mysql:']),
  };
}
