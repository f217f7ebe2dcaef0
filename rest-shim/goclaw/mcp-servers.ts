import { InvalidInputError } from '../../src/core/errors.ts';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestRequest } from '../engine/types.ts';
import {
  type CreateGoClawMcpServerInput,
  GoClawCreateMcpServerDocument,
  GoClawDeleteMcpServerDocument,
  GoClawGetMcpServerDocument,
  GoClawListMcpServersDocument,
  type GoClawMcpServerFieldsFragment,
  GoClawMcpServerToolsDocument,
  type GoClawMcpTransport,
  GoClawUpdateMcpServerDocument,
  type UpdateGoClawMcpServerInput,
} from '../generated/graphql.ts';
import { bool, defined, failure, globalId, int, jsonBody, notFound, object, str, strings } from './tool-body.ts';

const transports: Record<string, GoClawMcpTransport> = {
  stdio: 'stdio' as GoClawMcpTransport,
  sse: 'sse' as GoClawMcpTransport,
  'streamable-http': 'streamable_http' as GoClawMcpTransport,
};

/** The server as GoClaw returns it: snake_case, env/header values and the API key masked as `***`. */
export function toGoClawMcpServer(s: GoClawMcpServerFieldsFragment) {
  return {
    id: s.uuid,
    name: s.name,
    display_name: s.displayName,
    transport: s.transport === 'streamable_http' ? 'streamable-http' : s.transport,
    command: s.command,
    args: s.args,
    env: s.maskedEnv,
    url: s.url,
    headers: s.maskedHeaders,
    api_key: s.hasApiKey ? '***' : '',
    tool_prefix: s.toolPrefix,
    timeout_sec: s.timeoutSec,
    settings: s.settings,
    enabled: s.enabled,
    created_by: s.createdBy,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

function serverInput(req: RestRequest): UpdateGoClawMcpServerInput {
  const b = jsonBody(req);
  const transport = str(b, 'transport');
  if (transport !== undefined && transport !== null && !transports[transport]) {
    throw new InvalidInputError(`transport must be one of ${Object.keys(transports).join(', ')}`);
  }
  return defined({
    name: str(b, 'name'),
    displayName: str(b, 'display_name'),
    transport: transport ? transports[transport] : transport === null ? null : undefined,
    command: str(b, 'command'),
    args: strings(b, 'args'),
    env: object(b, 'env'),
    url: str(b, 'url'),
    headers: object(b, 'headers'),
    apiKey: str(b, 'api_key'),
    toolPrefix: str(b, 'tool_prefix'),
    timeoutSec: int(b, 'timeout_sec'),
    settings: object(b, 'settings'),
    enabled: bool(b, 'enabled'),
  });
}

/** GET /v1/mcp/servers — `{servers: [...]}`, newest first. */
const listServers = graphqlOperation({
  document: GoClawListMcpServersDocument,
  variables: () => ({ first: 1000 }),
  respond: (data) => ({
    status: 200,
    body: { servers: data.goClawMcpServers.edges.map(({ node }) => toGoClawMcpServer(node)) },
  }),
});

/** POST /v1/mcp/servers — 201 with the (masked) server. */
const createServer = graphqlOperation({
  document: GoClawCreateMcpServerDocument,
  variables: (req) => {
    const input = serverInput(req);
    if (!input.name) throw new InvalidInputError('name is required');
    if (!input.transport) throw new InvalidInputError('transport is required (stdio, sse, streamable-http)');
    return { input: input as CreateGoClawMcpServerInput };
  },
  respond: ({ createGoClawMcpServer: r }) =>
    r.__typename === 'MutationCreateGoClawMcpServerSuccess'
      ? { status: 201, body: toGoClawMcpServer(r.data) }
      : failure(r),
});

/** GET /v1/mcp/servers/{id}. */
const getServer = graphqlOperation({
  document: GoClawGetMcpServerDocument,
  variables: (req) => ({ id: globalId('GoClawMcpServer', req) }),
  respond: (data, req) =>
    data.node?.__typename === 'GoClawMcpServer'
      ? { status: 200, body: toGoClawMcpServer(data.node) }
      : notFound('MCP server', req),
});

/** PUT /v1/mcp/servers/{id} — partial update; `{status: "updated"}`. */
const updateServer = graphqlOperation({
  document: GoClawUpdateMcpServerDocument,
  variables: (req) => ({ id: globalId('GoClawMcpServer', req), input: serverInput(req) }),
  respond: ({ updateGoClawMcpServer: r }) =>
    r.__typename === 'MutationUpdateGoClawMcpServerSuccess' ? { status: 200, body: { status: 'updated' } } : failure(r),
});

/** DELETE /v1/mcp/servers/{id} — `{status: "deleted"}`. */
const deleteServer = graphqlOperation({
  document: GoClawDeleteMcpServerDocument,
  variables: (req) => ({ id: globalId('GoClawMcpServer', req) }),
  respond: ({ deleteGoClawMcpServer: r }) =>
    r.__typename === 'MutationDeleteGoClawMcpServerSuccess' ? { status: 200, body: { status: 'deleted' } } : failure(r),
});

/** GET /v1/mcp/servers/{id}/tools — what the server's `tools/list` answers now; 502 when it cannot be reached. */
const listServerTools = graphqlOperation({
  document: GoClawMcpServerToolsDocument,
  variables: (req) => ({ id: globalId('GoClawMcpServer', req) }),
  respond: ({ goClawMcpServerTools: r }) =>
    r.__typename === 'QueryGoClawMcpServerToolsSuccess'
      ? {
          status: 200,
          body: {
            tools: r.data.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema })),
          },
        }
      : failure(r),
});

/** MCP servers: CRUD (viewer reads, operator writes) and live tool discovery. */
export const goclawMcpServerOperations = operationsFor<OperationPolicy>().group(
  'mcp-servers',
  'test/goclaw/mcp-servers.test.ts',
  {
    get_v1_mcp_servers: listServers,
    post_v1_mcp_servers: createServer,
    get_v1_mcp_servers_by_id: getServer,
    put_v1_mcp_servers_by_id: updateServer,
    delete_v1_mcp_servers_by_id: deleteServer,
    get_v1_mcp_servers_by_id_tools: listServerTools,
  },
);
