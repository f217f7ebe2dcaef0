// End-to-end latency of running `1+1` through mcp-v8 REST (submit + poll) and through GraphQL (mutation +
// executionStatusChanged over graphql-ws), against evaluating it in a bare isolated-vm isolate in this process
// (fresh isolate + context per run, the same work a sandbox worker does), all in the same run; throughput with
// 1, 4 and 16 concurrent REST clients; RSS of each idle sandbox worker.
//
//   npm run bench:runtime        (= node --no-node-snapshot --import tsx bench/runtime-exec.ts, on the project's Node)
//   BENCH_SAMPLES=200 BENCH_SECONDS=3 ATRIUM_RUNTIME_WORKERS=2 npm run bench:runtime
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<empty db> npm run bench:runtime
import '../src/node-guard.ts';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient } from 'graphql-ws';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { randomHex } from '../src/core/auth/secrets.ts';

if (!process.execArgv.includes('--no-node-snapshot') && !process.env.NODE_OPTIONS?.includes('--no-node-snapshot')) {
  console.error('run with: npm run bench:runtime (node --no-node-snapshot: isolated-vm needs it)');
  process.exit(2);
}

const samples = Number(process.env.BENCH_SAMPLES ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const workers = process.env.ATRIUM_RUNTIME_WORKERS ?? '2';

const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-bench-rt-'));
const adminKey = `bench-admin-${randomHex(24)}`;
const app = await createApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_ADMIN_KEY: adminKey,
    ATRIUM_RUNTIME_WORKERS: workers,
    // Default: embedded PGlite (every write is a WASM Postgres commit to disk); DATABASE_URL: a real Postgres.
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  }),
);
const baseUrl = await app.listen(0, '127.0.0.1');
const auth = { authorization: `Bearer ${adminKey}` };

// The REST client: undici's Pool (keep-alive, no WHATWG streams), so client-side cost stays small next to the
// server's; `restFetch` repeats the measurement with global fetch, whose own overhead is about 0.3 ms a request.
const client = new Pool(baseUrl, { connections: 16 });

async function restRun(code: string): Promise<void> {
  const res = await client.request({
    method: 'POST',
    path: '/mcp-v8/api/exec',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  const { execution_id: id } = (await res.body.json()) as { execution_id: string };
  for (;;) {
    const poll = await client.request({ method: 'GET', path: `/mcp-v8/api/executions/${id}`, headers: auth });
    const info = (await poll.body.json()) as { status: string; result: string };
    if (info.status !== 'running') {
      if (info.result !== '2') throw new Error(`unexpected ${JSON.stringify(info)}`);
      return;
    }
  }
}

async function restFetchRun(code: string): Promise<void> {
  const res = await fetch(`${baseUrl}/mcp-v8/api/exec`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  const { execution_id: id } = (await res.json()) as { execution_id: string };
  for (;;) {
    const info = (await (await fetch(`${baseUrl}/mcp-v8/api/executions/${id}`, { headers: auth })).json()) as {
      status: string;
      result: string;
    };
    if (info.status !== 'running') {
      if (info.result !== '2') throw new Error(`unexpected ${JSON.stringify(info)}`);
      return;
    }
  }
}

const ws = createClient({
  url: `${baseUrl.replace('http', 'ws')}/graphql`,
  webSocketImpl: WebSocket,
  connectionParams: auth,
  retryAttempts: 0,
  // One connection for the whole run, as an application keeps it: the default (lazy) client closes the socket
  // whenever no operation is active and would reconnect (HTTP upgrade + connection_init) for every run.
  lazy: false,
});

async function graphqlRun(code: string): Promise<void> {
  const started = await new Promise<{ uuid: string }>((resolve, reject) => {
    ws.subscribe<{ runExecution: { data: { uuid: string } } }>(
      {
        query:
          'mutation R($code: String!) { runExecution(input: {code: $code}) { ... on MutationRunExecutionSuccess { data { uuid } } } }',
        variables: { code },
      },
      {
        next: (r) => (r.data ? resolve(r.data.runExecution.data) : reject(r.errors)),
        error: reject,
        complete: () => {},
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    ws.subscribe<{ executionStatusChanged: { status: string; result: string } }>(
      {
        query: 'subscription S($uuid: String!) { executionStatusChanged(uuid: $uuid) { status result } }',
        variables: { uuid: started.uuid },
      },
      {
        next: (r) => {
          const s = r.data?.executionStatusChanged;
          if (s && s.status !== 'running' && s.result !== '2') reject(new Error(JSON.stringify(s)));
        },
        error: reject,
        complete: resolve,
      },
    );
  });
}

const require = createRequire(import.meta.url);
const ivm: typeof import('isolated-vm') = require('isolated-vm');
const ivmVersion: string = require('isolated-vm/package.json').version;

async function bareRun(code: string): Promise<void> {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  const context = await isolate.createContext();
  const script = await isolate.compileScript(code);
  const result = await script.run(context, { copy: true });
  isolate.dispose();
  if (result !== 2) throw new Error(`unexpected ${result}`);
}

// The same, with the isolate and context made before the clock starts (what a warm sandbox worker has ready when
// a run arrives): only compile + run + dispose are timed.
let prepared:
  | {
      isolate: InstanceType<typeof ivm.Isolate>;
      context: Awaited<ReturnType<InstanceType<typeof ivm.Isolate>['createContext']>>;
    }
  | undefined;
async function prepareIsolate(): Promise<void> {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  prepared = { isolate, context: await isolate.createContext() };
}
async function bareWarmRun(code: string): Promise<void> {
  if (!prepared) await prepareIsolate();
  const { isolate, context } = prepared as NonNullable<typeof prepared>;
  const script = await isolate.compileScript(code);
  const result = await script.run(context, { copy: true });
  isolate.dispose();
  prepared = undefined;
  if (result !== 2) throw new Error(`unexpected ${result}`);
}

async function latency(fn: (code: string) => Promise<void>): Promise<{ p50: number; p90: number; p99: number }> {
  for (let i = 0; i < 10; i++) await fn('1+1');
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (fn === bareWarmRun) await prepareIsolate();
    const t0 = performance.now();
    await fn('1+1');
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) =>
    Math.round((times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0) * 100) / 100;
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99) };
}

async function throughput(concurrency: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await restRun('1+1');
        done++;
      }
    }),
  );
  return Math.round((done / seconds) * 10) / 10;
}

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

try {
  const bare = await latency(bareRun);
  const bareWarm = await latency(bareWarmRun);
  const rest = await latency(restRun);
  const restFetch = await latency(restFetchRun);
  const graphql = await latency(graphqlRun);
  const bare2 = await latency(bareRun);
  const rates: Record<string, number> = {};
  for (const c of [1, 4, 16]) rates[`c${c}`] = await throughput(c);
  await new Promise((r) => setTimeout(r, 500));
  const pids = app.services.runtime.sandbox().pids();
  const report = {
    node: process.version,
    database: process.env.DATABASE_URL ? 'postgres' : 'pglite',
    isolatedVm: ivmVersion,
    workers: Number(workers),
    samples,
    latencyMs: { bareIsolate: bare, bareIsolateAgain: bare2, bareWarmIsolate: bareWarm, rest, restFetch, graphql },
    addedP50Ms: {
      rest: Math.round((rest.p50 - bare.p50) * 100) / 100,
      restFetch: Math.round((restFetch.p50 - bare.p50) * 100) / 100,
      overWarmIsolate: {
        rest: Math.round((rest.p50 - bareWarm.p50) * 100) / 100,
        graphql: Math.round((graphql.p50 - bareWarm.p50) * 100) / 100,
      },
      graphql: Math.round((graphql.p50 - bare.p50) * 100) / 100,
    },
    restRunsPerSecond: rates,
    idleWorkerRssMb: pids.map((pid) => Math.round(rssKb(pid) / 102.4) / 10),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await ws.dispose();
  await client.close();
  await app.close();
  await rm(dataDir, { recursive: true, force: true });
}
