import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { builder } from '../../../core/builder.ts';
import type { KgEntityRow, KgRelationRow, KgStep } from '../memory/kg.service.ts';
import { errorsOf, InvalidInput, NotFound, withTotalCount } from './types.ts';

const isEntity = (v: unknown): v is KgEntityRow =>
  typeof v === 'object' && v !== null && 'externalId' in v && 'entityType' in v;
const isRelation = (v: unknown): v is KgRelationRow =>
  typeof v === 'object' && v !== null && 'relationType' in v && 'sourceId' in v;

export const KgRelationRef = builder.node(builder.objectRef<KgRelationRow>('GoClawKgRelation'), {
  id: { resolve: (r) => r.id },
  description: 'A directed, typed relation between two knowledge-graph entities of one agent.',
  authScopes: { product: 'goclaw' },
  isTypeOf: isRelation,
  loadOne: (id, ctx) =>
    ctx.services.goclaw.kg.relation(ctx.principal, id).then(
      (r) => r ?? null,
      () => null,
    ),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The relation’s uuid.' }),
    sourceEntityId: t.exposeString('sourceId', { description: 'The entity it leaves (uuid).' }),
    relationType: t.exposeString('relationType', { description: 'What the relation says (e.g. `works_at`).' }),
    targetEntityId: t.exposeString('targetId', { description: 'The entity it reaches (uuid).' }),
    confidence: t.exposeFloat('confidence', { description: '0–1.' }),
    properties: t.field({ type: 'JSON', description: 'A map of string to string.', resolve: (r) => r.properties }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first written.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

export const KgEntityRef = builder.node(builder.objectRef<KgEntityRow>('GoClawKgEntity'), {
  id: { resolve: (e) => e.id },
  description: 'A knowledge-graph entity of an agent (or of one external user), unique by its external id.',
  authScopes: { product: 'goclaw' },
  isTypeOf: isEntity,
  loadOne: (id, ctx) =>
    ctx.services.goclaw.kg.entity(ctx.principal, id).then(
      (e) => e ?? null,
      () => null,
    ),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The entity’s uuid.' }),
    agentId: t.exposeString('agentId', { description: 'The agent’s uuid.' }),
    userId: t.exposeString('userId', { description: 'The external user it belongs to; empty for the agent’s own.' }),
    externalId: t.exposeString('externalId', { description: 'The caller’s id for it: upserts match on it.' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    entityType: t.exposeString('entityType', { description: 'Its type (e.g. `person`, `project`).' }),
    description: t.exposeString('description', { description: 'A description.' }),
    properties: t.field({ type: 'JSON', description: 'A map of string to string.', resolve: (e) => e.properties }),
    sourceId: t.exposeString('sourceId', { description: 'Where it was learnt from (free text).' }),
    confidence: t.exposeFloat('confidence', { description: '0–1.' }),
    relations: t.field({
      type: [KgRelationRef],
      description: 'Relations leaving it (at most 1000).',
      resolve: (e, _a, ctx) => ctx.services.goclaw.kg.outgoing(e.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first written.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const StepRef = builder.objectRef<KgStep>('GoClawKgStep').implement({
  description: 'An entity a traversal reached.',
  fields: (t) => ({
    entity: t.field({ type: KgEntityRef, description: 'The entity.', resolve: (s) => s.entity }),
    depth: t.exposeInt('depth', { description: 'Hops from the start (1 = a direct relation).' }),
    path: t.exposeStringList('path', { description: 'Entity uuids from the start to this one, both included.' }),
    via: t.exposeString('via', { description: 'The relation type of the last hop.' }),
  }),
});

const agentDescription = 'The agent’s uuid or slug.';
const userDescription = 'The external user: their entities as well as the agent’s (at most 255 characters).';

builder.queryField('goclawKgEntities', (t) =>
  t.connection(
    {
      type: KgEntityRef,
      description: 'An agent’s entities by name, with filters. Offset cursors. Viewer role.',
      authScopes: { product: 'goclaw' },
      errors: errorsOf(NotFound, InvalidInput),
      args: {
        agentId: t.arg.string({ required: true, description: agentDescription }),
        userId: t.arg.string({ required: false, description: userDescription }),
        type: t.arg.string({ required: false, description: 'Only this entity type.' }),
        q: t.arg.string({
          required: false,
          description: 'A case-insensitive part of the name, external id or description.',
        }),
      },
      resolve: async (_r, args, ctx) => {
        let totalCount = 0;
        const conn = await resolveOffsetConnection(
          { args, defaultSize: 50, maxSize: 1000 },
          async ({ limit, offset }) => {
            const page = await ctx.services.goclaw.kg.listEntities(ctx.principal, args.agentId, {
              userId: args.userId,
              type: args.type,
              q: args.q,
              limit,
              offset,
            });
            totalCount = page.total;
            return page.items;
          },
        );
        return Object.assign(conn, { totalCount });
      },
    },
    withTotalCount,
  ),
);

builder.queryField('goclawKgTraverse', (t) =>
  t.field({
    type: [StepRef],
    description:
      'Walks relations breadth-first from an entity: each reached entity once, at its smallest depth; cycles end. Viewer role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: {
      agentId: t.arg.string({ required: true, description: agentDescription }),
      entityId: t.arg.string({ required: true, description: 'The start: an entity uuid or external id.' }),
      userId: t.arg.string({ required: false, description: userDescription }),
      maxDepth: t.arg.int({ required: false, description: 'Hops, clamped to 1–3 (default 2).' }),
    },
    resolve: (_r, { agentId, ...input }, ctx) => ctx.services.goclaw.kg.traverse(ctx.principal, agentId, input),
  }),
);

const EntityInput = builder.inputType('GoClawKgEntityInput', {
  description: 'An entity to create or update (matched by external id, per agent and user).',
  fields: (t) => ({
    externalId: t.string({ required: true, description: 'The caller’s id for it (at most 255 characters).' }),
    name: t.string({ required: true, description: 'Its name.' }),
    entityType: t.string({ required: true, description: 'Its type.' }),
    description: t.string({ required: false, description: 'A description.' }),
    properties: t.field({ type: 'JSON', required: false, description: 'A map of string to string.' }),
    sourceId: t.string({ required: false, description: 'Where it was learnt from.' }),
    confidence: t.float({ required: false, description: '0–1 (default 1).' }),
    userId: t.string({ required: false, description: 'The external user it belongs to; absent: the agent’s own.' }),
  }),
});

builder.mutationField('upsertGoClawKgEntity', (t) =>
  t.field({
    type: KgEntityRef,
    description: 'Creates an entity, or updates the one with the same external id. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: {
      agentId: t.arg.string({ required: true, description: agentDescription }),
      input: t.arg({ type: EntityInput, required: true, description: 'The entity.' }),
    },
    resolve: (_r, { agentId, input }, ctx) =>
      ctx.services.goclaw.kg.upsertEntity(ctx.principal, agentId, {
        ...input,
        properties: input.properties as Record<string, unknown> | null | undefined,
      }),
  }),
);

builder.mutationField('deleteGoClawKgEntity', (t) =>
  t.field({
    type: KgEntityRef,
    description: 'Deletes an entity and its relations. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: {
      agentId: t.arg.string({ required: true, description: agentDescription }),
      entityId: t.arg.string({ required: true, description: 'An entity uuid or external id.' }),
      userId: t.arg.string({ required: false, description: 'The external user whose entity it is.' }),
    },
    resolve: (_r, { agentId, entityId, userId }, ctx) =>
      ctx.services.goclaw.kg.deleteEntity(ctx.principal, agentId, entityId, userId),
  }),
);

const RelationInput = builder.inputType('GoClawKgRelationInput', {
  description: 'A relation between two entities of the agent (uuid or external id each).',
  fields: (t) => ({
    source: t.string({ required: true, description: 'The entity it leaves.' }),
    relationType: t.string({ required: true, description: 'What it says (at most 100 characters).' }),
    target: t.string({ required: true, description: 'The entity it reaches.' }),
    confidence: t.float({ required: false, description: '0–1 (default 1).' }),
    properties: t.field({ type: 'JSON', required: false, description: 'A map of string to string.' }),
    userId: t.string({ required: false, description: 'The external user whose entities may be named too.' }),
  }),
});

builder.mutationField('upsertGoClawKgRelation', (t) =>
  t.field({
    type: KgRelationRef,
    description:
      'Creates the relation source → type → target, or updates its confidence and properties. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: {
      agentId: t.arg.string({ required: true, description: agentDescription }),
      input: t.arg({ type: RelationInput, required: true, description: 'The relation.' }),
    },
    resolve: (_r, { agentId, input }, ctx) =>
      ctx.services.goclaw.kg.upsertRelation(ctx.principal, agentId, {
        ...input,
        properties: input.properties as Record<string, unknown> | null | undefined,
      }),
  }),
);

builder.mutationField('deleteGoClawKgRelation', (t) =>
  t.field({
    type: KgRelationRef,
    description: 'Deletes the relation source → type → target. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: {
      agentId: t.arg.string({ required: true, description: agentDescription }),
      input: t.arg({
        type: RelationInput,
        required: true,
        description: 'The relation (confidence and properties ignored).',
      }),
    },
    resolve: (_r, { agentId, input }, ctx) =>
      ctx.services.goclaw.kg.deleteRelation(ctx.principal, agentId, { ...input, properties: null }),
  }),
);
