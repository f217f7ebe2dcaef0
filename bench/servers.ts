// Child process for bench/rest-vs-graphql.ts: the full Atrium app (PGlite, embedded S3) and, on another port,
// a bare graphql-yoga server answering a constant. Prints one JSON line with both URLs, then serves until killed.
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSchema, createYoga } from 'graphql-yoga';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { randomHex } from '../src/core/auth/secrets.ts';

const adminKey = `bench-admin-${randomHex(24)}`;
const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-bench-'));
const app = await createApp(
  loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', ATRIUM_DATA_DIR: dataDir, ATRIUM_ADMIN_KEY: adminKey }),
);
const appUrl = await app.listen(0, '127.0.0.1');

const bare = createYoga({
  schema: createSchema({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } }),
  logging: false,
  graphiql: false,
  landingPage: false,
});
const bareServer = createServer(bare);
await new Promise<void>((resolve) => bareServer.listen(0, '127.0.0.1', resolve));
const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;

process.stdout.write(`${JSON.stringify({ appUrl, bareUrl, adminKey })}\n`);
const stop = async () => {
  bareServer.close();
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
