import type { EnvReader } from '../../core/config.ts';

/** GoClaw (docs/goclaw.md). */
export interface GoClawConfig {
  /** Deadline for a provider's response headers and between streamed chunks, milliseconds. */
  llmIdleTimeoutMs: number;
  /** Largest non-streamed provider response, bytes. */
  llmMaxResponseBytes: number;
  /** Runs in flight at once across the instance; more answer 429. */
  maxConcurrentRuns: number;
}

export function parseGoClawConfig(env: EnvReader): GoClawConfig {
  const llmIdleTimeoutMs = env.int('ATRIUM_GOCLAW_LLM_TIMEOUT_MS', 120_000, 100, 3_600_000);
  const llmMaxResponseBytes = env.int('ATRIUM_GOCLAW_LLM_MAX_RESPONSE_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024);
  const maxConcurrentRuns = env.int('ATRIUM_GOCLAW_MAX_CONCURRENT_RUNS', 500, 1, 100_000);
  return { llmIdleTimeoutMs, llmMaxResponseBytes, maxConcurrentRuns };
}
