import path from 'node:path';
import { type AthenaClient, Prisma } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import type { AppPubSub } from '../../core/pubsub.ts';
import type { DatabasesService } from '../databases/databases.service.ts';
import { requireAdmin } from './athena.access.ts';
import { type AthenaConfig, clientNamePattern } from './athena.config.ts';
import {
  AthenaConflictError,
  AthenaInvalidInputError,
  AthenaNotFoundError,
  ClientUnavailableError,
  UnknownClientError,
} from './athena.errors.ts';
import { OpenedSecrets } from './opened-secrets.ts';
import { type ClientDatabase, ClientPools, type ClientTarget, type PoolStats } from './pools.ts';

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

const envVarPattern = /^[A-Z_][A-Z0-9_]{0,127}$/;
const cacheTtlMs = 5_000;

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

/**
 * The client catalog (G5): clients `X-Athena-Client` names, their sealed connection URIs, one pool each, and the
 * default local client. Reads on the request path go through a short cache that every instance drops when a
 * client changes (`athena.clientChanged`).
 */
export class AthenaClientsService {
  readonly pools: ClientPools;
  private readonly cache = new Map<string, { row: AthenaClient | null; at: number }>();
  /** Connection URIs opened once per sealed value (the request path resolves one per request). */
  private readonly uris: OpenedSecrets;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      box: SecretBox;
      logger: Logger;
      pubsub: AppPubSub;
      config: AthenaConfig;
      dataDir: string;
      databases: DatabasesService;
    },
  ) {
    this.uris = new OpenedSecrets((sealed) => deps.box.open(sealed));
    this.pools = new ClientPools({
      logger: deps.logger,
      poolMax: deps.config.poolMax,
      statementTimeoutMs: deps.config.statementTimeoutMs,
    });
  }

  /** Whether gateway routes require a key (ATRIUM_ATHENA_ENFORCE_API_KEYS). */
  get enforceApiKeys(): boolean {
    return this.deps.config.enforceApiKeys;
  }

  async start(): Promise<void> {
    void (async () => {
      for await (const { clientName } of this.deps.pubsub.subscribe('athena.clientChanged')) {
        this.cache.delete(clientName);
        this.uris.clear();
      }
    })().catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'athena client watch ended'));
    await this.ensureLocalClient();
  }

  close(): Promise<void> {
    return this.pools.close();
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
    const client = await this.find(clientName);
    if (!client) throw new UnknownClientError(clientName);
    if (client.isFrozen) throw new ClientUnavailableError(clientName, 'frozen');
    if (!client.isActive) throw new ClientUnavailableError(clientName, 'inactive');
    const target = this.target(client);
    if (!target) throw new ClientUnavailableError(clientName, 'unconfigured');
    try {
      return { client, db: await this.pools.get(clientName, target) };
    } catch (err) {
      this.deps.logger.warn({ client: clientName, err: (err as Error).message }, 'athena client pool failed');
      throw new ClientUnavailableError(clientName, 'unreachable');
    }
  }

  private target(client: AthenaClient): ClientTarget | undefined {
    if (client.pgUriEnc) return { kind: 'uri', uri: this.uris.get(client.pgUriEnc) };
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

  async create(principal: Principal, input: SaveClientInput): Promise<ClientView> {
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
      return this.view(row, false);
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new AthenaConflictError(`client "${input.clientName}" already exists`);
      }
      throw err;
    }
  }

  async update(principal: Principal, clientName: string, input: UpdateClientInput): Promise<ClientView> {
    requireAdmin(principal);
    const row = await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } });
    if (!row) throw new AthenaNotFoundError('client', clientName);
    if (input.clientName !== undefined && !clientNamePattern.test(input.clientName)) {
      throw new AthenaInvalidInputError('client_name must be 1-63 lowercase letters, digits, _ or -');
    }
    const uri = this.checkConnection(input);
    try {
      const updated = await this.deps.prisma.athenaClient.update({
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
      // A changed URI or name rebuilds the pool on next use.
      if (uri !== undefined || input.pgUriEnvVar !== undefined || updated.clientName !== clientName) {
        await this.pools.evict(clientName);
      }
      await this.changed(clientName);
      if (updated.clientName !== clientName) await this.changed(updated.clientName);
      return this.view(updated, false);
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new AthenaConflictError(`client "${input.clientName}" already exists`);
      }
      throw err;
    }
  }

  async delete(principal: Principal, clientName: string): Promise<ClientView> {
    requireAdmin(principal);
    const row = await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } });
    if (!row) throw new AthenaNotFoundError('client', clientName);
    const deleted = await this.deps.prisma.athenaClient.update({
      where: { id: row.id },
      data: { deletedAt: new Date(), isActive: false },
    });
    await this.pools.evict(clientName);
    await this.changed(clientName);
    return this.view(deleted, false);
  }

  async freeze(principal: Principal, clientName: string, isFrozen: boolean): Promise<ClientView> {
    requireAdmin(principal);
    const row = await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } });
    if (!row) throw new AthenaNotFoundError('client', clientName);
    const updated = await this.deps.prisma.athenaClient.update({ where: { id: row.id }, data: { isFrozen } });
    await this.changed(clientName);
    return this.view(updated, false);
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

  private async changed(clientName: string): Promise<void> {
    this.cache.delete(clientName);
    this.deps.pubsub.publish('athena.clientChanged', { clientName });
  }
}
