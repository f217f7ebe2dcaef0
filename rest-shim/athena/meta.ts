import { readFile } from 'node:fs/promises';
import { errorEntry } from '../../src/modules/athena/error-catalog.ts';
import {
  AthenaApiRegistryDocument,
  AthenaApiRegistryEntryDocument,
  type AthenaApiRegistryEntryFieldsFragment,
  AthenaClusterHealthDocument,
  AthenaErrorCatalogDocument,
  AthenaGatewayReportDocument,
  AthenaHealthDocument,
  AthenaRootDocument,
  AthenaRouterRegistryDocument,
  AthenaS3ReportDocument,
  AthenaSchemaReportDocument,
  type AthenaSchemaReportQuery,
  AthenaWebSocketInfoDocument,
} from '../generated/graphql.ts';
import { answer, athenaErrorBody, iso } from './answer.ts';
import { direct, graphql, group } from './policy.ts';

/*
 * G14, Athena's meta routes (docs/athena.md "Meta"): JSON answers are documents over the `athena*` meta fields;
 * text bodies (ping, metrics, the WebSocket contract) and the docs redirect are direct.
 */

const docsLocation = 'https://xylex.group/docs/athena';
const wssContract = new URL('../specs/athena-wss.openapi.yaml', import.meta.url);

/** One API registry row as REST answers it. */
function registryRow(e: AthenaApiRegistryEntryFieldsFragment) {
  return {
    id: e.uuid,
    api_registry_id: e.apiRegistryId,
    name: e.name,
    base_url: e.baseUrl,
    attributes: e.attributes,
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  };
}

type SchemaReport = AthenaSchemaReportQuery['athenaSchemaReport'];

/** The contract's `/debug/schema` body: the comparison plus its counts and still-needed lists. */
export function schemaReportBody(r: SchemaReport) {
  const qualified = (t: { schema: string; table: string }) => `${t.schema}.${t.table}`;
  const missingTables = r.expectedTables.filter((t) => !t.found).map(qualified);
  const missingColumns = r.expectedTables
    .filter((t) => t.found)
    .flatMap((t) => t.missingColumns.map((c) => `${qualified(t)}.${c}`));
  const mismatches = r.expectedTables.filter((t) => t.found && !t.relationTypeMatches).map(qualified);
  return {
    logging_client: r.loggingClient,
    generated_at: iso(r.generatedAt),
    summary: {
      health: r.health,
      health_reasons: r.healthReasons.map((h) => ({
        code: h.code,
        severity: h.severity,
        count: h.count,
        message: h.message,
      })),
      expected_table_count: r.expectedTables.length,
      found_table_count: r.expectedTables.filter((t) => t.found).length,
      required_missing_table_count: missingTables.length,
      optional_missing_table_count: 0,
      required_missing_column_count: missingColumns.length,
      optional_missing_column_count: 0,
      relation_type_mismatch_count: mismatches.length,
    },
    expected_tables: r.expectedTables.map((t) => ({
      table_schema: t.schema,
      table_name: t.table,
      expected_relation_type: 'BASE TABLE',
      required: t.required,
      purpose: t.purpose,
      expected_columns: t.expectedColumns,
      found: t.found,
      found_relation_type: t.foundRelationType,
      relation_type_matches: t.relationTypeMatches,
      found_columns: t.foundColumns,
      missing_columns: t.missingColumns,
      unexpected_columns: t.unexpectedColumns,
    })),
    still_needed: {
      required_missing_tables: missingTables,
      optional_missing_tables: [],
      required_missing_columns: missingColumns,
      optional_missing_columns: [],
      relation_type_mismatches: mismatches,
    },
    observed_tables: r.observedTables.map((t) => ({
      table_schema: t.schema,
      table_name: t.table,
      relation_type: t.relationType,
      columns: t.columns,
    })),
    missing_required_tables: missingTables,
    missing_optional_tables: [],
  };
}

export const metaOperations = group('meta', 'test/athena/meta.test.ts', {
  get_root: graphql({
    document: AthenaRootDocument,
    variables: () => ({}),
    respond: ({ athenaRoot: r }) => ({
      status: 200,
      body: {
        message: r.message,
        version: r.version,
        athena_api: r.api,
        athena_deadpool: r.deadpool,
        athena_scylladb: r.scylladb,
        cargo_toml_version: r.version,
        routes: r.routes.map((route) => ({
          path: route.path,
          methods: route.methods,
          ...(route.summary === null ? {} : { summary: route.summary }),
        })),
      },
    }),
  }),

  get_ping: direct({
    reason: 'a text/plain body (`pong`)',
    handle: async () => ({ status: 200, body: 'pong', headers: { 'content-type': 'text/plain; charset=utf-8' } }),
  }),

  get_health: graphql({
    document: AthenaHealthDocument,
    variables: () => ({}),
    respond: ({ athenaHealth: h }) => ({
      status: 200,
      body: {
        status: h.status,
        message: h.message,
        version: h.version,
        athena_api: h.api,
        athena_deadpool: h.deadpool,
        athena_scylladb: h.scylladb,
        gateway_auth_store: h.authStore,
        gateway_benchmark_client: h.benchmarkClient,
        cargo_toml_version: h.version,
        provisioning: {
          local_docker: {
            available: h.localDocker.available,
            status: h.localDocker.status,
            detail: h.localDocker.detail,
            hint: h.localDocker.hint,
          },
        },
      },
    }),
  }),

  get_health_cluster: graphql({
    document: AthenaClusterHealthDocument,
    variables: () => ({}),
    respond: ({ athenaRoot: root, athenaClusterHealth: c }) => ({
      status: 200,
      body: {
        message: c.message,
        version: c.version,
        athena_api: root.api,
        athena_deadpool: root.deadpool,
        athena_scylladb: root.scylladb,
        cargo_toml_version: c.version,
        mirrors: c.mirrors.map((m) => ({
          url: m.url,
          status: m.status,
          latency_ms: m.latencyMs,
          download_bytes_per_sec: m.downloadBytesPerSec,
          cargo_toml_version: m.version,
          message: m.message,
        })),
      },
    }),
  }),

  get_debug_schema: graphql({
    policy: { admin: true },
    document: AthenaSchemaReportDocument,
    variables: () => ({}),
    respond: ({ athenaSchemaReport: r }) => ({ status: 200, body: schemaReportBody(r) }),
  }),

  get_debug_gateway: graphql({
    policy: { admin: true },
    document: AthenaGatewayReportDocument,
    variables: () => ({}),
    respond: ({ athenaGatewayReport: r }) => ({
      status: 200,
      body: {
        status: 'success',
        message: `Gateway routing table: ${r.clients.length} client(s)`,
        data: {
          generated_at: iso(r.generatedAt),
          enforce_api_keys: r.enforceApiKeys,
          direct_uri_host_count: r.directUriHostCount,
          control_plane: r.authStore,
          clients: r.clients.map((c) => ({
            client_name: c.clientName,
            source: c.source,
            is_active: c.isActive,
            is_frozen: c.isFrozen,
            routable: c.routable,
            pool_built: c.poolBuilt,
            pool: c.pool && {
              engine: c.pool.engine,
              init_time: iso(c.pool.initTime),
              last_used: iso(c.pool.lastUsed),
              size: c.pool.size,
              idle: c.pool.idle,
              active: c.pool.active,
              waiting: c.pool.waiting,
              max: c.pool.max,
            },
          })),
        },
      },
    }),
  }),

  get_debug_s3: graphql({
    policy: { admin: true },
    document: AthenaS3ReportDocument,
    variables: () => ({}),
    respond: ({ athenaS3Report: r }) => ({
      status: 200,
      body: {
        status: 'success',
        message: r.message,
        data: {
          generated_at: iso(r.generatedAt),
          object_store: {
            bucket: r.bucket,
            endpoint: r.endpoint,
            embedded: r.embedded,
            reachable: r.reachable,
            latency_ms: r.latencyMs,
          },
          // S3 catalogs (G11) are resolved per client; none are served by this build.
          catalogs: [],
        },
      },
    }),
  }),

  get_router_registry: graphql({
    document: AthenaRouterRegistryDocument,
    variables: () => ({}),
    respond: ({ athenaRouterRegistry: entries }) => ({
      status: 200,
      body: entries.map((e) => ({
        kind: e.kind,
        path: e.path,
        methods: e.methods,
        summary: e.summary,
        route_key: e.routeKey,
        service_key: e.serviceKey,
        tenant: e.tenant,
        client_name: e.clientName,
        allowed_ops: e.allowedOps,
        is_active: e.isActive,
      })),
    }),
  }),

  get_registry: graphql({
    document: AthenaApiRegistryDocument,
    variables: () => ({}),
    respond: ({ athenaApiRegistry: rows }) => ({
      status: 200,
      body: rows.filter((r) => r !== null).map(registryRow),
      headers: { 'cache-control': 'no-cache' },
    }),
  }),

  get_registry_by_api_registry_id: graphql({
    document: AthenaApiRegistryEntryDocument,
    variables: (req) => ({ apiRegistryId: req.params.api_registry_id ?? '' }),
    respond: ({ athenaApiRegistryEntry: r }, req) =>
      answer(r, req, (ok) => {
        const row = ok.__typename === 'QueryAthenaApiRegistryEntrySuccess' ? ok.data : null;
        if (!row) {
          const message = `API registry entry "${req.params.api_registry_id}" not found`;
          return { status: 404, body: athenaErrorBody(404, message, 'not_found') };
        }
        return { status: 200, body: [registryRow(row)], headers: { 'cache-control': 'no-cache' } };
      }),
  }),

  get_metrics: direct({
    reason: 'Prometheus text exposition format, not a JSON result',
    handle: async (_req, services) => {
      const { contentType, body } = await services.athena.meta.metricsText();
      return { status: 200, body, headers: { 'content-type': contentType } };
    },
  }),

  get_admin_errors_catalog: graphql({
    policy: { admin: true },
    document: AthenaErrorCatalogDocument,
    variables: () => ({}),
    respond: ({ athenaErrorCatalog: entries }) => ({
      status: 200,
      body: {
        status: 'success',
        message: 'Athena error catalog loaded',
        data: {
          docs_base_url: 'https://docs.athena-cluster.com/',
          domains: [...new Set(entries.map((e) => e.domain))],
          errors: entries.map((e) => ({
            domain: e.domain,
            code: e.code,
            error_number: e.number,
            // The HTTP status is REST's business, so it comes from the catalog here, not from GraphQL.
            http_status: errorEntry(e.code)?.httpStatus ?? 400,
            title: e.title,
            docs_url: e.docsUrl,
          })),
        },
      },
    }),
  }),

  get_openapi_wss_yaml: direct({
    reason: 'serves the WebSocket contract fixture (an application/yaml text body)',
    handle: async () => {
      try {
        return {
          status: 200,
          body: await readFile(wssContract, 'utf8'),
          headers: { 'content-type': 'application/yaml; charset=utf-8' },
        };
      } catch {
        const message = 'Failed to read openapi-wss.yaml';
        return { status: 500, body: athenaErrorBody(500, message, 'internal_error') };
      }
    },
  }),

  get_wss_info: graphql({
    document: AthenaWebSocketInfoDocument,
    variables: () => ({}),
    respond: ({ athenaWebSocketInfo: w }) => ({
      status: 200,
      body: {
        status: 'success',
        message: 'Athena realtime: GraphQL subscriptions over graphql-ws',
        data: {
          transport: w.transport,
          path: w.path,
          state: w.state,
          notes: w.notes,
          actions: w.subscriptions.map((s) => `subscription.${s}`),
        },
      },
    }),
  }),

  get_docs: direct({
    reason: 'a redirect (308 Location)',
    handle: async () => ({ status: 308, headers: { location: docsLocation } }),
  }),
});
