import { defineConfig } from 'vitest/config';

export default defineConfig({
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
