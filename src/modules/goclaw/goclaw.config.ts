import type { EnvReader } from '../../core/config.ts';

/** GoClaw (docs/goclaw.md). */
export interface GoClawConfig {
  /** Deadline for a provider's response headers and between streamed chunks, milliseconds. */
  llmIdleTimeoutMs: number;
  /** Largest non-streamed provider response, bytes. */
  llmMaxResponseBytes: number;
  /** Runs in flight at once across the instance; more answer 429. */
  maxConcurrentRuns: number;
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

export function parseGoClawConfig(env: EnvReader): GoClawConfig {
  const llmIdleTimeoutMs = env.int('ATRIUM_GOCLAW_LLM_TIMEOUT_MS', 120_000, 100, 3_600_000);
  const llmMaxResponseBytes = env.int('ATRIUM_GOCLAW_LLM_MAX_RESPONSE_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024);
  const maxConcurrentRuns = env.int('ATRIUM_GOCLAW_MAX_CONCURRENT_RUNS', 500, 1, 100_000);
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
    embeddingProvider,
    embeddingModel,
    memoryExactMaxChunks,
    pgvector: pgvector === 'off' ? 'off' : 'auto',
  };
}
