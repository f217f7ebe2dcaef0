import { resolveArrayConnection } from '@pothos/plugin-relay';
import type {
  ApiKeyIpRule,
  ApiKeyIpSeen,
  AthenaApiKeyClientConfig,
  AthenaApiKeyRight,
  GlobalIpRule,
} from '../../../../prisma/generated/client/client.ts';
import { builder } from '../../../core/builder.ts';
import type { IpPolicyView } from '../../access/ip-policy.ts';
import { isAthenaAdmin } from '../athena.access.ts';
import { AthenaInvalidInputError } from '../athena.errors.ts';
import type { AthenaKeyView, RightsCatalogEntry } from '../keys.service.ts';
import { adminField, adminOnly, page, pageConnection, withTotalCount } from './admin.ts';
import { athenaErrors } from './types.ts';

/*
 * Athena's access control (G4) in GraphQL: `ath_` keys, dynamic rights, per-key IP rules, seen addresses and global
 * IP rules are Nodes; lists are connections with totalCount; every REST operation has its field. The admin's only
 * (the admin key, or a platform key with the admin scope). Failures are AthenaError with the catalog's code.
 */

function arrayConnection<T>(args: { first?: number | null; after?: string | null }, all: T[]) {
  if ((args.first ?? 0) < 0) throw new AthenaInvalidInputError('first must be >= 0');
  return Object.assign(resolveArrayConnection({ args, defaultSize: 100, maxSize: 1000 }, all), {
    totalCount: all.length,
  });
}

const has = (v: unknown, ...keys: string[]) =>
  typeof v === 'object' && v !== null && keys.every((k) => k in (v as object));

export const AthenaIpRuleKindEnum = builder.enumType('AthenaIpRuleKind', {
  description: 'Which IP list a rule belongs to.',
  values: {
    whitelist: { description: 'Allowed addresses (a non-empty per-key whitelist refuses every other address).' },
    blacklist: { description: 'Refused addresses.' },
  } as const,
});

const AthenaRightSourceEnum = builder.enumType('AthenaRightSource', {
  description: 'Where a right of the catalog comes from.',
  values: {
    native: { description: 'Checked by Athena’s own operations (gateway.*, management.*).' },
    dynamic: { description: 'Created through the rights API; held by keys for callers’ own use.' },
  } as const,
});

export const AthenaIpRuleRef = builder.node(builder.objectRef<ApiKeyIpRule>('AthenaIpRule'), {
  id: { resolve: (r) => r.id },
  description: 'A per-key IP whitelist or blacklist entry (a normalised CIDR block).',
  authScopes: adminOnly,
  isTypeOf: (v) => has(v, 'apiKeyId', 'kind', 'addr') && !has(v, 'hitCount'),
  loadOne: (id, ctx) =>
    isAthenaAdmin(ctx.principal) && /^[0-9a-f-]{36}$/i.test(id)
      ? ctx.services.prisma.apiKeyIpRule.findUnique({ where: { id } })
      : null,
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The rule id as a plain UUID.' }),
    kind: t.expose('kind', { type: AthenaIpRuleKindEnum, description: 'Its list.' }),
    addr: t.exposeString('addr', { description: 'CIDR block; single addresses as /32 or /128.' }),
    label: t.exposeString('label', { nullable: true, description: 'A free-form label.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was added.' }),
  }),
});

export const AthenaSeenIpRef = builder.node(builder.objectRef<ApiKeyIpSeen>('AthenaSeenIp'), {
  id: { resolve: (r) => r.id },
  description: 'An address a key was used from successfully.',
  authScopes: adminOnly,
  isTypeOf: (v) => has(v, 'apiKeyId', 'hitCount'),
  loadOne: (id, ctx) =>
    isAthenaAdmin(ctx.principal) && /^[0-9a-f-]{36}$/i.test(id)
      ? ctx.services.prisma.apiKeyIpSeen.findUnique({ where: { id } })
      : null,
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The row id as a plain UUID.' }),
    addr: t.exposeString('addr', { description: 'The address.' }),
    firstSeenAt: t.expose('firstSeenAt', { type: 'DateTime', description: 'First successful use from it.' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime', description: 'Latest successful use from it.' }),
    hitCount: t.field({ type: 'BigInt', description: 'Successful uses from it.', resolve: (r) => r.hitCount }),
    lockedIn: t.exposeBoolean('lockedIn', { description: 'Copied into the whitelist by lock-in or promotion.' }),
  }),
});

export const AthenaGlobalIpRuleRef = builder.node(builder.objectRef<GlobalIpRule>('AthenaGlobalIpRule'), {
  id: { resolve: (r) => r.id },
  description:
    'A global IP rule: the blacklist wins over every other rule, the whitelist over per-key rules (it never ' +
    'refuses an address by omission). Scoped to one client’s keys, or to all.',
  authScopes: adminOnly,
  isTypeOf: (v) => has(v, 'kind', 'addr', 'clientName') && !has(v, 'apiKeyId'),
  loadOne: (id, ctx) => ctx.services.athena.keys.globalIpRuleById(ctx.principal, id).catch(() => null),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The rule id as a plain UUID.' }),
    kind: t.expose('kind', { type: AthenaIpRuleKindEnum, description: 'Its list.' }),
    addr: t.exposeString('addr', { description: 'CIDR block; single addresses as /32 or /128.' }),
    clientName: t.string({
      nullable: true,
      description: 'The client whose keys it applies to; null: every client.',
      resolve: (r) => (r.clientName === '' ? null : r.clientName),
    }),
    label: t.exposeString('label', { nullable: true, description: 'A free-form label.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first stored.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

export const AthenaApiKeyRightRef = builder.node(builder.objectRef<AthenaApiKeyRight>('AthenaApiKeyRight'), {
  id: { resolve: (r) => r.id },
  description: 'A dynamic right (beside the native catalog). Keys hold it by name; renaming keeps the grants.',
  authScopes: adminOnly,
  isTypeOf: (v) => has(v, 'name', 'description', 'createdAt', 'updatedAt') && Object.keys(v as object).length === 5,
  loadOne: (id, ctx) => ctx.services.athena.keys.rightById(ctx.principal, id).catch(() => null),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The right id as a plain UUID.' }),
    name: t.exposeString('name', { description: 'The right (unique; not a native right).' }),
    description: t.exposeString('description', { nullable: true, description: 'What it is for.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const AthenaIpPolicyRef = builder.objectRef<IpPolicyView>('AthenaIpPolicy').implement({
  description: 'A key’s IP policy: virgin state and counters, whitelist and blacklist.',
  fields: (t) => ({
    virginMode: t.exposeBoolean('virginMode', { description: 'Whether the key learns its whitelist from use.' }),
    virginResolved: t.exposeBoolean('virginResolved', { description: 'Whether a virgin key has locked in.' }),
    virginResolvedAt: t.expose('virginResolvedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it locked in (or was promoted).',
    }),
    virginUntilNRequests: t.exposeInt('virginUntilNRequests', {
      description: 'Successful uses after which a virgin key locks in; 0: no request counter.',
    }),
    virginRequestCount: t.exposeInt('virginRequestCount', { description: 'Successful uses counted while learning.' }),
    maxWhitelistIps: t.exposeInt('maxWhitelistIps', {
      description: 'Cap on the whitelist (and distinct addresses that lock a virgin key in); 0: unlimited.',
    }),
    whitelist: t.field({ type: [AthenaIpRuleRef], description: 'Allowed blocks.', resolve: (p) => p.whitelist }),
    blacklist: t.field({ type: [AthenaIpRuleRef], description: 'Refused blocks.', resolve: (p) => p.blacklist }),
  }),
});

export const AthenaApiKeyRef = builder.node(builder.objectRef<AthenaKeyView>('AthenaApiKey'), {
  id: { resolve: (k) => k.id },
  description:
    'An Athena key (`ath_<public>.<secret>`): a credential of the access module, bound to a client, holding ' +
    'rights. Only its hash is stored; the raw key is returned once, by createAthenaApiKey.',
  authScopes: adminOnly,
  isTypeOf: (v) => has(v, 'athenaKey'),
  loadOne: (id, ctx) => ctx.services.athena.keys.keyById(ctx.principal, id),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The key id as a plain UUID (REST’s `id`).' }),
    publicId: t.string({
      description: 'The public half of the key.',
      resolve: (k) => k.publicId ?? k.prefix.replace(/^ath_/, ''),
    }),
    name: t.exposeString('name', { description: 'A label chosen at creation.' }),
    description: t.exposeString('description', { nullable: true, description: 'A free-form description.' }),
    clientName: t.exposeString('clientName', {
      nullable: true,
      description: 'The client it is bound to (`X-Athena-Client` must name it); null: unbound.',
    }),
    rights: t.exposeStringList('rights', { description: 'The rights it holds (catalog names).' }),
    isActive: t.exposeBoolean('isActive', { description: 'False: refused like a revoked key.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it stops working.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Last use, to the minute.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'When it was deleted.' }),
    ipPolicy: t.field({
      type: AthenaIpPolicyRef,
      description: 'Its IP policy.',
      resolve: (k, _args, ctx) => ctx.services.access.ip.policy(k.id),
    }),
    ipRules: t.connection(
      {
        type: AthenaIpRuleRef,
        description: 'Its whitelist or blacklist entries, oldest first.',
        args: { kind: t.arg({ type: AthenaIpRuleKindEnum, required: true, description: 'Which list.' }) },
        resolve: async (k, args, ctx) => {
          const policy = await ctx.services.access.ip.policy(k.id);
          return arrayConnection(args, args.kind === 'whitelist' ? policy.whitelist : policy.blacklist);
        },
      },
      withTotalCount,
    ),
    seenIps: t.connection(
      {
        type: AthenaSeenIpRef,
        description: 'Addresses it was used from, latest first (`first` and `offset` page).',
        args: { offset: t.arg.int({ required: false, description: 'Rows to skip.' }) },
        resolve: async (k, args, ctx) => {
          const { records, total } = await ctx.services.athena.keys.seenIps(ctx.principal, k.id, page(args));
          return pageConnection(records, total);
        },
      },
      withTotalCount,
    ),
  }),
});

const AthenaRightsCatalogEntryRef = builder.objectRef<RightsCatalogEntry>('AthenaRightsCatalogEntry').implement({
  description: 'A right keys may hold.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The right.' }),
    description: t.exposeString('description', { nullable: true, description: 'What it is for.' }),
    source: t.expose('source', { type: AthenaRightSourceEnum, description: 'Native or dynamic.' }),
  }),
});

const AthenaGlobalEnforcementRef = builder
  .objectRef<{ enforceApiKeys: boolean; updatedAt: Date }>('AthenaGlobalApiKeyEnforcement')
  .implement({
    description: 'The global API-key enforcement switch.',
    fields: (t) => ({
      enforceApiKeys: t.exposeBoolean('enforceApiKeys', { description: 'Whether gateway routes need a key.' }),
      updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Its last change (or the server start).' }),
    }),
  });

const AthenaClientEnforcementRef = builder
  .objectRef<AthenaApiKeyClientConfig>('AthenaClientApiKeyEnforcement')
  .implement({
    description: 'A client’s override of the enforcement switch (it wins over the global value).',
    fields: (t) => ({
      clientName: t.exposeString('clientName', { description: 'The client.' }),
      enforceApiKeys: t.exposeBoolean('enforceApiKeys', { description: 'Whether its gateway routes need a key.' }),
      createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was set first.' }),
      updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    }),
  });

const AthenaApiKeyEnforcementRef = builder
  .objectRef<{ global: { enforceApiKeys: boolean; updatedAt: Date }; clients: AthenaApiKeyClientConfig[] }>(
    'AthenaApiKeyEnforcement',
  )
  .implement({
    description: 'The enforcement switch: the global value and every per-client override.',
    fields: (t) => ({
      global: t.field({ type: AthenaGlobalEnforcementRef, description: 'The global value.', resolve: (c) => c.global }),
      clients: t.field({
        type: [AthenaClientEnforcementRef],
        description: 'Per-client overrides, by client name.',
        resolve: (c) => c.clients,
      }),
    }),
  });

const AthenaCreatedApiKeyRef = builder
  .objectRef<{ rawKey: string; key: AthenaKeyView }>('AthenaCreatedApiKey')
  .implement({
    description: 'A new key: the raw key (shown this once) and its record.',
    fields: (t) => ({
      apiKey: t.exposeString('rawKey', { description: 'The raw key `ath_<public>.<secret>`; not retrievable later.' }),
      key: t.field({ type: AthenaApiKeyRef, description: 'Its record.', resolve: (c) => c.key }),
    }),
  });

// ---- queries

builder.queryField('athenaApiKeys', (t) =>
  t.connection(
    {
      type: AthenaApiKeyRef,
      description: 'Live Athena keys, newest first (`first` and `offset` page). Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      args: { offset: t.arg.int({ required: false, description: 'Keys to skip.' }) },
      resolve: async (_r, args, ctx) => {
        const { keys, total } = await ctx.services.athena.keys.listKeys(ctx.principal, page(args));
        return pageConnection(keys, total);
      },
    },
    withTotalCount,
  ),
);

builder.queryField('athenaApiKey', (t) =>
  t.field({
    type: AthenaApiKeyRef,
    description: 'One live Athena key by its uuid. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { id: t.arg.string({ required: true, description: 'The key uuid.' }) },
    resolve: (_r, { id }, ctx) => ctx.services.athena.keys.key(ctx.principal, id),
  }),
);

builder.queryField('athenaApiKeyRights', (t) =>
  t.connection(
    {
      type: AthenaApiKeyRightRef,
      description: 'The dynamic rights, by name. Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      resolve: async (_r, args, ctx) => arrayConnection(args, await ctx.services.athena.keys.rights(ctx.principal)),
    },
    withTotalCount,
  ),
);

builder.queryField('athenaRightsCatalog', (t) =>
  t.field({
    type: [AthenaRightsCatalogEntryRef],
    description: 'Every right a key may hold: the native catalog, then the dynamic rights. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    resolve: (_r, _a, ctx) => ctx.services.athena.keys.catalog(ctx.principal),
  }),
);

builder.queryField('athenaApiKeyEnforcement', (t) =>
  t.field({
    type: AthenaApiKeyEnforcementRef,
    description: 'The API-key enforcement switch, global and per client. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    resolve: (_r, _a, ctx) => ctx.services.athena.keys.enforcementConfig(ctx.principal),
  }),
);

builder.queryField('athenaGlobalIpRules', (t) =>
  t.connection(
    {
      type: AthenaGlobalIpRuleRef,
      description: 'The global whitelist or blacklist, oldest first. Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      args: { kind: t.arg({ type: AthenaIpRuleKindEnum, required: true, description: 'Which list.' }) },
      resolve: async (_r, args, ctx) =>
        arrayConnection(args, await ctx.services.athena.keys.globalIpRules(ctx.principal, args.kind)),
    },
    withTotalCount,
  ),
);

// ---- key mutations

const CreateAthenaApiKeyInput = builder.inputType('CreateAthenaApiKeyInput', {
  description: 'A new Athena key.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'A label (1-200 characters).' }),
    description: t.string({ required: false, description: 'A free-form description.' }),
    clientName: t.string({ required: false, description: 'The client it is bound to.' }),
    expiresAt: t.field({ type: 'DateTime', required: false, description: 'When it stops working (future).' }),
    rights: t.stringList({ required: false, description: 'Rights from the catalog (unknown ones are refused).' }),
    virginMode: t.boolean({ required: false, description: 'Learn the whitelist from the first uses.' }),
    virginUntilNRequests: t.int({ required: false, description: 'Lock in after this many uses; 0: no counter.' }),
    maxWhitelistIps: t.int({ required: false, description: 'Cap on the whitelist; 0: unlimited.' }),
    ipWhitelist: t.stringList({ required: false, description: 'Initial whitelist (ignored in virgin mode).' }),
    ipBlacklist: t.stringList({ required: false, description: 'Initial blacklist (ignored in virgin mode).' }),
  }),
});

const UpdateAthenaApiKeyInput = builder.inputType('UpdateAthenaApiKeyInput', {
  description: 'Changes to an Athena key; omitted fields keep their value.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'A new label.' }),
    description: t.string({ required: false, description: 'A new description (null clears it).' }),
    clientName: t.string({ required: false, description: 'A new binding (null unbinds).' }),
    expiresAt: t.field({ type: 'DateTime', required: false, description: 'A new expiry (null: never).' }),
    isActive: t.boolean({ required: false, description: 'False disables the key.' }),
    rights: t.stringList({ required: false, description: 'Replaces the rights.' }),
  }),
});

builder.mutationField('createAthenaApiKey', (t) =>
  t.field({
    type: AthenaCreatedApiKeyRef,
    description: 'Creates an Athena key; the raw key is in the answer only. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { input: t.arg({ type: CreateAthenaApiKeyInput, required: true, description: 'The key.' }) },
    resolve: (_r, { input }, ctx) => ctx.services.athena.keys.createKey(ctx.principal, input),
  }),
);

builder.mutationField('updateAthenaApiKey', (t) =>
  t.field({
    type: AthenaApiKeyRef,
    description: 'Changes a key; new rights, binding or activity apply from the next request. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      id: t.arg.string({ required: true, description: 'The key uuid.' }),
      input: t.arg({ type: UpdateAthenaApiKeyInput, required: true, description: 'The changes.' }),
    },
    resolve: (_r, { id, input }, ctx) =>
      ctx.services.athena.keys.updateKey(ctx.principal, id, {
        name: input.name ?? undefined,
        description: input.description,
        clientName: input.clientName,
        expiresAt: input.expiresAt,
        isActive: input.isActive ?? undefined,
        rights: input.rights ?? undefined,
      }),
  }),
);

builder.mutationField('deleteAthenaApiKey', (t) =>
  t.field({
    type: AthenaApiKeyRef,
    description: 'Soft-deletes a key: revoked at once (subscriptions end), hidden from lists. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { id: t.arg.string({ required: true, description: 'The key uuid.' }) },
    resolve: (_r, { id }, ctx) => ctx.services.athena.keys.deleteKey(ctx.principal, id),
  }),
);

// ---- rights mutations

builder.mutationField('createAthenaApiKeyRight', (t) =>
  t.field({
    type: AthenaApiKeyRightRef,
    description: 'Creates a dynamic right. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      name: t.arg.string({ required: true, description: 'The right (a-z 0-9 _ . -).' }),
      description: t.arg.string({ required: false, description: 'What it is for.' }),
    },
    resolve: (_r, args, ctx) => ctx.services.athena.keys.createRight(ctx.principal, args),
  }),
);

builder.mutationField('updateAthenaApiKeyRight', (t) =>
  t.field({
    type: AthenaApiKeyRightRef,
    description: 'Renames a dynamic right (its grants follow) or changes its description. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      id: t.arg.string({ required: true, description: 'The right uuid.' }),
      name: t.arg.string({ required: true, description: 'The (new) name.' }),
      description: t.arg.string({ required: false, description: 'What it is for (null clears it).' }),
    },
    resolve: (_r, { id, name, description }, ctx) =>
      ctx.services.athena.keys.updateRight(ctx.principal, id, { name, description }),
  }),
);

builder.mutationField('deleteAthenaApiKeyRight', (t) =>
  t.field({
    type: AthenaApiKeyRightRef,
    description: 'Deletes a dynamic right and every grant of it. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { id: t.arg.string({ required: true, description: 'The right uuid.' }) },
    resolve: (_r, { id }, ctx) => ctx.services.athena.keys.deleteRight(ctx.principal, id),
  }),
);

// ---- enforcement mutations

builder.mutationField('setAthenaApiKeyEnforcement', (t) =>
  t.field({
    type: AthenaApiKeyEnforcementRef,
    description: 'Sets the global enforcement switch. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { enforceApiKeys: t.arg.boolean({ required: true, description: 'Whether gateway routes need a key.' }) },
    resolve: (_r, { enforceApiKeys }, ctx) =>
      ctx.services.athena.keys.setGlobalEnforcement(ctx.principal, enforceApiKeys),
  }),
);

builder.mutationField('setAthenaClientApiKeyEnforcement', (t) =>
  t.field({
    type: AthenaClientEnforcementRef,
    description: 'Sets a client’s override of the enforcement switch. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      clientName: t.arg.string({ required: true, description: 'The client.' }),
      enforceApiKeys: t.arg.boolean({ required: true, description: 'Whether its gateway routes need a key.' }),
    },
    resolve: (_r, { clientName, enforceApiKeys }, ctx) =>
      ctx.services.athena.keys.setClientEnforcement(ctx.principal, clientName, enforceApiKeys),
  }),
);

builder.mutationField('deleteAthenaClientApiKeyEnforcement', (t) =>
  t.field({
    type: 'String',
    description: 'Removes a client’s override (the global value applies again); answers the client. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { clientName: t.arg.string({ required: true, description: 'The client.' }) },
    resolve: (_r, { clientName }, ctx) => ctx.services.athena.keys.deleteClientEnforcement(ctx.principal, clientName),
  }),
);

// ---- IP policy mutations

builder.mutationField('addAthenaApiKeyIpRules', (t) =>
  t.field({
    type: AthenaIpPolicyRef,
    description: 'Adds per-key IP entries (idempotent; the label is refreshed). Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      id: t.arg.string({ required: true, description: 'The key uuid.' }),
      kind: t.arg({ type: AthenaIpRuleKindEnum, required: true, description: 'Which list.' }),
      addrs: t.arg.stringList({ required: true, description: 'Addresses or CIDR blocks.' }),
      label: t.arg.string({ required: false, description: 'A label for the entries.' }),
    },
    resolve: (_r, { id, kind, addrs, label }, ctx) =>
      ctx.services.athena.keys.addIpRules(ctx.principal, id, kind, addrs, label ?? null),
  }),
);

builder.mutationField('removeAthenaApiKeyIpRules', (t) =>
  t.field({
    type: AthenaIpPolicyRef,
    description: 'Removes per-key IP entries (absent ones are ignored). Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      id: t.arg.string({ required: true, description: 'The key uuid.' }),
      kind: t.arg({ type: AthenaIpRuleKindEnum, required: true, description: 'Which list.' }),
      addrs: t.arg.stringList({ required: true, description: 'Addresses or CIDR blocks.' }),
    },
    resolve: (_r, { id, kind, addrs }, ctx) => ctx.services.athena.keys.removeIpRules(ctx.principal, id, kind, addrs),
  }),
);

builder.mutationField('promoteAthenaVirginApiKey', (t) =>
  t.field({
    type: AthenaIpPolicyRef,
    description: 'Copies seen addresses into the whitelist (earliest first, capped) and resolves the key. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: { id: t.arg.string({ required: true, description: 'The key uuid.' }) },
    resolve: (_r, { id }, ctx) => ctx.services.athena.keys.promoteVirgin(ctx.principal, id),
  }),
);

builder.mutationField('resetAthenaVirginApiKey', (t) =>
  t.field({
    type: AthenaIpPolicyRef,
    description: 'Resets virgin counters (the key learns again); `clearSeen` deletes its seen rows. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      id: t.arg.string({ required: true, description: 'The key uuid.' }),
      clearSeen: t.arg.boolean({ required: false, description: 'Also delete the seen addresses.' }),
    },
    resolve: (_r, { id, clearSeen }, ctx) =>
      ctx.services.athena.keys.resetVirgin(ctx.principal, id, clearSeen === true),
  }),
);

builder.mutationField('upsertAthenaGlobalIpRule', (t) =>
  t.field({
    type: AthenaGlobalIpRuleRef,
    description: 'Adds a global IP rule or refreshes its label. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      kind: t.arg({ type: AthenaIpRuleKindEnum, required: true, description: 'Which list.' }),
      addr: t.arg.string({ required: true, description: 'Address or CIDR block.' }),
      clientName: t.arg.string({ required: false, description: 'Only keys bound to this client.' }),
      label: t.arg.string({ required: false, description: 'A label.' }),
    },
    resolve: (_r, args, ctx) => ctx.services.athena.keys.upsertGlobalIpRule(ctx.principal, args),
  }),
);

builder.mutationField('deleteAthenaGlobalIpRule', (t) =>
  t.field({
    type: 'Boolean',
    description: 'Deletes a global IP rule; answers whether one existed (absent is not an error). Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      kind: t.arg({ type: AthenaIpRuleKindEnum, required: true, description: 'Which list.' }),
      addr: t.arg.string({ required: true, description: 'Address or CIDR block.' }),
      clientName: t.arg.string({ required: false, description: 'The client it is scoped to (none: global).' }),
    },
    resolve: (_r, args, ctx) => ctx.services.athena.keys.deleteGlobalIpRule(ctx.principal, args),
  }),
);
