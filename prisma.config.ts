import { defineConfig } from 'prisma/config';

// The CLI is used only for `prisma generate`; migrations run through the WebAssembly schema engine
// (src/core/migrations.ts), because the native engine cannot be downloaded on every machine.
export default defineConfig({
  schema: 'prisma/schema',
  migrations: { path: 'prisma/migrations' },
});
