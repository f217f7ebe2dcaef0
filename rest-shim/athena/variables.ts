import type { ColumnPath, Filter, OrderTerm, SelectItem } from '../../src/modules/athena/gateway/ast.ts';
import type {
  AthenaAggregate,
  AthenaCast,
  AthenaFilterInput,
  AthenaFilterOperator,
  AthenaJsonStepInput,
  AthenaOrderInput,
  AthenaSelectInput,
} from '../generated/graphql.ts';

/*
 * The gateway language (parsed from a REST request) as variables of the GraphQL gateway documents: the same trees
 * as GraphQL clients send, with enum values spelled as GraphQL names (`EQ`, `DOUBLE_PRECISION`, `SUM`).
 */

const name = <T extends string>(value: string) => value.toUpperCase().replaceAll(' ', '_') as T;

function steps(json: ColumnPath['json']): AthenaJsonStepInput[] | undefined {
  return json?.map((s) => (typeof s.key === 'number' ? { index: s.key, text: s.text } : { key: s.key, text: s.text }));
}

export function filterVariables(filter: Filter): AthenaFilterInput {
  let out: AthenaFilterInput;
  if (filter.kind === 'condition') {
    out = {
      column: filter.column.column,
      ...(filter.column.json ? { path: steps(filter.column.json) } : {}),
      op: name<AthenaFilterOperator>(filter.operator),
      value: filter.value,
      ...(filter.quantifier ? { quantifier: name<'ANY' | 'ALL'>(filter.quantifier) } : {}),
      ...(filter.ftsConfig ? { ftsConfig: filter.ftsConfig } : {}),
      ...(filter.columnCast ? { columnCast: name<AthenaCast>(filter.columnCast) } : {}),
      ...(filter.valueCast ? { valueCast: name<AthenaCast>(filter.valueCast) } : {}),
    };
  } else {
    out = { [filter.kind]: filter.filters.map(filterVariables) };
  }
  return filter.negated ? { not: out } : out;
}

export function orderVariables(o: OrderTerm): AthenaOrderInput {
  return {
    column: o.column.column,
    ...(o.column.json ? { path: steps(o.column.json) } : {}),
    direction: name<'ASC' | 'DESC'>(o.direction),
    ...(o.nulls ? { nulls: name<'FIRST' | 'LAST'>(o.nulls) } : {}),
    ...(o.relation ? { relation: o.relation } : {}),
  };
}

export function selectVariables(item: SelectItem): AthenaSelectInput {
  switch (item.kind) {
    case 'star':
      return { star: true };
    case 'count':
      return {
        count: true,
        ...(item.alias ? { alias: item.alias } : {}),
        ...(item.cast ? { cast: name<AthenaCast>(item.cast) } : {}),
      };
    case 'column':
      return {
        column: item.column.column,
        ...(item.column.json ? { path: steps(item.column.json) } : {}),
        ...(item.alias ? { alias: item.alias } : {}),
        ...(item.cast ? { cast: name<AthenaCast>(item.cast) } : {}),
        ...(item.aggregate
          ? {
              aggregate: name<AthenaAggregate>(item.aggregate.fn),
              ...(item.aggregate.cast ? { aggregateCast: name<AthenaCast>(item.aggregate.cast) } : {}),
            }
          : {}),
      };
    case 'embed':
      return {
        embed: {
          relation: item.relation,
          select: item.select.map(selectVariables),
          ...(item.schema ? { schema: item.schema } : {}),
          ...(item.alias ? { alias: item.alias } : {}),
          ...(item.hint ? { hint: item.hint } : {}),
          ...(item.inner ? { inner: true } : {}),
          ...(item.spread ? { spread: true } : {}),
          ...(item.via ? { via: item.via } : {}),
          ...(item.filter ? { filter: filterVariables(item.filter) } : {}),
          ...(item.order ? { orderBy: item.order.map(orderVariables) } : {}),
          ...(item.limit !== undefined ? { first: item.limit } : {}),
          ...(item.offset !== undefined ? { offset: item.offset } : {}),
        },
      };
  }
}

export const countVariable = (mode: string | undefined) =>
  mode === undefined ? undefined : name<'EXACT' | 'PLANNED' | 'ESTIMATED'>(mode);

export const conflictAction = (action: 'merge' | 'ignore') => name<'MERGE' | 'IGNORE'>(action);
