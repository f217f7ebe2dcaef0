import { readFileSync } from 'node:fs';
import { Gauge, Registry } from 'prom-client';
import type { AthenaApiRegistryEntry, AthenaClientSource } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { Database, Prisma, PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { OutboundPolicy } from '../../core/net/outbound.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import { requireAdmin } from './athena.access.ts';
import type { AthenaConfig } from './athena.config.ts';
import { AthenaInvalidInputError, AthenaNotFoundError } from './athena.errors.ts';
import type { AthenaClientsService } from './clients.service.ts';
import { type AthenaErrorEntry, athenaErrorCatalog, docsUrl } from './error-catalog.ts';
import { type DockerProbe, type MirrorProbe, probeDockerSocket, probeMirror } from './meta-probes.ts';
import { athenaSchemaManifest, compareSchema, type ObservedTable, type SchemaComparison } from './meta-schema.ts';
import type { PoolStats } from './pools.ts';

/*
 * Athena's meta routes (G14, docs/athena.md "Meta"): what the process is and serves, how its dependencies are,
 * the registries. Every answer is measured or read when asked, never assumed: the Docker socket and the mirrors
 * are probed, the platform database and the object store are queried, ScyllaDB is reported offline because
 * Atrium has no ScyllaDB driver.
 */

/** Atrium's version (package.json); Athena's `cargo_toml_version` fields carry it. */
export const atriumVersion: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A dependency's state as the health routes report it. */
export type ComponentState = 'online' | 'offline' | 'not_configured';

/** The HTTP methods a contract route may have. */
export const httpMethods = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE'] as const;
export type HttpMethod = (typeof httpMethods)[number];

/** One path of Athena's contract. */
export interface ContractRoute {
  path: string;
  methods: HttpMethod[];
  summary: string | null;
}

/** The routes of Athena's contract (`rest-shim/specs/athena.openapi.json`), in document order. */
export function contractRoutes(document: { paths?: Record<string, Record<string, unknown>> }): ContractRoute[] {
  const routes: ContractRoute[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    const methods = httpMethods.filter((m) => typeof item[m.toLowerCase()] === 'object');
    if (methods.length === 0) continue;
    const first = item[(methods[0] as string).toLowerCase()] as { summary?: unknown };
    routes.push({ path, methods, summary: typeof first.summary === 'string' ? first.summary : null });
  }
  return routes;
}

let loadedRoutes: ContractRoute[] | undefined;
function athenaContractRoutes(): ContractRoute[] {
  loadedRoutes ??= contractRoutes(
    JSON.parse(readFileSync(new URL('../../../rest-shim/specs/athena.openapi.json', import.meta.url), 'utf8')),
  );
  return loadedRoutes;
}

export interface RootInfo {
  message: string;
  version: string;
  api: ComponentState;
  deadpool: ComponentState;
  scylladb: ComponentState;
  routes: ContractRoute[];
}

export interface HealthReport extends Omit<RootInfo, 'routes'> {
  status: 'ok' | 'degraded';
  authStore: ComponentState;
  /** Whether the auth store answered, or why not. */
  authStoreDetail: string;
  benchmarkClient: ComponentState;
  localDocker: DockerProbe;
}

export interface ClusterHealth {
  message: string;
  version: string;
  mirrors: MirrorProbe[];
}

export interface SchemaReport extends SchemaComparison {
  /** Where Athena's tables live: Atrium keeps them in the platform database (no separate logging client). */
  loggingClient: string;
  generatedAt: Date;
  observed: ObservedTable[];
}

/** One client of the routing table (`/debug/gateway`). */
export interface GatewayRoute {
  clientName: string;
  source: AthenaClientSource;
  isActive: boolean;
  isFrozen: boolean;
  /** Whether a request would be routed: active, not frozen, with a connection. */
  routable: boolean;
  poolBuilt: boolean;
  pool: PoolStats | null;
}

export interface GatewayReport {
  generatedAt: Date;
  enforceApiKeys: boolean;
  directUriHostCount: number;
  authStore: ComponentState;
  clients: GatewayRoute[];
}

export interface S3Report {
  generatedAt: Date;
  bucket: string;
  endpoint: string;
  embedded: boolean;
  reachable: boolean;
  latencyMs: number;
  message: string;
}

/** What the router registry lists: contract routes, public aliases, service routes, tenant hostnames. */
export type RouterEntryKind = 'contract_route' | 'public_route' | 'service_route' | 'tenant_hostname';

export interface RouterEntry {
  kind: RouterEntryKind;
  path: string;
  methods: HttpMethod[];
  summary: string | null;
  routeKey: string | null;
  serviceKey: string | null;
  tenant: string | null;
  clientName: string | null;
  allowedOps: string[];
  isActive: boolean;
}

export interface RegistryEntryInput {
  apiRegistryId: string;
  name: string;
  baseUrl?: string | null;
  attributes?: Record<string, unknown> | null;
}

export interface ErrorCatalogEntry extends AthenaErrorEntry {
  docsUrl: string;
}

/** Registry ids as paths and GraphQL carry them: printable, no slashes, bounded. */
const registryIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

const hour = 3_600_000;
/** How long one round of mirror probes answers `/health/cluster` (see `clusterHealth`). */
export const clusterProbeReuseMs = 2000;

export class AthenaMetaService {
  private readonly startedAt = Date.now();
  private lastProbes: MirrorProbe[] = [];
  private probeRound: { startedAt: number; result: Promise<ClusterHealth> } | undefined;
  private readonly promRegistry = new Registry();
  /** Totals of Athena REST requests, one per hour, for the 24-hour aggregate. */
  private readonly hourly: { at: number; total: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly mutations = new Map<string, number>();

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      db: Database;
      objectStore: ObjectStore;
      outbound: OutboundPolicy;
      metrics: Metrics;
      logger: Logger;
      config: AthenaConfig;
      clients: AthenaClientsService;
    },
  ) {
    this.declareMetrics();
    this.hourly.push({ at: this.startedAt, total: 0 });
    this.timer = setInterval(() => {
      void this.restTotals().then((t) => this.snapshot(t.total));
    }, hour);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** `GET /`: what is online and every route of the contract. */
  root(_principal: Principal): RootInfo {
    return {
      message: 'athena is online',
      version: atriumVersion,
      api: 'online',
      deadpool: 'online',
      scylladb: 'offline',
      routes: athenaContractRoutes(),
    };
  }

  /** `GET /health`: the auth store (platform database) and the local Docker socket are probed now. */
  async health(principal: Principal): Promise<HealthReport> {
    const [store, localDocker] = await Promise.all([this.authStore(), probeDockerSocket()]);
    const { routes: _routes, ...root } = this.root(principal);
    return {
      ...root,
      message: store.state === 'online' ? 'athena is online' : 'athena is online; the auth store is unreachable',
      status: store.state === 'online' ? 'ok' : 'degraded',
      authStore: store.state,
      authStoreDetail: store.detail,
      benchmarkClient: 'not_configured',
      localDocker,
    };
  }

  private async authStore(): Promise<{ state: ComponentState; detail: string }> {
    try {
      await withTimeout(this.deps.db.check(), 2000);
      return { state: 'online', detail: 'the platform database answered' };
    } catch (err) {
      return { state: 'offline', detail: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * `GET /health/cluster`: every configured mirror probed in parallel, each within the mirror timeout. The route is
   * public, so callers share one round of probes: concurrent calls join the one in flight, and a round is reused
   * for `clusterProbeReuseMs` — anonymous traffic cannot multiply outbound requests.
   */
  clusterHealth(_principal: Principal): Promise<ClusterHealth> {
    const now = Date.now();
    if (this.probeRound && now - this.probeRound.startedAt < clusterProbeReuseMs) return this.probeRound.result;
    const result = this.probeMirrors();
    this.probeRound = { startedAt: now, result };
    result.catch(() => {
      this.probeRound = undefined;
    });
    return result;
  }

  private async probeMirrors(): Promise<ClusterHealth> {
    const policy: OutboundPolicy = {
      ...this.deps.outbound,
      timeoutMs: Math.min(this.deps.outbound.timeoutMs, 5000),
      maxResponseBytes: 256 * 1024,
    };
    const mirrors = await Promise.all(this.deps.config.clusterMirrors.map((m) => probeMirror(m, policy)));
    this.lastProbes = mirrors;
    const online = mirrors.filter((m) => m.status === 'online').length;
    return {
      message:
        mirrors.length === 0
          ? 'no cluster mirrors are configured (ATRIUM_ATHENA_CLUSTER_MIRRORS)'
          : `${online} of ${mirrors.length} mirror(s) online`,
      version: atriumVersion,
      mirrors,
    };
  }

  /** `GET /debug/schema` (admin): Athena's tables, expected (athena.prisma) against observed (information_schema). */
  async schemaReport(principal: Principal): Promise<SchemaReport> {
    requireAdmin(principal);
    const rows = await this.deps.prisma.$queryRaw<
      { table_schema: string; table_name: string; table_type: string; columns: string[] | null }[]
    >`
      SELECT t.table_schema, t.table_name, t.table_type,
             array_agg(c.column_name::text ORDER BY c.ordinal_position) FILTER (WHERE c.column_name IS NOT NULL) AS columns
        FROM information_schema.tables t
        LEFT JOIN information_schema.columns c
          ON c.table_schema = t.table_schema AND c.table_name = t.table_name
       WHERE t.table_schema = current_schema() AND t.table_name LIKE 'athena\\_%'
       GROUP BY t.table_schema, t.table_name, t.table_type
       ORDER BY t.table_name`;
    const schemaRow = await this.deps.prisma.$queryRaw<{ s: string }[]>`SELECT current_schema() AS s`;
    const schema = schemaRow[0]?.s ?? 'public';
    const observed: ObservedTable[] = rows.map((r) => ({
      schema: r.table_schema,
      table: r.table_name,
      relationType: r.table_type,
      columns: r.columns ?? [],
    }));
    return {
      ...compareSchema(athenaSchemaManifest(), observed, schema),
      loggingClient: 'platform',
      generatedAt: new Date(),
      observed,
    };
  }

  /** `GET /debug/gateway` (admin): the routing table — every client, whether it routes, and its pool. */
  async gatewayReport(principal: Principal): Promise<GatewayReport> {
    requireAdmin(principal);
    const [clients, pools, store] = await Promise.all([
      this.deps.clients.list(principal),
      this.deps.clients.poolStats(principal),
      this.authStore(),
    ]);
    const poolOf = new Map(pools.map((p) => [p.clientName, p]));
    return {
      generatedAt: new Date(),
      enforceApiKeys: this.deps.clients.enforces(),
      directUriHostCount: this.deps.config.directUriHosts.length,
      authStore: store.state,
      clients: clients.map((c) => ({
        clientName: c.clientName,
        source: c.source,
        isActive: c.isActive,
        isFrozen: c.isFrozen,
        routable: c.isActive && !c.isFrozen && (c.pgUri !== null || c.pgUriEnvVar !== null || c.source === 'embedded'),
        poolBuilt: poolOf.has(c.clientName),
        pool: poolOf.get(c.clientName) ?? null,
      })),
    };
  }

  /** `GET /debug/s3` (admin): the platform object store, with a real HeadBucket now. */
  async s3Report(principal: Principal): Promise<S3Report> {
    requireAdmin(principal);
    const store = this.deps.objectStore;
    const started = performance.now();
    let reachable = true;
    let message = `bucket ${store.bucket} answered HeadBucket`;
    try {
      await store.check();
    } catch (err) {
      reachable = false;
      message = `HeadBucket failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    return {
      generatedAt: new Date(),
      bucket: store.bucket,
      endpoint: store.endpoint,
      embedded: store.embedded,
      reachable,
      latencyMs: Math.round((performance.now() - started) * 100) / 100,
      message,
    };
  }

  /** `GET /router/registry`: the contract's routes, then the public aliases, service routes and tenant hostnames. */
  async routerRegistry(_principal: Principal): Promise<RouterEntry[]> {
    const { prisma } = this.deps;
    const [publicRoutes, serviceRoutes, hostnames] = await Promise.all([
      prisma.athenaPublicRoute.findMany({ orderBy: { routeKey: 'asc' } }),
      prisma.athenaServiceRoute.findMany({ orderBy: [{ routeKey: 'asc' }, { serviceKey: 'asc' }] }),
      prisma.athenaTenantHostname.findMany({ orderBy: { tenant: 'asc' } }),
    ]);
    const none = { routeKey: null, serviceKey: null, tenant: null, clientName: null, allowedOps: [] };
    return [
      ...athenaContractRoutes().map((r): RouterEntry => ({ kind: 'contract_route', ...r, ...none, isActive: true })),
      ...publicRoutes.map(
        (r): RouterEntry => ({
          kind: 'public_route',
          path: `/public/${r.routeKey}/{op}`,
          methods: ['POST'],
          summary: `Public alias onto client ${r.clientName}`,
          ...none,
          routeKey: r.routeKey,
          clientName: r.clientName,
          allowedOps: r.allowedOps,
          isActive: r.isActive,
        }),
      ),
      ...serviceRoutes.map(
        (r): RouterEntry => ({
          kind: 'service_route',
          path: `/${r.routeKey}/${r.serviceKey}`,
          methods: [],
          summary: `Service ${r.serviceKey} of route ${r.routeKey} for client ${r.clientName}`,
          ...none,
          routeKey: r.routeKey,
          serviceKey: r.serviceKey,
          clientName: r.clientName,
          isActive: r.isActive,
        }),
      ),
      ...hostnames.map(
        (h): RouterEntry => ({
          kind: 'tenant_hostname',
          path: h.publicHost ?? h.tenant,
          methods: [],
          summary: `Tenant hostname ${h.tenant} for client ${h.clientName} (recorded intent)`,
          ...none,
          tenant: h.tenant,
          clientName: h.clientName,
          allowedOps: h.allowedOps,
          isActive: h.enableHttpRoute,
        }),
      ),
    ];
  }

  /** `GET /registry`: every API registry row, oldest first (read fresh each time: there is no cache to skip). */
  registry(_principal: Principal): Promise<AthenaApiRegistryEntry[]> {
    return this.deps.prisma.athenaApiRegistryEntry.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  /** `GET /registry/{api_registry_id}`: one row; not_found when missing. */
  async registryEntry(_principal: Principal, apiRegistryId: string): Promise<AthenaApiRegistryEntry> {
    const row = registryIdPattern.test(apiRegistryId)
      ? await this.deps.prisma.athenaApiRegistryEntry.findUnique({ where: { apiRegistryId } })
      : null;
    if (!row) throw new AthenaNotFoundError('API registry entry', apiRegistryId);
    return row;
  }

  /** Creates or replaces a registry row (admin): the only way rows get into the registry. */
  async upsertRegistryEntry(principal: Principal, input: RegistryEntryInput): Promise<AthenaApiRegistryEntry> {
    requireAdmin(principal);
    if (!registryIdPattern.test(input.apiRegistryId)) {
      throw new AthenaInvalidInputError('apiRegistryId must be 1-128 characters of A-Z a-z 0-9 . _ : -');
    }
    const name = input.name.trim();
    if (name === '' || name.length > 200) throw new AthenaInvalidInputError('name must be 1-200 characters');
    if (input.baseUrl !== undefined && input.baseUrl !== null) {
      let ok = false;
      try {
        ok = ['http:', 'https:'].includes(new URL(input.baseUrl).protocol);
      } catch {}
      if (!ok || input.baseUrl.length > 2048) throw new AthenaInvalidInputError('baseUrl must be an http(s) URL');
    }
    const attributes = (input.attributes ?? {}) as Prisma.InputJsonObject;
    const data = { name, baseUrl: input.baseUrl ?? null, attributes };
    const row = await this.deps.prisma.athenaApiRegistryEntry.upsert({
      where: { apiRegistryId: input.apiRegistryId },
      create: { apiRegistryId: input.apiRegistryId, ...data },
      update: data,
    });
    this.countMutation('registry_upsert');
    return row;
  }

  /** Deletes a registry row (admin); not_found when missing. */
  async deleteRegistryEntry(principal: Principal, apiRegistryId: string): Promise<AthenaApiRegistryEntry> {
    requireAdmin(principal);
    const row = await this.registryEntry(principal, apiRegistryId);
    await this.deps.prisma.athenaApiRegistryEntry.delete({ where: { id: row.id } });
    this.countMutation('registry_delete');
    return row;
  }

  /** `GET /admin/errors/catalog` (admin): every registered code with its number and docs URL. */
  errorCatalog(principal: Principal): ErrorCatalogEntry[] {
    requireAdmin(principal);
    return athenaErrorCatalog.map((e) => ({ ...e, docsUrl: docsUrl(e.number) }));
  }

  /** Counts one management mutation for `/metrics` (`athena_management_mutations_total{kind}`). */
  countMutation(kind: string): void {
    if (!/^[a-z0-9_]{1,64}$/.test(kind)) return;
    this.mutations.set(kind, (this.mutations.get(kind) ?? 0) + 1);
  }

  /** `GET /metrics`: Athena's own series in the Prometheus text format. */
  async metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.promRegistry.contentType, body: await this.promRegistry.metrics() };
  }

  private async restTotals(): Promise<{ total: number; byLabel: { operation: string; status: string; n: number }[] }> {
    const counter = await this.deps.metrics.httpRequests.get();
    const byLabel = counter.values
      .filter((v) => v.labels.surface === 'rest:athena')
      .map((v) => ({ operation: String(v.labels.operation), status: String(v.labels.status), n: v.value }));
    return { total: byLabel.reduce((n, v) => n + v.n, 0), byLabel };
  }

  private snapshot(total: number): void {
    this.hourly.push({ at: Date.now(), total });
    while (this.hourly.length > 25) this.hourly.shift();
  }

  private declareMetrics(): void {
    const registers = [this.promRegistry];
    const started = this.startedAt;
    new Gauge({
      name: 'athena_uptime_seconds',
      help: 'Seconds since this Athena instance started',
      registers,
      collect() {
        this.set((Date.now() - started) / 1000);
      },
    });
    const service = this;
    new Gauge({
      name: 'athena_http_requests',
      help: 'Athena REST requests answered since start, by operation and status (a counter value)',
      labelNames: ['operation', 'status'],
      registers,
      async collect() {
        const { byLabel } = await service.restTotals();
        this.reset();
        for (const v of byLabel) this.set({ operation: v.operation, status: v.status }, v.n);
      },
    });
    new Gauge({
      name: 'athena_http_requests_24h',
      help: 'Athena REST requests answered in the last 24 hours (since start when younger)',
      registers,
      async collect() {
        const { total } = await service.restTotals();
        const cutoff = Date.now() - 24 * hour;
        const base = service.hourly.find((s) => s.at >= cutoff) ?? service.hourly[0];
        this.set(total - (base?.total ?? 0));
      },
    });
    new Gauge({
      name: 'athena_management_mutations',
      help: 'Athena management mutations since start, by kind (a counter value)',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, n] of service.mutations) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'athena_cluster_mirror_up',
      help: 'Whether a mirror answered the last /health/cluster probe (1) or not (0)',
      labelNames: ['mirror'],
      registers,
      collect() {
        this.reset();
        for (const m of service.lastProbes) this.set({ mirror: m.url }, m.status === 'online' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'athena_cluster_mirror_latency_ms',
      help: 'Latency of the last /health/cluster probe of a mirror that answered, milliseconds',
      labelNames: ['mirror'],
      registers,
      collect() {
        this.reset();
        for (const m of service.lastProbes) if (m.latencyMs !== null) this.set({ mirror: m.url }, m.latencyMs);
      },
    });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
