import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';
import { nodeVersionProblem } from './src/node-version.ts';

// Refuse to run the suite on an unsupported Node (a silent Node 20 would only show up as sandbox failures): the
// config is loaded before anything else, so the message is all the output. Test workers fork this process's node.
const nodeProblem = nodeVersionProblem();
if (nodeProblem) {
  console.error(nodeProblem);
  process.exit(1);
}

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 has no `exports` map: Node loads index.js for dependencies (Pothos, yoga), while Vite would pick
    // the `module` build for project files. Two copies break `instanceof` checks; pin project imports to Node's.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Builds the embedded-database templates test apps copy instead of running initdb (test/kit/pglite-template.ts).
    globalSetup: ['test/kit/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Each file starts its own server (own PGlite or Postgres database); two cores run two at a time.
    maxWorkers: 2,
    env: { NODE_ENV: 'test' },
  },
});
