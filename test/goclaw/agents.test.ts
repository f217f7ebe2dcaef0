import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { goclawClient, goclawContract, goclawKey } from '../kit/goclaw.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';

let t: TestApp;
let llm: LlmStandin;
let call: ReturnType<typeof goclawClient>;
let operator: string;
let viewer: string;
const contract = await goclawContract();
const alice = { 'x-goclaw-user-id': 'alice' };
const bob = { 'x-goclaw-user-id': 'bob' };

beforeAll(async () => {
  llm = await startLlmStandin();
  t = await startTestApp({ ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true' });
  call = goclawClient(t, contract);
  operator = await goclawKey(t, ['operator.write']);
  viewer = await goclawKey(t, ['operator.read']);
  for (const [name, type, base] of [
    ['p-openai', 'openai_compat', llm.openaiBase],
    ['p-anthropic', 'anthropic_native', llm.anthropicBase],
    ['p-gemini', 'gemini_native', llm.geminiBase],
  ] as const) {
    const res = await call('POST', '/v1/providers', {
      body: { name, provider_type: type, api_base: base, api_key: 'k' },
    });
    expect(res.status).toBe(201);
  }
  // A real tool the runs can call (the agentTools module registers its own sources the same way).
  t.app.services.goclaw.tools.add({
    name: 'test-math',
    tools: () => [
      {
        name: 'add',
        description: 'Adds two numbers.',
        parameters: {
          type: 'object',
          properties: { a: { type: 'number' }, b: { type: 'number' } },
          required: ['a', 'b'],
        },
        execute: async (args) => String(Number(args.a) + Number(args.b)),
      },
    ],
  });
});
afterAll(async () => {
  await t?.close();
  await llm?.close();
});

describe('GoClaw agents', () => {
  it('creates, lists, reads, updates and deletes agents, owner-only', async () => {
    const created = await call('POST', '/v1/agents', {
      token: operator,
      headers: alice,
      body: {
        name: 'helper',
        display_name: 'Helper',
        provider: 'p-openai',
        model: 'standin-small',
        system_prompt: 'Be brief.',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'helper',
      agent_key: 'helper',
      owner_id: 'alice',
      agent_type: 'open',
      status: 'active',
      system_prompt: 'Be brief.',
    });
    const id = created.body.id as string;

    expect(
      (await call('POST', '/v1/agents', { token: operator, headers: alice, body: { name: 'helper' } })).status,
    ).toBe(409);
    expect(
      (await call('POST', '/v1/agents', { token: operator, headers: alice, body: { name: 'Bad Slug' } })).status,
    ).toBe(400);
    expect((await call('POST', '/v1/agents', { token: operator, body: { name: 'no-owner' } })).status).toBe(400);
    expect(
      (await call('POST', '/v1/agents', { token: viewer, headers: alice, body: { name: 'by-viewer' } })).status,
    ).toBe(401);
    await call('POST', '/v1/agents', {
      token: operator,
      headers: bob,
      body: { name: 'bobs', provider: 'p-openai', model: 'm' },
    });

    const mine = await call('GET', '/v1/agents', { token: viewer, headers: alice });
    expect(mine.status).toBe(200);
    expect(mine.body.agents.map((a: { name: string }) => a.name)).toEqual(['helper']);
    const all = await call('GET', '/v1/agents', { headers: alice });
    expect(all.body.agents.map((a: { name: string }) => a.name).sort()).toEqual(['bobs', 'helper']);
    expect((await call('GET', '/v1/agents', { token: viewer })).status).toBe(400);

    expect((await call('GET', `/v1/agents/${id}`, { token: viewer, headers: alice })).body.id).toBe(id);
    expect((await call('GET', '/v1/agents/helper', { token: viewer, headers: alice })).body.id).toBe(id);
    expect((await call('GET', '/v1/agents/helper', { token: viewer, headers: bob })).status).toBe(403);
    expect((await call('GET', '/v1/agents/nobody', { token: viewer, headers: alice })).status).toBe(404);

    expect(
      (await call('PUT', '/v1/agents/helper', { token: operator, headers: bob, body: { model: 'x' } })).status,
    ).toBe(403);
    const updated = await call('PUT', '/v1/agents/helper', {
      token: operator,
      headers: alice,
      body: { description: 'Answers briefly.' },
    });
    expect(updated).toMatchObject({ status: 200, body: { ok: 'true' } });
    const after = await call('GET', `/v1/agents/${id}`, { token: viewer, headers: alice });
    expect(after.body).toMatchObject({
      description: 'Answers briefly.',
      model: 'standin-small',
      system_prompt: 'Be brief.',
    });
    expect(
      (await call('PUT', '/v1/agents/helper', { token: operator, headers: alice, body: { agent_type: 'other' } }))
        .status,
    ).toBe(400);

    expect((await call('DELETE', '/v1/agents/bobs', { token: operator, headers: alice })).status).toBe(403);
    expect(await call('DELETE', '/v1/agents/bobs', { token: operator, headers: bob })).toMatchObject({
      status: 200,
      body: { ok: 'true' },
    });
    expect((await call('GET', '/v1/agents/bobs', { headers: bob })).status).toBe(404);
  });

  it('wakes an agent: a real run through the provider, its answer, run id and usage', async () => {
    llm.script({ text: 'Hello from the model.', usage: { input: 12, output: 5 } });
    const woke = await call('POST', '/v1/agents/helper/wake', {
      token: operator,
      body: { message: 'Say hello', user_id: 'alice' },
    });
    expect(woke.status).toBe(200);
    expect(woke.body).toMatchObject({
      content: 'Hello from the model.',
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    });
    const sent = llm.requests.at(-1);
    expect(sent?.body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hello' },
    ]);
    const trace = await call('GET', `/v1/traces/${woke.body.run_id}`);
    expect(trace.body.trace).toMatchObject({
      status: 'completed',
      channel: 'wake',
      user_id: 'alice',
      total_input_tokens: 12,
      total_output_tokens: 5,
    });

    expect((await call('POST', '/v1/agents/helper/wake', { token: operator, body: { message: '' } })).status).toBe(400);
    expect((await call('POST', '/v1/agents/nobody/wake', { token: operator, body: { message: 'x' } })).status).toBe(
      404,
    );
    expect((await call('POST', '/v1/agents/helper/wake', { token: viewer, body: { message: 'x' } })).status).toBe(403);
    llm.script({ status: 503, error: 'overloaded' });
    const failed = await call('POST', '/v1/agents/helper/wake', { token: operator, body: { message: 'x' } });
    expect(failed.status).toBe(502);
    expect(failed.body.error).toContain('overloaded');
  });

  it('runs multi-turn tool calls in each wire format, feeding results back to the model', async () => {
    for (const provider of ['p-openai', 'p-anthropic', 'p-gemini']) {
      const name = `calc-${provider.slice(2)}`;
      const made = await call('POST', '/v1/agents', {
        headers: alice,
        body: { name, provider, model: 'standin-small' },
      });
      expect(made.status).toBe(201);
      llm.script(
        { toolCalls: [{ name: 'add', arguments: { a: 2, b: 3 } }], usage: { input: 10, output: 4 } },
        { text: 'The sum is 5.', usage: { input: 20, output: 6 } },
      );
      const before = llm.requests.length;
      const woke = await call('POST', `/v1/agents/${name}/wake`, { body: { message: 'What is 2+3?' } });
      expect(woke.status).toBe(200);
      expect(woke.body.content).toBe('The sum is 5.');
      expect(woke.body.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 10 });
      const [first, second] = llm.requests.slice(before);
      const fed = JSON.stringify(second?.body);
      if (provider === 'p-openai') {
        expect(first?.body.tools.map((x: any) => x.function.name)).toEqual([
          'run_js',
          'memory_search',
          'memory_get',
          'memory_save',
          'knowledge_graph_search',
          'add',
        ]);
        expect(second?.body.messages.at(-1)).toMatchObject({ role: 'tool', content: '5' });
      } else if (provider === 'p-anthropic') {
        expect(first?.body.tools.map((x: any) => x.name)).toEqual([
          'run_js',
          'memory_search',
          'memory_get',
          'memory_save',
          'knowledge_graph_search',
          'add',
        ]);
        expect(second?.body.messages.at(-1).content[0]).toMatchObject({ type: 'tool_result', content: '5' });
      } else {
        expect(first?.body.tools[0].functionDeclarations.map((x: any) => x.name)).toEqual([
          'run_js',
          'memory_search',
          'memory_get',
          'memory_save',
          'knowledge_graph_search',
          'add',
        ]);
        expect(second?.body.contents.at(-1).parts[0].functionResponse).toMatchObject({
          name: 'add',
          response: { result: 5 },
        });
      }
      expect(fed).toContain('add');
      const trace = await call('GET', `/v1/traces/${woke.body.run_id}`);
      expect(trace.body.spans.map((s: { span_type: string }) => s.span_type)).toEqual([
        'llm_call',
        'tool_call',
        'llm_call',
      ]);
      expect(trace.body.trace).toMatchObject({ llm_call_count: 2, tool_call_count: 1 });
    }
  });

  it('caps iterations and applies the agent’s tool deny list', async () => {
    await call('POST', '/v1/agents', {
      headers: alice,
      body: { name: 'looper', provider: 'p-openai', model: 'm', max_tool_iterations: 2 },
    });
    llm.script(
      { toolCalls: [{ name: 'add', arguments: { a: 1, b: 1 } }] },
      { toolCalls: [{ name: 'add', arguments: { a: 1, b: 2 } }] },
    );
    const capped = await call('POST', '/v1/agents/looper/wake', { body: { message: 'loop' } });
    expect(capped.status).toBe(502);
    expect(capped.body.error).toContain('iteration cap');

    await call('POST', '/v1/agents', {
      headers: alice,
      body: { name: 'no-math', provider: 'p-openai', model: 'm', tools_config: { deny: ['add'] } },
    });
    const woke = await call('POST', '/v1/agents/no-math/wake', { body: { message: 'hi' } });
    expect(woke.status).toBe(200);
    expect(llm.requests.at(-1)?.body.tools.map((x: any) => x.function.name)).toEqual([
      'run_js',
      'memory_search',
      'memory_get',
      'memory_save',
      'knowledge_graph_search',
    ]);
  });

  it('offers the platform’s JavaScript executor as the run_js tool (the mcp-v8 sandbox)', async () => {
    llm.script(
      { toolCalls: [{ name: 'run_js', arguments: { code: "console.log('hi from the sandbox'); 6 * 7" } }] },
      { text: 'It is 42.' },
    );
    const woke = await call('POST', '/v1/agents/calc-openai/wake', { body: { message: 'compute 6*7' } });
    expect(woke.status).toBe(200);
    expect(woke.body.content).toBe('It is 42.');
    const fed = llm.requests.at(-1)?.body.messages.at(-1);
    expect(fed.role).toBe('tool');
    const result = JSON.parse(fed.content);
    expect(result).toMatchObject({ status: 'completed', output: 'hi from the sandbox\n' });
    expect(String(result.result)).toContain('42');
  });

  it('offers run_js only while the built-in tool is enabled (its settings in /v1/tools/builtin/run_js)', async () => {
    const off = await call('PUT', '/v1/tools/builtin/run_js', { body: { enabled: false } });
    expect(off.status).toBe(200);
    llm.script({ text: 'no tools needed' });
    const before = llm.requests.length;
    expect((await call('POST', '/v1/agents/no-math/wake', { body: { message: 'hi' } })).status).toBe(200);
    expect((llm.requests.slice(before)[0]?.body.tools ?? []).map((x: any) => x.function.name)).not.toContain('run_js');
    expect((await call('PUT', '/v1/tools/builtin/run_js', { body: { enabled: true } })).status).toBe(200);
  });

  it('offers the agentTools module’s custom tools (global or the agent’s own) to runs', async () => {
    const tool = await call('POST', '/v1/tools/custom', {
      body: {
        name: 'multiply',
        description: 'Multiplies two numbers.',
        parameters: {
          type: 'object',
          properties: { a: { type: 'number' }, b: { type: 'number' } },
          required: ['a', 'b'],
        },
        command: 'return args.a * args.b;',
      },
    });
    expect(tool.status).toBe(201);
    llm.script({ toolCalls: [{ name: 'multiply', arguments: { a: 6, b: 7 } }] }, { text: 'It is 42.' });
    const before = llm.requests.length;
    const woke = await call('POST', '/v1/agents/calc-openai/wake', { body: { message: '6 times 7?' } });
    expect(woke.status).toBe(200);
    const [first, second] = llm.requests.slice(before);
    expect(first?.body.tools.map((x: any) => x.function.name)).toContain('multiply');
    expect(second?.body.messages.at(-1)).toMatchObject({ role: 'tool', content: '42' });
  });
});
