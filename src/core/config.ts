import os from 'node:os';
import path from 'node:path';

/** Validated server configuration. Built once at start from the environment. */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  host: string;
  port: number;
  dataDir: string;
  /** A real Postgres server; when absent the platform database is embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Real S3-compatible endpoint; when absent an embedded S3 server runs on loopback. */
  s3: S3Config | undefined;
  s3Bucket: string;
  /** Fixed admin credential; when absent one is generated and kept in dataDir. */
  adminKey: string | undefined;
  /** JSON Web Key Set with private keys (first key signs); when absent one is generated in dataDir. */
  jwtKeys: string | undefined;
  jwtIssuer: string;
  maxBodyBytes: number;
  logLevel: string;
  /** Print stack-free masked errors (always) and optionally expose GraphiQL. */
  graphiql: boolean;
  shutdownGraceMs: number;
  /** DeepStore leasing (docs/logstore.md). */
  logstore: LogStoreConfig;
  /** Sandboxed JavaScript runtime (mcp-v8); see docs/runtime.md. */
  runtime: RuntimeConfig;
  /** Database provisioning (Polykomos); see docs/polykomos.md. */
  polykomos: PolykomosConfig;
  /** Outbound requests to user-supplied URLs may reach loopback/private addresses (tests, local dev only). */
  allowPrivateOutbound: boolean;
}

export interface PolykomosConfig {
  /** Admin connection string of the Postgres server databases are created on; absent: postgres unavailable. */
  postgresUrl: string | undefined;
  /** Admin connection string of the MySQL/MariaDB server; absent: mysql unavailable. */
  mysqlUrl: string | undefined;
  /** The region code both servers are advertised under. */
  region: string;
  /** 32-byte key (hex or base64) encrypting stored database passwords; absent: generated once in dataDir. */
  secretKey: string | undefined;
  /** Deadline of one webhook delivery attempt, milliseconds. */
  webhookTimeoutMs: number;
  /** Attempts per event delivery before it is `failed`; retry n waits retryBaseMs * 2^(n-1) (capped at 6 h). */
  webhookMaxAttempts: number;
  webhookRetryBaseMs: number;
  /** How often the delivery loop looks for new events and due retries, milliseconds. */
  webhookPollMs: number;
}

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

export interface RuntimeConfig {
  /** Names this process as the owner of the runs it executes (live events, restart recovery). */
  instanceId: string;
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

export interface S3Config {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates configuration; throws ConfigError listing every problem at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string) => {
    const v = env[name]?.trim();
    return v === '' ? undefined : v;
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const url = (name: string, protocols: string[]) => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) {
        problems.push(`${name} must use ${protocols.join(' or ')} (got "${u.protocol}")`);
      }
      return raw;
    } catch {
      problems.push(`${name} is not a valid URL`);
      return undefined;
    }
  };

  const nodeEnvRaw = str('NODE_ENV') ?? 'development';
  const nodeEnv = (['development', 'production', 'test'] as const).find((e) => e === nodeEnvRaw);
  if (!nodeEnv) problems.push(`NODE_ENV must be development, production or test (got "${nodeEnvRaw}")`);

  const s3Endpoint = url('S3_ENDPOINT', ['http:', 'https:']);
  let s3: S3Config | undefined;
  if (s3Endpoint) {
    const accessKeyId = str('S3_ACCESS_KEY_ID');
    const secretAccessKey = str('S3_SECRET_ACCESS_KEY');
    if (!accessKeyId) problems.push('S3_ACCESS_KEY_ID is required when S3_ENDPOINT is set');
    if (!secretAccessKey) problems.push('S3_SECRET_ACCESS_KEY is required when S3_ENDPOINT is set');
    s3 = {
      endpoint: s3Endpoint,
      region: str('S3_REGION') ?? 'us-east-1',
      accessKeyId: accessKeyId ?? '',
      secretAccessKey: secretAccessKey ?? '',
      forcePathStyle: (str('S3_FORCE_PATH_STYLE') ?? 'true') !== 'false',
    };
  } else {
    for (const n of ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
      if (str(n)) problems.push(`${n} is set but S3_ENDPOINT is not`);
    }
  }
  const s3Bucket = str('S3_BUCKET') ?? 'atrium';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3Bucket) || s3Bucket.includes('..')) {
    problems.push(`S3_BUCKET must be a valid DNS-style bucket name (got "${s3Bucket}")`);
  }

  const adminKey = str('ATRIUM_ADMIN_KEY');
  if (adminKey !== undefined && adminKey.length < 32) {
    problems.push('ATRIUM_ADMIN_KEY must be at least 32 characters');
  }
  const jwtKeys = str('ATRIUM_JWT_KEYS');
  if (jwtKeys !== undefined) {
    try {
      const parsed = JSON.parse(jwtKeys) as { keys?: unknown };
      if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) {
        problems.push('ATRIUM_JWT_KEYS must be a JWK set: {"keys":[...]} with at least one private key');
      }
    } catch {
      problems.push('ATRIUM_JWT_KEYS is not valid JSON');
    }
  }

  const polykomosRegion = str('ATRIUM_POLYKOMOS_REGION') ?? 'local-1';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(polykomosRegion)) {
    problems.push(`ATRIUM_POLYKOMOS_REGION must be a lowercase region code (got "${polykomosRegion}")`);
  }
  const polykomosSecretKey = str('ATRIUM_POLYKOMOS_SECRET_KEY');
  if (polykomosSecretKey !== undefined && decodeKey(polykomosSecretKey) === undefined) {
    problems.push('ATRIUM_POLYKOMOS_SECRET_KEY must be 32 bytes, as 64 hex characters or base64');
  }

  const logLevel = str('LOG_LEVEL') ?? (nodeEnv === 'test' ? 'warn' : 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`);
  }

  const config: Config = {
    nodeEnv: nodeEnv ?? 'development',
    host: str('HOST') ?? '127.0.0.1',
    port: int('PORT', 4000, 0, 65535),
    dataDir: path.resolve(str('ATRIUM_DATA_DIR') ?? '.atrium'),
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    s3,
    s3Bucket,
    adminKey,
    jwtKeys,
    jwtIssuer: str('ATRIUM_JWT_ISSUER') ?? 'atrium',
    maxBodyBytes: int('ATRIUM_MAX_BODY_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    logLevel,
    graphiql: (str('ATRIUM_GRAPHIQL') ?? 'true') !== 'false',
    shutdownGraceMs: int('ATRIUM_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    logstore: {
      indexingLeaseMs: int('ATRIUM_LOGSTORE_INDEXING_LEASE_MS', 15 * 60_000, 100, 24 * 3600_000),
      cleanupLeaseMs: int('ATRIUM_LOGSTORE_CLEANUP_LEASE_MS', 5 * 60_000, 100, 24 * 3600_000),
      mergeLeaseMs: int('ATRIUM_LOGSTORE_MERGE_LEASE_MS', 30 * 60_000, 100, 24 * 3600_000),
      splitCleanupLeaseMs: int('ATRIUM_LOGSTORE_SPLIT_CLEANUP_LEASE_MS', 5 * 60_000, 100, 24 * 3600_000),
      maxAttempts: int('ATRIUM_LOGSTORE_MAX_ATTEMPTS', 5, 1, 1000),
      retryBackoffMs: int('ATRIUM_LOGSTORE_RETRY_BACKOFF_MS', 10_000, 0, 24 * 3600_000),
      maxBackoffMs: int('ATRIUM_LOGSTORE_MAX_BACKOFF_MS', 3600_000, 0, 7 * 24 * 3600_000),
      splitDeletionGraceMs: int('ATRIUM_LOGSTORE_SPLIT_DELETION_GRACE_MS', 5 * 60_000, 0, 7 * 24 * 3600_000),
    },
    runtime: {
      instanceId: str('ATRIUM_INSTANCE_ID') ?? `${os.hostname()}:${path.resolve(str('ATRIUM_DATA_DIR') ?? '.atrium')}`,
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
    },
    polykomos: {
      postgresUrl: url('ATRIUM_POLYKOMOS_POSTGRES_URL', ['postgres:', 'postgresql:']),
      mysqlUrl: url('ATRIUM_POLYKOMOS_MYSQL_URL', ['mysql:']),
      region: polykomosRegion,
      secretKey: polykomosSecretKey,
      webhookTimeoutMs: int('ATRIUM_POLYKOMOS_WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
      webhookMaxAttempts: int('ATRIUM_POLYKOMOS_WEBHOOK_MAX_ATTEMPTS', 8, 1, 50),
      webhookRetryBaseMs: int('ATRIUM_POLYKOMOS_WEBHOOK_RETRY_BASE_MS', 30_000, 10, 3600_000),
      webhookPollMs: int('ATRIUM_POLYKOMOS_WEBHOOK_POLL_MS', 1000, 10, 60_000),
    },
    allowPrivateOutbound: str('ATRIUM_ALLOW_PRIVATE_OUTBOUND') === 'true',
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** A 32-byte key given as 64 hex characters or base64; undefined when it is neither. */
export function decodeKey(value: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const b = Buffer.from(value, 'base64');
  return b.length === 32 ? b : undefined;
}
