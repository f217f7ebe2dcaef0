import path from 'node:path';
import type { GoClawMcpAgentGrant, GoClawMcpServer } from '../../../prisma/generated/client/client.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { OutboundPolicy } from '../../core/net/outbound.ts';
import type { ActivityLog } from './activity.ts';
import type { AgentToolsConfig } from './agent-tools.config.ts';
import { GoClawConflictError, GoClawInvalidInputError, GoClawNotFoundError } from './agent-tools.errors.ts';
import { callMcpTool, listMcpTools, type McpCallResult, type McpTarget, type McpTool } from './mcp-client.ts';
import { requireRole } from './roles.ts';
import { masked, mergeMap, openMap, sealMap, stringMap } from './secrets.ts';
import { grantAgentId, intIn, isUuid, jsonObject, slug, text } from './validate.ts';

/** A grant of a server to an agent; on update, absent fields keep their values. */
export interface McpGrantInput {
  agentId: string;
  enabled?: boolean | null;
  /** The server's own tool names the agent may use (empty or absent: all). */
  toolAllow?: string[] | null;
  /** The server's own tool names the agent may not use. */
  toolDeny?: string[] | null;
}

/** One MCP tool as an agent run offers it. */
export interface AgentMcpTool {
  /** The name the model sees (`mcpToolName`). */
  name: string;
  server: string;
  /** The server's own name for it (what `tools/call` gets). */
  toolName: string;
  description: string | null;
  inputSchema: unknown;
  call(args: Record<string, unknown>, signal?: AbortSignal): Promise<McpCallResult>;
}

/**
 * The name agents see for a server's tool: the server's `tool_prefix` and the tool's name; with no prefix, upstream
 * GoClaw's derived one, `mcp_<server name, "-" as "_">__`, so an MCP tool never shadows a built-in or custom tool.
 * Characters providers refuse become "_"; at most 64 characters.
 */
export function mcpToolName(server: Pick<GoClawMcpServer, 'name' | 'toolPrefix'>, tool: string): string {
  const prefix = server.toolPrefix ? server.toolPrefix : `mcp_${server.name.replaceAll('-', '_')}__`;
  return `${prefix}${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
}

const maxListedNames = 500;
function toolNames(field: string, v: string[] | null | undefined): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > maxListedNames || v.some((n) => typeof n !== 'string' || n.length > 200)) {
    throw new GoClawInvalidInputError(`${field}: at most ${maxListedNames} tool names of up to 200 characters`);
  }
  return [...new Set(v)];
}

export const mcpTransports = ['stdio', 'sse', 'streamable-http'] as const;
export type McpTransport = (typeof mcpTransports)[number];

/** A create or update of an MCP server; on update, absent fields keep their values. */
export interface McpServerInput {
  name?: string | null;
  displayName?: string | null;
  transport?: McpTransport | null;
  command?: string | null;
  args?: string[] | null;
  env?: unknown;
  url?: string | null;
  headers?: unknown;
  apiKey?: string | null;
  toolPrefix?: string | null;
  timeoutSec?: number | null;
  settings?: unknown;
  enabled?: boolean | null;
}

interface Deps {
  prisma: PrismaClient;
  box: SecretBox;
  outbound: OutboundPolicy;
  config: AgentToolsConfig;
  activity: ActivityLog;
}

/** MCP servers: stored with sealed secrets, their tools discovered live through the MCP SDK. */
export class McpServerService {
  constructor(private readonly deps: Deps) {}

  async create(principal: Principal, input: McpServerInput): Promise<GoClawMcpServer> {
    requireRole(principal, 'operator');
    const { box } = this.deps;
    if (!input.name) throw new GoClawInvalidInputError('name is required');
    if (!input.transport) throw new GoClawInvalidInputError(`transport is required (${mcpTransports.join(', ')})`);
    const data = this.checked({
      name: slug('name', input.name),
      displayName: text('display_name', input.displayName, 200) ?? null,
      transport: input.transport,
      command: input.command ?? null,
      args: input.args ?? [],
      url: input.url ?? null,
      toolPrefix: input.toolPrefix ?? null,
      timeoutSec: input.timeoutSec ?? 60,
      settings: input.settings === undefined || input.settings === null ? {} : jsonObject('settings', input.settings),
      enabled: input.enabled ?? true,
    });
    const envEnc = input.env === undefined || input.env === null ? null : sealMap(box, stringMap('env', input.env));
    const headersEnc =
      input.headers === undefined || input.headers === null ? null : sealMap(box, stringMap('headers', input.headers));
    const apiKey = text('api_key', input.apiKey, 4096);
    const existing = await this.deps.prisma.goClawMcpServer.findUnique({ where: { name: data.name } });
    if (existing) throw new GoClawConflictError(`An MCP server named "${data.name}" already exists`);
    const row = await this.deps.prisma.goClawMcpServer.create({
      data: {
        ...data,
        settings: data.settings as object,
        envEnc,
        headersEnc,
        apiKeyEnc: apiKey ? box.seal(apiKey) : null,
        createdBy: principalId(principal),
      },
    });
    await this.deps.activity.record(principal, {
      action: 'mcp_server.create',
      entityType: 'mcp_server',
      entityId: row.id,
    });
    return row;
  }

  async update(principal: Principal, id: string, input: McpServerInput): Promise<GoClawMcpServer> {
    requireRole(principal, 'operator');
    const { box, prisma } = this.deps;
    const row = await this.find(id);
    const data = this.checked({
      name: input.name ? slug('name', input.name) : row.name,
      displayName:
        input.displayName === undefined ? row.displayName : (text('display_name', input.displayName, 200) ?? null),
      transport: input.transport ?? (row.transport as McpTransport),
      command: input.command === undefined ? row.command : input.command,
      args: input.args ?? row.args,
      url: input.url === undefined ? row.url : input.url,
      toolPrefix: input.toolPrefix === undefined ? row.toolPrefix : input.toolPrefix,
      timeoutSec: input.timeoutSec ?? row.timeoutSec,
      settings:
        input.settings === undefined || input.settings === null ? row.settings : jsonObject('settings', input.settings),
      enabled: input.enabled ?? row.enabled,
    });
    if (data.name !== row.name && (await prisma.goClawMcpServer.findUnique({ where: { name: data.name } }))) {
      throw new GoClawConflictError(`An MCP server named "${data.name}" already exists`);
    }
    const envEnc = mergeMap(box, 'env', row.envEnc, input.env);
    const headersEnc = mergeMap(box, 'headers', row.headersEnc, input.headers);
    const apiKey = text('api_key', input.apiKey, 4096);
    // `***` or an empty string keeps the stored key; null removes it.
    const apiKeyEnc =
      apiKey === undefined || apiKey === masked || apiKey === ''
        ? undefined
        : apiKey === null
          ? null
          : box.seal(apiKey);
    const updated = await prisma.goClawMcpServer.update({
      where: { id: row.id },
      data: {
        ...data,
        settings: data.settings as object,
        ...(envEnc !== undefined ? { envEnc } : {}),
        ...(headersEnc !== undefined ? { headersEnc } : {}),
        ...(apiKeyEnc !== undefined ? { apiKeyEnc } : {}),
      },
    });
    await this.deps.activity.record(principal, {
      action: 'mcp_server.update',
      entityType: 'mcp_server',
      entityId: row.id,
    });
    return updated;
  }

  async delete(principal: Principal, id: string): Promise<{ id: string }> {
    requireRole(principal, 'operator');
    const row = await this.find(id);
    await this.deps.prisma.goClawMcpServer.delete({ where: { id: row.id } });
    await this.deps.activity.record(principal, {
      action: 'mcp_server.delete',
      entityType: 'mcp_server',
      entityId: row.id,
    });
    return { id: row.id };
  }

  /** What the server's `tools/list` answers now (connects, lists, disconnects; nothing is cached or invented). */
  async tools(principal: Principal, id: string): Promise<{ server: GoClawMcpServer; tools: McpTool[] }> {
    requireRole(principal, 'viewer');
    const server = await this.find(id);
    if (!server.enabled) throw new GoClawInvalidInputError(`MCP server "${server.name}" is disabled`);
    const tools = await listMcpTools(this.target(server), this.deps.outbound, server.timeoutSec * 1000);
    return { server, tools: tools.map((t) => ({ ...t, name: mcpToolName(server, t.name) })) };
  }

  /** Grants the server to an agent, or changes the grant (GoClaw operators and up). */
  async grant(principal: Principal, serverId: string, input: McpGrantInput): Promise<GoClawMcpAgentGrant> {
    requireRole(principal, 'operator');
    const server = await this.find(serverId);
    const agentId = grantAgentId(input.agentId);
    const toolAllow = toolNames('tool_allow', input.toolAllow);
    const toolDeny = toolNames('tool_deny', input.toolDeny);
    const row = await this.deps.prisma.goClawMcpAgentGrant.upsert({
      where: { serverId_agentId: { serverId: server.id, agentId } },
      create: {
        serverId: server.id,
        agentId,
        enabled: input.enabled ?? true,
        toolAllow: toolAllow ?? [],
        toolDeny: toolDeny ?? [],
        createdBy: principalId(principal),
      },
      update: {
        ...(input.enabled !== undefined && input.enabled !== null ? { enabled: input.enabled } : {}),
        ...(toolAllow ? { toolAllow } : {}),
        ...(toolDeny ? { toolDeny } : {}),
      },
    });
    await this.deps.activity.record(principal, {
      action: 'mcp_server.grant',
      entityType: 'mcp_server',
      entityId: server.id,
      details: { agent_id: agentId },
    });
    return row;
  }

  /** Removes an agent's grant of the server. */
  async revoke(principal: Principal, serverId: string, agentId: string): Promise<{ id: string }> {
    requireRole(principal, 'operator');
    const server = await this.find(serverId);
    const agent = grantAgentId(agentId);
    const row = await this.deps.prisma.goClawMcpAgentGrant.findUnique({
      where: { serverId_agentId: { serverId: server.id, agentId: agent } },
    });
    if (!row) throw new GoClawNotFoundError('MCP server grant', `${server.name}/${agent}`);
    await this.deps.prisma.goClawMcpAgentGrant.delete({ where: { id: row.id } });
    await this.deps.activity.record(principal, {
      action: 'mcp_server.revoke',
      entityType: 'mcp_server',
      entityId: server.id,
      details: { agent_id: agent },
    });
    return { id: row.id };
  }

  /**
   * The MCP tools an agent's run offers: for each enabled grant of an enabled server, what `tools/list` answers now,
   * filtered by the grant's allow/deny lists, each calling `tools/call` on its server. A server that cannot be
   * listed offers nothing this run and is reported in `unavailable` (the run goes on without it).
   */
  async agentTools(
    principal: Principal,
    agentId: string,
  ): Promise<{ tools: AgentMcpTool[]; unavailable: { server: string; error: string }[] }> {
    requireRole(principal, 'viewer');
    const grants = await this.deps.prisma.goClawMcpAgentGrant.findMany({
      where: { agentId, enabled: true, server: { enabled: true } },
      include: { server: true },
      orderBy: { createdAt: 'asc' },
    });
    const unavailable: { server: string; error: string }[] = [];
    const lists = await Promise.all(
      grants.map(async (g) => {
        const target = this.target(g.server);
        const timeoutMs = g.server.timeoutSec * 1000;
        try {
          const listed = await listMcpTools(target, this.deps.outbound, timeoutMs);
          return listed
            .filter((t) => (g.toolAllow.length === 0 || g.toolAllow.includes(t.name)) && !g.toolDeny.includes(t.name))
            .map(
              (t): AgentMcpTool => ({
                name: mcpToolName(g.server, t.name),
                server: g.server.name,
                toolName: t.name,
                description: t.description,
                inputSchema: t.inputSchema,
                call: (args, signal) =>
                  callMcpTool(target, this.deps.outbound, timeoutMs, { name: t.name, arguments: args }, signal),
              }),
            );
        } catch (err) {
          unavailable.push({ server: g.server.name, error: (err as Error).message });
          return [];
        }
      }),
    );
    return { tools: lists.flat(), unavailable };
  }

  private target(server: GoClawMcpServer): McpTarget {
    const { box } = this.deps;
    if (server.transport === 'stdio') {
      return { transport: 'stdio', command: server.command ?? '', args: server.args, env: openMap(box, server.envEnc) };
    }
    const headers = openMap(box, server.headersEnc);
    if (server.apiKeyEnc) headers.authorization = `Bearer ${box.open(server.apiKeyEnc)}`;
    return { transport: server.transport as 'sse' | 'streamable-http', url: server.url ?? '', headers };
  }

  private async find(id: string): Promise<GoClawMcpServer> {
    const row = isUuid(id) ? await this.deps.prisma.goClawMcpServer.findUnique({ where: { id } }) : null;
    if (!row) throw new GoClawNotFoundError('MCP server', id);
    return row;
  }

  /** Transport-specific checks: stdio needs an allowed command, HTTP transports an http(s) URL. */
  private checked<
    T extends {
      name: string;
      transport: McpTransport;
      command: string | null;
      args: string[];
      url: string | null;
      toolPrefix: string | null;
      timeoutSec: number;
    },
  >(data: T): T {
    if (!(mcpTransports as readonly string[]).includes(data.transport)) {
      throw new GoClawInvalidInputError(`transport must be one of ${mcpTransports.join(', ')}`);
    }
    intIn('timeout_sec', data.timeoutSec, 1, 600);
    if (data.toolPrefix !== null && !/^[a-z0-9_]{0,50}$/.test(data.toolPrefix)) {
      throw new GoClawInvalidInputError('tool_prefix must be at most 50 lower-case letters, digits or "_"');
    }
    if (data.args.length > 100 || data.args.some((a) => a.length > 4096 || a.includes('\0'))) {
      throw new GoClawInvalidInputError('args: at most 100 strings of up to 4096 characters');
    }
    if (data.transport === 'stdio') {
      if (!data.command) throw new GoClawInvalidInputError('command is required for the stdio transport');
      const allowed = this.deps.config.mcpStdioCommands;
      if (!allowed.includes(data.command)) {
        throw new GoClawInvalidInputError(
          allowed.length === 0
            ? 'stdio MCP servers are disabled on this server (ATRIUM_GOCLAW_MCP_STDIO_COMMANDS is empty)'
            : `command must be one of the commands this server allows: ${allowed.map((c) => path.basename(c)).join(', ')}`,
        );
      }
    } else {
      if (!data.url) throw new GoClawInvalidInputError(`url is required for the ${data.transport} transport`);
      let url: URL;
      try {
        url = new URL(data.url);
      } catch {
        throw new GoClawInvalidInputError('url is not a valid URL');
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
        throw new GoClawInvalidInputError('url must be http(s) without credentials');
      }
      if (data.url.length > 2048) throw new GoClawInvalidInputError('url: at most 2048 characters');
    }
    return data;
  }
}
