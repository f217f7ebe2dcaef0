import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { athenaErrorCatalog } from '../../src/modules/athena/error-catalog.ts';
import { clusterProbeReuseMs } from '../../src/modules/athena/meta.service.ts';
import {
  AthenaTestAdminMetaDocument,
  AthenaTestDeleteRegistryEntryDocument,
  AthenaTestMetaDocument,
  AthenaTestRegistryNodeDocument,
  AthenaTestUpsertRegistryEntryDocument,
} from '../generated/athena.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';

/*
 * G14 through real HTTP: a second Atrium server is the online cluster mirror, a closed loopback port the offline
 * one. Every JSON body the contract describes is validated against it.
 */

let t: TestApp;
let peer: TestApp;
let closedPort: number;
let contract: ContractExpectations;
const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const contractDoc = JSON.parse(
  readFileSync(new URL('../../rest-shim/specs/athena.openapi.json', import.meta.url), 'utf8'),
) as { paths: Record<string, unknown> };

async function freeClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** Checked against the contract where it describes it, then read freely. */
  body: any;
}

async function call(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${t.baseUrl}/athena${path}`, { headers, redirect: 'manual' });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

const admin = () => ({ apikey: t.adminKey });

/** Calls and validates a 200 JSON answer against the contract. */
async function ok(path: string, headers: Record<string, string> = {}, template = path): Promise<Answer> {
  const r = await call(path, headers);
  expect(r.status, r.text).toBe(200);
  contract.expectValidResponse('GET', template, 200, r.body);
  return r;
}

function expectUnauthorized(r: Answer) {
  expect(r.status).toBe(401);
  expect(r.body).toMatchObject({ status: 'error', code: 'unauthorized', error_number: 1001 });
}

beforeAll(async () => {
  contract = await contractValidator('athena');
  peer = await startTestApp();
  closedPort = await freeClosedPort();
  t = await startTestApp({
    ATRIUM_ATHENA_CLUSTER_MIRRORS: `${peer.baseUrl},http://127.0.0.1:${closedPort}`,
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
  });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await peer?.close();
});

describe('athena meta: root, ping, docs, specs', () => {
  it('GET / lists every path of the contract with its methods and summary', async () => {
    const r = await ok('/');
    expect(r.body).toMatchObject({
      message: 'athena is online',
      version,
      cargo_toml_version: version,
      athena_api: 'online',
      athena_scylladb: 'offline',
    });
    expect(r.body.routes).toHaveLength(Object.keys(contractDoc.paths).length);
    expect(r.body.routes).toContainEqual({ path: '/gateway/fetch', methods: ['POST'], summary: 'Fetch data' });
    const rpc = r.body.routes.find((x: { path: string }) => x.path === '/rpc/{function_name}');
    expect(rpc.methods).toEqual(['GET', 'POST']);
  });

  it('GET /ping answers text/plain pong', async () => {
    const r = await call('/ping');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.text).toBe('pong');
  });

  it('GET /docs redirects 308 to the documentation', async () => {
    const r = await call('/docs');
    expect(r.status).toBe(308);
    expect(r.headers.get('location')).toBe('https://xylex.group/docs/athena');
  });

  it('GET /openapi-wss.yaml serves the WebSocket contract: graphql-ws on /graphql, no /wss/gateway', async () => {
    const r = await call('/openapi-wss.yaml');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/yaml/);
    const doc = parseYaml(r.text) as { openapi: string; paths: Record<string, { get: Record<string, unknown> }> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/graphql']);
    const ws = doc.paths['/graphql']?.get['x-graphql-ws'] as { subscriptions: Record<string, unknown> };
    expect(Object.keys(ws.subscriptions)).toEqual(['gatewayRowsChanged']);
  });

  it('GET /wss/info says what this build serves, read from the schema', async () => {
    const r = await ok('/wss/info');
    const served = readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8').includes(
      'gatewayRowsChanged(',
    );
    expect(r.body).toMatchObject({
      status: 'success',
      data: { transport: 'graphql-ws', path: '/graphql', state: served ? 'served' : 'not_served' },
    });
    expect(r.body.data.actions).toEqual(served ? ['subscription.gatewayRowsChanged'] : []);
    expect(r.body.data.notes.join(' ')).toMatch(/no \/wss\/gateway socket/);
  });
});

describe('athena meta: health', () => {
  it('GET /health probes the auth store and the Docker socket', async () => {
    const r = await ok('/health');
    expect(r.body).toMatchObject({
      status: 'ok',
      version,
      athena_scylladb: 'offline',
      gateway_auth_store: 'online',
      gateway_benchmark_client: 'not_configured',
    });
    const docker = r.body.provisioning.local_docker;
    const socket = '/var/run/docker.sock';
    if (!existsSync(socket)) {
      expect(docker).toMatchObject({ available: false, status: 'not_found' });
    } else if (!statSync(socket).isSocket()) {
      expect(docker).toMatchObject({ available: false, status: 'not_a_socket' });
    } else {
      expect(['available', 'permission_denied', 'unresponsive']).toContain(docker.status);
      expect(docker.available).toBe(docker.status === 'available');
    }
    expect(docker.detail).toMatch(/Atrium does not use Docker/);
  });

  it('GET /health/cluster probes the online peer and the closed port', async () => {
    const r = await ok('/health/cluster');
    expect(r.body.mirrors).toHaveLength(2);
    const [online, offline] = r.body.mirrors;
    expect(online).toMatchObject({ url: peer.baseUrl, status: 'online', cargo_toml_version: version });
    expect(online.latency_ms).toBeGreaterThan(0);
    expect(online.download_bytes_per_sec).toBeGreaterThan(0);
    expect(offline).toMatchObject({
      url: `http://127.0.0.1:${closedPort}`,
      status: 'offline',
      latency_ms: null,
      download_bytes_per_sec: null,
      cargo_toml_version: null,
    });
    expect(offline.message).toMatch(/unreachable/);
    expect(r.body.message).toBe('1 of 2 mirror(s) online');
  });

  it('concurrent /health/cluster calls share one round of probes (the peer sees one request)', async () => {
    const peerHealthCount = async () => {
      const text = await (await fetch(`${peer.baseUrl}/athena/metrics`)).text();
      return Number(/^athena_http_requests\{operation="get_health",status="200"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    await new Promise((resolve) => setTimeout(resolve, clusterProbeReuseMs + 100));
    const before = await peerHealthCount();
    const answers = await Promise.all([1, 2, 3].map(() => ok('/health/cluster')));
    expect(answers.map((a) => a.body.mirrors[0].status)).toEqual(['online', 'online', 'online']);
    expect((await peerHealthCount()) - before).toBe(1);
  });

  it('a mirror the outbound guard refuses is offline, not probed', async () => {
    const strict = await startTestApp({ ATRIUM_ATHENA_CLUSTER_MIRRORS: peer.baseUrl });
    try {
      const res = await fetch(`${strict.baseUrl}/athena/health/cluster`);
      const body = (await res.json()) as { mirrors: { status: string; message: string }[] };
      expect(res.status).toBe(200);
      expect(body.mirrors[0]).toMatchObject({ status: 'offline' });
      expect(body.mirrors[0]?.message).toMatch(/unreachable: .*(private|loopback|not public|blocked)/i);
    } finally {
      await strict.close();
    }
  }, 60_000);
});

describe('athena meta: admin routes', () => {
  for (const path of ['/debug/schema', '/debug/gateway', '/debug/s3', '/admin/errors/catalog']) {
    it(`GET ${path} needs the admin key (401 without, and with a wrong key)`, async () => {
      expectUnauthorized(await call(path));
      expectUnauthorized(await call(path, { apikey: 'not-a-key' }));
    });
  }
  it.skip('403 with a non-admin Athena key — not testable until Athena keys exist (G4)', () => {});

  it('GET /admin/errors/catalog lists every code with number, status and docs URL (apikey or Bearer)', async () => {
    const r = await ok('/admin/errors/catalog', admin());
    const bearer = await ok('/admin/errors/catalog', { authorization: `Bearer ${t.adminKey}` });
    expect(bearer.body).toEqual(r.body);
    expect(r.body.data.errors).toHaveLength(athenaErrorCatalog.length);
    expect(r.body.data.errors).toContainEqual({
      domain: 'client',
      code: 'unknown_client',
      error_number: 1100,
      http_status: 400,
      title: 'Missing or unknown X-Athena-Client',
      docs_url: 'https://docs.athena-cluster.com/1100',
    });
    expect(r.body.data.domains).toEqual(expect.arrayContaining(['auth', 'client', 'gateway', 'platform']));
  });

  it('GET /debug/gateway shows the routing table and builds no pool by looking', async () => {
    const before = await call('/debug/gateway', admin());
    expect(before.status).toBe(200);
    const local = before.body.data.clients.find((c: { client_name: string }) => c.client_name === 'local');
    expect(local).toMatchObject({ is_active: true, is_frozen: false, routable: true });
    expect(['embedded', 'provisioned']).toContain(local.source);
    await t.app.services.athena.clients.database('local');
    // Opening an embedded PGlite blocks this process's event loop for a while; let the client see the keep-alive
    // sockets the server closed meanwhile before it reuses one.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await call('/debug/gateway', admin());
    const built = after.body.data.clients.find((c: { client_name: string }) => c.client_name === 'local');
    expect(built).toMatchObject({ pool_built: true, pool: { engine: expect.any(String), max: expect.any(Number) } });
    expect(after.body).toMatchObject({ status: 'success', data: { control_plane: 'online', enforce_api_keys: true } });
    if (!local.pool_built) expect(local.pool).toBeNull();
  });

  it('GET /debug/s3 reports a real HeadBucket of the object store', async () => {
    const r = await call('/debug/s3', admin());
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: 'success',
      data: {
        object_store: { bucket: t.app.services.objectStore.bucket, reachable: true, embedded: true },
        catalogs: [],
      },
    });
    expect(r.body.data.object_store.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('GET /debug/schema finds every table and column of athena.prisma', async () => {
    const r = await ok('/debug/schema', admin());
    expect(r.body.logging_client).toBe('platform');
    expect(r.body.summary).toMatchObject({
      health: 'healthy',
      health_reasons: [],
      required_missing_table_count: 0,
      required_missing_column_count: 0,
      relation_type_mismatch_count: 0,
    });
    expect(r.body.summary.expected_table_count).toBeGreaterThanOrEqual(8);
    expect(r.body.summary.found_table_count).toBe(r.body.summary.expected_table_count);
    const names = r.body.expected_tables.map((x: { table_name: string }) => x.table_name);
    expect(names).toEqual(expect.arrayContaining(['athena_clients', 'athena_api_registry', 'athena_public_routes']));
    expect(r.body.observed_tables.length).toBeGreaterThanOrEqual(r.body.summary.expected_table_count);
  });
});

describe('athena meta: registries', () => {
  it('GET /registry is empty until the admin upserts entries over GraphQL; /registry/{id} wraps one', async () => {
    expect((await ok('/registry')).body).toEqual([]);
    const missing = await call('/registry/billing');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 'error', code: 'not_found', error_number: 1003 });

    const anonymous = await gql(t.baseUrl, AthenaTestUpsertRegistryEntryDocument, {
      input: { apiRegistryId: 'billing', name: 'Billing' },
    });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const bad = await gql(
      t.baseUrl,
      AthenaTestUpsertRegistryEntryDocument,
      { input: { apiRegistryId: 'no/slash', name: 'x' } },
      t.adminKey,
    );
    expect(bad.body.data?.upsertAthenaApiRegistryEntry).toMatchObject({
      __typename: 'AthenaError',
      code: 'invalid_request',
    });
    const notObject = await gql(
      t.baseUrl,
      AthenaTestUpsertRegistryEntryDocument,
      { input: { apiRegistryId: 'billing', name: 'Billing', attributes: [1, 2] } },
      t.adminKey,
    );
    expect(notObject.body.data?.upsertAthenaApiRegistryEntry).toMatchObject({ __typename: 'AthenaError' });

    const created = await gql(
      t.baseUrl,
      AthenaTestUpsertRegistryEntryDocument,
      {
        input: {
          apiRegistryId: 'billing',
          name: 'Billing',
          baseUrl: 'https://billing.example',
          attributes: { tier: 1 },
        },
      },
      t.adminKey,
    );
    const entry = created.body.data?.upsertAthenaApiRegistryEntry;
    if (entry?.__typename !== 'MutationUpsertAthenaApiRegistryEntrySuccess') throw new Error(JSON.stringify(created));
    expect(entry.data).toMatchObject({ apiRegistryId: 'billing', name: 'Billing', attributes: { tier: 1 } });
    const node = await gql(t.baseUrl, AthenaTestRegistryNodeDocument, { id: entry.data?.id ?? '' });
    expect(node.body.data?.node).toEqual({ __typename: 'AthenaApiRegistryEntry', apiRegistryId: 'billing' });

    const list = await ok('/registry');
    expect(list.body).toEqual([
      expect.objectContaining({
        api_registry_id: 'billing',
        name: 'Billing',
        base_url: 'https://billing.example',
        attributes: { tier: 1 },
      }),
    ]);
    const one = await ok('/registry/billing', { 'cache-control': 'no-cache' }, '/registry/{api_registry_id}');
    expect(one.body).toEqual(list.body);

    const deleted = await gql(
      t.baseUrl,
      AthenaTestDeleteRegistryEntryDocument,
      { apiRegistryId: 'billing' },
      t.adminKey,
    );
    expect(deleted.body.data?.deleteAthenaApiRegistryEntry).toMatchObject({ data: { apiRegistryId: 'billing' } });
    expect((await call('/registry/billing')).status).toBe(404);
    const again = await gql(t.baseUrl, AthenaTestDeleteRegistryEntryDocument, { apiRegistryId: 'billing' }, t.adminKey);
    expect(again.body.data?.deleteAthenaApiRegistryEntry).toMatchObject({
      __typename: 'AthenaError',
      code: 'not_found',
    });
  });

  it('GET /router/registry lists contract routes, public routes, service routes and tenant hostnames', async () => {
    const prisma = t.app.services.prisma;
    await prisma.athenaPublicRoute.create({ data: { routeKey: 'shop', clientName: 'local', allowedOps: ['fetch'] } });
    await prisma.athenaServiceRoute.create({
      data: { routeKey: 'shop', serviceKey: 'search', clientName: 'local', upstreamUrl: 'https://internal.example' },
    });
    await prisma.athenaTenantHostname.create({ data: { tenant: 'acme', clientName: 'local', allowedOps: ['fetch'] } });
    const r = await ok('/router/registry');
    const kinds = (k: string) => r.body.filter((e: { kind: string }) => e.kind === k);
    expect(kinds('contract_route')).toHaveLength(Object.keys(contractDoc.paths).length);
    expect(kinds('public_route')).toEqual([
      expect.objectContaining({ path: '/public/shop/{op}', client_name: 'local', allowed_ops: ['fetch'] }),
    ]);
    expect(kinds('service_route')).toEqual([
      expect.objectContaining({ route_key: 'shop', service_key: 'search', client_name: 'local' }),
    ]);
    // The upstream URL of a service route is internal: the public registry does not carry it.
    expect(JSON.stringify(r.body)).not.toContain('internal.example');
    expect(kinds('tenant_hostname')).toEqual([expect.objectContaining({ tenant: 'acme', is_active: true })]);
  });
});

describe('athena meta: GraphQL fields', () => {
  it('public fields answer anonymously; admin fields need the admin key', async () => {
    const pub = await gql(t.baseUrl, AthenaTestMetaDocument, {});
    expect(pub.body.errors).toBeUndefined();
    expect(pub.body.data).toMatchObject({
      athenaRoot: { version, scylladb: 'offline' },
      athenaHealth: { status: 'ok', authStore: 'online' },
      athenaWebSocketInfo: { transport: 'graphql-ws', path: '/graphql' },
    });
    const denied = await gql(t.baseUrl, AthenaTestAdminMetaDocument, {});
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const allowed = await gql(t.baseUrl, AthenaTestAdminMetaDocument, {}, t.adminKey);
    expect(allowed.body.errors).toBeUndefined();
    expect(allowed.body.data?.athenaSchemaReport.health).toBe('healthy');
    expect(allowed.body.data?.athenaErrorCatalog).toContainEqual({
      code: 'invalid_structured_select_request',
      number: 1200,
      domain: 'gateway',
      docsUrl: 'https://docs.athena-cluster.com/1200',
    });
  });
});

describe('athena meta: metrics and a degraded schema', () => {
  it('GET /metrics exposes uptime, request counts, mutations and mirror probes', async () => {
    await ok('/');
    await ok('/health/cluster');
    const r = await call('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.text).toMatch(/^# HELP athena_uptime_seconds/m);
    expect(r.text).toMatch(/^athena_uptime_seconds \d/m);
    const getRoot = /^athena_http_requests\{operation="get_root",status="200"\} (\d+)$/m.exec(r.text);
    expect(Number(getRoot?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(/^athena_http_requests_24h (\d+)$/m.exec(r.text)?.[1])).toBeGreaterThan(5);
    expect(r.text).toContain('athena_management_mutations{kind="registry_upsert"} 1');
    expect(r.text).toContain('athena_management_mutations{kind="registry_delete"} 1');
    expect(r.text).toContain(`athena_cluster_mirror_up{mirror="${peer.baseUrl}"} 1`);
    expect(r.text).toContain(`athena_cluster_mirror_up{mirror="http://127.0.0.1:${closedPort}"} 0`);
    expect(r.text).toMatch(new RegExp(`^athena_cluster_mirror_latency_ms\\{mirror="${peer.baseUrl}"\\} [\\d.]+$`, 'm'));
    // Only Athena's series: the platform's process and request metrics stay behind the admin key on /metrics.
    expect(r.text).not.toContain('atrium_http_requests_total');
    expect(r.text).not.toContain('process_cpu');
  });

  it('GET /debug/schema reports a dropped column and a missing table', async () => {
    const prisma = t.app.services.prisma;
    await prisma.$executeRawUnsafe('ALTER TABLE athena_ddl_audit DROP COLUMN request_id');
    const degraded = await ok('/debug/schema', admin());
    expect(degraded.body.summary).toMatchObject({ health: 'degraded', required_missing_column_count: 1 });
    expect(degraded.body.still_needed.required_missing_columns).toEqual([
      expect.stringMatching(/\.athena_ddl_audit\.request_id$/),
    ]);
    await prisma.$executeRawUnsafe('DROP TABLE athena_api_registry');
    const unhealthy = await ok('/debug/schema', admin());
    expect(unhealthy.body.summary.health).toBe('unhealthy');
    expect(unhealthy.body.missing_required_tables).toEqual([expect.stringMatching(/\.athena_api_registry$/)]);
    expect(unhealthy.body.summary.health_reasons.map((h: { code: string }) => h.code)).toEqual([
      'missing_required_tables',
      'missing_required_columns',
    ]);
  });
});
