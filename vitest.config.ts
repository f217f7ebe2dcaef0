import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 has no `exports` map: Node loads index.js for dependencies (Pothos, yoga), while Vite would pick
    // the `module` build for project files. Two copies break `instanceof` checks; pin project imports to Node's.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Each file starts its own server (own PGlite or Postgres database); two cores run two at a time.
    maxWorkers: 2,
    env: { NODE_ENV: 'test' },
  },
});
