import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { goclawClient, goclawContract, goclawKey } from '../kit/goclaw.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';

let t: TestApp;
let llm: LlmStandin;
let call: ReturnType<typeof goclawClient>;
const contract = await goclawContract();

beforeAll(async () => {
  llm = await startLlmStandin();
  t = await startTestApp({ ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true' });
  call = goclawClient(t, contract);
});
afterAll(async () => {
  await t?.close();
  await llm?.close();
});

describe('GoClaw providers', () => {
  it('creates, lists, reads, updates and deletes a provider; the key is sealed at rest and masked', async () => {
    const created = await call('POST', '/v1/providers', {
      body: {
        name: 'standin-openai',
        display_name: 'Stand-in',
        provider_type: 'openai_compat',
        api_base: llm.openaiBase,
        api_key: 'sk-secret-1',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'standin-openai',
      provider_type: 'openai_compat',
      api_key: '***',
      enabled: true,
      api_base: llm.openaiBase,
    });
    const id = created.body.id as string;

    const row = await t.app.services.prisma.goclawProvider.findUniqueOrThrow({ where: { id } });
    expect(row.apiKeyEnc).toMatch(/^v1\./);
    expect(row.apiKeyEnc).not.toContain('sk-secret-1');

    const list = await call('GET', '/v1/providers');
    expect(list.status).toBe(200);
    expect(list.body.providers.map((p: { id: string }) => p.id)).toContain(id);
    expect(JSON.stringify(list.body)).not.toContain('sk-secret-1');

    expect((await call('GET', `/v1/providers/${id}`)).body).toMatchObject({ id, api_key: '***' });

    // `***` keeps the stored key: verification still authenticates against the stand-in.
    llm.apiKey = 'sk-secret-1';
    const kept = await call('PUT', `/v1/providers/${id}`, { body: { display_name: 'Renamed', api_key: '***' } });
    expect(kept).toMatchObject({ status: 200, body: { status: 'updated' } });
    expect((await call('POST', `/v1/providers/${id}/verify`, { body: { model: 'standin-small' } })).body).toEqual({
      valid: true,
    });
    const seen = llm.requests.at(-1);
    expect(seen?.headers.authorization).toBe('Bearer sk-secret-1');
    expect(seen?.body).toMatchObject({ model: 'standin-small', max_tokens: 1 });

    // A new key replaces it; the stand-in refuses the new one, and verify says so (still 200).
    await call('PUT', `/v1/providers/${id}`, { body: { api_key: 'sk-wrong' } });
    const refused = await call('POST', `/v1/providers/${id}/verify`, { body: { model: 'standin-small' } });
    expect(refused.status).toBe(200);
    expect(refused.body.valid).toBe(false);
    expect(refused.body.error).toContain('401');
    llm.apiKey = undefined;

    expect((await call('GET', `/v1/providers/${id}`)).body.display_name).toBe('Renamed');
    expect(await call('DELETE', `/v1/providers/${id}`)).toMatchObject({ status: 200, body: { status: 'deleted' } });
    expect((await call('GET', `/v1/providers/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/v1/providers/${id}`)).status).toBe(404);
  });

  it('lists the models and verifies against each wire format (OpenAI, Anthropic, Gemini)', async () => {
    llm.models = ['m-one', 'm-two'];
    llm.apiKey = 'k-all';
    for (const [type, base] of [
      ['groq', llm.openaiBase],
      ['anthropic_native', llm.anthropicBase],
      ['gemini_native', llm.geminiBase],
    ] as const) {
      const created = await call('POST', '/v1/providers', {
        body: { name: `fmt-${type.replace('_', '-')}`, provider_type: type, api_base: base, api_key: 'k-all' },
      });
      expect(created.status).toBe(201);
      const models = await call('GET', `/v1/providers/${created.body.id}/models`);
      expect(models.status).toBe(200);
      expect(models.body.models.map((m: { id: string }) => m.id)).toEqual(['m-one', 'm-two']);
      const verified = await call('POST', `/v1/providers/${created.body.id}/verify`, { body: { model: 'm-one' } });
      expect(verified.body).toEqual({ valid: true });
      const last = llm.requests.at(-1);
      expect(last?.format).toBe(type === 'groq' ? 'openai' : type === 'anthropic_native' ? 'anthropic' : 'gemini');
    }
    const anthropic = llm.requests.filter((r) => r.format === 'anthropic' && r.method === 'POST').at(-1);
    expect(anthropic?.headers['x-api-key']).toBe('k-all');
    expect(anthropic?.headers['anthropic-version']).toBe('2023-06-01');
    const gemini = llm.requests.filter((r) => r.format === 'gemini' && r.method === 'POST').at(-1);
    expect(gemini?.headers['x-goog-api-key']).toBe('k-all');
    expect(gemini?.path).toBe('/models/m-one:generateContent');
    llm.apiKey = undefined;
  });

  it('refuses bad input with 4xx in the contract’s error shape', async () => {
    const bad = async (body: unknown, status: number) => {
      const res = await call('POST', '/v1/providers', { body });
      expect(res.status).toBe(status);
      expect(typeof res.body.error).toBe('string');
    };
    await bad({ name: 'Not A Slug', provider_type: 'openai_compat' }, 400);
    await bad({ name: 'ok-name', provider_type: 'chatgpt_oauth' }, 400);
    await bad({ provider_type: 'openai_compat' }, 400);
    await bad({ name: 'bad-base', provider_type: 'openai_compat', api_base: 'ftp://example.com' }, 400);
    await bad({ name: 'bad-settings', provider_type: 'openai_compat', settings: [1] }, 400);
    await call('POST', '/v1/providers', { body: { name: 'dup', provider_type: 'xai' } });
    await bad({ name: 'dup', provider_type: 'xai' }, 409);
    const dup = (await call('GET', '/v1/providers')).body.providers.find((p: { name: string }) => p.name === 'dup');
    expect(dup.api_key).toBe('');
    expect((await call('PUT', `/v1/providers/${dup.id}`, { body: { enabled: 'yes' } })).status).toBe(400);
    expect((await call('PUT', `/v1/providers/${dup.id}`, { body: { provider_type: 'nope' } })).status).toBe(400);
    expect((await call('GET', '/v1/providers/not-a-uuid')).status).toBe(400);
    expect((await call('GET', '/v1/providers/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const verifyMissing = await call('POST', '/v1/providers/00000000-0000-4000-8000-000000000000/verify', {
      body: { model: 'x' },
    });
    expect(verifyMissing.status).toBe(404);
  });

  it('sends every provider call through the outbound guard (metadata addresses are refused)', async () => {
    const created = await call('POST', '/v1/providers', {
      body: { name: 'metadata', provider_type: 'openai_compat', api_base: 'http://169.254.169.254/v1' },
    });
    const verified = await call('POST', `/v1/providers/${created.body.id}/verify`, { body: { model: 'x' } });
    expect(verified.body.valid).toBe(false);
    expect(verified.body.error).toContain('refused');
    const models = await call('GET', `/v1/providers/${created.body.id}/models`);
    expect(models.status).toBe(400);
    expect(models.body.error).toContain('refused');
  });

  it('applies GoClaw roles: viewers read, operators write, unknown tokens are 401', async () => {
    const viewer = await goclawKey(t, ['operator.read']);
    const operator = await goclawKey(t, ['operator.write']);
    expect((await call('GET', '/v1/providers', { token: viewer })).status).toBe(200);
    const denied = await call('POST', '/v1/providers', {
      token: viewer,
      body: { name: 'by-viewer', provider_type: 'ollama' },
    });
    expect(denied.status).toBe(403);
    const made = await call('POST', '/v1/providers', {
      token: operator,
      body: { name: 'by-operator', provider_type: 'ollama' },
    });
    expect(made.status).toBe(201);
    expect((await call('DELETE', `/v1/providers/${made.body.id}`, { token: viewer })).status).toBe(403);
    expect((await call('GET', '/v1/providers', { token: 'goclaw_00000000000000000000000000000000' })).status).toBe(401);
  });
});
