import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { expect, it } from 'vitest';
import { diffMigrationsToSchema } from '../../src/core/migrations.ts';

it('committed migrations produce exactly the Prisma schema (run `npm run migrate:create -- <name>` when this fails)', async () => {
  const pglite = new PGlite();
  try {
    const sql = await diffMigrationsToSchema(new PrismaPGlite(pglite));
    expect(sql.trim()).toBe('');
  } finally {
    await pglite.close();
  }
}, 120_000);
