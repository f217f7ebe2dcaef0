import type { EnvReader } from '../../core/config.ts';

/** The shared webhook engine (docs/webhooks.md, "Configuration"). */
export interface WebhooksConfig {
  /** Deadline of one delivery attempt (connect to last response byte), milliseconds. */
  timeoutMs: number;
  /** Attempts per event delivery before it is `failed` (its job dead). */
  maxAttempts: number;
  /** Retry n waits retryBaseMs * 2^(n-1), capped at 6 h (plus the job runner's jitter). */
  retryBaseMs: number;
  /** How often the outbox relay looks for new events, milliseconds. */
  pollMs: number;
}

/**
 * Each setting is read from `ATRIUM_WEBHOOKS_<X>`; the former Polykomos name `ATRIUM_POLYKOMOS_WEBHOOK_<X>` is
 * accepted when the new one is unset.
 */
export function parseWebhooksConfig(env: EnvReader): WebhooksConfig {
  const read = (suffix: string, fallback: number, min: number, max: number) => {
    const name = `ATRIUM_WEBHOOKS_${suffix}`;
    const legacy = `ATRIUM_POLYKOMOS_WEBHOOK_${suffix}`;
    return env.int(env.str(name) === undefined && env.str(legacy) !== undefined ? legacy : name, fallback, min, max);
  };
  return {
    timeoutMs: read('TIMEOUT_MS', 10_000, 100, 60_000),
    maxAttempts: read('MAX_ATTEMPTS', 8, 1, 50),
    retryBaseMs: read('RETRY_BASE_MS', 30_000, 10, 3600_000),
    pollMs: read('POLL_MS', 1000, 10, 60_000),
  };
}
