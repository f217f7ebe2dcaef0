import { builder } from '../../../core/builder.ts';
import {
  GoClawConflictError,
  GoClawInvalidInputError,
  GoClawNotFoundError,
  GoClawToolRunError,
} from '../agent-tools.errors.ts';
import { offsetConnection } from '../paging.ts';
import { openMap } from '../secrets.ts';
import type { BuiltinTool } from '../tools.service.ts';
import { userInput } from './errors.ts';
import { DeletedGoClawObjectRef } from './mcp.ts';

export const GoClawCustomToolRef = builder.prismaNode('GoClawCustomTool', {
  id: { field: 'id' },
  description:
    'A custom tool: a JavaScript body run in the mcp-v8 sandbox with its arguments. Its env is never returned.',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The tool id as a plain UUID (the form REST uses).' }),
    name: t.exposeString('name', { description: 'Unique slug (never a built-in tool name).' }),
    description: t.exposeString('description', { description: 'What it does, for the model.' }),
    parameters: t.expose('parameters', { type: 'JSON', description: 'Its arguments, a JSON Schema of type object.' }),
    command: t.exposeString('command', {
      description: 'The JavaScript body, run as `async (args, env) => { body }`; its value is the result.',
    }),
    timeoutSeconds: t.exposeInt('timeoutSeconds', { description: 'Seconds a run may take (1-300).' }),
    envNames: t.stringList({
      description: 'The names of its environment variables (values are sealed and never returned).',
      select: { envEnc: true },
      resolve: (tool, _a, ctx) => Object.keys(openMap(ctx.services.secrets, tool.envEnc)),
    }),
    agentId: t.exposeString('agentId', { nullable: true, description: 'The agent it is scoped to; null: global.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether it can run.' }),
    createdBy: t.exposeString('createdBy', { description: 'Who created it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.queryField('goClawCustomTools', (t) =>
  t.connection(
    {
      type: GoClawCustomToolRef,
      description: 'Custom tools, newest first, offset-paged (GoClaw viewers and up).',
      authScopes: { product: 'goclaw' },
      args: {
        agentId: t.arg.string({ required: false, description: 'Only tools scoped to this agent.' }),
        search: t.arg.string({ required: false, description: 'Case-insensitive match on name or description.' }),
      },
      resolve: (_root, args, ctx) =>
        userInput(() =>
          offsetConnection(args, ({ take, offset }) =>
            ctx.services.agenttools.tools.listCustom(ctx.principal, {
              agentId: args.agentId,
              search: args.search,
              take,
              offset,
            }),
          ),
        ),
    },
    {
      description: 'A page of custom tools, with the total.',
      fields: (c) => ({
        totalCount: c.int({
          description: 'All matching tools, not only this page.',
          resolve: (conn) => (conn as { totalCount?: number }).totalCount ?? 0,
        }),
      }),
    },
    { description: 'One custom tool and its cursor.' },
  ),
);

const toolFields = {
  description: 'What it does, for the model (at most 2000 characters).',
  parameters: 'Its arguments: a JSON Schema of type object (type, properties, required, items, enum, …).',
  command: 'The JavaScript body, run as `async (args, env) => { body }`.',
  timeoutSeconds: 'Seconds a run may take, 1-300 (default 60).',
  env: 'Environment passed to the body as `env` (strings; sealed). On update a value "***" keeps the stored one.',
  agentId: 'Scope it to one agent (id or slug); null: global.',
  enabled: 'Whether it can run (default true).',
};

const CreateGoClawCustomToolInput = builder.inputType('CreateGoClawCustomToolInput', {
  description: 'A new custom tool.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique slug (not a built-in tool name).' }),
    command: t.string({ required: true, description: toolFields.command }),
    description: t.string({ required: false, description: toolFields.description }),
    parameters: t.field({ type: 'JSON', required: false, description: toolFields.parameters }),
    timeoutSeconds: t.int({ required: false, description: toolFields.timeoutSeconds }),
    env: t.field({ type: 'JSON', required: false, description: toolFields.env }),
    agentId: t.string({ required: false, description: toolFields.agentId }),
    enabled: t.boolean({ required: false, description: toolFields.enabled }),
  }),
});

const UpdateGoClawCustomToolInput = builder.inputType('UpdateGoClawCustomToolInput', {
  description: 'Changes to a custom tool; absent fields keep their values.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'Unique slug (not a built-in tool name).' }),
    command: t.string({ required: false, description: toolFields.command }),
    description: t.string({ required: false, description: toolFields.description }),
    parameters: t.field({ type: 'JSON', required: false, description: toolFields.parameters }),
    timeoutSeconds: t.int({ required: false, description: toolFields.timeoutSeconds }),
    env: t.field({ type: 'JSON', required: false, description: toolFields.env }),
    agentId: t.string({ required: false, description: toolFields.agentId }),
    enabled: t.boolean({ required: false, description: toolFields.enabled }),
  }),
});

builder.mutationField('createGoClawCustomTool', (t) =>
  t.prismaField({
    type: 'GoClawCustomTool',
    description: 'Creates a custom tool; its body is checked to parse, never run (GoClaw operators and up).',
    errors: { types: [GoClawInvalidInputError, GoClawConflictError] },
    authScopes: { product: 'goclaw' },
    args: { input: t.arg({ type: CreateGoClawCustomToolInput, required: true, description: 'The tool.' }) },
    resolve: async (query, _root, { input }, ctx) => {
      const { id } = await ctx.services.agenttools.tools.createCustom(ctx.principal, input);
      return ctx.services.prisma.goClawCustomTool.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

builder.mutationField('updateGoClawCustomTool', (t) =>
  t.prismaField({
    type: 'GoClawCustomTool',
    description: 'Changes a custom tool (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError, GoClawConflictError] },
    authScopes: { product: 'goclaw' },
    args: {
      id: t.arg.globalID({ required: true, for: GoClawCustomToolRef, description: 'The tool.' }),
      input: t.arg({ type: UpdateGoClawCustomToolInput, required: true, description: 'The changes.' }),
    },
    resolve: async (query, _root, { id, input }, ctx) => {
      await ctx.services.agenttools.tools.updateCustom(ctx.principal, id.id, input);
      return ctx.services.prisma.goClawCustomTool.findUniqueOrThrow({ ...query, where: { id: id.id } });
    },
  }),
);

builder.mutationField('deleteGoClawCustomTool', (t) =>
  t.field({
    type: DeletedGoClawObjectRef,
    description: 'Deletes a custom tool (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError] },
    authScopes: { product: 'goclaw' },
    args: { id: t.arg.globalID({ required: true, for: GoClawCustomToolRef, description: 'The tool.' }) },
    resolve: (_root, { id }, ctx) => ctx.services.agenttools.tools.deleteCustom(ctx.principal, id.id),
  }),
);

const GoClawToolRunRef = builder.objectRef<{ executionId: string; result: unknown }>('GoClawToolRun').implement({
  description: 'A finished custom-tool run.',
  fields: (t) => ({
    executionId: t.exposeString('executionId', { description: 'The mcp-v8 execution that ran it (its UUID).' }),
    result: t.expose('result', { type: 'JSON', nullable: true, description: "The body's value, as JSON." }),
  }),
});

builder.mutationField('runGoClawCustomTool', (t) =>
  t.field({
    type: GoClawToolRunRef,
    description:
      'Runs a custom tool with arguments in the mcp-v8 sandbox and waits for its value (what the agent loop calls).',
    errors: { types: [GoClawNotFoundError, GoClawToolRunError] },
    authScopes: { product: 'goclaw' },
    args: {
      id: t.arg.globalID({ required: true, for: GoClawCustomToolRef, description: 'The tool.' }),
      args: t.arg({ type: 'JSON', required: false, description: 'Its arguments (checked against its parameters).' }),
    },
    resolve: (_root, { id, args }, ctx) =>
      ctx.services.agenttools.tools.runCustomTool(ctx.principal, { id: id.id, args: args ?? {} }),
  }),
);

const GoClawBuiltinToolCategoryEnum = builder.enumType('GoClawBuiltinToolCategory', {
  description: 'What a built-in tool works on.',
  values: {
    filesystem: { description: "The agent's workspace files." },
    runtime: { description: 'Running code.' },
    web: { description: 'The web.' },
    memory: { description: "The agent's memory and knowledge graph." },
    messaging: { description: 'Channels.' },
    automation: { description: 'Other agents and schedules.' },
  } as const,
});

const GoClawBuiltinToolRef = builder.objectRef<BuiltinTool>('GoClawBuiltinTool').implement({
  description: 'A tool the platform ships; only `enabled` and `settings` can be changed.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its name (the key).' }),
    displayName: t.exposeString('displayName', { description: 'A label for people.' }),
    description: t.exposeString('description', { description: 'What it does.' }),
    category: t.field({
      type: GoClawBuiltinToolCategoryEnum,
      description: 'Its category.',
      resolve: (b) => b.category,
    }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether agents may use it.' }),
    settings: t.expose('settings', { type: 'JSON', description: 'Its settings (defaults until changed).' }),
    requires: t.exposeStringList('requires', { description: 'What it needs to work (a sandbox, a provider).' }),
    updatedAt: t.expose('updatedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When its settings were last changed; null: never.',
    }),
  }),
});

builder.queryField('goClawBuiltinTools', (t) =>
  t.field({
    type: [GoClawBuiltinToolRef],
    description: 'The built-in tools with their settings (GoClaw viewers and up).',
    authScopes: { product: 'goclaw' },
    resolve: (_root, _args, ctx) => ctx.services.agenttools.tools.listBuiltin(ctx.principal),
  }),
);

builder.queryField('goClawBuiltinTool', (t) =>
  t.field({
    type: GoClawBuiltinToolRef,
    description: 'One built-in tool by name.',
    errors: { types: [GoClawNotFoundError] },
    authScopes: { product: 'goclaw' },
    args: { name: t.arg.string({ required: true, description: 'Its name.' }) },
    resolve: (_root, { name }, ctx) => ctx.services.agenttools.tools.getBuiltin(ctx.principal, name),
  }),
);

const UpdateGoClawBuiltinToolInput = builder.inputType('UpdateGoClawBuiltinToolInput', {
  description: "Changes to a built-in tool's settings; absent fields keep their values.",
  fields: (t) => ({
    enabled: t.boolean({ required: false, description: 'Whether agents may use it.' }),
    settings: t.field({ type: 'JSON', required: false, description: 'Replaces its settings (a JSON object).' }),
  }),
});

builder.mutationField('updateGoClawBuiltinTool', (t) =>
  t.field({
    type: GoClawBuiltinToolRef,
    description: "Changes a built-in tool's enabled flag and settings (GoClaw operators and up).",
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: {
      name: t.arg.string({ required: true, description: 'Its name.' }),
      input: t.arg({ type: UpdateGoClawBuiltinToolInput, required: true, description: 'The changes.' }),
    },
    resolve: (_root, { name, input }, ctx) => ctx.services.agenttools.tools.updateBuiltin(ctx.principal, name, input),
  }),
);

builder.mutationField('runGoClawJs', (t) =>
  t.field({
    type: GoClawToolRunRef,
    description:
      "The built-in `run_js` tool: runs JavaScript in the mcp-v8 sandbox with the tool's settings and returns its value.",
    errors: { types: [GoClawNotFoundError, GoClawToolRunError] },
    authScopes: { product: 'goclaw' },
    args: {
      code: t.arg.string({
        required: true,
        description: 'The script; its final value (awaited) is the result, or its default export with top-level await.',
      }),
    },
    resolve: (_root, { code }, ctx) => ctx.services.agenttools.tools.runJs(ctx.principal, { code }),
  }),
);
