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
 * validated and pinned once, every request must stay on that origin, no redirects), runs `work` with the connected
 * SDK client and closes. Everything is bounded by `timeoutMs`, and by `signal` when given.
 */
async function withMcpClient<T>(
  target: McpTarget,
  policy: OutboundPolicy,
  timeoutMs: number,
  work: (client: Client) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) throw new GoClawMcpUnavailableError('aborted');
  const { transport, close } = await openTransport(target, policy, timeoutMs);
  const client = new Client({ name: 'atrium-goclaw', version: '1.0.0' });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new GoClawMcpUnavailableError(`MCP server did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    onAbort = () => reject(new GoClawMcpUnavailableError('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const run = (async () => {
      await client.connect(transport, { timeout: timeoutMs });
      return work(client);
    })();
    return await Promise.race([run, deadline]);
  } catch (err) {
    if (err instanceof GoClawMcpUnavailableError) throw err;
    if (err instanceof OutboundBlockedError)
      throw new GoClawMcpUnavailableError(`MCP server url refused: ${err.reason}`);
    throw new GoClawMcpUnavailableError(`MCP server failed: ${describe(err)}`);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    await client.close().catch(() => {});
    await close();
  }
}

/** What the server's `tools/list` answers, following its cursor (at most 1000 tools). */
export function listMcpTools(target: McpTarget, policy: OutboundPolicy, timeoutMs: number): Promise<McpTool[]> {
  return withMcpClient(target, policy, timeoutMs, async (client) => {
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
  });
}

/** One `tools/call` answer: its text content (other content kinds summarised) and whether the server flagged it. */
export interface McpCallResult {
  text: string;
  isError: boolean;
}

/** Calls one tool (`tools/call`) with its own, unprefixed name. */
export function callMcpTool(
  target: McpTarget,
  policy: OutboundPolicy,
  timeoutMs: number,
  call: { name: string; arguments: Record<string, unknown> },
  signal?: AbortSignal,
): Promise<McpCallResult> {
  return withMcpClient(
    target,
    policy,
    timeoutMs,
    async (client) => {
      const res = await client.callTool({ name: call.name, arguments: call.arguments }, undefined, {
        timeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
      const parts: string[] = [];
      for (const c of (res.content ?? []) as { type: string; text?: string; mimeType?: string }[]) {
        if (c.type === 'text' && typeof c.text === 'string') parts.push(c.text);
        else parts.push(`[${c.type}${c.mimeType ? ` ${c.mimeType}` : ''} content]`);
      }
      if (parts.length === 0 && res.structuredContent !== undefined) parts.push(JSON.stringify(res.structuredContent));
      return { text: parts.join('\n'), isError: res.isError === true };
    },
    signal,
  );
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
