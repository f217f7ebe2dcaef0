/**
 * A stdio MCP server for tests (run as `node --import tsx test/kit/goclaw-mcp-stdio.ts`): the stand-in tools,
 * plus one named by the MCP_EXTRA_TOOL environment variable, so a test sees the configured env arrive.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { standInMcpServer, standInTools } from './goclaw-mcp.ts';

const extra = process.env.MCP_EXTRA_TOOL;
const server = standInMcpServer(standInTools(extra ? [{ name: extra, description: 'Named by the environment.' }] : []));
await server.connect(new StdioServerTransport());
