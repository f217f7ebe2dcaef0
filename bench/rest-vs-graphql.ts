// REST shim vs the same GraphQL operation over HTTP vs a bare yoga server answering a constant.
// Servers run in a child process (bench/servers.ts); this process only generates load over keep-alive
// connections, so both sides of each comparison share the same machine state. Scenarios are interleaved
// over several rounds and the median round is reported, as ratios: the numbers that matter are relative.
//
//   npm run bench                     # defaults: 5 rounds x 3 s per scenario, 8 concurrent requests
//   BENCH_ROUNDS=3 BENCH_SECONDS=2 BENCH_CONCURRENCY=4 npm run bench
//   BENCH_DB=postgres npm run bench   # the platform database on the local PostgreSQL instead of PGlite
//   BENCH_ONLY=GraphQL npm run bench  # only the scenarios whose name contains this (no ratios)
//   BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench   # profile the servers
import '../src/node-guard.ts';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { print } from 'graphql';
import { Pool } from 'undici';
import { GoClawListApiKeysDocument } from '../rest-shim/generated/graphql.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const seededKeys = 20;

const serverArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(
  process.execPath,
  [...serverArgs, '--import', 'tsx', new URL('./servers.ts', import.meta.url).pathname],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const { appUrl, bareUrl, adminKey, db } = await new Promise<{
  appUrl: string;
  bareUrl: string;
  adminKey: string;
  db: string;
}>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`bench servers exited (${code})`)));
  createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
});

const app = new Pool(appUrl, { connections: concurrency, pipelining: 1 });
const bare = new Pool(bareUrl, { connections: concurrency, pipelining: 1 });
const auth = `Bearer ${adminKey}`;

interface Scenario {
  name: string;
  pool: Pool;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Checked once before measuring so the benchmark cannot measure error responses. */
  verify(status: number, body: string): void;
}

// A GoClaw operator.admin API key: the same list authenticated the way product clients do (a key lookup per request).
let apiKeyAuth = '';

const listQuery = JSON.stringify({ query: print(GoClawListApiKeysDocument), variables: { first: 1000 } });
const allScenarios: Scenario[] = [
  {
    name: 'REST shim  GET /goclaw/v1/api-keys',
    pool: app,
    method: 'GET',
    path: '/goclaw/v1/api-keys',
    headers: { authorization: auth },
    verify: (status, body) => {
      if (status !== 200 || (JSON.parse(body) as unknown[]).length !== seededKeys) throw new Error(`REST ${status}`);
    },
  },
  {
    name: 'GraphQL    POST /graphql (same document)',
    pool: app,
    method: 'POST',
    path: '/graphql',
    headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: listQuery,
    verify: (status, body) => {
      const parsed = JSON.parse(body) as { data?: { apiKeys: { edges: unknown[] } } };
      if (status !== 200 || parsed.data?.apiKeys.edges.length !== seededKeys) throw new Error(`GraphQL ${status}`);
    },
  },
  {
    name: 'GraphQL    same, with a GoClaw API key',
    pool: app,
    method: 'POST',
    path: '/graphql',
    get headers() {
      return {
        authorization: apiKeyAuth,
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
      };
    },
    body: listQuery,
    verify: (status, body) => {
      const parsed = JSON.parse(body) as { data?: { apiKeys: { edges: unknown[] } } };
      if (status !== 200 || parsed.data?.apiKeys.edges.length !== seededKeys) throw new Error(`GraphQL key ${status}`);
    },
  },
  {
    name: 'bare yoga  POST /graphql { hello }',
    pool: bare,
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: '{ hello }' }),
    verify: (status, body) => {
      if (status !== 200 || !body.includes('world')) throw new Error(`bare ${status}`);
    },
  },
];

const only = process.env.BENCH_ONLY;
const scenarios = only ? allScenarios.filter((s) => s.name.includes(only)) : allScenarios;

async function once(s: Scenario): Promise<{ status: number; body: string }> {
  const res = await s.pool.request({ method: s.method, path: s.path, headers: s.headers, body: s.body });
  return { status: res.statusCode, body: await res.body.text() };
}

async function measure(s: Scenario, durationMs: number) {
  const latencies: number[] = [];
  const deadline = performance.now() + durationMs;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const start = performance.now();
        const { status } = await once(s);
        latencies.push(performance.now() - start);
        if (status !== 200) errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { rps: latencies.length / (durationMs / 1000), p50: q(0.5), p99: q(0.99), errors };
}

try {
  for (let i = 0; i < seededKeys; i++) {
    const res = await app.request({
      method: 'POST',
      path: '/goclaw/v1/api-keys',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench-${i}`, scopes: i === 0 ? ['operator.admin'] : ['operator.read'] }),
    });
    const created = JSON.parse(await res.body.text()) as { key?: string };
    if (res.statusCode !== 201) throw new Error(`seeding key ${i}: ${res.statusCode}`);
    if (i === 0) apiKeyAuth = `Bearer ${created.key}`;
  }
  for (const s of scenarios) {
    const { status, body } = await once(s);
    s.verify(status, body);
    await measure(s, 1000); // warm-up: JIT, connection pool, caches
  }

  const results = new Map<string, { rps: number; p50: number; p99: number; errors: number }[]>();
  for (let r = 0; r < rounds; r++) {
    for (const s of scenarios) {
      const m = await measure(s, seconds * 1000);
      results.set(s.name, [...(results.get(s.name) ?? []), m]);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const summary = scenarios.map((s) => {
    const ms = results.get(s.name) ?? [];
    return {
      name: s.name,
      rps: median(ms.map((m) => m.rps)),
      p50: median(ms.map((m) => m.p50)),
      p99: median(ms.map((m) => m.p99)),
      errors: ms.reduce((n, m) => n + m.errors, 0),
    };
  });
  console.log(
    `node ${process.version}, ${db}, ${rounds} rounds x ${seconds} s, concurrency ${concurrency}, ${seededKeys} keys`,
  );
  for (const s of summary) {
    console.log(
      `${s.name.padEnd(42)} ${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  non-200: ${s.errors}`,
    );
  }
  const [rest, graphql, graphqlKey, bareYoga] = (only ? [] : summary) as [
    (typeof summary)[0],
    (typeof summary)[0],
    (typeof summary)[0],
    (typeof summary)[0],
  ];
  if (!only) {
    console.log(
      `REST shim / GraphQL over HTTP:  p50 latency ${(rest.p50 / graphql.p50).toFixed(3)}x, throughput ${(rest.rps / graphql.rps).toFixed(3)}x  (target: latency <= 1.05x)`,
    );
    console.log(
      `GraphQL over HTTP / bare yoga:  p50 latency ${(graphql.p50 / bareYoga.p50).toFixed(3)}x, throughput ${(graphql.rps / bareYoga.rps).toFixed(3)}x  (goal: bare yoga / GraphQL throughput <= 4, today ${(bareYoga.rps / graphql.rps).toFixed(2)})`,
    );
    console.log(
      `API key / admin key (GraphQL):  p50 latency ${(graphqlKey.p50 / graphql.p50).toFixed(3)}x, throughput ${(graphqlKey.rps / graphql.rps).toFixed(3)}x`,
    );
  }
} finally {
  await app.close();
  await bare.close();
  child.kill('SIGTERM');
}
