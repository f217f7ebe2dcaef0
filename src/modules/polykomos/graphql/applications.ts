import { builder } from '../../../core/builder.ts';
import type { ApplicationRow } from '../applications.service.ts';
import { invalidParameter, PolykomosError } from '../polykomos.errors.ts';
import {
  connectionDescriptions,
  errorsOf,
  Forbidden,
  InvalidInput,
  keyedConnection,
  NotFound,
  PolykomosDatabaseRef,
  Rejected,
  withTotalCount,
} from './types.ts';

export const PolykomosBlueprintApplicationStatusEnum = builder.enumType('PolykomosBlueprintApplicationStatus', {
  description: 'Where a blueprint application is.',
  values: {
    pending: { description: 'Recorded; not started yet.' },
    running: { description: 'Its transaction is running on the database.' },
    completed: { description: 'Every statement ran; committed, except for a dry run (always rolled back).' },
    failed: { description: 'Could not run (the database stayed unreachable); nothing was changed.' },
    rolled_back: { description: 'A statement failed: everything was rolled back.' },
  } as const,
});
type ApplicationStatus = 'pending' | 'running' | 'completed' | 'failed' | 'rolled_back';

/** An application id from a node id or a cursor (decimal text), or undefined. */
function applicationId(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}

export const PolykomosBlueprintApplicationRef = builder.node(
  builder.objectRef<ApplicationRow>('PolykomosBlueprintApplication'),
  {
    description: 'A blueprint run on one of the caller’s databases (REST ids are the internal integers). Owner only.',
    id: { description: connectionDescriptions.nodeId, resolve: (a) => String(a.id) },
    authScopes: { product: 'polykomos' },
    loadOne: async (id, ctx) => {
      const key = applicationId(id);
      if (key === undefined) return null;
      try {
        return await ctx.services.polykomos.applications.get(ctx.principal, key);
      } catch (err) {
        if (!(err instanceof PolykomosError)) throw err;
        // Missing, another owner's and a missing scope are all null (indistinguishable).
        return null;
      }
    },
    isTypeOf: (v) => typeof v === 'object' && v !== null && 'statementsOk' in v && 'blueprintVersion' in v,
    fields: (t) => ({
      applicationId: t.exposeInt('id', { description: 'The integer id REST paths use.' }),
      blueprintId: t.exposeInt('blueprintId', { description: 'The blueprint’s integer id.' }),
      blueprintVersion: t.exposeInt('blueprintVersion', { description: 'The blueprint version that ran.' }),
      databaseInstanceId: t.exposeInt('databaseId', { description: 'The target database’s integer id.' }),
      status: t.field({
        type: PolykomosBlueprintApplicationStatusEnum,
        description: 'Where it is.',
        resolve: (a) => a.status as ApplicationStatus,
      }),
      isDryRun: t.exposeBoolean('isDryRun', { description: 'Run, then always rolled back.' }),
      executionLog: t.field({
        type: 'JSON',
        nullable: true,
        description: 'Per statement: {index, sql (first 500 characters), status, duration_ms, rows_affected, error}.',
        resolve: (a) => a.executionLog ?? null,
      }),
      totalDurationMs: t.exposeInt('totalDurationMs', {
        nullable: true,
        description: 'Milliseconds the run took; null until it ends.',
      }),
      statementsTotal: t.exposeInt('statementsTotal', { description: 'Statements in the run.' }),
      statementsSucceeded: t.exposeInt('statementsOk', { description: 'Statements that ran.' }),
      statementsFailed: t.exposeInt('statementsFailed', { description: 'Statements that failed (0 or 1).' }),
      errorMessage: t.exposeString('errorMessage', { nullable: true, description: 'Why it failed; null otherwise.' }),
      variableValues: t.field({
        type: 'JSON',
        nullable: true,
        description: 'The variable values used (defaults filled in).',
        resolve: (a) => a.variableValues ?? null,
      }),
      startedAt: t.expose('startedAt', {
        type: 'DateTime',
        nullable: true,
        description: 'When it started; null while pending.',
      }),
      completedAt: t.expose('completedAt', {
        type: 'DateTime',
        nullable: true,
        description: 'When it ended; null until then.',
      }),
      createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was recorded.' }),
    }),
  },
);

builder.objectField(PolykomosDatabaseRef, 'blueprintApplications', (t) =>
  t.connection(
    {
      type: PolykomosBlueprintApplicationRef,
      description:
        'Blueprint applications run on this database, newest first. Cursors are application ids. first 1–100, ' +
        'default 25. Scope blueprints:read.',
      errors: errorsOf(Forbidden, InvalidInput),
      resolve: async (db, args, ctx) => {
        let after: number | null = null;
        if (args.after != null) {
          const id = applicationId(args.after);
          if (id === undefined) throw invalidParameter(`after: "${args.after}" is not an application id`);
          after = id;
        }
        const page = await ctx.services.polykomos.applications.listForDatabase(
          ctx.principal,
          db,
          args.first ?? 25,
          after,
        );
        return keyedConnection(page, args.after, (a) => String(a.id));
      },
    },
    withTotalCount,
    { description: connectionDescriptions.edge },
  ),
);

const ApplyPayload = builder
  .objectRef<{ application: ApplicationRow; done: boolean }>('ApplyPolykomosBlueprintPayload')
  .implement({
    description: 'The application and whether it ended while waiting.',
    fields: (t) => ({
      application: t.field({
        type: PolykomosBlueprintApplicationRef,
        description: 'The application.',
        resolve: (p) => p.application,
      }),
      done: t.exposeBoolean('done', { description: 'Whether the status is terminal (REST: 200, else 202).' }),
    }),
  });

const ApplyInput = builder.inputType('ApplyPolykomosBlueprintInput', {
  description: 'Which blueprint to run, with what, and how long to wait.',
  fields: (t) => ({
    blueprintUuid: t.string({ required: true, description: 'One of the caller’s blueprints.' }),
    variables: t.field({ type: 'JSON', required: false, description: 'Values of its variables, by name.' }),
    dryRun: t.boolean({ required: false, description: 'Run, then always ROLLBACK. Default false.' }),
    wait: t.boolean({ required: false, description: 'Wait for a terminal status. Default true.' }),
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
      databaseUuid: t.arg.string({ required: true, description: 'The target database’s uuid.' }),
      input: t.arg({ type: ApplyInput, required: true, description: 'The run.' }),
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
    nullable: true,
    description: 'One of the caller’s blueprint applications by its integer id (REST’s id). Scope blueprints:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { applicationId: t.arg.int({ required: true, description: 'The application’s integer id.' }) },
    resolve: (_r, { applicationId: id }, ctx) => ctx.services.polykomos.applications.get(ctx.principal, id),
  }),
);
