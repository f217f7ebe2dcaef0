import {
  type AthenaPublicRoute,
  type AthenaServiceRoute,
  type AthenaTenantHostname,
  Prisma,
} from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { OutboundBlockedError, type OutboundPolicy, validateOutboundUrl } from '../../core/net/outbound.ts';
import { requireAdmin } from './athena.access.ts';
import { clientNamePattern } from './athena.config.ts';
import { AthenaConflictError, AthenaInvalidInputError, AthenaNotFoundError } from './athena.errors.ts';
import type { AthenaClientsService } from './clients.service.ts';

/** The gateway operations a public route (`/public/{route_key}/{op}`) may expose: a closed list. */
export const publicRouteOps = ['query', 'fetch', 'insert', 'update', 'delete'] as const;
export type PublicRouteOp = (typeof publicRouteOps)[number];

/** Route keys, service keys and tenants appear in paths and hostnames: one DNS-label-like word. */
export const routeKeyPattern = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;
const hostnamePattern =
  /^(?=.{1,253}$)(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export interface CreatePublicRouteInput {
  routeKey: string;
  clientName: string;
  allowedOps: readonly string[];
  isActive?: boolean;
  metadata?: Record<string, unknown>;
}

export interface UpdatePublicRouteInput {
  clientName?: string;
  allowedOps?: readonly string[];
  isActive?: boolean;
  metadata?: Record<string, unknown>;
}

export interface CreateServiceRouteInput {
  routeKey: string;
  serviceKey: string;
  clientName: string;
  upstreamUrl: string;
  isActive?: boolean;
  metadata?: Record<string, unknown>;
}

export interface UpdateServiceRouteInput {
  clientName?: string;
  upstreamUrl?: string;
  isActive?: boolean;
  metadata?: Record<string, unknown>;
}

export interface TenantHostnameInput {
  /** Required when the tenant is new; an existing tenant keeps its client when omitted. */
  clientName?: string;
  allowedOps?: readonly string[];
  enableHttpRoute?: boolean;
  enablePostgresBinding?: boolean;
  publicHost?: string | null;
  publicPort?: number | null;
  routeMetadata?: Record<string, unknown>;
  persistInCatalog?: boolean;
}

/** A tenant hostname as recorded, with the public route it created or updated (when `enable_http_route`). */
export interface TenantHostnameResult {
  hostname: AthenaTenantHostname;
  publicRoute: AthenaPublicRoute | null;
}

/** Ops as given, checked against the closed list and deduplicated; an empty list exposes nothing and is refused. */
export function checkOps(ops: readonly string[]): PublicRouteOp[] {
  if (ops.length === 0) throw new AthenaInvalidInputError('allowed_ops must name at least one operation');
  const out: PublicRouteOp[] = [];
  for (const op of ops) {
    if (!(publicRouteOps as readonly string[]).includes(op)) {
      throw new AthenaInvalidInputError(`allowed_ops: "${op}" is not one of ${publicRouteOps.join(', ')}`);
    }
    if (!out.includes(op as PublicRouteOp)) out.push(op as PublicRouteOp);
  }
  return out;
}

function checkKey(value: string, field: string): void {
  if (!routeKeyPattern.test(value)) {
    throw new AthenaInvalidInputError(`${field} must be 1-63 lowercase letters, digits, _ or - (not at either end)`);
  }
}

const uniqueViolation = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

/**
 * Routing aliases of the client catalog (G5): public routes onto a client's gateway operations, tenant service
 * bindings to upstream URLs (checked by the outbound guard), and tenant hostnames — recorded intent: Atrium
 * configures no DNS or TLS for them.
 */
export class AthenaRoutesService {
  constructor(
    private readonly deps: { prisma: PrismaClient; clients: AthenaClientsService; outbound: OutboundPolicy },
  ) {}

  /** A live client of that name, or 400 (a route onto an unknown client is invalid input, like `X-Athena-Client`). */
  private async liveClient(clientName: string): Promise<void> {
    if (!clientNamePattern.test(clientName) || !(await this.deps.clients.find(clientName))) {
      throw new AthenaInvalidInputError(`client "${clientName}" is not a live Athena client`, 'unknown_client');
    }
  }

  async listPublicRoutes(principal: Principal): Promise<AthenaPublicRoute[]> {
    requireAdmin(principal);
    return this.deps.prisma.athenaPublicRoute.findMany({ orderBy: [{ routeKey: 'asc' }] });
  }

  async publicRoute(principal: Principal, routeKey: string): Promise<AthenaPublicRoute> {
    requireAdmin(principal);
    const row = routeKeyPattern.test(routeKey)
      ? await this.deps.prisma.athenaPublicRoute.findUnique({ where: { routeKey } })
      : null;
    if (!row) throw new AthenaNotFoundError('public route', routeKey);
    return row;
  }

  async publicRouteById(principal: Principal, id: string): Promise<AthenaPublicRoute | null> {
    requireAdmin(principal);
    return uuidPattern.test(id) ? this.deps.prisma.athenaPublicRoute.findUnique({ where: { id } }) : null;
  }

  async createPublicRoute(principal: Principal, input: CreatePublicRouteInput): Promise<AthenaPublicRoute> {
    requireAdmin(principal);
    checkKey(input.routeKey, 'route_key');
    const allowedOps = checkOps(input.allowedOps);
    await this.liveClient(input.clientName);
    try {
      return await this.deps.prisma.athenaPublicRoute.create({
        data: {
          routeKey: input.routeKey,
          clientName: input.clientName,
          allowedOps,
          isActive: input.isActive ?? true,
          metadata: (input.metadata ?? {}) as Prisma.InputJsonValue,
        },
      });
    } catch (err) {
      if (uniqueViolation(err)) throw new AthenaConflictError(`public route "${input.routeKey}" already exists`);
      throw err;
    }
  }

  async updatePublicRoute(
    principal: Principal,
    routeKey: string,
    input: UpdatePublicRouteInput,
  ): Promise<AthenaPublicRoute> {
    const row = await this.publicRoute(principal, routeKey);
    const allowedOps = input.allowedOps === undefined ? undefined : checkOps(input.allowedOps);
    if (input.clientName !== undefined) await this.liveClient(input.clientName);
    return this.deps.prisma.athenaPublicRoute.update({
      where: { id: row.id },
      data: {
        ...(input.clientName !== undefined ? { clientName: input.clientName } : {}),
        ...(allowedOps !== undefined ? { allowedOps } : {}),
        ...(input.isActive !== undefined ? { isActive: input.isActive } : {}),
        ...(input.metadata !== undefined ? { metadata: input.metadata as Prisma.InputJsonValue } : {}),
      },
    });
  }

  async deletePublicRoute(principal: Principal, routeKey: string): Promise<AthenaPublicRoute> {
    const row = await this.publicRoute(principal, routeKey);
    await this.deps.prisma.athenaPublicRoute.delete({ where: { id: row.id } });
    return row;
  }

  async listServiceRoutes(principal: Principal): Promise<AthenaServiceRoute[]> {
    requireAdmin(principal);
    return this.deps.prisma.athenaServiceRoute.findMany({ orderBy: [{ routeKey: 'asc' }, { serviceKey: 'asc' }] });
  }

  async serviceRoute(principal: Principal, routeKey: string, serviceKey: string): Promise<AthenaServiceRoute> {
    requireAdmin(principal);
    const row =
      routeKeyPattern.test(routeKey) && routeKeyPattern.test(serviceKey)
        ? await this.deps.prisma.athenaServiceRoute.findUnique({
            where: { routeKey_serviceKey: { routeKey, serviceKey } },
          })
        : null;
    if (!row) throw new AthenaNotFoundError('service route', `${routeKey}/${serviceKey}`);
    return row;
  }

  async serviceRouteById(principal: Principal, id: string): Promise<AthenaServiceRoute | null> {
    requireAdmin(principal);
    return uuidPattern.test(id) ? this.deps.prisma.athenaServiceRoute.findUnique({ where: { id } }) : null;
  }

  /** The upstream as the outbound guard accepts it (http(s), no credentials, a public address unless allowed). */
  private async checkUpstream(raw: string): Promise<string> {
    try {
      return (await validateOutboundUrl(raw, this.deps.outbound)).url.toString();
    } catch (err) {
      if (err instanceof OutboundBlockedError) throw new AthenaInvalidInputError(`upstream_url: ${err.reason}`);
      throw err;
    }
  }

  async createServiceRoute(principal: Principal, input: CreateServiceRouteInput): Promise<AthenaServiceRoute> {
    requireAdmin(principal);
    checkKey(input.routeKey, 'route_key');
    checkKey(input.serviceKey, 'service_key');
    await this.liveClient(input.clientName);
    const upstreamUrl = await this.checkUpstream(input.upstreamUrl);
    try {
      return await this.deps.prisma.athenaServiceRoute.create({
        data: {
          routeKey: input.routeKey,
          serviceKey: input.serviceKey,
          clientName: input.clientName,
          upstreamUrl,
          isActive: input.isActive ?? true,
          metadata: (input.metadata ?? {}) as Prisma.InputJsonValue,
        },
      });
    } catch (err) {
      if (uniqueViolation(err)) {
        throw new AthenaConflictError(`service route "${input.routeKey}/${input.serviceKey}" already exists`);
      }
      throw err;
    }
  }

  async updateServiceRoute(
    principal: Principal,
    routeKey: string,
    serviceKey: string,
    input: UpdateServiceRouteInput,
  ): Promise<AthenaServiceRoute> {
    const row = await this.serviceRoute(principal, routeKey, serviceKey);
    if (input.clientName !== undefined) await this.liveClient(input.clientName);
    const upstreamUrl = input.upstreamUrl === undefined ? undefined : await this.checkUpstream(input.upstreamUrl);
    return this.deps.prisma.athenaServiceRoute.update({
      where: { id: row.id },
      data: {
        ...(input.clientName !== undefined ? { clientName: input.clientName } : {}),
        ...(upstreamUrl !== undefined ? { upstreamUrl } : {}),
        ...(input.isActive !== undefined ? { isActive: input.isActive } : {}),
        ...(input.metadata !== undefined ? { metadata: input.metadata as Prisma.InputJsonValue } : {}),
      },
    });
  }

  async deleteServiceRoute(principal: Principal, routeKey: string, serviceKey: string): Promise<AthenaServiceRoute> {
    const row = await this.serviceRoute(principal, routeKey, serviceKey);
    await this.deps.prisma.athenaServiceRoute.delete({ where: { id: row.id } });
    return row;
  }

  async listTenantHostnames(principal: Principal): Promise<AthenaTenantHostname[]> {
    requireAdmin(principal);
    return this.deps.prisma.athenaTenantHostname.findMany({ orderBy: [{ tenant: 'asc' }] });
  }

  async tenantHostnameById(principal: Principal, id: string): Promise<AthenaTenantHostname | null> {
    requireAdmin(principal);
    return uuidPattern.test(id) ? this.deps.prisma.athenaTenantHostname.findUnique({ where: { id } }) : null;
  }

  /**
   * Records (creates or updates) a tenant's hostname. 404 for an unknown client. `persist_in_catalog` also stores
   * it in the client's metadata (`tenant_hostnames.<tenant>`); `enable_http_route` creates or updates the public
   * route keyed by the tenant. No DNS record or certificate is made: the row is intent for the operator.
   */
  async upsertTenantHostname(
    principal: Principal,
    tenant: string,
    input: TenantHostnameInput,
  ): Promise<TenantHostnameResult> {
    requireAdmin(principal);
    checkKey(tenant, 'tenant');
    const existing = await this.deps.prisma.athenaTenantHostname.findUnique({ where: { tenant } });
    const clientName = input.clientName ?? existing?.clientName;
    if (clientName === undefined) throw new AthenaInvalidInputError('client_name is required for a new tenant');
    const client = clientNamePattern.test(clientName) ? await this.deps.clients.find(clientName) : null;
    if (!client) throw new AthenaNotFoundError('client', clientName);
    // A tenant hostname without ops would expose nothing: the default is the read operation only.
    const allowedOps = checkOps(input.allowedOps ?? existing?.allowedOps ?? ['fetch']);
    const publicHost = input.publicHost === undefined ? (existing?.publicHost ?? null) : input.publicHost;
    if (publicHost !== null && !hostnamePattern.test(publicHost.toLowerCase())) {
      throw new AthenaInvalidInputError('public_host must be a hostname (a leading *. is allowed)');
    }
    const publicPort = input.publicPort === undefined ? (existing?.publicPort ?? null) : input.publicPort;
    if (publicPort !== null && (!Number.isInteger(publicPort) || publicPort < 1 || publicPort > 65_535)) {
      throw new AthenaInvalidInputError('public_port must be 1-65535');
    }
    const data = {
      clientName,
      allowedOps,
      enableHttpRoute: input.enableHttpRoute ?? existing?.enableHttpRoute ?? true,
      enablePostgresBinding: input.enablePostgresBinding ?? existing?.enablePostgresBinding ?? false,
      publicHost: publicHost?.toLowerCase() ?? null,
      publicPort,
      routeMetadata: (input.routeMetadata ?? existing?.routeMetadata ?? {}) as Prisma.InputJsonValue,
      persistInCatalog: input.persistInCatalog ?? existing?.persistInCatalog ?? false,
    };
    const hostname = await this.deps.prisma.athenaTenantHostname.upsert({
      where: { tenant },
      create: { tenant, ...data },
      update: data,
    });
    await this.recordInCatalog(principal, hostname, existing?.clientName);
    let publicRoute: AthenaPublicRoute | null = null;
    if (hostname.enableHttpRoute) {
      const route = {
        clientName,
        allowedOps,
        isActive: true,
        metadata: { tenant, source: 'tenant_hostname' } as Prisma.InputJsonValue,
      };
      publicRoute = await this.deps.prisma.athenaPublicRoute.upsert({
        where: { routeKey: tenant },
        create: { routeKey: tenant, ...route },
        update: route,
      });
    }
    return { hostname, publicRoute };
  }

  /** Keeps `metadata.tenant_hostnames.<tenant>` of the client in step with the row (and off a previous client). */
  private async recordInCatalog(principal: Principal, row: AthenaTenantHostname, previousClient?: string) {
    if (previousClient !== undefined && previousClient !== row.clientName) {
      await this.forget(principal, previousClient, row.tenant);
    }
    if (!row.persistInCatalog) {
      await this.forget(principal, row.clientName, row.tenant);
      return;
    }
    const client = await this.deps.clients.row(principal, row.clientName);
    const metadata = isRecord(client.metadata) ? { ...client.metadata } : {};
    const hostnames = isRecord(metadata.tenant_hostnames) ? { ...metadata.tenant_hostnames } : {};
    hostnames[row.tenant] = {
      public_host: row.publicHost,
      public_port: row.publicPort,
      allowed_ops: row.allowedOps,
      enable_http_route: row.enableHttpRoute,
      enable_postgres_binding: row.enablePostgresBinding,
      route_metadata: row.routeMetadata,
      updated_at: row.updatedAt.toISOString(),
    };
    metadata.tenant_hostnames = hostnames;
    await this.deps.clients.setMetadata(principal, row.clientName, metadata);
  }

  private async forget(principal: Principal, clientName: string, tenant: string) {
    const client = await this.deps.prisma.athenaClient.findFirst({ where: { clientName, deletedAt: null } });
    if (!client || !isRecord(client.metadata) || !isRecord(client.metadata.tenant_hostnames)) return;
    if (!(tenant in client.metadata.tenant_hostnames)) return;
    const { [tenant]: _gone, ...rest } = client.metadata.tenant_hostnames;
    await this.deps.clients.setMetadata(principal, clientName, { ...client.metadata, tenant_hostnames: rest });
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
