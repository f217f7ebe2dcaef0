import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { GoClawTestRunEventsDocument } from '../generated/goclaw.ts';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { goclawClient, goclawContract, goclawKey } from '../kit/goclaw.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';

let t: TestApp;
let llm: LlmStandin;
let call: ReturnType<typeof goclawClient>;
let operator: string;
let client: OpenAI;
const contract = await goclawContract();

beforeAll(async () => {
  llm = await startLlmStandin();
  t = await startTestApp({ ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true' });
  call = goclawClient(t, contract);
  operator = await goclawKey(t, ['operator.write']);
  client = new OpenAI({ apiKey: operator, baseURL: `${t.baseUrl}/goclaw/v1`, maxRetries: 0 });
  for (const [name, type, base] of [
    ['openai', 'openai_compat', llm.openaiBase],
    ['claude', 'anthropic_native', llm.anthropicBase],
    ['gemini', 'gemini_native', llm.geminiBase],
  ] as const) {
    const made = await call('POST', '/v1/providers', {
      body: {
        name,
        provider_type: type,
        api_base: base,
        settings: { pricing: { 'standin-small': { input_per_mtok: 1, output_per_mtok: 2 } } },
      },
    });
    expect(made.status).toBe(201);
    const agent = await call('POST', '/v1/agents', {
      headers: { 'x-goclaw-user-id': 'ops' },
      body: { name: `${name}-agent`, provider: name, model: 'standin-small', system_prompt: `You are ${name}.` },
    });
    expect(agent.status).toBe(201);
  }
  await call('POST', '/v1/agents', {
    headers: { 'x-goclaw-user-id': 'ops' },
    body: { name: 'default', provider: 'openai', model: 'standin-small' },
  });
  t.app.services.goclaw.tools.add({
    name: 'test-weather',
    tools: () => [
      {
        name: 'weather',
        description: 'The weather in a city.',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        execute: async (args) => JSON.stringify({ city: args.city, sky: 'clear' }),
      },
    ],
  });
});
afterAll(async () => {
  await t?.close();
  await llm?.close();
});

/** Reads an SSE response's `data:` payloads as they arrive. */
async function* sseData(res: Response): AsyncGenerator<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (true) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let at = buffer.indexOf('\n\n');
    while (at !== -1) {
      const frame = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      for (const line of frame.split('\n')) if (line.startsWith('data: ')) yield line.slice(6);
      at = buffer.indexOf('\n\n');
    }
  }
}

/** Waits (bounded) until `check` holds. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('POST /v1/chat/completions with the openai SDK', () => {
  it('answers a non-streamed completion from an agent (agent: prefix), with the provider’s usage', async () => {
    llm.script({ text: 'Hi there!', usage: { input: 9, output: 3 } });
    const completion = await client.chat.completions.create({
      model: 'agent:openai-agent',
      messages: [
        { role: 'system', content: 'Client rules.' },
        { role: 'user', content: 'Earlier question' },
        { role: 'assistant', content: 'Earlier answer' },
        { role: 'user', content: 'Hello' },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f]{8}$/);
    expect(completion.model).toBe('agent:openai-agent');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Hi there!' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 });
    // The agent's prompt first, then the client's system messages, then the whole history in order.
    expect(llm.requests.at(-1)?.body.messages).toEqual([
      { role: 'system', content: 'You are openai.' },
      { role: 'system', content: 'Client rules.' },
      { role: 'user', content: 'Earlier question' },
      { role: 'assistant', content: 'Earlier answer' },
      { role: 'user', content: 'Hello' },
    ]);
  });

  it('streams real deltas in each wire format, ending with finish_reason stop, usage and [DONE]', async () => {
    for (const name of ['openai', 'claude', 'gemini']) {
      llm.script({ text: 'one two three four', usage: { input: 7, output: 4 } });
      const stream = await client.chat.completions.create({
        model: `goclaw:${name}-agent`,
        messages: [{ role: 'user', content: 'count' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const deltas: string[] = [];
      let finish: string | null | undefined;
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice?.delta?.content) deltas.push(choice.delta.content);
        if (choice?.finish_reason) finish = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(deltas).toEqual(['one ', 'two ', 'three ', 'four']);
      expect(finish).toBe('stop');
      expect(usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
      expect(llm.requests.at(-1)?.body.stream ?? llm.requests.at(-1)?.path.includes('stream')).toBeTruthy();
    }
  });

  it('forwards each chunk as the provider sends it (no buffering), ending in data: [DONE]', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    llm.script({ text: 'first second third', gate });
    const res = await fetch(`${t.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent:openai-agent', messages: [{ role: 'user', content: 'go' }], stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const frames: string[] = [];
    for await (const data of sseData(res)) {
      frames.push(data);
      // The provider holds the rest until the gate opens: this chunk reached the client while it waited.
      if (data.includes('"first "')) release();
    }
    expect(frames.at(-1)).toBe('[DONE]');
    const parsed = frames.slice(0, -1).map((f) => JSON.parse(f));
    expect(parsed[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(parsed.map((p) => p.choices[0]?.delta?.content ?? '').join('')).toBe('first second third');
    expect(parsed.at(-1).choices[0].finish_reason).toBe('stop');
  });

  it('runs tool calls inside a streamed completion and records the run as a trace with spans', async () => {
    await call('POST', '/v1/providers', {
      body: {
        name: 'claude-tools',
        provider_type: 'anthropic_native',
        api_base: llm.anthropicBase,
        settings: { pricing: { 'standin-small': { input_per_mtok: 1, output_per_mtok: 2 } } },
      },
    });
    await call('POST', '/v1/agents', {
      headers: { 'x-goclaw-user-id': 'ops' },
      body: { name: 'weather-agent', provider: 'claude-tools', model: 'standin-small' },
    });
    llm.script(
      {
        text: 'Let me check. ',
        toolCalls: [{ name: 'weather', arguments: { city: 'Hanoi' } }],
        usage: { input: 100, output: 20 },
      },
      { text: 'It is clear in Hanoi.', usage: { input: 150, output: 10 } },
    );
    const res = await fetch(`${t.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${operator}`,
        'content-type': 'application/json',
        'x-goclaw-agent-id': 'weather-agent',
      },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Weather in Hanoi?' }], stream: true, user: 'u-42' }),
    });
    const runId = res.headers.get('x-goclaw-run-id') as string;
    let text = '';
    for await (const data of sseData(res)) {
      if (data !== '[DONE]') text += JSON.parse(data).choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('Let me check. It is clear in Hanoi.');
    const second = llm.requests.at(-1);
    expect(second?.format).toBe('anthropic');
    expect(second?.body.messages.at(-1).content[0]).toMatchObject({
      type: 'tool_result',
      content: '{"city":"Hanoi","sky":"clear"}',
    });

    const trace = await call('GET', `/v1/traces/${runId}`);
    expect(trace.status).toBe(200);
    expect(trace.body.trace).toMatchObject({
      run_id: runId,
      status: 'completed',
      user_id: 'u-42',
      provider: 'claude-tools',
      total_input_tokens: 250,
      total_output_tokens: 30,
      llm_call_count: 2,
      tool_call_count: 1,
      span_count: 3,
    });
    expect(trace.body.trace.total_cost).toBeCloseTo((250 * 1 + 30 * 2) / 1_000_000, 12);
    expect(trace.body.spans.map((s: { span_type: string; name: string }) => `${s.span_type}:${s.name}`)).toEqual([
      'llm_call:claude-tools/standin-small',
      'tool_call:weather',
      'llm_call:claude-tools/standin-small',
    ]);

    const list = await call('GET', `/v1/traces?limit=2&agent_id=${trace.body.trace.agent_id}`);
    expect(list.body).toMatchObject({ total: 1, limit: 2, offset: 0 });
    expect(list.body.traces[0].id).toBe(trace.body.trace.id);
    const all = await call('GET', '/v1/traces?limit=1&offset=1');
    expect(all.body.traces).toHaveLength(1);
    expect(all.body.total).toBeGreaterThan(3);
  });

  it('assembles streamed tool calls in the OpenAI (indexed deltas) and Gemini formats too', async () => {
    for (const name of ['openai', 'gemini']) {
      llm.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Hue' } }] }, { text: 'Clear in Hue.' });
      const stream = await client.chat.completions.create({
        model: `agent:${name}-agent`,
        messages: [{ role: 'user', content: 'Weather in Hue?' }],
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe('Clear in Hue.');
      const fed = JSON.stringify(llm.requests.at(-1)?.body);
      expect(fed).toContain(name === 'openai' ? '"tool_call_id"' : '"functionResponse"');
      expect(fed).toContain('Hue');
      expect(fed).toContain('clear');
    }
  });

  it('replays a run’s events over the agentRunEvents subscription from a cursor', async () => {
    llm.script({ text: 'alpha beta', usage: { input: 1, output: 2 } });
    const completion = await client.chat.completions
      .create({ model: 'agent:gemini-agent', messages: [{ role: 'user', content: 'x' }] })
      .withResponse();
    const runId = completion.response.headers.get('x-goclaw-run-id') as string;
    const events = async (after: number) =>
      new Promise<{ seq: number; type: string; payload: any }[]>((resolve, reject) => {
        const got: { seq: number; type: string; payload: any }[] = [];
        const ws = createClient({
          url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${operator}` },
          retryAttempts: 0,
        });
        ws.subscribe(
          { query: print(GoClawTestRunEventsDocument), variables: { runId, after } },
          {
            next: (v) => got.push((v.data as any).agentRunEvents),
            error: (e) => {
              void ws.dispose();
              reject(e);
            },
            complete: () => {
              void ws.dispose();
              resolve(got);
            },
          },
        );
      });
    const all = await events(0);
    expect(all.map((e) => e.type)).toEqual(['run_started', 'chunk', 'run_completed']);
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(all[2]?.payload).toMatchObject({ content: 'alpha beta', usage: { prompt_tokens: 1, completion_tokens: 2 } });
    expect((await events(2)).map((e) => e.seq)).toEqual([3]);
    // Once the in-memory copy is gone (a minute after the run), the stored log replays the same events.
    await t.app.services.goclaw.traces.list({ kind: 'admin', id: 'admin' }, {});
    (t.app.services.goclaw.runs as unknown as { live: Map<string, unknown> }).live.delete(runId);
    const stored = await events(1);
    expect(stored.map((e) => `${e.seq}:${e.type}`)).toEqual(['2:chunk', '3:run_completed']);
    expect(stored[0]?.payload).toEqual({ content: 'alpha beta' });

    // A subscriber that joins a live run gets what it missed, then the rest as it happens.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    llm.script({ text: 'live one two', gate });
    const res = await fetch(`${t.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent:openai-agent', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    const liveRunId = res.headers.get('x-goclaw-run-id') as string;
    const reader = sseData(res);
    for await (const data of reader) if (data.includes('"live "')) break;
    const following = (async () => {
      const got: { seq: number; type: string; payload: any }[] = [];
      await new Promise<void>((resolve, reject) => {
        const ws = createClient({
          url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${operator}` },
          retryAttempts: 0,
        });
        ws.subscribe(
          { query: print(GoClawTestRunEventsDocument), variables: { runId: liveRunId } },
          {
            next: (v) => {
              const e = (v.data as any).agentRunEvents;
              got.push(e);
              if (e.type === 'chunk' && e.payload.content === 'live ') release();
            },
            error: reject,
            complete: () => {
              void ws.dispose();
              resolve();
            },
          },
        );
      });
      return got;
    })();
    const live = await following;
    expect(live.map((e) => e.type)).toEqual(['run_started', 'chunk', 'chunk', 'chunk', 'run_completed']);
    expect(live.map((e) => e.payload.content).slice(1, 4)).toEqual(['live ', 'one ', 'two']);
    // Another principal may not follow it.
    const other = await goclawKey(t, ['operator.write']);
    const refused = await new Promise<unknown>((resolve) => {
      const ws = createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${other}` },
        retryAttempts: 0,
      });
      ws.subscribe(
        { query: print(GoClawTestRunEventsDocument), variables: { runId } },
        {
          next: (v) => resolve(v.errors),
          error: (e) => resolve(e),
          complete: () => resolve('complete'),
        },
      );
    });
    expect(JSON.stringify(refused)).toContain('not found');
  });

  it('aborts the run when the client goes away (trace cancelled)', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    llm.script({ text: 'never finished words', gate });
    const abort = new AbortController();
    const res = await fetch(`${t.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent:openai-agent', messages: [{ role: 'user', content: 'go' }], stream: true }),
      signal: abort.signal,
    });
    const runId = res.headers.get('x-goclaw-run-id') as string;
    for await (const data of sseData(res)) {
      if (data.includes('never')) break;
    }
    abort.abort();
    await until(
      async () => (await call('GET', `/v1/traces/${runId}`)).body.trace?.status === 'cancelled',
      'cancelled trace',
    );
    release();
  });

  it('answers 429 with Retry-After when too many runs are in flight', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    llm.script({ text: 'held run words', gate });
    const held = await fetch(`${t.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent:openai-agent', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    const deps = (t.app.services.goclaw.runs as unknown as { deps: { maxConcurrentRuns: number } }).deps;
    const before = deps.maxConcurrentRuns;
    deps.maxConcurrentRuns = 1; // ATRIUM_GOCLAW_MAX_CONCURRENT_RUNS=1, with the held run in flight
    try {
      const busy = await fetch(`${t.baseUrl}/goclaw/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'agent:openai-agent', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(busy.status).toBe(429);
      expect(busy.headers.get('retry-after')).toBe('1');
      expect((await busy.json()).error.type).toBe('rate_limit_error');
      const wake = await call('POST', '/v1/agents/openai-agent/wake', { body: { message: 'x' } });
      expect(wake.status).toBe(429);
      expect(wake.headers.get('retry-after')).toBe('1');
    } finally {
      deps.maxConcurrentRuns = before;
      release();
    }
    for await (const data of sseData(held)) if (data === '[DONE]') break;
  });

  it('reports provider failures: 502 in JSON, an error chunk then [DONE] in SSE', async () => {
    llm.script({ status: 500, error: 'model exploded' });
    await expect(
      client.chat.completions.create({ model: 'agent:openai-agent', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 502 });
    llm.script({ status: 500, error: 'model exploded again' });
    const res = await fetch(`${t.baseUrl}/goclaw/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent:openai-agent', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    const frames: string[] = [];
    for await (const data of sseData(res)) frames.push(data);
    expect(frames.at(-1)).toBe('[DONE]');
    expect(JSON.parse(frames.at(-2) as string).error.message).toContain('model exploded again');
  });

  it('refuses bad requests in OpenAI’s error shape; targets default, provider/model and unknown agents', async () => {
    const post = (body: unknown, token = operator) =>
      fetch(`${t.baseUrl}/goclaw/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const noUser = await post({ messages: [{ role: 'system', content: 'only system' }] });
    expect(noUser.status).toBe(400);
    expect(noUser.body.error).toMatchObject({ type: 'invalid_request_error' });
    expect((await post({ messages: [{ role: 'user', content: [{ type: 'text', text: 'parts' }] }] })).status).toBe(400);
    expect((await post({ messages: [] })).status).toBe(400);
    expect((await post({ messages: [{ role: 'tool', content: 'x' }] })).status).toBe(400);
    const missing = await post({ model: 'agent:nobody', messages: [{ role: 'user', content: 'x' }] });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('nobody');
    const viewer = await goclawKey(t, ['operator.read']);
    const denied = await post({ messages: [{ role: 'user', content: 'x' }] }, viewer);
    // 401 keeps the contract's `Error` schema (a string) on this path too.
    expect(denied.status).toBe(401);
    expect(typeof denied.body.error).toBe('string');
    await expect(
      new OpenAI({
        apiKey: 'goclaw_ffffffffffffffffffffffffffffffff',
        baseURL: `${t.baseUrl}/goclaw/v1`,
        maxRetries: 0,
      }).chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 401 });

    // No prefix: the `default` agent; `<provider>/<model>`: that provider directly.
    llm.script({ text: 'from default' });
    expect(
      (await post({ model: 'gpt-whatever', messages: [{ role: 'user', content: 'x' }] })).body.choices[0].message
        .content,
    ).toBe('from default');
    llm.script({ text: 'direct' });
    const direct = await post({ model: 'gemini/standin-large', messages: [{ role: 'user', content: 'x' }] });
    expect(direct.body.choices[0].message.content).toBe('direct');
    expect(llm.requests.at(-1)?.path).toBe('/models/standin-large:generateContent');
  });
});

describe('models through the openai SDK', () => {
  it('lists a provider’s models with models.list() (base URL /goclaw/v1/providers/{id})', async () => {
    const providers = await call('GET', '/v1/providers');
    const gemini = providers.body.providers.find((p: { name: string }) => p.name === 'gemini');
    const sdk = new OpenAI({
      apiKey: operator,
      baseURL: `${t.baseUrl}/goclaw/v1/providers/${gemini.id}`,
      maxRetries: 0,
    });
    const ids: string[] = [];
    for await (const model of sdk.models.list()) ids.push(model.id);
    expect(ids).toEqual(llm.models);
    expect(llm.requests.at(-1)).toMatchObject({ format: 'gemini', method: 'GET', path: '/models' });
  });
});

describe('costs and usage from the recorded runs', () => {
  it('sums cost per agent and model, and buckets usage by period', async () => {
    const costs = await call('GET', '/v1/costs/summary');
    expect(costs.status).toBe(200);
    const claude = costs.body.rows.find((r: { provider: string }) => r.provider === 'claude-tools');
    expect(claude).toMatchObject({ model: 'standin-small', input_tokens: 250, output_tokens: 30, requests: 1 });
    expect(claude.cost).toBeCloseTo(310 / 1_000_000, 12);
    const filtered = await call('GET', `/v1/costs/summary?agent_id=${claude.agent_id}&from=2020-01-01T00:00:00Z`);
    expect(filtered.body.rows).toHaveLength(1);
    expect((await call('GET', '/v1/costs/summary?from=yesterday')).status).toBe(400);
    expect((await call('GET', '/v1/costs/summary?agent_id=nope')).status).toBe(400);

    const series = await call('GET', '/v1/usage/timeseries?period=1h');
    expect(series.status).toBe(200);
    expect(series.body.points.length).toBeGreaterThanOrEqual(60);
    const requests = series.body.points.reduce((n: number, p: { requests: number }) => n + p.requests, 0);
    const summary = await call('GET', '/v1/usage/summary?period=1h');
    expect(summary.body.current.requests).toBe(requests);
    expect(summary.body.current.errors).toBeGreaterThanOrEqual(2);
    expect(summary.body.current.tool_calls).toBeGreaterThanOrEqual(1);
    expect(summary.body.previous.requests).toBe(0);
    expect(summary.body.current.unique_users).toBeGreaterThanOrEqual(1);
    expect((await call('GET', '/v1/usage/timeseries?period=2h')).status).toBe(400);
    expect((await call('GET', '/v1/usage/summary?period=2h')).status).toBe(400);
    expect((await call('GET', '/v1/usage/timeseries')).body.points).toHaveLength(24);
  });
});
