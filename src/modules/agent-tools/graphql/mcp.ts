import { builder } from '../../../core/builder.ts';
import {
  GoClawConflictError,
  GoClawInvalidInputError,
  GoClawMcpUnavailableError,
  GoClawNotFoundError,
} from '../agent-tools.errors.ts';
import type { McpTool } from '../mcp-client.ts';
import { maskMap } from '../secrets.ts';

export const GoClawMcpTransportEnum = builder.enumType('GoClawMcpTransport', {
  description: 'How Atrium talks to an MCP server.',
  values: {
    stdio: { value: 'stdio', description: 'A child process (no shell) speaking JSON-RPC on stdin/stdout.' },
    sse: { value: 'sse', description: 'The legacy HTTP + Server-Sent Events transport.' },
    streamable_http: { value: 'streamable-http', description: 'The streamable HTTP transport.' },
  } as const,
});

export const GoClawMcpServerRef = builder.prismaNode('GoClawMcpServer', {
  id: { field: 'id' },
  description: 'An MCP server GoClaw agents can use. Secrets (env, headers, API key) are sealed and never returned.',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The server id as a plain UUID (the form REST uses).' }),
    name: t.exposeString('name', { description: 'Unique slug.' }),
    displayName: t.exposeString('displayName', { nullable: true, description: 'A label for people.' }),
    transport: t.field({
      type: GoClawMcpTransportEnum,
      description: 'How it is reached.',
      resolve: (s) => s.transport as 'stdio' | 'sse' | 'streamable-http',
    }),
    command: t.exposeString('command', { nullable: true, description: 'stdio: the executable (run without a shell).' }),
    args: t.exposeStringList('args', { description: 'stdio: its arguments.' }),
    maskedEnv: t.field({
      type: 'JSON',
      description: 'stdio: the environment names, every value masked as "***".',
      select: { envEnc: true },
      resolve: (s, _a, ctx) => maskMap(ctx.services.secrets, s.envEnc),
    }),
    url: t.exposeString('url', { nullable: true, description: 'HTTP transports: the endpoint.' }),
    maskedHeaders: t.field({
      type: 'JSON',
      description: 'HTTP transports: the extra header names, every value masked as "***".',
      select: { headersEnc: true },
      resolve: (s, _a, ctx) => maskMap(ctx.services.secrets, s.headersEnc),
    }),
    hasApiKey: t.boolean({
      description: 'Whether an API key (sent as a Bearer token) is stored.',
      select: { apiKeyEnc: true },
      resolve: (s) => s.apiKeyEnc !== null,
    }),
    toolPrefix: t.exposeString('toolPrefix', { nullable: true, description: 'Prepended to its tool names.' }),
    timeoutSec: t.exposeInt('timeoutSec', { description: 'Seconds a connection and a call may take.' }),
    settings: t.expose('settings', { type: 'JSON', description: 'Free-form settings.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether agents may use it.' }),
    createdBy: t.exposeString('createdBy', { description: 'Who created it (`admin`, `apikey:<id>`, …).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.queryField('goClawMcpServers', (t) =>
  t.prismaConnection({
    type: 'GoClawMcpServer',
    cursor: 'id',
    maxSize: 1000,
    description: 'MCP servers, newest first (GoClaw viewers and up).',
    authScopes: { product: 'goclaw' },
    totalCount: (_root, _args, ctx) => ctx.services.prisma.goClawMcpServer.count(),
    resolve: (query, _root, _args, ctx) =>
      ctx.services.prisma.goClawMcpServer.findMany({ ...query, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);

const GoClawMcpToolRef = builder.objectRef<McpTool>('GoClawMcpTool').implement({
  description: 'A tool as the MCP server listed it (`tools/list`), with the server’s tool prefix applied.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its name, prefixed.' }),
    description: t.exposeString('description', { nullable: true, description: 'What it does, as the server says.' }),
    inputSchema: t.expose('inputSchema', { type: 'JSON', description: 'Its arguments, a JSON Schema.' }),
  }),
});

builder.queryField('goClawMcpServerTools', (t) =>
  t.field({
    type: [GoClawMcpToolRef],
    description: 'Connects to the server and returns what its `tools/list` answers now (nothing is cached).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError, GoClawMcpUnavailableError] },
    authScopes: { product: 'goclaw' },
    args: { id: t.arg.globalID({ required: true, for: GoClawMcpServerRef, description: 'The server.' }) },
    resolve: async (_root, { id }, ctx) => (await ctx.services.agenttools.mcp.tools(ctx.principal, id.id)).tools,
  }),
);

const fields = {
  displayName: 'A label for people.',
  command: 'stdio: an executable this server allows (ATRIUM_GOCLAW_MCP_STDIO_COMMANDS).',
  url: 'HTTP transports: the endpoint (http or https; the outbound guard applies).',
  apiKey: 'Sent as `Authorization: Bearer`; sealed. On update "***" or "" keeps it, null removes it.',
  toolPrefix: 'Prepended to its tool names (lower-case letters, digits, "_").',
  timeoutSec: 'Seconds a connection and a call may take, 1-600 (default 60).',
  settings: 'Free-form settings (a JSON object).',
  enabled: 'Whether agents may use it (default true).',
  env: 'stdio: environment variables (strings; sealed). On update a value "***" keeps the stored one.',
  headers: 'HTTP transports: extra headers (strings; sealed). On update a value "***" keeps the stored one.',
  args: 'stdio: arguments.',
};

const CreateGoClawMcpServerInput = builder.inputType('CreateGoClawMcpServerInput', {
  description: 'A new MCP server.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique slug.' }),
    transport: t.field({ type: GoClawMcpTransportEnum, required: true, description: 'How it is reached.' }),
    displayName: t.string({ required: false, description: fields.displayName }),
    command: t.string({ required: false, description: fields.command }),
    args: t.stringList({ required: false, description: fields.args }),
    env: t.field({ type: 'JSON', required: false, description: fields.env }),
    url: t.string({ required: false, description: fields.url }),
    headers: t.field({ type: 'JSON', required: false, description: fields.headers }),
    apiKey: t.string({ required: false, description: fields.apiKey }),
    toolPrefix: t.string({ required: false, description: fields.toolPrefix }),
    timeoutSec: t.int({ required: false, description: fields.timeoutSec }),
    settings: t.field({ type: 'JSON', required: false, description: fields.settings }),
    enabled: t.boolean({ required: false, description: fields.enabled }),
  }),
});

const UpdateGoClawMcpServerInput = builder.inputType('UpdateGoClawMcpServerInput', {
  description: 'Changes to an MCP server; absent fields keep their values.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'Unique slug.' }),
    transport: t.field({ type: GoClawMcpTransportEnum, required: false, description: 'How it is reached.' }),
    displayName: t.string({ required: false, description: fields.displayName }),
    command: t.string({ required: false, description: fields.command }),
    args: t.stringList({ required: false, description: fields.args }),
    env: t.field({ type: 'JSON', required: false, description: fields.env }),
    url: t.string({ required: false, description: fields.url }),
    headers: t.field({ type: 'JSON', required: false, description: fields.headers }),
    apiKey: t.string({ required: false, description: fields.apiKey }),
    toolPrefix: t.string({ required: false, description: fields.toolPrefix }),
    timeoutSec: t.int({ required: false, description: fields.timeoutSec }),
    settings: t.field({ type: 'JSON', required: false, description: fields.settings }),
    enabled: t.boolean({ required: false, description: fields.enabled }),
  }),
});

builder.mutationField('createGoClawMcpServer', (t) =>
  t.prismaField({
    type: 'GoClawMcpServer',
    description: 'Creates an MCP server (GoClaw operators and up).',
    errors: { types: [GoClawInvalidInputError, GoClawConflictError] },
    authScopes: { product: 'goclaw' },
    args: { input: t.arg({ type: CreateGoClawMcpServerInput, required: true, description: 'The server.' }) },
    resolve: async (query, _root, { input }, ctx) => {
      const { id } = await ctx.services.agenttools.mcp.create(ctx.principal, input);
      return ctx.services.prisma.goClawMcpServer.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

builder.mutationField('updateGoClawMcpServer', (t) =>
  t.prismaField({
    type: 'GoClawMcpServer',
    description: 'Changes an MCP server (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError, GoClawConflictError] },
    authScopes: { product: 'goclaw' },
    args: {
      id: t.arg.globalID({ required: true, for: GoClawMcpServerRef, description: 'The server.' }),
      input: t.arg({ type: UpdateGoClawMcpServerInput, required: true, description: 'The changes.' }),
    },
    resolve: async (query, _root, { id, input }, ctx) => {
      await ctx.services.agenttools.mcp.update(ctx.principal, id.id, input);
      return ctx.services.prisma.goClawMcpServer.findUniqueOrThrow({ ...query, where: { id: id.id } });
    },
  }),
);

export const DeletedGoClawObjectRef = builder.objectRef<{ id: string }>('DeletedGoClawObject').implement({
  description: 'What a GoClaw delete removed.',
  fields: (t) => ({ uuid: t.exposeString('id', { description: 'The removed object’s plain UUID.' }) }),
});

builder.mutationField('deleteGoClawMcpServer', (t) =>
  t.field({
    type: DeletedGoClawObjectRef,
    description: 'Deletes an MCP server (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError] },
    authScopes: { product: 'goclaw' },
    args: { id: t.arg.globalID({ required: true, for: GoClawMcpServerRef, description: 'The server.' }) },
    resolve: (_root, { id }, ctx) => ctx.services.agenttools.mcp.delete(ctx.principal, id.id),
  }),
);

export const GoClawMcpAgentGrantRef = builder.prismaNode('GoClawMcpAgentGrant', {
  id: { field: 'id' },
  description:
    'An MCP server granted to an agent: its runs offer the server’s tools (`tools/list` at run start), filtered ' +
    'by `toolAllow` (empty: all) and `toolDeny` on the tools’ own names.',
  authScopes: { product: 'goclaw' },
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The grant id as a plain UUID.' }),
    server: t.relation('server', { description: 'The server.' }),
    agentId: t.exposeString('agentId', { description: 'The agent’s id (a UUID).' }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether runs use it.' }),
    toolAllow: t.exposeStringList('toolAllow', { description: 'The only tools offered (empty: all).' }),
    toolDeny: t.exposeStringList('toolDeny', { description: 'Tools never offered.' }),
    createdBy: t.exposeString('createdBy', { description: 'Who granted it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was granted.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.prismaObjectField('GoClawMcpServer', 'agentGrants', (t) =>
  t.relatedConnection('agentGrants', {
    cursor: 'id',
    description: 'The agents it is granted to, oldest grant first.',
    query: () => ({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    totalCount: true,
  }),
);

const GrantGoClawMcpServerInput = builder.inputType('GrantGoClawMcpServerInput', {
  description: 'A grant of an MCP server to an agent; on a change, absent fields keep their values.',
  fields: (t) => ({
    agentId: t.string({ required: true, description: 'The agent’s id (a UUID).' }),
    enabled: t.boolean({ required: false, description: 'Whether runs use it (default true).' }),
    toolAllow: t.stringList({ required: false, description: 'The only tools offered, by their own names.' }),
    toolDeny: t.stringList({ required: false, description: 'Tools never offered, by their own names.' }),
  }),
});

builder.mutationField('grantGoClawMcpServer', (t) =>
  t.prismaField({
    type: 'GoClawMcpAgentGrant',
    description: 'Grants an MCP server to an agent, or changes the grant (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: {
      serverId: t.arg.globalID({ required: true, for: GoClawMcpServerRef, description: 'The server.' }),
      input: t.arg({ type: GrantGoClawMcpServerInput, required: true, description: 'The grant.' }),
    },
    resolve: async (query, _root, { serverId, input }, ctx) => {
      const { id } = await ctx.services.agenttools.mcp.grant(ctx.principal, serverId.id, input);
      return ctx.services.prisma.goClawMcpAgentGrant.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

builder.mutationField('revokeGoClawMcpServerGrant', (t) =>
  t.field({
    type: DeletedGoClawObjectRef,
    description: 'Removes an agent’s grant of an MCP server (GoClaw operators and up).',
    errors: { types: [GoClawNotFoundError, GoClawInvalidInputError] },
    authScopes: { product: 'goclaw' },
    args: {
      serverId: t.arg.globalID({ required: true, for: GoClawMcpServerRef, description: 'The server.' }),
      agentId: t.arg.string({ required: true, description: 'The agent’s id (a UUID).' }),
    },
    resolve: (_root, { serverId, agentId }, ctx) =>
      ctx.services.agenttools.mcp.revoke(ctx.principal, serverId.id, agentId),
  }),
);
