import type { EnvReader } from '../../core/config.ts';

/** Athena, the Postgres gateway (docs/athena.md). Every value is an `ATRIUM_ATHENA_*` variable. */
export interface AthenaConfig {
  /**
   * Name of the client that exists from the first start (`ATRIUM_ATHENA_LOCAL_CLIENT`, default `local`; `off`
   * disables it): a database on the configured Postgres server when there is one, else an embedded PGlite under
   * the data dir.
   */
  localClient: string | undefined;
  /** Upper bound of every client statement (`SET statement_timeout`), ms. */
  statementTimeoutMs: number;
  /** Row cap of every read: a larger `limit` is cut to it. */
  maxRows: number;
  /** Connections per client pool. */
  poolMax: number;
  /** Whether gateway routes require an API key (the admin key or a client-bound `ath_` key). */
  enforceApiKeys: boolean;
  /** Direct connection headers (`x-pg-uri`, JDBC forms): off unless hosts are listed here (`host` or `host:port`). */
  directUriHosts: string[];
  /** Extensions management may install (on PGlite only its bundled ones exist). */
  extensionAllowlist: string[];
  /** Columns management refuses to drop (`ATRIUM_ATHENA_RESERVED_COLUMNS`, default `id`). */
  reservedColumns: string[];
  /** Peers `/health/cluster` probes over HTTP (base URLs). */
  clusterMirrors: string[];
  /** A JSON file seeding clients and per-client configs (`seed-from-config`). */
  configFile: string | undefined;
  /** Deepest embedding of relations in one read. */
  maxEmbedDepth: number;
  /** How long a cached `/query/count` answer lives, ms. */
  countCacheTtlMs: number;
  /** Cloudflare D1 API base URL and credentials for `/gateway/sql/d1/migrate` execution. */
  d1: { baseUrl: string; accountId: string | undefined; apiToken: string | undefined };
  /**
   * Whether raw S3 routes accept an inline endpoint with keys in the body (`ATRIUM_ATHENA_S3_INLINE_ENDPOINTS`,
   * default off): off, a request must name a stored catalog. On, the endpoint still passes the outbound guard.
   */
  s3InlineEndpoints: boolean;
  /** Managed storage (G12): lifetime of presigned URLs, seconds (ATRIUM_ATHENA_STORAGE_URL_TTL_SECONDS, 3600). */
  storageUrlTtlSeconds: number;
  /** Managed storage: the largest body `PUT …/upload` streams (ATRIUM_ATHENA_STORAGE_MAX_UPLOAD_BYTES, 5 GiB). */
  storageMaxUploadBytes: number;
}

const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export const clientNamePattern = /^[a-z0-9_][a-z0-9_-]{0,62}$/;

export function parseAthenaConfig(env: EnvReader): AthenaConfig {
  const local = env.str('ATRIUM_ATHENA_LOCAL_CLIENT') ?? 'local';
  if (local !== 'off' && !clientNamePattern.test(local)) {
    env.problem(`ATRIUM_ATHENA_LOCAL_CLIENT must be a client name (lowercase letters, digits, _ and -) or "off"`);
  }
  const mirrors = list(env.str('ATRIUM_ATHENA_CLUSTER_MIRRORS'));
  for (const m of mirrors) {
    try {
      const u = new URL(m);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    } catch {
      env.problem(`ATRIUM_ATHENA_CLUSTER_MIRRORS: "${m}" is not an http(s) URL`);
    }
  }
  return {
    localClient: local === 'off' ? undefined : local,
    statementTimeoutMs: env.int('ATRIUM_ATHENA_STATEMENT_TIMEOUT_MS', 10_000, 100, 600_000),
    maxRows: env.int('ATRIUM_ATHENA_MAX_ROWS', 10_000, 1, 1_000_000),
    poolMax: env.int('ATRIUM_ATHENA_POOL_MAX', 10, 1, 200),
    enforceApiKeys: env.bool('ATRIUM_ATHENA_ENFORCE_API_KEYS', true),
    directUriHosts: list(env.str('ATRIUM_ATHENA_DIRECT_URI_HOSTS')).map((h) => h.toLowerCase()),
    extensionAllowlist: list(
      env.str('ATRIUM_ATHENA_EXTENSIONS') ?? 'pgcrypto,uuid-ossp,citext,hstore,pg_trgm,vector,btree_gin,btree_gist',
    ),
    reservedColumns: list(env.str('ATRIUM_ATHENA_RESERVED_COLUMNS') ?? 'id'),
    clusterMirrors: mirrors,
    configFile: env.str('ATRIUM_ATHENA_CONFIG_FILE'),
    maxEmbedDepth: env.int('ATRIUM_ATHENA_MAX_EMBED_DEPTH', 8, 1, 32),
    countCacheTtlMs: env.int('ATRIUM_ATHENA_COUNT_CACHE_TTL_MS', 30_000, 0, 86_400_000),
    d1: {
      baseUrl: env.url('ATRIUM_ATHENA_D1_BASE_URL', ['https:', 'http:']) ?? 'https://api.cloudflare.com',
      accountId: env.str('ATRIUM_ATHENA_D1_ACCOUNT_ID'),
      apiToken: env.str('ATRIUM_ATHENA_D1_API_TOKEN'),
    },
    s3InlineEndpoints: env.bool('ATRIUM_ATHENA_S3_INLINE_ENDPOINTS', false),
    storageUrlTtlSeconds: env.int('ATRIUM_ATHENA_STORAGE_URL_TTL_SECONDS', 3600, 60, 7 * 24 * 3600),
    storageMaxUploadBytes: env.int('ATRIUM_ATHENA_STORAGE_MAX_UPLOAD_BYTES', 5 * 1024 ** 3, 1, 5 * 1024 ** 4),
  };
}
