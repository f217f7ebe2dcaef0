import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractCaller, goclawCall, goclawKey } from '../kit/goclaw.ts';
import { startHttpMcpServer } from '../kit/goclaw-mcp.ts';

let t: TestApp;
let mcp: Awaited<ReturnType<typeof startHttpMcpServer>>;
let operator: string;
let viewer: string;
let call: Awaited<ReturnType<typeof contractCaller>>;
const stdioScript = path.resolve(import.meta.dirname, '../kit/goclaw-mcp-stdio.ts');

beforeAll(async () => {
  [t, mcp] = await Promise.all([
    startTestApp({ ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true', ATRIUM_GOCLAW_MCP_STDIO_COMMANDS: process.execPath }),
    startHttpMcpServer(),
  ]);
  call = await contractCaller(t);
  [operator, viewer] = await Promise.all([goclawKey(t, ['operator.write']), goclawKey(t, ['operator.read'])]);
});
afterAll(async () => {
  await Promise.all([t?.close(), mcp?.close()]);
});

describe('GoClaw /v1/mcp/servers', () => {
  it('creates a streamable-HTTP server with sealed, masked secrets and lists what tools/list really returns', async () => {
    const created = await call('POST', '/v1/mcp/servers', {
      token: operator,
      body: {
        name: 'calc-http',
        display_name: 'Calculator',
        transport: 'streamable-http',
        url: mcp.url,
        headers: { 'x-team': 'blue' },
        api_key: 'sk-mcp-secret',
        tool_prefix: 'calc_',
        timeout_sec: 20,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'calc-http',
      transport: 'streamable-http',
      url: mcp.url,
      headers: { 'x-team': '***' },
      api_key: '***',
      tool_prefix: 'calc_',
      timeout_sec: 20,
      enabled: true,
    });
    expect(JSON.stringify(created.body)).not.toMatch(/sk-mcp-secret|blue/);

    const tools = await call('GET', `/v1/mcp/servers/${created.body.id}/tools`, { token: viewer });
    expect(tools.status).toBe(200);
    // Two pages of one tool each on the stand-in: the client followed the cursor.
    expect(tools.body.tools.map((x: { name: string }) => x.name)).toEqual(['calc_add', 'calc_echo']);
    expect(tools.body.tools[0].input_schema).toMatchObject({ type: 'object', required: ['a', 'b'] });
    // The stored secrets reached the server, opened.
    const last = mcp.headers.at(-1);
    expect(last?.authorization).toBe('Bearer sk-mcp-secret');
    expect(last?.['x-team']).toBe('blue');

    const list = await call('GET', '/v1/mcp/servers', { token: viewer });
    expect(list.body.servers.find((s: { id: string }) => s.id === created.body.id)).toMatchObject({ api_key: '***' });
    const one = await call('GET', `/v1/mcp/servers/${created.body.id}`, { token: viewer });
    expect(one.body).toMatchObject({ id: created.body.id, headers: { 'x-team': '***' } });
  });

  it('runs stdio servers without a shell, from the allowed commands only, with the configured env', async () => {
    const created = await call('POST', '/v1/mcp/servers', {
      token: operator,
      body: {
        name: 'calc-stdio',
        transport: 'stdio',
        command: process.execPath,
        args: ['--import', 'tsx', stdioScript],
        env: { MCP_EXTRA_TOOL: 'from_env' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.env).toEqual({ MCP_EXTRA_TOOL: '***' });
    const tools = await call('GET', `/v1/mcp/servers/${created.body.id}/tools`, { token: viewer });
    expect(tools.status).toBe(200);
    // No tool_prefix: upstream's derived one, mcp_<server>__ (what agent runs offer).
    expect(tools.body.tools.map((x: { name: string }) => x.name)).toEqual([
      'mcp_calc_stdio__add',
      'mcp_calc_stdio__echo',
      'mcp_calc_stdio__from_env',
    ]);

    // "***" keeps the stored value; a new value replaces it.
    const kept = await call('PUT', `/v1/mcp/servers/${created.body.id}`, {
      token: operator,
      body: { env: { MCP_EXTRA_TOOL: '***' }, display_name: 'Stdio calc' },
    });
    expect(kept).toMatchObject({ status: 200, body: { status: 'updated' } });
    const again = await goclawCall(t, 'GET', `/v1/mcp/servers/${created.body.id}/tools`, { token: viewer });
    expect(again.body.tools.map((x: { name: string }) => x.name)).toContain('mcp_calc_stdio__from_env');
    await call('PUT', `/v1/mcp/servers/${created.body.id}`, {
      token: operator,
      body: { env: { MCP_EXTRA_TOOL: 'renamed' } },
    });
    const renamed = await goclawCall(t, 'GET', `/v1/mcp/servers/${created.body.id}/tools`, { token: viewer });
    expect(renamed.body.tools.map((x: { name: string }) => x.name)).toContain('mcp_calc_stdio__renamed');

    const shell = await call('POST', '/v1/mcp/servers', {
      token: operator,
      body: { name: 'sh', transport: 'stdio', command: '/bin/sh', args: ['-c', 'id'] },
    });
    expect(shell.status).toBe(400);
    expect(shell.body.error).toMatch(/command must be one of/);
  });

  it('refuses bad input, wrong roles, and reports unreachable or guarded servers as 502', async () => {
    const bad = [
      { name: 'x', transport: 'carrier-pigeon' },
      { name: 'Bad Name', transport: 'sse', url: mcp.url },
      { name: 'nourl', transport: 'streamable-http' },
      { name: 'ftp', transport: 'sse', url: 'ftp://example.com/' },
      { name: 'tmo', transport: 'sse', url: mcp.url, timeout_sec: 0 },
      { name: 5, transport: 'sse' },
      { transport: 'sse', url: mcp.url },
    ];
    for (const body of bad) {
      const res = await call('POST', '/v1/mcp/servers', { token: operator, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(typeof res.body.error).toBe('string');
    }
    expect((await call('POST', '/v1/mcp/servers', { token: operator, body: [1] })).status).toBe(400);
    const dup = await call('POST', '/v1/mcp/servers', {
      token: operator,
      body: { name: 'calc-http', transport: 'sse', url: mcp.url },
    });
    expect(dup.status).toBe(409);

    const denied = await call('POST', '/v1/mcp/servers', {
      token: viewer,
      body: { name: 'by-viewer', transport: 'sse', url: mcp.url },
    });
    expect(denied.status).toBe(403);
    expect((await call('GET', '/v1/mcp/servers')).status).toBe(401);

    const dead = await call('POST', '/v1/mcp/servers', {
      token: operator,
      body: { name: 'dead', transport: 'streamable-http', url: 'http://127.0.0.1:1/mcp', timeout_sec: 5 },
    });
    const tools = await call('GET', `/v1/mcp/servers/${dead.body.id}/tools`, { token: viewer });
    expect(tools.status).toBe(502);
    expect(tools.body.error).toMatch(/MCP server/);

    const metadata = await call('POST', '/v1/mcp/servers', {
      token: operator,
      body: { name: 'metadata', transport: 'streamable-http', url: 'http://169.254.169.254/latest', timeout_sec: 5 },
    });
    const guarded = await call('GET', `/v1/mcp/servers/${metadata.body.id}/tools`, { token: viewer });
    expect(guarded.status).toBe(502);
    expect(guarded.body.error).toMatch(/refused/);

    expect((await call('GET', '/v1/mcp/servers/00000000-0000-4000-8000-000000000000', { token: viewer })).status).toBe(
      404,
    );
    expect((await call('GET', '/v1/mcp/servers/not-a-uuid', { token: viewer })).status).toBe(400);
    const del = await call('DELETE', `/v1/mcp/servers/${dead.body.id}`, { token: operator });
    expect(del).toMatchObject({ status: 200, body: { status: 'deleted' } });
    expect((await call('DELETE', `/v1/mcp/servers/${dead.body.id}`, { token: operator })).status).toBe(404);
  });
});
