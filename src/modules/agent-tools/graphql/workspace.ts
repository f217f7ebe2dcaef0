import { builder } from '../../../core/builder.ts';
import { GoClawInvalidInputError, GoClawNotFoundError } from '../agent-tools.errors.ts';
import { offsetConnection } from '../paging.ts';
import type { WorkspaceEntry } from '../workspace.service.ts';
import { userInput } from './errors.ts';

export const GoClawMediaRef = builder.prismaNode('GoClawMedia', {
  id: { field: 'id' },
  description: 'An uploaded media file; its bytes are in object storage, served at `GET /goclaw/v1/media/{id}`.',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The media id as a plain UUID (the form REST uses).' }),
    filename: t.exposeString('filename', { description: 'The uploaded file name (base name only).' }),
    mimeType: t.exposeString('mimeType', { description: 'Its MIME type as uploaded.' }),
    size: t.exposeInt('size', { description: 'Bytes.' }),
    createdBy: t.exposeString('createdBy', { description: 'Who uploaded it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was uploaded.' }),
  }),
});

const UploadGoClawMediaInput = builder.inputType('UploadGoClawMediaInput', {
  description: 'A media file (at most the server body limit).',
  fields: (t) => ({
    filename: t.string({ required: true, description: 'Its file name.' }),
    mimeType: t.string({ required: true, description: 'Its MIME type, e.g. `image/png`.' }),
    contentBase64: t.string({ required: true, description: 'Its bytes, base64-encoded.' }),
  }),
});

builder.mutationField('uploadGoClawMedia', (t) =>
  t.prismaField({
    type: 'GoClawMedia',
    description: 'Stores a media file in object storage (GoClaw operators and up).',
    errors: { types: [GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: { input: t.arg({ type: UploadGoClawMediaInput, required: true, description: 'The file.' }) },
    resolve: async (query, _root, { input }, ctx) => {
      const { id } = await ctx.services.agenttools.workspace.uploadMedia(ctx.principal, {
        filename: input.filename,
        mimeType: input.mimeType,
        bytes: Buffer.from(input.contentBase64, 'base64'),
      });
      return ctx.services.prisma.goClawMedia.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

const GoClawWorkspaceEntryRef = builder.objectRef<WorkspaceEntry>('GoClawWorkspaceEntry').implement({
  description: 'A file or directory of the GoClaw workspace.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Its path relative to the workspace root.' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    isDir: t.exposeBoolean('isDir', { description: 'Whether it is a directory.' }),
    size: t.exposeInt('size', { description: 'Bytes (0 for directories).' }),
    hasChildren: t.exposeBoolean('hasChildren', { nullable: true, description: 'Directories: whether non-empty.' }),
    protected: t.exposeBoolean('protected', { description: 'Whether the server cannot write it.' }),
  }),
});

const GoClawWorkspaceListingRef = builder
  .objectRef<{ baseDir: string; files: WorkspaceEntry[] }>('GoClawWorkspaceListing')
  .implement({
    description: 'One directory of the workspace (at most 1000 entries, by name).',
    fields: (t) => ({
      baseDir: t.exposeString('baseDir', { description: 'The workspace root on the server.' }),
      files: t.field({ type: [GoClawWorkspaceEntryRef], description: 'Its entries.', resolve: (l) => l.files }),
    }),
  });

builder.queryField('goClawWorkspaceFiles', (t) =>
  t.field({
    type: GoClawWorkspaceListingRef,
    description: 'Lists a workspace directory; no `..`, no symlink leading outside the root (GoClaw viewers and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: { path: t.arg.string({ required: false, description: 'A subdirectory, relative to the root.' }) },
    resolve: (_root, args, ctx) => ctx.services.agenttools.workspace.listFiles(ctx.principal, args.path),
  }),
);

const GoClawHealthRef = builder
  .objectRef<{ status: string; uptimeMs: number; mode: string; database: string }>('GoClawHealth')
  .implement({
    description: 'GoClaw health: the platform database probed now.',
    fields: (t) => ({
      status: t.exposeString('status', { description: '`ok`, or `degraded` when the database fails.' }),
      uptimeMs: t.exposeInt('uptimeMs', { description: 'Milliseconds since this module started.' }),
      mode: t.exposeString('mode', { description: 'Always `managed` (state in the platform database).' }),
      database: t.exposeString('database', { description: '`ok` or `error`.' }),
    }),
  });

builder.queryField('goClawHealth', (t) =>
  t.field({
    type: GoClawHealthRef,
    description: 'GoClaw health. Public.',
    resolve: (_root, _args, ctx) => ctx.services.agenttools.workspace.health(),
  }),
);

const totalCountOf = (conn: object) => (conn as { totalCount?: number }).totalCount ?? 0;

export const GoClawActivityRef = builder.prismaNode('GoClawActivity', {
  id: { field: 'id' },
  description: 'One write made through the GoClaw tool, skill, channel or media APIs.',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The entry id as a plain UUID.' }),
    actorType: t.exposeString('actorType', { description: 'The caller kind (`admin`, `apiKey`, `jwt`).' }),
    actorId: t.exposeString('actorId', { description: 'The caller (`admin`, `apikey:<id>`, …).' }),
    action: t.exposeString('action', { description: 'What was done, e.g. `mcp_server.create`.' }),
    entityType: t.exposeString('entityType', { description: 'The kind of object.' }),
    entityId: t.exposeString('entityId', { description: 'Its id.' }),
    details: t.expose('details', { type: 'JSON', description: 'Extra facts (never secrets).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When.' }),
  }),
});

builder.queryField('goClawActivity', (t) =>
  t.connection(
    {
      type: GoClawActivityRef,
      description: 'The GoClaw activity log, newest first, offset-paged (GoClaw viewers and up).',
      authScopes: { product: 'goclaw' },
      resolve: (_root, args, ctx) =>
        userInput(() => offsetConnection(args, (page) => ctx.services.agenttools.reader.activity(ctx.principal, page))),
    },
    {
      description: 'A page of activity, with the total.',
      fields: (c) => ({ totalCount: c.int({ description: 'All entries.', resolve: totalCountOf }) }),
    },
    { description: 'One activity entry and its cursor.' },
  ),
);

export const GoClawDelegationRef = builder.prismaNode('GoClawDelegation', {
  id: { field: 'id' },
  description: 'One agent-to-agent hand-off, as the agent loop records it.',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The record id as a plain UUID.' }),
    sourceAgentId: t.exposeString('sourceAgentId', { description: 'The delegating agent.' }),
    targetAgentId: t.exposeString('targetAgentId', { description: 'The agent handed the task.' }),
    userId: t.exposeString('userId', { nullable: true, description: 'The user on whose behalf.' }),
    task: t.exposeString('task', { description: 'The task handed over.' }),
    status: t.exposeString('status', { description: '`pending`, `running`, `completed` or `failed`.' }),
    result: t.exposeString('result', { nullable: true, description: 'The answer, once completed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was handed over.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When it ended.' }),
  }),
});

builder.queryField('goClawDelegations', (t) =>
  t.connection(
    {
      type: GoClawDelegationRef,
      description: 'Delegation history, newest first, offset-paged (GoClaw viewers and up).',
      authScopes: { product: 'goclaw' },
      args: { agentId: t.arg.string({ required: false, description: 'Only hand-offs from or to this agent.' }) },
      resolve: (_root, args, ctx) =>
        userInput(() =>
          offsetConnection(args, (page) =>
            ctx.services.agenttools.reader.delegations(ctx.principal, { ...page, agentId: args.agentId }),
          ),
        ),
    },
    {
      description: 'A page of delegations, with the total.',
      fields: (c) => ({ totalCount: c.int({ description: 'All matching records.', resolve: totalCountOf }) }),
    },
    { description: 'One delegation and its cursor.' },
  ),
);
