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
    'The base of Polykomos’ failures; `code` is the REST ApiError code upper-cased. Fields list the specific ' +
    'types (PolykomosNotFoundError, PolykomosForbiddenError, …) instead.',
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
/** A field's error members: exactly the failure types it can produce (union and result types described). */
export const errorsOf = (...types: (new (...args: any[]) => PolykomosError)[]) => ({
  types,
  union: { description: 'The result, or one of the expected failures of this field.' },
  result: { description: 'The field succeeded.' },
  dataField: { description: 'The result.' },
});

/** Descriptions shared by every Polykomos connection. */
export const connectionDescriptions = {
  connection: 'A page of results, with the total.',
  edge: 'One result and its cursor.',
  totalCount: 'All items of the list, across pages (not only this page).',
  nodeId: 'Global id for node(id)/nodes(ids).',
};

/** `totalCount` of a Polykomos connection (set by uuidConnection / idConnection). */
export const totalOf = (conn: object) => (conn as { totalCount?: number }).totalCount ?? 0;

/** The `totalCount` field options of a connection (for t.connection's second argument). */
export const withTotalCount = {
  description: connectionDescriptions.connection,
  fields: (c: any) => ({ totalCount: c.int({ description: connectionDescriptions.totalCount, resolve: totalOf }) }),
};

/** A relay connection over one page of a keyed list (`cursor` of each item), with the list's total. */
export function keyedConnection<T>(
  page: { items: T[]; hasMore: boolean; totalCount: number },
  after: string | null | undefined,
  cursor: (item: T) => string,
) {
  const edges = page.items.map((node) => ({ cursor: cursor(node), node }));
  return {
    edges,
    totalCount: page.totalCount,
    pageInfo: {
      hasNextPage: page.hasMore,
      hasPreviousPage: Boolean(after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** A relay connection over one page of a uuid-keyed list (the uuid is the cursor). */
export function uuidConnection<T extends { uuid: string }>(
  page: { items: T[]; hasMore: boolean; totalCount: number },
  after?: string | null,
) {
  return keyedConnection(page, after, (node) => node.uuid);
}

export const PolykomosDatabaseStatusEnum = builder.enumType('PolykomosDatabaseStatus', {
  description: 'Lifecycle state of a database (the contract’s `status`).',
  values: {
    provisioning: { description: 'Being created on the engine server; not usable yet.' },
    active: { description: 'Provisioned: its login connects.' },
    paused: { description: 'Kept but not served (not produced by this server yet).' },
    deleted: { description: 'Deleted; the server-side database and login are dropped.' },
  } as const,
});
export const PolykomosDbTypeEnum = builder.enumType('PolykomosDbType', {
  description: 'A database engine.',
  values: {
    postgres: { description: 'PostgreSQL.' },
    mysql: { description: 'MySQL.' },
  } as const,
});
export const PolykomosPlanEnum = builder.enumType('PolykomosPlan', {
  description: 'A database plan; each plan caps how many databases (not deleted) one user may hold.',
  values: {
    free: { description: 'Up to 5 databases.' },
    launch: { description: 'Up to 25 databases.' },
    grow: { description: 'Up to 100 databases.' },
  } as const,
});
type Plan = 'free' | 'launch' | 'grow';
export const PolykomosApiKeyStatusEnum = builder.enumType('PolykomosApiKeyStatus', {
  description: 'Whether an API key is usable.',
  values: {
    active: { description: 'Usable.' },
    revoked: { description: 'Revoked by an admin; refused.' },
    expired: { description: 'Past its expiry; refused.' },
  } as const,
});

const QuotasRef = builder.objectRef<DatabaseRow>('PolykomosDatabaseQuotas').implement({
  description: 'Null means no limit. Only connectionHardLimit is enforced by the server (docs/polykomos.md).',
  fields: (t) => ({
    storageHardLimitGb: t.float({
      nullable: true,
      description: 'Storage limit in gigabytes (recorded, not enforced).',
      resolve: (d) => d.storageHardLimitGb,
    }),
    connectionHardLimit: t.int({
      nullable: true,
      description: 'Connection limit of the database’s login, applied on the engine server.',
      resolve: (d) => d.connectionHardLimit,
    }),
    warningThresholdPct: t.int({
      nullable: true,
      description: 'Usage percentage (1–100) at which a warning is due (recorded, not enforced).',
      resolve: (d) => d.warningThresholdPct,
    }),
  }),
});

export const PolykomosDatabaseRef = builder.node(builder.objectRef<DatabaseRow>('PolykomosDatabase'), {
  id: { description: connectionDescriptions.nodeId, resolve: (d) => d.uuid },
  description: 'A real Postgres or MySQL database with its own login, provisioned by Polykomos. Owner only.',
  authScopes: { product: 'polykomos' },
  loadOne: async (id, ctx) => {
    try {
      return await ctx.services.polykomos.databases.getDatabase(ctx.principal, id);
    } catch (err) {
      if (!(err instanceof PolykomosError)) throw err;
      // Missing, another owner's and a missing scope are all null (indistinguishable).
      return null;
    }
  },
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'dbPasswordEnc' in v,
  fields: (t) => ({
    uuid: t.exposeString('uuid', { description: 'The id REST paths use.' }),
    databaseInstanceId: t.exposeInt('id', { description: 'Internal integer id (blueprint applications use it).' }),
    name: t.exposeString('name', { description: 'The label, unique per user among databases not deleted.' }),
    status: t.expose('status', { type: PolykomosDatabaseStatusEnum, description: 'Lifecycle state.' }),
    region: t.exposeString('region', { description: 'The region it was provisioned in.' }),
    plan: t.field({ type: PolykomosPlanEnum, description: 'Its plan.', resolve: (d) => d.plan as Plan }),
    dbType: t.expose('dbType', { type: PolykomosDbTypeEnum, description: 'Its engine.' }),
    host: t.exposeString('host', { description: 'Host name clients connect to.' }),
    port: t.exposeInt('port', { description: 'Port clients connect to.' }),
    dbName: t.exposeString('dbName', { description: 'The database’s name on the engine server (never changes).' }),
    dbUsername: t.exposeString('dbUsername', { description: 'The database’s own login.' }),
    dbPassword: t.string({
      description: 'The login password (decrypted on read).',
      resolve: (d, _a, ctx) => ctx.services.polykomos.databases.password(d),
    }),
    connectionString: t.string({
      description: 'With the password masked as ***; combine with dbPassword.',
      resolve: (d) => maskedConnectionString(d.dbType, d.host, d.port, d.dbUsername, d.dbName),
    }),
    teamId: t.int({ nullable: true, description: 'Teams are not modelled yet: always null.', resolve: () => null }),
    teamName: t.string({
      nullable: true,
      description: 'Teams are not modelled yet: always null.',
      resolve: () => null,
    }),
    quotas: t.field({ type: QuotasRef, description: 'Its quotas.', resolve: (d) => d }),
    hasRemoteResources: t.exposeBoolean('hasRemoteResources', {
      description: 'Whether the database and login exist on the engine server.',
    }),
    destroyScheduledAt: t.expose('destroyScheduledAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a deleted database is destroyed; null: not scheduled (deletes drop at once).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const ControlsRef = builder.objectRef<NonNullable<Account['apiKey']>['controls']>('PolykomosApiKeyControls').implement({
  description: 'Per-key controls the server enforces on every request with the key.',
  fields: (t) => ({
    requestsPerMinute: t.exposeInt('requestsPerMinute', { description: 'Rate limit (default 60).' }),
    monthlyQuota: t.exposeInt('monthlyQuota', {
      nullable: true,
      description: 'Requests per calendar month (UTC); null: none.',
    }),
    allowedIpList: t.exposeStringList('allowedIpList', {
      description: 'Addresses or CIDR blocks the key may be used from; empty: any.',
    }),
    inactiveTtlDays: t.exposeInt('inactiveTtlDays', {
      nullable: true,
      description: 'Days without use after which the key is refused; null: never.',
    }),
  }),
});

const ApiKeyContextRef = builder.objectRef<NonNullable<Account['apiKey']>>('PolykomosApiKeyContext').implement({
  description: 'The API key the caller authenticated with.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The key’s name.' }),
    preview: t.exposeString('preview', { description: 'The key’s public prefix followed by an ellipsis.' }),
    permissions: t.exposeStringList('permissions', { description: 'The key’s scopes (databases:read, …).' }),
    status: t.expose('status', { type: PolykomosApiKeyStatusEnum, description: 'Whether the key is usable.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key was last used; null: never.',
    }),
    controls: t.field({ type: ControlsRef, description: 'The key’s controls.', resolve: (k) => k.controls }),
  }),
});

const UserRef = builder.objectRef<Account['user']>('PolykomosUser').implement({
  description: 'The Polykomos user a credential belongs to (databases are owned by users).',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    email: t.exposeString('email', { description: 'Email address; empty when unknown.' }),
  }),
});

export const PolykomosAccountRef = builder.objectRef<Account>('PolykomosAccount').implement({
  description: 'The caller: its user and, for API keys, the key with its controls.',
  fields: (t) => ({
    user: t.field({ type: UserRef, description: 'The caller’s user.', resolve: (a) => a.user }),
    apiKey: t.field({
      type: ApiKeyContextRef,
      nullable: true,
      description: 'The API key used; null for the admin key and JWTs.',
      resolve: (a) => a.apiKey,
    }),
  }),
});

type DatabaseType = ReturnType<import('../polykomos.service.ts').PolykomosService['databaseTypes']>[number];

const RegionRef = builder.objectRef<DatabaseType['regions'][number]>('PolykomosRegion').implement({
  description: 'A region an engine can provision in.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'The region code (the `region` of a create).' }),
    label: t.exposeString('label', { description: 'Human-readable name.' }),
    isAvailable: t.exposeBoolean('isAvailable', { description: 'Whether databases can be created there now.' }),
  }),
});

export const PolykomosDatabaseTypeRef = builder.objectRef<DatabaseType>('PolykomosDatabaseType').implement({
  description: 'A database engine this server offers, and where.',
  fields: (t) => ({
    value: t.expose('value', { type: PolykomosDbTypeEnum, description: 'The engine (the `dbType` of a create).' }),
    label: t.exposeString('label', { description: 'Human-readable name.' }),
    isProvisionable: t.exposeBoolean('isProvisionable', { description: 'Whether databases can be created.' }),
    isAvailable: t.exposeBoolean('isAvailable', { description: 'Whether an engine server is configured.' }),
    regions: t.field({ type: [RegionRef], description: 'Its regions.', resolve: (d) => d.regions }),
  }),
});
