import type { GatewayRoute } from '../../src/modules/athena/gateway/requests.ts';
import { d1RequestErrorBody } from '../../src/modules/athena/sql/d1.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';
import {
  AthenaDeferRequestDocument,
  AthenaDeferredRequestDocument,
  type AthenaDeferredRequestFieldsFragment,
  AthenaDispatchPublicRouteDocument,
  AthenaFlushDeferredRequestsDocument,
  type AthenaGatewayOperation,
  AthenaMigrateToD1Document,
  AthenaRequeueDeferredRequestDocument,
} from '../generated/graphql.ts';
import { athenaErrorBody, iso, statusOfCode } from './answer.ts';
import { errorResponse, type Result } from './gateway.ts';
import { graphql, group } from './policy.ts';

/*
 * The gateway's queue and aliases (docs/athena.md "Gateway: deferred, public routes, direct URIs, D1"): deferred
 * requests (`X-Athena-Defer: true` on the structured routes, then `/gateway/deferred/*`), `/public/{route_key}/{op}`
 * and `/gateway/sql/d1/migrate`, each a document onto one GraphQL field.
 */

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const routeName = (r: GatewayRoute) => r.toUpperCase() as AthenaGatewayOperation;
const stripNulls = (req: RestRequest) =>
  ['true', '1'].includes(String(first(req.headers['x-strip-nulls'])).toLowerCase());

/** An Athena error member with its catalog status (404s stay 404 here, unlike the row routes). */
function athenaError(r: NonNullable<Result>): RestResponse {
  const code = r.code ?? 'error';
  const status = statusOfCode(code);
  return { status, body: athenaErrorBody(status, r.message ?? 'Request failed', code) };
}

/** The notes' §3.10 shape of a deferred request. */
function deferredData(d: AthenaDeferredRequestFieldsFragment) {
  return {
    request_id: d.requestId,
    // `state` is the notes' name (§3.10), `status` the one the defer answer uses (`status: "queued"`): the same.
    state: d.state.toLowerCase(),
    status: d.state.toLowerCase(),
    route: `/gateway/${d.route.toLowerCase()}`,
    method: d.method,
    client_name: d.clientName,
    attempts: d.attempts,
    created_at: iso(d.createdAt),
    started_at: iso(d.startedAt),
    finished_at: iso(d.finishedAt),
    requeued_at: iso(d.requeuedAt),
    ...(d.result !== null && d.result !== undefined ? { result: d.result } : {}),
    ...(d.error ? { error: d.error } : {}),
  };
}

function deferredAnswer(r: Result, message: string): RestResponse {
  if (!r) throw new Error('Athena: GraphQL result without data');
  if (r.data === undefined) return athenaError(r);
  return {
    status: 200,
    body: { status: 'success', message, data: deferredData(r.data as AthenaDeferredRequestFieldsFragment) },
  };
}

const deferOperations = new Map<GatewayRoute, ReturnType<typeof makeDeferOperation>>();

function makeDeferOperation(route: GatewayRoute) {
  return graphql({
    document: AthenaDeferRequestDocument,
    variables: (req) => ({
      client: first(req.headers['x-athena-client']) ?? '',
      route: routeName(route),
      body: req.body ?? null,
      stripNulls: stripNulls(req),
    }),
    respond: ({ athenaDeferRequest }) => {
      const r = athenaDeferRequest as Result;
      if (!r) throw new Error('Athena: GraphQL result without data');
      if (r.data === undefined) return errorResponse(r, route);
      const d = r.data as AthenaDeferredRequestFieldsFragment;
      return {
        status: 202,
        body: {
          status: 'success',
          message: `Request deferred: poll GET /gateway/deferred/${d.requestId}`,
          data: { request_id: d.requestId, status: 'queued' },
        },
      };
    },
  });
}

/** The operation a deferred `route` request runs instead of the route's own (gateway.ts `instead`). */
export function deferOperation(route: GatewayRoute) {
  let op = deferOperations.get(route);
  if (!op) {
    op = makeDeferOperation(route);
    deferOperations.set(route, op);
  }
  return op;
}

// The contract declares no security for /gateway/deferred/*: the credential is required anyway (notes §1.1
// decision); who may see which request is the service's (the admin all, a bound key its client's).
const getDeferred = graphql({
  document: AthenaDeferredRequestDocument,
  variables: (req) => ({ requestId: req.params.request_id ?? '' }),
  respond: ({ athenaDeferredRequest }) => deferredAnswer(athenaDeferredRequest as Result, 'Deferred request loaded'),
});

const requeueDeferred = graphql({
  document: AthenaRequeueDeferredRequestDocument,
  variables: (req) => ({ requestId: req.params.request_id ?? '' }),
  respond: ({ athenaRequeueDeferredRequest }) =>
    deferredAnswer(athenaRequeueDeferredRequest as Result, 'Deferred request requeued'),
});

const flushDeferred = graphql({
  document: AthenaFlushDeferredRequestsDocument,
  variables: () => ({}),
  respond: ({ athenaFlushDeferredRequests }) => {
    const r = athenaFlushDeferredRequests as Result;
    if (!r) throw new Error('Athena: GraphQL result without data');
    if (r.data === undefined) return athenaError(r);
    const d = r.data as { succeeded: number; failed: number; invalidatedTables: string[] };
    return {
      status: 200,
      body: {
        status: 'success',
        message: `Flushed ${d.succeeded + d.failed} deferred requests`,
        data: { succeeded: d.succeeded, failed: d.failed, invalidated_tables: d.invalidatedTables },
      },
    };
  },
});

const dispatchPublicRoute = graphql({
  document: AthenaDispatchPublicRouteDocument,
  variables: (req) => ({
    routeKey: req.params.route_key ?? '',
    op: routeName((req.params.op ?? 'fetch') as GatewayRoute),
    body: req.body ?? null,
    stripNulls: stripNulls(req),
  }),
  respond: ({ athenaDispatchPublicRoute }, req) => {
    const r = athenaDispatchPublicRoute as Result;
    if (!r) throw new Error('Athena: GraphQL result without data');
    if (r.data === undefined) {
      if (r.__typename === 'AthenaError') return athenaError(r);
      // Constraint violations are 409 as on /gateway/insert; other database refusals as on the gateway routes.
      if (['23505', '23503', '23514', '23P01'].includes(r.code ?? '')) {
        return { status: 409, body: athenaErrorBody(409, r.message ?? 'Conflict', r.code ?? 'conflict') };
      }
      return errorResponse(r, req.params.op ?? 'fetch');
    }
    const a = r.data as { message: string; data: unknown; postProcessing?: unknown };
    return {
      status: 200,
      body: {
        status: 'success',
        message: a.message,
        data: a.data,
        ...(a.postProcessing !== null && a.postProcessing !== undefined ? { post_processing: a.postProcessing } : {}),
      },
    };
  },
});

const migrateToD1 = graphql({
  document: AthenaMigrateToD1Document,
  variables: (req) => ({ client: first(req.headers['x-athena-client']) || undefined, request: req.body ?? null }),
  respond: ({ athenaMigrateToD1 }, req) => {
    const r = athenaMigrateToD1 as Result;
    if (!r) throw new Error('Athena: GraphQL result without data');
    if (r.data === undefined) {
      const status = statusOfCode(r.code);
      if (status === 400) {
        const sql = (req.body as { schemaSql?: unknown; schema_sql?: unknown } | undefined) ?? {};
        const original =
          typeof sql.schemaSql === 'string' ? sql.schemaSql : typeof sql.schema_sql === 'string' ? sql.schema_sql : '';
        return { status: 400, body: d1RequestErrorBody(r.message ?? 'Invalid request', original) };
      }
      return athenaError(r);
    }
    const d = r.data as { outcome: string; report: unknown; failure: string | null };
    switch (d.outcome) {
      case 'REJECTED':
        return { status: 422, body: d.report };
      case 'FAILED':
        return {
          status: 503,
          body: { ...athenaErrorBody(503, d.failure ?? 'D1 failed', 'd1_request_failed'), data: d.report },
        };
      default:
        return { status: 200, body: d.report };
    }
  },
});

export const athenaGatewayQueueOperations = group('gateway-queue', 'test/athena/gateway-deferred.test.ts', {
  get_gateway_deferred_by_request_id: getDeferred,
  post_gateway_deferred_by_request_id_requeue: requeueDeferred,
  post_gateway_deferred_flush: flushDeferred,
});

export const athenaPublicRouteOperations = group('public-routes', 'test/athena/public-routes.test.ts', {
  post_public_by_route_key_by_op: dispatchPublicRoute,
});

export const athenaD1Operations = group('d1', 'test/athena/d1.test.ts', {
  post_gateway_sql_d1_migrate: migrateToD1,
});

/** The groups of this file (surface.ts lists them with one spread). */
export const athenaGatewayQueueGroups = [athenaGatewayQueueOperations, athenaPublicRouteOperations, athenaD1Operations];
