import { builder } from '../../../core/builder.ts';
import type { BlueprintValidation } from '../blueprint-sql.ts';
import type { BlueprintRow } from '../blueprints.service.ts';
import { Conflict, errorsOf, Forbidden, InvalidInput, NotFound, Rejected, uuidConnection } from './types.ts';

const VersionRef = builder
  .objectRef<{ version: number; sqlContent: string; variables: unknown; createdAt: Date }>('PolykomosBlueprintVersion')
  .implement({
    fields: (t) => ({
      version: t.exposeInt('version'),
      sqlContent: t.exposeString('sqlContent'),
      variables: t.field({ type: 'JSON', nullable: true, resolve: (v) => v.variables ?? null }),
      createdAt: t.expose('createdAt', { type: 'DateTime' }),
    }),
  });

export const PolykomosBlueprintRef = builder.node(builder.objectRef<BlueprintRow>('PolykomosBlueprint'), {
  id: { resolve: (b) => b.uuid },
  description: 'A versioned SQL script of the caller (Polykomos blueprints). Owner only.',
  authScopes: { product: 'polykomos' },
  loadOne: async (id, ctx) => {
    try {
      return await ctx.services.polykomos.blueprints.get(ctx.principal, id);
    } catch {
      return null;
    }
  },
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'sqlContent' in v && 'slug' in v,
  fields: (t) => ({
    uuid: t.exposeString('uuid', { description: 'The id REST paths use.' }),
    blueprintId: t.exposeInt('id', { description: 'Internal integer id (blueprint applications expose it).' }),
    name: t.exposeString('name'),
    slug: t.exposeString('slug', { description: 'From the name; unique per user, -2, -3… on collision.' }),
    description: t.exposeString('description', { nullable: true }),
    contentType: t.string({ resolve: () => 'sql' }),
    version: t.exposeInt('version', { description: 'Bumped when sqlContent or variables change.' }),
    sizeBytes: t.exposeInt('sizeBytes', { description: 'UTF-8 byte length of sqlContent.' }),
    isSystemBlueprint: t.exposeBoolean('isSystemBlueprint'),
    variables: t.field({ type: 'JSON', nullable: true, resolve: (b) => b.variables ?? null }),
    metadata: t.field({ type: 'JSON', nullable: true, resolve: (b) => b.metadata ?? null }),
    sqlContent: t.exposeString('sqlContent'),
    versions: t.field({
      type: [VersionRef],
      description: 'Every version, oldest first.',
      resolve: (b, _a, ctx) => ctx.services.polykomos.blueprints.versions(b),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ObjectsCreatedRef = builder
  .objectRef<BlueprintValidation['manifest']['objects_created']>('PolykomosBlueprintObjects')
  .implement({
    fields: (t) => ({
      tables: t.exposeStringList('tables'),
      indexes: t.exposeStringList('indexes'),
      views: t.exposeStringList('views'),
      functions: t.exposeStringList('functions'),
      extensions: t.exposeStringList('extensions'),
    }),
  });

const ManifestStatementRef = builder
  .objectRef<{ index: number; type: string }>('PolykomosBlueprintManifestStatement')
  .implement({ fields: (t) => ({ index: t.exposeInt('index'), type: t.exposeString('type') }) });

const ManifestRef = builder.objectRef<BlueprintValidation['manifest']>('PolykomosBlueprintManifest').implement({
  fields: (t) => ({
    statements: t.field({ type: [ManifestStatementRef], resolve: (m) => m.statements }),
    objectsCreated: t.field({ type: ObjectsCreatedRef, resolve: (m) => m.objects_created }),
    variablesReferenced: t.exposeStringList('variables_referenced'),
    semanticCheck: t.exposeString('semantic_check', { description: 'passed, failed or skipped.' }),
  }),
});

const ValidationRef = builder.objectRef<BlueprintValidation>('PolykomosBlueprintValidation').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    statementCount: t.exposeInt('statementCount'),
    errors: t.exposeStringList('errors'),
    warnings: t.exposeStringList('warnings'),
    manifest: t.field({ type: ManifestRef, resolve: (v) => v.manifest }),
  }),
});

builder.queryField('polykomosBlueprint', (t) =>
  t.field({
    type: PolykomosBlueprintRef,
    description: 'One of the caller’s blueprints by uuid (deleted ones are gone). Scope blueprints:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { uuid: t.arg.string({ required: true }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.polykomos.blueprints.get(ctx.principal, uuid),
  }),
);

builder.queryField('polykomosBlueprints', (t) =>
  t.connection({
    type: PolykomosBlueprintRef,
    description:
      'The caller’s blueprints not deleted, newest first. Cursors are blueprint uuids. first 1–100, default 25. ' +
      'Scope blueprints:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, InvalidInput),
    resolve: async (_r, args, ctx) => {
      const page = await ctx.services.polykomos.blueprints.list(ctx.principal, args.first ?? 25, args.after);
      return uuidConnection(page, args.after);
    },
  }),
);

const CreateBlueprintInput = builder.inputType('CreatePolykomosBlueprintInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    sqlContent: t.string({ required: true }),
    description: t.string({ required: false }),
    variables: t.field({
      type: 'JSON',
      required: false,
      description: '{name: {type: string|integer|boolean|identifier, default?, required?, description?}}',
    }),
  }),
});

const UpdateBlueprintInput = builder.inputType('UpdatePolykomosBlueprintInput', {
  fields: (t) => ({
    name: t.string({ required: false }),
    description: t.string({ required: false }),
    sqlContent: t.string({ required: false }),
    variables: t.field({ type: 'JSON', required: false }),
  }),
});

builder.mutationField('createPolykomosBlueprint', (t) =>
  t.field({
    type: PolykomosBlueprintRef,
    description: 'Stores a SQL blueprint (version 1). Scope blueprints:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, Rejected, Conflict),
    args: { input: t.arg({ type: CreateBlueprintInput, required: true }) },
    resolve: (_r, { input }, ctx) => ctx.services.polykomos.blueprints.create(ctx.principal, input),
  }),
);

builder.mutationField('updatePolykomosBlueprint', (t) =>
  t.field({
    type: PolykomosBlueprintRef,
    description: 'Partial update; version goes up when sqlContent or variables change. Scope blueprints:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound, Rejected, Conflict),
    args: { uuid: t.arg.string({ required: true }), input: t.arg({ type: UpdateBlueprintInput, required: true }) },
    resolve: (_r, { uuid, input }, ctx) => ctx.services.polykomos.blueprints.update(ctx.principal, uuid, input),
  }),
);

const DeleteBlueprintPayload = builder.objectRef<BlueprintRow>('DeletePolykomosBlueprintPayload').implement({
  fields: (t) => ({ uuid: t.exposeString('uuid'), deleted: t.boolean({ resolve: () => true }) }),
});

builder.mutationField('deletePolykomosBlueprint', (t) =>
  t.field({
    type: DeleteBlueprintPayload,
    description: 'Soft delete (kept for applications that reference it). Scope blueprints:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { uuid: t.arg.string({ required: true }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.polykomos.blueprints.delete(ctx.principal, uuid),
  }),
);

builder.mutationField('validatePolykomosBlueprint', (t) =>
  t.field({
    type: ValidationRef,
    description:
      'Parses with the real Postgres parser and executes in a throwaway PGlite inside BEGIN … ROLLBACK. ' +
      'Scope blueprints:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, Rejected),
    args: { sqlContent: t.arg.string({ required: true }), variables: t.arg({ type: 'JSON', required: false }) },
    resolve: (_r, { sqlContent, variables }, ctx) =>
      ctx.services.polykomos.blueprints.validate(ctx.principal, sqlContent, variables),
  }),
);
