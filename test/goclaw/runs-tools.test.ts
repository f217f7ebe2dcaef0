import { spawnSync } from 'node:child_process';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TestGrantGoClawMcpServerDocument,
  TestGrantGoClawSkillDocument,
  TestRevokeGoClawMcpServerGrantDocument,
  TestRevokeGoClawSkillGrantDocument,
} from '../generated/goclaw.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { goclawClient, goclawKey } from '../kit/goclaw.ts';
import { startHttpMcpServer } from '../kit/goclaw-mcp.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';

/*
 * The tool set of a real agent run, end to end: a scripted model (the LLM stand-in) asks for tools, the run
 * executes them for real and feeds the answers back. MCP tools come from a real MCP server on loopback (granted to
 * the agent, allow/deny applied), skills from an uploaded ZIP (granted), run_js from the mcp-v8 sandbox, exec from
 * bubblewrap. CI sets ATRIUM_REQUIRE_SERVICES=1: there a missing or broken bwrap fails this file instead of
 * skipping its exec tests.
 */
const bwrapWorks =
  spawnSync('bwrap', ['--unshare-all', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '/bin/true'])
    .status === 0;
if (!bwrapWorks && process.env.ATRIUM_REQUIRE_SERVICES === '1') {
  throw new Error('bubblewrap (bwrap) is missing or cannot create namespaces, but ATRIUM_REQUIRE_SERVICES=1');
}

let t: TestApp;
let llm: LlmStandin;
let mcp: Awaited<ReturnType<typeof startHttpMcpServer>>;
let call: ReturnType<typeof goclawClient>;
let operator: string;
let agentId: string;

/** Wakes the agent with a message (the run executes every tool call the script asks for). */
async function wake(message: string, agent = 'toolbox') {
  return call('POST', `/v1/agents/${agent}/wake`, { token: operator, body: { message } });
}

/** The OpenAI-format request the stand-in got `back` requests ago. */
const request = (back = 1) => llm.requests.filter((r) => r.format === 'openai').at(-back)?.body;
const toolNames = (body: any): string[] => (body?.tools ?? []).map((x: any) => x.function.name).sort();
const toolAnswers = (body: any): { content: string }[] =>
  (body?.messages ?? []).filter((m: any) => m.role === 'tool').map((m: any) => ({ content: m.content }));

beforeAll(async () => {
  llm = await startLlmStandin();
  mcp = await startHttpMcpServer();
  t = await startTestApp({ ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true' });
  call = goclawClient(t);
  operator = await goclawKey(t, ['operator.write']);
  expect(
    (
      await call('POST', '/v1/providers', {
        body: { name: 'standin', provider_type: 'openai_compat', api_base: llm.openaiBase },
      })
    ).status,
  ).toBe(201);
  const agent = await call('POST', '/v1/agents', {
    headers: { 'x-goclaw-user-id': 'ops' },
    body: { name: 'toolbox', provider: 'standin', model: 'standin-small', system_prompt: 'You are a toolbox.' },
  });
  expect(agent.status).toBe(201);
  agentId = agent.body.id;
});
afterAll(async () => {
  await t?.close();
  await mcp?.close();
  await llm?.close();
});

describe('MCP tools in runs', () => {
  it('offers a granted server’s tools (prefixed, allow/deny applied) and calls them through tools/call', async () => {
    const server = await call('POST', '/v1/mcp/servers', {
      token: operator,
      body: { name: 'calc-http', transport: 'streamable-http', url: mcp.url },
    });
    expect(server.status).toBe(201);
    const serverId = encodeGlobalID('GoClawMcpServer', server.body.id);

    // Not granted yet: the run offers no MCP tool.
    llm.script({ text: 'nothing to do' });
    expect((await wake('hi')).body.content).toBe('nothing to do');
    expect(toolNames(request()).filter((n) => n.startsWith('mcp_'))).toEqual([]);

    const granted = await gql(
      t.baseUrl,
      TestGrantGoClawMcpServerDocument,
      { serverId, input: { agentId, toolDeny: ['echo'] } },
      operator,
    );
    expect(granted.body.errors).toBeUndefined();
    expect(granted.body.data?.grantGoClawMcpServer).toMatchObject({
      __typename: 'MutationGrantGoClawMcpServerSuccess',
      data: { agentId, enabled: true, toolAllow: [], toolDeny: ['echo'], server: { agentGrants: { totalCount: 1 } } },
    });

    llm.script(
      { toolCalls: [{ name: 'mcp_calc_http__add', arguments: { a: 2, b: 40 } }] },
      { toolCalls: [{ name: 'mcp_calc_http__echo', arguments: { text: 'denied' } }] },
      { text: 'The sum is 42.' },
    );
    const woke = await wake('add 2 and 40');
    expect(woke.status).toBe(200);
    expect(woke.body.content).toBe('The sum is 42.');
    // Upstream's derived prefix (no tool_prefix set): mcp_<server>__<tool>; echo is denied by the grant.
    expect(toolNames(request(3))).toContain('mcp_calc_http__add');
    expect(toolNames(request(3))).not.toContain('mcp_calc_http__echo');
    const answers = toolAnswers(request());
    expect(answers[0]?.content).toBe('42');
    expect(answers[1]?.content).toMatch(/not available to this agent/);

    // With tool_prefix set, that prefix names the tools; allow lists narrow them.
    await call('PUT', `/v1/mcp/servers/${server.body.id}`, { token: operator, body: { tool_prefix: 'calc_' } });
    await gql(
      t.baseUrl,
      TestGrantGoClawMcpServerDocument,
      { serverId, input: { agentId, toolAllow: ['echo'], toolDeny: [] } },
      operator,
    );
    llm.script({ toolCalls: [{ name: 'calc_echo', arguments: { text: 'over MCP' } }] }, { text: 'done' });
    expect((await wake('echo')).body.content).toBe('done');
    expect(toolNames(request(2)).filter((n) => n.startsWith('calc_'))).toEqual(['calc_echo']);
    expect(toolAnswers(request())[0]?.content).toBe('over MCP');

    // Revoked: gone again; revoking twice is not found.
    const revoked = await gql(t.baseUrl, TestRevokeGoClawMcpServerGrantDocument, { serverId, agentId }, operator);
    expect(revoked.body.data?.revokeGoClawMcpServerGrant.__typename).toBe('MutationRevokeGoClawMcpServerGrantSuccess');
    const again = await gql(t.baseUrl, TestRevokeGoClawMcpServerGrantDocument, { serverId, agentId }, operator);
    expect(again.body.data?.revokeGoClawMcpServerGrant).toMatchObject({ __typename: 'GoClawNotFoundError' });
    llm.script({ text: 'plain' });
    await wake('hi');
    expect(toolNames(request()).filter((n) => n.startsWith('calc_'))).toEqual([]);
  });

  it('refuses bad grants (not a UUID, too many names) with typed errors', async () => {
    const server = await call('POST', '/v1/mcp/servers', {
      token: operator,
      body: { name: 'calc-bad', transport: 'streamable-http', url: mcp.url },
    });
    const serverId = encodeGlobalID('GoClawMcpServer', server.body.id);
    const notUuid = await gql(
      t.baseUrl,
      TestGrantGoClawMcpServerDocument,
      { serverId, input: { agentId: 'toolbox' } },
      operator,
    );
    expect(notUuid.body.data?.grantGoClawMcpServer).toMatchObject({
      __typename: 'GoClawInvalidInputError',
      message: expect.stringMatching(/UUID/),
    });
    const many = await gql(
      t.baseUrl,
      TestGrantGoClawMcpServerDocument,
      { serverId, input: { agentId, toolAllow: Array.from({ length: 501 }, (_, i) => `t${i}`) } },
      operator,
    );
    expect(many.body.data?.grantGoClawMcpServer.__typename).toBe('GoClawInvalidInputError');
  });
});

describe('skills in runs', () => {
  it('lists granted skills in the system prompt and returns their SKILL.md through read_skill', async () => {
    const md = '---\nname: Haiku Writer\ndescription: Writes <haiku> in 5-7-5.\n---\n\nCount syllables: 5, 7, 5.\n';
    const form = new FormData();
    form.append('file', new Blob([zipSync({ 'SKILL.md': strToU8(md) })], { type: 'application/zip' }), 's.zip');
    const up = await fetch(`${t.baseUrl}/goclaw/v1/skills`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'x-goclaw-user-id': 'ops' },
      body: form,
    });
    expect(up.status).toBe(201);

    llm.script({ text: 'no skills yet' });
    await wake('write a haiku');
    expect(JSON.stringify(request().messages)).not.toContain('available_skills');
    expect(toolNames(request())).not.toContain('read_skill');

    const granted = await gql(t.baseUrl, TestGrantGoClawSkillDocument, { idOrSlug: 'haiku-writer', agentId }, operator);
    expect(granted.body.data?.grantGoClawSkill).toMatchObject({ data: { agentId, skill: { slug: 'haiku-writer' } } });

    llm.script(
      { toolCalls: [{ name: 'read_skill', arguments: { slug: 'haiku-writer' } }] },
      { toolCalls: [{ name: 'read_skill', arguments: { slug: 'not-granted' } }] },
      { text: 'old pond / a frog jumps in / water sound' },
    );
    expect((await wake('write a haiku')).body.content).toBe('old pond / a frog jumps in / water sound');
    const first = request(3);
    const system = first.messages.filter((m: any) => m.role === 'system').map((m: any) => m.content);
    expect(system[0]).toBe('You are a toolbox.');
    expect(system.join('\n')).toContain('<available_skills>');
    expect(system.join('\n')).toContain('<slug>haiku-writer</slug>');
    expect(system.join('\n')).toContain('Writes &lt;haiku&gt; in 5-7-5.');
    expect(toolNames(first)).toContain('read_skill');
    const answers = toolAnswers(request());
    expect(answers[0]?.content).toBe(md);
    expect(answers[1]?.content).toMatch(/^error: .*not-granted/);

    // The agent's tools_config deny list removes the tool and its prompt section.
    await call('PUT', `/v1/agents/${agentId}`, {
      headers: { 'x-goclaw-user-id': 'ops' },
      body: { tools_config: { deny: ['read_skill'] } },
    });
    llm.script({ text: 'denied' });
    await wake('write a haiku');
    expect(JSON.stringify(request().messages)).not.toContain('available_skills');
    await call('PUT', `/v1/agents/${agentId}`, {
      headers: { 'x-goclaw-user-id': 'ops' },
      body: { tools_config: {} },
    });

    await gql(t.baseUrl, TestRevokeGoClawSkillGrantDocument, { idOrSlug: 'haiku-writer', agentId }, operator);
    llm.script({ text: 'revoked' });
    await wake('write a haiku');
    expect(toolNames(request())).not.toContain('read_skill');
  });
});

describe('run_js through the one sandbox call', () => {
  it('runs the code in mcp-v8 and returns status, result and console output', async () => {
    llm.script(
      { toolCalls: [{ name: 'run_js', arguments: { code: 'console.log("hello from v8"); 6 * 7' } }] },
      { text: 'ran' },
    );
    expect((await wake('compute')).body.content).toBe('ran');
    const answer = JSON.parse(toolAnswers(request())[0]?.content ?? '{}');
    expect(answer).toMatchObject({ status: 'completed', result: '42', error: null });
    expect(answer.output).toContain('hello from v8');
  });

  it('fails the run (saying which tool source) when the run_js settings cannot be read', async () => {
    const tools = t.app.services.agenttools.tools;
    const original = tools.getBuiltin.bind(tools);
    tools.getBuiltin = async () => {
      throw new Error('settings table unreachable');
    };
    try {
      const before = llm.requests.length;
      const woke = await wake('compute');
      expect(woke.status).toBe(502);
      expect(woke.body.error).toBe("the run's tools are unavailable (runtime): internal error");
      // The model was never called with a silently reduced tool set.
      expect(llm.requests.length).toBe(before);
    } finally {
      tools.getBuiltin = original;
    }
  });
});

describe('exec in bubblewrap', () => {
  it.skipIf(!bwrapWorks)(
    'runs commands in the sandbox: no network, no host files, a writable workspace, time and output limits',
    async () => {
      expect(t.app.services.agenttools.sandbox.state()).toMatchObject({ available: true });
      llm.script({ text: 'exec is off' });
      await wake('run something');
      expect(toolNames(request())).not.toContain('exec');
      const enabled = await call('PUT', '/v1/tools/builtin/exec', {
        token: operator,
        body: { enabled: true, settings: { timeout_seconds: 2, max_output_bytes: 4096 } },
      });
      expect(enabled.status).toBe(200);

      const probe = [
        'echo written > note.txt && cat note.txt',
        'pwd',
        `test -e ${process.cwd()} && echo host-visible || echo host-hidden`,
        'ls /sys/class/net 2>/dev/null | tr "\\n" " "; echo',
        'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | tr "\\n" ,; echo',
        'touch /usr/x 2>/dev/null && echo usr-writable || echo usr-readonly',
      ].join('; ');
      llm.script(
        { toolCalls: [{ name: 'exec', arguments: { command: probe } }] },
        { toolCalls: [{ name: 'exec', arguments: { command: 'sleep 30' } }] },
        { toolCalls: [{ name: 'exec', arguments: { command: 'yes' } }] },
        { toolCalls: [{ name: 'exec', arguments: { command: 'exit 3' } }] },
        { text: 'sandboxed' },
      );
      const started = Date.now();
      expect((await wake('probe the sandbox')).body.content).toBe('sandboxed');
      expect(Date.now() - started).toBeLessThan(20_000);
      const [probed, slept, flood, exited] = toolAnswers(request()).map((a) => JSON.parse(a.content));
      expect(probed.exit_code).toBe(0);
      const lines = probed.stdout.split('\n');
      expect(lines[0]).toBe('written');
      expect(lines[1]).toBe('/workspace');
      expect(lines[2]).toBe('host-hidden');
      // Only loopback in the sandbox's own network namespace.
      expect(lines[4]).toBe('lo,');
      expect(lines[5]).toBe('usr-readonly');
      expect(slept).toMatchObject({ exit_code: null, signal: 'SIGKILL', timed_out: true });
      expect(flood).toMatchObject({ output_truncated: true });
      expect(flood.stdout.length).toBeLessThanOrEqual(4096);
      expect(exited).toMatchObject({ exit_code: 3 });
    },
    60_000,
  );

  it('refuses every command on an instance without a working bwrap (never runs it on the host)', async () => {
    const other = await startTestApp({
      ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
      ATRIUM_GOCLAW_BWRAP: '/nonexistent/bwrap',
    });
    try {
      const c = goclawClient(other);
      expect(other.app.services.agenttools.sandbox.state()).toEqual({
        available: false,
        reason: '/nonexistent/bwrap is not installed',
      });
      await c('POST', '/v1/providers', {
        body: { name: 'standin', provider_type: 'openai_compat', api_base: llm.openaiBase },
      });
      await c('POST', '/v1/agents', {
        headers: { 'x-goclaw-user-id': 'ops' },
        body: { name: 'shell', provider: 'standin', model: 'standin-small' },
      });
      await c('PUT', '/v1/tools/builtin/exec', { body: { enabled: true } });
      llm.script(
        { toolCalls: [{ name: 'exec', arguments: { command: 'touch /tmp/atrium-exec-escaped' } }] },
        { text: 'refused' },
      );
      const woke = await c('POST', '/v1/agents/shell/wake', { body: { message: 'run it' } });
      expect(woke.body.content).toBe('refused');
      expect(toolAnswers(request())[0]?.content).toBe(
        'error: exec is refused: no bubblewrap sandbox on this server (/nonexistent/bwrap is not installed); ' +
          'commands never run on the host',
      );
      expect(spawnSync('test', ['-e', '/tmp/atrium-exec-escaped']).status).not.toBe(0);
    } finally {
      await other.close();
    }
  });
});
