import { AthenaInvalidInputError } from '../../src/modules/athena/athena.errors.ts';
import { checkOps, type PublicRouteOp } from '../../src/modules/athena/routes.service.ts';
import type { RestRequest } from '../engine/types.ts';
import {
  type AthenaClientConfigFieldsFragment,
  type AthenaClientRecordFieldsFragment,
  AthenaCreateClientDocument,
  AthenaCreatePublicRouteDocument,
  AthenaCreateServiceRouteDocument,
  AthenaDeleteClientConfigDocument,
  AthenaDeleteClientDocument,
  AthenaDeletePublicRouteDocument,
  AthenaDeleteServiceRouteDocument,
  AthenaFreezeClientDocument,
  AthenaGetClientConfigDocument,
  AthenaListClientConfigsDocument,
  AthenaListClientsDocument,
  AthenaListPoolsDocument,
  AthenaListPublicRoutesDocument,
  AthenaListServiceRoutesDocument,
  type AthenaPublicRouteFieldsFragment,
  AthenaSeedClientConfigsDocument,
  type AthenaServiceRouteFieldsFragment,
  AthenaUpdateClientDocument,
  AthenaUpdatePublicRouteDocument,
  AthenaUpdateServiceRouteDocument,
  AthenaUpsertClientConfigDocument,
  AthenaUpsertTenantHostnameDocument,
} from '../generated/graphql.ts';
import { answer, iso } from './answer.ts';
import { type Body, bodyOf, bool, nullableStr, object, required, str } from './body.ts';
import { graphql, group } from './policy.ts';

/*
 * G5 — the client catalog, per-client configs, pools and routing aliases (docs/athena.md, Clients). Bodies follow
 * the contract's schemas literally (`{clients, runtime}`, `{client}`: bare); operations the contract leaves
 * schemaless answer the standard success envelope `{status, message, data}`.
 */

const admin = { admin: true } as const;

/** `allowed_ops` as strings from the closed list (a 400 naming the offender, before GraphQL's enum coercion). */
function ops(b: Body, field = 'allowed_ops'): PublicRouteOp[] | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((op) => typeof op !== 'string')) {
    throw new AthenaInvalidInputError(`${field} must be an array of strings`);
  }
  return checkOps(v as string[]);
}

const reveal = (req: RestRequest) => {
  const raw = req.query.reveal;
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v === 'true' || v === '1';
};

const success = (message: string, data: Record<string, unknown>) => ({ status: 'success', message, data });

/** `AthenaClientRecord`. */
function clientRecord(c: AthenaClientRecordFieldsFragment) {
  return {
    id: c.uuid,
    client_name: c.clientName,
    description: c.description,
    pg_uri: c.pgUri,
    pg_uri_env_var: c.pgUriEnvVar,
    config_uri_template: c.configUriTemplate,
    source: c.source,
    is_active: c.isActive,
    is_frozen: c.isFrozen,
    last_synced_from_config_at: iso(c.lastSyncedFromConfigAt),
    last_seen_at: iso(c.lastSeenAt),
    metadata: c.metadata ?? {},
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    deleted_at: iso(c.deletedAt),
  };
}

/** `RuntimeAthenaClient`. */
function runtimeRecord(c: AthenaClientRecordFieldsFragment) {
  return {
    client_name: c.clientName,
    source: c.source,
    description: c.description,
    pg_uri: c.pgUri,
    pg_uri_env_var: c.pgUriEnvVar,
    config_uri_template: c.configUriTemplate,
    is_active: c.isActive,
    is_frozen: c.isFrozen,
    pool_connected: c.poolConnected,
  };
}

function configRecord(c: AthenaClientConfigFieldsFragment) {
  return {
    client_name: c.clientName,
    config: c.config,
    metadata: c.metadata ?? null,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

function publicRouteRecord(r: AthenaPublicRouteFieldsFragment) {
  return {
    id: r.uuid,
    route_key: r.routeKey,
    client_name: r.clientName,
    allowed_ops: r.allowedOps,
    is_active: r.isActive,
    metadata: r.metadata ?? {},
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

function serviceRouteRecord(r: AthenaServiceRouteFieldsFragment) {
  return {
    id: r.uuid,
    route_key: r.routeKey,
    service_key: r.serviceKey,
    client_name: r.clientName,
    upstream_url: r.upstreamUrl,
    is_active: r.isActive,
    metadata: r.metadata ?? {},
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

const clientName = (req: RestRequest) => req.params.client_name ?? '';

// ---- clients

const get_admin_clients = graphql({
  policy: admin,
  extraQuery: ['reveal'],
  document: AthenaListClientsDocument,
  variables: (req) => ({ reveal: reveal(req) }),
  respond: ({ athenaClients: r }, req) =>
    answer(r, req, (page) => {
      const nodes = page.data.edges.map((e) => e.node);
      return { status: 200, body: { clients: nodes.map(clientRecord), runtime: nodes.map(runtimeRecord) } };
    }),
});

/** `SaveAthenaClientRequest` fields present in the body (null clears; absent keeps). */
function saveFields(b: Body) {
  return {
    description: nullableStr(b, 'description'),
    pgUri: nullableStr(b, 'pg_uri'),
    pgUriEnvVar: nullableStr(b, 'pg_uri_env_var'),
    isActive: bool(b, 'is_active'),
  };
}

const post_admin_clients = graphql({
  policy: admin,
  document: AthenaCreateClientDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return { input: { clientName: required(str(b, 'client_name'), 'client_name'), ...saveFields(b) }, reveal: false };
  },
  respond: ({ createAthenaClient: r }, req) =>
    answer(r, req, (c) => ({ status: 201, body: { client: clientRecord(c.data) } })),
});

const patch_admin_clients_by_client_name = graphql({
  policy: admin,
  document: AthenaUpdateClientDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      clientName: clientName(req),
      input: { clientName: str(b, 'client_name'), ...saveFields(b) },
      reveal: false,
    };
  },
  respond: ({ updateAthenaClient: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: { client: clientRecord(c.data) } })),
});

const delete_admin_clients_by_client_name = graphql({
  policy: admin,
  document: AthenaDeleteClientDocument,
  variables: (req) => ({ clientName: clientName(req), reveal: false }),
  respond: ({ deleteAthenaClient: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: { client: clientRecord(c.data) } })),
});

const put_admin_clients_by_client_name_freeze = graphql({
  policy: admin,
  document: AthenaFreezeClientDocument,
  variables: (req) => ({
    clientName: clientName(req),
    isFrozen: required(bool(bodyOf(req), 'is_frozen'), 'is_frozen'),
    reveal: false,
  }),
  respond: ({ setAthenaClientFrozen: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: { client: clientRecord(c.data) } })),
});

const get_admin_pools = graphql({
  policy: admin,
  document: AthenaListPoolsDocument,
  variables: () => ({}),
  respond: ({ athenaPools: r }, req) =>
    answer(r, req, (p) => ({
      status: 200,
      body: success('Pool statistics', {
        pools: p.data.map((s) => ({
          client_name: s.clientName,
          engine: s.engine,
          init_time: iso(s.initTime),
          last_used: iso(s.lastUsed),
          size: s.size,
          idle: s.idle,
          active: s.active,
          waiting: s.waiting,
          max: s.max,
        })),
      }),
    })),
});

// ---- client configs

const get_admin_client_configs = graphql({
  policy: admin,
  document: AthenaListClientConfigsDocument,
  variables: () => ({}),
  respond: ({ athenaClientConfigs: r }, req) =>
    answer(r, req, (page) => ({
      status: 200,
      body: success('Client configs', {
        configs: page.data.edges.map((e) => configRecord(e.node)),
        total: page.data.totalCount,
      }),
    })),
});

const get_admin_client_configs_by_client_name = graphql({
  policy: admin,
  document: AthenaGetClientConfigDocument,
  variables: (req) => ({ clientName: clientName(req) }),
  respond: ({ athenaClientConfig: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: success('Client config', { config: configRecord(c.data) }) })),
});

const put_admin_client_configs_by_client_name = graphql({
  policy: admin,
  document: AthenaUpsertClientConfigDocument,
  variables: (req) => {
    const b = bodyOf(req);
    const metadata = b.metadata === null ? null : object(b, 'metadata');
    return { clientName: clientName(req), config: required(object(b, 'config'), 'config'), metadata };
  },
  respond: ({ upsertAthenaClientConfig: r }, req) =>
    answer(r, req, (c) => ({ status: 200, body: success('Client config saved', { config: configRecord(c.data) }) })),
});

const delete_admin_client_configs_by_client_name = graphql({
  policy: admin,
  document: AthenaDeleteClientConfigDocument,
  variables: (req) => ({ clientName: clientName(req) }),
  respond: ({ deleteAthenaClientConfig: r }, req) =>
    answer(r, req, (c) => ({
      status: 200,
      body: success('Client config deleted', { config: configRecord(c.data), deleted: true }),
    })),
});

const post_admin_client_configs_seed_from_config = graphql({
  policy: admin,
  document: AthenaSeedClientConfigsDocument,
  variables: () => ({}),
  respond: ({ seedAthenaClientConfigs: r }, req) =>
    answer(r, req, ({ data }) => ({
      status: 200,
      body: success('Seeded from the config file', {
        clients: data.clients.map((c) => ({
          client_name: c.clientName,
          source: c.source,
          last_synced_from_config_at: iso(c.lastSyncedFromConfigAt),
        })),
        configs: data.configs.map(configRecord),
        skipped: data.skipped,
        clients_seeded: data.clients.length,
        configs_seeded: data.configs.length,
      }),
    })),
});

// ---- public routes

const get_admin_public_routes = graphql({
  policy: admin,
  document: AthenaListPublicRoutesDocument,
  variables: () => ({}),
  respond: ({ athenaPublicRoutes: r }, req) =>
    answer(r, req, (page) => ({
      status: 200,
      body: success('Public routes', {
        routes: page.data.edges.map((e) => publicRouteRecord(e.node)),
        total: page.data.totalCount,
      }),
    })),
});

const post_admin_public_routes = graphql({
  policy: admin,
  document: AthenaCreatePublicRouteDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      input: {
        routeKey: required(str(b, 'route_key'), 'route_key'),
        clientName: required(str(b, 'client_name'), 'client_name'),
        allowedOps: required(ops(b), 'allowed_ops'),
        isActive: bool(b, 'is_active'),
        metadata: object(b, 'metadata'),
      },
    };
  },
  respond: ({ createAthenaPublicRoute: r }, req) =>
    answer(r, req, (c) => ({
      status: 201,
      body: success('Public route created', { route: publicRouteRecord(c.data) }),
    })),
});

const patch_admin_public_routes_by_route_key = graphql({
  policy: admin,
  document: AthenaUpdatePublicRouteDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      routeKey: req.params.route_key ?? '',
      input: {
        clientName: str(b, 'client_name'),
        allowedOps: ops(b),
        isActive: bool(b, 'is_active'),
        metadata: object(b, 'metadata'),
      },
    };
  },
  respond: ({ updateAthenaPublicRoute: r }, req) =>
    answer(r, req, (c) => ({
      status: 200,
      body: success('Public route updated', { route: publicRouteRecord(c.data) }),
    })),
});

const delete_admin_public_routes_by_route_key = graphql({
  policy: admin,
  document: AthenaDeletePublicRouteDocument,
  variables: (req) => ({ routeKey: req.params.route_key ?? '' }),
  respond: ({ deleteAthenaPublicRoute: r }, req) =>
    answer(r, req, (c) => ({
      status: 200,
      body: success('Public route deleted', { route: publicRouteRecord(c.data) }),
    })),
});

// ---- service routes (the contract declares neither body nor response: the shape is Atrium's, docs/athena.md)

const get_admin_service_routes = graphql({
  policy: admin,
  document: AthenaListServiceRoutesDocument,
  variables: () => ({}),
  respond: ({ athenaServiceRoutes: r }, req) =>
    answer(r, req, (page) => ({
      status: 200,
      body: success('Service routes', {
        routes: page.data.edges.map((e) => serviceRouteRecord(e.node)),
        total: page.data.totalCount,
      }),
    })),
});

const post_admin_service_routes = graphql({
  policy: admin,
  document: AthenaCreateServiceRouteDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      input: {
        routeKey: required(str(b, 'route_key'), 'route_key'),
        serviceKey: required(str(b, 'service_key'), 'service_key'),
        clientName: required(str(b, 'client_name'), 'client_name'),
        upstreamUrl: required(str(b, 'upstream_url'), 'upstream_url'),
        isActive: bool(b, 'is_active'),
        metadata: object(b, 'metadata'),
      },
    };
  },
  // The contract's one success status for this operation is 200.
  respond: ({ createAthenaServiceRoute: r }, req) =>
    answer(r, req, (c) => ({
      status: 200,
      body: success('Service route created', { route: serviceRouteRecord(c.data) }),
    })),
});

const serviceKeys = (req: RestRequest) => ({
  routeKey: req.params.route_key ?? '',
  serviceKey: req.params.service_key ?? '',
});

const patch_admin_service_routes_by_route_key_by_service_key = graphql({
  policy: admin,
  document: AthenaUpdateServiceRouteDocument,
  variables: (req) => {
    const b = bodyOf(req);
    return {
      ...serviceKeys(req),
      input: {
        clientName: str(b, 'client_name'),
        upstreamUrl: str(b, 'upstream_url'),
        isActive: bool(b, 'is_active'),
        metadata: object(b, 'metadata'),
      },
    };
  },
  respond: ({ updateAthenaServiceRoute: r }, req) =>
    answer(r, req, (c) => ({
      status: 200,
      body: success('Service route updated', { route: serviceRouteRecord(c.data) }),
    })),
});

const delete_admin_service_routes_by_route_key_by_service_key = graphql({
  policy: admin,
  document: AthenaDeleteServiceRouteDocument,
  variables: (req) => serviceKeys(req),
  respond: ({ deleteAthenaServiceRoute: r }, req) =>
    answer(r, req, (c) => ({
      status: 200,
      body: success('Service route deleted', { route: serviceRouteRecord(c.data) }),
    })),
});

// ---- tenant hostnames

const put_admin_tenant_hostnames_by_tenant = graphql({
  policy: admin,
  document: AthenaUpsertTenantHostnameDocument,
  variables: (req) => {
    const b = bodyOf(req);
    const port = b.public_port;
    if (port !== undefined && port !== null && !Number.isInteger(port)) {
      throw new AthenaInvalidInputError('public_port must be an integer');
    }
    return {
      tenant: req.params.tenant ?? '',
      input: {
        clientName: str(b, 'client_name'),
        allowedOps: ops(b),
        enableHttpRoute: bool(b, 'enable_http_route'),
        enablePostgresBinding: bool(b, 'enable_postgres_binding'),
        publicHost: nullableStr(b, 'public_host'),
        publicPort: port as number | null | undefined,
        routeMetadata: object(b, 'route_metadata'),
        persistInCatalog: bool(b, 'persist_in_catalog'),
      },
    };
  },
  respond: ({ upsertAthenaTenantHostname: r }, req) =>
    answer(r, req, ({ data }) => {
      const h = data.hostname;
      return {
        status: 200,
        body: success('Tenant hostname recorded (intent only: no DNS or TLS is configured)', {
          tenant: {
            id: h.uuid,
            tenant: h.tenant,
            client_name: h.clientName,
            allowed_ops: h.allowedOps,
            enable_http_route: h.enableHttpRoute,
            enable_postgres_binding: h.enablePostgresBinding,
            public_host: h.publicHost,
            public_port: h.publicPort,
            route_metadata: h.routeMetadata ?? {},
            persist_in_catalog: h.persistInCatalog,
            created_at: iso(h.createdAt),
            updated_at: iso(h.updatedAt),
          },
          public_route: data.publicRoute ? publicRouteRecord(data.publicRoute) : null,
          dns_configured: data.dnsConfigured,
        }),
      };
    }),
});

/** G5: the client catalog, per-client configs, pools, public and service routes, tenant hostnames. */
export const athenaClientOperations = group('clients', 'test/athena/clients.test.ts', {
  get_admin_clients,
  post_admin_clients,
  patch_admin_clients_by_client_name,
  delete_admin_clients_by_client_name,
  put_admin_clients_by_client_name_freeze,
  get_admin_pools,
  get_admin_client_configs,
  get_admin_client_configs_by_client_name,
  put_admin_client_configs_by_client_name,
  delete_admin_client_configs_by_client_name,
  post_admin_client_configs_seed_from_config,
  get_admin_public_routes,
  post_admin_public_routes,
  patch_admin_public_routes_by_route_key,
  delete_admin_public_routes_by_route_key,
  get_admin_service_routes,
  post_admin_service_routes,
  patch_admin_service_routes_by_route_key_by_service_key,
  delete_admin_service_routes_by_route_key_by_service_key,
  put_admin_tenant_hostnames_by_tenant,
});
