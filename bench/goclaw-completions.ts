// GoClaw chat completions against the same loopback LLM stand-in, through GoClaw vs straight to the stand-in:
//   1. non-streamed: added p50 (and p99) latency per completion;
//   2. streamed: added time to first token (first content chunk);
//   3. 100 concurrent streamed runs through GoClaw: errors, wall time, the server process's RSS before and after.
// Servers run in a child process (bench/goclaw-servers.ts): app and stand-in share it, so both paths pay the
// stand-in's cost on the same event loop; this process only sends. Requests are sequential (one in flight) so
// latencies are not queueing; direct and GoClaw samples are interleaved over rounds.
//
//   npm run bench:goclaw              # defaults: 5 rounds x 300 requests per path, 100 concurrent streams
//   BENCH_ROUNDS=3 BENCH_REQUESTS=200 BENCH_STREAMS=100 npm run bench:goclaw
//   BENCH_DB=postgres npm run bench:goclaw   # the platform database on the local PostgreSQL instead of PGlite
import '../src/node-guard.ts';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const perRound = Number(process.env.BENCH_REQUESTS ?? 300);
const streams = Number(process.env.BENCH_STREAMS ?? 100);

// BENCH_SERVER_NODE_ARGS: extra flags for the servers' node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
const serverArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(
  process.execPath,
  [...serverArgs, '--import', 'tsx', new URL('./goclaw-servers.ts', import.meta.url).pathname],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const { appUrl, standinUrl, adminKey, db } = await new Promise<{
  appUrl: string;
  standinUrl: string;
  adminKey: string;
  db: string;
}>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`bench servers exited (${code})`)));
  createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
});

const app = new Pool(appUrl, { connections: streams, pipelining: 1 });
const direct = new Pool(standinUrl, { connections: streams, pipelining: 1 });
const messages = [{ role: 'user', content: 'Say something short about benchmarks.' }];

interface Target {
  name: string;
  pool: Pool;
  path: string;
  headers: Record<string, string>;
  body(stream: boolean): string;
}
const targets: Target[] = [
  {
    name: 'direct to stand-in',
    pool: direct,
    path: '/openai/v1/chat/completions',
    headers: { authorization: 'Bearer bench-key', 'content-type': 'application/json' },
    body: (stream) => JSON.stringify({ model: 'standin-small', messages, stream }),
  },
  {
    name: 'through GoClaw',
    pool: app,
    path: '/goclaw/v1/chat/completions',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: (stream) => JSON.stringify({ model: 'bench/standin-small', messages, stream }),
  },
];

async function once(t: Target): Promise<number> {
  const start = performance.now();
  const res = await t.pool.request({ method: 'POST', path: t.path, headers: t.headers, body: t.body(false) });
  const text = await res.body.text();
  if (res.statusCode !== 200 || !text.includes('echo:'))
    throw new Error(`${t.name}: ${res.statusCode} ${text.slice(0, 200)}`);
  return performance.now() - start;
}

/** Time to the first content delta of a streamed completion; reads the rest. */
async function firstToken(t: Target): Promise<number> {
  const start = performance.now();
  const res = await t.pool.request({ method: 'POST', path: t.path, headers: t.headers, body: t.body(true) });
  if (res.statusCode !== 200) throw new Error(`${t.name}: ${res.statusCode} ${await res.body.text()}`);
  let first = 0;
  let seen = '';
  for await (const chunk of res.body) {
    seen += chunk.toString();
    if (!first && /"content":"[^"]/.test(seen)) first = performance.now() - start;
  }
  if (!first || !seen.includes('[DONE]')) throw new Error(`${t.name}: stream without content or [DONE]`);
  return first;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const ms = (x: number) => `${x.toFixed(3)} ms`;

// Warm-up: connections, JIT, the provider's pinned agent.
for (const t of targets) for (let i = 0; i < 100; i++) await once(t);
for (const t of targets) for (let i = 0; i < 30; i++) await firstToken(t);

const samples: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
const ttft: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
    for (let i = 0; i < perRound; i++) samples[t.name]?.push(await once(t));
    for (let i = 0; i < Math.max(20, perRound / 5); i++) ttft[t.name]?.push(await firstToken(t));
  }
}

const rss = () => {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
};
const rssBefore = rss();
const concurrentStart = performance.now();
const outcomes = await Promise.allSettled(Array.from({ length: streams }, () => firstToken(targets[1] as Target)));
const concurrentMs = performance.now() - concurrentStart;
const errors = outcomes.filter((o) => o.status === 'rejected').length;
const rssAfter = rss();

const [d, g] = targets.map((t) => t.name) as [string, string];
const p50 = (name: string, from = samples) => pct(from[name] as number[], 50);
console.log(
  `\nGoClaw chat completions vs the same stand-in (${db}; ${rounds} rounds, ${perRound} requests per path per round)\n`,
);
console.log('| measure | direct to stand-in | through GoClaw | added |');
console.log('| --- | --- | --- | --- |');
console.log(`| non-streamed p50 | ${ms(p50(d))} | ${ms(p50(g))} | ${ms(p50(g) - p50(d))} |`);
console.log(
  `| non-streamed p99 | ${ms(pct(samples[d] as number[], 99))} | ${ms(pct(samples[g] as number[], 99))} | ${ms(pct(samples[g] as number[], 99) - pct(samples[d] as number[], 99))} |`,
);
console.log(
  `| streamed time to first token p50 | ${ms(p50(d, ttft))} | ${ms(p50(g, ttft))} | ${ms(p50(g, ttft) - p50(d, ttft))} |`,
);
console.log(
  `\n${streams} concurrent streamed runs through GoClaw: ${errors} errors, ${concurrentMs.toFixed(0)} ms wall, server RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB`,
);

await app.close();
await direct.close();
child.kill('SIGTERM');
process.exit(errors > 0 ? 1 : 0);
