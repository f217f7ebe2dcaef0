import type {
  AggregateFunction,
  Cast,
  ColumnPath,
  CountMode,
  Filter,
  FilterOperator,
  OrderTerm,
  Scalar,
  SelectItem,
} from './ast.ts';

/*
 * The gateway language as GraphQL inputs carry it (no unions in GraphQL input): one object per filter node, per
 * select item, per order term. GraphQL resolvers turn them into the AST (fromXInput) and refuse shapes that mean
 * nothing (a node that is both a group and a condition); REST doors build the same inputs as GraphQL variables
 * (rest-shim/athena/variables.ts). Pure: no graphql import.
 */

export interface JsonStepInput {
  key?: string | null;
  index?: number | null;
  text?: boolean | null;
}

export interface FilterInput {
  and?: FilterInput[] | null;
  or?: FilterInput[] | null;
  not?: FilterInput | null;
  column?: string | null;
  path?: JsonStepInput[] | null;
  op?: FilterOperator | null;
  value?: unknown;
  quantifier?: 'any' | 'all' | null;
  ftsConfig?: string | null;
  columnCast?: Cast | null;
  valueCast?: Cast | null;
}

export interface OrderInput {
  column: string;
  path?: JsonStepInput[] | null;
  direction?: 'asc' | 'desc' | null;
  nulls?: 'first' | 'last' | null;
  relation?: string | null;
}

export interface EmbedInput {
  relation: string;
  schema?: string | null;
  alias?: string | null;
  hint?: string | null;
  inner?: boolean | null;
  spread?: boolean | null;
  via?: string | null;
  select: SelectInput[];
  filter?: FilterInput | null;
  orderBy?: OrderInput[] | null;
  first?: number | null;
  offset?: number | null;
}

export interface SelectInput {
  star?: boolean | null;
  column?: string | null;
  path?: JsonStepInput[] | null;
  alias?: string | null;
  cast?: Cast | null;
  aggregate?: AggregateFunction | null;
  aggregateCast?: Cast | null;
  count?: boolean | null;
  embed?: EmbedInput | null;
}

/** A shape the language does not have; resolvers answer it as invalid input. */
export class GatewayInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayInputError';
  }
}

const maxDepth = 32;

function pathOf(steps: JsonStepInput[] | null | undefined): ColumnPath['json'] {
  if (!steps || steps.length === 0) return undefined;
  return steps.map((s) => {
    const hasKey = s.key !== undefined && s.key !== null;
    const hasIndex = s.index !== undefined && s.index !== null;
    if (hasKey === hasIndex) throw new GatewayInputError('a JSON path step has exactly one of key or index');
    return { key: hasKey ? (s.key as string) : (s.index as number), text: s.text === true };
  });
}

function column(name: string, steps: JsonStepInput[] | null | undefined): ColumnPath {
  const json = pathOf(steps);
  return json ? { column: name, json } : { column: name };
}

function scalarOf(v: unknown): Scalar {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  // Objects and arrays compare as JSON text (jsonb columns; `cs`/`cd` on jsonb).
  return JSON.stringify(v);
}

export function fromFilterInput(input: FilterInput, depth = 0): Filter {
  if (depth > maxDepth) throw new GatewayInputError(`filters nest at most ${maxDepth} deep`);
  const groups = [input.and, input.or, input.not].filter((g) => g !== undefined && g !== null).length;
  const isCondition = input.column !== undefined && input.column !== null;
  if (groups + (isCondition ? 1 : 0) !== 1) {
    throw new GatewayInputError('a filter is exactly one of: and, or, not, or a condition (column + op)');
  }
  if (input.and) return { kind: 'and', filters: input.and.map((f) => fromFilterInput(f, depth + 1)) };
  if (input.or) return { kind: 'or', filters: input.or.map((f) => fromFilterInput(f, depth + 1)) };
  if (input.not) {
    const inner = fromFilterInput(input.not, depth + 1);
    return { ...inner, negated: !inner.negated };
  }
  if (!input.op) throw new GatewayInputError(`the condition on "${input.column}" needs an op`);
  const raw = input.value;
  const value: Scalar | Scalar[] = Array.isArray(raw) ? raw.map(scalarOf) : scalarOf(raw ?? null);
  return {
    kind: 'condition',
    column: column(input.column as string, input.path),
    operator: input.op,
    value,
    ...(input.quantifier ? { quantifier: input.quantifier } : {}),
    ...(input.ftsConfig ? { ftsConfig: input.ftsConfig } : {}),
    ...(input.columnCast ? { columnCast: input.columnCast } : {}),
    ...(input.valueCast ? { valueCast: input.valueCast } : {}),
  };
}

export function fromOrderInput(o: OrderInput): OrderTerm {
  return {
    column: column(o.column, o.path),
    direction: o.direction ?? 'asc',
    ...(o.nulls ? { nulls: o.nulls } : {}),
    ...(o.relation ? { relation: o.relation } : {}),
  };
}

export function fromSelectInput(s: SelectInput, depth = 0): SelectItem {
  if (depth > maxDepth) throw new GatewayInputError(`embeds nest at most ${maxDepth} deep`);
  const kinds = [s.star === true, s.column != null, s.count === true, s.embed != null].filter(Boolean).length;
  if (kinds !== 1) throw new GatewayInputError('a select item is exactly one of: star, column, count, embed');
  if (s.star) return { kind: 'star' };
  if (s.count) return { kind: 'count', ...(s.alias ? { alias: s.alias } : {}), ...(s.cast ? { cast: s.cast } : {}) };
  if (s.embed) {
    const e = s.embed;
    return {
      kind: 'embed',
      relation: e.relation,
      select: e.select.map((x) => fromSelectInput(x, depth + 1)),
      ...(e.schema ? { schema: e.schema } : {}),
      ...(e.alias ? { alias: e.alias } : {}),
      ...(e.hint ? { hint: e.hint } : {}),
      ...(e.inner ? { inner: true } : {}),
      ...(e.spread ? { spread: true } : {}),
      ...(e.via ? { via: e.via } : {}),
      ...(e.filter ? { filter: fromFilterInput(e.filter, depth + 1) } : {}),
      ...(e.orderBy ? { order: e.orderBy.map(fromOrderInput) } : {}),
      ...(e.first !== undefined && e.first !== null ? { limit: e.first } : {}),
      ...(e.offset !== undefined && e.offset !== null ? { offset: e.offset } : {}),
    };
  }
  return {
    kind: 'column',
    column: column(s.column as string, s.path),
    ...(s.alias ? { alias: s.alias } : {}),
    ...(s.cast ? { cast: s.cast } : {}),
    ...(s.aggregate ? { aggregate: { fn: s.aggregate, ...(s.aggregateCast ? { cast: s.aggregateCast } : {}) } } : {}),
  };
}

export type { CountMode };
