import type { EnvReader } from '../../core/config.ts';

/** DeepStore leasing (docs/logstore.md). */
export interface LogStoreConfig {
  /** Lease lifetime per job type, milliseconds (there is no renew endpoint). */
  indexingLeaseMs: number;
  cleanupLeaseMs: number;
  mergeLeaseMs: number;
  splitCleanupLeaseMs: number;
  /** Attempts after which a failed draft/split is no longer leased automatically. */
  maxAttempts: number;
  /** Retry backoff: base * 2^(attempts-1), capped at maxBackoffMs. */
  retryBackoffMs: number;
  maxBackoffMs: number;
  /** How long a split marked for deletion stays out of split-cleanup leases (in-flight readers). */
  splitDeletionGraceMs: number;
}

export function parseLogStoreConfig({ int }: EnvReader): LogStoreConfig {
  return {
    indexingLeaseMs: int('ATRIUM_LOGSTORE_INDEXING_LEASE_MS', 15 * 60_000, 100, 24 * 3600_000),
    cleanupLeaseMs: int('ATRIUM_LOGSTORE_CLEANUP_LEASE_MS', 5 * 60_000, 100, 24 * 3600_000),
    mergeLeaseMs: int('ATRIUM_LOGSTORE_MERGE_LEASE_MS', 30 * 60_000, 100, 24 * 3600_000),
    splitCleanupLeaseMs: int('ATRIUM_LOGSTORE_SPLIT_CLEANUP_LEASE_MS', 5 * 60_000, 100, 24 * 3600_000),
    maxAttempts: int('ATRIUM_LOGSTORE_MAX_ATTEMPTS', 5, 1, 1000),
    retryBackoffMs: int('ATRIUM_LOGSTORE_RETRY_BACKOFF_MS', 10_000, 0, 24 * 3600_000),
    maxBackoffMs: int('ATRIUM_LOGSTORE_MAX_BACKOFF_MS', 3600_000, 0, 7 * 24 * 3600_000),
    splitDeletionGraceMs: int('ATRIUM_LOGSTORE_SPLIT_DELETION_GRACE_MS', 5 * 60_000, 0, 7 * 24 * 3600_000),
  };
}
