import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CompiledStatement, Filter, ReadQuery, SelectItem } from './ast.ts';
import { readCatalog } from './catalog.ts';
import type { Catalog, Queryable } from './catalog-types.ts';
import {
  compileCount,
  compileDelete,
  compileInsert,
  compileRead,
  compileReadPlan,
  compileRpc,
  compileRpcPlan,
  compileUpdate,
  planRows,
  quoteIdent,
} from './compile.ts';
import { fromPostgresError, GatewayError } from './errors.ts';
import { pgliteFixture, postgresFixture } from './test-fixture.ts';

type Fixture = { db: Queryable; close: () => Promise<void> };

const backends: [string, () => Promise<Fixture | null>][] = [
  ['pglite', pgliteFixture],
  ['postgres 15', postgresFixture],
];

const col = (column: string, extra: Partial<Extract<SelectItem, { kind: 'column' }>> = {}): SelectItem => ({
  kind: 'column',
  column: { column },
  ...extra,
});
const cond = (
  column: string,
  operator: Extract<Filter, { kind: 'condition' }>['operator'],
  value: unknown,
  extra = {},
): Filter => ({ kind: 'condition', column: { column }, operator, value, ...extra }) as Filter;

function gatewayError(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error('expected a GatewayError');
}

describe.each(backends)('compiler on %s', (_name, open) => {
  let fixture: Fixture | null = null;
  let catalog: Catalog;
  beforeAll(async () => {
    fixture = await open();
    if (fixture) catalog = await readCatalog(fixture.db);
  });
  afterAll(async () => fixture?.close());

  // The raw body text of the last run: bigints beyond 2^53 are checked there (JSON.parse rounds them).
  let lastBody: string | null = null;
  async function run(stmt: CompiledStatement): Promise<{ body: unknown; page_total: number; total?: number }> {
    if (!fixture) throw new Error('no database');
    const r = await fixture.db.query<{ body: string | null; page_total: unknown; total?: unknown }>(
      stmt.text,
      stmt.values,
    );
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0];
    if (!row) throw new Error('no row');
    lastBody = row.body;
    const out: { body: unknown; page_total: number; total?: number } = {
      body: row.body === null ? null : JSON.parse(row.body),
      page_total: Number(row.page_total),
    };
    if (row.total !== undefined) out.total = Number(row.total);
    return out;
  }
  const read = (q: Partial<ReadQuery> & { table: string }, maxRows = 100) =>
    run(compileRead(catalog, { schema: 'public', select: [], ...q }, { maxRows }));
  // Writes run in a transaction that is rolled back, so every test sees the fixture as created.
  async function inRollback<T>(fn: () => Promise<T>): Promise<T> {
    if (!fixture) throw new Error('no database');
    await fixture.db.query('BEGIN');
    try {
      return await fn();
    } finally {
      await fixture.db.query('ROLLBACK');
    }
  }
  const skipIfAbsent = (ctx: { skip: (note: string) => void }) => {
    if (!fixture) ctx.skip('postgres at 127.0.0.1:5432 is not reachable');
  };

  describe('reads', () => {
    test('columns, aliases, casts, JSON paths in select order; bigint and numeric as JSON numbers', async (ctx) => {
      skipIfAbsent(ctx);
      const r = await read({
        table: 'films',
        select: [
          col('title', { alias: 'name' }),
          col('id'),
          col('year', { cast: 'text' }),
          { kind: 'column', column: { column: 'meta', json: [{ key: 'lang', text: true }] } },
          {
            kind: 'column',
            column: {
              column: 'meta',
              json: [
                { key: 'awards', text: false },
                { key: 'count', text: false },
              ],
            },
            alias: 'awards',
          },
          col('budget'),
          col('rating'),
          col('tags'),
        ],
        filter: cond('id', 'eq', 1),
      });
      expect(r.body).toEqual([
        {
          name: 'Cléo from 5 to 7',
          id: 1,
          year: '1962',
          lang: 'fr',
          awards: 2,
          budget: 9007199254740992,
          rating: 8.1,
          tags: ['paris', 'classic'],
        },
      ]);
      expect(Object.keys((r.body as object[])[0] ?? {})).toEqual([
        'name',
        'id',
        'year',
        'lang',
        'awards',
        'budget',
        'rating',
        'tags',
      ]);
      expect(r.page_total).toBe(1);
    });

    test('star, order with nulls, limit/offset capped at maxRows, exact count', async (ctx) => {
      skipIfAbsent(ctx);
      const capped = await read(
        {
          table: 'films',
          select: [
            col('id'),
            {
              kind: 'embed',
              relation: 'actors',
              select: [col('id')],
              order: [{ column: { column: 'id' }, direction: 'asc' }],
            },
            {
              kind: 'embed',
              relation: 'reviews',
              select: [col('id')],
              limit: 5,
              order: [{ column: { column: 'id' }, direction: 'asc' }],
            },
          ],
          filter: cond('id', 'eq', 1),
        },
        1,
      );
      // The embed without a limit is whole; an explicit embed limit is capped at maxRows.
      expect(capped.body).toEqual([{ id: 1, actors: [{ id: 1 }, { id: 2 }], reviews: [{ id: 1 }] }]);
      const all = await read({ table: 'film_titles', order: [{ column: { column: 'id' }, direction: 'desc' }] });
      expect((all.body as { id: number }[]).map((f) => f.id)).toEqual([4, 3, 2, 1]);
      expect(Object.keys((all.body as object[])[0] ?? {})).toEqual(['id', 'title', 'year']);
      const page = await read(
        {
          table: 'films',
          select: [col('id')],
          order: [{ column: { column: 'budget' }, direction: 'asc', nulls: 'first' }],
          limit: 50,
          offset: 1,
          count: 'exact',
        },
        2,
      );
      expect(page.body).toEqual([{ id: 4 }, { id: 2 }]);
      expect(page.page_total).toBe(2);
      expect(page.total).toBe(4);
      const nullsLast = await read({
        table: 'films',
        select: [col('id')],
        order: [{ column: { column: 'budget' }, direction: 'asc', nulls: 'last' }],
      });
      expect((nullsLast.body as { id: number }[]).map((f) => f.id)).toEqual([4, 2, 1, 3]);
      const none = await read({ table: 'films', select: [col('id')], filter: cond('id', 'gt', 99), count: 'exact' });
      expect(none).toEqual({ body: [], page_total: 0, total: 0 });
    });

    test('every operator family', async (ctx) => {
      skipIfAbsent(ctx);
      const ids = async (filter: Filter) =>
        (
          (
            await read({
              table: 'films',
              select: [col('id')],
              filter,
              order: [{ column: { column: 'id' }, direction: 'asc' }],
            })
          ).body as {
            id: number;
          }[]
        ).map((f) => f.id);
      expect(await ids(cond('year', 'eq', '1962'))).toEqual([1, 2]);
      expect(await ids(cond('year', 'neq', 1962))).toEqual([3, 4]);
      expect(await ids(cond('year', 'gte', 1983))).toEqual([3, 4]);
      expect(await ids(cond('year', 'lt', 1983))).toEqual([1, 2]);
      expect(await ids(cond('year', 'lte', 1983))).toEqual([1, 2, 3]);
      expect(await ids(cond('title', 'like', '%Jet%'))).toEqual([2]);
      expect(await ids(cond('title', 'ilike', 'la %'))).toEqual([2]);
      expect(await ids(cond('title', 'like', '*Jet*'))).toEqual([2]);
      expect(await ids(cond('title', 'ilike', ['la*', 'VAG*'], { quantifier: 'any' }))).toEqual([2, 4]);
      expect(await ids(cond('title', 'match', '^S'))).toEqual([3]);
      expect(await ids(cond('title', 'imatch', '^v'))).toEqual([4]);
      expect(await ids(cond('id', 'in', [1, 3, 99]))).toEqual([1, 3]);
      expect(await ids(cond('title', 'in', ['La Jetée', 'x,"y"']))).toEqual([2]);
      expect(await ids(cond('id', 'in', []))).toEqual([]);
      expect(await ids(cond('budget', 'is', 'null'))).toEqual([3]);
      expect(await ids(cond('budget', 'is', 'not_null'))).toEqual([1, 2, 4]);
      expect(await ids(cond('budget', 'isdistinct', 100))).toEqual([1, 2, 3]);
      expect(await ids(cond('title', 'like', ['%Jet%', 'Vag%'], { quantifier: 'any' }))).toEqual([2, 4]);
      expect(await ids(cond('title', 'like', ['%a%', '%e%'], { quantifier: 'all' }))).toEqual([2, 3]);
      expect(await ids(cond('id', 'eq', [2, 3], { quantifier: 'any' }))).toEqual([2, 3]);
      expect(await ids(cond('doc', 'fts', 'travel & japan'))).toEqual([3]);
      expect(await ids(cond('doc', 'plfts', 'travel', { ftsConfig: 'english' }))).toEqual([2, 3]);
      expect(await ids(cond('doc', 'phfts', 'time travel', { ftsConfig: 'english' }))).toEqual([2]);
      expect(await ids(cond('doc', 'wfts', 'travel -japan', { ftsConfig: 'english' }))).toEqual([2]);
      expect(await ids(cond('title', 'wfts', 'soleil', { ftsConfig: 'simple' }))).toEqual([3]);
      expect(await ids(cond('tags', 'cs', '{paris}'))).toEqual([1]);
      expect(await ids(cond('tags', 'cd', ['paris', 'classic', 'x']))).toEqual([1, 4]);
      expect(await ids(cond('tags', 'ov', '{essay,short}'))).toEqual([2, 3]);
      expect(await ids(cond('meta', 'cs', '{"awards":{"count":1}}'))).toEqual([2]);
      expect(await ids(cond('showing', 'cs', '[6,7)'))).toEqual([1, 2]);
      expect(await ids(cond('showing', 'ov', '[9,12)'))).toEqual([1, 2]);
      expect(await ids(cond('showing', 'sl', '[25,26)'))).toEqual([1, 2]);
      expect(await ids(cond('showing', 'sr', '[25,26)'))).toEqual([3]);
      expect(await ids(cond('showing', 'nxr', '[15,16)'))).toEqual([1]);
      expect(await ids(cond('showing', 'nxl', '[4,6)'))).toEqual([2, 3]);
      expect(await ids(cond('showing', 'adj', '[20,30)'))).toEqual([2, 3]);
      expect(await ids(cond('mood', 'eq', 'happy'))).toEqual([1]);
      const handles = async (filter: Filter) =>
        ((await read({ table: 'users', select: [col('handle')], filter })).body as { handle: string }[])
          .map((u) => u.handle)
          .sort();
      expect(await handles(cond('active', 'is', 'true'))).toEqual(['ann']);
      expect(await handles(cond('active', 'is', 'false'))).toEqual([]);
      expect(await handles(cond('active', 'is', 'unknown'))).toEqual(['bob']);
      expect(await handles(cond('active', 'is', 'true', { negated: true }))).toEqual(['bob']);
      expect(await handles(cond('handle', 'match', ['^a', '^z'], { quantifier: 'any' }))).toEqual(['ann']);
      expect(await handles(cond('handle', 'imatch', ['^A', 'N$'], { quantifier: 'all' }))).toEqual(['ann']);
      expect(await handles(cond('handle', 'neq', ['ann', 'cy'], { quantifier: 'all' }))).toEqual(['bob']);
      expect(await ids(cond('year', 'eq', 1962, { negated: true }))).toEqual([3, 4]);
      expect(
        await ids({
          kind: 'condition',
          column: { column: 'meta', json: [{ key: 'lang', text: true }] },
          operator: 'eq',
          value: 'fr',
        }),
      ).toEqual([1, 2, 3]);
      expect(await ids(cond('id', 'eq', '2', { columnCast: 'text', valueCast: 'text' }))).toEqual([2]);
      expect(
        await ids({
          kind: 'or',
          filters: [
            cond('id', 'eq', 1),
            { kind: 'and', filters: [cond('year', 'gt', 1980), cond('title', 'like', 'V%')] },
          ],
        }),
      ).toEqual([1, 4]);
      expect(await ids({ kind: 'or', negated: true, filters: [cond('id', 'eq', 1), cond('id', 'eq', 2)] })).toEqual([
        3, 4,
      ]);
    });

    test('aggregates with implicit GROUP BY and count()', async (ctx) => {
      skipIfAbsent(ctx);
      const r = await read({
        table: 'films',
        select: [
          col('year'),
          { kind: 'count' },
          col('budget', { aggregate: { fn: 'sum' }, alias: 'spent' }),
          col('rating', { aggregate: { fn: 'max', cast: 'text' } }),
        ],
        order: [{ column: { column: 'year' }, direction: 'asc' }],
      });
      expect(r.body).toEqual([
        { year: 1962, count: 2, spent: 9007199254800992, max: '8.3' },
        { year: 1983, count: 1, spent: null, max: '8.0' },
        { year: 1985, count: 1, spent: 100, max: '7.9' },
      ]);
      expect(lastBody).toContain('"spent":9007199254800993,');
      const byDirector = await read({
        table: 'films',
        select: [
          { kind: 'count' },
          { kind: 'embed', relation: 'directors', spread: true, select: [col('name', { alias: 'director' })] },
          col('year', { aggregate: { fn: 'min' }, alias: 'first' }),
        ],
        order: [{ column: { column: 'director_id' }, direction: 'asc' }],
      }).then(
        () => null,
        (e: unknown) => fromPostgresError(e),
      );
      // Ordering by a column that is not a group key is the database's own 42803, a 400.
      expect([byDirector?.code, byDirector?.httpStatus]).toEqual(['42803', 400]);
      const spreadGroups = await read({
        table: 'films',
        select: [
          { kind: 'count' },
          { kind: 'embed', relation: 'directors', spread: true, select: [col('name', { alias: 'director' })] },
          col('year', { aggregate: { fn: 'min' }, alias: 'first' }),
        ],
        count: 'exact',
      });
      expect(spreadGroups.total).toBe(2);
      expect(
        (spreadGroups.body as { director: string }[]).sort((a, b) => a.director.localeCompare(b.director)),
      ).toEqual([
        { count: 2, director: 'Agnès Varda', first: 1962 },
        { count: 2, director: 'Chris Marker', first: 1962 },
      ]);
      const objectGroups = await read({
        table: 'films',
        select: [col('year'), { kind: 'embed', relation: 'directors', select: [col('name')] }, { kind: 'count' }],
        filter: cond('year', 'eq', 1962),
      });
      expect(
        (objectGroups.body as { directors: { name: string } }[]).sort((a, b) =>
          a.directors.name.localeCompare(b.directors.name),
        ),
      ).toEqual([
        { year: 1962, directors: { name: 'Agnès Varda' }, count: 1 },
        { year: 1962, directors: { name: 'Chris Marker' }, count: 1 },
      ]);
      expect(
        gatewayError(() =>
          compileRead(
            catalog,
            {
              schema: 'public',
              table: 'films',
              select: [{ kind: 'count' }, { kind: 'embed', relation: 'actors', select: [col('name')] }],
            },
            { maxRows: 1 },
          ),
        ).code,
      ).toBe('PGRST100');
      const total = await read({ table: 'films', select: [{ kind: 'count' }], count: 'exact' });
      expect(total).toEqual({ body: [{ count: 4 }], page_total: 1, total: 1 });
    });

    test('embedding: to-one object, to-many array, many-to-many, nested, filtered, ordered, limited', async (ctx) => {
      skipIfAbsent(ctx);
      const r = await read({
        table: 'films',
        select: [
          col('title'),
          { kind: 'embed', relation: 'directors', select: [col('name')] },
          {
            kind: 'embed',
            relation: 'actors',
            select: [col('name')],
            order: [{ column: { column: 'name' }, direction: 'desc' }],
          },
          {
            kind: 'embed',
            relation: 'reviews',
            alias: 'top',
            select: [
              col('stars'),
              {
                kind: 'embed',
                relation: 'users',
                hint: 'reviews_author_fkey',
                alias: 'author',
                select: [col('handle')],
              },
            ],
            filter: cond('stars', 'eq', 5),
            limit: 1,
          },
        ],
        filter: cond('id', 'in', [1, 3]),
        order: [{ column: { column: 'id' }, direction: 'asc' }],
      });
      expect(r.body).toEqual([
        {
          title: 'Cléo from 5 to 7',
          directors: { name: 'Agnès Varda' },
          actors: [{ name: 'Corinne Marchand' }, { name: 'Antoine Bourseiller' }],
          top: [{ stars: 5, author: { handle: 'ann' } }],
        },
        { title: 'Sans Soleil', directors: { name: 'Chris Marker' }, actors: [], top: [] },
      ]);
    });

    test('many-to-many through via and junction hints; the junction itself embeds one-to-many', async (ctx) => {
      skipIfAbsent(ctx);
      const select = (extra: object): SelectItem[] => [
        col('id'),
        { kind: 'embed', relation: 'actors', select: [col('id')], ...extra } as SelectItem,
      ];
      const via = await read({ table: 'films', select: select({ via: 'films_actors' }), filter: cond('id', 'eq', 4) });
      expect(via.body).toEqual([{ id: 4, actors: [{ id: 3 }] }]);
      const hinted = await read({
        table: 'films',
        select: select({ hint: 'films_actors' }),
        filter: cond('id', 'eq', 4),
      });
      expect(hinted.body).toEqual(via.body);
      const junction = await read({
        table: 'films',
        select: [col('id'), { kind: 'embed', relation: 'films_actors', select: [col('role')] }],
        filter: cond('id', 'eq', 4),
      });
      expect(junction.body).toEqual([{ id: 4, films_actors: [{ role: 'Mona' }] }]);
      const back = await read({
        table: 'actors',
        select: [col('name'), { kind: 'embed', relation: 'films', select: [col('title')] }],
        filter: cond('id', 'eq', 3),
      });
      expect(back.body).toEqual([{ name: 'Sandrine Bonnaire', films: [{ title: 'Vagabond' }] }]);
      const noVia = gatewayError(() =>
        compileRead(catalog, { schema: 'public', table: 'films', select: select({ via: 'nope' }) }, { maxRows: 1 }),
      );
      expect(noVia.code).toBe('PGRST200');
      const badHint = gatewayError(() =>
        compileRead(catalog, { schema: 'public', table: 'films', select: select({ hint: 'nope' }) }, { maxRows: 1 }),
      );
      expect(badHint.details).toBe(
        "Searched for a foreign key relationship between 'films' and 'actors' using the hint 'nope' in the schema 'public', but no matches were found.",
      );
    });

    test('embedding by FK name and by column, one-to-many from the referenced side, !inner, spread', async (ctx) => {
      skipIfAbsent(ctx);
      const byFk = await read({
        table: 'films',
        select: [col('id'), { kind: 'embed', relation: 'films_director_id_fkey', select: [col('name')] }],
        filter: cond('id', 'eq', 2),
      });
      expect(byFk.body).toEqual([{ id: 2, films_director_id_fkey: { name: 'Chris Marker' } }]);
      const byColumn = await read({
        table: 'films',
        select: [col('id'), { kind: 'embed', relation: 'director_id', select: [col('id')] }],
        filter: cond('id', 'eq', 2),
      });
      expect(byColumn.body).toEqual([{ id: 2, director_id: { id: 2 } }]);
      const directors = await read({
        table: 'directors',
        select: [
          col('name'),
          {
            kind: 'embed',
            relation: 'films',
            inner: true,
            select: [col('title')],
            filter: cond('year', 'gt', 1980),
            order: [{ column: { column: 'year' }, direction: 'asc' }],
          },
        ],
        order: [{ column: { column: 'id' }, direction: 'asc' }],
        count: 'exact',
      });
      expect(directors.body).toEqual([
        { name: 'Agnès Varda', films: [{ title: 'Vagabond' }] },
        { name: 'Chris Marker', films: [{ title: 'Sans Soleil' }] },
      ]);
      expect(directors.total).toBe(2);
      const innerToOne = await read({
        table: 'reviews',
        select: [
          col('id'),
          { kind: 'embed', relation: 'users', hint: 'editor_id', inner: true, select: [col('handle')] },
        ],
        order: [{ column: { column: 'id' }, direction: 'asc' }],
        count: 'exact',
      });
      expect(innerToOne.body).toEqual([
        { id: 1, users: { handle: 'bob' } },
        { id: 3, users: { handle: 'ann' } },
      ]);
      expect(innerToOne.total).toBe(2);
      const spread = await read({
        table: 'films',
        select: [
          col('title'),
          { kind: 'embed', relation: 'directors', spread: true, select: [col('name', { alias: 'director' })] },
        ],
        filter: cond('id', 'eq', 4),
      });
      expect(spread.body).toEqual([{ title: 'Vagabond', director: 'Agnès Varda' }]);
    });

    test('computed relationships: setof (to-many) and single row (to-one), related order through one', async (ctx) => {
      skipIfAbsent(ctx);
      const r = await read({
        table: 'films',
        select: [
          col('id'),
          {
            kind: 'embed',
            relation: 'five_star',
            select: [col('body')],
            order: [{ column: { column: 'id' }, direction: 'asc' }],
          },
          { kind: 'embed', relation: 'maker', select: [col('name')] },
        ],
        filter: cond('id', 'lte', 2),
        order: [{ relation: 'maker', column: { column: 'name' }, direction: 'desc' }],
      });
      expect(r.body).toEqual([
        { id: 2, five_star: [{ body: 'haunting' }], maker: { name: 'Chris Marker' } },
        { id: 1, five_star: [{ body: 'wonderful' }], maker: { name: 'Agnès Varda' } },
      ]);
    });

    test('embeds that only filter: rel() hidden, rel=is.null anti join, rel=not.is.null', async (ctx) => {
      skipIfAbsent(ctx);
      const withActors = await read({
        table: 'films',
        select: [col('id'), { kind: 'embed', relation: 'actors', select: [] }],
        filter: { kind: 'condition', column: { column: 'actors' }, operator: 'is', value: 'not_null', negated: false },
        order: [{ column: { column: 'id' }, direction: 'asc' }],
        count: 'exact',
      });
      expect(withActors).toEqual({ body: [{ id: 1 }, { id: 4 }], page_total: 2, total: 2 });
      const withoutDirectorFilms = await read({
        table: 'directors',
        select: [col('name'), { kind: 'embed', relation: 'films', select: [col('id')] }],
        filter: cond('films', 'is', 'null'),
      });
      expect(withoutDirectorFilms.body).toEqual([{ name: 'Nobody', films: [] }]);
      const hiddenInner = await read({
        table: 'films',
        select: [
          col('id'),
          { kind: 'embed', relation: 'reviews', inner: true, select: [], filter: cond('stars', 'eq', 4) },
        ],
      });
      expect(hiddenInner.body).toEqual([{ id: 1 }]);
      expect(
        gatewayError(() =>
          compileRead(
            catalog,
            {
              schema: 'public',
              table: 'films',
              select: [{ kind: 'embed', relation: 'actors', select: [] }],
              filter: cond('actors', 'eq', 1),
            },
            { maxRows: 1 },
          ),
        ).code,
      ).toBe('PGRST100');
    });

    test('order by a to-one embedded column; computed field selected and filtered', async (ctx) => {
      skipIfAbsent(ctx);
      const r = await read({
        table: 'films',
        select: [col('id'), { kind: 'embed', relation: 'directors', select: [col('name')] }],
        order: [
          { relation: 'directors', column: { column: 'name' }, direction: 'desc' },
          { column: { column: 'id' }, direction: 'asc' },
        ],
      });
      expect((r.body as { id: number }[]).map((f) => f.id)).toEqual([2, 3, 1, 4]);
      const computed = await read({
        table: 'films',
        select: [col('id'), col('title_upper', { alias: 'loud' })],
        filter: cond('title_upper', 'like', 'LA%'),
      });
      expect(computed.body).toEqual([{ id: 2, loud: 'LA JETÉE' }]);
    });

    test('partitioned tables embed once; aggregates inside an embed; names like the compiler aliases', async (ctx) => {
      skipIfAbsent(ctx);
      const r = await read({
        table: 'films',
        select: [
          col('id'),
          { kind: 'embed', relation: 'screenings', select: [col('at')] },
          { kind: 'embed', relation: 'actors', alias: 'cast', select: [{ kind: 'count' }] },
        ],
        filter: cond('id', 'in', [1, 2]),
        order: [{ column: { column: 'id' }, direction: 'asc' }],
      });
      expect(r.body).toEqual([
        { id: 1, screenings: [], cast: [{ count: 2 }] },
        { id: 2, screenings: [{ at: '2020-02-02' }], cast: [{ count: 0 }] },
      ]);
      expect(catalog.relations.has('public.screenings_2020')).toBe(false);
      const tricky = await read({
        table: 'tricky',
        select: [col('t0'), col('doubled'), col('_e', { alias: '_s' }), col('_s', { alias: '_e' })],
      });
      expect(tricky.body).toEqual([{ t0: 21, doubled: 42, _s: 'e', _e: 's' }]);
      const tooLong = gatewayError(() =>
        compileRead(
          catalog,
          { schema: 'public', table: 'films', select: [col('id', { alias: 'x'.repeat(64) })] },
          { maxRows: 1 },
        ),
      );
      expect(tooLong.code).toBe('PGRST100');
    });

    test('planned count from EXPLAIN', async (ctx) => {
      skipIfAbsent(ctx);
      if (!fixture) return;
      const plan = compileReadPlan(catalog, {
        schema: 'public',
        table: 'films',
        select: [],
        filter: cond('year', 'gt', 0),
      });
      const rows = (await fixture.db.query(plan.text, plan.values)).rows;
      expect(planRows(rows)).toBeGreaterThan(0);
    });

    test('compileCount', async (ctx) => {
      skipIfAbsent(ctx);
      if (!fixture) return;
      const stmt = compileCount(catalog, { schema: 'public', table: 'films', filter: cond('year', 'eq', 1962) });
      const rows = (await fixture.db.query<{ count: unknown }>(stmt.text, stmt.values)).rows;
      expect(Number(rows[0]?.count)).toBe(2);
    });
  });

  describe('errors', () => {
    test('unknown table, column, relationship; ambiguous embed; bad cast/operator/limit', (ctx) => {
      skipIfAbsent(ctx);
      const q = (over: Partial<ReadQuery>) => () =>
        compileRead(catalog, { schema: 'public', table: 'films', select: [], ...over }, { maxRows: 10 });
      expect(gatewayError(q({ table: 'nope' })).toJSON()).toEqual({
        code: 'PGRST205',
        message: "Could not find the table 'public.nope' in the schema cache",
        details: null,
        hint: null,
      });
      expect(gatewayError(q({ table: 'nope' })).httpStatus).toBe(404);
      const column = gatewayError(q({ select: [col('nope')] }));
      expect([column.httpStatus, column.code, column.message]).toEqual([
        400,
        '42703',
        'column films.nope does not exist',
      ]);
      const filterColumn = gatewayError(q({ filter: cond('nope', 'eq', 1) }));
      expect(filterColumn.code).toBe('42703');
      const noRel = gatewayError(q({ select: [{ kind: 'embed', relation: 'users', select: [] }] }));
      expect([noRel.httpStatus, noRel.code, noRel.message, noRel.details]).toEqual([
        400,
        'PGRST200',
        "Could not find a relationship between 'films' and 'users' in the schema cache",
        "Searched for a foreign key relationship between 'films' and 'users' in the schema 'public', but no matches were found.",
      ]);
      const ambiguous = gatewayError(
        q({ table: 'reviews', select: [{ kind: 'embed', relation: 'users', select: [] }] }),
      );
      expect(ambiguous.httpStatus).toBe(300);
      expect(ambiguous.toJSON()).toEqual({
        code: 'PGRST201',
        message: "Could not embed because more than one relationship was found for 'reviews' and 'users'",
        details: [
          {
            cardinality: 'many-to-one',
            embedding: 'reviews with users',
            relationship: 'reviews_author_fkey using reviews(author_id) and users(id)',
          },
          {
            cardinality: 'many-to-one',
            embedding: 'reviews with users',
            relationship: 'reviews_editor_fkey using reviews(editor_id) and users(id)',
          },
        ],
        hint: "Try changing 'users' to one of the following: 'users!reviews_author_fkey', 'users!reviews_editor_fkey'. Find the desired relationship in the 'details' key.",
      });
      const reverse = gatewayError(q({ table: 'users', select: [{ kind: 'embed', relation: 'reviews', select: [] }] }));
      expect(reverse.code).toBe('PGRST201');
      expect(gatewayError(q({ select: [col('id', { cast: 'regclass' as never })] })).code).toBe('PGRST100');
      expect(gatewayError(q({ filter: cond('id', 'sqlinject' as never, 1) })).code).toBe('PGRST100');
      expect(gatewayError(q({ limit: -1 })).code).toBe('PGRST100');
      expect(gatewayError(q({ filter: cond('id', 'is', 'maybe') })).code).toBe('PGRST100');
      expect(gatewayError(q({ filter: cond('id', 'in', 5) })).code).toBe('PGRST100');
      // Closed sets hold at run time too, whatever a door hands over.
      expect(gatewayError(q({ filter: cond('id', 'eq', [1], { quantifier: 'any) OR (1=1' }) })).code).toBe('PGRST100');
      expect(gatewayError(q({ filter: cond('id', 'is', 'constructor') })).code).toBe('PGRST100');
      const insert = (rows: unknown) => () =>
        compileInsert(catalog, {
          schema: 'public',
          table: 'actors',
          rows: rows as never,
          missing: 'default',
          returning: null,
        });
      expect(gatewayError(insert([1])).code).toBe('PGRST100');
      expect(gatewayError(insert({ id: 1 })).code).toBe('PGRST100');
      expect(gatewayError(insert([{ id: 1n }])).code).toBe('PGRST100');
      expect(insert([])().text).toContain('NULL::text AS body');
      expect(gatewayError(q({ filter: cond('id', 'eq', { a: 1 }) })).code).toBe('PGRST100');
      expect(gatewayError(q({ order: [{ column: { column: 'id' }, direction: 'asc; drop' as never }] })).code).toBe(
        'PGRST100',
      );
      expect(gatewayError(q({ select: [col('id', { aggregate: { fn: 'pg_sleep' as never } })] })).code).toBe(
        'PGRST100',
      );
      const spreadMany = gatewayError(
        q({ select: [{ kind: 'embed', relation: 'reviews', spread: true, select: [] }] }),
      );
      expect([spreadMany.code, spreadMany.httpStatus]).toEqual(['PGRST119', 400]);
      const deep: SelectItem = {
        kind: 'embed',
        relation: 'directors',
        select: [{ kind: 'embed', relation: 'films', select: [] }],
      };
      const tooDeep = () =>
        compileRead(catalog, { schema: 'public', table: 'films', select: [deep] }, { maxRows: 10, maxDepth: 1 });
      expect(gatewayError(tooDeep).code).toBe('PGRST100');
    });

    test('identifier injection attempts are refused by the catalog check; odd real names are quoted', async (ctx) => {
      skipIfAbsent(ctx);
      for (const name of ['id"; DROP TABLE films; --', 'id, (select 1)', 'films.id', '*', 'id)--', '"id"']) {
        const e = gatewayError(() =>
          compileRead(catalog, { schema: 'public', table: 'films', select: [col(name)] }, { maxRows: 10 }),
        );
        expect(e.code).toBe('42703');
        expect(
          gatewayError(() => compileRead(catalog, { schema: 'public', table: name, select: [] }, { maxRows: 10 })).code,
        ).toBe('PGRST205');
        expect(
          gatewayError(() =>
            compileInsert(catalog, {
              schema: 'public',
              table: 'films',
              rows: [{ [name]: 1 }],
              missing: 'default',
              returning: null,
            }),
          ).code,
        ).toBe('PGRST204');
      }
      const odd = await read({ table: 'we"ird', select: [col('co;l'), col('Sel ect', { alias: 'a"b' })] });
      expect(odd.body).toEqual([{ 'co;l': 1, 'a"b': 'x' }]);
      expect(quoteIdent('a"b')).toBe('"a""b"');
      // JSON keys and values are parameters, never text: a hostile key just finds nothing.
      const hostile = await read({
        table: 'films',
        select: [
          {
            kind: 'column',
            column: { column: 'meta', json: [{ key: "lang'); DROP TABLE films; --", text: true }] },
            alias: 'x',
          },
        ],
        filter: cond('title', 'eq', "'; DROP TABLE films; --"),
      });
      expect(hostile.body).toEqual([]);
      expect((await read({ table: 'films', select: [{ kind: 'count' }] })).body).toEqual([{ count: 4 }]);
    });

    test('hostile values and aliases never change the statement: values match nothing, aliases come back verbatim', async (ctx) => {
      skipIfAbsent(ctx);
      const hostile = [
        "'; DROP TABLE films; --",
        '"; DROP TABLE films; --',
        "') OR ('1'='1",
        '$1',
        '$$ OR TRUE $$',
        '\\',
        '{a,"b\\"c"}',
        '/* comment */',
        "E'\\x27'",
        '\u202e\u00a0ünï',
        ')::text; SELECT pg_sleep(10); --',
      ];
      for (const v of hostile) {
        // A value may be invalid data (a LIKE pattern ending in a backslash): a data exception (class 22),
        // never a syntax error or anything else that would mean it reached the SQL text.
        const r = await read({
          table: 'films',
          select: [
            col('id', { alias: v }),
            { kind: 'column', column: { column: 'meta', json: [{ key: v, text: true }] }, alias: 'k' },
          ],
          filter: {
            kind: 'or',
            filters: [
              cond('title', 'eq', v),
              cond('title', 'like', v),
              cond('title', 'in', [v, `${v},x`]),
              cond('tags', 'cs', [v]),
              cond('doc', 'plfts', v, { ftsConfig: 'simple' }),
              {
                kind: 'condition',
                column: { column: 'meta', json: [{ key: v, text: true }] },
                operator: 'eq',
                value: v,
              },
            ],
          },
        }).catch((e: unknown) => {
          const mapped = fromPostgresError(e);
          expect(mapped.code.slice(0, 2)).toBe('22');
          return { body: [] };
        });
        expect(r.body).toEqual([]);
        const aliased = await read({ table: 'films', select: [col('id', { alias: v })], filter: cond('id', 'eq', 1) });
        expect(aliased.body).toEqual([{ [v]: 1 }]);
      }
      expect((await read({ table: 'films', select: [{ kind: 'count' }] })).body).toEqual([{ count: 4 }]);
    });

    test('planned count of an RPC result', async (ctx) => {
      skipIfAbsent(ctx);
      if (!fixture) return;
      const plan = compileRpcPlan(catalog, {
        schema: 'public',
        fn: 'films_by_year',
        args: { y: 1962 },
        readOnly: true,
      });
      expect(planRows((await fixture.db.query(plan.text, plan.values)).rows)).toBeGreaterThan(0);
    });

    test('database errors map to PostgREST statuses with the database text only', async (ctx) => {
      skipIfAbsent(ctx);
      if (!fixture) return;
      const db = fixture.db;
      const insert = compileInsert(catalog, {
        schema: 'public',
        table: 'directors',
        rows: [{ id: 1, name: 'dup' }],
        missing: 'default',
        returning: null,
      });
      const dup = await db.query(insert.text, insert.values).then(
        () => null,
        (e: unknown) => fromPostgresError(e),
      );
      expect(dup?.httpStatus).toBe(409);
      expect(dup?.code).toBe('23505');
      expect(dup?.details).toBe('Key (id)=(1) already exists.');
      expect(dup?.message).not.toContain('INSERT');
      const badFk = compileInsert(catalog, {
        schema: 'public',
        table: 'films',
        rows: [{ id: 9, title: 't', director_id: 99 }],
        missing: 'default',
        returning: null,
      });
      const fk = await db.query(badFk.text, badFk.values).then(
        () => null,
        (e: unknown) => fromPostgresError(e),
      );
      expect([fk?.httpStatus, fk?.code]).toEqual([409, '23503']);
      const badValue = compileRead(
        catalog,
        { schema: 'public', table: 'films', select: [], filter: cond('id', 'eq', 'abc') },
        { maxRows: 5 },
      );
      const invalid = await db.query(badValue.text, badValue.values).then(
        () => null,
        (e: unknown) => fromPostgresError(e),
      );
      expect([invalid?.httpStatus, invalid?.code]).toEqual([400, '22P02']);
      expect(() => fromPostgresError(new Error('not a database error'))).toThrow('not a database error');
    });
  });

  describe('writes', () => {
    test('insert: multi-row, union of keys, missing → DEFAULT or NULL, arrays/jsonb/enums/ranges, returning select', async (ctx) => {
      skipIfAbsent(ctx);
      await inRollback(async () => {
        const r = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'films',
            rows: [
              { id: 10, title: 'A', tags: ['x', 'y "q"'], meta: { a: [1, 2] }, mood: 'sad', showing: '[1,3)' },
              { id: 11, title: 'B', year: 2000, meta: 'just text' },
            ],
            missing: 'default',
            returning: [
              col('id'),
              col('tags'),
              col('meta'),
              col('mood'),
              col('year'),
              col('showing'),
              col('created_at'),
            ],
          }),
        );
        expect(r.page_total).toBe(2);
        expect(r.body).toEqual([
          {
            id: 10,
            tags: ['x', 'y "q"'],
            meta: { a: [1, 2] },
            mood: 'sad',
            year: null,
            showing: '[1,3)',
            created_at: '2020-01-01T00:00:00+00:00',
          },
          {
            id: 11,
            tags: [],
            meta: 'just text',
            mood: 'ok',
            year: 2000,
            showing: null,
            created_at: '2020-01-01T00:00:00+00:00',
          },
        ]);
        const nulls = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'films',
            rows: [
              { id: 12, title: 'C', created_at: '2021-05-05T00:00:00Z' },
              { id: 13, title: 'D', mood: 'happy', created_at: '2021-05-05T00:00:00Z' },
            ],
            missing: 'null',
            returning: [col('id'), col('mood'), col('tags')],
          }),
        );
        expect(nulls.body).toEqual([
          // tags is in no row: it is not an insert column and takes its default either way.
          { id: 12, mood: null, tags: [] },
          { id: 13, mood: 'happy', tags: [] },
        ]);
        const minimal = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'actors',
            rows: [{ id: 20, name: 'x' }],
            missing: 'default',
            returning: null,
          }),
        );
        expect(minimal).toEqual({ body: null, page_total: 1 });
        const columnsOnly = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'actors',
            rows: [{ id: 21, name: 'y', ignored: true }],
            columns: ['id', 'name'],
            missing: 'default',
            returning: [{ kind: 'star' }],
          }),
        );
        expect(columnsOnly.body).toEqual([{ id: 21, name: 'y' }]);
        const defaults = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'reviews',
            rows: [{ film_id: 1, author_id: 1, stars: 1 }],
            missing: 'default',
            returning: [col('id'), col('body')],
          }),
        );
        expect(defaults.body).toEqual([{ id: 4, body: null }]);
        const withEmbed = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'films',
            rows: [{ id: 14, title: 'E', director_id: 2 }],
            missing: 'default',
            returning: [col('title'), { kind: 'embed', relation: 'directors', select: [col('name')] }],
          }),
        );
        expect(withEmbed.body).toEqual([{ title: 'E', directors: { name: 'Chris Marker' } }]);
        const view = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'film_titles',
            rows: [{ id: 15, title: 'V', year: 1 }],
            missing: 'default',
            returning: [{ kind: 'star' }],
          }),
        );
        expect(view.body).toEqual([{ id: 15, title: 'V', year: 1 }]);
      });
    });

    test('upsert merge and ignore', async (ctx) => {
      skipIfAbsent(ctx);
      await inRollback(async () => {
        const merge = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'actors',
            rows: [
              { id: 1, name: 'Corinne M.' },
              { id: 30, name: 'New' },
            ],
            missing: 'default',
            onConflict: { action: 'merge' },
            returning: [{ kind: 'star' }],
          }),
        );
        expect(merge.body).toEqual([
          { id: 1, name: 'Corinne M.' },
          { id: 30, name: 'New' },
        ]);
        const ignore = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'users',
            rows: [{ handle: 'ann' }, { handle: 'cy' }],
            missing: 'default',
            onConflict: { columns: ['handle'], action: 'ignore' },
            returning: [col('handle')],
          }),
        );
        expect(ignore.body).toEqual([{ handle: 'cy' }]);
        // Athena's update_body: the existing row takes the given values, the inserted ones are not copied.
        const withSet = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'actors',
            rows: [
              { id: 2, name: 'ignored on conflict' },
              { id: 31, name: 'Fresh' },
            ],
            missing: 'default',
            onConflict: { action: 'merge', set: { name: 'O\'Set "quoted"' } },
            returning: [{ kind: 'star' }],
          }),
        );
        expect(withSet.body).toEqual([
          { id: 2, name: 'O\'Set "quoted"' },
          { id: 31, name: 'Fresh' },
        ]);
        const badSet = () =>
          compileInsert(catalog, {
            schema: 'public',
            table: 'actors',
            rows: [{ id: 1 }],
            missing: 'default',
            onConflict: { action: 'merge', set: { nope: 1 } },
            returning: null,
          });
        expect(gatewayError(badSet).code).toBe('PGRST204');
      });
    });

    test('upsert with explicit SET values (update_body): the existing row takes them, typed by the table', async (ctx) => {
      skipIfAbsent(ctx);
      await inRollback(async () => {
        const stmt = compileInsert(catalog, {
          schema: 'public',
          table: 'films',
          rows: [{ id: 1, title: 'ignored on conflict' }],
          missing: 'default',
          onConflict: {
            action: 'merge',
            set: { title: "Cléo'; DROP TABLE films; --", tags: ['x', 'y'], mood: 'happy' },
          },
          returning: [col('id'), col('title'), col('tags'), col('mood')],
        });
        expect(stmt.text).toContain('ON CONFLICT ("id") DO UPDATE SET "title" = ');
        expect(stmt.text).not.toContain('EXCLUDED');
        expect(stmt.text).not.toContain('DROP TABLE');
        const hit = await run(stmt);
        expect(hit.body).toEqual([{ id: 1, title: "Cléo'; DROP TABLE films; --", tags: ['x', 'y'], mood: 'happy' }]);
        // No conflict: the inserted row as given, the SET values unused.
        const fresh = await run(
          compileInsert(catalog, {
            schema: 'public',
            table: 'actors',
            rows: [{ id: 31, name: 'Inserted' }],
            missing: 'default',
            onConflict: { action: 'merge', set: { name: 'Updated' } },
            returning: [{ kind: 'star' }],
          }),
        );
        expect(fresh.body).toEqual([{ id: 31, name: 'Inserted' }]);
      });
      const bad = (set: Record<string, unknown>) =>
        gatewayError(() =>
          compileInsert(catalog, {
            schema: 'public',
            table: 'actors',
            rows: [{ id: 1, name: 'a' }],
            missing: 'default',
            onConflict: { action: 'merge', set },
            returning: null,
          }),
        );
      expect(bad({ nope: 1 }).code).toBe('PGRST204');
      expect(bad({}).httpStatus).toBe(400);
    });

    test('update with filter, order+limit via ctid, returning; delete likewise', async (ctx) => {
      skipIfAbsent(ctx);
      await inRollback(async () => {
        const up = await run(
          compileUpdate(catalog, {
            schema: 'public',
            table: 'films',
            set: { rating: 9.5, tags: ['a'], meta: { z: true } },
            filter: cond('year', 'eq', 1962),
            returning: [col('id'), col('rating'), col('tags'), col('meta')],
          }),
        );
        expect((up.body as { id: number }[]).sort((a, b) => a.id - b.id)).toEqual([
          { id: 1, rating: 9.5, tags: ['a'], meta: { z: true } },
          { id: 2, rating: 9.5, tags: ['a'], meta: { z: true } },
        ]);
        const limited = await run(
          compileUpdate(catalog, {
            schema: 'public',
            table: 'films',
            set: { year: 2001 },
            order: [{ column: { column: 'id' }, direction: 'desc' }],
            limit: 2,
            returning: [col('id')],
          }),
        );
        expect((limited.body as { id: number }[]).map((f) => f.id).sort()).toEqual([3, 4]);
        const viaView = await run(
          compileUpdate(catalog, {
            schema: 'public',
            table: 'film_titles',
            set: { title: 'T' },
            filter: cond('id', 'eq', 1),
            returning: null,
          }),
        );
        expect(viaView).toEqual({ body: null, page_total: 1 });
        const del = await run(
          compileDelete(catalog, {
            schema: 'public',
            table: 'reviews',
            filter: cond('stars', 'eq', 5),
            order: [{ column: { column: 'id' }, direction: 'asc' }],
            limit: 1,
            returning: [col('id')],
          }),
        );
        expect(del.body).toEqual([{ id: 1 }]);
        const byKey = await run(
          compileDelete(catalog, { schema: 'public', table: 'directors', byPrimaryKey: '3', returning: [col('name')] }),
        );
        expect(byKey.body).toEqual([{ name: 'Nobody' }]);
        const none = await run(
          compileDelete(catalog, {
            schema: 'public',
            table: 'directors',
            byPrimaryKey: '1',
            filter: cond('name', 'eq', 'someone else'),
            returning: null,
          }),
        );
        expect(none).toEqual({ body: null, page_total: 0 });
        expect(
          gatewayError(() =>
            compileDelete(catalog, { schema: 'public', table: 'films_actors', byPrimaryKey: '1', returning: null }),
          ).message,
        ).toBe('public.films_actors has a composite primary key: resource_id cannot name one row');
        const left = await read({
          table: 'reviews',
          select: [col('id')],
          order: [{ column: { column: 'id' }, direction: 'asc' }],
        });
        expect(left.body).toEqual([{ id: 2 }, { id: 3 }]);
      });
      expect(
        gatewayError(() =>
          compileUpdate(catalog, { schema: 'public', table: 'films', set: { nope: 1 }, returning: null }),
        ).toJSON(),
      ).toEqual({
        code: 'PGRST204',
        message: "Could not find the 'nope' column of 'public.films' in the schema cache",
        details: null,
        hint: null,
      });
    });
  });

  describe('rpc', () => {
    const call = (fn: string, args: Record<string, unknown>, extra: object = {}) =>
      compileRpc(catalog, { schema: 'public', fn, args, readOnly: false, ...extra }, { maxRows: 100 });

    test('scalar, set of scalars, setof table with filter/order/limit/embedding, void, OUT params, variadic, defaults', async (ctx) => {
      skipIfAbsent(ctx);
      const add = call('add_them', { a: 2, b: '3' });
      expect(add.shape).toBe('scalar');
      expect((await run(add)).body).toBe(5);
      const years = call('years', {}, { filter: cond('years', 'gt', 1970) });
      expect(years.shape).toBe('scalar_set');
      expect((await run(years)).body).toEqual([1983, 1985]);
      const films = call(
        'films_by_year',
        { y: 1962 },
        {
          select: [col('title'), { kind: 'embed', relation: 'directors', select: [col('name')] }],
          order: [{ column: { column: 'id' }, direction: 'desc' }],
          limit: 1,
          count: 'exact',
        },
      );
      expect(films.shape).toBe('rows');
      expect(await run(films)).toEqual({
        body: [{ title: 'La Jetée', directors: { name: 'Chris Marker' } }],
        page_total: 1,
        total: 2,
      });
      const v = call('touch', { note: 'x' });
      expect(v.shape).toBe('void');
      expect(await run(v)).toEqual({ body: null, page_total: 0 });
      const stats = call('film_stats', {});
      expect(stats.shape).toBe('row');
      expect((await run(stats)).body).toEqual({ films: 4, latest: 1985 });
      expect((await run(call('total', { nums: [1, 2, 3] }))).body).toBe(6);
      const pairs = call('pairs', {}, { select: [col('a')], filter: cond('b', 'eq', 'y') });
      expect([pairs.shape, (await run(pairs)).body]).toEqual(['rows', [{ a: 2 }]]);
      expect(gatewayError(() => call('pairs', {}, { select: [col('c')] })).message).toBe(
        'column pairs.c does not exist',
      );
      const table = call('film_years', {}, { select: [col('fyear')], filter: cond('fid', 'lte', 2), count: 'exact' });
      expect(table.shape).toBe('rows');
      expect(await run(table)).toEqual({ body: [{ fyear: 1962 }, { fyear: 1962 }], page_total: 2, total: 2 });
      expect((await run(call('greet', {}))).body).toBe('hello world');
      expect((await run(call('greet', { who: 'you' }))).body).toBe('hello you');
      expect((await run(call('echo', { anything: [1, { b: 2 }] }))).body).toEqual({ anything: [1, { b: 2 }] });
      expect((await run(call('pick', { z: 'q' }))).body).toBe('text:q');
      expect((await run(call('pick', { x: 1, y: 2 }))).body).toBe('two');
      await inRollback(async () => {
        const created = call('new_actor', { name: 'Z' });
        expect(created.shape).toBe('row');
        expect((await run(created)).body).toEqual({ id: 4, name: 'Z' });
      });
    });

    test('overload errors, unknown functions, read-only volatile', (ctx) => {
      skipIfAbsent(ctx);
      const ambiguous = gatewayError(() => call('pick', { x: 1 }));
      expect([ambiguous.httpStatus, ambiguous.code]).toEqual([300, 'PGRST203']);
      expect(ambiguous.message).toBe(
        'Could not choose the best candidate function between: public.pick(x => integer), public.pick(x => integer, y => integer)',
      );
      const missing = gatewayError(() => call('add_them', { a: 1, c: 2 }));
      expect(missing.toJSON()).toEqual({
        code: 'PGRST202',
        message: 'Could not find the function public.add_them(a, c) in the schema cache',
        details:
          'Searched for the function public.add_them with parameters a, c or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
        hint: null,
      });
      expect(missing.httpStatus).toBe(404);
      expect(gatewayError(() => call('nope', {})).message).toBe(
        'Could not find the function public.nope without parameters in the schema cache',
      );
      const ro = gatewayError(() => call('touch', { note: 'x' }, { readOnly: true }));
      expect([ro.httpStatus, ro.code]).toEqual([405, '25006']);
      expect(() => call('add_them', { a: 1, b: 2 }, { readOnly: true })).not.toThrow();
    });
  });
});
