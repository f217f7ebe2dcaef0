import type { EnvReader } from '../../core/config.ts';

/** GoClaw (docs/goclaw.md). */
export interface GoClawConfig {
  /** Deadline for a provider's response headers and between streamed chunks, milliseconds. */
  llmIdleTimeoutMs: number;
  /** Largest non-streamed provider response, bytes. */
  llmMaxResponseBytes: number;
  /** Runs in flight at once across the instance; more answer 429. */
  maxConcurrentRuns: number;
  /** The `/goclaw/ws` RPC (docs/goclaw.md "WebSocket RPC"). */
  ws: GoClawWsConfig;
}

/** Keepalive, rate limit and send bound of each `/goclaw/ws` connection. */
export interface GoClawWsConfig {
  /** A ping every this many milliseconds. */
  pingIntervalMs: number;
  /** A connection silent (no frame, no pong) this long is dropped; also the time allowed for `connect`. */
  idleTimeoutMs: number;
  /** Token bucket per connection: requests per second refilled, and the burst it holds. */
  requestsPerSecond: number;
  burst: number;
  /** Bytes queued to a client that does not read before the connection is closed (1013). */
  maxBufferedBytes: number;
}

export function parseGoClawConfig(env: EnvReader): GoClawConfig {
  const llmIdleTimeoutMs = env.int('ATRIUM_GOCLAW_LLM_TIMEOUT_MS', 120_000, 100, 3_600_000);
  const llmMaxResponseBytes = env.int('ATRIUM_GOCLAW_LLM_MAX_RESPONSE_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024);
  const maxConcurrentRuns = env.int('ATRIUM_GOCLAW_MAX_CONCURRENT_RUNS', 500, 1, 100_000);
  const ws: GoClawWsConfig = {
    pingIntervalMs: env.int('ATRIUM_GOCLAW_WS_PING_MS', 30_000, 10, 3_600_000),
    idleTimeoutMs: env.int('ATRIUM_GOCLAW_WS_IDLE_TIMEOUT_MS', 60_000, 20, 3_600_000),
    requestsPerSecond: env.int('ATRIUM_GOCLAW_WS_RATE_PER_SECOND', 20, 1, 100_000),
    burst: env.int('ATRIUM_GOCLAW_WS_BURST', 40, 1, 100_000),
    maxBufferedBytes: env.int('ATRIUM_GOCLAW_WS_MAX_BUFFERED_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  };
  return { llmIdleTimeoutMs, llmMaxResponseBytes, maxConcurrentRuns, ws };
}
