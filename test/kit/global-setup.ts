import { ensurePgliteTemplates } from './pglite-template.ts';

/** Vitest global setup: the embedded-database templates every test app copies (test/kit/pglite-template.ts). */
export async function setup() {
  await ensurePgliteTemplates();
}
