import os from 'node:os';
import path from 'node:path';
import { type GraphQLProtectionConfig, parseGraphQLProtectionConfig } from './graphql/protection.ts';
import { type JobsConfig, parseJobsConfig } from './jobs/config.ts';

/** Validated server configuration. Built once at start from the environment. */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  host: string;
  port: number;
  dataDir: string;
  /** A closed, initialised PGlite data dir new embedded databases are copied from instead of running initdb. */
  pgliteTemplateDir: string | undefined;
  /** A real Postgres server; when absent the platform database is embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Prefix of this deployment's Redis channels (ATRIUM_PUBSUB_NAMESPACE; default derived from the database). */
  pubsubNamespace: string | undefined;
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
  /** Outbound requests to user-supplied URLs may reach loopback/private addresses (tests, local dev only). */
  allowPrivateOutbound: boolean;
  /** Names this process in leases and run ownership (jobs, runtime); unique per instance. */
  instanceId: string;
  /** 32-byte key sealing secrets at rest (AES-256-GCM); absent: generated once in dataDir. */
  secretKey: string | undefined;
  /** The durable job runner of this process (docs/jobs.md). */
  jobs: JobsConfig;
  /** GraphQL's self-protection: limits, introspection, suggestions, trusted documents (ATRIUM_GRAPHQL_*). */
  graphql: GraphQLProtectionConfig;
  /** A bearer that may read /metrics besides the admin key (ATRIUM_METRICS_TOKEN); absent: admin key only. */
  metricsToken: string | undefined;
  /** Each module's parsed configuration, by module name (read by the module's `create`). */
  modules: Readonly<Record<string, unknown>>;
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

/**
 * Typed reads of environment variables that record problems instead of throwing, so that start-up lists every
 * problem at once. Core and every module's `config` read through one reader.
 */
export interface EnvReader {
  /** The trimmed value; undefined when unset or empty. */
  str(name: string): string | undefined;
  int(name: string, fallback: number, min: number, max: number): number;
  /** `true`/`false` (also 1/0, yes/no); anything else is a problem. */
  bool(name: string, fallback: boolean): boolean;
  /** A URL whose protocol is one of `protocols` (e.g. `['postgres:', 'postgresql:']`). */
  url(name: string, protocols: string[]): string | undefined;
  /** Records a problem found while interpreting values (cross-field checks). */
  problem(message: string): void;
}

export function createEnvReader(env: Env, problems: string[]): EnvReader {
  const str = (name: string) => {
    const v = env[name]?.trim();
    return v === '' ? undefined : v;
  };
  return {
    str,
    int(name, fallback, min, max) {
      const raw = str(name);
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) {
        problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
        return fallback;
      }
      return n;
    },
    bool(name, fallback) {
      const raw = str(name)?.toLowerCase();
      if (raw === undefined) return fallback;
      if (['true', '1', 'yes'].includes(raw)) return true;
      if (['false', '0', 'no'].includes(raw)) return false;
      problems.push(`${name} must be true or false (got "${raw}")`);
      return fallback;
    },
    url(name, protocols) {
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
    },
    problem(message) {
      problems.push(message);
    },
  };
}

/** A module as configuration sees it: its name and how it reads its own variables. */
export interface ConfigurableModule {
  name: string;
  config?(env: EnvReader): unknown;
}

/**
 * Reads and validates the core configuration and that of every module given; throws ConfigError listing every
 * problem at once.
 */
export function parseConfig(env: Env, modules: readonly ConfigurableModule[]): Config {
  const problems: string[] = [];
  const read = createEnvReader(env, problems);
  const { str, int, url } = read;

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
  // ATRIUM_POLYKOMOS_SECRET_KEY is the variable's name from before the key sealed more than Polykomos' secrets.
  const secretKeyName = str('ATRIUM_SECRET_KEY') !== undefined ? 'ATRIUM_SECRET_KEY' : 'ATRIUM_POLYKOMOS_SECRET_KEY';
  const secretKey = str(secretKeyName);
  if (secretKey !== undefined && decodeKey(secretKey) === undefined) {
    problems.push(`${secretKeyName} must be 32 bytes, as 64 hex characters or base64`);
  }

  const logLevel = str('LOG_LEVEL') ?? (nodeEnv === 'test' ? 'warn' : 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`);
  }
  const dataDir = path.resolve(str('ATRIUM_DATA_DIR') ?? '.atrium');

  const metricsToken = str('ATRIUM_METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 32) {
    problems.push('ATRIUM_METRICS_TOKEN must be at least 32 characters');
  }

  const namespace = str('ATRIUM_PUBSUB_NAMESPACE');
  if (namespace !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(namespace)) {
    problems.push('ATRIUM_PUBSUB_NAMESPACE must be 1-64 letters, digits, _ . : or -');
  }

  const moduleConfigs: Record<string, unknown> = {};
  for (const m of modules) if (m.config) moduleConfigs[m.name] = m.config(read);

  const config: Config = {
    nodeEnv: nodeEnv ?? 'development',
    host: str('HOST') ?? '127.0.0.1',
    port: int('PORT', 4000, 0, 65535),
    dataDir,
    pgliteTemplateDir: str('ATRIUM_PGLITE_TEMPLATE_DIR'),
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    pubsubNamespace: str('ATRIUM_PUBSUB_NAMESPACE'),
    s3,
    s3Bucket,
    adminKey,
    jwtKeys,
    jwtIssuer: str('ATRIUM_JWT_ISSUER') ?? 'atrium',
    maxBodyBytes: int('ATRIUM_MAX_BODY_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    logLevel,
    graphiql: read.bool('ATRIUM_GRAPHIQL', true),
    shutdownGraceMs: int('ATRIUM_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    allowPrivateOutbound: read.bool('ATRIUM_ALLOW_PRIVATE_OUTBOUND', false),
    instanceId: str('ATRIUM_INSTANCE_ID') ?? `${os.hostname()}:${dataDir}`,
    secretKey,
    jobs: parseJobsConfig(env, problems),
    graphql: parseGraphQLProtectionConfig(read, nodeEnv === 'production'),
    metricsToken,
    modules: moduleConfigs,
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
