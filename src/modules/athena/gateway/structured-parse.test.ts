import { describe, expect, it } from 'vitest';
import type { Filter, FilterGroup } from './ast.ts';
import { GatewayParseError } from './parse-errors.ts';
import { maxNesting } from './postgrest-parse.ts';
import {
  parseDataBody,
  parseDeleteBody,
  parseFetchBody,
  parseGetDataQuery,
  parseInsertBody,
  parseRpcBody,
  parseRpcGetQuery,
  parseUpdateBody,
} from './structured-parse.ts';

/** The GatewayParseError a call throws (fails the test when it throws nothing or something else). */
function errorOf(fn: () => unknown): GatewayParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayParseError);
    return e as GatewayParseError;
  }
  throw new Error('expected a GatewayParseError, nothing was thrown');
}

/** The members of an AND/OR group (fails the test for a bare condition or nothing). */
function filtersOf(filter: Filter | undefined): Filter[] {
  expect(filter?.kind === 'and' || filter?.kind === 'or').toBe(true);
  return (filter as FilterGroup).filters;
}

const fetchError = (body: unknown) => {
  const e = errorOf(() => parseFetchBody(body));
  expect(e.httpStatus).toBe(400);
  expect(e.code).toBe('invalid_structured_select_request');
  return e;
};

describe('parseFetchBody', () => {
  it('reads the contract example', () => {
    const parsed = parseFetchBody({
      table_name: 'public.chat_subscriptions',
      select: 'users:athena.users(id,username,image),user_id',
      where_filters: [
        { column: 'user_id', operator: 'eq', value: 'ef7a4c74-cc35-4d32-945a-a5271279ecdb', column_cast: 'text' },
      ],
      orderBy: [{ column: 'user_id', direction: 'desc' }],
      limit: 1,
    });
    expect(parsed).toEqual({
      query: {
        schema: 'public',
        table: 'chat_subscriptions',
        select: [
          {
            kind: 'embed',
            relation: 'users',
            schema: 'athena',
            alias: 'users',
            select: [
              { kind: 'column', column: { column: 'id' } },
              { kind: 'column', column: { column: 'username' } },
              { kind: 'column', column: { column: 'image' } },
            ],
          },
          { kind: 'column', column: { column: 'user_id' } },
        ],
        filter: {
          kind: 'and',
          filters: [
            {
              kind: 'condition',
              column: { column: 'user_id' },
              operator: 'eq',
              value: 'ef7a4c74-cc35-4d32-945a-a5271279ecdb',
              columnCast: 'text',
            },
          ],
        },
        order: [{ column: { column: 'user_id' }, direction: 'desc' }],
        limit: 1,
      },
      stripNulls: false,
    });
  });

  it('legacy body: conditions, columns string, sortBy, pages, strip_nulls, post-processing', () => {
    const parsed = parseFetchBody({
      view_name: 'app_events_view',
      table_name: 'ignored_when_view_name_is_set',
      schema_name: 'reporting',
      columns: 'id, created_at,"odd,name"',
      conditions: [{ eq_column: 'user_id', eq_value: 'u_1' }],
      sortBy: { field: 'created_at', direction: 'descending' },
      current_page: 3,
      page_size: 50,
      total_pages: 9,
      strip_nulls: true,
      group_by: 'created_at',
      time_granularity: 'day',
      aggregation_column: 'amount',
      aggregation_strategy: 'cumulative_sum',
      aggregation_dedup: true,
    });
    expect(parsed).toEqual({
      query: {
        schema: 'reporting',
        table: 'app_events_view',
        select: [
          { kind: 'column', column: { column: 'id' } },
          { kind: 'column', column: { column: 'created_at' } },
          { kind: 'column', column: { column: 'odd,name' } },
        ],
        filter: {
          kind: 'and',
          filters: [{ kind: 'condition', column: { column: 'user_id' }, operator: 'eq', value: 'u_1' }],
        },
        order: [{ column: { column: 'created_at' }, direction: 'desc' }],
        limit: 50,
        offset: 100,
      },
      stripNulls: true,
      postProcessing: {
        groupBy: 'created_at',
        timeGranularity: 'day',
        aggregationColumn: 'amount',
        aggregationStrategy: 'cumulative_sum',
        aggregationDedup: true,
      },
    });
  });

  it('defaults: star, public schema, no filter, no order', () => {
    expect(parseFetchBody({ table_name: 'users' })).toEqual({
      query: { schema: 'public', table: 'users', select: [{ kind: 'star' }] },
      stripNulls: false,
    });
    expect(parseFetchBody({ table_name: 'users' }, { defaultSchema: 'app' }).query.schema).toBe('app');
    expect(parseFetchBody({ table_name: 'users', columns: ['*'] }).query.select).toEqual([{ kind: 'star' }]);
    expect(parseFetchBody({ table_name: 'users', columns: ['id', 'name'] }).query.select).toHaveLength(2);
    expect(parseFetchBody({ table_name: '"My Table"' }).query.table).toBe('My Table');
    expect(parseFetchBody({ table_name: '"a""b"."c.d"' }).query).toMatchObject({ schema: 'a"b', table: 'c.d' });
  });

  it('where: scalar, null, operator objects; others refused', () => {
    const { query } = parseFetchBody({
      table_name: 't',
      where: { a: 1, b: null, c: { gt: 5, lt: 9 }, d: { in: ['x', 'y'] }, e: { neq: 'z' }, f: true },
    });
    expect(filtersOf(query.filter)).toEqual([
      { kind: 'condition', column: { column: 'a' }, operator: 'eq', value: 1 },
      { kind: 'condition', column: { column: 'b' }, operator: 'is', value: 'null' },
      { kind: 'condition', column: { column: 'c' }, operator: 'gt', value: 5 },
      { kind: 'condition', column: { column: 'c' }, operator: 'lt', value: 9 },
      { kind: 'condition', column: { column: 'd' }, operator: 'in', value: ['x', 'y'] },
      { kind: 'condition', column: { column: 'e' }, operator: 'neq', value: 'z' },
      { kind: 'condition', column: { column: 'f' }, operator: 'eq', value: true },
    ]);
    fetchError({ table_name: 't', where: { a: { like: 'x%' } } });
    fetchError({ table_name: 't', where: { a: {} } });
    fetchError({ table_name: 't', where: { a: [1, 2] } });
    fetchError({ table_name: 't', where: { a: { in: 'x' } } });
    fetchError({ table_name: 't', where: { a: { in: [{}] } } });
    fetchError({ table_name: 't', where: ['a'] });
    fetchError({ table_name: 't', where: { 'a;drop table x': 1 } });
  });

  it('where_filters: every operator, in with values or value, casts, null, i_like', () => {
    const { query } = parseFetchBody({
      table_name: 't',
      where_filters: [
        { column: 'id', operator: 'in', values: [1, 2] },
        { column: 'id', operator: 'in', value: ['3'] },
        { column: 'user_id', operator: 'eq', value: 'u', column_cast: 'TEXT', value_cast: 'uuid' },
        { column: 'deleted_at', operator: 'eq', value: null },
        { column: 'deleted_at', operator: 'neq' },
        { column: 'name', operator: 'i_like', value: 'a%' },
        { column: 'n', operator: 'gte', value: 2 },
        { column: 'ok', operator: 'is', value: false },
      ],
    });
    expect(filtersOf(query.filter)).toEqual([
      { kind: 'condition', column: { column: 'id' }, operator: 'in', value: [1, 2] },
      { kind: 'condition', column: { column: 'id' }, operator: 'in', value: ['3'] },
      {
        kind: 'condition',
        column: { column: 'user_id' },
        operator: 'eq',
        value: 'u',
        columnCast: 'text',
        valueCast: 'uuid',
      },
      { kind: 'condition', column: { column: 'deleted_at' }, operator: 'is', value: 'null' },
      { kind: 'condition', column: { column: 'deleted_at' }, operator: 'is', value: 'not_null' },
      { kind: 'condition', column: { column: 'name' }, operator: 'ilike', value: 'a%' },
      { kind: 'condition', column: { column: 'n' }, operator: 'gte', value: 2 },
      { kind: 'condition', column: { column: 'ok' }, operator: 'is', value: 'false' },
    ]);
  });

  it('where_filters: refuses bad operators, casts, values, columns', () => {
    const bad = (f: unknown) => fetchError({ table_name: 't', where_filters: [f] });
    bad({ column: 'a', operator: 'regex', value: 'x' });
    bad({ column: 'a', operator: 'eq', value: 'x', column_cast: 'regclass' });
    bad({ column: 'a', operator: 'eq', value: 'x', value_cast: 'text; drop table t' });
    bad({ column: 'a', operator: 'eq', value: { nested: true } });
    bad({ column: 'a', operator: 'in', value: 'x' });
    bad({ column: 'a', operator: 'eq', values: [1] });
    bad({ column: 'a', operator: 'is', value: 'maybe' });
    bad({ column: 'a.b', operator: 'eq', value: 1 });
    bad({ column: 1, operator: 'eq', value: 1 });
    bad({ column: 'a', operator: 'eq', value: 'x\u0000y' });
    bad({ column: 'a', operator: 'eq', value: Number.NaN });
    bad('not an object');
    fetchError({ table_name: 't', where_filters: { column: 'a' } });
  });

  it('order: orderBy object and array, precedence, agreement, conflicts', () => {
    expect(parseFetchBody({ table_name: 't', orderBy: { created_at: 'desc', id: 'ASC' } }).query.order).toEqual([
      { column: { column: 'created_at' }, direction: 'desc' },
      { column: { column: 'id' }, direction: 'asc' },
    ]);
    expect(
      parseFetchBody({ table_name: 't', orderBy: [{ column: 'a', direction: 'desc', nulls: 'last' }, { column: 'b' }] })
        .query.order,
    ).toEqual([
      { column: { column: 'a' }, direction: 'desc', nulls: 'last' },
      { column: { column: 'b' }, direction: 'asc' },
    ]);
    expect(parseFetchBody({ table_name: 't', sort_by: { field: 'a' } }).query.order).toEqual([
      { column: { column: 'a' }, direction: 'asc' },
    ]);
    // Agreeing duplicates are fine; disagreeing ones are a 400.
    expect(
      parseFetchBody({
        table_name: 't',
        orderBy: [{ column: 'a', direction: 'desc' }],
        sortBy: { field: 'a', direction: 'descending' },
      }).query.order,
    ).toEqual([{ column: { column: 'a' }, direction: 'desc' }]);
    fetchError({ table_name: 't', orderBy: { a: 'desc' }, sortBy: { field: 'b' } });
    fetchError({ table_name: 't', sortBy: { field: 'a' }, sort_by: { field: 'a', direction: 'desc' } });
    fetchError({ table_name: 't', orderBy: { a: 'sideways' } });
    fetchError({ table_name: 't', orderBy: 'a' });
    fetchError({ table_name: 't', sortBy: { direction: 'asc' } });
  });

  it('pagination: limit/offset, pages, conflicts and bounds', () => {
    expect(parseFetchBody({ table_name: 't', limit: 10, offset: 20 }).query).toMatchObject({ limit: 10, offset: 20 });
    expect(parseFetchBody({ table_name: 't', current_page: 2, limit: 25 }).query).toMatchObject({
      limit: 25,
      offset: 25,
    });
    expect(parseFetchBody({ table_name: 't', current_page: 1, page_size: 5, offset: 0 }).query.offset).toBe(0);
    for (const body of [
      { limit: -1 },
      { limit: 1.5 },
      { limit: '10' },
      { offset: -5 },
      { current_page: 0, page_size: 10 },
      { current_page: 2 },
      { page_size: 0 },
      { page_size: 10, limit: 20 },
      { current_page: 2, page_size: 10, offset: 5 },
      { current_page: Number.MAX_SAFE_INTEGER, page_size: 1000 },
    ]) {
      fetchError({ table_name: 't', ...body });
    }
  });

  it('post-processing options are checked', () => {
    fetchError({ table_name: 't', time_granularity: 'day' });
    fetchError({ table_name: 't', group_by: 'a', time_granularity: 'week' });
    fetchError({ table_name: 't', aggregation_strategy: 'cumulative_sum' });
    fetchError({ table_name: 't', aggregation_column: 'a', aggregation_strategy: 'sum' });
    fetchError({ table_name: 't', aggregation_dedup: 'yes' });
    fetchError({ table_name: 't', strip_nulls: 'true' });
  });

  it('canonical object select: columns, relations, foreign_key, via, nesting', () => {
    const { query } = parseFetchBody({
      table_name: 'chat_subscriptions',
      select: {
        columns: ['user_id'],
        relations: {
          users: {
            table: 'athena.users',
            columns: ['id', 'username', 'image'],
            foreign_key: 'chat_subscriptions_user_id_fkey',
            relations: { profile: { table: 'profiles' } },
          },
          tags: { table: 'tags', via: 'subscription_tags', columns: 'name' },
        },
      },
    });
    expect(query.select).toEqual([
      { kind: 'column', column: { column: 'user_id' } },
      {
        kind: 'embed',
        relation: 'users',
        schema: 'athena',
        alias: 'users',
        hint: 'chat_subscriptions_user_id_fkey',
        select: [
          { kind: 'column', column: { column: 'id' } },
          { kind: 'column', column: { column: 'username' } },
          { kind: 'column', column: { column: 'image' } },
          { kind: 'embed', relation: 'profiles', alias: 'profile', select: [{ kind: 'star' }] },
        ],
      },
      {
        kind: 'embed',
        relation: 'tags',
        alias: 'tags',
        via: 'subscription_tags',
        select: [{ kind: 'column', column: { column: 'name' } }],
      },
    ]);
  });

  it('canonical object select: refuses on, via with a schema-qualified table, unknown keys, depth', () => {
    fetchError({ table_name: 't', select: { relations: { u: { table: 'users', on: { a: 'b' } } } } });
    fetchError({ table_name: 't', select: { relations: { u: { table: 'athena.users', via: 'j' } } } });
    fetchError({ table_name: 't', select: { fields: ['a'] } });
    fetchError({ table_name: 't', select: { relations: { u: 'users' } } });
    fetchError({ table_name: 't', select: { relations: { u: { table: 5 } } } });
    fetchError({ table_name: 't', select: 5 });
    let relations: Record<string, unknown> = {};
    const root = { relations };
    for (let i = 0; i <= maxNesting; i++) {
      const next: Record<string, unknown> = {};
      relations[`r${i}`] = { table: `t${i}`, relations: next };
      relations = next;
    }
    expect(fetchError({ table_name: 't', select: root }).message).toContain('deeper');
  });

  it('select strings reuse the PostgREST grammar with the Athena code', () => {
    const e = fetchError({ table_name: 't', select: 'id,rel(' });
    expect(e.details).toContain('unexpected end of input');
    expect(e.message).toContain('failed to parse select parameter');
    fetchError({ table_name: 't', select: 'a::regclass' });
    fetchError({ table_name: 't', select: 'id', columns: ['name'] });
    expect(parseFetchBody({ table_name: 't', select: 'id', columns: '*' }).query.select).toHaveLength(1);
  });

  it('target resolution: required, schema conflicts, identifiers', () => {
    expect(fetchError({ table_name: 'public.x', schema_name: 'public' }).message).toBe(
      'When provided, `table_name` must not already be schema-qualified',
    );
    fetchError({});
    fetchError({ table_name: '' });
    fetchError({ table_name: 5 });
    fetchError({ table_name: 'a.b.c' });
    fetchError({ table_name: 'users; drop table users' });
    fetchError({ table_name: 'x', schema_name: '' });
    fetchError({ table_name: 'x', schema_name: 'a.b' });
    fetchError({ table_name: `t${'x'.repeat(63)}` });
    fetchError({ table_name: '"unterminated' });
    fetchError({ table_name: '""' });
    fetchError({ table_name: '"a\u0000b"' });
  });

  it('refuses top-level AST bodies and non-objects', () => {
    for (const key of ['operation', 'from', 'fields']) {
      expect(fetchError({ [key]: 'x', table_name: 't' }).message).toContain('AST');
    }
    for (const body of [null, [], 'x', 5, true, undefined]) {
      expect(errorOf(() => parseFetchBody(body)).httpStatus).toBe(400);
    }
  });
});

describe('parseDataBody', () => {
  it('reads the legacy subset; conditions required', () => {
    const parsed = parseDataBody({
      table_name: 'app_events',
      columns: ['id'],
      conditions: [{ eq_column: 'id', eq_value: '5' }],
      sort_by: { field: 'id', direction: 'desc' },
      limit: 5,
    });
    expect(parsed.query).toEqual({
      schema: 'public',
      table: 'app_events',
      select: [{ kind: 'column', column: { column: 'id' } }],
      filter: { kind: 'and', filters: [{ kind: 'condition', column: { column: 'id' }, operator: 'eq', value: '5' }] },
      order: [{ column: { column: 'id' }, direction: 'desc' }],
      limit: 5,
    });
    const e = errorOf(() => parseDataBody({ table_name: 't' }));
    expect(e).toMatchObject({ code: 'invalid_request', httpStatus: 400, message: 'conditions is required' });
    for (const key of ['select', 'where', 'where_filters', 'orderBy']) {
      expect(errorOf(() => parseDataBody({ table_name: 't', conditions: [], [key]: 'x' })).code).toBe(
        'invalid_request',
      );
    }
    expect(errorOf(() => parseDataBody({ table_name: 't', conditions: [{ eq_column: 'a' }] })).code).toBe(
      'invalid_request',
    );
  });
});

describe('parseGetDataQuery', () => {
  it('maps the GET /data query onto a fetch', () => {
    const params = new URLSearchParams(
      'view=app_events&eq_column=user_id&eq_value=u_1&columns=id,created_at&limit=10&current_page=2&strip_nulls=true&sort_by=created_at&sort_direction=desc&group_by=created_at&time_granularity=hour&aggregation_dedup=false&total_pages=3',
    );
    expect(parseGetDataQuery(params)).toEqual({
      query: {
        schema: 'public',
        table: 'app_events',
        select: [
          { kind: 'column', column: { column: 'id' } },
          { kind: 'column', column: { column: 'created_at' } },
        ],
        filter: {
          kind: 'and',
          filters: [{ kind: 'condition', column: { column: 'user_id' }, operator: 'eq', value: 'u_1' }],
        },
        order: [{ column: { column: 'created_at' }, direction: 'desc' }],
        limit: 10,
        offset: 10,
      },
      stripNulls: true,
      postProcessing: { groupBy: 'created_at', timeGranularity: 'hour', aggregationDedup: false },
    });
    expect(parseGetDataQuery({ view: 'v', eq_column: 'a', eq_value: '', sort_by: 'a' }).query.order).toEqual([
      { column: { column: 'a' }, direction: 'asc' },
    ]);
  });

  it('refuses missing, repeated and malformed parameters', () => {
    for (const q of [
      'eq_column=a&eq_value=1',
      'view=v&eq_value=1',
      'view=v&eq_column=a',
      'view=v&eq_column=a&eq_value=1&limit=x',
      'view=v&eq_column=a&eq_value=1&limit=-1',
      'view=v&eq_column=a&eq_value=1&strip_nulls=maybe',
      'view=v&eq_column=a&eq_value=1&view=w',
      'view=v&eq_column=a&eq_value=1&sort_direction=desc',
      'view=v&eq_column=a&eq_value=1&sort_by=a&sort_direction=up',
      'view=v;drop&eq_column=a&eq_value=1',
    ]) {
      const e = errorOf(() => parseGetDataQuery(new URLSearchParams(q)));
      expect(e).toMatchObject({ code: 'invalid_request', httpStatus: 400 });
    }
    expect(errorOf(() => parseGetDataQuery({ view: ['a', 'b'], eq_column: 'a', eq_value: '1' })).code).toBe(
      'invalid_request',
    );
  });
});

describe('parseUpdateBody', () => {
  it('reads the contract example', () => {
    expect(
      parseUpdateBody({
        table_name: 'app_events',
        conditions: [{ eq_column: 'id', eq_value: '5d845b27-8d06-40a0-9e76-08de9d9f3c1f' }],
        update_body: { source: 'api' },
      }),
    ).toEqual({
      schema: 'public',
      table: 'app_events',
      set: { source: 'api' },
      filter: {
        kind: 'and',
        filters: [
          {
            kind: 'condition',
            column: { column: 'id' },
            operator: 'eq',
            value: '5d845b27-8d06-40a0-9e76-08de9d9f3c1f',
          },
        ],
      },
      returning: [{ kind: 'star' }],
    });
  });

  it('columns limit RETURNING; schema_name; JSON values kept', () => {
    const cmd = parseUpdateBody({
      table_name: 't',
      schema_name: 's',
      columns: 'id,source',
      conditions: [{ eq_column: 'id', eq_value: '1' }],
      update_body: { data: { nested: [1, 2] }, n: null },
      limit: 5,
    });
    expect(cmd).toMatchObject({ schema: 's', set: { data: { nested: [1, 2] }, n: null } });
    expect(cmd.returning).toEqual([
      { kind: 'column', column: { column: 'id' } },
      { kind: 'column', column: { column: 'source' } },
    ]);
    expect(cmd.limit).toBeUndefined();
  });

  it('refuses missing or empty conditions and update_body', () => {
    const base = { table_name: 't', conditions: [{ eq_column: 'id', eq_value: '1' }], update_body: { a: 1 } };
    for (const body of [
      { ...base, conditions: [] },
      { ...base, conditions: undefined },
      { ...base, update_body: undefined },
      { ...base, update_body: {} },
      { ...base, update_body: [1] },
      { ...base, update_body: { 'bad col;': 1 } },
      { ...base, table_name: undefined },
    ]) {
      expect(errorOf(() => parseUpdateBody(body))).toMatchObject({ code: 'invalid_request', httpStatus: 400 });
    }
  });
});

describe('parseInsertBody', () => {
  it('reads the contract example', () => {
    expect(
      parseInsertBody({
        table_name: 'app_events',
        insert_body: { event_type: 'user_login', user_id: 'u_123', source: 'dashboard' },
      }),
    ).toEqual({
      schema: 'public',
      table: 'app_events',
      rows: [{ event_type: 'user_login', user_id: 'u_123', source: 'dashboard' }],
      missing: 'default',
      returning: [{ kind: 'star' }],
    });
  });

  it('update_body makes an upsert on the primary key with those values', () => {
    const cmd = parseInsertBody({ table_name: 't', insert_body: { id: 1, n: 2 }, update_body: { n: 3 } });
    expect(cmd.onConflict).toEqual({ action: 'merge', set: { n: 3 } });
  });

  it('keeps a __proto__ key as a column, not a prototype', () => {
    const body = JSON.parse('{"table_name":"t","insert_body":{"__proto__":{"x":1},"a":1}}');
    const row = parseInsertBody(body).rows[0] as Record<string, unknown>;
    expect(Object.hasOwn(row, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  });

  it('refuses a missing or non-object insert_body', () => {
    for (const body of [
      { table_name: 't' },
      { table_name: 't', insert_body: [] },
      { table_name: 't', insert_body: 'x' },
      { table_name: 't', insert_body: null },
      { table_name: 't', insert_body: { a: 1 }, update_body: {} },
      { insert_body: { a: 1 } },
    ]) {
      expect(errorOf(() => parseInsertBody(body))).toMatchObject({ code: 'invalid_request', httpStatus: 400 });
    }
  });
});

describe('parseDeleteBody', () => {
  it('reads the contract example', () => {
    expect(parseDeleteBody({ table_name: 'app_events', resource_id: '5d845b27-8d06-40a0-9e76-08de9d9f3c1f' })).toEqual({
      schema: 'public',
      table: 'app_events',
      byPrimaryKey: '5d845b27-8d06-40a0-9e76-08de9d9f3c1f',
      returning: [{ kind: 'star' }],
    });
    expect(parseDeleteBody({ table_name: 'x.t', resource_id: 42 })).toMatchObject({
      schema: 'x',
      byPrimaryKey: '42',
    });
  });

  it('table_name and resource_id are required', () => {
    for (const body of [
      { resource_id: '1' },
      { view_name: 'v', resource_id: '1' },
      { table_name: 't' },
      { table_name: 't', resource_id: '' },
      { table_name: 't', resource_id: { id: 1 } },
      { table_name: 't', resource_id: 'a\u0000' },
    ]) {
      expect(errorOf(() => parseDeleteBody(body))).toMatchObject({ code: 'invalid_request', httpStatus: 400 });
    }
  });
});

describe('parseRpcBody', () => {
  it('reads the /gateway/rpc contract example', () => {
    expect(
      parseRpcBody({
        function: 'get_recent_events',
        schema: 'public',
        args: { p_limit: 10 },
        select: 'id,event_type,created_at',
        order: { column: 'created_at', ascending: false },
      }),
    ).toEqual({
      schema: 'public',
      fn: 'get_recent_events',
      args: { p_limit: 10 },
      select: [
        { kind: 'column', column: { column: 'id' } },
        { kind: 'column', column: { column: 'event_type' } },
        { kind: 'column', column: { column: 'created_at' } },
      ],
      order: [{ column: { column: 'created_at' }, direction: 'desc' }],
      readOnly: false,
    });
  });

  it('function_name alias, schema.function, filters with i_like/in/is, count, page', () => {
    const call = parseRpcBody({
      function_name: 'reports.top',
      filters: [
        { column: 'status', operator: 'eq', value: 'active' },
        { column: 'name', operator: 'i_like', value: '%a%' },
        { column: 'id', operator: 'in', value: [1, 2] },
        { column: 'deleted_at', operator: 'is' },
      ],
      count: 'exact',
      limit: 10,
      offset: 5,
      order: [{ column: 'a' }, { column: 'b', ascending: false }],
    });
    expect(call).toMatchObject({ schema: 'reports', fn: 'top', count: 'exact', limit: 10, offset: 5, args: {} });
    expect(filtersOf(call.filter)).toEqual([
      { kind: 'condition', column: { column: 'status' }, operator: 'eq', value: 'active' },
      { kind: 'condition', column: { column: 'name' }, operator: 'ilike', value: '%a%' },
      { kind: 'condition', column: { column: 'id' }, operator: 'in', value: [1, 2] },
      { kind: 'condition', column: { column: 'deleted_at' }, operator: 'is', value: 'null' },
    ]);
    expect(call.order?.map((o) => o.direction)).toEqual(['asc', 'desc']);
    expect(parseRpcBody({ function: 'x.f', schema: 'public' }).schema).toBe('x');
  });

  it('refuses bad wrappers', () => {
    for (const body of [
      {},
      { function: '' },
      { function: 'f', function_name: 'g' },
      { function: 'a.f', schema: 'b' },
      { function: 'a.b.c' },
      { function: 'f', args: [1] },
      { function: 'f', select: ['id'] },
      { function: 'f', select: 'id,(' },
      { function: 'f', filters: [{ column: 'a', operator: 'regex', value: 'x' }] },
      { function: 'f', filters: [{ column: 'a', operator: 'in', value: 'x' }] },
      { function: 'f', filters: {} },
      { function: 'f', count: 'planned' },
      { function: 'f', limit: -1 },
      { function: 'f', order: { column: 'a', ascending: 'no' } },
      { function: 'f', order: 'a' },
      { function: 'f; drop function f' },
    ]) {
      expect(errorOf(() => parseRpcBody(body))).toMatchObject({ code: 'invalid_request', httpStatus: 400 });
    }
  });

  it('POST /rpc/{fn}: wrapper when every key is a wrapper key, else the bare argument object; the path wins', () => {
    expect(parseRpcBody({ p_limit: 10 }, 'get_recent_events')).toEqual({
      schema: 'public',
      fn: 'get_recent_events',
      args: { p_limit: 10 },
      readOnly: false,
    });
    expect(parseRpcBody({ args: { p: 1 }, limit: 2 }, 'f')).toMatchObject({ fn: 'f', args: { p: 1 }, limit: 2 });
    expect(parseRpcBody({ function: 'other', args: {} }, 'f').fn).toBe('f');
    // One non-wrapper key: the whole object is the arguments, `limit` included.
    expect(parseRpcBody({ limit: 5, p_user: 'u' }, 'f')).toMatchObject({ args: { limit: 5, p_user: 'u' } });
    expect(parseRpcBody({}, 'f').args).toEqual({});
    expect(parseRpcBody({ p: 1 }, 's.f')).toMatchObject({ schema: 's', fn: 'f' });
    expect(errorOf(() => parseRpcBody([1], 'f')).code).toBe('invalid_request');
  });
});

describe('parseRpcGetQuery', () => {
  const args = new Set(['p_limit', 'mode']);
  const isArgument = (name: string) => args.has(name);

  it('reads reserved keys, arguments and filters (contract description)', () => {
    const call = parseRpcGetQuery(
      'p_limit=10&status=eq.active&id=in.{1,2}&select=id,status&order=created_at.desc&limit=5&offset=1&count=exact&mode=eq.literal',
      isArgument,
      'get_recent_events',
    );
    expect(call).toEqual({
      schema: 'public',
      fn: 'get_recent_events',
      args: { p_limit: '10', mode: 'eq.literal' },
      select: [
        { kind: 'column', column: { column: 'id' } },
        { kind: 'column', column: { column: 'status' } },
      ],
      filter: {
        kind: 'and',
        filters: [
          { kind: 'condition', column: { column: 'status' }, operator: 'eq', value: 'active' },
          { kind: 'condition', column: { column: 'id' }, operator: 'in', value: ['1', '2'] },
        ],
      },
      order: [{ column: { column: 'created_at' }, direction: 'desc' }],
      limit: 5,
      offset: 1,
      count: 'exact',
      readOnly: true,
    });
    expect(parseRpcGetQuery('order=created_at', isArgument, 'f').order).toEqual([
      { column: { column: 'created_at' }, direction: 'asc' },
    ]);
  });

  it('passes the schema to isArgument', () => {
    const seen: string[] = [];
    const call = parseRpcGetQuery(
      'schema=reports&p=1',
      (name, schema) => {
        seen.push(`${schema}.${name}`);
        return true;
      },
      'f',
    );
    expect(call).toMatchObject({ schema: 'reports', args: { p: '1' } });
    expect(seen).toEqual(['reports.p']);
  });

  it('refuses keys that are neither arguments nor filters, and bad reserved values', () => {
    for (const q of ['unknown=plain', 'status=noop.1', 'count=planned', 'limit=x', 'schema=a&schema=b', 'or=(a']) {
      expect(errorOf(() => parseRpcGetQuery(q, isArgument, 'f'))).toMatchObject({
        code: 'invalid_request',
        httpStatus: 400,
      });
    }
  });
});

describe('hostile bodies', () => {
  it('random JSON: only GatewayParseError ever escapes', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const keys = [
      'table_name',
      'view_name',
      'schema_name',
      'select',
      'columns',
      'conditions',
      'where',
      'where_filters',
      'orderBy',
      'sortBy',
      'sort_by',
      'limit',
      'offset',
      'current_page',
      'page_size',
      'update_body',
      'insert_body',
      'resource_id',
      'function',
      'args',
      'filters',
      'order',
      'count',
      'column',
      'operator',
      'value',
      'values',
      'eq_column',
      'eq_value',
      'relations',
      'table',
      'via',
      'field',
      'direction',
      '__proto__',
      'constructor',
    ];
    const scalars: unknown[] = [
      't',
      'a.b',
      '',
      'eq',
      'in',
      '*',
      'id,(',
      '\u0000',
      'é',
      -1,
      0,
      1,
      1.5,
      1e308,
      true,
      null,
    ];
    const value = (depth: number): unknown => {
      const r = next() % 10;
      if (depth > 3 || r < 5) return scalars[next() % scalars.length];
      if (r < 7) return Array.from({ length: next() % 4 }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = next() % 5; i > 0; i--) o[keys[next() % keys.length] as string] = value(depth + 1);
      return o;
    };
    const parsers = [
      parseFetchBody,
      parseDataBody,
      parseUpdateBody,
      parseInsertBody,
      parseDeleteBody,
      (b: unknown) => parseRpcBody(b),
      (b: unknown) => parseRpcBody(b, 'f'),
    ];
    for (let i = 0; i < 4000; i++) {
      const body: Record<string, unknown> = { table_name: 't' };
      for (let k = next() % 6; k > 0; k--) body[keys[next() % keys.length] as string] = value(0);
      const query = Object.entries(body)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('&');
      for (const parse of [
        () => parseGetDataQuery(new URLSearchParams(`view=v&eq_column=a&eq_value=1&${query}`)),
        () => parseRpcGetQuery(query, (name) => name.length % 2 === 0, 'f'),
      ]) {
        try {
          parse();
        } catch (e) {
          if (!(e instanceof GatewayParseError)) throw new Error(`${JSON.stringify(query)} threw ${String(e)}`);
          expect(e.httpStatus).toBe(400);
        }
      }
      for (const parse of parsers) {
        try {
          parse(body);
        } catch (e) {
          if (!(e instanceof GatewayParseError)) throw new Error(`${JSON.stringify(body)} threw ${String(e)}`);
          expect(e.httpStatus).toBe(400);
        }
      }
    }
  });
});
