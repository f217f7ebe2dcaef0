import { resolveArrayConnection } from '@pothos/plugin-relay';
import type {
  AthenaClient,
  AthenaClientConfig,
  AthenaPublicRoute,
  AthenaServiceRoute,
  AthenaTenantHostname,
} from '../../../../prisma/generated/client/client.ts';
import { builder } from '../../../core/builder.ts';
import { AuthorizationError } from '../../../core/errors.ts';
import { ForbiddenError } from '../../../core/graphql/graphql-errors.ts';
import { AthenaInvalidInputError } from '../athena.errors.ts';
import type { SeedResult } from '../clients.service.ts';
import type { PoolStats } from '../pools.ts';
import { type PublicRouteOp, publicRouteOps, type TenantHostnameResult } from '../routes.service.ts';
import { adminField, adminOnly, withTotalCount } from './admin.ts';
import { athenaErrors } from './types.ts';

/*
 * Athena's client catalog (G5) in GraphQL: clients, per-client configs, public routes, service routes and tenant
 * hostnames are Nodes (global ids over their uuids; configs over the client name); REST keeps `client_name`,
 * `route_key`, … through plain fields. Everything is the admin's (the admin key, or a platform key with the admin
 * scope); the one exception is linkPolykomosDatabaseToAthena, which a database's owner may call.
 */

/**
 * A whole list as a Relay connection with its total; cursors are offsets. Catalog lists are small (clients,
 * routes), so they are read whole and paged in memory; pages of up to 1000 let REST list everything at once.
 */
function arrayConnection<T>(
  args: { first?: number | null; after?: string | null; last?: number | null; before?: string | null },
  all: T[],
) {
  if ((args.first ?? 0) < 0 || (args.last ?? 0) < 0) throw new AthenaInvalidInputError('first/last must be >= 0');
  return Object.assign(resolveArrayConnection({ args, defaultSize: 100, maxSize: 1000 }, all), {
    totalCount: all.length,
  });
}

const isClient = (v: unknown): v is AthenaClient =>
  typeof v === 'object' && v !== null && 'clientName' in v && 'pgUriEnc' in v;
const isConfig = (v: unknown): v is AthenaClientConfig =>
  typeof v === 'object' && v !== null && 'clientName' in v && 'config' in v && !('pgUriEnc' in v);
const isPublicRoute = (v: unknown): v is AthenaPublicRoute =>
  typeof v === 'object' && v !== null && 'routeKey' in v && 'allowedOps' in v && !('tenant' in v);
const isServiceRoute = (v: unknown): v is AthenaServiceRoute =>
  typeof v === 'object' && v !== null && 'serviceKey' in v && 'upstreamUrl' in v;
const isTenantHostname = (v: unknown): v is AthenaTenantHostname =>
  typeof v === 'object' && v !== null && 'tenant' in v && 'enableHttpRoute' in v;

export const AthenaClientSourceEnum = builder.enumType('AthenaClientSource', {
  description: 'Where an Athena client’s connection comes from.',
  values: {
    catalog: { description: 'Registered through the admin API with a URI or an environment variable.' },
    config: { description: 'Seeded from the Athena config file (ATRIUM_ATHENA_CONFIG_FILE).' },
    provisioned: { description: 'A database made for it: the default client on a server, or a Polykomos database.' },
    embedded: { description: 'An embedded PGlite database under the data dir.' },
  } as const,
});

const AthenaPublicRouteOpEnum = builder.enumType('AthenaPublicRouteOp', {
  description: 'A gateway operation a public route may expose.',
  values: Object.fromEntries(
    publicRouteOps.map((op) => [op, { description: `The gateway's ${op} operation (\`/public/{route_key}/${op}\`).` }]),
  ) as Record<PublicRouteOp, { description: string }>,
});

export const AthenaPoolEngineEnum = builder.enumType('AthenaPoolEngine', {
  description: 'What serves a client database.',
  values: {
    postgres: { description: 'A PostgreSQL server, through a bounded pg pool.' },
    pglite: { description: 'An embedded PGlite (one connection).' },
  } as const,
});

export const AthenaClientConfigRef = builder.node(builder.objectRef<AthenaClientConfig>('AthenaClientConfig'), {
  id: { resolve: (c) => c.clientName },
  description: 'A per-client configuration override (resilience, admission, insert windows, feature flags …).',
  authScopes: adminOnly,
  isTypeOf: isConfig,
  loadOne: (id, ctx) => ctx.services.athena.clients.config(ctx.principal, id).catch(() => null),
  fields: (t) => ({
    clientName: t.exposeString('clientName', { description: 'The client it applies to (it need not exist yet).' }),
    config: t.field({ type: 'JSON', description: 'The override object.', resolve: (c) => c.config }),
    metadata: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Free-form metadata stored beside it.',
      resolve: (c) => c.metadata ?? null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first stored.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

export const AthenaClientRef = builder.node(builder.objectRef<AthenaClient>('AthenaClient'), {
  id: { resolve: (c) => c.id },
  description:
    'A client database that `X-Athena-Client` names. Its connection URI is sealed at rest and redacted ' +
    '(`postgres://user:***@host/db`) unless revealed. Deleting is soft: the row stays, the name becomes free.',
  authScopes: adminOnly,
  isTypeOf: isClient,
  loadOne: (id, ctx) => ctx.services.athena.clients.rowById(ctx.principal, id),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The client id as a plain UUID (REST’s `id`).' }),
    clientName: t.exposeString('clientName', { description: 'The name `X-Athena-Client` uses.' }),
    description: t.exposeString('description', { nullable: true, description: 'A free-form description.' }),
    pgUri: t.string({
      nullable: true,
      description: 'The connection URI, password redacted unless `reveal`; null when it comes from an env var.',
      args: {
        reveal: t.arg.boolean({
          required: false,
          defaultValue: false,
          description: 'Return the URI in clear (admin only).',
        }),
      },
      resolve: (c, { reveal }, ctx) => ctx.services.athena.clients.uriOf(ctx.principal, c, reveal === true),
    }),
    pgUriEnvVar: t.exposeString('pgUriEnvVar', {
      nullable: true,
      description: 'The environment variable holding the URI, read when the pool is built.',
    }),
    configUriTemplate: t.exposeString('configUriTemplate', {
      nullable: true,
      description: 'A URI template from the config file, when there is one.',
    }),
    source: t.expose('source', { type: AthenaClientSourceEnum, description: 'Where its connection comes from.' }),
    isActive: t.exposeBoolean('isActive', { description: 'Whether routing may use it (inactive: 503).' }),
    isFrozen: t.exposeBoolean('isFrozen', { description: 'Temporarily disabled for routing (503), kept in catalog.' }),
    polykomosDatabaseUuid: t.exposeString('polykomosDatabaseUuid', {
      nullable: true,
      description: 'The Polykomos database behind it, when it was linked from one.',
    }),
    lastSyncedFromConfigAt: t.expose('lastSyncedFromConfigAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the config file last seeded it.',
    }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime', nullable: true, description: 'When it was last used.' }),
    metadata: t.field({
      type: 'JSON',
      description: 'Free-form metadata (tenant hostnames among it).',
      resolve: (c) => c.metadata,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was registered.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'When it was soft-deleted.' }),
    poolConnected: t.boolean({
      description: 'Whether its pool (or embedded database) is open in this server process (built on first use).',
      resolve: (c, _args, ctx) => c.deletedAt === null && ctx.services.athena.clients.poolConnected(c.clientName),
    }),
    config: t.field({
      type: AthenaClientConfigRef,
      nullable: true,
      description: 'Its configuration override, if it has one.',
      resolve: (c, _args, ctx) =>
        ctx.services.prisma.athenaClientConfig.findUnique({ where: { clientName: c.clientName } }),
    }),
  }),
});

const AthenaPoolStatsRef = builder.objectRef<PoolStats>('AthenaPoolStats').implement({
  description: 'Statistics of one open client pool.',
  fields: (t) => ({
    clientName: t.exposeString('clientName', { description: 'The client it serves.' }),
    engine: t.expose('engine', { type: AthenaPoolEngineEnum, description: 'What serves it.' }),
    initTime: t.expose('initTime', { type: 'DateTime', description: 'When the pool was built.' }),
    lastUsed: t.expose('lastUsed', { type: 'DateTime', nullable: true, description: 'Its last checkout.' }),
    size: t.exposeInt('size', { description: 'Connections open.' }),
    idle: t.exposeInt('idle', { description: 'Connections open and idle.' }),
    active: t.exposeInt('active', { description: 'Connections checked out.' }),
    waiting: t.exposeInt('waiting', { description: 'Callers waiting for a connection.' }),
    max: t.exposeInt('max', { description: 'The most connections it opens.' }),
  }),
});

export const AthenaPublicRouteRef = builder.node(builder.objectRef<AthenaPublicRoute>('AthenaPublicRoute'), {
  id: { resolve: (r) => r.id },
  description: 'A public alias `/public/{route_key}/{op}` onto some gateway operations of one client.',
  authScopes: adminOnly,
  isTypeOf: isPublicRoute,
  loadOne: (id, ctx) => ctx.services.athena.routes.publicRouteById(ctx.principal, id),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The route id as a plain UUID.' }),
    routeKey: t.exposeString('routeKey', { description: 'The alias in the path (unique).' }),
    clientName: t.exposeString('clientName', { description: 'The client its operations run on.' }),
    allowedOps: t.field({
      type: [AthenaPublicRouteOpEnum],
      description: 'The operations it exposes.',
      resolve: (r) => r.allowedOps as PublicRouteOp[],
    }),
    isActive: t.exposeBoolean('isActive', { description: 'Whether it answers.' }),
    metadata: t.field({ type: 'JSON', description: 'Free-form metadata.', resolve: (r) => r.metadata }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

export const AthenaServiceRouteRef = builder.node(builder.objectRef<AthenaServiceRoute>('AthenaServiceRoute'), {
  id: { resolve: (r) => r.id },
  description:
    'A tenant service binding: (route_key, service_key) → an upstream URL for one client. The URL passed the ' +
    'outbound guard when stored (http(s), no credentials, a public address).',
  authScopes: adminOnly,
  isTypeOf: isServiceRoute,
  loadOne: (id, ctx) => ctx.services.athena.routes.serviceRouteById(ctx.principal, id),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The binding id as a plain UUID.' }),
    routeKey: t.exposeString('routeKey', { description: 'The tenant route key.' }),
    serviceKey: t.exposeString('serviceKey', { description: 'The service within the route.' }),
    clientName: t.exposeString('clientName', { description: 'The client it belongs to.' }),
    upstreamUrl: t.exposeString('upstreamUrl', { description: 'Where the service lives.' }),
    isActive: t.exposeBoolean('isActive', { description: 'Whether it is in use.' }),
    metadata: t.field({ type: 'JSON', description: 'Free-form metadata.', resolve: (r) => r.metadata }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

export const AthenaTenantHostnameRef = builder.node(builder.objectRef<AthenaTenantHostname>('AthenaTenantHostname'), {
  id: { resolve: (h) => h.id },
  description: 'A tenant’s wildcard hostname as recorded intent: Atrium configures no DNS record and no certificate.',
  authScopes: adminOnly,
  isTypeOf: isTenantHostname,
  loadOne: (id, ctx) => ctx.services.athena.routes.tenantHostnameById(ctx.principal, id),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The row id as a plain UUID.' }),
    tenant: t.exposeString('tenant', { description: 'The tenant (unique; the key of its public route).' }),
    clientName: t.exposeString('clientName', { description: 'The client it routes to.' }),
    allowedOps: t.field({
      type: [AthenaPublicRouteOpEnum],
      description: 'The operations its HTTP route exposes.',
      resolve: (h) => h.allowedOps as PublicRouteOp[],
    }),
    enableHttpRoute: t.exposeBoolean('enableHttpRoute', { description: 'Whether a public route keyed by it exists.' }),
    enablePostgresBinding: t.exposeBoolean('enablePostgresBinding', {
      description: 'Recorded wish for a Postgres wire binding (not served by Atrium).',
    }),
    publicHost: t.exposeString('publicHost', { nullable: true, description: 'The hostname to publish.' }),
    publicPort: t.exposeInt('publicPort', { nullable: true, description: 'The port to publish.' }),
    routeMetadata: t.field({ type: 'JSON', description: 'Free-form route metadata.', resolve: (h) => h.routeMetadata }),
    persistInCatalog: t.exposeBoolean('persistInCatalog', {
      description: 'Whether it is also kept in the client’s metadata (`tenant_hostnames`).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first recorded.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const SeedResultRef = builder.objectRef<SeedResult>('AthenaSeedResult').implement({
  description: 'What seeding from the config file wrote.',
  fields: (t) => ({
    clients: t.field({
      type: [AthenaClientRef],
      description: 'Clients created or refreshed (source config).',
      resolve: (r) => r.clients,
    }),
    configs: t.field({ type: [AthenaClientConfigRef], description: 'Configs upserted.', resolve: (r) => r.configs }),
    skipped: t.exposeStringList('skipped', {
      description: 'Clients of the file whose name a client of another source holds (left alone).',
    }),
  }),
});

const TenantHostnamePayloadRef = builder.objectRef<TenantHostnameResult>('AthenaTenantHostnamePayload').implement({
  description: 'A recorded tenant hostname and the public route it created or updated. No DNS or TLS is configured.',
  fields: (t) => ({
    hostname: t.field({ type: AthenaTenantHostnameRef, description: 'The recorded row.', resolve: (r) => r.hostname }),
    publicRoute: t.field({
      type: AthenaPublicRouteRef,
      nullable: true,
      description: 'The public route keyed by the tenant, when `enableHttpRoute`.',
      resolve: (r) => r.publicRoute,
    }),
    dnsConfigured: t.boolean({
      description: 'Always false: the hostname is recorded intent; DNS and TLS are the operator’s.',
      resolve: () => false,
    }),
  }),
});

const LinkedClientRef = builder.objectRef<AthenaClient>('AthenaLinkedClient').implement({
  description: 'The Athena client a Polykomos database became (what its owner may see of it).',
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The client id.' }),
    clientName: t.exposeString('clientName', { description: 'The name `X-Athena-Client` uses.' }),
    source: t.expose('source', { type: AthenaClientSourceEnum, description: 'Always provisioned.' }),
    polykomosDatabaseUuid: t.string({
      description: 'The Polykomos database behind it.',
      resolve: (c) => c.polykomosDatabaseUuid ?? '',
    }),
    pgUri: t.string({
      nullable: true,
      description: 'The connection URI, password redacted.',
      resolve: (c, _args, ctx) => ctx.services.athena.clients.view(c, false).pgUri,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was registered.' }),
  }),
});

// ---- queries

builder.queryField('athenaClients', (t) =>
  t.connection(
    {
      type: AthenaClientRef,
      description: 'The live Athena clients (not deleted), oldest first. Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      resolve: async (_r, args, ctx) => arrayConnection(args, await ctx.services.athena.clients.rows(ctx.principal)),
    },
    withTotalCount,
  ),
);

builder.queryField('athenaClient', (t) =>
  t.field({
    type: AthenaClientRef,
    description: 'One live Athena client by name. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { clientName: t.arg.string({ required: true, description: 'The client name.' }) },
    resolve: (_r, { clientName }, ctx) => ctx.services.athena.clients.row(ctx.principal, clientName),
  }),
);

builder.queryField('athenaPools', (t) =>
  t.field({
    type: [AthenaPoolStatsRef],
    description: 'Statistics of every open client pool in this server process. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    resolve: (_r, _args, ctx) => ctx.services.athena.clients.poolStats(ctx.principal),
  }),
);

builder.queryField('athenaClientConfigs', (t) =>
  t.connection(
    {
      type: AthenaClientConfigRef,
      description: 'Every per-client configuration override, by client name. Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      resolve: async (_r, args, ctx) => arrayConnection(args, await ctx.services.athena.clients.configs(ctx.principal)),
    },
    withTotalCount,
  ),
);

builder.queryField('athenaClientConfig', (t) =>
  t.field({
    type: AthenaClientConfigRef,
    description: 'One client’s configuration override (not found when it has none). Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { clientName: t.arg.string({ required: true, description: 'The client name.' }) },
    resolve: (_r, { clientName }, ctx) => ctx.services.athena.clients.config(ctx.principal, clientName),
  }),
);

builder.queryField('athenaPublicRoutes', (t) =>
  t.connection(
    {
      type: AthenaPublicRouteRef,
      description: 'Every public route, by route key. Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      resolve: async (_r, args, ctx) =>
        arrayConnection(args, await ctx.services.athena.routes.listPublicRoutes(ctx.principal)),
    },
    withTotalCount,
  ),
);

builder.queryField('athenaServiceRoutes', (t) =>
  t.connection(
    {
      type: AthenaServiceRouteRef,
      description: 'Every tenant service route, by route key then service key. Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      resolve: async (_r, args, ctx) =>
        arrayConnection(args, await ctx.services.athena.routes.listServiceRoutes(ctx.principal)),
    },
    withTotalCount,
  ),
);

builder.queryField('athenaTenantHostnames', (t) =>
  t.connection(
    {
      type: AthenaTenantHostnameRef,
      description: 'Every recorded tenant hostname, by tenant. Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      resolve: async (_r, args, ctx) =>
        arrayConnection(args, await ctx.services.athena.routes.listTenantHostnames(ctx.principal)),
    },
    withTotalCount,
  ),
);

// ---- client mutations

const CreateAthenaClientInput = builder.inputType('CreateAthenaClientInput', {
  description: 'A new Athena client; one of pgUri and pgUriEnvVar is required.',
  fields: (t) => ({
    clientName: t.string({ required: true, description: '1-63 lowercase letters, digits, _ or -.' }),
    description: t.string({ required: false, description: 'A free-form description.' }),
    pgUri: t.string({ required: false, description: 'postgres:// or jdbc:postgresql:// URI (sealed at rest).' }),
    pgUriEnvVar: t.string({ required: false, description: 'An environment variable holding the URI.' }),
    isActive: t.boolean({ required: false, description: 'Default true.' }),
    metadata: t.field({ type: 'JSON', required: false, description: 'Free-form metadata (an object).' }),
  }),
});

const UpdateAthenaClientInput = builder.inputType('UpdateAthenaClientInput', {
  description: 'Changes to an Athena client; omitted fields keep their value. A new URI or name rebuilds its pool.',
  fields: (t) => ({
    clientName: t.string({ required: false, description: 'A new name (rename).' }),
    description: t.string({ required: false, description: 'A free-form description (null clears it).' }),
    pgUri: t.string({ required: false, description: 'A new URI (null clears it).' }),
    pgUriEnvVar: t.string({ required: false, description: 'A new environment variable (null clears it).' }),
    isActive: t.boolean({ required: false, description: 'Whether routing may use it.' }),
    metadata: t.field({ type: 'JSON', required: false, description: 'Replaces the metadata (an object).' }),
  }),
});

/** JSON metadata must be an object: anything else is refused before the service sees it. */
function objectOrUndefined(v: unknown, field = 'metadata'): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new AthenaInvalidInputError(`${field} must be a JSON object`);
  return v as Record<string, unknown>;
}

builder.mutationField('createAthenaClient', (t) =>
  t.field({
    type: AthenaClientRef,
    description: 'Registers a client so `X-Athena-Client` can name it; its pool is built on first use. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { input: t.arg({ type: CreateAthenaClientInput, required: true, description: 'The client.' }) },
    resolve: (_r, { input }, ctx) =>
      ctx.services.athena.clients.create(ctx.principal, {
        clientName: input.clientName,
        description: input.description,
        pgUri: input.pgUri,
        pgUriEnvVar: input.pgUriEnvVar,
        isActive: input.isActive ?? undefined,
        metadata: objectOrUndefined(input.metadata),
      }),
  }),
);

builder.mutationField('updateAthenaClient', (t) =>
  t.field({
    type: AthenaClientRef,
    description: 'Changes a live client (rename, URI, description, activity). Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      clientName: t.arg.string({ required: true, description: 'The client’s current name.' }),
      input: t.arg({ type: UpdateAthenaClientInput, required: true, description: 'The changes.' }),
    },
    resolve: (_r, { clientName, input }, ctx) =>
      ctx.services.athena.clients.update(ctx.principal, clientName, {
        clientName: input.clientName ?? undefined,
        description: input.description,
        pgUri: input.pgUri,
        pgUriEnvVar: input.pgUriEnvVar,
        isActive: input.isActive ?? undefined,
        metadata: objectOrUndefined(input.metadata),
      }),
  }),
);

builder.mutationField('deleteAthenaClient', (t) =>
  t.field({
    type: AthenaClientRef,
    description: 'Soft-deletes a client: routing stops, its pool closes, its name is free again. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { clientName: t.arg.string({ required: true, description: 'The client name.' }) },
    resolve: (_r, { clientName }, ctx) => ctx.services.athena.clients.delete(ctx.principal, clientName),
  }),
);

builder.mutationField('setAthenaClientFrozen', (t) =>
  t.field({
    type: AthenaClientRef,
    description: 'Freezes (routing answers 503) or unfreezes a client, keeping its catalog entry. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      clientName: t.arg.string({ required: true, description: 'The client name.' }),
      isFrozen: t.arg.boolean({ required: true, description: 'Frozen or not.' }),
    },
    resolve: (_r, { clientName, isFrozen }, ctx) =>
      ctx.services.athena.clients.freeze(ctx.principal, clientName, isFrozen),
  }),
);

builder.mutationField('linkPolykomosDatabaseToAthena', (t) =>
  t.field({
    type: LinkedClientRef,
    description:
      'Makes one of the caller’s Polykomos PostgreSQL databases an Athena client (source provisioned): one ' +
      'credential, two products. The caller is the database’s owner (its Polykomos key with databases:read) or the ' +
      'admin; a database becomes at most one live client.',
    authScopes: { authenticated: true },
    errors: athenaErrors,
    args: {
      databaseUuid: t.arg.string({ required: true, description: 'The Polykomos database uuid.' }),
      clientName: t.arg.string({ required: true, description: 'The Athena client name to register.' }),
      description: t.arg.string({ required: false, description: 'A description (default: the database’s name).' }),
    },
    resolve: async (_r, args, ctx) => {
      try {
        return await ctx.services.athena.clients.linkPolykomosDatabase(ctx.principal, args);
      } catch (err) {
        // A Polykomos credential without the scope: FORBIDDEN (yoga would mask a plain AuthorizationError).
        if (err instanceof AuthorizationError) throw new ForbiddenError(err.message, ctx);
        throw err;
      }
    },
  }),
);

// ---- client configs

builder.mutationField('upsertAthenaClientConfig', (t) =>
  t.field({
    type: AthenaClientConfigRef,
    description: 'Creates or replaces a client’s configuration override. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      clientName: t.arg.string({ required: true, description: 'The client name.' }),
      config: t.arg({ type: 'JSON', required: true, description: 'The override object.' }),
      metadata: t.arg({ type: 'JSON', required: false, description: 'Free-form metadata (an object).' }),
    },
    resolve: (_r, { clientName, config, metadata }, ctx) =>
      ctx.services.athena.clients.upsertConfig(ctx.principal, clientName, { config, metadata }),
  }),
);

builder.mutationField('deleteAthenaClientConfig', (t) =>
  t.field({
    type: AthenaClientConfigRef,
    description: 'Removes a client’s override (the client falls back to defaults); returns what was removed.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { clientName: t.arg.string({ required: true, description: 'The client name.' }) },
    resolve: (_r, { clientName }, ctx) => ctx.services.athena.clients.deleteConfig(ctx.principal, clientName),
  }),
);

builder.mutationField('seedAthenaClientConfigs', (t) =>
  t.field({
    type: SeedResultRef,
    description:
      'Seeds clients (source config) and per-client configs from ATRIUM_ATHENA_CONFIG_FILE; repeatable (upsert). ' +
      'Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    resolve: (_r, _args, ctx) => ctx.services.athena.clients.seedFromConfig(ctx.principal),
  }),
);

// ---- public routes

const CreateAthenaPublicRouteInput = builder.inputType('CreateAthenaPublicRouteInput', {
  description: 'A new public route.',
  fields: (t) => ({
    routeKey: t.string({ required: true, description: '1-63 lowercase letters, digits, _ or -.' }),
    clientName: t.string({ required: true, description: 'A live client.' }),
    allowedOps: t.field({ type: [AthenaPublicRouteOpEnum], required: true, description: 'At least one operation.' }),
    isActive: t.boolean({ required: false, description: 'Default true.' }),
    metadata: t.field({ type: 'JSON', required: false, description: 'Free-form metadata (an object).' }),
  }),
});

const UpdateAthenaPublicRouteInput = builder.inputType('UpdateAthenaPublicRouteInput', {
  description: 'Changes to a public route; omitted fields keep their value.',
  fields: (t) => ({
    clientName: t.string({ required: false, description: 'A live client.' }),
    allowedOps: t.field({ type: [AthenaPublicRouteOpEnum], required: false, description: 'Replaces the set.' }),
    isActive: t.boolean({ required: false, description: 'Whether it answers.' }),
    metadata: t.field({ type: 'JSON', required: false, description: 'Replaces the metadata (an object).' }),
  }),
});

builder.mutationField('createAthenaPublicRoute', (t) =>
  t.field({
    type: AthenaPublicRouteRef,
    description: 'Creates a public route (conflict when the key exists). Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { input: t.arg({ type: CreateAthenaPublicRouteInput, required: true, description: 'The route.' }) },
    resolve: (_r, { input }, ctx) =>
      ctx.services.athena.routes.createPublicRoute(ctx.principal, {
        routeKey: input.routeKey,
        clientName: input.clientName,
        allowedOps: input.allowedOps,
        isActive: input.isActive ?? undefined,
        metadata: objectOrUndefined(input.metadata),
      }),
  }),
);

builder.mutationField('updateAthenaPublicRoute', (t) =>
  t.field({
    type: AthenaPublicRouteRef,
    description: 'Changes a public route. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      routeKey: t.arg.string({ required: true, description: 'The route key.' }),
      input: t.arg({ type: UpdateAthenaPublicRouteInput, required: true, description: 'The changes.' }),
    },
    resolve: (_r, { routeKey, input }, ctx) =>
      ctx.services.athena.routes.updatePublicRoute(ctx.principal, routeKey, {
        clientName: input.clientName ?? undefined,
        allowedOps: input.allowedOps ?? undefined,
        isActive: input.isActive ?? undefined,
        metadata: objectOrUndefined(input.metadata),
      }),
  }),
);

builder.mutationField('deleteAthenaPublicRoute', (t) =>
  t.field({
    type: AthenaPublicRouteRef,
    description: 'Deletes a public route; returns what was deleted. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { routeKey: t.arg.string({ required: true, description: 'The route key.' }) },
    resolve: (_r, { routeKey }, ctx) => ctx.services.athena.routes.deletePublicRoute(ctx.principal, routeKey),
  }),
);

// ---- service routes

const CreateAthenaServiceRouteInput = builder.inputType('CreateAthenaServiceRouteInput', {
  description: 'A new tenant service route.',
  fields: (t) => ({
    routeKey: t.string({ required: true, description: '1-63 lowercase letters, digits, _ or -.' }),
    serviceKey: t.string({ required: true, description: '1-63 lowercase letters, digits, _ or -.' }),
    clientName: t.string({ required: true, description: 'A live client.' }),
    upstreamUrl: t.string({ required: true, description: 'http(s), no credentials, a public address.' }),
    isActive: t.boolean({ required: false, description: 'Default true.' }),
    metadata: t.field({ type: 'JSON', required: false, description: 'Free-form metadata (an object).' }),
  }),
});

const UpdateAthenaServiceRouteInput = builder.inputType('UpdateAthenaServiceRouteInput', {
  description: 'Changes to a tenant service route; omitted fields keep their value.',
  fields: (t) => ({
    clientName: t.string({ required: false, description: 'A live client.' }),
    upstreamUrl: t.string({ required: false, description: 'http(s), no credentials, a public address.' }),
    isActive: t.boolean({ required: false, description: 'Whether it is in use.' }),
    metadata: t.field({ type: 'JSON', required: false, description: 'Replaces the metadata (an object).' }),
  }),
});

builder.mutationField('createAthenaServiceRoute', (t) =>
  t.field({
    type: AthenaServiceRouteRef,
    description: 'Creates a tenant service route (conflict when the pair exists). Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { input: t.arg({ type: CreateAthenaServiceRouteInput, required: true, description: 'The route.' }) },
    resolve: (_r, { input }, ctx) =>
      ctx.services.athena.routes.createServiceRoute(ctx.principal, {
        routeKey: input.routeKey,
        serviceKey: input.serviceKey,
        clientName: input.clientName,
        upstreamUrl: input.upstreamUrl,
        isActive: input.isActive ?? undefined,
        metadata: objectOrUndefined(input.metadata),
      }),
  }),
);

builder.mutationField('updateAthenaServiceRoute', (t) =>
  t.field({
    type: AthenaServiceRouteRef,
    description: 'Changes a tenant service route. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      routeKey: t.arg.string({ required: true, description: 'The route key.' }),
      serviceKey: t.arg.string({ required: true, description: 'The service key.' }),
      input: t.arg({ type: UpdateAthenaServiceRouteInput, required: true, description: 'The changes.' }),
    },
    resolve: (_r, { routeKey, serviceKey, input }, ctx) =>
      ctx.services.athena.routes.updateServiceRoute(ctx.principal, routeKey, serviceKey, {
        clientName: input.clientName ?? undefined,
        upstreamUrl: input.upstreamUrl ?? undefined,
        isActive: input.isActive ?? undefined,
        metadata: objectOrUndefined(input.metadata),
      }),
  }),
);

builder.mutationField('deleteAthenaServiceRoute', (t) =>
  t.field({
    type: AthenaServiceRouteRef,
    description: 'Deletes a tenant service route; returns what was deleted. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      routeKey: t.arg.string({ required: true, description: 'The route key.' }),
      serviceKey: t.arg.string({ required: true, description: 'The service key.' }),
    },
    resolve: (_r, { routeKey, serviceKey }, ctx) =>
      ctx.services.athena.routes.deleteServiceRoute(ctx.principal, routeKey, serviceKey),
  }),
);

// ---- tenant hostnames

const AthenaTenantHostnameInput = builder.inputType('AthenaTenantHostnameInput', {
  description: 'A tenant hostname; omitted fields keep their value (or their default for a new tenant).',
  fields: (t) => ({
    clientName: t.string({ required: false, description: 'A live client; required for a new tenant.' }),
    allowedOps: t.field({ type: [AthenaPublicRouteOpEnum], required: false, description: 'Default [fetch].' }),
    enableHttpRoute: t.boolean({ required: false, description: 'Create/update the public route (default true).' }),
    enablePostgresBinding: t.boolean({ required: false, description: 'Recorded only (default false).' }),
    publicHost: t.string({ required: false, description: 'The hostname to publish (a leading *. is allowed).' }),
    publicPort: t.int({ required: false, description: '1-65535.' }),
    routeMetadata: t.field({ type: 'JSON', required: false, description: 'Free-form route metadata (an object).' }),
    persistInCatalog: t.boolean({ required: false, description: 'Also keep it in the client’s metadata.' }),
  }),
});

builder.mutationField('upsertAthenaTenantHostname', (t) =>
  t.field({
    type: TenantHostnamePayloadRef,
    description:
      'Records a tenant’s hostname (create or update); not found for an unknown client. Recorded intent: no DNS ' +
      'or TLS is configured. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      tenant: t.arg.string({ required: true, description: 'The tenant.' }),
      input: t.arg({ type: AthenaTenantHostnameInput, required: true, description: 'The hostname.' }),
    },
    resolve: (_r, { tenant, input }, ctx) => {
      return ctx.services.athena.routes.upsertTenantHostname(ctx.principal, tenant, {
        clientName: input.clientName ?? undefined,
        allowedOps: input.allowedOps ?? undefined,
        enableHttpRoute: input.enableHttpRoute ?? undefined,
        enablePostgresBinding: input.enablePostgresBinding ?? undefined,
        publicHost: input.publicHost,
        publicPort: input.publicPort,
        routeMetadata: objectOrUndefined(input.routeMetadata, 'route_metadata'),
        persistInCatalog: input.persistInCatalog ?? undefined,
      });
    },
  }),
);
