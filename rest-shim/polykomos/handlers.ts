import { PolykomosError } from '../../src/modules/polykomos/polykomos.errors.ts';
import type { RestRequest } from '../engine/types.ts';
import {
  PolykomosCreateDatabaseDocument,
  type PolykomosDatabaseFieldsFragment,
  PolykomosDeleteDatabaseDocument,
  PolykomosGetDatabaseDocument,
  PolykomosGetDatabaseTypesDocument,
  PolykomosGetMeDocument,
  PolykomosListDatabasesDocument,
  PolykomosUpdateDatabaseDocument,
  PolykomosUpdateDatabaseQuotasDocument,
} from '../generated/graphql.ts';
import { answer, isoOrNull } from './answer.ts';
import { graphql, group } from './policy.ts';
import { polykomosPrefix } from './prefix.ts';

/** The contract's `Database`; `db_password` only on create and single get, explicit null elsewhere. */
function database(d: PolykomosDatabaseFieldsFragment, password: string | null = null) {
  return {
    object: 'database',
    uuid: d.uuid,
    name: d.name,
    status: d.status,
    region: d.region,
    plan: d.plan,
    quotas: {
      storage_hard_limit_gb: d.quotas.storageHardLimitGb,
      connection_hard_limit: d.quotas.connectionHardLimit,
      warning_threshold_pct: d.quotas.warningThresholdPct,
    },
    db_type: d.dbType,
    host: d.host,
    port: d.port,
    db_name: d.dbName,
    db_username: d.dbUsername,
    team_id: d.teamId,
    team_name: d.teamName,
    db_password: password,
    connection_string: d.connectionString,
    created_at: isoOrNull(d.createdAt),
    updated_at: isoOrNull(d.updatedAt),
  };
}

function body(req: RestRequest): Record<string, unknown> {
  return req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body)
    ? (req.body as Record<string, unknown>)
    : {};
}

/** GraphQL Int is 32-bit; the contract's integers are not bounded, so larger values are refused here (422). */
function int32(value: unknown, field: string): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > 2_147_483_647) {
    throw new PolykomosError('INVALID_PARAMETER', 422, `${field} is out of range`);
  }
  return value;
}

function present<T extends object>(entries: T): T {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as T;
}

function quotaInput(b: Record<string, unknown>) {
  return present({
    storageHardLimitGb: b.storage_hard_limit_gb as number | null | undefined,
    connectionHardLimit: int32(b.connection_hard_limit, 'connection_hard_limit'),
    warningThresholdPct: int32(b.warning_threshold_pct, 'warning_threshold_pct'),
  });
}

const uuid = (req: RestRequest) => req.params.uuid ?? '';

const getMe = graphql({
  document: PolykomosGetMeDocument,
  variables: () => ({}),
  respond: ({ polykomosMe: r }, req) =>
    answer(r, req, (me) => ({
      status: 200,
      body: {
        data: {
          user: { object: 'user', name: me.user.name, email: me.user.email },
          api_key: me.apiKey && {
            object: 'api_key',
            name: me.apiKey.name,
            preview: me.apiKey.preview,
            permissions: me.apiKey.permissions,
            status: me.apiKey.status,
            last_used_at: isoOrNull(me.apiKey.lastUsedAt),
            controls: {
              requests_per_minute: me.apiKey.controls.requestsPerMinute,
              monthly_quota: me.apiKey.controls.monthlyQuota,
              allowed_ip_list: me.apiKey.controls.allowedIpList,
              inactive_ttl_days: me.apiKey.controls.inactiveTtlDays,
            },
          },
        },
        request_id: req.requestId,
      },
    })),
});

const getDatabaseTypes = graphql({
  policy: { scope: 'databases:read' },
  document: PolykomosGetDatabaseTypesDocument,
  variables: () => ({}),
  respond: ({ polykomosDatabaseTypes: r }, req) =>
    answer(r, req, (types) => ({
      status: 200,
      body: {
        data: types.map((t) => ({
          value: t.value,
          label: t.label,
          is_provisionable: t.isProvisionable,
          is_available: t.isAvailable,
          regions: t.regions.map((g) => ({ code: g.code, label: g.label, is_available: g.isAvailable })),
        })),
        request_id: req.requestId,
      },
    })),
});

const listDatabases = graphql({
  policy: { scope: 'databases:read' },
  document: PolykomosListDatabasesDocument,
  variables: (req) => ({
    first: (req.coerced.query.limit as number | undefined) ?? 25,
    after: (req.query.starting_after as string | undefined) ?? null,
  }),
  respond: ({ polykomosDatabases: r }, req) =>
    answer(r, req, (page) => ({
      status: 200,
      body: {
        data: page.edges.map((e) => database(e.node)),
        has_more: page.pageInfo.hasNextPage,
        request_id: req.requestId,
      },
    })),
});

const getDatabase = graphql({
  policy: { scope: 'databases:read' },
  document: PolykomosGetDatabaseDocument,
  variables: (req) => ({ uuid: uuid(req) }),
  respond: ({ polykomosDatabase: r }, req) =>
    answer(r, req, (d) => ({ status: 200, body: { data: database(d, d.dbPassword), request_id: req.requestId } })),
});

const createDatabase = graphql({
  policy: { scope: 'databases:write', idempotency: 'header' },
  document: PolykomosCreateDatabaseDocument,
  variables: (req) => {
    const b = body(req);
    const dbType = (b.db_type ?? 'postgres') as unknown;
    if (dbType !== 'postgres' && dbType !== 'mysql') {
      throw new PolykomosError(
        'UNSUPPORTED_DB_TYPE',
        422,
        `db_type "${String(dbType)}" is not supported (postgres, mysql)`,
      );
    }
    return {
      input: present({
        name: String(b.name),
        dbType: dbType as 'postgres' | 'mysql',
        region: b.region as string | undefined,
        plan: b.plan as string | undefined,
        teamId: int32(b.team_id, 'team_id'),
        blueprintUuid: b.blueprint_uuid as string | undefined,
        ...quotaInput(b),
      }),
      wait: req.coerced.query.wait === true,
      timeout: (req.coerced.query.timeout as number | undefined) ?? 30,
    };
  },
  respond: ({ createPolykomosDatabase: r }, req) =>
    answer(r, req, (created) => {
      const data = database(created.database, created.database.dbPassword);
      if (created.completed) {
        return { status: 201, body: { message: 'Database created', data, request_id: req.requestId } };
      }
      return {
        status: 202,
        body: {
          message: 'Database creation accepted; still provisioning',
          data,
          provisioning: {
            completed: false,
            waited_seconds: created.waitedSeconds,
            // Relative to the host the request came to: it answers there, under the surface's prefix.
            poll_url: `${polykomosPrefix}/api/v1/databases/${created.database.uuid}`,
          },
          request_id: req.requestId,
        },
      };
    }),
});

const updateDatabase = graphql({
  policy: { scope: 'databases:write', idempotency: 'header' },
  document: PolykomosUpdateDatabaseDocument,
  variables: (req) => ({ uuid: uuid(req), name: (body(req).name as string | undefined) ?? null }),
  respond: ({ updatePolykomosDatabase: r }, req) =>
    answer(r, req, (d) => ({
      status: 200,
      body: { message: 'Database updated', data: database(d), request_id: req.requestId },
    })),
});

const updateDatabaseQuotas = graphql({
  policy: { scope: 'databases:write', idempotency: 'header' },
  document: PolykomosUpdateDatabaseQuotasDocument,
  variables: (req) => ({ uuid: uuid(req), input: quotaInput(body(req)) }),
  respond: ({ updatePolykomosDatabaseQuotas: r }, req) =>
    answer(r, req, (d) => ({
      status: 200,
      body: { message: 'Database quotas updated', data: database(d), request_id: req.requestId },
    })),
});

const deleteDatabase = graphql({
  policy: { scope: 'databases:write', idempotency: 'header' },
  document: PolykomosDeleteDatabaseDocument,
  variables: (req) => ({ uuid: uuid(req) }),
  respond: ({ deletePolykomosDatabase: r }, req) =>
    answer(r, req, (d) => ({
      status: 200,
      body: {
        message: 'Database deleted',
        data: {
          object: 'database',
          uuid: d.uuid,
          deleted: d.deleted,
          cancelled_provision_jobs: d.cancelledProvisionJobs,
          destroy_scheduled_at: isoOrNull(d.destroyScheduledAt),
          has_remote_resources: d.hasRemoteResources,
        },
        request_id: req.requestId,
      },
    })),
});

/** Served Polykomos operations by the contract's operationIds. */
/** Account and databases: getMe, types, CRUD and quotas. */
export const polykomosOperations = group('databases', 'test/polykomos/databases.test.ts', {
  getMe,
  getDatabaseTypes,
  listDatabases,
  getDatabase,
  createDatabase,
  updateDatabase,
  deleteDatabase,
  updateDatabaseQuotas,
});
