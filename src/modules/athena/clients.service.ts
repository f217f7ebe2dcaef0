import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type AthenaClient, type AthenaClientConfig, Prisma } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import { AuthorizationError, DomainError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { AppPubSub } from '../../core/pubsub.ts';
import type { DatabasesService } from '../databases/databases.service.ts';
import type { PolykomosService } from '../polykomos/polykomos.service.ts';
import { requireAdmin } from './athena.access.ts';
import { type AthenaConfig, clientNamePattern } from './athena.config.ts';
import {
  AthenaConflictError,
  AthenaError,
  AthenaInvalidInputError,
  AthenaNotFoundError,
  ClientUnavailableError,
  UnknownClientError,
} from './athena.errors.ts';
import { checkDirectUri, type DirectUriPolicy } from './direct-uri.ts';
import type { ApiKeyEnforcement } from './enforcement.ts';
import { OpenedSecrets } from './opened-secrets.ts';
import { type ClientDatabase, ClientPools, type ClientTarget, DirectPools, type PoolStats } from './pools.ts';

export interface SaveClientInput {
  clientName: string;
  description?: string | null;
  pgUri?: string | null;
  pgUriEnvVar?: string | null;
  isActive?: boolean;
  metadata?: Record<string, unknown>;
}

export interface UpdateClientInput {
  /** A new name (rename). */
  clientName?: string;
  description?: string | null;
  pgUri?: string | null;
  pgUriEnvVar?: string | null;
  isActive?: boolean;
  metadata?: Record<string, unknown>;
}

/** A catalog row as callers see it: the URI redacted unless revealed to the admin. */
export interface ClientView extends Omit<AthenaClient, 'pgUriEnc'> {
  pgUri: string | null;
}

export interface RuntimeClientView {
  clientName: string;
  source: string;
  description: string | null;
  pgUri: string | null;
  pgUriEnvVar: string | null;
  configUriTemplate: string | null;
  isActive: boolean;
  isFrozen: boolean;
  poolConnected: boolean;
}

/** Direct-URI pools kept open at most (least recently used closed first). */
const directPoolsMax = 16;
const envVarPattern = /^[A-Z_][A-Z0-9_]{0,127}$/;
const cacheTtlMs = 5_000;
const seenIntervalMs = 60_000;

/** `postgres://user:***@host/db`: the password never leaves unless revealed. */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '***';
  }
}

/** `postgres(ql)://` or `jdbc:postgresql://host/db?user=..&password=..` → a `postgres://` URI, or undefined. */
export function normalisePostgresUri(raw: string): string | undefined {
  let text = raw.trim();
  if (text.startsWith('jdbc:')) text = text.slice(5);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') return undefined;
  if (!u.hostname) return undefined;
  const user = u.searchParams.get('user');
  const password = u.searchParams.get('password');
  if (user && !u.username) {
    u.username = encodeURIComponent(user);
    u.searchParams.delete('user');
  }
  if (password && !u.password) {
    u.password = encodeURIComponent(password);
    u.searchParams.delete('password');
  }
  return u.toString().replace(/^postgresql:/, 'postgres:');
}

export interface ClientConfigInput {
  /** The override object (resilience, admission, insert windows, feature flags …). */
  config: unknown;
  metadata?: unknown;
}

export interface LinkPolykomosInput {
  databaseUuid: string;
  clientName: string;
  description?: string | null;
}

/** What `seedFromConfig` wrote: the clients created or refreshed, the configs upserted, names left alone. */
export interface SeedResult {
  clients: AthenaClient[];
  configs: AthenaClientConfig[];
  /** Clients of the file whose name a non-config client already holds. */
  skipped: string[];
}

interface SeedClient {
  clientName: string;
  pgUri: string | null;
  pgUriEnvVar: string | null;
  description: string | null;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkClientName(name: string): void {
  if (!clientNamePattern.test(name)) {
    throw new AthenaInvalidInputError('client_name must be 1-63 lowercase letters, digits, _ or -');
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkJsonObject(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw new AthenaInvalidInputError(`${field} must be a JSON object`);
}

const optionalString = (v: unknown, field: string): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new AthenaInvalidInputError(`config file: ${field} must be a string`);
  return v;
};

/** The seed file's clients and configs, checked; a malformed file is a 400 naming the offending entry. */
export function parseSeedFile(text: string): { clients: SeedClient[]; configs: [string, Record<string, unknown>][] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new AthenaInvalidInputError('the Athena config file is not valid JSON');
  }
  if (!isPlainObject(doc)) throw new AthenaInvalidInputError('the Athena config file must hold a JSON object');
  const rawClients = doc.clients ?? [];
  if (!Array.isArray(rawClients)) throw new AthenaInvalidInputError('config file: clients must be an array');
  const clients = rawClients.map((c: unknown, i): SeedClient => {
    if (!isPlainObject(c)) throw new AthenaInvalidInputError(`config file: clients[${i}] must be an object`);
    const clientName = optionalString(c.client_name, `clients[${i}].client_name`);
    if (clientName === null || !clientNamePattern.test(clientName)) {
      throw new AthenaInvalidInputError(`config file: clients[${i}].client_name is not a client name`);
    }
    const pgUri = optionalString(c.pg_uri, `clients[${i}].pg_uri`);
    const pgUriEnvVar = optionalString(c.pg_uri_env_var, `clients[${i}].pg_uri_env_var`);
    if (pgUri === null && pgUriEnvVar === null) {
      throw new AthenaInvalidInputError(`config file: clients[${i}] needs pg_uri or pg_uri_env_var`);
    }
    return { clientName, pgUri, pgUriEnvVar, description: optionalString(c.description, `clients[${i}].description`) };
  });
  const names = new Set<string>();
  for (const c of clients) {
    if (names.has(c.clientName)) throw new AthenaInvalidInputError(`config file: client "${c.clientName}" twice`);
    names.add(c.clientName);
  }
  const rawConfigs = doc.client_config ?? {};
  if (!isPlainObject(rawConfigs)) throw new AthenaInvalidInputError('config file: client_config must be an object');
  const configs = Object.entries(rawConfigs).map(([name, config]): [string, Record<string, unknown>] => {
    if (!clientNamePattern.test(name)) throw new AthenaInvalidInputError(`config file: "${name}" is not a client name`);
    if (!isPlainObject(config))
      throw new AthenaInvalidInputError(`config file: client_config.${name} must be an object`);
    return [name, config];
  });
  return { clients, configs };
}

/**
 * The client catalog (G5): clients `X-Athena-Client` names, their sealed connection URIs, one pool each, and the
 * default local client. Reads on the request path go through a short cache that every instance drops when a
 * client changes (`athena.clientChanged`).
 */
export class AthenaClientsService {
  readonly pools: ClientPools;
  private readonly cache = new Map<string, { row: AthenaClient | null; at: number }>();
  /** When this process last recorded `last_seen_at`, by client id. */
  private readonly seen = new Map<string, number>();
  /** Connection URIs opened once per sealed value (the request path resolves one per request). */
  private readonly uris: OpenedSecrets;

  constructor(
    private readonly deps: {
      /** The API-key enforcement switch (G4); without it, the configured default. */
      enforcement?: ApiKeyEnforcement;
      prisma: PrismaClient;
      box: SecretBox;
      logger: Logger;
      pubsub: AppPubSub;
      config: AthenaConfig;
      dataDir: string;
      /** Where new embedded client databases are copied from (core config `pgliteTemplateDir`). */
      pgliteTemplateDir?: string;
      databases: DatabasesService;
      /** Polykomos' databases, for linking one as a client (one credential, two products). */
      polykomos?: PolykomosService;
      /** The outbound guard's switch for loopback/private addresses (direct URIs). */
      allowPrivateOutbound?: boolean;
      /** The platform database's URL: its login is never usable as a direct URI. */
      platformDatabaseUrl?: string;
    },
  ) {
    this.uris = new OpenedSecrets((sealed) => deps.box.open(sealed));
    this.pools = new ClientPools({
      logger: deps.logger,
      poolMax: deps.config.poolMax,
      statementTimeoutMs: deps.config.statementTimeoutMs,
      pgliteTemplateDir: deps.pgliteTemplateDir,
    });
    this.directPools = new DirectPools({
      logger: deps.logger,
      max: directPoolsMax,
      poolMax: Math.min(deps.config.poolMax, 4),
      statementTimeoutMs: deps.config.statementTimeoutMs,
    });
  }

  /** Pools of direct URIs (a bounded LRU). */
  readonly directPools: DirectPools;

  /** What direct URIs are checked against (docs/athena.md, Direct URIs). */
  private directPolicy(): DirectUriPolicy {
    const logins: { host: string; port: number; user: string }[] = [];
    const admin = this.deps.databases.adminLogin('postgres');
    if (admin) logins.push(admin);
    if (this.deps.platformDatabaseUrl) {
      const u = new URL(this.deps.platformDatabaseUrl);
      logins.push({
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port ? Number(u.port) : 5432,
        user: decodeURIComponent(u.username),
      });
    }
    return {
      hosts: this.deps.config.directUriHosts,
      allowPrivate: this.deps.allowPrivateOutbound === true,
      serverLogins: logins,
    };
  }

  /**
   * The database behind a direct URI, after every check of `checkDirectUri` (403/401/400); 503 when its server
   * cannot be reached or refuses the login (one message for both: this is no oracle for credentials).
   */
  async direct(uri: string): Promise<{ name: string; db: ClientDatabase }> {
    const checked = await checkDirectUri(uri, this.directPolicy());
    const name = `direct:${createHash('sha256').update(checked.key).digest('hex').slice(0, 16)}`;
    try {
      return { name, db: await this.directPools.get(name, checked.key, checked.connection) };
    } catch (err) {
      this.deps.logger.warn({ target: checked.label, err: (err as Error).message }, 'athena direct URI failed');
      throw new AthenaError(
        'direct_uri_unreachable',
        503,
        `The database of the direct URI (${checked.label}) cannot be reached with these credentials`,
      );
    }
  }

  /**
   * Whether requests for a client must carry a key: its per-client override, else the global switch (else
   * ATRIUM_ATHENA_ENFORCE_API_KEYS). Read in memory (enforcement.ts).
   */
  enforces(clientName?: string): boolean {
    return this.deps.enforcement?.enforces(clientName) ?? this.deps.config.enforceApiKeys;
  }

  async start(): Promise<void> {
    void (async () => {
      for await (const { clientName } of this.deps.pubsub.subscribe('athena.clientChanged')) {
        this.cache.delete(clientName);
        this.uris.clear();
      }
    })().catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'athena client watch ended'));
    await this.ensureLocalClientSafely();
  }

  async close(): Promise<void> {
    await Promise.all([this.pools.close(), this.directPools.close()]);
  }

  private localAttemptAt = 0;

  /**
   * The default client, without failing start-up: a Postgres server that cannot be reached now (a restart, a
   * misconfiguration) is logged, and the client is made on a later request for it (at most every 10 s).
   */
  private async ensureLocalClientSafely(): Promise<boolean> {
    if (Date.now() - this.localAttemptAt < 10_000) return false;
    this.localAttemptAt = Date.now();
    try {
      await this.ensureLocalClient();
      return true;
    } catch (err) {
      this.deps.logger.warn(
        { client: this.deps.config.localClient, err: (err as Error).message },
        'athena default client could not be created yet',
      );
      return false;
    }
  }

  /**
   * The default client: a database on the configured Postgres server (made once, its URI sealed in the catalog),
   * or an embedded PGlite under the data dir. Created on first start only; deleting it keeps it deleted.
   */
  private async ensureLocalClient(): Promise<void> {
    const name = this.deps.config.localClient;
    if (!name) return;
    const existing = await this.deps.prisma.athenaClient.findFirst({ where: { clientName: name } });
    if (existing) return;
    const { databases } = this.deps;
    let data: Prisma.AthenaClientCreateInput;
    if (databases.isAvailable('postgres')) {
      const credentials = databases.generateCredentials('athena');
      await databases.ensure('postgres', credentials, null);
      const { host, port } = databases.endpoint('postgres');
      const uri = `postgres://${encodeURIComponent(credentials.role)}:${encodeURIComponent(credentials.password)}@${host}:${port}/${credentials.database}`;
      data = {
        clientName: name,
        description: 'Default client: a database on the configured Postgres server',
        source: 'provisioned',
        pgUriEnc: this.deps.box.seal(uri),
      };
    } else {
      data = {
        clientName: name,
        description: 'Default client: an embedded PostgreSQL (PGlite) under the data dir',
        source: 'embedded',
      };
    }
    try {
      await this.deps.prisma.athenaClient.create({ data });
      this.deps.logger.info({ client: name, source: data.source }, 'athena default client created');
    } catch (err) {
      // Another instance created it first.
      if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
    }
  }

  /** The live catalog row of `clientName`, cached briefly; null when there is none. */
  async find(clientName: string): Promise<AthenaClient | null> {
    const hit = this.cache.get(clientName);
    if (hit && Date.now() - hit.at < cacheTtlMs) return hit.row;
    const row = clientNamePattern.test(clientName)
      ? await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } })
      : null;
    this.cache.set(clientName, { row, at: Date.now() });
    return row;
  }

  /** The database behind `X-Athena-Client`, for the gateway: 400 unknown, 503 frozen/inactive/unconfigured. */
  async database(clientName: string | undefined): Promise<{ client: AthenaClient; db: ClientDatabase }> {
    if (!clientName) throw new UnknownClientError(undefined);
    let client = await this.find(clientName);
    if (!client && clientName === this.deps.config.localClient && (await this.ensureLocalClientSafely())) {
      this.cache.delete(clientName);
      client = await this.find(clientName);
    }
    if (!client) throw new UnknownClientError(clientName);
    if (client.isFrozen) throw new ClientUnavailableError(clientName, 'frozen');
    if (!client.isActive) throw new ClientUnavailableError(clientName, 'inactive');
    const target = this.target(client);
    if (!target) throw new ClientUnavailableError(clientName, 'unconfigured');
    try {
      const db = await this.pools.get(clientName, target);
      this.touch(client);
      return { client, db };
    } catch (err) {
      this.deps.logger.warn({ client: clientName, err: (err as Error).message }, 'athena client pool failed');
      throw new ClientUnavailableError(clientName, 'unreachable');
    }
  }

  /**
   * Records `last_seen_at`, at most once a minute per client and process, off the request path. Raw SQL so that
   * `updated_at` keeps meaning "the catalog entry changed".
   */
  private touch(client: AthenaClient): void {
    const now = Date.now();
    const last = Math.max(this.seen.get(client.id) ?? 0, client.lastSeenAt?.getTime() ?? 0);
    if (now - last < seenIntervalMs) return;
    this.seen.set(client.id, now);
    void this.deps.prisma
      .$executeRaw`UPDATE athena_clients SET last_seen_at = now() WHERE id = ${client.id}::uuid`.catch((err: Error) =>
      this.deps.logger.warn({ client: client.clientName, err: err.message }, 'athena last_seen_at'),
    );
  }

  private target(client: AthenaClient): ClientTarget | undefined {
    if (client.pgUriEnc) {
      try {
        return { kind: 'uri', uri: this.uris.get(client.pgUriEnc) };
      } catch (err) {
        // Sealed under another ATRIUM_SECRET_KEY (instances that do not share it) or damaged: an operator's problem,
        // said as such — the client is unusable here, not the request malformed.
        this.deps.logger.error(
          { client: client.clientName, err: (err as Error).message },
          'athena client URI cannot be opened with this secret key',
        );
        throw new AthenaError(
          'client_unreachable',
          503,
          `The connection URI of client '${client.clientName}' cannot be opened on this server (its secret key differs)`,
        );
      }
    }
    if (client.pgUriEnvVar) {
      const raw = process.env[client.pgUriEnvVar];
      const uri = raw ? normalisePostgresUri(raw) : undefined;
      return uri ? { kind: 'uri', uri } : undefined;
    }
    if (client.source === 'embedded') {
      return { kind: 'embedded', dir: path.join(this.deps.dataDir, 'athena', 'clients', client.id) };
    }
    return undefined;
  }

  view(client: AthenaClient, reveal: boolean): ClientView {
    const { pgUriEnc, ...rest } = client;
    const uri = pgUriEnc ? this.deps.box.open(pgUriEnc) : null;
    return { ...rest, pgUri: uri === null ? null : reveal ? uri : redactUri(uri) };
  }

  async list(principal: Principal, options: { reveal?: boolean } = {}): Promise<ClientView[]> {
    requireAdmin(principal);
    const rows = await this.deps.prisma.athenaClient.findMany({
      where: { deletedAt: null },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map((r) => this.view(r, options.reveal === true));
  }

  async runtime(principal: Principal): Promise<RuntimeClientView[]> {
    const clients = await this.list(principal);
    const built = new Set(this.pools.names());
    return clients.map((c) => ({
      clientName: c.clientName,
      source: c.source,
      description: c.description,
      pgUri: c.pgUri,
      pgUriEnvVar: c.pgUriEnvVar,
      configUriTemplate: c.configUriTemplate,
      isActive: c.isActive,
      isFrozen: c.isFrozen,
      poolConnected: built.has(c.clientName),
    }));
  }

  async get(principal: Principal, clientName: string, options: { reveal?: boolean } = {}): Promise<ClientView> {
    requireAdmin(principal);
    const row = await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } });
    if (!row) throw new AthenaNotFoundError('client', clientName);
    return this.view(row, options.reveal === true);
  }

  private checkConnection(input: { pgUri?: string | null; pgUriEnvVar?: string | null }): string | null | undefined {
    if (input.pgUriEnvVar !== undefined && input.pgUriEnvVar !== null && !envVarPattern.test(input.pgUriEnvVar)) {
      throw new AthenaInvalidInputError('pg_uri_env_var must be an environment variable name (A-Z, 0-9, _)');
    }
    if (input.pgUri === undefined || input.pgUri === null) return input.pgUri;
    const uri = normalisePostgresUri(input.pgUri);
    if (!uri) throw new AthenaInvalidInputError('pg_uri must be a postgres:// (or jdbc:postgresql://) URI with a host');
    return uri;
  }

  async create(principal: Principal, input: SaveClientInput): Promise<AthenaClient> {
    requireAdmin(principal);
    if (!clientNamePattern.test(input.clientName)) {
      throw new AthenaInvalidInputError('client_name must be 1-63 lowercase letters, digits, _ or -');
    }
    const uri = this.checkConnection(input);
    if (!uri && !input.pgUriEnvVar) throw new AthenaInvalidInputError('pg_uri or pg_uri_env_var is required');
    try {
      const row = await this.deps.prisma.athenaClient.create({
        data: {
          clientName: input.clientName,
          description: input.description ?? null,
          pgUriEnc: uri ? this.deps.box.seal(uri) : null,
          pgUriEnvVar: input.pgUriEnvVar ?? null,
          isActive: input.isActive ?? true,
          source: 'catalog',
          metadata: (input.metadata ?? {}) as Prisma.InputJsonValue,
        },
      });
      await this.changed(row.clientName);
      return row;
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new AthenaConflictError(`client "${input.clientName}" already exists`);
      }
      throw err;
    }
  }

  async update(principal: Principal, clientName: string, input: UpdateClientInput): Promise<AthenaClient> {
    requireAdmin(principal);
    const row = await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } });
    if (!row) throw new AthenaNotFoundError('client', clientName);
    if (input.clientName !== undefined && !clientNamePattern.test(input.clientName)) {
      throw new AthenaInvalidInputError('client_name must be 1-63 lowercase letters, digits, _ or -');
    }
    const uri = this.checkConnection(input);
    const renamed = input.clientName !== undefined && input.clientName !== clientName ? input.clientName : undefined;
    try {
      const updated = await this.deps.prisma.$transaction(async (tx) => {
        const updatedRow = await tx.athenaClient.update({
          where: { id: row.id },
          data: {
            ...(input.clientName !== undefined ? { clientName: input.clientName } : {}),
            ...(input.description !== undefined ? { description: input.description } : {}),
            ...(uri !== undefined ? { pgUriEnc: uri === null ? null : this.deps.box.seal(uri) } : {}),
            ...(input.pgUriEnvVar !== undefined ? { pgUriEnvVar: input.pgUriEnvVar } : {}),
            ...(input.isActive !== undefined ? { isActive: input.isActive } : {}),
            ...(input.metadata !== undefined ? { metadata: input.metadata as Prisma.InputJsonValue } : {}),
          },
        });
        // What names the client follows the rename: otherwise a later client taking the old name would inherit
        // its routes. Its config override moves too, unless the new name already has one.
        if (renamed !== undefined) await this.carryName(tx, clientName, renamed);
        return updatedRow;
      });
      // A changed URI or name rebuilds the pool on next use.
      if (uri !== undefined || input.pgUriEnvVar !== undefined || updated.clientName !== clientName) {
        await this.pools.evict(clientName);
      }
      await this.changed(clientName);
      if (updated.clientName !== clientName) await this.changed(updated.clientName);
      return updated;
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new AthenaConflictError(`client "${input.clientName}" already exists`);
      }
      throw err;
    }
  }

  private async carryName(tx: Prisma.TransactionClient, from: string, to: string): Promise<void> {
    await tx.athenaPublicRoute.updateMany({ where: { clientName: from }, data: { clientName: to } });
    await tx.athenaServiceRoute.updateMany({ where: { clientName: from }, data: { clientName: to } });
    await tx.athenaTenantHostname.updateMany({ where: { clientName: from }, data: { clientName: to } });
    const target = await tx.athenaClientConfig.findUnique({ where: { clientName: to }, select: { clientName: true } });
    if (!target) await tx.athenaClientConfig.updateMany({ where: { clientName: from }, data: { clientName: to } });
  }

  async delete(principal: Principal, clientName: string): Promise<AthenaClient> {
    requireAdmin(principal);
    const row = await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } });
    if (!row) throw new AthenaNotFoundError('client', clientName);
    // Its routes stop answering with it: the name is free, and a later client of that name must not inherit live
    // aliases. They are kept (inactive) for the record; the admin may repoint or delete them.
    const deleted = await this.deps.prisma.$transaction(async (tx) => {
      await tx.athenaPublicRoute.updateMany({ where: { clientName }, data: { isActive: false } });
      await tx.athenaServiceRoute.updateMany({ where: { clientName }, data: { isActive: false } });
      return tx.athenaClient.update({ where: { id: row.id }, data: { deletedAt: new Date(), isActive: false } });
    });
    await this.pools.evict(clientName);
    await this.changed(clientName);
    return deleted;
  }

  async freeze(principal: Principal, clientName: string, isFrozen: boolean): Promise<AthenaClient> {
    requireAdmin(principal);
    const row = await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } });
    if (!row) throw new AthenaNotFoundError('client', clientName);
    const updated = await this.deps.prisma.athenaClient.update({ where: { id: row.id }, data: { isFrozen } });
    await this.changed(clientName);
    return updated;
  }

  /** Pool statistics of every client whose database has been opened. */
  async poolStats(principal: Principal): Promise<PoolStats[]> {
    requireAdmin(principal);
    const out: PoolStats[] = [];
    for (const name of this.pools.names()) {
      const db = await this.pools.peek(name);
      if (db) out.push(db.stats());
    }
    return out;
  }

  /** Names of the live clients (all are Postgres-backed: PGlite is Postgres). */
  async names(principal: Principal): Promise<string[]> {
    return (await this.list(principal)).map((c) => c.clientName);
  }

  /** The live catalog rows, oldest first (GraphQL resolves fields, the URI among them, from rows). */
  async rows(principal: Principal): Promise<AthenaClient[]> {
    requireAdmin(principal);
    return this.deps.prisma.athenaClient.findMany({
      where: { deletedAt: null },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  /** One live catalog row by name; 404 when there is none. */
  async row(principal: Principal, clientName: string): Promise<AthenaClient> {
    requireAdmin(principal);
    const row = clientNamePattern.test(clientName)
      ? await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } })
      : null;
    if (!row) throw new AthenaNotFoundError('client', clientName);
    return row;
  }

  /** A row by its id (deleted ones included: `node(id)` of a deleted client still shows its tombstone). */
  async rowById(principal: Principal, id: string): Promise<AthenaClient | null> {
    requireAdmin(principal);
    if (!uuidPattern.test(id)) return null;
    return this.deps.prisma.athenaClient.findUnique({ where: { id } });
  }

  /** The row's URI: redacted, or in clear for the admin when `reveal` is asked. */
  uriOf(principal: Principal, client: AthenaClient, reveal: boolean): string | null {
    if (reveal) requireAdmin(principal);
    return this.view(client, reveal).pgUri;
  }

  /** Whether the client's pool (or embedded database) is built in this process. */
  poolConnected(clientName: string): boolean {
    return this.pools.names().includes(clientName);
  }

  /** Every per-client configuration override, by client name. */
  async configs(principal: Principal): Promise<AthenaClientConfig[]> {
    requireAdmin(principal);
    return this.deps.prisma.athenaClientConfig.findMany({ orderBy: { clientName: 'asc' } });
  }

  /** One client's override; 404 when it has none. */
  async config(principal: Principal, clientName: string): Promise<AthenaClientConfig> {
    requireAdmin(principal);
    const row = clientNamePattern.test(clientName)
      ? await this.deps.prisma.athenaClientConfig.findUnique({ where: { clientName } })
      : null;
    if (!row) throw new AthenaNotFoundError('client config', clientName);
    return row;
  }

  /**
   * Creates or replaces a client's override. The client need not exist yet: overrides, like the config file's,
   * may be staged before the client is registered.
   */
  async upsertConfig(principal: Principal, clientName: string, input: ClientConfigInput): Promise<AthenaClientConfig> {
    requireAdmin(principal);
    checkClientName(clientName);
    checkJsonObject(input.config, 'config');
    if (input.metadata !== undefined && input.metadata !== null) checkJsonObject(input.metadata, 'metadata');
    const data = {
      config: input.config as Prisma.InputJsonValue,
      metadata:
        input.metadata === undefined || input.metadata === null
          ? Prisma.DbNull
          : (input.metadata as Prisma.InputJsonValue),
    };
    return this.deps.prisma.athenaClientConfig.upsert({
      where: { clientName },
      create: { clientName, ...data },
      update: data,
    });
  }

  /** Removes a client's override (the client falls back to defaults); 404 when it had none. */
  async deleteConfig(principal: Principal, clientName: string): Promise<AthenaClientConfig> {
    const row = await this.config(principal, clientName);
    await this.deps.prisma.athenaClientConfig.delete({ where: { clientName: row.clientName } });
    return row;
  }

  /**
   * Seeds from `ATRIUM_ATHENA_CONFIG_FILE` (a JSON file `{clients: [...], client_config: {name: {...}}}`):
   * clients are created or refreshed with source `config` (a catalog, provisioned or embedded client of the same
   * name is left alone and reported as skipped), every `client_config` entry is upserted. Repeatable.
   */
  async seedFromConfig(principal: Principal): Promise<SeedResult> {
    requireAdmin(principal);
    const file = this.deps.config.configFile;
    if (!file) throw new AthenaInvalidInputError('no config file is configured (ATRIUM_ATHENA_CONFIG_FILE)');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      this.deps.logger.warn({ file, err: (err as Error).message }, 'athena config file unreadable');
      throw new AthenaInvalidInputError('the Athena config file cannot be read');
    }
    const seed = parseSeedFile(text);
    const now = new Date();
    const clients: AthenaClient[] = [];
    const skipped: string[] = [];
    // Every entry is checked before anything is written: a bad URI late in the file leaves the catalog unchanged.
    const checked = seed.clients.map((c) => ({
      ...c,
      uri: this.checkConnection({ pgUri: c.pgUri, pgUriEnvVar: c.pgUriEnvVar }),
    }));
    for (const c of checked) {
      const uri = c.uri;
      const existing = await this.deps.prisma.athenaClient.findFirst({
        where: { clientName: c.clientName, deletedAt: null },
      });
      if (existing && existing.source !== 'config') {
        skipped.push(c.clientName);
        continue;
      }
      const data = {
        description: c.description,
        pgUriEnc: uri ? this.deps.box.seal(uri) : null,
        pgUriEnvVar: c.pgUriEnvVar,
        lastSyncedFromConfigAt: now,
      };
      const row = existing
        ? await this.deps.prisma.athenaClient.update({ where: { id: existing.id }, data })
        : await this.deps.prisma.athenaClient.create({
            data: { ...data, clientName: c.clientName, source: 'config' },
          });
      // The URI may have changed: the next use builds the pool from the new one.
      if (existing) await this.pools.evict(c.clientName);
      await this.changed(c.clientName);
      clients.push(row);
    }
    const configs: AthenaClientConfig[] = [];
    for (const [clientName, config] of seed.configs) {
      configs.push(await this.upsertConfig(principal, clientName, { config }));
    }
    return { clients, configs, skipped };
  }

  /**
   * Makes a Polykomos database an Athena client (source `provisioned`): the same credential, sealed again here.
   * The caller must own the database (its Polykomos key, or the admin); one live client per database.
   */
  async linkPolykomosDatabase(principal: Principal, input: LinkPolykomosInput): Promise<AthenaClient> {
    const polykomos = this.deps.polykomos;
    if (!polykomos) throw new AthenaInvalidInputError('Polykomos is not part of this server');
    checkClientName(input.clientName);
    if (principal.kind === 'anonymous') throw new AuthorizationError('a credential is required', principal);
    let database: Awaited<ReturnType<PolykomosService['getDatabase']>>;
    try {
      database = await polykomos.getDatabase(principal, input.databaseUuid, 'databases:read');
    } catch (err) {
      if (err instanceof DomainError && err.httpStatus === 404) {
        throw new AthenaNotFoundError('polykomos database', input.databaseUuid);
      }
      if (err instanceof DomainError && (err.httpStatus === 401 || err.httpStatus === 403)) {
        throw new AuthorizationError(err.message, principal);
      }
      throw err;
    }
    if (database.dbType !== 'postgres') {
      throw new AthenaInvalidInputError('only a PostgreSQL database can become an Athena client');
    }
    if (database.status !== 'active') {
      throw new AthenaConflictError(`polykomos database "${database.uuid}" is ${database.status}, not active`);
    }
    const linked = await this.deps.prisma.athenaClient.findFirst({
      where: { polykomosDatabaseUuid: database.uuid, deletedAt: null },
      select: { clientName: true },
    });
    if (linked) {
      throw new AthenaConflictError(`polykomos database "${database.uuid}" is already client "${linked.clientName}"`);
    }
    const uri = new URL('postgres://placeholder/');
    uri.hostname = database.host;
    uri.port = String(database.port);
    uri.username = encodeURIComponent(database.dbUsername);
    uri.password = encodeURIComponent(polykomos.password(database));
    uri.pathname = `/${encodeURIComponent(database.dbName)}`;
    try {
      const row = await this.deps.prisma.athenaClient.create({
        data: {
          clientName: input.clientName,
          description: input.description ?? `Polykomos database ${database.name}`,
          pgUriEnc: this.deps.box.seal(uri.toString()),
          source: 'provisioned',
          polykomosDatabaseUuid: database.uuid,
        },
      });
      await this.changed(row.clientName);
      return row;
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new AthenaConflictError(`client "${input.clientName}" already exists`);
      }
      throw err;
    }
  }

  /** Records the catalog's metadata of a live client (tenant hostnames persisted in the catalog). */
  async setMetadata(
    principal: Principal,
    clientName: string,
    metadata: Record<string, unknown>,
  ): Promise<AthenaClient> {
    const row = await this.row(principal, clientName);
    const updated = await this.deps.prisma.athenaClient.update({
      where: { id: row.id },
      data: { metadata: metadata as Prisma.InputJsonValue },
    });
    await this.changed(clientName);
    return updated;
  }

  private async changed(clientName: string): Promise<void> {
    this.cache.delete(clientName);
    this.deps.pubsub.publish('athena.clientChanged', { clientName });
  }
}
