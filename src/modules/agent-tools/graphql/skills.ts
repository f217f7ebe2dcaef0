import { builder } from '../../../core/builder.ts';
import { GoClawConflictError, GoClawInvalidInputError, GoClawNotFoundError } from '../agent-tools.errors.ts';
import { DeletedGoClawObjectRef } from './mcp.ts';

const GoClawSkillVisibilityEnum = builder.enumType('GoClawSkillVisibility', {
  description: 'Who may be granted a skill.',
  values: {
    private: { description: 'Its owner.' },
    public: { description: 'Anyone.' },
  } as const,
});

const GoClawSkillStatusEnum = builder.enumType('GoClawSkillStatus', {
  description: 'Whether a skill can be used.',
  values: {
    active: { description: 'In use.' },
    disabled: { description: 'Kept but not offered to agents.' },
  } as const,
});

export const GoClawSkillRef = builder.prismaNode('GoClawSkill', {
  id: { field: 'id' },
  description: 'A skill: an uploaded ZIP with a SKILL.md, kept in object storage; its front matter is parsed.',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The skill id as a plain UUID (the form REST uses).' }),
    name: t.exposeString('name', { description: 'Its name (front matter `name`, or its directory).' }),
    slug: t.exposeString('slug', { description: 'Unique slug, from the name.' }),
    description: t.exposeString('description', { description: 'Front matter `description`, or as updated.' }),
    ownerId: t.exposeString('ownerId', { description: 'Its owner (`X-GoClaw-User-Id` at upload, else the caller).' }),
    visibility: t.field({
      type: GoClawSkillVisibilityEnum,
      description: 'Who may be granted it.',
      resolve: (s) => s.visibility as 'private' | 'public',
    }),
    version: t.exposeInt('version', { description: 'Starts at 1; each re-upload of the slug adds one.' }),
    status: t.field({
      type: GoClawSkillStatusEnum,
      description: 'Whether it is offered.',
      resolve: (s) => s.status as 'active' | 'disabled',
    }),
    frontmatter: t.expose('frontmatter', { type: 'JSON', description: "SKILL.md's front matter, key by key." }),
    filePath: t.exposeString('filePath', { description: 'The object-storage key of the ZIP.' }),
    fileSize: t.exposeInt('fileSize', { description: 'Bytes of the ZIP.' }),
    fileHash: t.exposeString('fileHash', { description: 'SHA-256 (hex) of the ZIP.' }),
    tags: t.exposeStringList('tags', { description: 'Front matter `tags`, or as updated.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first uploaded.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.queryField('goClawSkills', (t) =>
  t.prismaConnection({
    type: 'GoClawSkill',
    cursor: 'id',
    maxSize: 1000,
    description: 'Skills, newest first (GoClaw viewers and up).',
    authScopes: { product: 'goclaw' },
    totalCount: (_root, _args, ctx) => ctx.services.prisma.goClawSkill.count(),
    resolve: (query, _root, _args, ctx) =>
      ctx.services.prisma.goClawSkill.findMany({ ...query, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);

builder.queryField('goClawSkill', (t) =>
  t.prismaField({
    type: 'GoClawSkill',
    description: 'One skill by UUID or slug.',
    errors: { types: [GoClawNotFoundError] },
    authScopes: { product: 'goclaw' },
    args: { idOrSlug: t.arg.string({ required: true, description: 'Its UUID or its slug.' }) },
    resolve: async (query, _root, { idOrSlug }, ctx) => {
      const { id } = await ctx.services.agenttools.skills.find(idOrSlug);
      return ctx.services.prisma.goClawSkill.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

const UploadGoClawSkillInput = builder.inputType('UploadGoClawSkillInput', {
  description: 'A skill ZIP (at most the server body limit; 20 MB at most, 50 MB uncompressed).',
  fields: (t) => ({
    zipBase64: t.string({
      required: true,
      description: 'The ZIP, base64-encoded; SKILL.md at its root or one level deep.',
    }),
    ownerId: t.string({ required: false, description: 'Its owner (GoClaw user id); default: the caller.' }),
  }),
});

builder.mutationField('uploadGoClawSkill', (t) =>
  t.prismaField({
    type: 'GoClawSkill',
    description: 'Uploads a skill ZIP; a slug that exists is replaced (version + 1) when the caller owns it.',
    errors: { types: [GoClawInvalidInputError, GoClawConflictError] },
    authScopes: { product: 'goclaw' },
    args: { input: t.arg({ type: UploadGoClawSkillInput, required: true, description: 'The ZIP.' }) },
    resolve: async (query, _root, { input }, ctx) => {
      const { id } = await ctx.services.agenttools.skills.upload(ctx.principal, {
        zip: Buffer.from(input.zipBase64, 'base64'),
        ownerId: input.ownerId,
      });
      return ctx.services.prisma.goClawSkill.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

const UpdateGoClawSkillInput = builder.inputType('UpdateGoClawSkillInput', {
  description: "Changes to a skill's metadata; absent fields keep their values.",
  fields: (t) => ({
    name: t.string({ required: false, description: 'Its name (the slug stays).' }),
    description: t.string({ required: false, description: 'What it is for.' }),
    visibility: t.field({ type: GoClawSkillVisibilityEnum, required: false, description: 'Who may be granted it.' }),
    status: t.field({ type: GoClawSkillStatusEnum, required: false, description: 'Whether it is offered.' }),
    tags: t.stringList({ required: false, description: 'Replaces its tags.' }),
  }),
});

builder.mutationField('updateGoClawSkill', (t) =>
  t.prismaField({
    type: 'GoClawSkill',
    description: "Changes a skill's metadata (GoClaw operators and up).",
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: {
      idOrSlug: t.arg.string({ required: true, description: 'Its UUID or slug.' }),
      input: t.arg({ type: UpdateGoClawSkillInput, required: true, description: 'The changes.' }),
    },
    resolve: async (query, _root, { idOrSlug, input }, ctx) => {
      const { id } = await ctx.services.agenttools.skills.update(ctx.principal, idOrSlug, input);
      return ctx.services.prisma.goClawSkill.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

builder.mutationField('deleteGoClawSkill', (t) =>
  t.field({
    type: DeletedGoClawObjectRef,
    description: 'Deletes a skill and its ZIP (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError] },
    authScopes: { product: 'goclaw' },
    args: { idOrSlug: t.arg.string({ required: true, description: 'Its UUID or slug.' }) },
    resolve: (_root, { idOrSlug }, ctx) => ctx.services.agenttools.skills.delete(ctx.principal, idOrSlug),
  }),
);

export const GoClawSkillGrantRef = builder.prismaNode('GoClawSkillGrant', {
  id: { field: 'id' },
  description:
    'A skill granted to an agent: its runs list the skill in the system prompt and may read its SKILL.md ' +
    '(`read_skill`).',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The grant id as a plain UUID.' }),
    skill: t.relation('skill', { description: 'The skill.' }),
    agentId: t.exposeString('agentId', { description: 'The agent’s id (a UUID).' }),
    createdBy: t.exposeString('createdBy', { description: 'Who granted it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was granted.' }),
  }),
});

builder.prismaObjectField('GoClawSkill', 'agentGrants', (t) =>
  t.relatedConnection('agentGrants', {
    cursor: 'id',
    description: 'The agents it is granted to, oldest grant first.',
    query: () => ({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    totalCount: true,
  }),
);

builder.mutationField('grantGoClawSkill', (t) =>
  t.prismaField({
    type: 'GoClawSkillGrant',
    description: 'Grants a skill to an agent; granting it again changes nothing (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: {
      idOrSlug: t.arg.string({ required: true, description: 'The skill’s UUID or slug.' }),
      agentId: t.arg.string({ required: true, description: 'The agent’s id (a UUID).' }),
    },
    resolve: async (query, _root, { idOrSlug, agentId }, ctx) => {
      const { id } = await ctx.services.agenttools.skills.grant(ctx.principal, idOrSlug, agentId);
      return ctx.services.prisma.goClawSkillGrant.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

builder.mutationField('revokeGoClawSkillGrant', (t) =>
  t.field({
    type: DeletedGoClawObjectRef,
    description: 'Removes an agent’s grant of a skill (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: {
      idOrSlug: t.arg.string({ required: true, description: 'The skill’s UUID or slug.' }),
      agentId: t.arg.string({ required: true, description: 'The agent’s id (a UUID).' }),
    },
    resolve: (_root, { idOrSlug, agentId }, ctx) =>
      ctx.services.agenttools.skills.revoke(ctx.principal, idOrSlug, agentId),
  }),
);
