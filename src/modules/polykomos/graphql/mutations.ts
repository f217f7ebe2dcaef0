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
  PolykomosPlanEnum,
  Rejected,
} from './types.ts';

/*
 * One mutation per Polykomos REST write. Idempotency-Key handling is the REST door's (rest-shim/polykomos); GraphQL
 * callers get none. Quota fields follow PATCH semantics: an absent field is unchanged, an explicit null clears it.
 */

const CreatePolykomosDatabaseInput = builder.inputType('CreatePolykomosDatabaseInput', {
  description: 'A new database.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Label, ^[a-z0-9][a-z0-9-]{0,62}$, unique per user.' }),
    dbType: t.field({ type: PolykomosDbTypeEnum, required: false, description: 'Default postgres.' }),
    region: t.string({ required: false, description: 'Default: the server’s region (the only one offered).' }),
    plan: t.field({ type: PolykomosPlanEnum, required: false, description: 'Default free.' }),
    teamId: t.int({ required: false, description: 'Teams are not modelled yet: any value is FORBIDDEN.' }),
    storageHardLimitGb: t.float({ required: false, description: 'Storage limit in gigabytes; absent: none.' }),
    connectionHardLimit: t.int({ required: false, description: 'Connection limit of the login, 1–10000.' }),
    warningThresholdPct: t.int({ required: false, description: 'Warning threshold, 1–100 percent.' }),
    blueprintUuid: t.string({ required: false, description: 'Not served yet: any value answers BLUEPRINT_NOT_FOUND.' }),
  }),
});

const PolykomosQuotasInput = builder.inputType('PolykomosQuotasInput', {
  description: 'A partial quota update: an absent field is unchanged, an explicit null clears it.',
  fields: (t) => ({
    storageHardLimitGb: t.float({ required: false, description: 'Storage limit in gigabytes (positive).' }),
    connectionHardLimit: t.int({ required: false, description: 'Connection limit of the login, 1–10000.' }),
    warningThresholdPct: t.int({ required: false, description: 'Warning threshold, 1–100 percent.' }),
  }),
});

const CreatePayload = builder
  .objectRef<{ database: DatabaseRow; completed: boolean; waitedSeconds: number }>('CreatePolykomosDatabasePayload')
  .implement({
    description: 'The created database and whether provisioning finished while waiting.',
    fields: (t) => ({
      database: t.field({ type: PolykomosDatabaseRef, description: 'The database.', resolve: (p) => p.database }),
      completed: t.exposeBoolean('completed', { description: 'Whether the database is active (provisioned).' }),
      waitedSeconds: t.exposeInt('waitedSeconds', { description: 'Seconds spent waiting for it.' }),
    }),
  });

const DeletePayload = builder
  .objectRef<{ database: DatabaseRow; cancelledProvisionJobs: number; hasRemoteResources: boolean }>(
    'DeletePolykomosDatabasePayload',
  )
  .implement({
    description: 'The outcome of a delete.',
    fields: (t) => ({
      uuid: t.string({ description: 'The deleted database’s uuid.', resolve: (p) => p.database.uuid }),
      deleted: t.boolean({ description: 'Always true.', resolve: () => true }),
      database: t.field({
        type: PolykomosDatabaseRef,
        description: 'The database as deleted (status deleted).',
        resolve: (p) => p.database,
      }),
      cancelledProvisionJobs: t.exposeInt('cancelledProvisionJobs', {
        description: 'Provisioning runs cancelled (1 when it was still provisioning, else 0).',
      }),
      hasRemoteResources: t.exposeBoolean('hasRemoteResources', {
        description: 'True only when dropping the server-side database failed and it still exists.',
      }),
      destroyScheduledAt: t.field({
        type: 'DateTime',
        nullable: true,
        description: 'When it is destroyed; null: dropped at once.',
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
      input: t.arg({ type: CreatePolykomosDatabaseInput, required: true, description: 'The database.' }),
      wait: t.arg.boolean({ required: false, description: 'Wait for it to become active. Default false.' }),
      timeout: t.arg.int({ required: false, description: 'Seconds to wait, 1–120, default 30.' }),
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
    args: {
      uuid: t.arg.string({ required: true, description: 'The database’s uuid.' }),
      name: t.arg.string({ required: false, description: 'The new label; absent or null: unchanged.' }),
    },
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
    args: {
      uuid: t.arg.string({ required: true, description: 'The database’s uuid.' }),
      input: t.arg({ type: PolykomosQuotasInput, required: true, description: 'The quotas to change.' }),
    },
    resolve: (_r, { uuid, input }, ctx) => ctx.services.polykomos.databases.updateQuotas(ctx.principal, uuid, input),
  }),
);

builder.mutationField('deletePolykomosDatabase', (t) =>
  t.field({
    type: DeletePayload,
    description: 'Deletes the database: the server-side database and login are dropped now. Scope databases:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { uuid: t.arg.string({ required: true, description: 'The database’s uuid.' }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.polykomos.databases.deleteDatabase(ctx.principal, uuid),
  }),
);

const PolykomosKeyControlsInput = builder.inputType('PolykomosKeyControlsInput', {
  description: 'A key’s user and controls; absent fields keep their value (or default).',
  fields: (t) => ({
    userId: t.string({ required: false, description: 'The owning user; keys of one user share databases.' }),
    userName: t.string({ required: false, description: 'The user’s display name.' }),
    userEmail: t.string({ required: false, description: 'The user’s email address.' }),
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
      apiKeyId: t.arg.string({ required: true, description: 'The API key’s uuid.' }),
      input: t.arg({ type: PolykomosKeyControlsInput, required: true, description: 'The user and controls.' }),
    },
    resolve: (_r, { apiKeyId, input }, ctx) =>
      ctx.services.polykomos.databases.setKeyControls(ctx.principal, apiKeyId, input),
  }),
);
