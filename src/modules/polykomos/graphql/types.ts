import { PolykomosDatabaseStatus, PolykomosDbType } from '../../../../prisma/generated/client/enums.ts';
import { builder } from '../../../core/builder.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import { maskedConnectionString } from '../connection-string.ts';
import {
  PolykomosConflictError,
  PolykomosError,
  PolykomosForbiddenError,
  PolykomosInvalidInputError,
  PolykomosNotFoundError,
  PolykomosRejectedError,
} from '../polykomos.errors.ts';
import type { Account, DatabaseRow } from '../polykomos.service.ts';

builder.objectType(PolykomosError, {
  name: 'PolykomosError',
  description:
    'Another Polykomos failure (webhooks); `code` is the REST ApiError code upper-cased. Database, blueprint and ' +
    'application fields answer the specific types instead.',
  interfaces: [ErrorInterface],
});
builder.objectType(PolykomosNotFoundError, {
  name: 'PolykomosNotFoundError',
  description: 'The resource does not exist or is not the caller’s (the two are indistinguishable). Code NOT_FOUND.',
  interfaces: [ErrorInterface],
});
builder.objectType(PolykomosForbiddenError, {
  name: 'PolykomosForbiddenError',
  description:
    'The credential may not do this. Codes: INSUFFICIENT_SCOPE (a scope is missing), FORBIDDEN (admin only, ' +
    'not a team member), INVALID_API_KEY (not a Polykomos credential).',
  interfaces: [ErrorInterface],
});
builder.objectType(PolykomosInvalidInputError, {
  name: 'PolykomosInvalidInputError',
  description: 'A malformed argument (a bad name, limit or cursor). Code INVALID_PARAMETER.',
  interfaces: [ErrorInterface],
});
builder.objectType(PolykomosRejectedError, {
  name: 'PolykomosRejectedError',
  description:
    'A well-formed request that cannot be done; `code` says why (NAME_TAKEN, PLAN_LIMIT_REACHED, ' +
    'UNSUPPORTED_DB_TYPE, REGION_UNAVAILABLE, PROVISIONING_FAILED, DATABASE_NOT_ACTIVE, INVALID_PARAMETER for ' +
    'out-of-range values, INVALID_BLUEPRINT, MISSING_VARIABLE, BLUEPRINT_NOT_FOUND, …).',
  interfaces: [ErrorInterface],
});
builder.objectType(PolykomosConflictError, {
  name: 'PolykomosConflictError',
  description: 'A concurrent change won (for example a blueprint slug taken meanwhile); retrying may succeed.',
  interfaces: [ErrorInterface],
});

/** Exact error members, by what a field can fail with (each field lists only those). */
export const NotFound = PolykomosNotFoundError;
export const Forbidden = PolykomosForbiddenError;
export const InvalidInput = PolykomosInvalidInputError;
export const Rejected = PolykomosRejectedError;
export const Conflict = PolykomosConflictError;
/** A field's error members: exactly the failure types it can produce. */
export const errorsOf = (...types: (new (...args: any[]) => PolykomosError)[]) => ({ types });

/** A relay connection over one page of a uuid-keyed list (the uuid is the cursor). */
export function uuidConnection<T extends { uuid: string }>(
  page: { items: T[]; hasMore: boolean },
  after?: string | null,
) {
  const edges = page.items.map((node) => ({ cursor: node.uuid, node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasMore,
      hasPreviousPage: Boolean(after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

export const PolykomosDatabaseStatusEnum = builder.enumType(PolykomosDatabaseStatus, {
  name: 'PolykomosDatabaseStatus',
});
export const PolykomosDbTypeEnum = builder.enumType(PolykomosDbType, { name: 'PolykomosDbType' });

const QuotasRef = builder.objectRef<DatabaseRow>('PolykomosDatabaseQuotas').implement({
  description: 'Null means no limit. Only connectionHardLimit is enforced by the server (docs/polykomos.md).',
  fields: (t) => ({
    storageHardLimitGb: t.float({ nullable: true, resolve: (d) => d.storageHardLimitGb }),
    connectionHardLimit: t.int({ nullable: true, resolve: (d) => d.connectionHardLimit }),
    warningThresholdPct: t.int({ nullable: true, resolve: (d) => d.warningThresholdPct }),
  }),
});

export const PolykomosDatabaseRef = builder.node(builder.objectRef<DatabaseRow>('PolykomosDatabase'), {
  id: { resolve: (d) => d.uuid },
  description: 'A real Postgres or MySQL database with its own login, provisioned by Polykomos. Owner only.',
  authScopes: { product: 'polykomos' },
  loadOne: async (id, ctx) => {
    try {
      return await ctx.services.polykomos.databases.getDatabase(ctx.principal, id);
    } catch {
      return null;
    }
  },
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'dbPasswordEnc' in v,
  fields: (t) => ({
    uuid: t.exposeString('uuid', { description: 'The id REST paths use.' }),
    databaseInstanceId: t.exposeInt('id', { description: 'Internal integer id (blueprint applications use it).' }),
    name: t.exposeString('name'),
    status: t.expose('status', { type: PolykomosDatabaseStatusEnum }),
    region: t.exposeString('region'),
    plan: t.exposeString('plan'),
    dbType: t.expose('dbType', { type: PolykomosDbTypeEnum }),
    host: t.exposeString('host'),
    port: t.exposeInt('port'),
    dbName: t.exposeString('dbName'),
    dbUsername: t.exposeString('dbUsername'),
    dbPassword: t.string({
      description: 'The login password (decrypted on read).',
      resolve: (d, _a, ctx) => ctx.services.polykomos.databases.password(d),
    }),
    connectionString: t.string({
      description: 'With the password masked as ***; combine with dbPassword.',
      resolve: (d) => maskedConnectionString(d.dbType, d.host, d.port, d.dbUsername, d.dbName),
    }),
    teamId: t.int({ nullable: true, description: 'Teams are not modelled yet: always null.', resolve: () => null }),
    teamName: t.string({ nullable: true, resolve: () => null }),
    quotas: t.field({ type: QuotasRef, resolve: (d) => d }),
    hasRemoteResources: t.exposeBoolean('hasRemoteResources'),
    destroyScheduledAt: t.expose('destroyScheduledAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ControlsRef = builder.objectRef<NonNullable<Account['apiKey']>['controls']>('PolykomosApiKeyControls').implement({
  fields: (t) => ({
    requestsPerMinute: t.exposeInt('requestsPerMinute'),
    monthlyQuota: t.exposeInt('monthlyQuota', { nullable: true }),
    allowedIpList: t.exposeStringList('allowedIpList'),
    inactiveTtlDays: t.exposeInt('inactiveTtlDays', { nullable: true }),
  }),
});

const ApiKeyContextRef = builder.objectRef<NonNullable<Account['apiKey']>>('PolykomosApiKeyContext').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    preview: t.exposeString('preview'),
    permissions: t.exposeStringList('permissions'),
    status: t.exposeString('status'),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    controls: t.field({ type: ControlsRef, resolve: (k) => k.controls }),
  }),
});

const UserRef = builder.objectRef<Account['user']>('PolykomosUser').implement({
  fields: (t) => ({ name: t.exposeString('name'), email: t.exposeString('email') }),
});

export const PolykomosAccountRef = builder.objectRef<Account>('PolykomosAccount').implement({
  description: 'The caller: its user and, for API keys, the key with its controls.',
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (a) => a.user }),
    apiKey: t.field({ type: ApiKeyContextRef, nullable: true, resolve: (a) => a.apiKey }),
  }),
});

type DatabaseType = ReturnType<import('../polykomos.service.ts').PolykomosService['databaseTypes']>[number];

const RegionRef = builder.objectRef<DatabaseType['regions'][number]>('PolykomosRegion').implement({
  fields: (t) => ({
    code: t.exposeString('code'),
    label: t.exposeString('label'),
    isAvailable: t.exposeBoolean('isAvailable'),
  }),
});

export const PolykomosDatabaseTypeRef = builder.objectRef<DatabaseType>('PolykomosDatabaseType').implement({
  fields: (t) => ({
    value: t.exposeString('value'),
    label: t.exposeString('label'),
    isProvisionable: t.exposeBoolean('isProvisionable'),
    isAvailable: t.exposeBoolean('isAvailable'),
    regions: t.field({ type: [RegionRef], resolve: (d) => d.regions }),
  }),
});
