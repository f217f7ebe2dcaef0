// Athena's gateway against its peers, on the same tables of the local PostgreSQL (issue 11, item 9):
//   raw pg     node-postgres Pool in this process running the equivalent SQL: the floor;
//   PostGraphile v5 with its Amber preset on its own grafserv node server;
//   Atrium     REST `/athena/gateway/fetch`, `/athena/rest/v1/posts` and GraphQL `athenaRows`.
// Servers run in a child process (bench/athena-servers.ts, which creates and drops the bench databases); this
// process only generates load over keep-alive connections (undici). Every scenario is checked once before it is
// measured and every measured response is checked cheaply (status and shape), so errors are never timed. Scenarios
// are interleaved over several rounds, at concurrency 1 (p50/p90, req/s) and 32 (req/s); the median round is kept.
//
//   npm run bench:athena                          # 5 rounds x 2 s per scenario and concurrency
//   BENCH_ROUNDS=3 BENCH_SECONDS=1 npm run bench:athena
//   BENCH_PLATFORM=pglite npm run bench:athena    # Atrium's platform database (API keys) on PGlite
//   BENCH_ONLY=rest npm run bench:athena          # only scenarios whose name contains this (plus the peers);
//                                                 # `=name` for exactly one, e.g. BENCH_ONLY='=Atrium rest/v1  by id'
//   BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench:athena   # profile the servers
import '../src/node-guard.ts';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { print } from 'graphql';
import pg from 'pg';
import { Pool } from 'undici';
import { AthenaReadRowsDocument } from '../rest-shim/generated/graphql.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const concurrencies = [1, 32] as const;
type Concurrency = (typeof concurrencies)[number];

interface ServerInfo {
  appUrl: string;
  postgraphileUrl: string;
  adminKey: string;
  clientKey: string;
  clientName: string;
  dataUrl: string;
  platform: string;
  shape: { authors: number; posts: number; scores: number };
}

// BENCH_SERVER_NODE_ARGS: extra flags for the servers' node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
const serverArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(
  process.execPath,
  [...serverArgs, '--import', 'tsx', new URL('./athena-servers.ts', import.meta.url).pathname],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    // As a deployment runs: NODE_ENV=production changes graphql-js (no dev-mode instanceOf checks) and Prisma (no
    // call-site capture per query), and both servers get it.
    env: { ...process.env, NODE_ENV: 'production', GRAPHILE_ENV: 'production' },
  },
);
const info = await new Promise<ServerInfo>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`bench servers exited (${code})`)));
  createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
});
const { shape } = info;

const maxConcurrency = Math.max(...concurrencies);
const atrium = new Pool(info.appUrl, { connections: maxConcurrency, pipelining: 1 });
const postgraphile = new Pool(info.postgraphileUrl, { connections: maxConcurrency, pipelining: 1 });
// The floor gets the same pool size as Atrium's client pools and PostGraphile's (10).
const raw = new pg.Pool({ connectionString: info.dataUrl, max: 10 });

/** One request of a scenario; `n` varies the id (or the filter value) from request to request. */
type Exchange = (n: number) => Promise<{ status: number; body: string }>;

interface Scenario {
  name: string;
  /** by-id or list: the family the ratios compare within. */
  kind: 'by-id' | 'list';
  run: Exchange;
  /** The full check, once before measuring: throws unless the answer is the expected rows. */
  verify(n: number, status: number, body: string): void;
  /** The cheap check of every measured answer. */
  ok(status: number, body: string): boolean;
}

const idOf = (n: number) => 1 + ((n * 7919) % shape.posts);
const scoreOf = (n: number) => n % shape.scores;
const postColumns = ['id', 'author_id', 'title', 'body', 'created_at', 'score'];

function http(
  pool: Pool,
  method: 'GET' | 'POST',
  path: (n: number) => string,
  headers: Record<string, string>,
  body?: (n: number) => string,
): Exchange {
  return async (n) => {
    const res = await pool.request({ method, path: path(n), headers, body: body?.(n) });
    return { status: res.statusCode, body: await res.body.text() };
  };
}

function expectPost(n: number, row: Record<string, unknown> | undefined, keys: string[]) {
  const id = idOf(n);
  if (!row || Number(row.id ?? row.rowId) !== id || row.title !== `post ${id}`) {
    throw new Error(`expected post ${id}, got ${JSON.stringify(row)}`);
  }
  for (const k of keys) if (!(k in row)) throw new Error(`post ${id} lacks ${k}: ${JSON.stringify(row)}`);
}

function expectList(
  n: number,
  rows: Record<string, unknown>[] | undefined,
  author: (r: Record<string, unknown>) => unknown,
) {
  const score = scoreOf(n);
  if (rows?.length !== 100) throw new Error(`expected 100 rows for score ${score}, got ${rows?.length}`);
  for (const r of rows) {
    const name = author(r);
    if (typeof name !== 'string' || !name.startsWith('author '))
      throw new Error(`row without author: ${JSON.stringify(r)}`);
  }
  const ids = rows.map((r) => Number(r.id ?? r.rowId));
  if (ids.some((id, i) => i > 0 && id <= (ids[i - 1] as number))) throw new Error('rows not ordered by id');
}

const athenaHeaders = (key: string) => ({ apikey: key, 'x-athena-client': info.clientName });
const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json' };
const graphqlHeaders = (key: string) => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/json',
  accept: 'application/graphql-response+json',
});

// Atrium's GraphQL reads: the document the REST shim runs, sent over HTTP.
const readRows = print(AthenaReadRowsDocument);
const byIdVariables = (n: number) => ({
  client: info.clientName,
  table: 'posts',
  filter: { column: 'id', op: 'EQ', value: idOf(n) },
  first: 1,
});
const listVariables = (n: number) => ({
  client: info.clientName,
  table: 'posts',
  select: [{ column: 'id' }, { column: 'title' }, { embed: { relation: 'authors', select: [{ column: 'name' }] } }],
  filter: { column: 'score', op: 'EQ', value: scoreOf(n) },
  orderBy: [{ column: 'id' }],
  first: 100,
});
type AthenaRowsAnswer = { data?: { athenaRows?: { __typename: string; data?: { rows: Record<string, unknown>[] } } } };
const athenaRowsOf = (body: string) => {
  const parsed = JSON.parse(body) as AthenaRowsAnswer;
  if (parsed.data?.athenaRows?.__typename !== 'QueryAthenaRowsSuccess')
    throw new Error(`GraphQL: ${body.slice(0, 300)}`);
  return parsed.data.athenaRows.data?.rows;
};
const graphqlOk = (status: number, body: string) => status === 200 && body.includes('"QueryAthenaRowsSuccess"');

const pgByIdSql = `SELECT ${postColumns.join(', ')} FROM posts WHERE id = $1`;
// What PostgREST's embed means, as plain SQL: the row and its author's name, 100 of them by id.
const pgListSql = `SELECT p.id, p.title, json_build_object('name', a.name) AS authors
  FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.score = $1 ORDER BY p.id LIMIT 100`;

const postgraphileById = `query($id: Int!) { postByRowId(rowId: $id) { rowId authorId title body createdAt score } }`;
const postgraphileList = `query($score: Int!) {
  allPosts(first: 100, condition: { score: $score }, orderBy: PRIMARY_KEY_ASC) { nodes { rowId title authorByAuthorId { name } } }
}`;

function restById(key: string): Exchange {
  return http(atrium, 'GET', (n) => `/athena/rest/v1/posts?id=eq.${idOf(n)}`, athenaHeaders(key));
}
function fetchById(key: string): Exchange {
  return http(
    atrium,
    'POST',
    () => '/athena/gateway/fetch',
    { ...athenaHeaders(key), ...jsonHeaders },
    (n) => JSON.stringify({ table_name: 'posts', conditions: [{ eq_column: 'id', eq_value: String(idOf(n)) }] }),
  );
}
const restRows = (body: string) => (JSON.parse(body) as { data: Record<string, unknown>[] }).data;

const scenarios: Scenario[] = [
  {
    name: 'raw pg          by id',
    kind: 'by-id',
    run: async (n) => {
      const r = await raw.query(pgByIdSql, [idOf(n)]);
      return { status: r.rowCount === 1 ? 200 : 404, body: JSON.stringify(r.rows) };
    },
    verify: (n, _s, body) => expectPost(n, (JSON.parse(body) as Record<string, unknown>[])[0], postColumns),
    ok: (status) => status === 200,
  },
  {
    name: 'PostGraphile    by id',
    kind: 'by-id',
    run: http(
      postgraphile,
      'POST',
      () => '/graphql',
      jsonHeaders,
      (n) => JSON.stringify({ query: postgraphileById, variables: { id: idOf(n) } }),
    ),
    verify: (n, status, body) => {
      if (status !== 200) throw new Error(`PostGraphile ${status}: ${body}`);
      const row = (JSON.parse(body) as { data?: { postByRowId?: Record<string, unknown> } }).data?.postByRowId;
      expectPost(n, row, ['rowId', 'authorId', 'title', 'body', 'createdAt', 'score']);
    },
    ok: (status, body) => status === 200 && body.includes('"postByRowId":{'),
  },
  {
    name: 'Atrium fetch    by id',
    kind: 'by-id',
    run: fetchById(info.clientKey),
    verify: (n, status, body) => {
      if (status !== 200) throw new Error(`/gateway/fetch ${status}: ${body}`);
      expectPost(n, restRows(body)[0], postColumns);
    },
    ok: (status) => status === 200,
  },
  {
    name: 'Atrium rest/v1  by id',
    kind: 'by-id',
    run: restById(info.clientKey),
    verify: (n, status, body) => {
      if (status !== 200) throw new Error(`/rest/v1 ${status}: ${body}`);
      expectPost(n, restRows(body)[0], postColumns);
    },
    ok: (status) => status === 200,
  },
  {
    name: 'Atrium GraphQL  by id',
    kind: 'by-id',
    run: http(
      atrium,
      'POST',
      () => '/graphql',
      graphqlHeaders(info.clientKey),
      (n) => JSON.stringify({ query: readRows, variables: byIdVariables(n) }),
    ),
    verify: (n, status, body) => {
      if (status !== 200) throw new Error(`GraphQL ${status}: ${body}`);
      expectPost(n, athenaRowsOf(body)?.[0], postColumns);
    },
    ok: graphqlOk,
  },
  {
    name: 'Atrium rest/v1  by id, admin key',
    kind: 'by-id',
    run: restById(info.adminKey),
    verify: (n, status, body) => {
      if (status !== 200) throw new Error(`/rest/v1 admin ${status}: ${body}`);
      expectPost(n, restRows(body)[0], postColumns);
    },
    ok: (status) => status === 200,
  },
  {
    name: 'raw pg          list',
    kind: 'list',
    run: async (n) => {
      const r = await raw.query(pgListSql, [scoreOf(n)]);
      return { status: 200, body: JSON.stringify(r.rows) };
    },
    verify: (n, _s, body) => expectList(n, JSON.parse(body), (r) => (r.authors as { name?: string } | undefined)?.name),
    ok: (status) => status === 200,
  },
  {
    name: 'PostGraphile    list',
    kind: 'list',
    run: http(
      postgraphile,
      'POST',
      () => '/graphql',
      jsonHeaders,
      (n) => JSON.stringify({ query: postgraphileList, variables: { score: scoreOf(n) } }),
    ),
    verify: (n, status, body) => {
      if (status !== 200) throw new Error(`PostGraphile ${status}: ${body}`);
      const nodes = (JSON.parse(body) as { data?: { allPosts?: { nodes: Record<string, unknown>[] } } }).data?.allPosts
        ?.nodes;
      expectList(n, nodes, (r) => (r.authorByAuthorId as { name?: string } | undefined)?.name);
    },
    ok: (status, body) => status === 200 && body.includes('"nodes":['),
  },
  {
    name: 'Atrium rest/v1  list',
    kind: 'list',
    run: http(
      atrium,
      'GET',
      (n) => `/athena/rest/v1/posts?select=id,title,authors(name)&score=eq.${scoreOf(n)}&order=id&limit=100`,
      athenaHeaders(info.clientKey),
    ),
    verify: (n, status, body) => {
      if (status !== 200) throw new Error(`/rest/v1 list ${status}: ${body}`);
      expectList(n, restRows(body), (r) => (r.authors as { name?: string } | undefined)?.name);
    },
    ok: (status) => status === 200,
  },
  {
    // The brief's `score=gt.X` form (PostGraphile's Amber preset has no range conditions, so no peer ratio).
    name: 'Atrium rest/v1  list, score=gt',
    kind: 'list',
    run: http(
      atrium,
      'GET',
      (n) => `/athena/rest/v1/posts?select=id,title,authors(name)&score=gt.${scoreOf(n) % 50}&order=id&limit=100`,
      athenaHeaders(info.clientKey),
    ),
    verify: (_n, status, body) => {
      if (status !== 200 || restRows(body).length !== 100) throw new Error(`/rest/v1 list gt ${status}: ${body}`);
    },
    ok: (status) => status === 200,
  },
  {
    name: 'Atrium GraphQL  list',
    kind: 'list',
    run: http(
      atrium,
      'POST',
      () => '/graphql',
      graphqlHeaders(info.clientKey),
      (n) => JSON.stringify({ query: readRows, variables: listVariables(n) }),
    ),
    verify: (n, status, body) => {
      if (status !== 200) throw new Error(`GraphQL ${status}: ${body}`);
      expectList(n, athenaRowsOf(body), (r) => (r.authors as { name?: string } | undefined)?.name);
    },
    ok: graphqlOk,
  },
];

const only = process.env.BENCH_ONLY;
const selected = scenarios.filter(
  (s) =>
    !only ||
    (only.startsWith('=') ? s.name.trim() === only.slice(1) : s.name.includes(only)) ||
    s.name.startsWith('raw pg') ||
    s.name.startsWith('PostGraphile'),
);

interface Measurement {
  rps: number;
  p50: number;
  p90: number;
  /** Answers that failed the cheap check (a run with any is reported, and its ratios are not to be trusted). */
  bad: number;
  /** CPU the servers' process spent per answer, in µs (user + system; NaN where the servers do not serve it). */
  cpuUs: number;
}

// The servers' CPU time from /proc (Linux; clock ticks of 10 ms): unlike latency it hardly moves when other work
// shares the machine, so it is the steadier figure for comparing the cost of one answer (USER_HZ is 100 on Linux).
function serverCpuMs(): number {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

let counter = 0;
async function measure(s: Scenario, concurrency: number, durationMs: number): Promise<Measurement> {
  const latencies: number[] = [];
  let bad = 0;
  const cpuBefore = serverCpuMs();
  const deadline = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const n = counter++;
        const start = performance.now();
        const { status, body } = await s.run(n);
        latencies.push(performance.now() - start);
        if (!s.ok(status, body)) bad++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const cpuUs = s.name.startsWith('raw pg') ? Number.NaN : ((serverCpuMs() - cpuBefore) * 1000) / latencies.length;
  return { rps: latencies.length / (durationMs / 1000), p50: q(0.5), p90: q(0.9), bad, cpuUs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

try {
  for (const s of selected) {
    for (const n of [0, 1, 2]) {
      const { status, body } = await s.run(n);
      s.verify(n, status, body);
    }
    for (const c of concurrencies) await measure(s, c, 700); // warm-up: JIT, pools, plan and catalog caches
  }

  const results = new Map<string, Measurement[]>();
  const key = (s: Scenario, c: Concurrency) => `${s.name}@${c}`;
  for (let r = 0; r < rounds; r++) {
    for (const c of concurrencies) {
      for (const s of selected) {
        results.set(key(s, c), [...(results.get(key(s, c)) ?? []), await measure(s, c, seconds * 1000)]);
      }
    }
  }
  const summary = new Map(
    selected.map((s) => {
      const at = (c: Concurrency) => {
        const ms = results.get(key(s, c)) ?? [];
        return {
          rps: median(ms.map((m) => m.rps)),
          p50: median(ms.map((m) => m.p50)),
          p90: median(ms.map((m) => m.p90)),
          bad: ms.reduce((n, m) => n + m.bad, 0),
          cpuUs: median(ms.map((m) => m.cpuUs)),
        };
      };
      return [s.name, { kind: s.kind, c1: at(1), c32: at(32) }] as const;
    }),
  );

  console.log(
    `node ${process.version}, client database and PostGraphile on the local PostgreSQL, Atrium platform on ${info.platform}; ` +
      `${shape.posts} posts / ${shape.authors} authors; ${rounds} rounds x ${seconds} s per scenario and concurrency (median round)`,
  );
  console.log(
    `${'scenario'.padEnd(34)} ${'c=1 req/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p90 ms'.padStart(8)} ${'c=32 req/s'.padStart(11)} ${'cpu µs/req'.padStart(11)}  bad`,
  );
  for (const [name, s] of summary) {
    console.log(
      `${name.padEnd(34)} ${s.c1.rps.toFixed(0).padStart(10)} ${s.c1.p50.toFixed(3).padStart(8)} ${s.c1.p90.toFixed(3).padStart(8)} ${s.c32.rps.toFixed(0).padStart(11)} ${(Number.isNaN(s.c32.cpuUs) ? '-' : s.c32.cpuUs.toFixed(0)).padStart(11)}  ${s.c1.bad + s.c32.bad}`,
    );
  }

  const get = (name: string) => summary.get(name);
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const pgById = get('raw pg          by id');
  const pglById = get('PostGraphile    by id');
  const pglList = get('PostGraphile    list');
  console.log('\nratios (goal in brackets)');
  for (const name of ['Atrium fetch    by id', 'Atrium rest/v1  by id', 'Atrium rest/v1  by id, admin key']) {
    const s = get(name);
    if (!s || !pglById || !pgById) continue;
    console.log(
      `${name.trim()}: p50 / PostGraphile p50 ${x(s.c1.p50, pglById.c1.p50)} [<= 1]; ` +
        `p50 - raw pg p50 ${(s.c1.p50 - pgById.c1.p50).toFixed(3)} ms [<= 0.5]; ` +
        `req/s / PostGraphile c=1 ${x(s.c1.rps, pglById.c1.rps)}, c=32 ${x(s.c32.rps, pglById.c32.rps)} [>= 1]`,
    );
  }
  const restList = get('Atrium rest/v1  list');
  if (restList && pglList) {
    console.log(
      `rest/v1 list: req/s / PostGraphile list c=1 ${x(restList.c1.rps, pglList.c1.rps)}, c=32 ${x(restList.c32.rps, pglList.c32.rps)} [>= 1]; ` +
        `p50 / PostGraphile p50 ${x(restList.c1.p50, pglList.c1.p50)}`,
    );
  }
  const gqlById = get('Atrium GraphQL  by id');
  const restById1 = get('Atrium rest/v1  by id');
  const fetchById1 = get('Atrium fetch    by id');
  const gqlList = get('Atrium GraphQL  list');
  if (gqlById && restById1 && fetchById1) {
    console.log(
      `GraphQL by id: p50 / rest/v1 p50 ${x(gqlById.c1.p50, restById1.c1.p50)}, / fetch p50 ${x(gqlById.c1.p50, fetchById1.c1.p50)} [<= 1.2]`,
    );
  }
  if (gqlList && restList)
    console.log(`GraphQL list: p50 / rest/v1 list p50 ${x(gqlList.c1.p50, restList.c1.p50)} [<= 1.2]`);
  const adminById = get('Atrium rest/v1  by id, admin key');
  if (adminById && restById1) {
    console.log(`client key / admin key (rest/v1 by id): p50 ${x(restById1.c1.p50, adminById.c1.p50)}`);
  }
  if (pglById && pglList) {
    console.log(
      `PostGraphile here vs the issue's figures: by id ${pglById.c1.rps.toFixed(0)} req/s p50 ${pglById.c1.p50.toFixed(2)} ms (issue: 955, 0.80); ` +
        `list ${pglList.c1.rps.toFixed(0)} req/s c=1, ${pglList.c32.rps.toFixed(0)} c=32 (issue: 336, 645)`,
    );
  }
  const bad = [...summary.values()].reduce((n, s) => n + s.c1.bad + s.c32.bad, 0);
  if (bad > 0) console.log(`WARNING: ${bad} measured answers failed their check; the numbers above include them`);
} finally {
  await atrium.close();
  await postgraphile.close();
  await raw.end();
  // The child drops the bench databases on SIGTERM; wait for it so none is left behind.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
