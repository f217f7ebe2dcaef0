import { resolveArrayConnection } from '@pothos/plugin-relay';
import { builder } from '../../../core/builder.ts';
import { AthenaInvalidInputError } from '../athena.errors.ts';
import type {
  CatalogWithCredential,
  CreateS3CatalogInput,
  CredentialWithCatalog,
  UpdateS3CatalogInput,
} from '../s3-catalogs.service.ts';
import { adminField, adminOnly, withTotalCount } from './admin.ts';
import { athenaErrors } from './types.ts';

/*
 * S3 catalogs and their credentials (G11) in GraphQL: both Nodes, listed per client as connections with totalCount;
 * create / update / delete mutations. Secret keys are never readable: a credential exposes its access key only.
 * The admin's only.
 */

const has = (v: unknown, ...keys: string[]) =>
  typeof v === 'object' && v !== null && keys.every((k) => k in (v as object));

function arrayConnection<T>(args: { first?: number | null; after?: string | null }, all: T[]) {
  if ((args.first ?? 0) < 0) throw new AthenaInvalidInputError('first must be >= 0');
  return Object.assign(resolveArrayConnection({ args, defaultSize: 100, maxSize: 1000 }, all), {
    totalCount: all.length,
  });
}

export const AthenaS3CatalogRef = builder.node(builder.objectRef<CatalogWithCredential>('AthenaS3Catalog'), {
  id: { resolve: (c) => c.id },
  description:
    'An Athena-managed S3 catalog entry of one client: an S3-compatible endpoint and its active credential ' +
    '(the secret key is sealed at rest and never returned). Raw S3 operations may name it instead of inline keys.',
  authScopes: adminOnly,
  isTypeOf: (v) => has(v, 'endpoint', 'active'),
  loadOne: (id, ctx) => ctx.services.athena.s3Catalogs.byId(ctx.principal, id),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The catalog id as a plain UUID (REST’s `id`).' }),
    clientName: t.exposeString('clientName', { description: 'The client it belongs to (`X-Athena-Client`).' }),
    name: t.exposeString('name', { description: 'Its name (raw S3 operations may name it by this).' }),
    description: t.exposeString('description', { description: 'A free-form description ("" when none).' }),
    endpoint: t.exposeString('endpoint', { description: 'The S3-compatible endpoint (URL or host).' }),
    region: t.exposeString('region', { description: 'The signing region.' }),
    bucket: t.exposeString('bucket', { nullable: true, description: 'Default bucket, when one is set.' }),
    provider: t.exposeString('provider', { description: 'Provider label (s3, minio, r2, …; default s3).' }),
    isActive: t.exposeBoolean('isActive', { description: 'False: raw operations refuse to use it.' }),
    metadata: t.field({ type: 'JSON', description: 'Free-form JSON metadata.', resolve: (c) => c.metadata }),
    activeCredentialId: t.string({
      nullable: true,
      description: 'The uuid of its active credential, if any.',
      resolve: (c) => c.active?.id ?? null,
    }),
    activeAccessKey: t.string({
      nullable: true,
      description: 'The access key id of its active credential (never the secret).',
      resolve: (c) => c.active?.accessKey ?? null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

export const AthenaS3CredentialRef = builder.node(builder.objectRef<CredentialWithCatalog>('AthenaS3Credential'), {
  id: { resolve: (c) => c.id },
  description: 'A stored S3 credential of a catalog: its access key id; the secret key is sealed and never returned.',
  authScopes: adminOnly,
  isTypeOf: (v) => has(v, 'accessKey', 'catalog'),
  loadOne: (id, ctx) => ctx.services.athena.s3Catalogs.credentialById(ctx.principal, id),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The credential id as a plain UUID.' }),
    catalog: t.field({
      type: AthenaS3CatalogRef,
      description: 'Its catalog.',
      resolve: (c) => ({ ...c.catalog, active: c.isActive ? c : null }),
    }),
    accessKey: t.exposeString('accessKey', { description: 'The access key id.' }),
    isActive: t.exposeBoolean('isActive', { description: 'Whether it is the catalog’s active credential.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was stored.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

// The input fields (typed by the interfaces of the service, which validates them again).
const CatalogFields = (t: any, create: boolean) => ({
  name: t.string({ required: create, description: 'Its name.' }),
  description: t.string({ required: false, description: 'A free-form description.' }),
  endpoint: t.string({ required: create, description: 'The S3-compatible endpoint (URL or host).' }),
  region: t.string({ required: create, description: 'The signing region.' }),
  bucket: t.string({ required: false, description: 'Default bucket (null clears it on update).' }),
  provider: t.string({ required: false, description: 'Provider label (default s3).' }),
  accessKeyId: t.string({
    required: create,
    description: create ? 'The access key id.' : 'New access key id (rotates only together with secretKey).',
  }),
  secretKey: t.string({
    required: create,
    description: create ? 'The secret key (sealed at rest).' : 'New secret key (rotates only with accessKeyId).',
  }),
  sessionToken: t.string({ required: false, description: 'An optional session token (sealed at rest).' }),
  metadata: t.field({ type: 'JSON', required: false, description: 'Free-form JSON object metadata.' }),
});

const AthenaCreateS3CatalogInput = builder.inputType('AthenaCreateS3CatalogInput', {
  description: 'A new S3 catalog entry with its first (active) credential.',
  fields: (t) => CatalogFields(t, true),
});

const AthenaUpdateS3CatalogInput = builder.inputType('AthenaUpdateS3CatalogInput', {
  description: 'Changes to an S3 catalog entry; the credential rotates only when both keys are given.',
  fields: (t) => ({
    ...CatalogFields(t, false),
    isActive: t.boolean({ required: false, description: 'Activate or deactivate the entry.' }),
  }),
});

const clientDescription = 'The client whose catalogs these are (`X-Athena-Client`).';

builder.queryField('athenaS3Catalogs', (t) =>
  t.connection(
    {
      type: AthenaS3CatalogRef,
      description: 'The live S3 catalog entries of a client, oldest first. Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      args: { client: t.arg.string({ required: true, description: clientDescription }) },
      resolve: async (_r, args, ctx) =>
        arrayConnection(args, await ctx.services.athena.s3Catalogs.list(ctx.principal, args.client)),
    },
    withTotalCount,
  ),
);

builder.queryField('athenaS3Credentials', (t) =>
  t.connection(
    {
      type: AthenaS3CredentialRef,
      description: 'The active credentials of a client’s live S3 catalogs (access keys only). Admin only.',
      authScopes: adminField,
      errors: athenaErrors,
      args: { client: t.arg.string({ required: true, description: clientDescription }) },
      resolve: async (_r, args, ctx) =>
        arrayConnection(args, await ctx.services.athena.s3Catalogs.credentials(ctx.principal, args.client)),
    },
    withTotalCount,
  ),
);

builder.mutationField('createAthenaS3Catalog', (t) =>
  t.field({
    type: AthenaS3CatalogRef,
    description: 'Creates an S3 catalog entry and its active credential in one transaction. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      client: t.arg.string({ required: true, description: clientDescription }),
      input: t.arg({ type: AthenaCreateS3CatalogInput, required: true, description: 'The entry.' }),
    },
    resolve: (_r, { client, input }, ctx) =>
      ctx.services.athena.s3Catalogs.create(ctx.principal, client, input as CreateS3CatalogInput),
  }),
);

builder.mutationField('updateAthenaS3Catalog', (t) =>
  t.field({
    type: AthenaS3CatalogRef,
    description: 'Updates an S3 catalog entry; rotates its credential when both keys are given. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      client: t.arg.string({ required: true, description: clientDescription }),
      id: t.arg.string({ required: true, description: 'The catalog uuid.' }),
      input: t.arg({ type: AthenaUpdateS3CatalogInput, required: true, description: 'The changes.' }),
    },
    resolve: (_r, { client, id, input }, ctx) =>
      ctx.services.athena.s3Catalogs.update(ctx.principal, client, id, input as UpdateS3CatalogInput),
  }),
);

const AthenaS3CatalogDeletedRef = builder.objectRef<{ id: string }>('AthenaS3CatalogDeleted').implement({
  description: 'A soft-deleted S3 catalog entry (its credentials are deactivated).',
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The deleted catalog’s uuid.' }),
  }),
});

builder.mutationField('deleteAthenaS3Catalog', (t) =>
  t.field({
    type: AthenaS3CatalogDeletedRef,
    description: 'Soft deletes an S3 catalog entry and deactivates all its credentials. Admin only.',
    authScopes: adminField,
    errors: athenaErrors,
    args: {
      client: t.arg.string({ required: true, description: clientDescription }),
      id: t.arg.string({ required: true, description: 'The catalog uuid.' }),
    },
    resolve: (_r, { client, id }, ctx) => ctx.services.athena.s3Catalogs.delete(ctx.principal, client, id),
  }),
);
