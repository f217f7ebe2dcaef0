import type { EnvReader } from '../../core/config.ts';

/** Polykomos (docs/polykomos.md); its engine servers are the `databases` module's (docs/databases.md). */
export interface PolykomosConfig {
  /** The region code both servers are advertised under. */
  region: string;
  /** Deadline of one webhook delivery attempt, milliseconds. */
  webhookTimeoutMs: number;
  /** Attempts per event delivery before it is `failed`; retry n waits retryBaseMs * 2^(n-1) (capped at 6 h). */
  webhookMaxAttempts: number;
  webhookRetryBaseMs: number;
  /** How often the delivery loop looks for new events and due retries, milliseconds. */
  webhookPollMs: number;
}

export function parsePolykomosConfig(env: EnvReader): PolykomosConfig {
  const { int, str } = env;
  const region = str('ATRIUM_POLYKOMOS_REGION') ?? 'local-1';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region)) {
    env.problem(`ATRIUM_POLYKOMOS_REGION must be a lowercase region code (got "${region}")`);
  }
  return {
    region,
    webhookTimeoutMs: int('ATRIUM_POLYKOMOS_WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    webhookMaxAttempts: int('ATRIUM_POLYKOMOS_WEBHOOK_MAX_ATTEMPTS', 8, 1, 50),
    webhookRetryBaseMs: int('ATRIUM_POLYKOMOS_WEBHOOK_RETRY_BASE_MS', 30_000, 10, 3600_000),
    webhookPollMs: int('ATRIUM_POLYKOMOS_WEBHOOK_POLL_MS', 1000, 10, 60_000),
  };
}
