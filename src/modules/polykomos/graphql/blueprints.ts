import { resolveArrayConnection } from '@pothos/plugin-relay';
import { builder } from '../../../core/builder.ts';
import type { BlueprintValidation } from '../blueprint-sql.ts';
import type { BlueprintRow, BlueprintVersionRow } from '../blueprints.service.ts';
import { PolykomosError } from '../polykomos.errors.ts';
import {
  Conflict,
  connectionDescriptions,
  errorsOf,
  Forbidden,
  InvalidInput,
  NotFound,
  Rejected,
  uuidConnection,
  withTotalCount,
} from './types.ts';

const BlueprintContentTypeEnum = builder.enumType('PolykomosBlueprintContentType', {
  description: 'The language of a blueprint’s content.',
  values: { sql: { description: 'PostgreSQL statements.' } } as const,
});

const SemanticCheckEnum = builder.enumType('PolykomosSemanticCheck', {
  description: 'The outcome of executing a script in a throwaway database.',
  values: {
    passed: { description: 'Every statement ran.' },
    failed: { description: 'A statement failed; `errors` says which.' },
    skipped: { description: 'Not run (the script did not parse, or a variable had no value).' },
  } as const,
});

/** `<blueprint uuid>/<version>`. */
function versionKey(id: string): [string, number] | undefined {
  const at = id.lastIndexOf('/');
  if (at <= 0) return undefined;
  const version = Number(id.slice(at + 1));
  return Number.isSafeInteger(version) && version > 0 ? [id.slice(0, at), version] : undefined;
}

export const PolykomosBlueprintVersionRef = builder.node(
  builder.objectRef<BlueprintVersionRow>('PolykomosBlueprintVersion'),
  {
    description: 'One stored version of a blueprint’s content. Owner only.',
    id: { description: connectionDescriptions.nodeId, resolve: (v) => `${v.blueprintUuid}/${v.version}` },
    authScopes: { product: 'polykomos' },
    loadOne: async (id, ctx) => {
      const key = versionKey(id);
      if (!key) return null;
      try {
        return await ctx.services.polykomos.blueprints.version(ctx.principal, key[0], key[1]);
      } catch (err) {
        if (!(err instanceof PolykomosError)) throw err;
        // A missing scope or a foreign caller: as missing.
        return null;
      }
    },
    isTypeOf: (v) => typeof v === 'object' && v !== null && 'blueprintUuid' in v && 'version' in v,
    fields: (t) => ({
      version: t.exposeInt('version', { description: 'The version number (1, 2, …).' }),
      blueprintUuid: t.exposeString('blueprintUuid', { description: 'The uuid of the blueprint it belongs to.' }),
      sqlContent: t.exposeString('sqlContent', { description: 'The SQL of this version.' }),
      variables: t.field({
        type: 'JSON',
        nullable: true,
        description: 'The variable declarations of this version.',
        resolve: (v) => v.variables ?? null,
      }),
      createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When this version was stored.' }),
    }),
  },
);

export const PolykomosBlueprintRef = builder.node(builder.objectRef<BlueprintRow>('PolykomosBlueprint'), {
  id: { description: connectionDescriptions.nodeId, resolve: (b) => b.uuid },
  description: 'A versioned SQL script of the caller (Polykomos blueprints). Owner only.',
  authScopes: { product: 'polykomos' },
  loadOne: async (id, ctx) => {
    try {
      return await ctx.services.polykomos.blueprints.get(ctx.principal, id);
    } catch (err) {
      if (!(err instanceof PolykomosError)) throw err;
      // Missing, deleted, another owner's and a missing scope are all null (indistinguishable).
      return null;
    }
  },
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'sqlContent' in v && 'slug' in v,
  fields: (t) => ({
    uuid: t.exposeString('uuid', { description: 'The id REST paths use.' }),
    blueprintId: t.exposeInt('id', { description: 'Internal integer id (blueprint applications expose it).' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    slug: t.exposeString('slug', { description: 'From the name; unique per user, -2, -3… on collision.' }),
    description: t.exposeString('description', { nullable: true, description: 'Free text.' }),
    contentType: t.field({
      type: BlueprintContentTypeEnum,
      description: 'The content’s language (always sql).',
      resolve: () => 'sql' as const,
    }),
    version: t.exposeInt('version', { description: 'Bumped when sqlContent or variables change.' }),
    sizeBytes: t.exposeInt('sizeBytes', { description: 'UTF-8 byte length of sqlContent (at most 1 000 000).' }),
    isSystemBlueprint: t.exposeBoolean('isSystemBlueprint', { description: 'System blueprints are read-only.' }),
    variables: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Declarations of its {{name}} placeholders: {name: {type, default?, required?, description?}}.',
      resolve: (b) => b.variables ?? null,
    }),
    metadata: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Free-form metadata.',
      resolve: (b) => b.metadata ?? null,
    }),
    sqlContent: t.exposeString('sqlContent', { description: 'The current SQL.' }),
    versions: t.connection(
      {
        type: PolykomosBlueprintVersionRef,
        description: 'Every version, oldest first. Cursors are offsets.',
        resolve: async (b, args, ctx) => {
          const all = await ctx.services.polykomos.blueprints.versions(b);
          return Object.assign(resolveArrayConnection({ args }, all), { totalCount: all.length });
        },
      },
      withTotalCount,
      { description: connectionDescriptions.edge },
    ),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const ObjectsCreatedRef = builder
  .objectRef<BlueprintValidation['manifest']['objects_created']>('PolykomosBlueprintObjects')
  .implement({
    description: 'Names of the objects a script creates, by kind.',
    fields: (t) => ({
      tables: t.exposeStringList('tables', { description: 'Tables.' }),
      indexes: t.exposeStringList('indexes', { description: 'Indexes.' }),
      views: t.exposeStringList('views', { description: 'Views.' }),
      functions: t.exposeStringList('functions', { description: 'Functions.' }),
      extensions: t.exposeStringList('extensions', { description: 'Extensions.' }),
    }),
  });

const ManifestStatementRef = builder
  .objectRef<{ index: number; type: string }>('PolykomosBlueprintManifestStatement')
  .implement({
    description: 'One statement of a script.',
    fields: (t) => ({
      index: t.exposeInt('index', { description: '1-based position in the script.' }),
      type: t.exposeString('type', {
        description: 'Lower snake case of the statement kind (create_table, insert, drop, …).',
      }),
    }),
  });

const ManifestRef = builder.objectRef<BlueprintValidation['manifest']>('PolykomosBlueprintManifest').implement({
  description: 'What a script does, from the parser and the dry run.',
  fields: (t) => ({
    statements: t.field({
      type: [ManifestStatementRef],
      description: 'Its statements, in order.',
      resolve: (m) => m.statements,
    }),
    objectsCreated: t.field({
      type: ObjectsCreatedRef,
      description: 'Objects it creates.',
      resolve: (m) => m.objects_created,
    }),
    variablesReferenced: t.exposeStringList('variables_referenced', {
      description: 'The {{name}} placeholders it uses.',
    }),
    semanticCheck: t.field({
      type: SemanticCheckEnum,
      description: 'The outcome of the dry run.',
      resolve: (m) => m.semantic_check,
    }),
  }),
});

const ValidationRef = builder.objectRef<BlueprintValidation>('PolykomosBlueprintValidation').implement({
  description: 'The outcome of validating a script.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'Whether it parses and its dry run passed.' }),
    statementCount: t.exposeInt('statementCount', { description: 'Statements in the script.' }),
    errors: t.exposeStringList('errors', { description: 'Why it is not valid.' }),
    warnings: t.exposeStringList('warnings', { description: 'What may not do what is intended.' }),
    manifest: t.field({ type: ManifestRef, description: 'What it does.', resolve: (v) => v.manifest }),
  }),
});

builder.queryField('polykomosBlueprint', (t) =>
  t.field({
    type: PolykomosBlueprintRef,
    nullable: true,
    description: 'One of the caller’s blueprints by uuid (deleted ones are gone). Scope blueprints:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { uuid: t.arg.string({ required: true, description: 'The blueprint’s uuid.' }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.polykomos.blueprints.get(ctx.principal, uuid),
  }),
);

builder.queryField('polykomosBlueprints', (t) =>
  t.connection(
    {
      type: PolykomosBlueprintRef,
      nullable: true,
      description:
        'The caller’s blueprints not deleted, newest first. Cursors are blueprint uuids. first 1–100, default 25. ' +
        'Scope blueprints:read.',
      authScopes: { product: 'polykomos' },
      errors: errorsOf(Forbidden, InvalidInput),
      resolve: async (_r, args, ctx) => {
        const page = await ctx.services.polykomos.blueprints.list(ctx.principal, args.first ?? 25, args.after);
        return uuidConnection(page, args.after);
      },
    },
    withTotalCount,
    { description: connectionDescriptions.edge },
  ),
);

const CreateBlueprintInput = builder.inputType('CreatePolykomosBlueprintInput', {
  description: 'A new blueprint.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Its name, 1–200 characters (the slug comes from it).' }),
    sqlContent: t.string({ required: true, description: 'The SQL, at most 1 000 000 bytes.' }),
    description: t.string({ required: false, description: 'Free text.' }),
    variables: t.field({
      type: 'JSON',
      required: false,
      description: '{name: {type: string|integer|boolean|identifier, default?, required?, description?}}',
    }),
  }),
});

const UpdateBlueprintInput = builder.inputType('UpdatePolykomosBlueprintInput', {
  description: 'A partial blueprint update: absent fields are unchanged.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'A new name (the slug never changes).' }),
    description: t.string({ required: false, description: 'New free text; null clears it.' }),
    sqlContent: t.string({ required: false, description: 'New SQL (a new version when it differs).' }),
    variables: t.field({
      type: 'JSON',
      required: false,
      description: 'New variable declarations (a new version when they differ); null clears them.',
    }),
  }),
});

builder.mutationField('createPolykomosBlueprint', (t) =>
  t.field({
    type: PolykomosBlueprintRef,
    description: 'Stores a SQL blueprint (version 1). Scope blueprints:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, Rejected, Conflict),
    args: { input: t.arg({ type: CreateBlueprintInput, required: true, description: 'The blueprint.' }) },
    resolve: (_r, { input }, ctx) => ctx.services.polykomos.blueprints.create(ctx.principal, input),
  }),
);

builder.mutationField('updatePolykomosBlueprint', (t) =>
  t.field({
    type: PolykomosBlueprintRef,
    description: 'Partial update; version goes up when sqlContent or variables change. Scope blueprints:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound, Rejected),
    args: {
      uuid: t.arg.string({ required: true, description: 'The blueprint’s uuid.' }),
      input: t.arg({ type: UpdateBlueprintInput, required: true, description: 'The changes.' }),
    },
    resolve: (_r, { uuid, input }, ctx) => ctx.services.polykomos.blueprints.update(ctx.principal, uuid, input),
  }),
);

const DeleteBlueprintPayload = builder.objectRef<BlueprintRow>('DeletePolykomosBlueprintPayload').implement({
  description: 'The outcome of a delete.',
  fields: (t) => ({
    uuid: t.exposeString('uuid', { description: 'The deleted blueprint’s uuid.' }),
    deleted: t.boolean({ description: 'Always true.', resolve: () => true }),
  }),
});

builder.mutationField('deletePolykomosBlueprint', (t) =>
  t.field({
    type: DeleteBlueprintPayload,
    description: 'Soft delete (kept for applications that reference it). Scope blueprints:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { uuid: t.arg.string({ required: true, description: 'The blueprint’s uuid.' }) },
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
    args: {
      sqlContent: t.arg.string({ required: true, description: 'The SQL to validate.' }),
      variables: t.arg({
        type: 'JSON',
        required: false,
        description: 'Variable declarations its {{name}} placeholders refer to (defaults are used as values).',
      }),
    },
    resolve: (_r, { sqlContent, variables }, ctx) =>
      ctx.services.polykomos.blueprints.validate(ctx.principal, sqlContent, variables),
  }),
);
