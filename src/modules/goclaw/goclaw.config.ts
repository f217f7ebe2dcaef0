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
  /**
   * Who embeds memory for agents whose `memory_config` names no embedding provider: a provider's name (slug) and
   * an embedding model. Empty: such agents' memory is searched by full text only.
   */
  embeddingProvider: string;
  embeddingModel: string;
  /**
   * Without pgvector, exact cosine scans at most this many chunks per search (those of the most recently updated
   * documents); a search that was cut says so in its note.
   */
  memoryExactMaxChunks: number;
  /** `auto`: rank vectors with pgvector when the database has (or can create) the extension; `off`: never. */
  pgvector: 'auto' | 'off';
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
  const embeddingProvider = env.str('ATRIUM_GOCLAW_EMBEDDING_PROVIDER') ?? '';
  const embeddingModel = env.str('ATRIUM_GOCLAW_EMBEDDING_MODEL') ?? '';
  if ((embeddingProvider === '') !== (embeddingModel === '')) {
    env.problem('ATRIUM_GOCLAW_EMBEDDING_PROVIDER and ATRIUM_GOCLAW_EMBEDDING_MODEL are set together or not at all');
  }
  const memoryExactMaxChunks = env.int('ATRIUM_GOCLAW_MEMORY_EXACT_MAX_CHUNKS', 20_000, 1, 10_000_000);
  const pgvector = env.str('ATRIUM_GOCLAW_PGVECTOR') ?? 'auto';
  if (pgvector !== 'auto' && pgvector !== 'off') env.problem('ATRIUM_GOCLAW_PGVECTOR must be auto or off');
  return {
    llmIdleTimeoutMs,
    llmMaxResponseBytes,
    maxConcurrentRuns,
    ws,
    embeddingProvider,
    embeddingModel,
    memoryExactMaxChunks,
    pgvector: pgvector === 'off' ? 'off' : 'auto',
  };
}
