import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { applyMigrations, migrationsDir } from '../../src/core/migrations.ts';

// initdb costs PGlite about three seconds, and every test file opens at least one embedded database (the platform's,
// often an Athena client too). The suite's global setup makes two closed data directories once per PGlite version
// (and, for the migrated one, per set of migrations); test apps copy them instead (a fraction of a second).

const pgliteVersion = (
  JSON.parse(
    readFileSync(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
).version;
const root = path.join(tmpdir(), 'atrium-pglite-templates');

/** An initialised, empty PGlite data dir (ATRIUM_PGLITE_TEMPLATE_DIR for the apps under test). */
export const emptyPgliteTemplate = path.join(root, `empty-${pgliteVersion}`);

/** The migrated platform database's template path, named by the PGlite version and the migrations' content. */
export async function migratedPgliteTemplate(): Promise<string> {
  const hash = createHash('sha256').update(pgliteVersion);
  for (const name of (await readdir(migrationsDir)).sort()) {
    const file = path.join(migrationsDir, name, 'migration.sql');
    if (
      await stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      hash.update(name).update(await readFile(file));
  }
  return path.join(root, `migrated-${hash.digest('hex').slice(0, 16)}`);
}

const ready = (dir: string) =>
  stat(path.join(dir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );

/** Builds `target` with `fill` in a scratch dir and renames it into place (several runs may race; one wins). */
async function build(target: string, fill: (db: PGlite) => Promise<void>, from?: string) {
  if (await ready(target)) return;
  await mkdir(root, { recursive: true });
  const scratch = await mkdtemp(path.join(root, 'build-'));
  const dir = path.join(scratch, 'pgdata');
  if (from) await cp(from, dir, { recursive: true });
  const db = await PGlite.create(dir);
  await fill(db);
  await db.close();
  await rename(dir, target).catch(async (err: NodeJS.ErrnoException) => {
    if (!(await ready(target))) throw err;
  });
  await rm(scratch, { recursive: true, force: true });
}

/** Makes both templates when absent; returns their paths. */
export async function ensurePgliteTemplates(): Promise<{ empty: string; migrated: string }> {
  await build(emptyPgliteTemplate, async () => {});
  const migrated = await migratedPgliteTemplate();
  await build(migrated, (db) => applyMigrations(new PrismaPGlite(db)).then(() => undefined), emptyPgliteTemplate);
  return { empty: emptyPgliteTemplate, migrated };
}

/**
 * Fills `<dataDir>/pgdata` from the migrated template when it has been built (the global setup builds it), so the
 * app under test opens a migrated database at once; its own migrate step then finds nothing to apply.
 */
export async function seedPlatformDatabase(dataDir: string): Promise<void> {
  const migrated = await migratedPgliteTemplate();
  if (await ready(migrated)) await cp(migrated, path.join(dataDir, 'pgdata'), { recursive: true });
}
