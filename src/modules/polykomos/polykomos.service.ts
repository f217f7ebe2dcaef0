import type { PolykomosDatabase } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import {
  defineJobKind,
  type JobContext,
  type JobKind,
  type JobRunner,
  PermanentJobError,
} from '../../core/jobs/runner.ts';
import type { Logger } from '../../core/logger.ts';
import { InvalidApiKeyInputError } from '../access/access.errors.ts';
import type { AccessService } from '../access/access.service.ts';
import { type DatabasesService, redact } from '../databases/databases.service.ts';
import type { PolykomosConfig } from './polykomos.config.ts';
import {
  insufficientScope,
  invalidParameter,
  notFound,
  PolykomosForbiddenError,
  PolykomosInvalidInputError,
  PolykomosNotFoundError,
  unprocessable,
} from './polykomos.errors.ts';
import { recordDatabaseEvent } from './webhook-events.ts';

export type PolykomosScope = 'databases:read' | 'databases:write' | 'queries:write';
export type DatabaseRow = PolykomosDatabase;

export interface KeyControls {
  requestsPerMinute: number;
  monthlyQuota: number | null;
  allowedIpList: string[];
  inactiveTtlDays: number | null;
}

export interface Account {
  ownerId: string;
  user: { name: string; email: string };
  apiKey: {
    name: string;
    preview: string;
    permissions: string[];
    status: 'active' | 'revoked' | 'expired';
    lastUsedAt: Date | null;
    controls: KeyControls;
  } | null;
}

export interface CreateDatabaseInput {
  name: string;
  dbType?: string | null;
  region?: string | null;
  plan?: string | null;
  teamId?: number | null;
  storageHardLimitGb?: number | null;
  connectionHardLimit?: number | null;
  warningThresholdPct?: number | null;
  blueprintUuid?: string | null;
}

export interface QuotaInput {
  storageHardLimitGb?: number | null;
  connectionHardLimit?: number | null;
  warningThresholdPct?: number | null;
}

export interface KeyControlsInput {
  userId?: string | null;
  userName?: string | null;
  userEmail?: string | null;
  requestsPerMinute?: number | null;
  monthlyQuota?: number | null;
  allowedIpList?: string[] | null;
  inactiveTtlDays?: number | null;
}

const namePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
const plans = ['free', 'launch', 'grow'] as const;
/** Databases (not deleted) one user may hold per plan. */
export const planDatabaseLimits: Record<(typeof plans)[number], number> = { free: 5, launch: 25, grow: 100 };
const maxConnectionLimit = 10_000;
const provisionAttempts = 3;

/** The payload of `polykomos.provision` and `polykomos.drop`: the row, never a secret. */
export interface ProvisionPayload {
  databaseId: number;
}

/** Polykomos: API-key controls and real database provisioning (docs/polykomos.md). One instance per app. */
export class PolykomosService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      config: PolykomosConfig;
      box: SecretBox;
      /** The engine servers (the `databases` module). */
      engines: DatabasesService;
      /** The durable job runner provisioning runs on (core). */
      jobs: JobRunner;
      /** Key controls live in the access module (docs/access.md); Polykomos reads and sets them for /me and admin. */
      access: AccessService;
    },
  ) {}

  /** Nothing to wait for: provisioning runs on the core job runner, which core closes first. */
  async close(): Promise<void> {}

  /** Sets a Polykomos key's user and controls (platform admin). Absent fields keep their value or default. */
  async setKeyControls(principal: Principal, apiKeyId: string, input: KeyControlsInput): Promise<Account> {
    if (principal.kind !== 'admin')
      throw new PolykomosForbiddenError('FORBIDDEN', 'Only the platform admin sets key controls');
    const key = isUuid(apiKeyId)
      ? await this.deps.prisma.apiKey.findUnique({ where: { id: apiKeyId }, select: { product: true, name: true } })
      : null;
    if (key?.product !== 'polykomos') throw new PolykomosNotFoundError('Unknown Polykomos API key');
    const owner = {
      ...(input.userId != null ? { userId: input.userId } : {}),
      ...(input.userName != null ? { userName: input.userName } : {}),
      ...(input.userEmail != null ? { userEmail: input.userEmail } : {}),
    };
    try {
      await this.deps.access.setKeyControls(principal, apiKeyId, {
        requestsPerMinute: input.requestsPerMinute,
        monthlyQuota: input.monthlyQuota,
        allowedIpList: input.allowedIpList,
        inactiveTtlDays: input.inactiveTtlDays,
      });
    } catch (err) {
      if (err instanceof InvalidApiKeyInputError) throw new PolykomosInvalidInputError(err.message);
      throw err;
    }
    await this.deps.prisma.polykomosKeyOwner.upsert({
      where: { apiKeyId },
      create: { apiKeyId, userId: `apikey:${apiKeyId}`, userName: key.name, userEmail: '', ...owner },
      update: owner,
    });
    return this.account({ kind: 'apiKey', id: apiKeyId, product: 'polykomos', name: key.name, scopes: [] });
  }

  /** Who the caller is: the key's user (controls row) or the key itself; the admin owns `admin`. */
  async account(principal: Principal): Promise<Account> {
    if (principal.kind === 'admin') return { ownerId: 'admin', user: { name: 'admin', email: '' }, apiKey: null };
    if (principal.kind === 'jwt') {
      return { ownerId: `jwt:${principal.id}`, user: { name: principal.id, email: '' }, apiKey: null };
    }
    if (principal.kind !== 'apiKey') throw new PolykomosForbiddenError('INVALID_API_KEY', 'Not a Polykomos credential');
    const [key, owner, controls] = await Promise.all([
      this.deps.prisma.apiKey.findUnique({
        where: { id: principal.id },
        select: { name: true, prefix: true, scopes: true, lastUsedAt: true, revokedAt: true, expiresAt: true },
      }),
      this.deps.prisma.polykomosKeyOwner.findUnique({ where: { apiKeyId: principal.id } }),
      this.deps.access.controlsOf(principal.id, 'polykomos'),
    ]);
    if (!key) throw new PolykomosForbiddenError('INVALID_API_KEY', 'Unknown API key');
    const status = key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt <= new Date() ? 'expired' : 'active';
    return {
      ownerId: owner?.userId ?? `apikey:${principal.id}`,
      user: { name: owner?.userName ?? key.name, email: owner?.userEmail ?? '' },
      apiKey: {
        name: key.name,
        preview: `${key.prefix}…`,
        permissions: [...key.scopes],
        status,
        lastUsedAt: key.lastUsedAt,
        controls: {
          // Never null for a Polykomos key: its default is 60 and setting controls keeps a value.
          requestsPerMinute: controls.requestsPerMinute ?? 60,
          monthlyQuota: controls.monthlyQuota,
          allowedIpList: controls.allowedIpList,
          inactiveTtlDays: controls.inactiveTtlDays,
        },
      },
    };
  }

  /** The engines and the region this server offers; unconfigured engines are listed as unavailable. */
  databaseTypes(principal: Principal) {
    requireScope(principal, 'databases:read');
    const region = this.deps.config.region;
    return (['postgres', 'mysql'] as const).map((value) => {
      const available = this.deps.engines.isAvailable(value);
      return {
        value,
        label: value === 'postgres' ? 'PostgreSQL' : 'MySQL',
        isProvisionable: available,
        isAvailable: available,
        regions: [{ code: region, label: region, isAvailable: available }],
      };
    });
  }

  /**
   * The caller's databases not deleted, newest first; `startingAfter` is the uuid of the previous page's last.
   * `totalCount` counts all of them (every page), read in the same transaction as the page.
   */
  async listDatabases(principal: Principal, limit: number, startingAfter?: string | null) {
    requireScope(principal, 'databases:read');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidParameter('limit must be 1..100');
    const owner = await this.ownerFilter(principal);
    let cursor: { createdAt: Date; id: number } | undefined;
    if (startingAfter) {
      const row = isUuid(startingAfter)
        ? await this.deps.prisma.polykomosDatabase.findFirst({
            where: { uuid: startingAfter, ...owner },
            select: { createdAt: true, id: true },
          })
        : null;
      if (!row) throw invalidParameter(`starting_after: unknown database "${startingAfter}"`);
      cursor = row;
    }
    const [rows, totalCount] = await this.deps.prisma.$transaction([
      this.deps.prisma.polykomosDatabase.findMany({
        where: {
          ...owner,
          status: { not: 'deleted' },
          ...(cursor
            ? {
                OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
              }
            : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      }),
      this.deps.prisma.polykomosDatabase.count({ where: { ...owner, status: { not: 'deleted' } } }),
    ]);
    return { items: rows.slice(0, limit), hasMore: rows.length > limit, totalCount };
  }

  /** One of the caller's databases; deleted ones are gone once destroyed (immediately, see docs). */
  async getDatabase(
    principal: Principal,
    uuid: string,
    scope: PolykomosScope = 'databases:read',
  ): Promise<DatabaseRow> {
    requireScope(principal, scope);
    if (!isUuid(uuid)) throw notFound(uuid);
    const row = await this.deps.prisma.polykomosDatabase.findFirst({
      where: { uuid, ...(await this.ownerFilter(principal)) },
    });
    if (!row) throw notFound(uuid);
    if (row.status === 'deleted' && (!row.destroyScheduledAt || row.destroyScheduledAt <= new Date())) {
      throw notFound(uuid);
    }
    return row;
  }

  /** The plaintext password of a database the caller may read. */
  password(row: DatabaseRow): string {
    return this.deps.box.open(row.dbPasswordEnc);
  }

  /**
   * Records a database and provisions it for real on the engine server; with `waitSeconds` > 0 waits up to that long
   * for it to become active. Throws 422s for unavailable engines/regions, taken names and plan limits.
   */
  async createDatabase(principal: Principal, input: CreateDatabaseInput, waitSeconds: number) {
    requireScope(principal, 'databases:write');
    const account = await this.account(principal);
    if (!namePattern.test(input.name)) {
      throw invalidParameter('name must match ^[a-z0-9][a-z0-9-]{0,62}$ (lowercase letters, digits, hyphens)');
    }
    const dbType = input.dbType ?? 'postgres';
    if (dbType !== 'postgres' && dbType !== 'mysql') {
      throw unprocessable('UNSUPPORTED_DB_TYPE', `db_type "${dbType}" is not supported (postgres, mysql)`);
    }
    const engines = this.deps.engines;
    if (!engines.isAvailable(dbType)) {
      throw unprocessable(
        'UNSUPPORTED_DB_TYPE',
        `db_type "${dbType}" is not available on this server (no ${dbType} server configured)`,
      );
    }
    const region = input.region ?? this.deps.config.region;
    if (region !== this.deps.config.region) {
      throw unprocessable(
        'REGION_UNAVAILABLE',
        `Region "${region}" is not available (available: ${this.deps.config.region})`,
      );
    }
    const plan = input.plan ?? 'free';
    if (!(plans as readonly string[]).includes(plan)) throw invalidParameter('plan must be free, launch or grow');
    if (input.teamId !== undefined && input.teamId !== null) {
      throw new PolykomosForbiddenError('FORBIDDEN', `You are not a member of team ${input.teamId}`);
    }
    if (input.blueprintUuid) {
      requireScope(principal, 'blueprints:read');
      const blueprint = isUuid(input.blueprintUuid)
        ? await this.deps.prisma.polykomosBlueprint.findFirst({
            where: { uuid: input.blueprintUuid, ownerId: account.ownerId, deletedAt: null },
            select: { id: true },
          })
        : null;
      if (!blueprint) throw unprocessable('BLUEPRINT_NOT_FOUND', `Blueprint ${input.blueprintUuid} not found`);
      throw unprocessable(
        'BLUEPRINT_ON_CREATE_UNSUPPORTED',
        'blueprint_uuid on create is not supported yet: create the database, then POST /api/v1/databases/{uuid}/blueprint_applications',
      );
    }
    const quotas = checkQuotas(input);
    const ownerId = account.ownerId;
    if (await this.nameTaken(ownerId, input.name)) {
      throw unprocessable('NAME_TAKEN', `A database named "${input.name}" already exists`);
    }
    const count = await this.deps.prisma.polykomosDatabase.count({
      where: { ownerId, plan, status: { not: 'deleted' } },
    });
    const planLimit = planDatabaseLimits[plan as (typeof plans)[number]];
    if (count >= planLimit) {
      throw unprocessable('PLAN_LIMIT_REACHED', `The ${plan} plan allows ${planLimit} databases`);
    }
    const names = engines.generateCredentials('pk');
    const endpoint = engines.endpoint(dbType);
    const { row, jobId } = await this.deps.prisma.$transaction(async (tx) => {
      const created = await tx.polykomosDatabase.create({
        data: {
          ownerId,
          name: input.name,
          status: 'provisioning',
          region,
          plan,
          dbType,
          host: endpoint.host,
          port: endpoint.port,
          dbName: names.database,
          dbUsername: names.role,
          dbPasswordEnc: this.deps.box.seal(names.password),
          storageHardLimitGb: quotas.storageHardLimitGb ?? null,
          connectionHardLimit: quotas.connectionHardLimit ?? null,
          warningThresholdPct: quotas.warningThresholdPct ?? null,
        },
      });
      await recordDatabaseEvent(tx, 'database.created', created);
      // Outbox-style: the job exists exactly when the row does; any instance's runner may claim it.
      const job = await this.deps.jobs.enqueue(
        this.provisionKind,
        { databaseId: created.id },
        { tx, dedupeKey: `provision:${created.uuid}` },
      );
      return { row: created, jobId: job.id };
    });
    this.deps.jobs.wake();
    const started = Date.now();
    if (waitSeconds > 0) await this.deps.jobs.waitFor(jobId, waitSeconds * 1000);
    const waitedSeconds = waitSeconds > 0 ? Math.min(waitSeconds, Math.round((Date.now() - started) / 1000)) : 0;
    const current = await this.deps.prisma.polykomosDatabase.findUniqueOrThrow({ where: { id: row.id } });
    if (current.status === 'deleted' && current.provisionError) {
      throw unprocessable('PROVISIONING_FAILED', 'The database could not be provisioned; nothing was kept');
    }
    return { database: current, completed: current.status === 'active', waitedSeconds };
  }

  /**
   * `polykomos.provision`: creates the row's database and login on its engine server, then marks it active (with
   * its `database.provisioned` event) in a fenced transaction. Idempotent: the names and sealed password are on
   * the row, and `ensure` completes whatever an earlier, interrupted attempt created. A database deleted meanwhile
   * is dropped instead. After the last attempt (`onDead`) the row is marked deleted with `provision_error` and the
   * event `database.provision_failed`, in the job's own final transaction, and a drop job removes any leftovers.
   */
  readonly provisionKind: JobKind<ProvisionPayload, { databaseId: number; status: string }> = defineJobKind({
    kind: 'polykomos.provision',
    maxAttempts: provisionAttempts,
    backoff: { baseMs: 500, maxMs: 10_000 },
    run: (payload, ctx) => this.provision(payload, ctx),
    onDead: async ({ databaseId }, error, { tx }) => {
      const row = await tx.polykomosDatabase.findUnique({ where: { id: databaseId } });
      if (row?.status !== 'provisioning') return;
      const failed = await tx.polykomosDatabase.update({
        where: { id: databaseId },
        data: { status: 'deleted', deletedAt: new Date(), provisionError: redact(error).slice(0, 500) },
      });
      await recordDatabaseEvent(tx, 'database.provision_failed', failed);
      await this.deps.jobs.enqueue(this.dropKind, { databaseId }, { tx, dedupeKey: `drop:${row.uuid}` });
      this.deps.logger.error({ uuid: row.uuid, error }, 'polykomos provisioning failed; database marked deleted');
    },
  });

  /**
   * `polykomos.drop`: removes a deleted database's remote database and login (idempotent) and clears
   * `has_remote_resources`. Enqueued when provisioning failed for good, and when a delete could not drop at once.
   */
  readonly dropKind: JobKind<ProvisionPayload, { databaseId: number }> = defineJobKind({
    kind: 'polykomos.drop',
    maxAttempts: 10,
    backoff: { baseMs: 2_000, maxMs: 600_000 },
    run: async ({ databaseId }, ctx) => {
      const row = await this.deps.prisma.polykomosDatabase.findUnique({ where: { id: databaseId } });
      if (!row) throw new PermanentJobError('the database row is gone');
      if (row.status !== 'deleted') throw new PermanentJobError('the database is not deleted');
      await this.deps.engines.drop(row.dbType, { database: row.dbName, role: row.dbUsername });
      await ctx.fenced((tx) =>
        tx.polykomosDatabase.update({ where: { id: databaseId }, data: { hasRemoteResources: false } }),
      );
      return { databaseId };
    },
  });

  private async provision({ databaseId }: ProvisionPayload, ctx: JobContext) {
    const { prisma, engines } = this.deps;
    const before = await prisma.polykomosDatabase.findUnique({ where: { id: databaseId } });
    if (!before) throw new PermanentJobError('the database row is gone');
    if (before.status !== 'provisioning') {
      // Done by an earlier attempt whose finish was lost, or deleted meanwhile (the delete dropped it).
      return { databaseId, status: before.status };
    }
    if (!engines.isAvailable(before.dbType)) {
      throw new PermanentJobError(`no ${before.dbType} server is configured on this instance`);
    }
    const credentials = {
      database: before.dbName,
      role: before.dbUsername,
      password: this.deps.box.open(before.dbPasswordEnc),
    };
    await ctx.progress({ done: 0, total: 2, message: 'creating the database and its login' });
    // Recorded before the DDL: whoever deletes the row from now on knows there may be something to drop.
    await ctx.fenced((tx) =>
      tx.polykomosDatabase.update({ where: { id: databaseId }, data: { hasRemoteResources: true } }),
    );
    await engines.ensure(before.dbType, credentials, before.connectionHardLimit);
    await ctx.progress({ done: 1, total: 2, message: 'database created; activating' });
    const activated = await ctx.fenced(async (tx) => {
      const r = await tx.polykomosDatabase.updateMany({
        where: { id: databaseId, status: 'provisioning' },
        data: { status: 'active' },
      });
      if (r.count === 0) return null;
      const active = await tx.polykomosDatabase.findUniqueOrThrow({ where: { id: databaseId } });
      await recordDatabaseEvent(tx, 'database.provisioned', active);
      return active;
    });
    if (!activated) {
      // Deleted while provisioning: what was just created goes too.
      const after = await prisma.polykomosDatabase.findUniqueOrThrow({ where: { id: databaseId } });
      await this.destroyRemote(after);
      return { databaseId, status: after.status };
    }
    if (activated.connectionHardLimit !== before.connectionHardLimit) {
      await engines.setConnectionLimit(activated.dbType, activated.dbUsername, activated.connectionHardLimit);
    }
    return { databaseId, status: activated.status };
  }

  /** Renames (the label only: db_name never changes, so connection strings keep working). */
  async updateDatabase(principal: Principal, uuid: string, input: { name?: string | null }): Promise<DatabaseRow> {
    const row = await this.getDatabase(principal, uuid, 'databases:write');
    if (input.name === undefined || input.name === null || input.name === row.name) return row;
    if (!namePattern.test(input.name)) throw invalidParameter('name must match ^[a-z0-9][a-z0-9-]{0,62}$');
    if (await this.nameTaken(row.ownerId, input.name)) {
      throw unprocessable('NAME_TAKEN', `A database named "${input.name}" already exists`);
    }
    return this.deps.prisma.$transaction(async (tx) => {
      const renamed = await tx.polykomosDatabase.update({
        where: { id: row.id },
        data: { name: input.name as string },
      });
      await recordDatabaseEvent(tx, 'database.updated', renamed);
      return renamed;
    });
  }

  /** Partial quota update (absent: unchanged, null: cleared); the connection limit is applied on the server. */
  async updateQuotas(principal: Principal, uuid: string, input: QuotaInput): Promise<DatabaseRow> {
    const row = await this.getDatabase(principal, uuid, 'databases:write');
    if (row.status === 'deleted') throw unprocessable('DATABASE_NOT_ACTIVE', 'The database is deleted');
    const quotas = checkQuotas(input);
    const updated = await this.deps.prisma.$transaction(async (tx) => {
      const changed = await tx.polykomosDatabase.update({ where: { id: row.id }, data: quotas });
      await recordDatabaseEvent(tx, 'database.updated', changed);
      return changed;
    });
    if ('connectionHardLimit' in quotas && row.status !== 'provisioning') {
      if (!this.deps.engines.isAvailable(row.dbType)) {
        throw unprocessable('UNSUPPORTED_DB_TYPE', `${row.dbType} is no longer configured on this server`);
      }
      await this.deps.engines.setConnectionLimit(row.dbType, row.dbUsername, updated.connectionHardLimit);
    }
    return updated;
  }

  /**
   * Deletes at once: status deleted, the database and login dropped now (destroy_scheduled_at null). A database
   * still provisioning has its run cancelled; the run drops whatever it created.
   */
  async deleteDatabase(principal: Principal, uuid: string) {
    const row = await this.getDatabase(principal, uuid, 'databases:write');
    const cancelled = row.status === 'provisioning' ? 1 : 0;
    const marked = await this.deps.prisma.$transaction(async (tx) => {
      const deleted = await tx.polykomosDatabase.update({
        where: { id: row.id },
        data: { status: 'deleted', deletedAt: new Date(), destroyScheduledAt: null },
      });
      await recordDatabaseEvent(tx, 'database.deleted', deleted);
      return deleted;
    });
    let hasRemoteResources = marked.hasRemoteResources;
    if (hasRemoteResources) hasRemoteResources = !(await this.destroyRemote(marked));
    if (hasRemoteResources) {
      // The engine server did not answer: a durable job keeps trying.
      await this.deps.jobs.enqueue(this.dropKind, { databaseId: row.id }, { dedupeKey: `drop:${row.uuid}` });
    }
    return { database: marked, cancelledProvisionJobs: cancelled, hasRemoteResources };
  }

  private async destroyRemote(row: DatabaseRow): Promise<boolean> {
    if (!this.deps.engines.isAvailable(row.dbType)) return false;
    try {
      await this.deps.engines.drop(row.dbType, { database: row.dbName, role: row.dbUsername });
      await this.deps.prisma.polykomosDatabase.update({ where: { id: row.id }, data: { hasRemoteResources: false } });
      return true;
    } catch (err) {
      this.deps.logger.error({ uuid: row.uuid, error: errorMessage(err) }, 'polykomos could not drop a database');
      return false;
    }
  }

  private async nameTaken(ownerId: string, name: string): Promise<boolean> {
    const clash = await this.deps.prisma.polykomosDatabase.findFirst({
      where: { ownerId, name, status: { not: 'deleted' } },
      select: { id: true },
    });
    return clash !== null;
  }

  private async ownerFilter(principal: Principal): Promise<{ ownerId?: string }> {
    if (principal.kind === 'admin') return {};
    return { ownerId: (await this.account(principal)).ownerId };
  }
}

/** Scopes: the admin has all; API keys and JWTs need the scope itself. */
export function requireScope(principal: Principal, scope: string): void {
  if (principal.kind === 'admin') return;
  if ((principal.kind === 'apiKey' || principal.kind === 'jwt') && principal.scopes.includes(scope)) return;
  throw insufficientScope(scope);
}

function checkQuotas(input: QuotaInput): QuotaInput {
  const out: QuotaInput = {};
  if (input.storageHardLimitGb !== undefined) {
    const v = input.storageHardLimitGb;
    if (v !== null && !(Number.isFinite(v) && v > 0 && v <= 1_000_000)) {
      throw unprocessable('INVALID_PARAMETER', 'storage_hard_limit_gb must be a positive number');
    }
    out.storageHardLimitGb = v;
  }
  if (input.connectionHardLimit !== undefined) {
    const v = input.connectionHardLimit;
    if (v !== null && !(Number.isInteger(v) && v >= 1 && v <= maxConnectionLimit)) {
      throw unprocessable('INVALID_PARAMETER', `connection_hard_limit must be an integer 1..${maxConnectionLimit}`);
    }
    out.connectionHardLimit = v;
  }
  if (input.warningThresholdPct !== undefined) {
    const v = input.warningThresholdPct;
    if (v !== null && !(Number.isInteger(v) && v >= 1 && v <= 100)) {
      throw unprocessable('INVALID_PARAMETER', 'warning_threshold_pct must be an integer 1..100');
    }
    out.warningThresholdPct = v;
  }
  return out;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (v: string) => uuidPattern.test(v);

/** Engine errors name servers, never credentials; keep only the message, and never the admin URL. */
function errorMessage(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}
