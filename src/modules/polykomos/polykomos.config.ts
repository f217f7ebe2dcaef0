import type { EnvReader } from '../../core/config.ts';

/** Database provisioning (Polykomos); see docs/polykomos.md. */
export interface PolykomosConfig {
  /** Admin connection string of the Postgres server databases are created on; absent: postgres unavailable. */
  postgresUrl: string | undefined;
  /** Admin connection string of the MySQL/MariaDB server; absent: mysql unavailable. */
  mysqlUrl: string | undefined;
  /** The region code both servers are advertised under. */
  region: string;
}

export function parsePolykomosConfig(env: EnvReader): PolykomosConfig {
  const { str, url } = env;
  const region = str('ATRIUM_POLYKOMOS_REGION') ?? 'local-1';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region)) {
    env.problem(`ATRIUM_POLYKOMOS_REGION must be a lowercase region code (got "${region}")`);
  }
  return {
    postgresUrl: url('ATRIUM_POLYKOMOS_POSTGRES_URL', ['postgres:', 'postgresql:']),
    mysqlUrl: url('ATRIUM_POLYKOMOS_MYSQL_URL', ['mysql:']),
    region,
  };
}
