import { builder } from '../../../core/builder.ts';
import { AthenaInvalidInputError } from '../athena.errors.ts';
import {
  type ClusterHealth,
  type ContractRoute,
  type ErrorCatalogEntry,
  type GatewayReport,
  type GatewayRoute,
  type HealthReport,
  httpMethods,
  type RootInfo,
  type RouterEntry,
  type S3Report,
  type SchemaReport,
} from '../meta.service.ts';
import type { DockerProbe, MirrorProbe } from '../meta-probes.ts';
import type { TableComparison } from '../meta-schema.ts';
import type { PoolStats } from '../pools.ts';
import { AthenaClientSourceEnum, AthenaPoolEngineEnum } from './clients.ts';
import { athenaErrors } from './types.ts';

/*
 * Athena's meta fields (G14, docs/athena.md "Meta"): the REST meta routes are documents over these. Health and
 * probes are measured when the field resolves; admin-only reports (schema, gateway, S3, error catalog) need the
 * admin key (FORBIDDEN otherwise).
 */

const ComponentState = builder.enumType('AthenaComponentState', {
  description: 'The state of one of Athena’s components or dependencies, as probed when asked.',
  values: {
    online: { description: 'Present and answering.' },
    offline: { description: 'Absent or not answering (for ScyllaDB: Atrium has no ScyllaDB driver).' },
    not_configured: { description: 'Nothing is configured for it.' },
  } as const,
});

const HttpMethodEnum = builder.enumType('AthenaHttpMethod', {
  description: 'An HTTP method of a contract route.',
  values: Object.fromEntries(httpMethods.map((m) => [m, { description: `The ${m} method.` }])) as Record<
    (typeof httpMethods)[number],
    { description: string }
  >,
});

const ContractRouteRef = builder.objectRef<ContractRoute>('AthenaContractRoute').implement({
  description: 'One path of Athena’s REST contract with its methods and summary.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'The path below `/athena`, e.g. `/gateway/fetch`.' }),
    methods: t.field({
      type: [HttpMethodEnum],
      description: 'The methods the contract declares on the path.',
      resolve: (r) => r.methods,
    }),
    summary: t.exposeString('summary', { nullable: true, description: 'The summary of the path’s first operation.' }),
  }),
});

const RootInfoRef = builder.objectRef<RootInfo>('AthenaRootInfo').implement({
  description: 'What `GET /athena/` answers: Athena’s components and every route of its contract.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'A fixed greeting: `athena is online`.' }),
    version: t.exposeString('version', { description: 'Atrium’s version (package.json).' }),
    api: t.field({
      type: ComponentState,
      description: 'The HTTP API (online when it answers).',
      resolve: (r) => r.api,
    }),
    deadpool: t.field({
      type: ComponentState,
      description: 'The client connection pools (one per client, built on first use).',
      resolve: (r) => r.deadpool,
    }),
    scylladb: t.field({
      type: ComponentState,
      description: 'ScyllaDB: always offline, Atrium has no ScyllaDB driver.',
      resolve: (r) => r.scylladb,
    }),
    routes: t.field({
      type: [ContractRouteRef],
      description: 'Every path of the contract, in document order.',
      resolve: (r) => r.routes,
    }),
  }),
});

const DockerStatusEnum = builder.enumType('AthenaDockerStatus', {
  description: 'What probing the local Docker socket found.',
  values: {
    available: { description: 'The socket exists, is accessible and answered `/_ping`.' },
    not_found: { description: 'There is no socket at the path.' },
    not_a_socket: { description: 'The path exists but is not a socket.' },
    permission_denied: { description: 'The process user may not read and write the socket.' },
    unresponsive: { description: 'The socket is accessible but did not answer `/_ping`.' },
  } as const,
});

const DockerProbeRef = builder.objectRef<DockerProbe>('AthenaDockerProbe').implement({
  description: 'The local Docker socket (`/var/run/docker.sock`) as probed now. Atrium itself does not use Docker.',
  fields: (t) => ({
    available: t.exposeBoolean('available', { description: 'Whether Docker answered through the socket.' }),
    status: t.field({ type: DockerStatusEnum, description: 'What the probe found.', resolve: (p) => p.status }),
    detail: t.exposeString('detail', { description: 'What was checked and what it answered.' }),
    hint: t.exposeString('hint', { nullable: true, description: 'What would make it available, when known.' }),
  }),
});

const HealthStatusEnum = builder.enumType('AthenaHealthStatus', {
  description: 'The overall verdict of `athenaHealth`.',
  values: {
    ok: { description: 'Every required dependency answered.' },
    degraded: { description: 'The auth store (platform database) did not answer.' },
  } as const,
});

const HealthReportRef = builder.objectRef<HealthReport>('AthenaHealthReport').implement({
  description: 'Athena’s health with its dependencies probed now (`GET /athena/health`).',
  fields: (t) => ({
    status: t.field({ type: HealthStatusEnum, description: 'The overall verdict.', resolve: (h) => h.status }),
    message: t.exposeString('message', { description: 'The verdict in words.' }),
    version: t.exposeString('version', { description: 'Atrium’s version (package.json).' }),
    api: t.field({ type: ComponentState, description: 'The HTTP API.', resolve: (h) => h.api }),
    deadpool: t.field({ type: ComponentState, description: 'The client pools.', resolve: (h) => h.deadpool }),
    scylladb: t.field({
      type: ComponentState,
      description: 'ScyllaDB: always offline, Atrium has no ScyllaDB driver.',
      resolve: (h) => h.scylladb,
    }),
    authStore: t.field({
      type: ComponentState,
      description: 'The auth and catalog store: the platform database, queried now.',
      resolve: (h) => h.authStore,
    }),
    authStoreDetail: t.exposeString('authStoreDetail', { description: 'What the auth store query answered.' }),
    benchmarkClient: t.field({
      type: ComponentState,
      description: 'The gateway benchmark client: Atrium configures none.',
      resolve: (h) => h.benchmarkClient,
    }),
    localDocker: t.field({
      type: DockerProbeRef,
      description: 'The local Docker socket, probed now.',
      resolve: (h) => h.localDocker,
    }),
  }),
});

const MirrorStatusEnum = builder.enumType('AthenaMirrorStatus', {
  description: 'Whether a cluster mirror answered its health probe.',
  values: {
    online: { description: 'It answered 2xx JSON on `/athena/health`.' },
    offline: { description: 'It did not answer, timed out, was refused by the outbound guard, or answered non-2xx.' },
  } as const,
});

const MirrorProbeRef = builder.objectRef<MirrorProbe>('AthenaMirrorProbe').implement({
  description: 'One configured cluster mirror, probed now through the outbound guard.',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'The mirror’s base URL as configured.' }),
    status: t.field({ type: MirrorStatusEnum, description: 'Online or offline.', resolve: (m) => m.status }),
    latencyMs: t.exposeFloat('latencyMs', {
      nullable: true,
      description: 'Milliseconds for the whole exchange; null when nothing came back.',
    }),
    downloadBytesPerSec: t.exposeFloat('downloadBytesPerSec', {
      nullable: true,
      description: 'Body bytes over the exchange time; null when nothing came back.',
    }),
    version: t.exposeString('version', { nullable: true, description: 'The version the peer reports, if any.' }),
    message: t.exposeString('message', { description: 'What the probe saw.' }),
    checkedAt: t.expose('checkedAt', { type: 'DateTime', description: 'When the probe started.' }),
  }),
});

const ClusterHealthRef = builder.objectRef<ClusterHealth>('AthenaClusterHealth').implement({
  description: 'Every mirror of `ATRIUM_ATHENA_CLUSTER_MIRRORS`, probed in parallel now.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'How many mirrors are online.' }),
    version: t.exposeString('version', { description: 'This instance’s version.' }),
    mirrors: t.field({ type: [MirrorProbeRef], description: 'One probe per mirror.', resolve: (c) => c.mirrors }),
  }),
});

const SchemaHealthEnum = builder.enumType('AthenaSchemaHealth', {
  description: 'The verdict of the schema comparison.',
  values: {
    healthy: { description: 'Every expected table and column exists.' },
    degraded: { description: 'Tables exist but columns are missing or a relation has another type.' },
    unhealthy: { description: 'Expected tables are missing.' },
  } as const,
});

const SeverityEnum = builder.enumType('AthenaSchemaSeverity', {
  description: 'How serious a schema finding is.',
  values: {
    error: { description: 'Athena cannot work without it.' },
    warning: { description: 'Some features may fail.' },
  } as const,
});

const ReasonCodeEnum = builder.enumType('AthenaSchemaReasonCode', {
  description: 'Kinds of schema findings.',
  values: {
    missing_required_tables: { description: 'Expected tables are missing.' },
    missing_required_columns: { description: 'Expected columns of existing tables are missing.' },
    relation_type_mismatch: { description: 'A table exists as another kind of relation (a view, say).' },
  } as const,
});

const SchemaReasonRef = builder.objectRef<SchemaReport['reasons'][number]>('AthenaSchemaHealthReason').implement({
  description: 'One reason the schema is not healthy.',
  fields: (t) => ({
    code: t.field({ type: ReasonCodeEnum, description: 'The kind of finding.', resolve: (r) => r.code }),
    severity: t.field({ type: SeverityEnum, description: 'How serious it is.', resolve: (r) => r.severity }),
    count: t.exposeInt('count', { description: 'How many tables or columns it concerns.' }),
    message: t.exposeString('message', { description: 'The finding in words.' }),
  }),
});

const ExpectedTableRef = builder.objectRef<TableComparison>('AthenaSchemaTable').implement({
  description: 'One table of Athena’s manifest (prisma/schema/athena.prisma) compared with the database.',
  fields: (t) => ({
    schema: t.exposeString('schema', { description: 'The schema it is expected in (the current schema).' }),
    table: t.string({ description: 'The table name.', resolve: (c) => c.expected.table }),
    model: t.string({ description: 'The Prisma model it comes from.', resolve: (c) => c.expected.model }),
    purpose: t.string({
      description: 'What the table is for (the model’s documentation).',
      resolve: (c) => c.expected.purpose,
    }),
    required: t.boolean({
      description: 'Whether Athena needs it (every manifest table is required).',
      resolve: () => true,
    }),
    expectedColumns: t.stringList({
      description: 'Columns the manifest declares.',
      resolve: (c) => c.expected.columns,
    }),
    found: t.exposeBoolean('found', { description: 'Whether the table exists.' }),
    foundRelationType: t.exposeString('foundRelationType', {
      nullable: true,
      description: 'information_schema’s table_type when found (`BASE TABLE`, `VIEW`, …).',
    }),
    relationTypeMatches: t.exposeBoolean('relationTypeMatches', { description: 'Whether it is a base table.' }),
    foundColumns: t.exposeStringList('foundColumns', { description: 'Columns the table has, in order.' }),
    missingColumns: t.exposeStringList('missingColumns', { description: 'Expected columns it lacks.' }),
    unexpectedColumns: t.exposeStringList('unexpectedColumns', { description: 'Columns the manifest does not list.' }),
  }),
});

const ObservedTableRef = builder.objectRef<SchemaReport['observed'][number]>('AthenaObservedTable').implement({
  description: 'One `athena_*` relation the database holds.',
  fields: (t) => ({
    schema: t.exposeString('schema', { description: 'Its schema.' }),
    table: t.exposeString('table', { description: 'Its name.' }),
    relationType: t.exposeString('relationType', { description: 'information_schema’s table_type.' }),
    columns: t.exposeStringList('columns', { description: 'Its columns, in order.' }),
  }),
});

const SchemaReportRef = builder.objectRef<SchemaReport>('AthenaSchemaReport').implement({
  description: 'Athena’s tables expected (athena.prisma) against observed (information_schema of the platform DB).',
  fields: (t) => ({
    loggingClient: t.exposeString('loggingClient', {
      description: 'Where the tables live: `platform` (Atrium keeps them in the platform database).',
    }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime', description: 'When the comparison ran.' }),
    health: t.field({ type: SchemaHealthEnum, description: 'The verdict.', resolve: (r) => r.health }),
    healthReasons: t.field({
      type: [SchemaReasonRef],
      description: 'Why it is not healthy (empty when healthy).',
      resolve: (r) => r.reasons,
    }),
    expectedTables: t.field({
      type: [ExpectedTableRef],
      description: 'Every manifest table with what was found.',
      resolve: (r) => r.tables,
    }),
    observedTables: t.field({
      type: [ObservedTableRef],
      description: 'Every `athena_*` relation of the current schema.',
      resolve: (r) => r.observed,
    }),
  }),
});

const PoolStatsRef = builder.objectRef<PoolStats>('AthenaGatewayPool').implement({
  description: 'The live pool of one client.',
  fields: (t) => ({
    engine: t.field({ type: AthenaPoolEngineEnum, description: 'What the pool talks to.', resolve: (p) => p.engine }),
    initTime: t.expose('initTime', { type: 'DateTime', description: 'When the pool was built.' }),
    lastUsed: t.expose('lastUsed', { type: 'DateTime', nullable: true, description: 'When it last served a query.' }),
    size: t.exposeInt('size', { description: 'Open connections.' }),
    idle: t.exposeInt('idle', { description: 'Idle connections.' }),
    active: t.exposeInt('active', { description: 'Connections in use.' }),
    waiting: t.exposeInt('waiting', { description: 'Requests waiting for a connection.' }),
    max: t.exposeInt('max', { description: 'The pool’s connection limit.' }),
  }),
});

const GatewayRouteRef = builder.objectRef<GatewayRoute>('AthenaGatewayRoute').implement({
  description: 'One client of the routing table.',
  fields: (t) => ({
    clientName: t.exposeString('clientName', { description: 'The `X-Athena-Client` name.' }),
    source: t.field({
      type: AthenaClientSourceEnum,
      description: 'Where its connection comes from.',
      resolve: (r) => r.source,
    }),
    isActive: t.exposeBoolean('isActive', { description: 'Whether it is active.' }),
    isFrozen: t.exposeBoolean('isFrozen', { description: 'Whether routing to it is suspended.' }),
    routable: t.exposeBoolean('routable', { description: 'Active, not frozen and with a connection configured.' }),
    poolBuilt: t.exposeBoolean('poolBuilt', { description: 'Whether its pool has been built.' }),
    pool: t.field({
      type: PoolStatsRef,
      nullable: true,
      description: 'Its pool statistics; null before first use.',
      resolve: (r) => r.pool,
    }),
  }),
});

const GatewayReportRef = builder.objectRef<GatewayReport>('AthenaGatewayReport').implement({
  description: 'The live routing table of the gateway (`GET /athena/debug/gateway`).',
  fields: (t) => ({
    generatedAt: t.expose('generatedAt', { type: 'DateTime', description: 'When it was read.' }),
    enforceApiKeys: t.exposeBoolean('enforceApiKeys', { description: 'Whether gateway routes require a key.' }),
    directUriHostCount: t.exposeInt('directUriHostCount', {
      description: 'How many hosts direct connection headers may name (0: direct URIs are off).',
    }),
    authStore: t.field({
      type: ComponentState,
      description: 'The control-plane store (platform database), queried now.',
      resolve: (r) => r.authStore,
    }),
    clients: t.field({ type: [GatewayRouteRef], description: 'Every live client.', resolve: (r) => r.clients }),
  }),
});

const S3ReportRef = builder.objectRef<S3Report>('AthenaS3Report').implement({
  description: 'The platform object store as checked now (`GET /athena/debug/s3`). S3 catalogs are not served yet.',
  fields: (t) => ({
    generatedAt: t.expose('generatedAt', { type: 'DateTime', description: 'When the check ran.' }),
    bucket: t.exposeString('bucket', { description: 'The bucket.' }),
    endpoint: t.exposeString('endpoint', { description: 'The S3 endpoint.' }),
    embedded: t.exposeBoolean('embedded', { description: 'Whether it is the embedded S3 server of this process.' }),
    reachable: t.exposeBoolean('reachable', { description: 'Whether HeadBucket succeeded.' }),
    latencyMs: t.exposeFloat('latencyMs', { description: 'How long HeadBucket took, milliseconds.' }),
    message: t.exposeString('message', { description: 'What HeadBucket answered.' }),
  }),
});

const RouterKindEnum = builder.enumType('AthenaRouterEntryKind', {
  description: 'Where a router registry entry comes from.',
  values: {
    contract_route: { description: 'A path of Athena’s REST contract.' },
    public_route: { description: 'A public alias (`athena_public_routes`).' },
    service_route: { description: 'A tenant service binding (`athena_service_routes`).' },
    tenant_hostname: { description: 'A tenant hostname (`athena_tenant_hostnames`, recorded intent).' },
  } as const,
});

const RouterEntryRef = builder.objectRef<RouterEntry>('AthenaRouterEntry').implement({
  description: 'One entry of the router registry.',
  fields: (t) => ({
    kind: t.field({ type: RouterKindEnum, description: 'Where it comes from.', resolve: (e) => e.kind }),
    path: t.exposeString('path', { description: 'The path (or, for a tenant hostname, the host) it routes.' }),
    methods: t.field({
      type: [HttpMethodEnum],
      description: 'Its HTTP methods, when it has any.',
      resolve: (e) => e.methods,
    }),
    summary: t.exposeString('summary', { nullable: true, description: 'What it does.' }),
    routeKey: t.exposeString('routeKey', { nullable: true, description: 'Route key (public and service routes).' }),
    serviceKey: t.exposeString('serviceKey', { nullable: true, description: 'Service key (service routes).' }),
    tenant: t.exposeString('tenant', { nullable: true, description: 'Tenant (tenant hostnames).' }),
    clientName: t.exposeString('clientName', { nullable: true, description: 'The client it routes to.' }),
    allowedOps: t.exposeStringList('allowedOps', { description: 'Operations it allows (aliases, hostnames).' }),
    isActive: t.exposeBoolean('isActive', { description: 'Whether it routes now.' }),
  }),
});

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ApiRegistryEntryRef = builder.prismaNode('AthenaApiRegistryEntry', {
  id: { field: 'id' },
  description: 'A named API of the API registry (`/athena/registry`). Public to read; the admin writes.',
  nullable: true,
  findUnique: (id) => ({ id: uuidPattern.test(id) ? id : '00000000-0000-0000-0000-000000000000' }),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The row id as a plain UUID.' }),
    apiRegistryId: t.exposeString('apiRegistryId', { description: 'The id REST paths use (`api_registry_id`).' }),
    name: t.exposeString('name', { description: 'The API’s name.' }),
    baseUrl: t.exposeString('baseUrl', { nullable: true, description: 'Where the API is served.' }),
    attributes: t.expose('attributes', { type: 'JSON', description: 'Free-form attributes (a JSON object).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first stored.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const ErrorDomainEnum = builder.enumType('AthenaErrorDomain', {
  description: 'The part of Athena an error code belongs to.',
  values: {
    auth: { description: 'Credentials and rights.' },
    client: { description: 'The client catalog and routing.' },
    gateway: { description: 'The gateway data plane.' },
    schema: { description: 'Schema introspection.' },
    management: { description: 'Management DDL.' },
    meta: { description: 'Meta routes.' },
    platform: { description: 'Generic request handling.' },
    chat: { description: 'Chat rooms, messages and sessions.' },
    storage: { description: 'Raw S3 objects and buckets, S3 catalogs and credentials.' },
  } as const,
});

const ErrorCatalogEntryRef = builder.objectRef<ErrorCatalogEntry>('AthenaErrorCatalogEntry').implement({
  description: 'One code of Athena’s error catalog. Numbers are stable and append-only.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'The machine-readable code (`AthenaError.code`).' }),
    domain: t.field({ type: ErrorDomainEnum, description: 'Its domain.', resolve: (e) => e.domain }),
    number: t.exposeInt('number', { description: 'Its stable number.' }),
    title: t.exposeString('title', { description: 'What it means.' }),
    docsUrl: t.exposeString('docsUrl', { description: '`https://docs.athena-cluster.com/<number>`.' }),
  }),
});

const WssStateEnum = builder.enumType('AthenaRealtimeState', {
  description: 'Whether a realtime subscription is served by this build.',
  values: {
    served: { description: 'The subscription field exists in the schema.' },
    not_served: { description: 'The subscription is documented but its field is not in this build’s schema.' },
  } as const,
});

/** What Athena's realtime surface is: GraphQL subscriptions over graphql-ws, no `/wss/gateway` socket. */
interface WebSocketInfo {
  transport: string;
  path: string;
  state: 'served' | 'not_served';
  subscriptions: string[];
  notes: string[];
}

const WebSocketInfoRef = builder.objectRef<WebSocketInfo>('AthenaWebSocketInfo').implement({
  description: 'Athena’s realtime contract as this build serves it (`GET /athena/wss/info`, `/openapi-wss.yaml`).',
  fields: (t) => ({
    transport: t.exposeString('transport', { description: 'The protocol: `graphql-ws` (GraphQL over WebSocket).' }),
    path: t.exposeString('path', { description: 'Where to connect: the GraphQL endpoint `/graphql`.' }),
    state: t.field({
      type: WssStateEnum,
      description: 'Whether `gatewayRowsChanged` is in this build’s schema.',
      resolve: (w) => w.state,
    }),
    subscriptions: t.exposeStringList('subscriptions', {
      description: 'Athena subscription fields present in the schema (those starting with `gateway` or `athena`).',
    }),
    notes: t.exposeStringList('notes', { description: 'What is and is not served.' }),
  }),
});

builder.queryFields((t) => ({
  athenaRoot: t.field({
    type: RootInfoRef,
    description: 'Athena’s components and the routes of its contract. Public.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.root(ctx.principal),
  }),
  athenaHealth: t.field({
    type: HealthReportRef,
    description: 'Athena’s health: the platform database and the local Docker socket probed now. Public.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.health(ctx.principal),
  }),
  athenaClusterHealth: t.field({
    type: ClusterHealthRef,
    description: 'Every configured cluster mirror probed now (ATRIUM_ATHENA_CLUSTER_MIRRORS). Public.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.clusterHealth(ctx.principal),
  }),
  athenaSchemaReport: t.field({
    type: SchemaReportRef,
    description: 'Athena’s tables expected against observed. Admin only.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.schemaReport(ctx.principal),
  }),
  athenaGatewayReport: t.field({
    type: GatewayReportRef,
    description: 'The gateway’s live routing table and pools. Admin only.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.gatewayReport(ctx.principal),
  }),
  athenaS3Report: t.field({
    type: S3ReportRef,
    description: 'The platform object store checked now (HeadBucket). Admin only.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.s3Report(ctx.principal),
  }),
  athenaRouterRegistry: t.field({
    type: [RouterEntryRef],
    description:
      'The router registry: contract routes, public aliases, service routes, tenant hostnames. Public; a plain ' +
      'list because the REST route answers it whole.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.routerRegistry(ctx.principal),
  }),
  athenaApiRegistry: t.field({
    type: [ApiRegistryEntryRef],
    description: 'Every API registry entry, oldest first. Public; a plain list because REST answers it whole.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.registry(ctx.principal),
  }),
  athenaApiRegistryEntry: t.field({
    type: ApiRegistryEntryRef,
    description: 'One API registry entry by its `apiRegistryId`. Public.',
    errors: athenaErrors,
    args: { apiRegistryId: t.arg.string({ required: true, description: 'The entry’s `api_registry_id`.' }) },
    resolve: (_r, a, ctx) => ctx.services.athena.meta.registryEntry(ctx.principal, a.apiRegistryId),
  }),
  athenaErrorCatalog: t.field({
    type: [ErrorCatalogEntryRef],
    description: 'Athena’s error catalog: every code with its domain, stable number and docs URL. Admin only.',
    resolve: (_r, _a, ctx) => ctx.services.athena.meta.errorCatalog(ctx.principal),
  }),
  athenaWebSocketInfo: t.field({
    type: WebSocketInfoRef,
    description: 'Athena’s realtime contract as this build serves it, read from the schema itself. Public.',
    resolve: (_r, _a, _ctx, info): WebSocketInfo => {
      const fields = Object.keys(info.schema.getSubscriptionType()?.getFields() ?? {});
      const subscriptions = fields.filter((f) => f.startsWith('gateway') || f.startsWith('athena'));
      const served = fields.includes('gatewayRowsChanged');
      return {
        transport: 'graphql-ws',
        path: '/graphql',
        state: served ? 'served' : 'not_served',
        subscriptions,
        notes: [
          'Atrium serves no /wss/gateway socket: gateway reads and writes are REST (/athena/gateway/*) and GraphQL.',
          'Realtime is GraphQL subscriptions over the graphql-ws protocol on /graphql (subprotocol graphql-transport-ws).',
          served
            ? 'Subscription gatewayRowsChanged notifies when rows of a client table change through the gateway.'
            : 'Subscription gatewayRowsChanged is not in this build’s schema yet.',
          'Credentials: the connection_init payload carries the key, as for every GraphQL subscription.',
          'The contract is /athena/openapi-wss.yaml.',
        ],
      };
    },
  }),
}));

const RegistryEntryInput = builder.inputType('AthenaApiRegistryEntryInput', {
  description: 'An API registry entry to create or replace (keyed by `apiRegistryId`).',
  fields: (t) => ({
    apiRegistryId: t.string({ required: true, description: '1-128 characters of A-Z a-z 0-9 . _ : -' }),
    name: t.string({ required: true, description: 'The API’s name (1-200 characters).' }),
    baseUrl: t.string({ required: false, description: 'Where the API is served (an http(s) URL).' }),
    attributes: t.field({ type: 'JSON', required: false, description: 'Free-form attributes (a JSON object).' }),
  }),
});

builder.mutationFields((t) => ({
  upsertAthenaApiRegistryEntry: t.field({
    type: ApiRegistryEntryRef,
    description: 'Creates or replaces an API registry entry — the only way entries are made. Admin only.',
    errors: athenaErrors,
    args: { input: t.arg({ type: RegistryEntryInput, required: true, description: 'The entry.' }) },
    resolve: (_r, { input }, ctx) => {
      const attributes = input.attributes;
      if (
        attributes !== undefined &&
        attributes !== null &&
        (typeof attributes !== 'object' || Array.isArray(attributes))
      ) {
        throw new AthenaInvalidInputError('attributes must be a JSON object');
      }
      return ctx.services.athena.meta.upsertRegistryEntry(ctx.principal, {
        apiRegistryId: input.apiRegistryId,
        name: input.name,
        baseUrl: input.baseUrl ?? null,
        attributes: (attributes as Record<string, unknown> | null | undefined) ?? null,
      });
    },
  }),
  deleteAthenaApiRegistryEntry: t.field({
    type: ApiRegistryEntryRef,
    description: 'Deletes an API registry entry; answers the deleted entry. Admin only.',
    errors: athenaErrors,
    args: { apiRegistryId: t.arg.string({ required: true, description: 'The entry’s `api_registry_id`.' }) },
    resolve: (_r, a, ctx) => ctx.services.athena.meta.deleteRegistryEntry(ctx.principal, a.apiRegistryId),
  }),
}));
