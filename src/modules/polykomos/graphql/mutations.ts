import { builder } from '../../../core/builder.ts';
import { invalidParameter } from '../polykomos.errors.ts';
import type { DatabaseRow } from '../polykomos.service.ts';
import {
  errorsOf,
  Forbidden,
  InvalidInput,
  NotFound,
  PolykomosAccountRef,
  PolykomosDatabaseRef,
  PolykomosDbTypeEnum,
  Rejected,
} from './types.ts';

/*
 * One mutation per Polykomos REST write. Idempotency-Key handling is the REST door's (rest-shim/polykomos); GraphQL
 * callers get none. Quota fields follow PATCH semantics: an absent field is unchanged, an explicit null clears it.
 */

const CreatePolykomosDatabaseInput = builder.inputType('CreatePolykomosDatabaseInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Label, ^[a-z0-9][a-z0-9-]{0,62}$, unique per user.' }),
    dbType: t.field({ type: PolykomosDbTypeEnum, required: false, description: 'Default postgres.' }),
    region: t.string({ required: false }),
    plan: t.string({ required: false, description: 'free (default), launch or grow.' }),
    teamId: t.int({ required: false }),
    storageHardLimitGb: t.float({ required: false }),
    connectionHardLimit: t.int({ required: false }),
    warningThresholdPct: t.int({ required: false }),
    blueprintUuid: t.string({ required: false, description: 'Not served yet: any value answers BLUEPRINT_NOT_FOUND.' }),
  }),
});

const PolykomosQuotasInput = builder.inputType('PolykomosQuotasInput', {
  fields: (t) => ({
    storageHardLimitGb: t.float({ required: false }),
    connectionHardLimit: t.int({ required: false }),
    warningThresholdPct: t.int({ required: false }),
  }),
});

const CreatePayload = builder
  .objectRef<{ database: DatabaseRow; completed: boolean; waitedSeconds: number }>('CreatePolykomosDatabasePayload')
  .implement({
    fields: (t) => ({
      database: t.field({ type: PolykomosDatabaseRef, resolve: (p) => p.database }),
      completed: t.exposeBoolean('completed', { description: 'Whether the database is active (provisioned).' }),
      waitedSeconds: t.exposeInt('waitedSeconds'),
    }),
  });

const DeletePayload = builder
  .objectRef<{ database: DatabaseRow; cancelledProvisionJobs: number; hasRemoteResources: boolean }>(
    'DeletePolykomosDatabasePayload',
  )
  .implement({
    fields: (t) => ({
      uuid: t.string({ resolve: (p) => p.database.uuid }),
      deleted: t.boolean({ resolve: () => true }),
      cancelledProvisionJobs: t.exposeInt('cancelledProvisionJobs'),
      hasRemoteResources: t.exposeBoolean('hasRemoteResources', {
        description: 'True only when dropping the server-side database failed and it still exists.',
      }),
      destroyScheduledAt: t.field({
        type: 'DateTime',
        nullable: true,
        resolve: (p) => p.database.destroyScheduledAt,
      }),
    }),
  });

builder.mutationField('createPolykomosDatabase', (t) =>
  t.field({
    type: CreatePayload,
    description:
      'Provisions a real database and login on the configured engine server. wait=true blocks up to timeout ' +
      '(1–120 s, default 30) seconds for it to become active. Scope databases:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, InvalidInput, Rejected),
    args: {
      input: t.arg({ type: CreatePolykomosDatabaseInput, required: true }),
      wait: t.arg.boolean({ required: false }),
      timeout: t.arg.int({ required: false }),
    },
    resolve: (_r, { input, wait, timeout }, ctx) => {
      const seconds = timeout ?? 30;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120) throw invalidParameter('timeout must be 1..120');
      return ctx.services.polykomos.databases.createDatabase(ctx.principal, input, wait ? seconds : 0);
    },
  }),
);

builder.mutationField('updatePolykomosDatabase', (t) =>
  t.field({
    type: PolykomosDatabaseRef,
    description: 'Renames the database (its label; db_name never changes). Scope databases:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound, InvalidInput, Rejected),
    args: { uuid: t.arg.string({ required: true }), name: t.arg.string({ required: false }) },
    resolve: (_r, { uuid, name }, ctx) =>
      ctx.services.polykomos.databases.updateDatabase(ctx.principal, uuid, { name }),
  }),
);

builder.mutationField('updatePolykomosDatabaseQuotas', (t) =>
  t.field({
    type: PolykomosDatabaseRef,
    description: 'Partial quota update; connectionHardLimit is applied on the engine server. Scope databases:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound, Rejected),
    args: { uuid: t.arg.string({ required: true }), input: t.arg({ type: PolykomosQuotasInput, required: true }) },
    resolve: (_r, { uuid, input }, ctx) => ctx.services.polykomos.databases.updateQuotas(ctx.principal, uuid, input),
  }),
);

builder.mutationField('deletePolykomosDatabase', (t) =>
  t.field({
    type: DeletePayload,
    description: 'Deletes the database: the server-side database and login are dropped now. Scope databases:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { uuid: t.arg.string({ required: true }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.polykomos.databases.deleteDatabase(ctx.principal, uuid),
  }),
);

const PolykomosKeyControlsInput = builder.inputType('PolykomosKeyControlsInput', {
  fields: (t) => ({
    userId: t.string({ required: false, description: 'The owning user; keys of one user share databases.' }),
    userName: t.string({ required: false }),
    userEmail: t.string({ required: false }),
    requestsPerMinute: t.int({ required: false, description: '1–100000; default 60.' }),
    monthlyQuota: t.int({ required: false, description: 'Requests per calendar month (UTC); null: none.' }),
    allowedIpList: t.stringList({ required: false, description: 'Addresses or CIDR blocks; empty: any.' }),
    inactiveTtlDays: t.int({ required: false, description: 'Days without use after which the key is refused.' }),
  }),
});

builder.mutationField('setPolykomosKeyControls', (t) =>
  t.field({
    type: PolykomosAccountRef,
    description: 'Sets the user and per-key controls of a Polykomos API key. Platform admin only.',
    authScopes: { admin: true },
    errors: errorsOf(Forbidden, NotFound, InvalidInput),
    args: {
      apiKeyId: t.arg.string({ required: true }),
      input: t.arg({ type: PolykomosKeyControlsInput, required: true }),
    },
    resolve: (_r, { apiKeyId, input }, ctx) =>
      ctx.services.polykomos.databases.setKeyControls(ctx.principal, apiKeyId, input),
  }),
);
