import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CatalogCache, readCatalog } from './catalog.ts';
import type { Catalog, Queryable } from './catalog-types.ts';
import { pgliteFixture, postgresFixture } from './test-fixture.ts';

type Fixture = { db: Queryable; close: () => Promise<void> };

const backends: [string, () => Promise<Fixture | null>][] = [
  ['pglite', pgliteFixture],
  ['postgres 15', postgresFixture],
];

describe.each(backends)('readCatalog on %s', (_name, open) => {
  let fixture: Fixture | null = null;
  let catalog: Catalog;
  beforeAll(async () => {
    fixture = await open();
    if (fixture) catalog = await readCatalog(fixture.db);
  });
  afterAll(async () => fixture?.close());

  test('relations, columns and keys', (ctx) => {
    if (!fixture) return ctx.skip('postgres at 127.0.0.1:5432 is not reachable');
    const films = catalog.relations.get('public.films');
    expect(films?.kind).toBe('table');
    expect(films?.primaryKey).toEqual(['id']);
    const byName = new Map(films?.columns.map((c) => [c.name, c]));
    expect(byName.get('tags')).toMatchObject({ type: 'text[]', typeName: 'text', isArray: true, hasDefault: true });
    expect(byName.get('rating')).toMatchObject({ type: 'numeric(3,1)', typeName: 'numeric', nullable: true });
    expect(byName.get('mood')).toMatchObject({ typeName: 'mood', typeKind: 'e' });
    expect(byName.get('showing')).toMatchObject({ typeName: 'int4range', typeKind: 'r' });
    expect(byName.get('title')).toMatchObject({ nullable: false, position: 2 });
    const users = catalog.relations.get('public.users');
    expect(users?.columns[0]).toMatchObject({ name: 'id', identity: true, hasDefault: true });
    expect(users?.uniques).toEqual([{ name: 'users_handle_key', columns: ['handle'] }]);
    expect(catalog.relations.get('public.films_actors')?.primaryKey).toEqual(['film_id', 'actor_id']);
    expect(catalog.relations.get('public.we"ird')?.columns.map((c) => c.name)).toEqual(['co;l', 'Sel ect']);
    const view = catalog.relations.get('public.film_titles');
    expect(view).toMatchObject({ kind: 'view', insertable: true, updatable: true, deletable: true });
  });

  test('foreign keys keep column order and names', (ctx) => {
    if (!fixture) return ctx.skip('postgres at 127.0.0.1:5432 is not reachable');
    const author = catalog.foreignKeys.find((f) => f.name === 'reviews_author_fkey');
    expect(author).toEqual({
      name: 'reviews_author_fkey',
      schema: 'public',
      table: 'reviews',
      columns: ['author_id'],
      refSchema: 'public',
      refTable: 'users',
      refColumns: ['id'],
    });
    expect(
      catalog.foreignKeys
        .filter((f) => f.table === 'films_actors')
        .map((f) => f.refTable)
        .sort(),
    ).toEqual(['actors', 'films']);
  });

  test('functions: args, defaults, result shapes, volatility', (ctx) => {
    if (!fixture) return ctx.skip('postgres at 127.0.0.1:5432 is not reachable');
    const pick = catalog.functions.get('public.pick') ?? [];
    expect(pick).toHaveLength(3);
    const two = pick.find((f) => f.args.length === 2);
    expect(two?.args).toEqual([
      { name: 'x', type: 'integer', mode: 'in', hasDefault: false },
      { name: 'y', type: 'integer', mode: 'in', hasDefault: true },
    ]);
    expect(catalog.functions.get('public.films_by_year')?.[0]).toMatchObject({
      returnsSet: true,
      returnsScalar: false,
      returnsRelation: { schema: 'public', name: 'films' },
      volatility: 'stable',
      language: 'sql',
      kind: 'function',
    });
    expect(catalog.functions.get('public.years')?.[0]).toMatchObject({ returnsSet: true, returnsScalar: true });
    expect(catalog.functions.get('public.touch')?.[0]).toMatchObject({ returnsVoid: true, volatility: 'volatile' });
    expect(catalog.functions.get('public.total')?.[0]?.args[0]).toMatchObject({ mode: 'variadic', type: 'integer[]' });
    expect(catalog.functions.get('public.film_stats')?.[0]).toMatchObject({
      returnsScalar: false,
      returnType: 'record',
    });
    expect(catalog.functions.get('public.title_upper')?.[0]?.args[0]?.relation).toEqual({
      schema: 'public',
      name: 'films',
    });
    expect(catalog.schemas).toContain('public');
    expect(catalog.extensions.map((e) => e.name)).toContain('plpgsql');
  });

  test('CatalogCache reads through readCatalog once per key and again after invalidate', async (ctx) => {
    if (!fixture) return ctx.skip('postgres at 127.0.0.1:5432 is not reachable');
    let statements = 0;
    const db = fixture.db;
    const counting: Queryable = {
      query: (text, values) => {
        statements++;
        return db.query(text, values);
      },
    };
    const cache = new CatalogCache({ schemas: ['public'] });
    const [a, b] = await Promise.all([cache.get('client', counting), cache.get('client', counting)]);
    expect(a).toBe(b);
    expect(statements).toBe(1);
    expect(a.relations.has('public.films')).toBe(true);
    cache.invalidate('client');
    const c = await cache.get('client', counting);
    expect(c).not.toBe(a);
    expect(statements).toBe(2);
  });

  test('schemas option limits what is read', async (ctx) => {
    if (!fixture) return ctx.skip('postgres at 127.0.0.1:5432 is not reachable');
    const none = await readCatalog(fixture.db, { schemas: ['nope'] });
    expect(none.relations.size).toBe(0);
    expect(none.functions.size).toBe(0);
    expect(none.schemas).toContain('public');
  });
});

describe('CatalogCache', () => {
  const fakeCatalog = (n: number): Catalog => ({
    relations: new Map(),
    foreignKeys: [],
    functions: new Map(),
    schemas: [String(n)],
    extensions: [],
    readAt: new Date(),
  });
  const noDb: Queryable = {
    query: () => Promise.reject(new Error('not used')),
  };

  test('one read in flight per key, cached after, invalidated on demand', async () => {
    let reads = 0;
    const release: (() => void)[] = [];
    const cache = new CatalogCache({
      read: async () => {
        reads++;
        const n = reads;
        await new Promise<void>((r) => release.push(r));
        return fakeCatalog(n);
      },
    });
    const a = cache.get('c1', noDb);
    const b = cache.get('c1', noDb);
    const other = cache.get('c2', noDb);
    expect(reads).toBe(2);
    for (const r of release.splice(0)) r();
    expect(await a).toBe(await b);
    expect((await other).schemas).toEqual(['2']);
    expect(await cache.get('c1', noDb)).toBe(await a);
    expect(reads).toBe(2);
    cache.invalidate('c1');
    const c = cache.get('c1', noDb);
    for (const r of release.splice(0)) r();
    expect((await c).schemas).toEqual(['3']);
  });

  test('a read that fails is not cached; a read invalidated mid-flight is not kept', async () => {
    let reads = 0;
    const cache = new CatalogCache({
      read: async () => {
        reads++;
        if (reads === 1) throw new Error('boom');
        return fakeCatalog(reads);
      },
    });
    await expect(cache.get('k', noDb)).rejects.toThrow('boom');
    const second = cache.get('k', noDb);
    cache.invalidate('k');
    expect((await second).schemas).toEqual(['2']);
    expect((await cache.get('k', noDb)).schemas).toEqual(['3']);
  });
});
