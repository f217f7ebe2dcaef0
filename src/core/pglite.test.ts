import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { emptyPgliteTemplate } from '../../test/kit/pglite-template.ts';
import { openEmbeddedPostgres } from './pglite.ts';

const scratch = await mkdtemp(path.join(tmpdir(), 'atrium-pglite-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

it('fills a new data dir from the template, and never replaces a database that is already there', async () => {
  const dir = path.join(scratch, 'db');
  const first = await openEmbeddedPostgres(dir, emptyPgliteTemplate);
  await first.exec('CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)');
  await first.close();
  const again = await openEmbeddedPostgres(dir, emptyPgliteTemplate);
  expect((await again.query<{ v: number }>('SELECT v FROM kept')).rows).toEqual([{ v: 7 }]);
  await again.close();
});

it('ignores a template that is not a data dir (PGlite runs initdb itself)', async () => {
  const db = await openEmbeddedPostgres(path.join(scratch, 'plain'), path.join(scratch, 'no-such-template'));
  expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  await db.close();
});
