import { builder } from '../../../core/builder.ts';
import { boundClient, isAthenaAdmin } from '../athena.access.ts';
import { AthenaError } from '../athena.errors.ts';
import { deferredStates } from '../deferred.service.ts';
import { GatewayError } from '../gateway/errors.ts';
import { type GatewayRoute, gatewayRoutes } from '../gateway/requests.ts';
import type { GatewayAnswer } from '../gateway.service.ts';
import { athenaErrors } from './types.ts';

/*
 * The gateway's queue and aliases (G1, docs/athena.md "Gateway: deferred, public routes, direct URIs, D1"): deferred
 * requests (stored, run later by the `athena.deferred` job as their owner), public-route dispatch, and the
 * PostgreSQL → D1 migration.
 */

const gatewayErrors = {
  types: [AthenaError, GatewayError],
  union: { description: 'The result, or why the gateway refused it.' },
  result: { description: 'The gateway answered.' },
  dataField: { description: 'The result.' },
};

const AthenaGatewayRouteEnum = builder.enumType('AthenaGatewayOperation', {
  description: 'A structured gateway operation (`/gateway/<route>`), with its request body as REST sends it.',
  values: Object.fromEntries(
    gatewayRoutes.map((r) => [r.toUpperCase(), { value: r, description: `\`/gateway/${r}\`.` }]),
  ) as Record<string, { value: GatewayRoute; description: string }>,
});

const AthenaDeferredStateEnum = builder.enumType('AthenaDeferredState', {
  description: 'Where a deferred request is: queued → running → completed | failed (requeue: back to queued).',
  values: Object.fromEntries(
    deferredStates.map((s) => [s.toUpperCase(), { value: s, description: `The request is ${s}.` }]),
  ) as Record<string, { value: (typeof deferredStates)[number]; description: string }>,
});

const nilUuid = '00000000-0000-0000-0000-000000000000';

export const AthenaDeferredRequestRef = builder.prismaNode('AthenaDeferredRequest', {
  id: { field: 'id' },
  description:
    'A gateway request stored with `X-Athena-Defer: true` and run later, as its owner, by the durable job ' +
    '`athena.deferred` on any instance.',
  // node(id): requests the caller may not see are null, like unknown ids.
  nullable: true,
  findUnique: (id, ctx) => {
    const p = ctx.principal;
    if (isAthenaAdmin(p)) return { id };
    const client = boundClient(p);
    return client ? { id, clientName: client } : { id: nilUuid, clientName: '\u0000' };
  },
  fields: (t) => ({
    requestId: t.exposeString('requestId', { description: 'The id REST clients poll (`/gateway/deferred/{id}`).' }),
    clientName: t.exposeString('clientName', { description: 'The Athena client it runs on.' }),
    route: t.field({
      type: AthenaGatewayRouteEnum,
      description: 'The gateway operation it runs.',
      resolve: (r) => r.route as GatewayRoute,
    }),
    method: t.exposeString('method', { description: 'The HTTP method of that route.' }),
    state: t.field({
      type: AthenaDeferredStateEnum,
      description: 'Where it is.',
      resolve: (r) => r.status as (typeof deferredStates)[number],
    }),
    attempts: t.exposeInt('attempts', { description: 'The attempt it is on: 1, plus one per requeue.' }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Completed: the answer the route would have given inline (`{status, message, data}`).',
      resolve: (r) => r.result ?? null,
    }),
    error: t.exposeString('error', { nullable: true, description: 'Failed: why.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was deferred.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When its run started.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When its run ended.' }),
    requeuedAt: t.expose('requeuedAt', { type: 'DateTime', nullable: true, description: 'When it was requeued.' }),
  }),
});

builder.queryField('athenaDeferredRequest', (t) =>
  t.field({
    type: AthenaDeferredRequestRef,
    description: 'A deferred request by its request id (the admin sees all, a key those of its client).',
    errors: athenaErrors,
    args: { requestId: t.arg.string({ required: true, description: 'The request id.' }) },
    resolve: (_root, a, ctx) => ctx.services.athena.deferred.get(ctx.principal, a.requestId),
  }),
);

builder.mutationField('athenaDeferRequest', (t) =>
  t.field({
    type: AthenaDeferredRequestRef,
    description:
      'Stores a gateway request to run later (REST: `X-Athena-Defer: true`). The body is checked now and the ' +
      'caller must hold the route’s right on the client; it runs as the caller, at least once.',
    errors: gatewayErrors,
    args: {
      client: t.arg.string({ required: true, description: 'The Athena client (X-Athena-Client).' }),
      route: t.arg({ type: AthenaGatewayRouteEnum, required: true, description: 'The gateway operation.' }),
      body: t.arg({ type: 'JSON', required: true, description: 'Its request body, as the REST route takes it.' }),
      stripNulls: t.arg.boolean({ required: false, description: 'Fetch: drop null fields (`X-Strip-Nulls`).' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.deferred.defer(ctx.principal, {
        client: a.client,
        route: a.route,
        body: a.body,
        headers: a.stripNulls ? { stripNulls: true } : {},
      }),
  }),
);

builder.mutationField('athenaRequeueDeferredRequest', (t) =>
  t.field({
    type: AthenaDeferredRequestRef,
    description: 'Puts a completed or failed deferred request back in the queue (attempts + 1).',
    errors: athenaErrors,
    args: { requestId: t.arg.string({ required: true, description: 'The request id.' }) },
    resolve: (_root, a, ctx) => ctx.services.athena.deferred.requeue(ctx.principal, a.requestId),
  }),
);

const AthenaDeferredFlushRef = builder
  .objectRef<{ succeeded: number; failed: number; invalidatedTables: string[] }>('AthenaDeferredFlush')
  .implement({
    description: 'What a flush of the deferred queue did.',
    fields: (t) => ({
      succeeded: t.exposeInt('succeeded', { description: 'Requests that completed.' }),
      failed: t.exposeInt('failed', { description: 'Requests that failed.' }),
      invalidatedTables: t.exposeStringList('invalidatedTables', {
        description: 'Tables (`schema.table`) the completed writes changed; their cached counts were dropped.',
      }),
    }),
  });

builder.mutationField('athenaFlushDeferredRequests', (t) =>
  t.field({
    type: AthenaDeferredFlushRef,
    description: 'Runs every queued deferred request the caller may see now (the admin: all; a key: its client’s).',
    errors: athenaErrors,
    resolve: (_root, _a, ctx) => ctx.services.athena.deferred.flush(ctx.principal),
  }),
);

const AthenaGatewayAnswerRef = builder.objectRef<GatewayAnswer>('AthenaGatewayAnswer').implement({
  description: 'A structured gateway operation’s answer, as the REST envelope carries it.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What happened (`Fetched 3 rows`, `Row inserted`, …).' }),
    data: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The rows (fetch) or the write’s result object, as the REST route answers it.',
      resolve: (a) => a.data ?? null,
    }),
    postProcessing: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Fetch with post-processing options: the buckets and totals.',
      resolve: (a) => a.postProcessing ?? null,
    }),
  }),
});

builder.mutationField('athenaDispatchPublicRoute', (t) =>
  t.field({
    type: AthenaGatewayAnswerRef,
    description:
      'Forwards a gateway body through a public route to the route’s client (`/public/{route_key}/{op}`): the ' +
      'caller is the admin or a key bound to that client; the route’s allowed ops are the permission.',
    errors: gatewayErrors,
    args: {
      routeKey: t.arg.string({ required: true, description: 'The public route key.' }),
      op: t.arg({ type: AthenaGatewayRouteEnum, required: true, description: 'The gateway operation.' }),
      body: t.arg({ type: 'JSON', required: true, description: 'Its request body, as the REST route takes it.' }),
      stripNulls: t.arg.boolean({ required: false, description: 'Fetch: drop null fields.' }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.publicRoutes.dispatch(ctx.principal, {
        routeKey: a.routeKey,
        op: a.op,
        body: a.body,
        headers: a.stripNulls ? { stripNulls: true } : {},
      }),
  }),
);

const AthenaD1OutcomeEnum = builder.enumType('AthenaD1MigrationOutcome', {
  description: 'How a PostgreSQL → D1 migration ended.',
  values: {
    PREVIEW: { value: 'preview' as const, description: 'Converted only (dry run).' },
    REJECTED: { value: 'rejected' as const, description: 'Strict mode found errors; nothing was executed.' },
    APPLIED: { value: 'applied' as const, description: 'Every planned statement ran on D1.' },
    FAILED: { value: 'failed' as const, description: 'D1 failed a batch: earlier batches applied, later not run.' },
  },
});

const AthenaD1MigrationRef = builder
  .objectRef<{ outcome: 'preview' | 'rejected' | 'applied' | 'failed'; report: unknown; failure: string | null }>(
    'AthenaD1Migration',
  )
  .implement({
    description: 'A PostgreSQL → Cloudflare D1 migration: its outcome and the contract’s report.',
    fields: (t) => ({
      outcome: t.field({ type: AthenaD1OutcomeEnum, description: 'How it ended.', resolve: (r) => r.outcome }),
      report: t.field({
        type: 'JSON',
        description:
          'The contract’s body: D1MigrationPreviewResponse (preview, rejected) or D1MigrationExecutionResponse ' +
          '(applied, failed): converted SQL, per-statement plan or results, diagnostics, source metadata.',
        resolve: (r) => r.report,
      }),
      failure: t.exposeString('failure', { nullable: true, description: 'Failed: what D1 answered.' }),
    }),
  });

builder.mutationField('athenaMigrateToD1', (t) =>
  t.field({
    type: AthenaD1MigrationRef,
    description:
      'Converts PostgreSQL DDL/DML to D1 (SQLite) and, unless a dry run (the default), applies it to the D1 ' +
      'database of a D1-capable client (catalog metadata `d1_database_id`) with the server’s D1 account.',
    errors: athenaErrors,
    args: {
      client: t.arg.string({ required: false, description: 'The D1-capable client (required to execute).' }),
      request: t.arg({
        type: 'JSON',
        required: true,
        description: 'The contract’s D1MigrationRequest (camelCase or snake_case).',
      }),
    },
    resolve: (_root, a, ctx) =>
      ctx.services.athena.d1.migrate(ctx.principal, { client: a.client ?? undefined, body: a.request }),
  }),
);
