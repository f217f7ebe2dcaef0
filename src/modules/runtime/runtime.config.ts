import type { EnvReader } from '../../core/config.ts';

/** The sandboxed JavaScript runtime (mcp-v8); see docs/runtime.md. */
export interface RuntimeConfig {
  /** Sandbox worker processes (= concurrent runs per instance); further runs wait, still `running`. */
  workers: number;
  defaultTimeoutSecs: number;
  maxTimeoutSecs: number;
  defaultHeapMb: number;
  maxHeapMb: number;
  maxOutputBytes: number;
  maxCodeBytes: number;
  /** Runs one caller may have in flight (queued or running) on one instance; more answer 429. */
  maxActivePerTenant: number;
  /** A `running` execution whose owner has not refreshed it for this long is failed (its instance is gone). */
  staleAfterMs: number;
  /** Finished executions (and their output) are deleted this long after they complete. */
  retentionHours: number;
  /**
   * How long a submit waits for a run that an idle worker started at once: one that ends in time (no output, no
   * heap or fs) is recorded in one write, already terminal. 0: every run is recorded `running` first.
   */
  inlineWaitMs: number;
}

export function parseRuntimeConfig({ int }: EnvReader): RuntimeConfig {
  return {
    workers: int('ATRIUM_RUNTIME_WORKERS', 2, 1, 256),
    defaultTimeoutSecs: int('ATRIUM_RUNTIME_DEFAULT_TIMEOUT_SECS', 30, 1, 3600),
    maxTimeoutSecs: int('ATRIUM_RUNTIME_MAX_TIMEOUT_SECS', 300, 1, 86_400),
    defaultHeapMb: int('ATRIUM_RUNTIME_DEFAULT_HEAP_MB', 64, 8, 4096),
    maxHeapMb: int('ATRIUM_RUNTIME_MAX_HEAP_MB', 256, 8, 4096),
    maxOutputBytes: int('ATRIUM_RUNTIME_MAX_OUTPUT_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxCodeBytes: int('ATRIUM_RUNTIME_MAX_CODE_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxActivePerTenant: int('ATRIUM_RUNTIME_MAX_ACTIVE_PER_TENANT', 64, 1, 100_000),
    staleAfterMs: int('ATRIUM_RUNTIME_STALE_AFTER_MS', 60_000, 600, 24 * 3600_000),
    retentionHours: int('ATRIUM_RUNTIME_RETENTION_HOURS', 168, 1, 24 * 3650),
    inlineWaitMs: int('ATRIUM_RUNTIME_INLINE_WAIT_MS', 5, 0, 1000),
  };
}
