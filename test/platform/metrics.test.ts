import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, maxGraphQLOperationNames } from '../../src/core/metrics.ts';

async function labelSets(metrics: ReturnType<typeof createMetrics>, surface: string): Promise<string[]> {
  const { body } = await metrics.render();
  const pattern = new RegExp(`^atrium_http_requests_total\\{surface="${surface}",operation="([^"]*)"`, 'gm');
  return [...body.matchAll(pattern)].map((m) => m[1] ?? '');
}

describe('metrics', () => {
  it('renders request counters, latency histograms and process metrics', async () => {
    const metrics = createMetrics();
    metrics.observeRest('goclaw', 'listApiKeys', 200, 0.004);
    metrics.observeGraphQL('Viewer', 'query', false, 0.0007);
    metrics.observeGraphQL('CreateKey', 'mutation', true, 1.2);
    metrics.observeSystem('/healthz', 200, 0.0001);

    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('# TYPE atrium_http_requests_total counter');
    expect(body).toContain('# TYPE atrium_http_request_duration_seconds histogram');
    expect(body).toContain('atrium_http_requests_total{surface="rest:goclaw",operation="listApiKeys",status="200"} 1');
    expect(body).toContain('atrium_http_requests_total{surface="graphql",operation="query:Viewer",status="ok"} 1');
    expect(body).toContain(
      'atrium_http_requests_total{surface="graphql",operation="mutation:CreateKey",status="error"} 1',
    );
    expect(body).toContain('atrium_http_requests_total{surface="system",operation="/healthz",status="200"} 1');
    // Sub-millisecond and multi-second observations land in distinct buckets.
    expect(body).toContain(
      'atrium_http_request_duration_seconds_bucket{le="0.001",surface="graphql",operation="query:Viewer",status="ok"} 1',
    );
    expect(body).toContain(
      'atrium_http_request_duration_seconds_bucket{le="1",surface="graphql",operation="mutation:CreateKey",status="error"} 0',
    );
    expect(body).toContain(
      'atrium_http_request_duration_seconds_bucket{le="2.5",surface="graphql",operation="mutation:CreateKey",status="error"} 1',
    );
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('uses a private registry, so several apps can coexist in one process', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.observeRest('athena', 'getThing', 200, 0.01);
    expect((await a.render()).body).toContain('surface="rest:athena"');
    expect((await b.render()).body).not.toContain('surface="rest:athena"');
    expect(await globalRegistry.metrics()).not.toContain('atrium_http_requests_total');
  });

  it('labels anonymous and malformed GraphQL operation names without echoing them', async () => {
    const metrics = createMetrics();
    metrics.observeGraphQL(undefined, 'query', false, 0.01);
    metrics.observeGraphQL('', 'query', false, 0.01);
    metrics.observeGraphQL('not a name{}', 'query', false, 0.01);
    metrics.observeGraphQL('1StartsWithDigit', 'query', false, 0.01);
    metrics.observeGraphQL(`A${'b'.repeat(64)}`, 'query', false, 0.01);
    metrics.observeGraphQL('Fine', 'weird-type', false, 0.01);
    expect((await labelSets(metrics, 'graphql')).sort()).toEqual(['other:Fine', 'query:anonymous', 'query:other']);
    const { body } = await metrics.render();
    expect(body).toContain('atrium_http_requests_total{surface="graphql",operation="query:anonymous",status="ok"} 2');
    expect(body).toContain('atrium_http_requests_total{surface="graphql",operation="query:other",status="ok"} 3');
  });

  it('caps distinct GraphQL operation names at 200; later names become "other"', async () => {
    const metrics = createMetrics();
    for (let i = 0; i < maxGraphQLOperationNames + 50; i++) metrics.observeGraphQL(`Op${i}`, 'query', false, 0.001);
    // Names admitted before the cap keep their own series.
    metrics.observeGraphQL('Op0', 'query', false, 0.001);
    metrics.observeGraphQL(`Op${maxGraphQLOperationNames - 1}`, 'query', false, 0.001);

    const operations = await labelSets(metrics, 'graphql');
    expect(operations).toHaveLength(maxGraphQLOperationNames + 1);
    expect(operations).toContain('query:other');
    expect(operations).toContain(`query:Op${maxGraphQLOperationNames - 1}`);
    expect(operations).not.toContain(`query:Op${maxGraphQLOperationNames}`);
    const { body } = await metrics.render();
    expect(body).toContain('atrium_http_requests_total{surface="graphql",operation="query:other",status="ok"} 50');
    expect(body).toContain('atrium_http_requests_total{surface="graphql",operation="query:Op0",status="ok"} 2');
  });

  it('bounds system paths: unmatched routes share one series', async () => {
    const metrics = createMetrics();
    for (let i = 0; i < 500; i++) metrics.observeSystem(`/scan/${i}`, 404, 0.0001);
    metrics.observeSystem('/metrics', 200, 0.002);
    metrics.observeSystem('/"><script>', 405, 0.0001);
    expect((await labelSets(metrics, 'system')).sort()).toEqual(['/metrics', 'other', 'unmatched']);
  });
});

describe('/metrics over HTTP', () => {
  const metricsToken = `metrics-${'m'.repeat(32)}`;
  let t: import('../kit/app.ts').TestApp;
  beforeAll(async () => {
    const { startTestApp } = await import('../kit/app.ts');
    t = await startTestApp({ ATRIUM_METRICS_TOKEN: metricsToken });
  }, 60_000);
  afterAll(() => t?.close());

  const get = (path: string, token?: string) =>
    fetch(`${t.baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('takes the admin key or the metrics token, nothing else', async () => {
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', 'wrong')).status).toBe(401);
    expect((await get('/metrics', `${metricsToken}x`)).status).toBe(401);
    const anonymous = await get('/metrics');
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
    expect((await get('/metrics', t.adminKey)).status).toBe(200);
    const withToken = await get('/metrics', metricsToken);
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toContain('atrium_http_requests_total');
  });

  it('cannot be reached through a product prefix with encoded dot segments', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(t.baseUrl);
      // Options, not a URL string: a URL would be normalised (to /metrics) before it is sent.
      const req = request({ host: hostname, port, path: '/deepstore/%2e%2e/metrics' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
  });

  it('labels GraphQL by root field: client-chosen operation names never become label values', async () => {
    for (let i = 0; i < 5; i++) {
      // A string on purpose: each request carries a different client-chosen operation name.
      await fetch(`${t.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `query Chosen${i}Name { viewer { kind } }` }),
      });
    }
    const body = await (await get('/metrics', t.adminKey)).text();
    expect(body).not.toContain('Chosen');
    expect(body).toMatch(/surface="graphql",operation="query:viewer",status="ok"\} 5/);
  });
});
