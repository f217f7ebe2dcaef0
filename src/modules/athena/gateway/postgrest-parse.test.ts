import { describe, expect, it } from 'vitest';
import type { Filter, FilterCondition, FilterGroup, SelectEmbed, SelectItem } from './ast.ts';
import { GatewayParseError } from './parse-errors.ts';
import {
  looksLikeOperation,
  maxNesting,
  parseOrder,
  parsePostgrestQuery,
  parsePrefer,
  parseRange,
  parseSelect,
} from './postgrest-parse.ts';

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

/** The embed at `select[i]`. */
function embedAt(select: SelectItem[] | undefined, i: number): SelectEmbed {
  const item = select?.[i];
  expect(item?.kind).toBe('embed');
  return item as SelectEmbed;
}

const read = (q: string) => parsePostgrestQuery(q, 'read');
/** The root filters of a read, unwrapped from the root AND. */
const rootFilters = (q: string): Filter[] => read(q).filter?.filters ?? [];
const only = (q: string): FilterCondition => {
  const filters = rootFilters(q);
  expect(filters).toHaveLength(1);
  return filters[0] as FilterCondition;
};

describe('select grammar', () => {
  it('plain columns, star, aliases, casts (PostgREST docs)', () => {
    expect(parseSelect('first_name,age')).toEqual([
      { kind: 'column', column: { column: 'first_name' } },
      { kind: 'column', column: { column: 'age' } },
    ]);
    expect(parseSelect('*')).toEqual([{ kind: 'star' }]);
    expect(parseSelect('fullName:full_name,birthDate:birth_date')).toEqual([
      { kind: 'column', column: { column: 'full_name' }, alias: 'fullName' },
      { kind: 'column', column: { column: 'birth_date' }, alias: 'birthDate' },
    ]);
    expect(parseSelect('full_name,salary::text')).toEqual([
      { kind: 'column', column: { column: 'full_name' } },
      { kind: 'column', column: { column: 'salary' }, cast: 'text' },
    ]);
    expect(parseSelect('n::Double Precision')[0]).toMatchObject({ cast: 'double precision' });
  });

  it('JSON paths, array indexes, casts after paths', () => {
    expect(parseSelect('id,json_data->>blood_type,json_data->phones')).toEqual([
      { kind: 'column', column: { column: 'id' } },
      { kind: 'column', column: { column: 'json_data', json: [{ key: 'blood_type', text: true }] } },
      { kind: 'column', column: { column: 'json_data', json: [{ key: 'phones', text: false }] } },
    ]);
    expect(parseSelect('id,json_data->phones->0->>number')[1]).toEqual({
      kind: 'column',
      column: {
        column: 'json_data',
        json: [
          { key: 'phones', text: false },
          { key: 0, text: false },
          { key: 'number', text: true },
        ],
      },
    });
    expect(parseSelect('x:data->-1::int')[0]).toEqual({
      kind: 'column',
      alias: 'x',
      column: { column: 'data', json: [{ key: -1, text: false }] },
      cast: 'int',
    });
  });

  it('aggregates: col.sum(), count(), casts before and after, aliases', () => {
    expect(parseSelect('amount.sum()')).toEqual([
      { kind: 'column', column: { column: 'amount' }, aggregate: { fn: 'sum' } },
    ]);
    expect(parseSelect('amount.avg(),order_date')).toEqual([
      { kind: 'column', column: { column: 'amount' }, aggregate: { fn: 'avg' } },
      { kind: 'column', column: { column: 'order_date' } },
    ]);
    expect(parseSelect('count()')).toEqual([{ kind: 'count' }]);
    expect(parseSelect('total:count()::int')).toEqual([{ kind: 'count', alias: 'total', cast: 'int' }]);
    expect(parseSelect('amount.sum()::text')[0]).toEqual({
      kind: 'column',
      column: { column: 'amount' },
      aggregate: { fn: 'sum', cast: 'text' },
    });
    expect(parseSelect('order_details->tax_amount::numeric.sum()')[0]).toEqual({
      kind: 'column',
      column: { column: 'order_details', json: [{ key: 'tax_amount', text: false }] },
      cast: 'numeric',
      aggregate: { fn: 'sum' },
    });
    expect(parseSelect('avg_amount:amount.avg()')[0]).toMatchObject({ alias: 'avg_amount', aggregate: { fn: 'avg' } });
    expect(parseSelect('id.count(),m:x.max(),y.min()').map((i) => i.kind === 'column' && i.aggregate?.fn)).toEqual([
      'count',
      'max',
      'min',
    ]);
  });

  it('embeds: alias, hints, join types, spread, nesting, empty embed', () => {
    expect(parseSelect('title,directors(id,last_name)')[1]).toEqual({
      kind: 'embed',
      relation: 'directors',
      select: [
        { kind: 'column', column: { column: 'id' } },
        { kind: 'column', column: { column: 'last_name' } },
      ],
    });
    expect(parseSelect('name,billing_address:addresses!billing(name)')[1]).toMatchObject({
      relation: 'addresses',
      alias: 'billing_address',
      hint: 'billing',
    });
    expect(parseSelect('*,actors!inner(*)')[1]).toMatchObject({ relation: 'actors', inner: true });
    expect(parseSelect('*,actors!left(*)')[1]).toMatchObject({ relation: 'actors', inner: false });
    expect(parseSelect('*,a!fk!inner(*)')[1]).toMatchObject({ hint: 'fk', inner: true });
    expect(parseSelect('*,a!inner!fk(*)')[1]).toMatchObject({ hint: 'fk', inner: true });
    expect(parseSelect('title,...directors(director_last_name:last_name)')[1]).toEqual({
      kind: 'embed',
      relation: 'directors',
      spread: true,
      select: [{ kind: 'column', column: { column: 'last_name' }, alias: 'director_last_name' }],
    });
    expect(parseSelect('...d!fk!inner(*)')[0]).toMatchObject({ spread: true, hint: 'fk', inner: true });
    expect(parseSelect('*,films(*,actors(first_name))')[1]).toMatchObject({
      relation: 'films',
      select: [{ kind: 'star' }, { kind: 'embed', relation: 'actors' }],
    });
    expect(parseSelect('title,actors()')[1]).toEqual({ kind: 'embed', relation: 'actors', select: [] });
  });

  it("Athena's schema-qualified relations (contract example users:athena.users(id,username,image),user_id)", () => {
    expect(parseSelect('users:athena.users(id,username,image),user_id')).toEqual([
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
    ]);
    expect(parseSelect('s.rel!fk(*)')[0]).toMatchObject({ schema: 's', relation: 'rel', hint: 'fk' });
    // A relation named like an aggregate is still a relation when it takes columns.
    expect(parseSelect('s.sum(id)')[0]).toMatchObject({ kind: 'embed', schema: 's', relation: 'sum' });
    expect(parseSelect('count(id)')[0]).toMatchObject({ kind: 'embed', relation: 'count' });
  });

  it('whitespace, quoted names, unicode, dashes', () => {
    expect(parseSelect(' id , name ,  rel ( a , b ) ')).toEqual([
      { kind: 'column', column: { column: 'id' } },
      { kind: 'column', column: { column: 'name' } },
      {
        kind: 'embed',
        relation: 'rel',
        select: [
          { kind: 'column', column: { column: 'a' } },
          { kind: 'column', column: { column: 'b' } },
        ],
      },
    ]);
    expect(parseSelect('"a,b","q\\"x",first name,dash-name')).toEqual([
      { kind: 'column', column: { column: 'a,b' } },
      { kind: 'column', column: { column: 'q"x' } },
      { kind: 'column', column: { column: 'first name' } },
      { kind: 'column', column: { column: 'dash-name' } },
    ]);
    expect(parseSelect('名前,données,𝒳')).toEqual([
      { kind: 'column', column: { column: '名前' } },
      { kind: 'column', column: { column: 'données' } },
      { kind: 'column', column: { column: '𝒳' } },
    ]);
  });

  it('refuses malformed selects with PGRST100 and PostgREST-style details', () => {
    const e = errorOf(() => parseSelect('id,clients(name[])'));
    expect(e.code).toBe('PGRST100');
    expect(e.httpStatus).toBe(400);
    expect(e.message).toBe('"failed to parse select parameter (id,clients(name[]))" (line 1, column 16)');
    expect(e.details).toBe('unexpected "[" expecting ",", ")" or end of input');
    expect(errorOf(() => parseSelect('a,b)')).details).toBe('unexpected ")" expecting "," or end of input');
    expect(errorOf(() => parseSelect('a(b')).details).toContain('unexpected end of input');
    expect(errorOf(() => parseSelect('')).details).toContain('field name');
    expect(errorOf(() => parseSelect('a,,b')).code).toBe('PGRST100');
    expect(errorOf(() => parseSelect('name!hint')).code).toBe('PGRST100');
    expect(errorOf(() => parseSelect('*!hint')).code).toBe('PGRST100');
    expect(errorOf(() => parseSelect('name::')).details).toContain('unexpected end of input');
    expect(errorOf(() => parseSelect('a::regclass')).details).toBe('unknown or disallowed cast "regclass"');
    expect(errorOf(() => parseSelect('a.median()')).details).toContain('aggregate function');
    expect(errorOf(() => parseSelect('a!x!y!z(*)')).code).toBe('PGRST100');
    expect(errorOf(() => parseSelect('rel->x(*)')).code).toBe('PGRST100');
    expect(errorOf(() => parseSelect('"unterminated')).details).toContain('closing quote');
    expect(errorOf(() => parseSelect('id,""')).details).toBe('empty field name');
    expect(errorOf(() => parseSelect('   ')).details).toContain('field name');
    expect(errorOf(() => parseSelect('data->>-78xy')).code).toBe('PGRST100');
  });

  it(`bounds nesting at ${maxNesting} levels`, () => {
    const nest = (n: number) => `${'r('.repeat(n)}id${')'.repeat(n)}`;
    expect(() => parseSelect(nest(maxNesting))).not.toThrow();
    const e = errorOf(() => parseSelect(nest(maxNesting + 1)));
    expect(e.details).toBe(`nesting deeper than ${maxNesting} levels`);
    expect(errorOf(() => parseSelect(nest(100_000))).code).toBe('PGRST100');
  });
});

describe('filters', () => {
  it('horizontal filtering operators (PostgREST docs)', () => {
    expect(rootFilters('age=gte.18&student=is.true')).toEqual([
      { kind: 'condition', column: { column: 'age' }, operator: 'gte', value: '18' },
      { kind: 'condition', column: { column: 'student' }, operator: 'is', value: 'true' },
    ]);
    for (const op of ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'match', 'imatch', 'isdistinct']) {
      expect(only(`c=${op}.v`)).toEqual({ kind: 'condition', column: { column: 'c' }, operator: op, value: 'v' });
    }
    expect(only('c=is.NULL').value).toBe('null');
    expect(only('c=is.unknown').value).toBe('unknown');
    expect(only('c=is.not_null').value).toBe('not_null');
    expect(only('c=not.is.null')).toMatchObject({ negated: true, operator: 'is', value: 'null' });
    expect(only('c=not.eq.5')).toMatchObject({ negated: true, operator: 'eq', value: '5' });
  });

  it('takes the whole rest of a single value (dots, commas, parens)', () => {
    expect(only('name=eq.a.b,c(d)').value).toBe('a.b,c(d)');
    expect(only('name=eq.').value).toBe('');
    expect(only('name=like.*O*').value).toBe('*O*');
    expect(only('name=match.^A.*$').value).toBe('^A.*$');
  });

  it('in lists: quoting, escapes, commas inside quotes, empty list, Athena {a,b}', () => {
    expect(only('id=in.(1,2,3)').value).toEqual(['1', '2', '3']);
    expect(only('name=in.("Hi,there","yes")').value).toEqual(['Hi,there', 'yes']);
    expect(only('name=in.("a\\"b","c\\\\d",plain)').value).toEqual(['a"b', 'c\\d', 'plain']);
    expect(only('id=in.()').value).toEqual([]);
    expect(only('id=in.{1,2,"x,y"}').value).toEqual(['1', '2', 'x,y']);
    expect(only('id=not.in.(1,2)')).toMatchObject({ negated: true, operator: 'in', value: ['1', '2'] });
    expect(errorOf(() => read('id=in.1,2')).details).toBe('unexpected "1" expecting "("');
    expect(errorOf(() => read('id=in.(1,2')).code).toBe('PGRST100');
    expect(errorOf(() => read('id=in.(1,2)x')).code).toBe('PGRST100');
  });

  it('reserved characters: percent-encoded quotes, backslash escapes (PostgREST docs)', () => {
    expect(only('name=in.(%22Hebdon,John%22,%22Williams,Mary%22)').value).toEqual(['Hebdon,John', 'Williams,Mary']);
    expect(only('name=in.("Double\\"Quote\\"McGraw\\"")').value).toEqual(['Double"Quote"McGraw"']);
    expect(only('or=(name.eq."Hebdon,John",name.eq."Williams,Mary")')).toMatchObject({
      filters: [{ value: 'Hebdon,John' }, { value: 'Williams,Mary' }],
    });
    expect(only('tags=cs.{"a,b",c}').value).toBe('{"a,b",c}');
    expect(only('"my col"=eq.1').column.column).toBe('my col');
  });

  it('quantifiers any/all over array literals', () => {
    expect(only('last_name=like(any).{O*,P*}')).toEqual({
      kind: 'condition',
      column: { column: 'last_name' },
      operator: 'like',
      quantifier: 'any',
      value: ['O*', 'P*'],
    });
    expect(only('x=eq(all).{a,"b,c",NULL}')).toMatchObject({ quantifier: 'all', value: ['a', 'b,c', null] });
    expect(errorOf(() => read('x=eq(some).{a}')).details).toContain('"(any)" or "(all)"');
    expect(errorOf(() => read('x=cs(any).{a}')).details).toBe('operator cs takes no quantifier');
    expect(errorOf(() => read('x=eq(any).a')).code).toBe('PGRST100');
    expect(errorOf(() => read('x=eq(any).{{1},{2}}')).details).toContain('nested arrays');
  });

  it('full-text search with and without configuration', () => {
    expect(only('tsv=fts(french).amusant')).toEqual({
      kind: 'condition',
      column: { column: 'tsv' },
      operator: 'fts',
      ftsConfig: 'french',
      value: 'amusant',
    });
    expect(only('tsv=not.phfts(english).The%20Fat%20Cats')).toMatchObject({
      negated: true,
      operator: 'phfts',
      ftsConfig: 'english',
      value: 'The Fat Cats',
    });
    expect(only('my_tsv=wfts.cat')).toMatchObject({ operator: 'wfts', value: 'cat' });
    expect(only('my_tsv=plfts.fat+cats')).toMatchObject({ operator: 'plfts', value: 'fat cats' });
    expect(errorOf(() => read('t=xfts(english).cat')).details).toBe('unknown fts operator xfts');
  });

  it('arrays and ranges: cs, cd, ov, sl, sr, nxr, nxl, adj', () => {
    expect(only('tags=cs.{example,new}')).toMatchObject({ operator: 'cs', value: '{example,new}' });
    expect(only('tags=cd.{1,2}')).toMatchObject({ operator: 'cd', value: '{1,2}' });
    expect(only('period=ov.[2017-01-01,2017-06-30]')).toMatchObject({ value: '[2017-01-01,2017-06-30]' });
    for (const op of ['sl', 'sr', 'nxr', 'nxl', 'adj']) {
      expect(only(`range=${op}.(1,10)`)).toMatchObject({ operator: op, value: '(1,10)' });
    }
    expect(only('data=cs.{"a":1}').value).toBe('{"a":1}');
  });

  it('JSON path columns in filters', () => {
    expect(only('json_data->>blood_type=eq.A-')).toEqual({
      kind: 'condition',
      column: { column: 'json_data', json: [{ key: 'blood_type', text: true }] },
      operator: 'eq',
      value: 'A-',
    });
    expect(only('json_data->age=gt.20').column).toEqual({ column: 'json_data', json: [{ key: 'age', text: false }] });
    expect(only('arr->0->>x=eq.1').column.json).toEqual([
      { key: 0, text: false },
      { key: 'x', text: true },
    ]);
  });

  it('unknown operators and non-filters are PGRST100', () => {
    const e = errorOf(() => read('a=noop.0'));
    expect(e.code).toBe('PGRST100');
    expect(e.message).toBe('"failed to parse filter (noop.0)" (line 1, column 1)');
    expect(e.details).toBe('unknown single value operator noop');
    expect(errorOf(() => read('a=justtext')).code).toBe('PGRST100');
    expect(errorOf(() => read('a=not.noop.1')).details).toBe('unknown single value operator noop');
    expect(errorOf(() => read('a=is.maybe')).details).toContain('null or trilean value');
    expect(errorOf(() => read('a=eq')).code).toBe('PGRST100');
  });

  it('keeps order and duplicate keys; decodes + as space and percent escapes', () => {
    expect(rootFilters('id=gt.1&id=lt.5&id=neq.3').map((f) => (f as FilterCondition).operator)).toEqual([
      'gt',
      'lt',
      'neq',
    ]);
    expect(only('name=eq.a+b').value).toBe('a b');
    expect(only('name=eq.a%2Bb').value).toBe('a+b');
    expect(only('name=eq.%E2%9C%93%20ok').value).toBe('✓ ok');
    expect(only('na%6De=eq.x').column.column).toBe('name');
    expect(only('?name=eq.x').column.column).toBe('name');
    expect(read('').filter).toBeUndefined();
    expect(read('bare&&').filter).toBeUndefined();
  });
});

describe("Athena's col.op=value form and its disambiguation", () => {
  it('reads the documented contract forms column.eq=value, column.lt=value, column.lte=value', () => {
    expect(rootFilters('status.eq=active&age.lt=30&score.lte=9.5')).toEqual([
      { kind: 'condition', column: { column: 'status' }, operator: 'eq', value: 'active' },
      { kind: 'condition', column: { column: 'age' }, operator: 'lt', value: '30' },
      { kind: 'condition', column: { column: 'score' }, operator: 'lte', value: '9.5' },
    ]);
  });

  it('in, is, not, JSON paths and embeds in the Athena form', () => {
    expect(only('id.in=(1,2,"a,b")').value).toEqual(['1', '2', 'a,b']);
    expect(only('id.in={1,2}').value).toEqual(['1', '2']);
    expect(only('deleted_at.is=null')).toMatchObject({ operator: 'is', value: 'null' });
    expect(only('name.not.eq=bob')).toMatchObject({ negated: true, operator: 'eq', value: 'bob' });
    expect(only('data->>k.eq=v').column).toEqual({ column: 'data', json: [{ key: 'k', text: true }] });
    expect(only('name.eq=a,b.c').value).toBe('a,b.c');
    const q = read('select=*,actors(*)&actors.first_name.eq=Jehanne');
    expect(filtersOf(embedAt(q.select, 1).filter)).toEqual([
      { kind: 'condition', column: { column: 'first_name' }, operator: 'eq', value: 'Jehanne' },
    ]);
  });

  it('PostgREST form wins when the value starts with an operator', () => {
    // `actors.first_name=eq.x` is a filter on embed actors, not Athena's form.
    const q = read('select=*,actors(*)&actors.first_name=eq.x');
    expect(q.filter).toBeUndefined();
    expect(filtersOf(embedAt(q.select, 1).filter)[0]).toMatchObject({ column: { column: 'first_name' } });
    // `name.like=eq.x` is column `like` of an embed `name`, which the select does not have.
    const e = errorOf(() => read('name.like=eq.x'));
    expect(e.code).toBe('PGRST108');
    // A value that starts with no operator on a key ending in .<op> is Athena's.
    expect(only('name.like=J%25')).toMatchObject({ column: { column: 'name' }, operator: 'like', value: 'J%' });
    expect(looksLikeOperation('eq.1')).toBe(true);
    expect(looksLikeOperation('fts(english).x')).toBe(true);
    expect(looksLikeOperation('eq(any).{1}')).toBe(true);
    expect(looksLikeOperation('not.anything')).toBe(true);
    expect(looksLikeOperation('bob')).toBe(false);
    expect(looksLikeOperation('equal.1')).toBe(false);
  });

  it('a key ending in an unknown word is no filter', () => {
    expect(errorOf(() => read('name.foo=bar')).code).toBe('PGRST100');
  });
});

describe('logic trees', () => {
  it('or, and, nesting, not (PostgREST docs and contract examples)', () => {
    expect(only('or=(a.eq.1,b.eq.2)' as string)).toEqual({
      kind: 'or',
      filters: [
        { kind: 'condition', column: { column: 'a' }, operator: 'eq', value: '1' },
        { kind: 'condition', column: { column: 'b' }, operator: 'eq', value: '2' },
      ],
    });
    expect(only('or=(a.eq.1,and(b.gt.2,c.lt.3))')).toEqual({
      kind: 'or',
      filters: [
        { kind: 'condition', column: { column: 'a' }, operator: 'eq', value: '1' },
        {
          kind: 'and',
          filters: [
            { kind: 'condition', column: { column: 'b' }, operator: 'gt', value: '2' },
            { kind: 'condition', column: { column: 'c' }, operator: 'lt', value: '3' },
          ],
        },
      ],
    });
    const q = rootFilters('grade=gte.90&student=is.true&or=(age.eq.14,not.and(age.gte.11,age.lte.17))');
    expect(q).toHaveLength(3);
    expect(q[2]).toMatchObject({ kind: 'or', filters: [{ operator: 'eq' }, { kind: 'and', negated: true }] });
    expect(only('not.or=(a.eq.1,b.eq.2)')).toMatchObject({ kind: 'or', negated: true });
    expect(only('and=(a.gte.1,a.lte.5)')).toMatchObject({ kind: 'and' });
    expect(only('not.and=(a.eq.1,b.eq.2)')).toMatchObject({ kind: 'and', negated: true });
  });

  it('values in trees: quoted with commas and parens, arrays, in lists, ranges, fts, not, JSON paths', () => {
    const tree = only(
      'or=(name.eq."a,b)",tags.cs.{1,2},id.in.(1,"2,3"),r.adj.[1,5),t.fts(english).cat,x.not.is.null,d->>k.eq.v)',
    );
    expect(tree.kind).toBe('or');
    const f = (tree as unknown as { filters: FilterCondition[] }).filters;
    expect(f.map((c) => c.value)).toEqual(['a,b)', '{1,2}', ['1', '2,3'], '[1,5)', 'cat', 'null', 'v']);
    expect(f[4]?.ftsConfig).toBe('english');
    expect(f[5]?.negated).toBe(true);
    expect(f[6]?.column).toEqual({ column: 'd', json: [{ key: 'k', text: true }] });
    expect(only('or=(a.eq.,b.eq.2)')).toMatchObject({ filters: [{ value: '' }, { value: '2' }] });
    expect(only('or=( a.eq.1 , b.eq.2 )')).toMatchObject({ filters: [{ value: '1 ' }, { value: '2 ' }] });
  });

  it('embedded logic trees: rel.or, rel.not.and', () => {
    const q = read('select=*,actors(*)&actors.or=(first_name.eq.Jehanne,last_name.eq.Rahal)&actors.not.and=(a.eq.1)');
    const embed = q.select?.[1] as SelectEmbed;
    expect(filtersOf(embed.filter)).toHaveLength(2);
    expect(filtersOf(embed.filter)[0]).toMatchObject({ kind: 'or' });
    expect(filtersOf(embed.filter)[1]).toMatchObject({ kind: 'and', negated: true });
    expect(q.embedded).toEqual([{ path: ['actors'], filter: embed.filter }]);
  });

  it('refuses malformed trees', () => {
    expect(errorOf(() => read('or=(a.eq.1')).code).toBe('PGRST100');
    expect(errorOf(() => read('or=a.eq.1')).details).toContain('"("');
    expect(errorOf(() => read('or=()')).code).toBe('PGRST100');
    expect(errorOf(() => read('or=(id.in.1,2,id.eq.3)')).code).toBe('PGRST100');
    expect(errorOf(() => read('or=(a.eq.1))')).details).toContain('end of input');
    expect(errorOf(() => read('or=(a.eq.1,xor(b.eq.2))')).code).toBe('PGRST100');
    expect(errorOf(() => read('or=(a.noop.1)')).details).toBe('unknown single value operator noop');
    expect(errorOf(() => read('or=(a)')).code).toBe('PGRST100');
    // As in PostgREST, a quote not closing the value is part of a raw value.
    expect(only('or=(a.eq."x"y)')).toMatchObject({ filters: [{ value: '"x"y' }] });
  });

  it(`bounds nesting at ${maxNesting} levels`, () => {
    const tree = (n: number) => `(${'and('.repeat(n - 1)}a.eq.1${')'.repeat(n - 1)})`;
    expect(() => read(`or=${tree(maxNesting)}`)).not.toThrow();
    expect(errorOf(() => read(`or=${tree(maxNesting + 1)}`)).details).toBe(`nesting deeper than ${maxNesting} levels`);
    expect(errorOf(() => read(`or=${tree(50_000)}`)).code).toBe('PGRST100');
  });
});

describe('order', () => {
  it('directions, nulls, JSON paths, to-one relations (PostgREST docs)', () => {
    expect(parseOrder('age.desc,height.asc')).toEqual([
      { column: { column: 'age' }, direction: 'desc' },
      { column: { column: 'height' }, direction: 'asc' },
    ]);
    expect(parseOrder('age.nullsfirst')).toEqual([{ column: { column: 'age' }, direction: 'asc', nulls: 'first' }]);
    expect(parseOrder('col.desc.nullslast,col2,col3.asc.nullsfirst')).toEqual([
      { column: { column: 'col' }, direction: 'desc', nulls: 'last' },
      { column: { column: 'col2' }, direction: 'asc' },
      { column: { column: 'col3' }, direction: 'asc', nulls: 'first' },
    ]);
    expect(parseOrder('json_col->key.asc.nullslast')).toEqual([
      { column: { column: 'json_col', json: [{ key: 'key', text: false }] }, direction: 'asc', nulls: 'last' },
    ]);
    expect(parseOrder('clients(json_col->>key).desc.nullsfirst')).toEqual([
      {
        column: { column: 'json_col', json: [{ key: 'key', text: true }] },
        direction: 'desc',
        nulls: 'first',
        relation: 'clients',
      },
    ]);
    expect(parseOrder('name,clients(name),id').map((t) => t.relation)).toEqual([undefined, 'clients', undefined]);
    expect(parseOrder(' a.desc , b ')).toHaveLength(2);
  });

  it('refuses malformed order terms (PostgREST doctest cases)', () => {
    for (const bad of [
      'clients(name,id)',
      'id.ac',
      'id.descc',
      'id.nulsfist',
      'id.nullslasttt',
      'id.asc.nlsfst',
      'id.asc.desc',
      'id.nullsfirst.asc',
      '',
      'a,',
    ]) {
      const e = errorOf(() => parseOrder(bad));
      expect(e.code).toBe('PGRST100');
      expect(e.message).toContain('failed to parse order');
    }
    expect(errorOf(() => parseOrder('id.ac')).details).toBe(
      'unexpected "a" expecting "asc", "desc", "nullsfirst" or "nullslast"',
    );
  });

  it('order in the query: root, embedded, duplicate keys accumulate', () => {
    const q = read('select=title,actors(first_name,last_name)&actors.order=last_name.desc&order=title&order=id.desc');
    expect(q.order).toEqual([
      { column: { column: 'title' }, direction: 'asc' },
      { column: { column: 'id' }, direction: 'desc' },
    ]);
    expect(embedAt(q.select, 1).order).toEqual([{ column: { column: 'last_name' }, direction: 'desc' }]);
  });
});

describe('limit, offset, columns, on_conflict', () => {
  it('reads them', () => {
    const q = parsePostgrestQuery('limit=10&offset=5&columns=a,b,"c d"&on_conflict=id,email', 'write');
    expect(q).toMatchObject({ limit: 10, offset: 5, columns: ['a', 'b', 'c d'], onConflict: ['id', 'email'] });
    expect(read('limit=0').limit).toBe(0);
    expect(read('limit=1&limit=2').limit).toBe(2);
  });

  it('refuses bad integers with PGRST100', () => {
    for (const bad of ['limit=-1', 'limit=abc', 'limit=1.5', 'offset=', 'offset=1e3', 'limit=99999999999999999999']) {
      const e = errorOf(() => read(bad));
      expect(e.code).toBe('PGRST100');
      expect(e.httpStatus).toBe(400);
    }
    expect(errorOf(() => read('columns=a,,b')).message).toContain('failed to parse columns parameter');
    expect(errorOf(() => read('on_conflict=')).message).toContain('failed to parse on_conflict parameter');
  });
});

describe('embedded resource parameters', () => {
  it('attach by alias or name, at any depth', () => {
    const q = read(
      'select=*,a:actors(*),films(*,roles(*))&a.limit=1&a.offset=2&films.roles.limit=3&films.roles.character=eq.x&films.order=title',
    );
    const [, actors, films] = q.select as [unknown, SelectEmbed, SelectEmbed];
    expect(actors).toMatchObject({ alias: 'a', limit: 1, offset: 2 });
    expect(films.order).toEqual([{ column: { column: 'title' }, direction: 'asc' }]);
    const roles = films.select[1] as SelectEmbed;
    expect(roles).toMatchObject({ relation: 'roles', limit: 3 });
    expect(filtersOf(roles.filter)[0]).toMatchObject({ column: { column: 'character' }, value: 'x' });
    expect(q.embedded.map((e) => e.path)).toEqual([['a'], ['films', 'roles'], ['films']]);
  });

  it('a path naming no embed is PGRST108', () => {
    const e = errorOf(() => read('select=*&actors.limit=1'));
    expect(e).toMatchObject({
      code: 'PGRST108',
      httpStatus: 400,
      message: "'actors' is not an embedded resource in this request",
    });
    expect(errorOf(() => read('actors.first_name=eq.x')).code).toBe('PGRST108');
    expect(errorOf(() => read('select=*,films(*)&films.roles.limit=1')).code).toBe('PGRST108');
  });
});

describe('rpc arguments', () => {
  it('keys that are not filters are arguments; repeated keys are arrays', () => {
    const q = parsePostgrestQuery('p_limit=10&v=1&v=2&status=eq.active&select=id', 'rpc');
    expect(q.rpcArgs).toEqual({ p_limit: '10', v: ['1', '2'] });
    expect(filtersOf(q.filter)).toEqual([
      { kind: 'condition', column: { column: 'status' }, operator: 'eq', value: 'active' },
    ]);
    expect(q.select).toEqual([{ kind: 'column', column: { column: 'id' } }]);
  });

  it('with isArgument, a declared argument wins even when it looks like a filter; others must be filters', () => {
    const isArgument = (n: string) => n === 'mode' || n === '__proto__';
    const q = parsePostgrestQuery('mode=eq.x&id=in.{1,2}&__proto__=p', 'rpc', { isArgument });
    expect(q.rpcArgs.mode).toBe('eq.x');
    expect(Object.hasOwn(q.rpcArgs, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(q.rpcArgs)).toBe(Object.prototype);
    expect(filtersOf(q.filter)[0]).toMatchObject({ operator: 'in', value: ['1', '2'] });
    expect(errorOf(() => parsePostgrestQuery('other=plain', 'rpc', { isArgument })).code).toBe('PGRST100');
  });

  it('reads and writes refuse non-filter keys', () => {
    expect(errorOf(() => parsePostgrestQuery('p=1', 'write')).code).toBe('PGRST100');
  });
});

describe('Prefer', () => {
  it('reads every PostgREST 12 preference', () => {
    expect(
      parsePrefer(
        'return=representation, count=exact, resolution=merge-duplicates, missing=default, tx=rollback, handling=lenient, max-affected=5, params=single-object, timezone=America/Los_Angeles',
      ),
    ).toEqual({
      return: 'representation',
      count: 'exact',
      resolution: 'merge-duplicates',
      missing: 'default',
      tx: 'rollback',
      handling: 'lenient',
      maxAffected: 5,
      params: 'single-object',
      timezone: 'America/Los_Angeles',
      invalid: [],
    });
    expect(parsePrefer('return=minimal')).toEqual({ return: 'minimal', invalid: [] });
    expect(parsePrefer('return=headers-only').return).toBe('headers-only');
    expect(parsePrefer(['count=planned', 'resolution=ignore-duplicates'])).toMatchObject({
      count: 'planned',
      resolution: 'ignore-duplicates',
    });
    expect(parsePrefer(undefined)).toEqual({ invalid: [] });
    expect(parsePrefer('count=estimated,missing=null,tx=commit')).toMatchObject({
      count: 'estimated',
      missing: 'null',
      tx: 'commit',
    });
  });

  it('first occurrence wins; invalid ones are listed; strict handling is PGRST122', () => {
    expect(parsePrefer('return=minimal, return=representation').return).toBe('minimal');
    expect(parsePrefer('foo=bar, count=lots, max-affected=-1, return').invalid).toEqual([
      'foo=bar',
      'count=lots',
      'max-affected=-1',
      'return',
    ]);
    const e = errorOf(() => parsePrefer('handling=strict, foo=bar, count=exact'));
    expect(e).toMatchObject({
      code: 'PGRST122',
      httpStatus: 400,
      message: 'Invalid preferences given with handling=strict',
      details: 'Invalid preferences: foo=bar',
    });
    expect(parsePrefer('handling=strict, count=exact').count).toBe('exact');
  });
});

describe('Range', () => {
  it('items=0-9, 0-9, 5- (contract example items=0-24)', () => {
    expect(parseRange('items=0-24')).toEqual({ offset: 0, limit: 25 });
    expect(parseRange('0-9')).toEqual({ offset: 0, limit: 10 });
    expect(parseRange('5-')).toEqual({ offset: 5 });
    expect(parseRange('items=3-3')).toEqual({ offset: 3, limit: 1 });
    expect(parseRange(undefined)).toBeUndefined();
  });

  it('anything else is PGRST103 with 416', () => {
    for (const bad of ['items=9-0', 'bytes=0-9', '-5', 'items=a-b', '', 'items=0-9,20-30', '99999999999999999999-']) {
      const e = errorOf(() => parseRange(bad));
      expect(e).toMatchObject({ code: 'PGRST103', httpStatus: 416, message: 'Requested range not satisfiable' });
    }
  });
});

describe('hostile input', () => {
  it('NUL and broken percent-encoding are PGRST100', () => {
    expect(errorOf(() => read('name=eq.a%00b')).details).toBe('NUL characters are not allowed');
    expect(errorOf(() => read('select=a\u0000b')).code).toBe('PGRST100');
    expect(errorOf(() => read('name=eq.%E0%A4%A')).details).toContain('invalid percent-encoding');
    expect(errorOf(() => read('%ZZ=eq.1')).code).toBe('PGRST100');
  });

  it('huge lists and wide selects parse in linear time', () => {
    const n = 100_000;
    const list = Array.from({ length: n }, (_, i) => (i % 2 ? `"v,${i}"` : String(i))).join(',');
    const started = Date.now();
    expect((only(`id=in.(${list})`).value as unknown[]).length).toBe(n);
    expect(parseSelect(Array.from({ length: 20_000 }, (_, i) => `c${i}`).join(','))).toHaveLength(20_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('long keys and headers do not backtrack', () => {
    const started = Date.now();
    expect(errorOf(() => read(`${'a.'.repeat(200_000)}x=1`)).code).toBe('PGRST100');
    expect(errorOf(() => read(`x=${'not.'.repeat(100_000)}`)).code).toBe('PGRST100');
    expect(errorOf(() => parseRange(`${' '.repeat(200_000)}x`)).code).toBe('PGRST103');
    expect(parsePrefer(`${'x,'.repeat(100_000)}count=exact`).count).toBe('exact');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('error messages echo a bounded part of huge input', () => {
    const e = errorOf(() => parseSelect(`${'a,'.repeat(10_000)}!`));
    expect(e.message.length).toBeLessThan(400);
  });

  it('random input: only GatewayParseError ever escapes', () => {
    // A deterministic generator over the grammar's own characters, so failures reproduce.
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const alphabet = ['a', 'b', '.', ',', '(', ')', '"', '\\', '!', ':', '::', '->', '->>', '{', '}', '[', ']', '*'];
    const words = ['eq', 'in', 'is', 'not', 'or', 'and', 'fts', 'any', 'null', 'order', 'select', 'limit', ' ', '-'];
    const pieces = [...alphabet, ...words, '%', '%2', '%00', '+', '=', '&', 'é', '𝒳'];
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const len = next() % 24;
      for (let j = 0; j < len; j++) s += pieces[next() % pieces.length];
      for (const q of [s, `select=${s}`, `a=${s}`, `or=${s}`, `order=${s}`, `x.${s}=1`, `a=eq(any).${s}`]) {
        for (const kind of ['read', 'write', 'rpc'] as const) {
          try {
            parsePostgrestQuery(q, kind);
          } catch (e) {
            if (!(e instanceof GatewayParseError)) throw new Error(`${JSON.stringify(q)} threw ${String(e)}`);
            expect(e.httpStatus).toBeGreaterThanOrEqual(400);
            expect(e.httpStatus).toBeLessThan(500);
          }
        }
      }
      for (const h of [s, `items=${s}`]) {
        try {
          parseRange(h);
          parsePrefer(h);
        } catch (e) {
          if (!(e instanceof GatewayParseError)) throw new Error(`${JSON.stringify(h)} threw ${String(e)}`);
        }
      }
    }
  });
});
