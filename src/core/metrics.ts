import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

type RequestLabel = 'surface' | 'operation' | 'status';

export interface Metrics {
  /** This app's registry (never prom-client's global one: tests run several apps in one process). */
  readonly registry: Registry;
  readonly httpRequests: Counter<RequestLabel>;
  readonly httpRequestDuration: Histogram<RequestLabel>;
  /** One REST compatibility call; `status` is the HTTP status sent. */
  observeRest(product: string, operationId: string, status: number, seconds: number): void;
  /**
   * One GraphQL operation, labelled by `name` (the server passes its first root field, never the client-chosen
   * operation name); names are still validated and capped before becoming labels.
   */
  observeGraphQL(operationName: string | undefined, operationType: string, hadErrors: boolean, seconds: number): void;
  /** One request to a system route (/healthz, /metrics, …). */
  observeSystem(path: string, status: number, seconds: number): void;
  render(): Promise<{ contentType: string; body: string }>;
}

export const graphQLOperationNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const maxGraphQLOperationNames = 1000;
const operationTypes = new Set(['query', 'mutation', 'subscription']);
// Product and operationId come from our own contracts, yet a label must never be built from arbitrary text.
const restLabelPattern = /^[A-Za-z0-9_.:-]{1,100}$/;
const systemPathPattern = /^\/[A-Za-z0-9._/-]{0,63}$/;
const maxSystemPaths = 32;

// Spans sub-millisecond cache hits to multi-second uploads and slow queries.
export const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Prometheus metrics on a dedicated registry, with bounded label cardinality. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['surface', 'operation', 'status'] as const;
  const httpRequests = new Counter({
    name: 'atrium_http_requests_total',
    help: 'Requests handled, by surface (graphql, rest:<product>, system), operation and status',
    labelNames,
    registers: [registry],
  });
  const httpRequestDuration = new Histogram({
    name: 'atrium_http_request_duration_seconds',
    help: 'Request handling time in seconds, by surface, operation and status',
    labelNames,
    buckets: latencyBuckets,
    registers: [registry],
  });

  const observe = (surface: string, operation: string, status: string, seconds: number) => {
    const labels = { surface, operation, status };
    httpRequests.inc(labels);
    if (Number.isFinite(seconds) && seconds >= 0) httpRequestDuration.observe(labels, seconds);
  };

  const graphQLNames = boundedLabels(maxGraphQLOperationNames);
  const systemPaths = boundedLabels(maxSystemPaths);

  return {
    registry,
    httpRequests,
    httpRequestDuration,
    observeRest(product, operationId, status, seconds) {
      const surface = restLabelPattern.test(product) ? `rest:${product}` : 'rest:other';
      observe(surface, restLabelPattern.test(operationId) ? operationId : 'other', statusLabel(status), seconds);
    },
    observeGraphQL(operationName, operationType, hadErrors, seconds) {
      const type = operationTypes.has(operationType) ? operationType : 'other';
      let name: string;
      if (operationName === undefined || operationName === '') name = 'anonymous';
      else if (!graphQLOperationNamePattern.test(operationName)) name = 'other';
      else name = graphQLNames(operationName);
      observe('graphql', `${type}:${name}`, hadErrors ? 'error' : 'ok', seconds);
    },
    observeSystem(path, status, seconds) {
      // Unknown paths are client-chosen; a 404 for each would be a new series per probe or scanner request.
      const operation = status === 404 ? 'unmatched' : systemPathPattern.test(path) ? systemPaths(path) : 'other';
      observe('system', operation, statusLabel(status), seconds);
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/** Admits the first `max` distinct values as themselves and maps every later newcomer to `other`. */
function boundedLabels(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return 'other';
    seen.add(value);
    return value;
  };
}

function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}
