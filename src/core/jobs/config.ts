/** Job runner settings (docs/jobs.md, "Configuration"). */
export interface JobsConfig {
  /** Jobs this process runs at once; 0: it runs none (it may still enqueue, read and cancel). */
  concurrency: number;
  /** How often an idle runner looks for due jobs, milliseconds (local enqueues wake it at once). */
  pollMs: number;
  /** Default lease of a running job, milliseconds; the runner heartbeats every leaseMs/3. */
  leaseMs: number;
  /** Default attempts before a failing job is `dead`. */
  maxAttempts: number;
  /** Retry n waits backoffBaseMs * 2^(n-1), at most backoffMaxMs (plus up to 10% jitter). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Finished jobs are deleted this long after they finish. */
  retentionHours: number;
}

type Env = Record<string, string | undefined>;

const settings: [keyof JobsConfig, string, number, number, number][] = [
  ['concurrency', 'ATRIUM_JOBS_CONCURRENCY', 4, 0, 256],
  ['pollMs', 'ATRIUM_JOBS_POLL_MS', 1000, 10, 60_000],
  ['leaseMs', 'ATRIUM_JOBS_LEASE_MS', 30_000, 300, 3600_000],
  ['maxAttempts', 'ATRIUM_JOBS_MAX_ATTEMPTS', 5, 1, 1000],
  ['backoffBaseMs', 'ATRIUM_JOBS_BACKOFF_BASE_MS', 1000, 0, 24 * 3600_000],
  ['backoffMaxMs', 'ATRIUM_JOBS_BACKOFF_MAX_MS', 3600_000, 0, 7 * 24 * 3600_000],
  ['retentionHours', 'ATRIUM_JOBS_RETENTION_HOURS', 168, 1, 24 * 3650],
];

/** Reads the ATRIUM_JOBS_* variables; every invalid value is pushed to `problems` and replaced by its default. */
export function parseJobsConfig(env: Env, problems: string[]): JobsConfig {
  const config = {} as JobsConfig;
  for (const [key, name, fallback, min, max] of settings) {
    const raw = env[name]?.trim();
    const n = Number(raw);
    if (raw === undefined || raw === '') {
      config[key] = fallback;
    } else if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      config[key] = fallback;
    } else {
      config[key] = n;
    }
  }
  if (config.backoffMaxMs < config.backoffBaseMs) {
    problems.push(
      `ATRIUM_JOBS_BACKOFF_MAX_MS (${config.backoffMaxMs}) must not be below ATRIUM_JOBS_BACKOFF_BASE_MS (${config.backoffBaseMs})`,
    );
  }
  return config;
}
