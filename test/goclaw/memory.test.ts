import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TestDeleteGoClawMemoryDocumentDocument,
  TestGoClawMemoryDocumentNodeDocument,
  TestUpsertGoClawMemoryDocumentDocument,
} from '../generated/goclaw.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { goclawClient, goclawContract, goclawKey } from '../kit/goclaw.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';

let t: TestApp;
let llm: LlmStandin;
let call: ReturnType<typeof goclawClient>;
let operator: string;
let viewer: string;
const contract = await goclawContract();

const runbook = [
  '# Billing runbook',
  '',
  'Deployments of the billing service go through the staging cluster first.',
  'Every deployment needs a green smoke test before production.',
  '',
  'Rollback: redeploy the previous image tag.',
].join('\n');
const lunch = ['# Office notes', 'Lunch is pasta on Mondays and soup on Fridays.', 'The kitchen closes at three.'].join(
  '\n',
);
const printers = ['# Printers', 'The printer on floor two jams with thick paper.', 'Use tray one for envelopes.'].join(
  '\n',
);

async function upsert(agentId: string, path: string, content: string, userId?: string, token = operator) {
  const res = await gql(
    t.baseUrl,
    TestUpsertGoClawMemoryDocumentDocument,
    {
      agentId,
      input: { path, content, ...(userId ? { userId } : {}) },
    },
    token,
  );
  const r = res.body.data?.upsertGoClawMemoryDocument;
  if (r?.__typename !== 'MutationUpsertGoClawMemoryDocumentSuccess') {
    throw new Error(`upsert failed: ${JSON.stringify(res)}`);
  }
  return r.data;
}

const search = (agent: string, body: unknown, opts: { token?: string; headers?: Record<string, string> } = {}) =>
  call('POST', `/v1/agents/${agent}/memory/search`, { token: opts.token ?? viewer, body, headers: opts.headers });

const embeddingCalls = () =>
  llm.requests.filter((r) => r.path === '/embeddings' || r.path.endsWith(':batchEmbedContents'));

let pgvectorAvailable = false;

beforeAll(async () => {
  llm = await startLlmStandin();
  t = await startTestApp({ ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true' });
  call = goclawClient(t, contract);
  operator = await goclawKey(t, ['operator.write']);
  viewer = await goclawKey(t, ['operator.read']);
  for (const [name, type, base] of [
    ['p-embed', 'openai_compat', llm.openaiBase],
    ['p-gemini', 'gemini_native', llm.geminiBase],
    ['p-anthropic', 'anthropic_native', llm.anthropicBase],
  ] as const) {
    expect((await call('POST', '/v1/providers', { body: { name, provider_type: type, api_base: base } })).status).toBe(
      201,
    );
  }
  for (const [name, memory] of [
    ['mem-hybrid', { embedding_provider: 'p-embed', embedding_model: 'standin-embed' }],
    ['mem-fts', undefined],
    ['mem-gemini', { embedding_provider: 'p-gemini', embedding_model: 'text-embedding-004' }],
    ['mem-anthropic', { embedding_provider: 'p-anthropic', embedding_model: 'none' }],
  ] as const) {
    const res = await call('POST', '/v1/agents', {
      token: operator,
      headers: { 'x-goclaw-user-id': 'owner' },
      body: { name, provider: 'p-embed', model: 'standin-small', ...(memory ? { memory_config: memory } : {}) },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    if (memory) expect(res.body.memory_config).toEqual(memory);
  }
  for (const agent of ['mem-hybrid', 'mem-fts', 'mem-gemini']) {
    await upsert(agent, 'runbooks/billing.md', runbook);
    await upsert(agent, 'notes/lunch.md', lunch);
    await upsert(agent, 'notes/printers.md', printers);
  }
  const rows = await t.app.services.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'vector'`;
  pgvectorAvailable = (rows[0]?.n ?? 0) > 0;
  // Embedded databases load pgvector (src/core/pglite.ts), so on PGlite the pgvector path is the one tested.
  if (process.env.ATRIUM_TEST_DB !== 'postgres') expect(pgvectorAvailable).toBe(true);
});
afterAll(async () => {
  await t?.close();
  await llm?.close();
});

describe('GoClaw memory search', () => {
  it('ranks by vectors and full text together, and says which found each hit', async () => {
    // "deploying" is in no document: full text ('simple', no stemming) finds nothing, the embeddings do.
    const stem = await search('mem-hybrid', { query: 'deploying' });
    expect(stem.status, JSON.stringify(stem.body)).toBe(200);
    expect(stem.body.mode).toBe('hybrid');
    expect(stem.body.vector_backend).toBe(pgvectorAvailable ? 'pgvector' : 'exact');
    expect(stem.body.embedding_model).toBe('p-embed/standin-embed');
    expect(stem.body.note).toBeUndefined();
    expect(stem.body.count).toBe(stem.body.results.length);
    const [first] = stem.body.results;
    expect(first).toMatchObject({
      path: 'runbooks/billing.md',
      source: 'vector',
      sources: ['vector'],
      scope: 'global',
    });
    expect(first.fts_score).toBeNull();
    expect(stem.body.results.every((r: any) => r.source === 'vector')).toBe(true);

    // Both rankings agree on the runbook: its chunk is found by both and ranks first.
    const both = await search('mem-hybrid', { query: 'billing deployment smoke test' });
    expect(both.status).toBe(200);
    const top = both.body.results[0];
    expect(top).toMatchObject({
      path: 'runbooks/billing.md',
      start_line: 1,
      end_line: 6,
      source: 'vector+fts',
      sources: ['vector', 'fts'],
    });
    expect(top.snippet).toContain('green smoke test');
    expect(top.score).toBeCloseTo(0.7 * top.vector_score + 0.3 * top.fts_score, 6);
    expect(top.fts_score).toBe(1);
    for (const r of both.body.results.slice(1)) expect(r.score).toBeLessThan(top.score);

    // A lunch question finds the lunch note first.
    const food = await search('mem-hybrid', { query: 'what is for lunch on Mondays', limit: 2 });
    expect(food.body.results[0].path).toBe('notes/lunch.md');
    expect(food.body.results.length).toBeLessThanOrEqual(2);

    // min_score drops the weak vector-only hits; upstream's max_results is the limit.
    const strict = await search('mem-hybrid', { query: 'billing deployment smoke test', min_score: top.score - 1e-6 });
    expect(strict.body.results.map((r: any) => r.path)).toEqual(['runbooks/billing.md']);
    const one = await search('mem-hybrid', { query: 'paper envelopes printer', max_results: 1 });
    expect(one.body.results.map((r: any) => r.path)).toEqual(['notes/printers.md']);
  });

  it('with no embedding provider searches full text only, and says so', async () => {
    const before = embeddingCalls().length;
    const none = await search('mem-fts', { query: 'deploying' });
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({
      results: [],
      count: 0,
      mode: 'fts',
      vector_backend: null,
      embedding_model: null,
    });
    expect(none.body.note).toMatch(/full-text search only/);
    const hit = await search('mem-fts', { query: 'Rollback image' });
    expect(hit.body.mode).toBe('fts');
    expect(hit.body.results).toHaveLength(1);
    expect(hit.body.results[0]).toMatchObject({
      path: 'runbooks/billing.md',
      source: 'fts',
      sources: ['fts'],
      score: 1,
    });
    expect(embeddingCalls().length).toBe(before);
  });

  it('embeds through Gemini batchEmbedContents too, and refuses a provider without embeddings', async () => {
    const res = await search('mem-gemini', { query: 'deploying' });
    expect(res.body.mode).toBe('hybrid');
    expect(res.body.results[0]).toMatchObject({ path: 'runbooks/billing.md', source: 'vector' });
    const gemini = llm.requests.filter((r) => r.format === 'gemini' && r.path.endsWith(':batchEmbedContents'));
    expect(gemini.length).toBeGreaterThan(0);
    expect(gemini[0]?.path).toBe('/models/text-embedding-004:batchEmbedContents');
    expect(gemini[0]?.body.requests[0].model).toBe('models/text-embedding-004');

    const refused = await gql(
      t.baseUrl,
      TestUpsertGoClawMemoryDocumentDocument,
      {
        agentId: 'mem-anthropic',
        input: { path: 'a.md', content: 'anything' },
      },
      operator,
    );
    expect(refused.body.data?.upsertGoClawMemoryDocument).toMatchObject({
      __typename: 'GoClawBadRequestError',
      message: expect.stringMatching(/no embeddings endpoint/),
    });
    const failing = await search('mem-anthropic', { query: 'anything' });
    expect(failing.status).toBe(400);
    expect(failing.body.error).toMatch(/embedding failed/);
  });

  it('searches a user’s personal documents only for that user', async () => {
    const doc = await upsert('mem-hybrid', 'me/diary.md', 'My parking spot is number forty two.', 'u-1');
    expect(doc.document.userId).toBe('u-1');
    const anonymous = await search('mem-hybrid', { query: 'parking spot', min_score: 0.5 });
    expect(anonymous.body.results.map((r: any) => r.path)).not.toContain('me/diary.md');
    const mine = await search('mem-hybrid', { query: 'parking spot' }, { headers: { 'x-goclaw-user-id': 'u-1' } });
    expect(mine.body.results[0]).toMatchObject({ path: 'me/diary.md', scope: 'personal', source: 'vector+fts' });
    const other = await search('mem-hybrid', { query: 'parking spot', user_id: 'u-2', min_score: 0.5 });
    expect(other.body.results.map((r: any) => r.path)).not.toContain('me/diary.md');
  });

  it('re-indexes a changed document, skips an unchanged one and forgets a deleted one', async () => {
    const again = await upsert('mem-hybrid', 'notes/printers.md', printers);
    expect(again).toMatchObject({ indexed: false, chunks: 1 });
    const long = Array.from({ length: 95 }, (_, i) => (i === 77 ? 'The spare toner is in cabinet nine.' : `line ${i}`));
    const changed = await upsert('mem-hybrid', 'notes/printers.md', long.join('\n'));
    expect(changed).toMatchObject({ indexed: true, chunks: 3 });
    expect(changed.document.chunkCount).toBe(3);
    const toner = await search('mem-hybrid', { query: 'spare toner cabinet' });
    expect(toner.body.results[0]).toMatchObject({ path: 'notes/printers.md', start_line: 41, end_line: 80 });
    const node = await gql(t.baseUrl, TestGoClawMemoryDocumentNodeDocument, { id: changed.document.id }, viewer);
    expect(node.body.data?.node).toMatchObject({ path: 'notes/printers.md' });

    const deleted = await gql(
      t.baseUrl,
      TestDeleteGoClawMemoryDocumentDocument,
      {
        agentId: 'mem-hybrid',
        path: 'notes/printers.md',
      },
      operator,
    );
    expect(deleted.body.data?.deleteGoClawMemoryDocument.__typename).toBe('MutationDeleteGoClawMemoryDocumentSuccess');
    const gone = await search('mem-hybrid', { query: 'spare toner cabinet' });
    expect(gone.body.results.map((r: any) => r.path)).not.toContain('notes/printers.md');
    const missing = await gql(
      t.baseUrl,
      TestDeleteGoClawMemoryDocumentDocument,
      {
        agentId: 'mem-hybrid',
        path: 'notes/printers.md',
      },
      operator,
    );
    expect(missing.body.data?.deleteGoClawMemoryDocument.__typename).toBe('GoClawResourceNotFoundError');
  });

  it('lists documents as a bare array with epoch-ms times', async () => {
    const all = await call('GET', '/v1/memory/documents', { token: viewer });
    expect(all.status).toBe(200);
    expect(Array.isArray(all.body)).toBe(true);
    const agent = await call('GET', '/v1/agents/mem-fts', {
      token: operator,
      headers: { 'x-goclaw-user-id': 'owner' },
    });
    const mine = await call('GET', '/v1/memory/documents?agent_id=mem-fts', { token: viewer });
    expect(mine.body.map((d: any) => d.path).sort()).toEqual([
      'notes/lunch.md',
      'notes/printers.md',
      'runbooks/billing.md',
    ]);
    for (const d of mine.body) {
      expect(Object.keys(d).sort()).toEqual(['agent_id', 'hash', 'id', 'path', 'updated_at', 'user_id']);
      expect(d.agent_id).toBe(agent.body.id);
      expect(d.user_id).toBe('');
      expect(Number.isInteger(d.updated_at)).toBe(true);
      expect(Math.abs(Date.now() - d.updated_at)).toBeLessThan(10 * 60_000);
      expect(d.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    const page = await call('GET', '/v1/memory/documents?agent_id=mem-fts&limit=2&offset=2', { token: viewer });
    expect(page.body).toHaveLength(1);
    const personal = await call('GET', '/v1/memory/documents?user_id=u-1', { token: viewer });
    expect(personal.body.map((d: any) => d.path)).toEqual(['me/diary.md']);
  });

  it('answers bad input with 4xx in the contract’s error shape', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ query: '' }, 400, /query/],
      [{ query: '   ' }, 400, /query/],
      [{}, 400, /query/],
      [{ query: 42 }, 400, /query/],
      [{ query: 'x', limit: 0 }, 400, /limit/],
      [{ query: 'x', limit: 101 }, 400, /limit/],
      [{ query: 'x', limit: 'ten' }, 400, /limit/],
      [{ query: 'x', max_results: 2.5 }, 400, /max_results/],
      [{ query: 'x', min_score: 2 }, 400, /min_score/],
      [{ query: 'x', min_score: 'high' }, 400, /min_score/],
      [{ query: 'x', user_id: 7 }, 400, /user_id/],
      [{ query: 'x'.repeat(10_001) }, 400, /10,000/],
      [['query'], 400, /./],
    ];
    for (const [body, status, message] of cases) {
      const res = await search('mem-hybrid', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(Object.keys(res.body)).toEqual(['error']);
      expect(res.body.error).toMatch(message);
    }
    const unknown = await search('no-such-agent', { query: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/not found/);
    const noAuth = await fetch(`${t.baseUrl}/goclaw/v1/agents/mem-hybrid/memory/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'x' }),
    });
    expect(noAuth.status).toBe(401);
    const broken = await fetch(`${t.baseUrl}/goclaw/v1/agents/mem-hybrid/memory/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer}` },
      body: '{"query": ',
    });
    expect(broken.status).toBe(400);
    expect(Object.keys(await broken.json())).toEqual(['error']);
    for (const q of ['limit=0', 'limit=x', 'offset=-1']) {
      const res = await call('GET', `/v1/memory/documents?${q}`, { token: viewer });
      expect(res.status, q).toBe(400);
    }
    expect((await call('GET', '/v1/memory/documents?agent_id=nobody', { token: viewer })).status).toBe(404);

    // Writes need the operator role; bad documents are typed errors.
    const asViewer = await gql(
      t.baseUrl,
      TestUpsertGoClawMemoryDocumentDocument,
      {
        agentId: 'mem-hybrid',
        input: { path: 'x.md', content: 'x' },
      },
      viewer,
    );
    expect(asViewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const nul = await gql(
      t.baseUrl,
      TestUpsertGoClawMemoryDocumentDocument,
      {
        agentId: 'mem-fts',
        input: { path: 'x.md', content: 'a\u0000b' },
      },
      operator,
    );
    expect(nul.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    for (const input of [
      { path: '', content: 'x' },
      { path: 'p'.repeat(513), content: 'x' },
      { path: 'x.md', content: 'x', userId: 'u'.repeat(256) },
    ]) {
      const res = await gql(t.baseUrl, TestUpsertGoClawMemoryDocumentDocument, { agentId: 'mem-fts', input }, operator);
      expect(res.body.data?.upsertGoClawMemoryDocument.__typename, JSON.stringify(res).slice(0, 200)).toBe(
        'GoClawBadRequestError',
      );
    }
  });
});

describe('GoClaw memory tools in runs', () => {
  it('lets the model save, search and read memory, and walk the knowledge graph', async () => {
    llm.script(
      {
        toolCalls: [
          {
            name: 'memory_save',
            arguments: { path: 'notes/vpn.md', content: 'VPN access\nAsk the helpdesk for a hardware token.' },
          },
        ],
      },
      { toolCalls: [{ name: 'memory_search', arguments: { query: 'hardware token helpdesk', limit: 1 } }] },
      { toolCalls: [{ name: 'memory_get', arguments: { path: 'notes/vpn.md', from_line: 2 } }] },
      { toolCalls: [{ name: 'knowledge_graph_search', arguments: { query: 'nothing here' } }] },
      { text: 'Ask the helpdesk.' },
    );
    const before = llm.requests.length;
    const woke = await call('POST', '/v1/agents/mem-hybrid/wake', {
      token: operator,
      body: { message: 'How do I get VPN access?', user_id: 'u-9' },
    });
    expect(woke.status, JSON.stringify(woke.body)).toBe(200);
    expect(woke.body.content).toBe('Ask the helpdesk.');
    const chats = llm.requests.slice(before).filter((r) => r.path === '/chat/completions');
    expect(chats[0]?.body.tools.map((x: any) => x.function.name)).toEqual(
      expect.arrayContaining(['memory_search', 'memory_save', 'memory_get', 'knowledge_graph_search']),
    );
    const toolResult = (i: number) => JSON.parse(chats[i]?.body.messages.at(-1).content);
    expect(toolResult(1)).toEqual({ path: 'notes/vpn.md', chunks: 1, indexed: true });
    const found = toolResult(2);
    expect(found.mode).toBe('hybrid');
    expect(found.results).toHaveLength(1);
    expect(found.results[0]).toMatchObject({ path: 'notes/vpn.md', start_line: 1, end_line: 2, source: 'vector+fts' });
    expect(toolResult(3)).toMatchObject({
      from_line: 2,
      to_line: 2,
      total_lines: 2,
      text: 'Ask the helpdesk for a hardware token.',
    });
    expect(toolResult(4)).toEqual([]);
    // What the model saved is the agent's memory, searchable over REST.
    const rest = await search('mem-hybrid', { query: 'hardware token' });
    expect(rest.body.results[0]).toMatchObject({ path: 'notes/vpn.md', scope: 'global' });
  });
});

describe('GoClaw memory without pgvector, bounded', () => {
  let small: TestApp;
  afterAll(async () => {
    await small?.close();
  });

  it('scans at most ATRIUM_GOCLAW_MEMORY_EXACT_MAX_CHUNKS chunks (the newest documents’) and says so', async () => {
    small = await startTestApp({
      ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
      ATRIUM_GOCLAW_PGVECTOR: 'off',
      ATRIUM_GOCLAW_MEMORY_EXACT_MAX_CHUNKS: '1',
      ATRIUM_GOCLAW_EMBEDDING_PROVIDER: 'p-global',
      ATRIUM_GOCLAW_EMBEDDING_MODEL: 'standin-embed',
    });
    const c = goclawClient(small, contract);
    expect(
      (
        await c('POST', '/v1/providers', {
          body: { name: 'p-global', provider_type: 'openai_compat', api_base: llm.openaiBase },
        })
      ).status,
    ).toBe(201);
    // No memory_config: the global embedding configuration applies.
    expect(
      (await c('POST', '/v1/agents', { headers: { 'x-goclaw-user-id': 'o' }, body: { name: 'small' } })).status,
    ).toBe(201);
    const write = (path: string, content: string) =>
      gql(
        small.baseUrl,
        TestUpsertGoClawMemoryDocumentDocument,
        { agentId: 'small', input: { path, content } },
        small.adminKey,
      );
    await write('old.md', 'Deployments of the billing service.');
    await new Promise((r) => setTimeout(r, 20));
    await write('new.md', 'Lunch is pasta on Mondays.');
    const res = await c('POST', '/v1/agents/small/memory/search', { body: { query: 'deploying' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      mode: 'hybrid',
      vector_backend: 'exact',
      embedding_model: 'p-global/standin-embed',
    });
    expect(res.body.note).toBe(
      'exact vector ranking scanned 1 of 2 chunks (those of the most recently updated documents)',
    );
    // Only the newest document's chunk was ranked by vector; the older one is out of the scan.
    expect(res.body.results.map((r: any) => [r.path, r.source])).toEqual([['new.md', 'vector']]);
  });
});
