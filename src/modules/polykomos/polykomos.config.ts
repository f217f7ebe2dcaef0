import type { EnvReader } from '../../core/config.ts';

/** Polykomos (docs/polykomos.md); its engine servers are the `databases` module's (docs/databases.md). */
export interface PolykomosConfig {
  /** The region code both servers are advertised under. */
  region: string;
}

export function parsePolykomosConfig(env: EnvReader): PolykomosConfig {
  const { str } = env;
  const region = str('ATRIUM_POLYKOMOS_REGION') ?? 'local-1';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region)) {
    env.problem(`ATRIUM_POLYKOMOS_REGION must be a lowercase region code (got "${region}")`);
  }
  return {
    region,
  };
}
