import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { fetch as undiciFetch } from 'undici';
import {
  OutboundBlockedError,
  type OutboundPolicy,
  pinnedAgent,
  validateOutboundUrl,
} from '../../core/net/outbound.ts';
import { GoClawMcpUnavailableError } from './agent-tools.errors.ts';

/** How to reach one MCP server (secrets already opened). */
export type McpTarget =
  | { transport: 'stdio'; command: string; args: string[]; env: Record<string, string> }
  | { transport: 'sse' | 'streamable-http'; url: string; headers: Record<string, string> };

/** One tool as `tools/list` returned it. */
export interface McpTool {
  name: string;
  description: string | null;
  inputSchema: unknown;
}

const maxTools = 1000;

/**
 * Connects to the server (a child process without a shell, or HTTP through the outbound guard: the address is
 * validated and pinned once, every request must stay on that origin, no redirects), pages through `tools/list`
 * and closes. Everything is bounded by `timeoutMs`.
 */
export async function listMcpTools(target: McpTarget, policy: OutboundPolicy, timeoutMs: number): Promise<McpTool[]> {
  const { transport, close } = await openTransport(target, policy, timeoutMs);
  const client = new Client({ name: 'atrium-goclaw', version: '1.0.0' });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new GoClawMcpUnavailableError(`MCP server did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const work = (async () => {
      await client.connect(transport, { timeout: timeoutMs });
      const tools: McpTool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs });
        for (const t of page.tools) {
          tools.push({ name: t.name, description: t.description ?? null, inputSchema: t.inputSchema });
        }
        cursor = page.nextCursor;
      } while (cursor && tools.length < maxTools);
      return tools.slice(0, maxTools);
    })();
    return await Promise.race([work, deadline]);
  } catch (err) {
    if (err instanceof GoClawMcpUnavailableError) throw err;
    if (err instanceof OutboundBlockedError)
      throw new GoClawMcpUnavailableError(`MCP server url refused: ${err.reason}`);
    throw new GoClawMcpUnavailableError(`MCP server failed: ${describe(err)}`);
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => {});
    await close();
  }
}

async function openTransport(
  target: McpTarget,
  policy: OutboundPolicy,
  timeoutMs: number,
): Promise<{ transport: Transport; close(): Promise<void> }> {
  if (target.transport === 'stdio') {
    const transport = new StdioClientTransport({
      command: target.command,
      args: target.args,
      env: target.env,
      stderr: 'ignore',
    });
    return { transport, close: () => transport.close().catch(() => {}) };
  }
  let validated: Awaited<ReturnType<typeof validateOutboundUrl>>;
  try {
    validated = await validateOutboundUrl(target.url, { ...policy, timeoutMs });
  } catch (err) {
    if (err instanceof OutboundBlockedError)
      throw new GoClawMcpUnavailableError(`MCP server url refused: ${err.reason}`);
    throw err;
  }
  const agent = pinnedAgent(validated, { ...policy, timeoutMs });
  const origin = new URL(target.url).origin;
  const guardedFetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    if (url.origin !== origin) throw new GoClawMcpUnavailableError('MCP server sent the client to another origin');
    const res = await undiciFetch(url, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      redirect: 'manual',
      dispatcher: agent,
    });
    return res as unknown as Response;
  };
  const requestInit = { headers: target.headers };
  const transport =
    target.transport === 'sse'
      ? new SSEClientTransport(new URL(target.url), { requestInit, fetch: guardedFetch })
      : new StreamableHTTPClientTransport(new URL(target.url), { requestInit, fetch: guardedFetch });
  return {
    transport,
    close: async () => {
      await transport.close().catch(() => {});
      await agent.destroy().catch(() => {});
    },
  };
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.slice(0, 300);
}
