// Managed storage throughput and memory (the embedded S3 issue): in one run, against one S3 server (the embedded
// s3rver of the Atrium server under test):
//   direct   PUT / GET of the object on the S3 server itself, through presigned URLs (signed before timing);
//   Atrium   PUT /athena/storage/files/{file_id}/upload and GET /athena/storage/files/{file_id}/proxy (G12), which
//            stream to and from that same S3 server;
// for 1 MiB and 64 MiB objects, sequential transfers (concurrency 1), throughput in MiB/s and the ratio
// Atrium/direct. Then the presigned-URL issue latency of POST /athena/storage/objects/url (G11; p50/p90), and an
// RSS probe: one 1 GiB upload and download (direct, then through Atrium) while the server's VmRSS is sampled
// from /proc/<pid>/status every 10 ms, printing the growth over the idle baseline.
//
// The server is a child process (bench/athena-storage-server.ts, which creates and drops its bench database on
// the local PostgreSQL); this process generates the load with undici. Every transfer is checked (status, byte
// count; the first of each kind and the 1 GiB probe also by MD5), so a failure is never timed.
//
//   npm run bench:storage                                 # 3 rounds
//   BENCH_ROUNDS=1 BENCH_PROBE_MIB=256 npm run bench:storage
//   BENCH_SKIP_PROBE=1 npm run bench:storage              # throughput and presign only
//   BENCH_PLATFORM=pglite npm run bench:storage           # Atrium's platform database on PGlite
//   BENCH_ONLY=Atrium BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench:storage
import '../src/node-guard.ts';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Pool } from 'undici';

const MiB = 1024 * 1024;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const probeMiB = Number(process.env.BENCH_PROBE_MIB ?? 1024);
const skipProbe = process.env.BENCH_SKIP_PROBE === '1';
/** Transfers per round and size: enough bytes per round that a round takes a measurable time. */
const sizes = [
  { label: '1 MiB', bytes: MiB, count: 32 },
  { label: '64 MiB', bytes: 64 * MiB, count: 3 },
] as const;

interface ServerInfo {
  pid: number;
  appUrl: string;
  adminKey: string;
  clientName: string;
  s3Endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  catalogName: string;
  s3Id: string;
  sessionToken: string;
  platform: string;
}

// BENCH_SERVER_NODE_ARGS: extra flags for the server's node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
const serverArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(
  process.execPath,
  [...serverArgs, '--import', 'tsx', new URL('./athena-storage-server.ts', import.meta.url).pathname],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  },
);
const info = await new Promise<ServerInfo>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
});

const atrium = new Pool(info.appUrl, { connections: 4, pipelining: 1 });
const s3Pool = new Pool(info.s3Endpoint, { connections: 4, pipelining: 1 });
const s3 = new S3Client({
  endpoint: info.s3Endpoint,
  region: 'us-east-1',
  credentials: info.credentials,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const sessionHeaders = {
  'x-athena-client': info.clientName,
  authorization: `Bearer ${info.sessionToken}`,
};

// One random 64 MiB buffer; smaller objects are its prefix, the 1 GiB probe repeats it.
const payload = randomBytes(64 * MiB);
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

/** Reads a response body to the end; counts bytes and, when asked, hashes them. */
async function drain(body: AsyncIterable<Uint8Array>, hash?: ReturnType<typeof createHash>): Promise<number> {
  let n = 0;
  for await (const chunk of body) {
    n += chunk.byteLength;
    hash?.update(chunk);
  }
  return n;
}

async function expectStatus(
  res: { statusCode: number; body: { text(): Promise<string> } },
  want: number,
  what: string,
) {
  if (res.statusCode !== want)
    throw new Error(`${what}: HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 500)}`);
}

// ---- the two paths ----------------------------------------------------------------------------------------

interface Path {
  name: string;
  /** Prepares an object slot (a key, or a managed file row) outside the timing. */
  prepare(key: string): Promise<string>;
  upload(slot: string, body: Uint8Array | Readable, size: number): Promise<void>;
  download(slot: string, hash?: ReturnType<typeof createHash>): Promise<number>;
}

const direct: Path = {
  name: 'direct',
  async prepare(key) {
    return key;
  },
  async upload(key, body, size) {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: info.bucket, Key: key }), { expiresIn: 3600 });
    const res = await s3Pool.request({
      method: 'PUT',
      path: pathOf(url),
      headers: { 'content-length': String(size) },
      body,
    });
    await expectStatus(res, 200, `direct PUT ${key}`);
    await res.body.dump();
  },
  async download(key, hash) {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: info.bucket, Key: key }), { expiresIn: 3600 });
    const res = await s3Pool.request({ method: 'GET', path: pathOf(url) });
    await expectStatus(res, 200, `direct GET ${key}`);
    return drain(res.body, hash);
  },
};

const throughAtrium: Path = {
  name: 'Atrium',
  async prepare(key) {
    const res = await atrium.request({
      method: 'POST',
      path: '/athena/storage/files/upload-url',
      headers: { ...sessionHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({
        s3_id: info.s3Id,
        storage_key: key,
        name: key.split('/').pop(),
        mime_type: 'application/octet-stream',
      }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 && res.statusCode !== 201) {
      throw new Error(`POST /athena/storage/files/upload-url: HTTP ${res.statusCode}: ${text.slice(0, 500)}`);
    }
    const id = JSON.parse(text)?.data?.file?.id;
    if (typeof id !== 'string') throw new Error(`upload-url answered no file id: ${text.slice(0, 500)}`);
    return id;
  },
  async upload(fileId, body, size) {
    const res = await atrium.request({
      method: 'PUT',
      path: `/athena/storage/files/${encodeURIComponent(fileId)}/upload`,
      headers: { ...sessionHeaders, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
    });
    await expectStatus(res, 200, `PUT …/files/${fileId}/upload`);
    await res.body.dump();
  },
  async download(fileId, hash) {
    const res = await atrium.request({
      method: 'GET',
      path: `/athena/storage/files/${encodeURIComponent(fileId)}/proxy?purpose=download`,
      headers: sessionHeaders,
    });
    await expectStatus(res, 200, `GET …/files/${fileId}/proxy`);
    return drain(res.body, hash);
  },
};

/** Managed storage (G12) is there when its upload-url route answers something other than 404 for a real call. */
async function managedStorageAvailable(): Promise<string | undefined> {
  try {
    await throughAtrium.prepare(`probe/${randomBytes(4).toString('hex')}.bin`);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

// ---- throughput -------------------------------------------------------------------------------------------

let seq = 0;
const keyOf = (label: string) => `bench/${label.replace(' ', '')}/${seq++}.bin`;

/** One round of one path and size: `count` uploads, then `count` downloads of those objects; MiB/s each. */
async function round(p: Path, size: (typeof sizes)[number], verify: boolean) {
  const body = payload.subarray(0, size.bytes);
  const slots: string[] = [];
  for (let i = 0; i < size.count; i++) slots.push(await p.prepare(keyOf(size.label)));
  let t0 = performance.now();
  for (const slot of slots) await p.upload(slot, body, size.bytes);
  const upSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  for (const [i, slot] of slots.entries()) {
    const hash = verify && i === 0 ? createHash('md5') : undefined;
    const n = await p.download(slot, hash);
    if (n !== size.bytes) throw new Error(`${p.name} ${size.label}: downloaded ${n} bytes, expected ${size.bytes}`);
    if (hash && hash.digest('hex') !== md5(body)) throw new Error(`${p.name} ${size.label}: downloaded bytes differ`);
  }
  const downSeconds = (performance.now() - t0) / 1000;
  const mib = (size.bytes * size.count) / MiB;
  return { up: mib / upSeconds, down: mib / downSeconds };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};
const f1 = (n: number) => n.toFixed(1);

const unavailable = await managedStorageAvailable();
// BENCH_ONLY=direct or BENCH_ONLY=Atrium: one path (for profiling); the ratios need both.
const only = process.env.BENCH_ONLY;
const paths = (unavailable ? [direct] : [direct, throughAtrium]).filter((p) => !only || p.name === only);
console.log(
  `storage bench: ${rounds} round(s), server pid ${info.pid}, platform database ${info.platform}, S3 ${info.s3Endpoint} (embedded s3rver), node ${process.version}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
);
if (unavailable) console.log(`  through Atrium: not measured, managed storage (G12) did not answer: ${unavailable}`);

const results = new Map<string, { up: number[]; down: number[] }>();
for (let r = 0; r < rounds; r++) {
  for (const size of sizes) {
    // Alternate which path goes first, so neither always runs on a warmer page cache.
    const order = r % 2 === 0 ? paths : [...paths].reverse();
    for (const p of order) {
      const got = await round(p, size, r === 0);
      const k = `${p.name} ${size.label}`;
      const slot = results.get(k) ?? { up: [], down: [] };
      slot.up.push(got.up);
      slot.down.push(got.down);
      results.set(k, slot);
    }
  }
}

console.log('\nthroughput, MiB/s (median of rounds; sequential transfers)');
console.log('| size | direct up | Atrium up | ratio | direct down | Atrium down | ratio |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const size of sizes) {
  const d = results.get(`direct ${size.label}`);
  const a = results.get(`Atrium ${size.label}`);
  const du = d ? median(d.up) : Number.NaN;
  const dd = d ? median(d.down) : Number.NaN;
  const au = a ? median(a.up) : Number.NaN;
  const ad = a ? median(a.down) : Number.NaN;
  console.log(
    `| ${size.label} | ${d ? f1(du) : '—'} | ${a ? f1(au) : '—'} | ${a && d ? (au / du).toFixed(2) : '—'} | ${d ? f1(dd) : '—'} | ${a ? f1(ad) : '—'} | ${a && d ? (ad / dd).toFixed(2) : '—'} |`,
  );
}

// ---- per-request cost --------------------------------------------------------------------------------------

{
  // 1 KiB objects: what a transfer costs besides its bytes (auth, the file row, the S3 round trip).
  const tiny = payload.subarray(0, 1024);
  console.log('\nper-request cost, 1 KiB objects, 100 sequential each: p50 / p90 ms');
  console.log('| path | upload | download |');
  console.log('| --- | --- | --- |');
  for (const p of paths) {
    const slots: string[] = [];
    for (let i = 0; i < 110; i++) slots.push(await p.prepare(keyOf('1 KiB')));
    const up: number[] = [];
    const down: number[] = [];
    for (const [i, slot] of slots.entries()) {
      const t0 = performance.now();
      await p.upload(slot, tiny, tiny.byteLength);
      if (i >= 10) up.push(performance.now() - t0);
    }
    for (const [i, slot] of slots.entries()) {
      const t0 = performance.now();
      if ((await p.download(slot)) !== tiny.byteLength) throw new Error(`${p.name} 1 KiB: short download`);
      if (i >= 10) down.push(performance.now() - t0);
    }
    const cell = (xs: number[]) => `${pct(xs, 0.5).toFixed(2)} / ${pct(xs, 0.9).toFixed(2)}`;
    console.log(`| ${p.name} | ${cell(up)} | ${cell(down)} |`);
  }
}

// ---- presigned URL issue ----------------------------------------------------------------------------------

{
  const presignKey = 'bench/presign/object.bin';
  await direct.upload(presignKey, payload.subarray(0, 1024), 1024);
  const issue = async () => {
    const t0 = performance.now();
    const res = await atrium.request({
      method: 'POST',
      path: '/athena/storage/objects/url',
      headers: { apikey: info.adminKey, 'x-athena-client': info.clientName, 'content-type': 'application/json' },
      body: JSON.stringify({ catalog: info.catalogName, key: presignKey, expires_in: 600 }),
    });
    const text = await res.body.text();
    const ms = performance.now() - t0;
    if (res.statusCode !== 200) throw new Error(`POST /athena/storage/objects/url: HTTP ${res.statusCode}: ${text}`);
    return { ms, url: JSON.parse(text)?.data?.url as string };
  };
  const first = await issue();
  const check = await s3Pool.request({ method: 'GET', path: pathOf(first.url) });
  await expectStatus(check, 200, 'GET of the presigned URL');
  if ((await drain(check.body)) !== 1024) throw new Error('presigned URL served the wrong object');
  for (let i = 0; i < 50; i++) await issue();
  const samples: number[] = [];
  for (let i = 0; i < 500; i++) samples.push((await issue()).ms);
  console.log(
    `\npresigned GET URL issue (POST /athena/storage/objects/url, admin key, 500 sequential): p50 ${pct(samples, 0.5).toFixed(2)} ms, p90 ${pct(samples, 0.9).toFixed(2)} ms, p99 ${pct(samples, 0.99).toFixed(2)} ms`,
  );
}

// ---- RSS probe --------------------------------------------------------------------------------------------

function rssKiB(): number {
  const status = readFileSync(`/proc/${info.pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error('no VmRSS in /proc/<pid>/status');
  return Number(m[1]);
}

/** Samples the server's RSS every 10 ms while `run` goes; returns the baseline (idle, just before) and the peak. */
async function sampled(run: () => Promise<void>): Promise<{ baseMiB: number; peakMiB: number }> {
  const idle: number[] = [];
  for (let i = 0; i < 20; i++) {
    idle.push(rssKiB());
    await new Promise((r) => setTimeout(r, 25));
  }
  const base = median(idle);
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB());
  }, 10);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, rssKiB());
  return { baseMiB: base / 1024, peakMiB: peak / 1024 };
}

function probeBody(totalBytes: number): Readable {
  const chunk = 1 * MiB;
  let sent = 0;
  return Readable.from(
    (function* () {
      while (sent < totalBytes) {
        const n = Math.min(chunk, totalBytes - sent);
        const offset = sent % payload.byteLength;
        sent += n;
        yield payload.subarray(offset, offset + n);
      }
    })(),
  );
}

if (!skipProbe) {
  const total = probeMiB * MiB;
  const expected = createHash('md5');
  for (let off = 0; off < total; off += MiB) {
    const o = off % payload.byteLength;
    expected.update(payload.subarray(o, o + Math.min(MiB, total - off)));
  }
  const want = expected.digest('hex');
  console.log(`\nRSS probe: one ${probeMiB} MiB upload, then its download; server VmRSS sampled every 10 ms`);
  console.log('| path | upload: idle → peak (growth) | download: idle → peak (growth) | seconds up / down |');
  console.log('| --- | --- | --- | --- |');
  for (const p of paths) {
    const slot = await p.prepare(`bench/probe/${p.name}-${randomBytes(4).toString('hex')}.bin`);
    let t0 = performance.now();
    const up = await sampled(() => p.upload(slot, probeBody(total), total));
    const upS = (performance.now() - t0) / 1000;
    const hash = createHash('md5');
    let n = 0;
    t0 = performance.now();
    const down = await sampled(async () => {
      n = await p.download(slot, hash);
    });
    const downS = (performance.now() - t0) / 1000;
    if (n !== total) throw new Error(`${p.name} probe: downloaded ${n} bytes, expected ${total}`);
    if (hash.digest('hex') !== want) throw new Error(`${p.name} probe: downloaded bytes differ from the upload`);
    const cell = (x: { baseMiB: number; peakMiB: number }) =>
      `${f1(x.baseMiB)} → ${f1(x.peakMiB)} MiB (+${f1(x.peakMiB - x.baseMiB)})`;
    console.log(`| ${p.name} | ${cell(up)} | ${cell(down)} | ${f1(upS)} / ${f1(downS)} |`);
  }
}

await atrium.close();
await s3Pool.close();
s3.destroy();
child.kill('SIGTERM');
const exitCode = await new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
if (exitCode !== 0) console.log(`bench server exited with ${exitCode}`);
