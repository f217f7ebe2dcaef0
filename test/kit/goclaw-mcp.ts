import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** The tools the stand-in MCP servers list: two pages of `tools/list` (the client must follow the cursor). */
export function standInTools(extra: { name: string; description: string }[] = []) {
  return [
    {
      name: 'add',
      description: 'Adds two numbers.',
      inputSchema: {
        type: 'object',
        properties: { a: { type: 'number' }, b: { type: 'number' } },
        required: ['a', 'b'],
      },
    },
    {
      name: 'echo',
      description: 'Echoes its text.',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
    },
    ...extra.map((e) => ({ ...e, inputSchema: { type: 'object', properties: {} } })),
  ];
}

/** A real MCP server (the SDK's server side) over a transport, answering tools/list in pages of one. */
export function standInMcpServer(tools: ReturnType<typeof standInTools>): Server {
  const server = new Server({ name: 'stand-in', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    const at = request.params?.cursor ? Number(request.params.cursor) : 0;
    return { tools: tools.slice(at, at + 1), ...(at + 1 < tools.length ? { nextCursor: String(at + 1) } : {}) };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    const text = request.params.name === 'add' ? String(Number(args.a) + Number(args.b)) : String(args.text ?? '');
    return { content: [{ type: 'text', text }] };
  });
  return server;
}

/** A streamable-HTTP MCP server on loopback (stateless: one SDK transport per request); records request headers. */
export async function startHttpMcpServer(): Promise<{
  url: string;
  headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const headers: IncomingHttpHeaders[] = [];
  const http = createServer(async (req, res) => {
    headers.push(req.headers);
    const server = standInMcpServer(standInTools());
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    headers,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
