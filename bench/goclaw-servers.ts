// Child process for bench/goclaw-completions.ts: the LLM stand-in (test/kit/llm-standin.ts) and the full Atrium
// app (PGlite) with one OpenAI-compatible provider `bench` pointing at the stand-in. Prints one JSON line, then
// serves until killed.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { adminPrincipal } from '../src/core/auth/principal.ts';
import { randomHex } from '../src/core/auth/secrets.ts';
import { startLlmStandin } from '../test/kit/llm-standin.ts';

const adminKey = `bench-admin-${randomHex(24)}`;
const llm = await startLlmStandin();
// The stand-in records every request for tests; the bench sends thousands.
setInterval(() => llm.requests.splice(0), 1000).unref();
const app = await createApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ATRIUM_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'atrium-bench-')),
    ATRIUM_ADMIN_KEY: adminKey,
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
  }),
);
const appUrl = await app.listen(0, '127.0.0.1');
await app.services.goclaw.providers.create(adminPrincipal, {
  name: 'bench',
  providerType: 'openai_compat',
  apiBase: llm.openaiBase,
  apiKey: 'bench-key',
});
process.stdout.write(`${JSON.stringify({ appUrl, standinUrl: llm.baseUrl, adminKey })}\n`);
const stop = async () => {
  await app.close();
  await llm.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
