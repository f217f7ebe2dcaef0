/**
 * Writes the next migration: the SQL from the committed migrations to the current Prisma schema,
 * computed by the wasm schema engine on a fresh in-memory PGlite (the pg adapter cannot describe
 * `char` columns, so the diff always runs on PGlite).
 *
 * Usage: npm run migrate:create -- <name>
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { diffMigrationsToSchema, migrationsDir } from '../src/core/migrations.ts';

const name = (process.argv[2] ?? 'change')
  .toLowerCase()
  .replace(/[^a-z0-9]+/g, '_')
  .replace(/^_|_$/g, '');
const pglite = new PGlite();
try {
  const sql = await diffMigrationsToSchema(new PrismaPGlite(pglite));
  if (sql.trim() === '') {
    console.log('No schema changes: no migration written.');
  } else {
    const stamp = new Date()
      .toISOString()
      .replace(/[-:TZ.]/g, '')
      .slice(0, 14);
    const dir = path.join(migrationsDir, `${stamp}_${name || 'change'}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'migration.sql'), sql);
    console.log(`Wrote ${path.relative(process.cwd(), dir)}/migration.sql`);
  }
} finally {
  await pglite.close();
}
