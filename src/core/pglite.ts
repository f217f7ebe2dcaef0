import { access, cp, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * Opens (creating when needed) an embedded Postgres data directory. A new, empty directory is first filled from
 * `template` when one is given: a closed PGlite data directory of the same PGlite version that has been through
 * initdb (`ATRIUM_PGLITE_TEMPLATE_DIR`). Copying it takes a fraction of a second where initdb takes about three, for
 * every new embedded database (the platform's own and each embedded Athena client). A directory that already holds
 * a database, or a template that does not look like one, leaves PGlite to do what it always does. pgvector is loaded
 * (`CREATE EXTENSION vector` works; GoClaw's memory ranks with it), as it is on a PostgreSQL that has it installed.
 */
export async function openEmbeddedPostgres(dir: string, template?: string): Promise<PGlite> {
  await mkdir(dir, { recursive: true });
  if (template && (await readdir(dir)).length === 0 && (await exists(path.join(template, 'PG_VERSION')))) {
    await cp(template, dir, { recursive: true });
  }
  return PGlite.create(dir, { extensions: { vector } });
}
