import { builder } from '../../../core/builder.ts';
import type { ApplicationRow } from '../applications.service.ts';
import { invalidParameter } from '../polykomos.errors.ts';
import { errorsOf, Forbidden, InvalidInput, NotFound, Rejected } from './types.ts';

export const PolykomosBlueprintApplicationRef = builder
  .objectRef<ApplicationRow>('PolykomosBlueprintApplication')
  .implement({
    description: 'A blueprint run on one of the caller’s databases (ids are the internal integers).',
    fields: (t) => ({
      id: t.exposeInt('id'),
      blueprintId: t.exposeInt('blueprintId'),
      blueprintVersion: t.exposeInt('blueprintVersion'),
      databaseInstanceId: t.exposeInt('databaseId'),
      status: t.exposeString('status', { description: 'pending, running, completed, failed or rolled_back.' }),
      isDryRun: t.exposeBoolean('isDryRun'),
      executionLog: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.executionLog ?? null }),
      totalDurationMs: t.exposeInt('totalDurationMs', { nullable: true }),
      statementsTotal: t.exposeInt('statementsTotal'),
      statementsSucceeded: t.exposeInt('statementsOk'),
      statementsFailed: t.exposeInt('statementsFailed'),
      errorMessage: t.exposeString('errorMessage', { nullable: true }),
      variableValues: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.variableValues ?? null }),
      startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
      completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
      createdAt: t.expose('createdAt', { type: 'DateTime' }),
    }),
  });

const ApplyPayload = builder
  .objectRef<{ application: ApplicationRow; done: boolean }>('ApplyPolykomosBlueprintPayload')
  .implement({
    fields: (t) => ({
      application: t.field({ type: PolykomosBlueprintApplicationRef, resolve: (p) => p.application }),
      done: t.exposeBoolean('done', { description: 'Whether the status is terminal (REST: 200, else 202).' }),
    }),
  });

const ApplyInput = builder.inputType('ApplyPolykomosBlueprintInput', {
  fields: (t) => ({
    blueprintUuid: t.string({ required: true }),
    variables: t.field({ type: 'JSON', required: false }),
    dryRun: t.boolean({ required: false, description: 'Run, then always ROLLBACK. Default false.' }),
    wait: t.boolean({ required: false, description: 'Default true.' }),
    timeout: t.int({ required: false, description: 'Seconds to wait, 1–120, default 30.' }),
  }),
});

builder.mutationField('applyPolykomosBlueprint', (t) =>
  t.field({
    type: ApplyPayload,
    description:
      'Runs a blueprint on one of the caller’s Postgres databases in one transaction (rolled back on failure). ' +
      'Scopes databases:write and blueprints:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound, InvalidInput, Rejected),
    args: {
      databaseUuid: t.arg.string({ required: true }),
      input: t.arg({ type: ApplyInput, required: true }),
    },
    resolve: (_r, { databaseUuid, input }, ctx) => {
      const seconds = input.timeout ?? 30;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120) throw invalidParameter('timeout must be 1..120');
      return ctx.services.polykomos.applications.apply(
        ctx.principal,
        databaseUuid,
        input,
        input.wait === false ? 0 : seconds,
      );
    },
  }),
);

builder.queryField('polykomosBlueprintApplication', (t) =>
  t.field({
    type: PolykomosBlueprintApplicationRef,
    description: 'One of the caller’s blueprint applications by integer id. Scope databases:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { id: t.arg.int({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.services.polykomos.applications.get(ctx.principal, id),
  }),
);
