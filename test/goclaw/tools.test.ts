import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TestGoClawCustomToolEnvDocument,
  TestRunGoClawCustomToolDocument,
  TestRunGoClawJsDocument,
} from '../generated/goclaw.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { contractCaller, goclawKey } from '../kit/goclaw.ts';

let t: TestApp;
let operator: string;
let viewer: string;
let call: Awaited<ReturnType<typeof contractCaller>>;

beforeAll(async () => {
  t = await startTestApp();
  call = await contractCaller(t);
  [operator, viewer] = await Promise.all([goclawKey(t, ['operator.write']), goclawKey(t, ['operator.read'])]);
});
afterAll(async () => {
  await t?.close();
});

const run = (id: string, args: unknown, token = operator) =>
  gql(t.baseUrl, TestRunGoClawCustomToolDocument, { id: encodeGlobalID('GoClawCustomTool', id), args }, token);

describe('GoClaw /v1/tools/custom', () => {
  it('creates, lists, reads, updates and deletes custom tools; env is sealed and never returned', async () => {
    const created = await call('POST', '/v1/tools/custom', {
      token: operator,
      body: {
        name: 'greet',
        description: 'Greets someone.',
        parameters: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'] },
        command: 'return env.GREETING + ", " + args.who + "!";',
        env: { GREETING: 'Hello' },
        timeout_seconds: 10,
        agent_id: 'support-bot',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'greet', timeout_seconds: 10, agent_id: 'support-bot', enabled: true });
    expect(JSON.stringify(created.body)).not.toContain('Hello');
    expect(Object.keys(created.body)).not.toContain('env');

    await call('POST', '/v1/tools/custom', { token: operator, body: { name: 'other', command: 'return 1;' } });
    const all = await call('GET', '/v1/tools/custom', { token: viewer });
    expect(all.body).toMatchObject({ total: 2, limit: 50, offset: 0 });
    const page = await call('GET', '/v1/tools/custom?limit=1&offset=1', { token: viewer });
    expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(page.body.tools.map((x: { name: string }) => x.name)).toEqual(['greet']);
    const scoped = await call('GET', '/v1/tools/custom?agent_id=support-bot&search=GREETS', { token: viewer });
    expect(scoped.body.tools.map((x: { name: string }) => x.name)).toEqual(['greet']);

    const got = await call('GET', `/v1/tools/custom/${created.body.id}`, { token: viewer });
    expect(got.body).toMatchObject({ id: created.body.id, command: created.body.command });

    const updated = await call('PUT', `/v1/tools/custom/${created.body.id}`, {
      token: operator,
      body: { description: 'Greets warmly.', env: { GREETING: '***', EXTRA: 'x' } },
    });
    expect(updated).toMatchObject({ status: 200, body: { status: 'updated' } });
    const env = await gql(
      t.baseUrl,
      TestGoClawCustomToolEnvDocument,
      { id: encodeGlobalID('GoClawCustomTool', created.body.id) },
      viewer,
    );
    expect(env.body.data?.node).toEqual({ name: 'greet', envNames: ['GREETING', 'EXTRA'] });

    const ran = await run(created.body.id, { who: 'Ada' });
    expect(ran.body.data?.runGoClawCustomTool).toMatchObject({
      __typename: 'MutationRunGoClawCustomToolSuccess',
      data: { result: 'Hello, Ada!' },
    });

    const deleted = await call('DELETE', `/v1/tools/custom/${created.body.id}`, { token: operator });
    expect(deleted).toMatchObject({ status: 200, body: { status: 'deleted' } });
    expect((await call('GET', `/v1/tools/custom/${created.body.id}`, { token: viewer })).status).toBe(404);
  });

  it('runs bodies in the mcp-v8 sandbox: async values, argument checks, throws and timeouts are typed failures', async () => {
    const mk = async (name: string, command: string, extra: Record<string, unknown> = {}) =>
      (await call('POST', '/v1/tools/custom', { token: operator, body: { name, command, ...extra } })).body
        .id as string;
    const sum = await mk('sum', 'await null; return args.xs.reduce((a, b) => a + b, 0);', {
      parameters: {
        type: 'object',
        properties: { xs: { type: 'array', items: { type: 'number' } } },
        required: ['xs'],
        additionalProperties: false,
      },
    });
    expect((await run(sum, { xs: [1, 2, 3.5] })).body.data?.runGoClawCustomTool).toMatchObject({
      data: { result: 6.5 },
    });
    const badArgs = await run(sum, { xs: ['a'], extra: 1 });
    expect(badArgs.body.data?.runGoClawCustomTool).toMatchObject({
      __typename: 'GoClawToolRunError',
      message: expect.stringMatching(/args\.xs\[0\] must be number.*args\.extra is not a declared parameter/),
    });

    // The sandbox has no host: no process, no require.
    const host = await mk('host', 'return typeof process + "/" + typeof require;');
    expect((await run(host, {})).body.data?.runGoClawCustomTool).toMatchObject({
      data: { result: 'undefined/undefined' },
    });

    const thrower = await mk('thrower', 'throw new Error("boom");');
    expect((await run(thrower, {})).body.data?.runGoClawCustomTool).toMatchObject({
      __typename: 'GoClawToolRunError',
      message: expect.stringMatching(/failed: .*boom/),
    });
    const spin = await mk('spin', 'for (;;) {}', { timeout_seconds: 1 });
    expect((await run(spin, {})).body.data?.runGoClawCustomTool).toMatchObject({
      __typename: 'GoClawToolRunError',
      message: expect.stringMatching(/timed out/),
    });
    const viewerRun = await run(sum, { xs: [] }, viewer);
    expect(viewerRun.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses bad bodies, names of built-in tools, duplicates and viewers', async () => {
    const bad = [
      { command: 'return 1;' },
      { name: 'nobody' },
      { name: 'syntax', command: 'return (;' },
      { name: 'schema', command: 'return 1;', parameters: { type: 'array' } },
      { name: 'schema2', command: 'return 1;', parameters: { type: 'object', pattern: 'x' } },
      { name: 'tmo', command: 'return 1;', timeout_seconds: 10_000 },
      { name: 'env', command: 'return 1;', env: { A: 1 } },
      { name: 'Bad Name', command: 'return 1;' },
      { name: 'agent', command: 'return 1;', agent_id: '../../etc' },
      { name: ['x'], command: 'return 1;' },
    ];
    for (const body of bad) {
      const res = await call('POST', '/v1/tools/custom', { token: operator, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(
      (await call('POST', '/v1/tools/custom', { token: operator, body: { name: 'web_fetch', command: 'return 1;' } }))
        .status,
    ).toBe(409);
    await call('POST', '/v1/tools/custom', { token: operator, body: { name: 'twice', command: 'return 1;' } });
    expect(
      (await call('POST', '/v1/tools/custom', { token: operator, body: { name: 'twice', command: 'return 2;' } }))
        .status,
    ).toBe(409);
    expect(
      (await call('POST', '/v1/tools/custom', { token: viewer, body: { name: 'v', command: 'return 1;' } })).status,
    ).toBe(403);
    expect((await call('GET', '/v1/tools/custom?limit=0', { token: viewer })).status).toBe(400);
    expect((await call('GET', '/v1/tools/custom?offset=-1', { token: viewer })).status).toBe(400);
    expect((await call('GET', '/v1/tools/custom/not-a-uuid', { token: viewer })).status).toBe(400);
  });
});

describe('GoClaw /v1/tools/builtin', () => {
  it('lists the catalogue and stores enabled/settings per tool', async () => {
    const list = await call('GET', '/v1/tools/builtin', { token: viewer });
    expect(list.status).toBe(200);
    const names = list.body.tools.map((x: { name: string }) => x.name);
    expect(names).toEqual(expect.arrayContaining(['read_file', 'exec', 'run_js', 'web_fetch', 'memory_search']));
    expect(list.body.tools.find((x: { name: string }) => x.name === 'exec')).toMatchObject({
      enabled: false,
      requires: ['sandbox:bubblewrap'],
    });

    const put = await call('PUT', '/v1/tools/builtin/web_fetch', {
      token: operator,
      body: { enabled: false, settings: { max_bytes: 1024, allowed_hosts: ['example.com'] } },
    });
    expect(put).toMatchObject({ status: 200, body: { status: 'updated' } });
    const got = await call('GET', '/v1/tools/builtin/web_fetch', { token: viewer });
    expect(got.body).toMatchObject({ name: 'web_fetch', enabled: false, settings: { max_bytes: 1024 } });
    expect(typeof got.body.updated_at).toBe('string');

    expect((await call('GET', '/v1/tools/builtin/nope', { token: viewer })).status).toBe(404);
    expect((await call('PUT', '/v1/tools/builtin/nope', { token: operator, body: { enabled: true } })).status).toBe(
      404,
    );
    expect((await call('PUT', '/v1/tools/builtin/exec', { token: operator, body: { settings: [1] } })).status).toBe(
      400,
    );
    expect((await call('PUT', '/v1/tools/builtin/exec', { token: operator, body: { enabled: 'yes' } })).status).toBe(
      400,
    );
    expect((await call('PUT', '/v1/tools/builtin/exec', { token: viewer, body: { enabled: true } })).status).toBe(403);
  });

  it('run_js runs code in the mcp-v8 sandbox with its settings, and not while disabled', async () => {
    const js = (code: string) => gql(t.baseUrl, TestRunGoClawJsDocument, { code }, operator);
    // The script's final value (a promise is awaited) is the result, as for POST /mcp-v8/v1/exec.
    const ok = await js('const xs = [1, 2, 3]; Promise.resolve(xs.map((x) => x * 2));');
    expect(ok.body.data?.runGoClawJs).toMatchObject({
      __typename: 'MutationRunGoClawJsSuccess',
      data: { result: [2, 4, 6] },
    });
    await call('PUT', '/v1/tools/builtin/run_js', { token: operator, body: { settings: { timeout_seconds: 1 } } });
    expect((await js('for (;;) {}')).body.data?.runGoClawJs).toMatchObject({
      __typename: 'GoClawToolRunError',
      message: expect.stringMatching(/timed out/),
    });
    await call('PUT', '/v1/tools/builtin/run_js', { token: operator, body: { enabled: false } });
    expect((await js('1')).body.data?.runGoClawJs).toMatchObject({
      __typename: 'GoClawToolRunError',
      message: expect.stringMatching(/disabled/),
    });
  });
});
