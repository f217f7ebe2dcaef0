import {
  type AggregateFunction,
  allowedCasts,
  type Cast,
  type ColumnPath,
  type CountMode,
  type Filter,
  type FilterCondition,
  type FilterGroup,
  type FilterOperator,
  filterOperators,
  type IsValue,
  type OrderTerm,
  quantifiableOperators,
  type Scalar,
  type SelectEmbed,
  type SelectItem,
} from './ast.ts';
import { GatewayParseError } from './parse-errors.ts';

/*
 * PostgREST 12's URL grammar (select, filters, logic trees, order, limit/offset, columns, on_conflict) plus the
 * Prefer and Range headers, parsed by hand-written recursive descent over the raw query string. The grammar
 * follows PostgREST's own parser (ApiRequest/QueryParams.hs): field names are quoted (`"a,b"`, `\` escapes) or
 * runs of letters, digits, `_`, `$` and spaces joined by `-` (never `->`); values are never split on commas except
 * inside the list forms, where quotes and escapes are honoured. Athena's documented `col.op=value` key form is
 * accepted beside PostgREST's `col=op.value` (notes §3.9).
 *
 * Errors are `GatewayParseError` with PostgREST's codes and texts: PGRST100 for a parse failure (message
 * `"failed to parse <what> (<input>)" (line 1, column N)`, details `unexpected "x" expecting …`), PGRST108 for a
 * parameter naming an embed that is not in `select`, PGRST103 for an unsatisfiable Range, PGRST122 for invalid
 * preferences under `handling=strict`.
 */

/** Deepest nesting accepted in `select` embeds and in logic trees; deeper input is refused with a 400. */
export const maxNesting = 16;

/** Longest input echoed back in an error message (the input itself may be any size). */
const maxEchoedInput = 256;

const aggregateFunctions: readonly AggregateFunction[] = ['count', 'sum', 'avg', 'min', 'max'];
const ftsOperators = ['fts', 'plfts', 'phfts', 'wfts'] as const;
const rangeOperators = ['sl', 'sr', 'nxr', 'nxl', 'adj', 'ov'] as const;
const isValues: readonly IsValue[] = ['null', 'not_null', 'true', 'false', 'unknown'];

const operatorSet: ReadonlySet<string> = new Set(filterOperators);
const quantifiableSet: ReadonlySet<string> = new Set(quantifiableOperators);
const castSet: ReadonlySet<string> = new Set(allowedCasts);

const identifierRun = /[\p{L}\p{N}\p{M}_$ ]+/uy;
const wordRun = /[A-Za-z_]+/y;
const integerRun = /-?[0-9]+/y;

/** A parse failure at a position, in PostgREST's words. */
function parseFailure(what: string, src: string, pos: number, details: string): GatewayParseError {
  const echoed = src.length > maxEchoedInput ? `${src.slice(0, maxEchoedInput)}…` : src;
  return new GatewayParseError({
    code: 'PGRST100',
    message: `"failed to parse ${what} (${echoed})" (line 1, column ${pos + 1})`,
    details,
  });
}

/** A position in one parameter's text; every grammar rule below reads through it. */
class Cursor {
  pos = 0;
  readonly src: string;
  /** `select parameter`, `filter`, `logic tree`, `order`, … as in PostgREST's messages. */
  readonly what: string;
  constructor(src: string, what: string) {
    this.src = src;
    this.what = what;
  }

  get done(): boolean {
    return this.pos >= this.src.length;
  }

  peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  eat(s: string): boolean {
    if (!this.startsWith(s)) return false;
    this.pos += s.length;
    return true;
  }

  expect(s: string): void {
    if (!this.eat(s)) this.fail(JSON.stringify(s));
  }

  skipWs(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  /** Reads a sticky regex match at the cursor, or returns ''. */
  read(re: RegExp): string {
    re.lastIndex = this.pos;
    const m = re.exec(this.src);
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }

  /** Fails with Parsec's `unexpected … expecting …` wording. */
  fail(expecting: string): never {
    const ch = this.src.codePointAt(this.pos);
    const unexpected = ch === undefined ? 'end of input' : JSON.stringify(String.fromCodePoint(ch));
    throw parseFailure(this.what, this.src, this.pos, `unexpected ${unexpected} expecting ${expecting}`);
  }

  /** Fails with a message of its own (an unknown operator or cast, nesting too deep). */
  failWith(details: string, at = this.pos): never {
    throw parseFailure(this.what, this.src, at, details);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Lexical pieces shared by every parameter

/** `"quoted"` with `\` escaping the next character. */
function parseQuoted(c: Cursor): string {
  c.expect('"');
  let out = '';
  for (;;) {
    const ch = c.peek();
    if (ch === undefined) c.fail('closing quote (")');
    if (ch === '"') break;
    if (ch === '\\') {
      c.pos++;
      const next = c.src.codePointAt(c.pos);
      if (next === undefined) c.fail('escaped character');
      const s = String.fromCodePoint(next);
      out += s;
      c.pos += s.length;
      continue;
    }
    out += ch;
    c.pos++;
  }
  c.pos++;
  return out;
}

/** A field, relation, alias or hint name: quoted, or identifier runs joined by `-` that is not `->`. */
function parseFieldName(c: Cursor): string {
  const start = c.pos;
  if (c.peek() === '"') {
    const quoted = parseQuoted(c);
    if (quoted === '') c.failWith('empty field name', start);
    return quoted;
  }
  const parts: string[] = [];
  for (;;) {
    const run = c.read(identifierRun);
    if (run === '') c.fail('field name (* or [a..z0..9_$])');
    parts.push(run.trim());
    if (c.peek() === '-' && c.peek(1) !== '>') {
      c.pos++;
      continue;
    }
    break;
  }
  const name = parts.join('-');
  if (name === '') {
    c.pos = start;
    c.fail('field name (* or [a..z0..9_$])');
  }
  return name;
}

/** True when the cursor stands where a JSON array index must end. */
function atJsonOperandEnd(c: Cursor): boolean {
  const ch = c.peek();
  return (
    ch === undefined ||
    c.startsWith('->') ||
    c.startsWith('::') ||
    ch === '.' ||
    ch === ',' ||
    ch === ')' ||
    ch === ' ' ||
    ch === '\t'
  );
}

/** `->key`, `->>key`, `->0`, `->>-1`, repeated. */
function parseJsonPath(c: Cursor): ColumnPath['json'] {
  const steps: NonNullable<ColumnPath['json']> = [];
  while (c.startsWith('->')) {
    const text = c.startsWith('->>');
    c.pos += text ? 3 : 2;
    const save = c.pos;
    const digits = c.read(integerRun);
    if (digits !== '' && atJsonOperandEnd(c)) {
      const index = Number(digits);
      if (!Number.isSafeInteger(index)) c.failWith(`JSON array index out of range: ${digits}`, save);
      steps.push({ key: index, text });
      continue;
    }
    c.pos = save;
    steps.push({ key: parseFieldName(c), text });
  }
  return steps.length > 0 ? steps : undefined;
}

function columnPath(column: string, json: ColumnPath['json']): ColumnPath {
  return json ? { column, json } : { column };
}

/** A field with an optional JSON path. */
function parseField(c: Cursor): ColumnPath {
  const column = parseFieldName(c);
  return columnPath(column, parseJsonPath(c));
}

/** `::type`, from the closed cast list. */
function parseCast(c: Cursor): Cast {
  const at = c.pos;
  const raw = c.read(identifierRun);
  const cast = raw.trim().toLowerCase().replace(/\s+/g, ' ');
  if (cast === '') c.fail('letter or digit');
  if (!castSet.has(cast)) c.failWith(`unknown or disallowed cast "${cast}"`, at);
  return cast as Cast;
}

// ---------------------------------------------------------------------------------------------------------------
// select

function checkDepth(c: Cursor, depth: number): void {
  if (depth > maxNesting) c.failWith(`nesting deeper than ${maxNesting} levels`);
}

/** `rel`, or `schema.rel` (Athena's compatibility), of an embed. */
function parseEmbedTail(
  c: Cursor,
  relation: string,
  schema: string | undefined,
  alias: string | undefined,
  spread: boolean,
  depth: number,
): SelectEmbed {
  const embed: SelectEmbed = { kind: 'embed', relation, select: [] };
  if (schema !== undefined) embed.schema = schema;
  if (alias !== undefined) embed.alias = alias;
  if (spread) embed.spread = true;
  // Up to two `!` parameters, a hint and a join type, in either order.
  for (let i = 0; i < 2 && c.peek() === '!'; i++) {
    c.pos++;
    const at = c.pos;
    const param = parseFieldName(c);
    if (param === 'inner' || param === 'left') {
      if (embed.inner !== undefined) c.failWith('a second join type', at);
      embed.inner = param === 'inner';
    } else {
      if (embed.hint !== undefined) c.failWith('a second hint', at);
      embed.hint = param;
    }
  }
  c.expect('(');
  checkDepth(c, depth + 1);
  c.skipWs();
  // `rel()` is PostgREST's empty embed: it filters the parent and selects nothing.
  if (c.peek() !== ')') embed.select = parseSelectList(c, depth + 1);
  c.skipWs();
  c.expect(')');
  return embed;
}

function parseSelectItem(c: Cursor, depth: number): SelectItem {
  if (c.eat('...')) {
    const first = parseFieldName(c);
    if (c.peek() === '.') {
      c.pos++;
      return parseEmbedTail(c, parseFieldName(c), first, undefined, true, depth);
    }
    return parseEmbedTail(c, first, undefined, undefined, true, depth);
  }
  if (c.eat('*')) return { kind: 'star' };

  let alias: string | undefined;
  let name = parseFieldName(c);
  if (c.peek() === ':' && c.peek(1) !== ':') {
    c.pos++;
    c.skipWs();
    alias = name;
    name = parseFieldName(c);
  }

  if (name === 'count' && c.startsWith('()')) {
    c.pos += 2;
    const count: SelectItem = { kind: 'count' };
    if (alias !== undefined) count.alias = alias;
    if (c.eat('::')) count.cast = parseCast(c);
    return count;
  }
  if (c.peek() === '!' || c.peek() === '(') return parseEmbedTail(c, name, undefined, alias, false, depth);

  // `schema.rel(…)` is an embed; `col.sum()` is an aggregate. Look past the dot to tell them apart.
  if (c.peek() === '.') {
    const save = c.pos;
    c.pos++;
    if (c.peek() === '"' || c.read(identifierRun) !== '') {
      c.pos = save + 1;
      const second = parseFieldName(c);
      const isAggregate = (aggregateFunctions as readonly string[]).includes(second) && c.startsWith('()');
      // `col.median()` is a misspelt aggregate, not an empty embed of a schema-qualified relation.
      if (!isAggregate && c.startsWith('()')) {
        c.pos = save + 1;
        c.fail('aggregate function (count, sum, avg, max, min) followed by "()"');
      }
      if (!isAggregate && (c.peek() === '!' || c.peek() === '(')) {
        return parseEmbedTail(c, second, name, alias, false, depth);
      }
    }
    c.pos = save;
  }

  const column = columnPath(name, parseJsonPath(c));
  const item: SelectItem = { kind: 'column', column };
  if (alias !== undefined) item.alias = alias;
  if (c.eat('::')) item.cast = parseCast(c);
  if (c.peek() === '.') {
    c.pos++;
    const at = c.pos;
    const fn = c.read(wordRun);
    if (!(aggregateFunctions as readonly string[]).includes(fn) || !c.startsWith('()')) {
      c.pos = at;
      c.fail('aggregate function (count, sum, avg, max, min) followed by "()"');
    }
    c.pos += 2;
    item.aggregate = { fn: fn as AggregateFunction };
    if (c.eat('::')) item.aggregate.cast = parseCast(c);
  }
  return item;
}

function parseSelectList(c: Cursor, depth: number): SelectItem[] {
  const items: SelectItem[] = [];
  for (;;) {
    c.skipWs();
    items.push(parseSelectItem(c, depth));
    c.skipWs();
    if (c.eat(',')) continue;
    if (c.done || (depth > 0 && c.peek() === ')')) return items;
    c.fail(depth > 0 ? '",", ")" or end of input' : '"," or end of input');
  }
}

/** The `select` grammar (PostgREST 12 plus Athena's `schema.rel(…)`), shared with the structured bodies. */
export function parseSelect(src: string): SelectItem[] {
  const c = new Cursor(src, 'select parameter');
  const items = parseSelectList(c, 0);
  if (!c.done) c.fail('"," or end of input');
  return items;
}

// ---------------------------------------------------------------------------------------------------------------
// Filter values

type ParsedOperation = Omit<FilterCondition, 'kind' | 'column'>;
type ValueMode = 'single' | 'logic';

/** A Postgres array literal `{a,"b,c",NULL}` read into its elements (unquoted `NULL` is null). */
function parsePgArray(c: Cursor): Scalar[] {
  c.expect('{');
  const items: Scalar[] = [];
  c.skipWs();
  if (c.eat('}')) return items;
  for (;;) {
    c.skipWs();
    if (c.peek() === '"') {
      items.push(parseQuoted(c));
    } else {
      const start = c.pos;
      while (!c.done && c.peek() !== ',' && c.peek() !== '}') {
        if (c.peek() === '{' || c.peek() === '"') c.fail('"," or "}" (nested arrays are not supported)');
        c.pos++;
      }
      const raw = c.src.slice(start, c.pos).trim();
      items.push(/^null$/i.test(raw) ? null : raw);
    }
    c.skipWs();
    if (c.eat(',')) continue;
    c.expect('}');
    return items;
  }
}

/** `(a,b,"c,d")` (PostgREST) or `{a,b}` (Athena's RPC style) for `in`. */
function parseInList(c: Cursor): Scalar[] {
  c.skipWs();
  if (c.peek() === '{') return parsePgArray(c);
  c.expect('(');
  const items: Scalar[] = [];
  c.skipWs();
  if (c.eat(')')) return items;
  for (;;) {
    const save = c.pos;
    if (c.peek() === '"') {
      const quoted = parseQuoted(c);
      if (c.peek() === ',' || c.peek() === ')') {
        items.push(quoted);
      } else {
        c.pos = save;
        items.push(readUntil(c, ',)'));
      }
    } else {
      items.push(readUntil(c, ',)'));
    }
    if (c.eat(',')) continue;
    c.expect(')');
    c.skipWs();
    return items;
  }
}

function readUntil(c: Cursor, stops: string): string {
  const start = c.pos;
  while (!c.done && !stops.includes(c.peek() as string)) c.pos++;
  return c.src.slice(start, c.pos);
}

/** A value inside a logic tree ends at `,` or `)` unless quoted, a `{…}` array, or (range operators) a range. */
function parseLogicValue(c: Cursor, operator: FilterOperator): string {
  const save = c.pos;
  if (c.peek() === '"') {
    const quoted = parseQuoted(c);
    if (c.peek() === ',' || c.peek() === ')' || c.done) return quoted;
    c.pos = save;
  }
  if (c.peek() === '{') {
    const close = c.src.indexOf('}', c.pos);
    const inner = close < 0 ? '' : c.src.slice(c.pos + 1, close);
    if (close >= 0 && !inner.includes('{')) {
      c.pos = close + 1;
      return c.src.slice(save, c.pos);
    }
  }
  if ((rangeOperators as readonly string[]).includes(operator) && (c.peek() === '[' || c.peek() === '(')) {
    // A range literal `[1,5)` holds one comma; it ends at its closing bracket.
    c.pos++;
    while (!c.done && c.peek() !== ']' && c.peek() !== ')') c.pos++;
    if (c.done) c.fail('"]" or ")" closing the range');
    c.pos++;
    return c.src.slice(save, c.pos);
  }
  return readUntil(c, ',)');
}

function parseValue(c: Cursor, mode: ValueMode, operator: FilterOperator): string {
  if (mode === 'logic') return parseLogicValue(c, operator);
  const rest = c.src.slice(c.pos);
  c.pos = c.src.length;
  return rest;
}

/** `[not.]op[(any|all)|(config)].value`, `in.(…)`, `is.null`. */
function parseOperation(c: Cursor, mode: ValueMode): ParsedOperation {
  const result: Partial<ParsedOperation> = {};
  if (c.startsWith('not.')) {
    c.pos += 4;
    result.negated = true;
  }
  const at = c.pos;
  const name = c.read(wordRun);
  if (name === '') c.fail('operator (eq, gt, ...)');
  if (!operatorSet.has(name)) {
    c.failWith(`unknown ${c.peek() === '(' ? 'fts' : 'single value'} operator ${name}`, at);
  }
  const operator = name as FilterOperator;
  result.operator = operator;
  if (operator === 'in') {
    c.expect('.');
    result.value = parseInList(c);
  } else if (operator === 'is') {
    c.expect('.');
    const valueAt = c.pos;
    const word = c.read(wordRun).toLowerCase();
    if (!(isValues as readonly string[]).includes(word)) {
      c.pos = valueAt;
      c.fail('null or trilean value (unknown, true, false)');
    }
    result.value = word;
  } else if ((ftsOperators as readonly string[]).includes(operator)) {
    if (c.eat('(')) {
      const config = c.read(identifierRun).trim();
      if (config === '') c.fail('text search configuration');
      c.expect(')');
      result.ftsConfig = config;
    }
    c.expect('.');
    result.value = parseValue(c, mode, operator);
  } else if (c.peek() === '(') {
    if (!quantifiableSet.has(operator)) c.failWith(`operator ${operator} takes no quantifier`, at);
    if (c.eat('(any)')) result.quantifier = 'any';
    else if (c.eat('(all)')) result.quantifier = 'all';
    else c.fail('"(any)" or "(all)"');
    c.expect('.');
    result.value = parsePgArray(c);
  } else {
    c.expect('.');
    result.value = parseValue(c, mode, operator);
  }
  return result as ParsedOperation;
}

/** PostgREST's check that a value holds an operator expression (`eq.x`, `not.…`, `fts(english).x`, `eq(any).…`). */
export function looksLikeOperation(value: string): boolean {
  if (/^not\../.test(value)) return true;
  const m = /^([A-Za-z_]+)(\([^)]*\))?\./.exec(value);
  return m !== null && operatorSet.has(m[1] as string);
}

function condition(column: ColumnPath, op: ParsedOperation): FilterCondition {
  return { kind: 'condition', column, ...op };
}

/** A filter's value, `op.value` in PostgREST's form. */
export function parseFilterValue(column: ColumnPath, value: string): FilterCondition {
  const c = new Cursor(value, 'filter');
  const op = parseOperation(c, 'single');
  if (!c.done) c.fail('end of input');
  return condition(column, op);
}

/**
 * Athena's documented `col.op=value` form: the operator is in the key, the value is raw text (`in` takes
 * `(a,b,"c,d")` or `{a,b}`; `is` one of its words).
 */
function parseAthenaFilterValue(column: ColumnPath, operator: FilterOperator, negated: boolean, value: string) {
  const prefix = `${negated ? 'not.' : ''}${operator}.`;
  if (operator === 'in' || operator === 'is') return parseFilterValue(column, prefix + value);
  const cond: FilterCondition = { kind: 'condition', column, operator, value };
  if (negated) cond.negated = true;
  return cond;
}

// ---------------------------------------------------------------------------------------------------------------
// Logic trees

const logicHead = /(not\.)?(and|or)\(/y;

function parseLogicNode(c: Cursor, depth: number): Filter {
  logicHead.lastIndex = c.pos;
  const head = logicHead.exec(c.src);
  if (head) {
    checkDepth(c, depth + 1);
    c.pos += head[0].length;
    const group: FilterGroup = { kind: head[2] as 'and' | 'or', filters: [] };
    if (head[1]) group.negated = true;
    for (;;) {
      c.skipWs();
      group.filters.push(parseLogicNode(c, depth + 1));
      c.skipWs();
      if (c.eat(',')) continue;
      c.expect(')');
      return group;
    }
  }
  const column = parseField(c);
  if (c.peek() !== '.') c.fail('delimiter (.)');
  c.pos++;
  return condition(column, parseOperation(c, 'logic'));
}

/** `or=(a.eq.1,and(b.gt.2,c.lt.3))`: `op` is `or`, `and`, `not.or` or `not.and`; `value` is the parenthesised list. */
export function parseLogicTree(op: string, value: string): FilterGroup {
  const c = new Cursor(op + value, 'logic tree');
  // Without this check `or=a.eq.1` would read as a filter on a column `ora`.
  c.pos = op.length;
  if (c.peek() !== '(') c.fail('"("');
  c.pos = 0;
  const node = parseLogicNode(c, 0);
  if (!c.done) c.fail('end of input');
  return node as FilterGroup;
}

// ---------------------------------------------------------------------------------------------------------------
// order, columns, limit/offset

/** `col.desc.nullslast,data->>k,rel(col).asc`. */
export function parseOrder(src: string): OrderTerm[] {
  const c = new Cursor(src, 'order');
  const terms: OrderTerm[] = [];
  for (;;) {
    c.skipWs();
    const name = parseFieldName(c);
    let term: OrderTerm;
    if (c.eat('(')) {
      const column = parseField(c);
      c.expect(')');
      term = { column, direction: 'asc', relation: name };
    } else {
      term = { column: columnPath(name, parseJsonPath(c)), direction: 'asc' };
    }
    let sawDirection = false;
    while (c.peek() === '.') {
      c.pos++;
      const at = c.pos;
      const word = c.read(wordRun);
      if ((word === 'asc' || word === 'desc') && !sawDirection && term.nulls === undefined) {
        term.direction = word;
        sawDirection = true;
      } else if ((word === 'nullsfirst' || word === 'nullslast') && term.nulls === undefined) {
        term.nulls = word === 'nullsfirst' ? 'first' : 'last';
      } else {
        c.pos = at;
        c.fail(term.nulls === undefined ? '"asc", "desc", "nullsfirst" or "nullslast"' : '"," or end of input');
      }
    }
    terms.push(term);
    c.skipWs();
    if (c.eat(',')) continue;
    if (!c.done) c.fail('delimiter (.), "," or end of input');
    return terms;
  }
}

/** `columns=a,b` and `on_conflict=a,b`: field names separated by commas. */
export function parseColumnList(src: string, what: 'columns parameter' | 'on_conflict parameter'): string[] {
  const c = new Cursor(src, what);
  const names: string[] = [];
  for (;;) {
    c.skipWs();
    names.push(parseFieldName(c));
    c.skipWs();
    if (c.eat(',')) continue;
    if (!c.done) c.fail('"," or end of input');
    return names;
  }
}

/** A non-negative integer for `limit`/`offset`. */
export function parseNonNegativeInteger(src: string, what: 'limit' | 'offset'): number {
  const trimmed = src.trim();
  const n = /^[0-9]+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new GatewayParseError({
      code: 'PGRST100',
      message: `"failed to parse ${what} parameter (${src.slice(0, maxEchoedInput)})"`,
      details: `${what} must be a non-negative integer`,
    });
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// The query string

/** One `key=value` pair of the raw query string, decoded; `value` is undefined for a bare `key`. */
export interface QueryPair {
  key: string;
  value: string | undefined;
}

function decodeComponent(s: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new GatewayParseError({
      code: 'PGRST100',
      message: 'failed to decode the query string',
      details: `invalid percent-encoding in "${s.slice(0, maxEchoedInput)}"`,
    });
  }
  // Postgres text cannot hold U+0000; refuse it here rather than fail in the driver.
  if (decoded.includes('\u0000')) {
    throw new GatewayParseError({
      code: 'PGRST100',
      message: 'failed to decode the query string',
      details: 'NUL characters are not allowed',
    });
  }
  return decoded;
}

/** Splits and decodes a raw query string (with or without its `?`), keeping order and duplicate keys. */
export function splitQueryString(raw: string): QueryPair[] {
  const text = raw.startsWith('?') ? raw.slice(1) : raw;
  const pairs: QueryPair[] = [];
  for (const segment of text.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    if (eq < 0) pairs.push({ key: decodeComponent(segment), value: undefined });
    else pairs.push({ key: decodeComponent(segment.slice(0, eq)), value: decodeComponent(segment.slice(eq + 1)) });
  }
  return pairs;
}

/** Filters, order and page of one embedded resource, by its path of aliases-or-names from the root. */
export interface EmbeddedParams {
  path: string[];
  filter?: FilterGroup;
  order?: OrderTerm[];
  limit?: number;
  offset?: number;
}

/** Everything the PostgREST query string says, in the gateway's request language. */
export interface PostgrestQuery {
  select?: SelectItem[];
  /** The root AND of every root filter and logic tree, in query order. */
  filter?: FilterGroup;
  /** Per embed path; the same values are attached to the SelectEmbed nodes of `select`. */
  embedded: EmbeddedParams[];
  order?: OrderTerm[];
  limit?: number;
  offset?: number;
  columns?: string[];
  onConflict?: string[];
  /** kind 'rpc': the function's arguments; a repeated key gives an array (PostgREST's variadic form). */
  rpcArgs: Record<string, string | string[]>;
}

/** Options of `parsePostgrestQuery`. */
export interface PostgrestParseOptions {
  /**
   * kind 'rpc': is this key a declared input argument of the function? A declared argument is an argument even
   * when its value looks like `op.x` (notes §3.8); any other key must parse as a filter. Without it, a key whose
   * value is not an operator expression is an argument (PostgREST's rule).
   */
  isArgument?: (name: string) => boolean;
  /** Keys that are neither filters nor arguments and are handled by the caller (`/rpc`'s `schema`, `count`). */
  reservedKeys?: readonly string[];
}

const embeddableReserved = new Set(['order', 'limit', 'offset']);
const logicReserved = new Set(['and', 'or']);
const athenaKeyOperator = /\.(?:(not)\.)?([A-Za-z_]+)$/;

interface KeyPath {
  path: string[];
  column: ColumnPath;
}

/** `a.b.c->>d`: the embed path `[a, b]` and the field `c->>d`. */
function parseTreePath(key: string): KeyPath {
  const c = new Cursor(key, 'tree path');
  const names = [parseFieldName(c)];
  while (c.eat('.')) names.push(parseFieldName(c));
  const json = parseJsonPath(c);
  if (!c.done) c.fail('delimiter (.), "->" or end of input');
  const column = names.pop() as string;
  return { path: names, column: columnPath(column, json) };
}

interface EmbedParamsAccumulator extends EmbeddedParams {
  filters: Filter[];
}

/**
 * Parses a raw query string in PostgREST 12's grammar for a read, a write or an RPC call. Filters on embedded
 * resources (`actors.first_name=eq.x`, `actors.order=…`, `actors.limit=…`, `actors.or=(…)`) are attached to the
 * matching SelectEmbed of `select` by alias-or-name path; a path naming no embed is PGRST108.
 *
 * Disambiguation of `a.b=v`: when `v` starts with a known operator (`eq.`, `not.`, `in.`, `fts(…).`, `eq(any).`),
 * it is PostgREST's form, a filter on column `b` of embed `a`; otherwise, when the key ends in `.<operator>`, it is
 * Athena's `col.op=value` form on column `a`. Duplicates: `select`, `columns`, `on_conflict` take the first
 * occurrence (PostgREST's lookup), `limit`/`offset` the last, `order` terms accumulate per path.
 */
export function parsePostgrestQuery(
  rawQuery: string,
  kind: 'read' | 'write' | 'rpc',
  options: PostgrestParseOptions = {},
): PostgrestQuery {
  return parseQueryPairs(splitQueryString(rawQuery), kind, options);
}

/** `parsePostgrestQuery` over pairs already split and decoded. */
export function parseQueryPairs(
  pairs: readonly QueryPair[],
  kind: 'read' | 'write' | 'rpc',
  options: PostgrestParseOptions = {},
): PostgrestQuery {
  const result: PostgrestQuery = { embedded: [], rpcArgs: {} };
  const byPath = new Map<string, EmbedParamsAccumulator>();
  const reserved = new Set(options.reservedKeys ?? []);
  const paramsAt = (path: string[]): EmbedParamsAccumulator => {
    const id = JSON.stringify(path);
    let entry = byPath.get(id);
    if (!entry) {
      entry = { path, filters: [] };
      byPath.set(id, entry);
    }
    return entry;
  };
  const addArgument = (key: string, value: string) => {
    const previous = Object.hasOwn(result.rpcArgs, key) ? result.rpcArgs[key] : undefined;
    const next = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    Object.defineProperty(result.rpcArgs, key, { value: next, enumerable: true, writable: true, configurable: true });
  };

  for (const { key, value } of pairs) {
    // PostgREST ignores keys without `=`.
    if (value === undefined || reserved.has(key)) continue;
    if (key === 'select') {
      result.select ??= parseSelect(value);
      continue;
    }
    if (key === 'columns') {
      result.columns ??= parseColumnList(value, 'columns parameter');
      continue;
    }
    if (key === 'on_conflict') {
      result.onConflict ??= parseColumnList(value, 'on_conflict parameter');
      continue;
    }
    if (kind === 'rpc' && options.isArgument?.(key)) {
      addArgument(key, value);
      continue;
    }

    let tree: KeyPath | undefined;
    let treeError: unknown;
    try {
      tree = parseTreePath(key);
    } catch (e) {
      treeError = e;
    }
    if (tree && !tree.column.json) {
      const last = tree.column.column;
      if (embeddableReserved.has(last)) {
        const entry = paramsAt(tree.path);
        if (last === 'order') entry.order = [...(entry.order ?? []), ...parseOrder(value)];
        else entry[last as 'limit' | 'offset'] = parseNonNegativeInteger(value, last as 'limit' | 'offset');
        continue;
      }
      if (logicReserved.has(last)) {
        const path = [...tree.path];
        const negated = path[path.length - 1] === 'not';
        if (negated) path.pop();
        paramsAt(path).filters.push(parseLogicTree(`${negated ? 'not.' : ''}${last}`, value));
        continue;
      }
    }
    if (tree && looksLikeOperation(value)) {
      paramsAt(tree.path).filters.push(parseFilterValue(tree.column, value));
      continue;
    }
    // Athena's `col.op=value` (also `data->>k.eq=v`, which is no tree path of PostgREST's).
    const athena = athenaKeyOperator.exec(key);
    if (athena && operatorSet.has(athena[2] as string)) {
      const columnKey = parseTreePath(key.slice(0, athena.index));
      paramsAt(columnKey.path).filters.push(
        parseAthenaFilterValue(columnKey.column, athena[2] as FilterOperator, athena[1] === 'not', value),
      );
      continue;
    }
    if (!tree) throw treeError;
    if (kind === 'rpc' && !options.isArgument && tree.path.length === 0) {
      addArgument(key, value);
      continue;
    }
    // Not a filter in either form: parsing it as one gives PostgREST's error.
    parseFilterValue(tree.column, value);
  }

  for (const entry of byPath.values()) {
    const params: EmbeddedParams = { path: entry.path };
    if (entry.filters.length > 0) params.filter = { kind: 'and', filters: entry.filters };
    if (entry.order) params.order = entry.order;
    if (entry.limit !== undefined) params.limit = entry.limit;
    if (entry.offset !== undefined) params.offset = entry.offset;
    if (entry.path.length === 0) {
      if (params.filter) result.filter = params.filter;
      if (params.order) result.order = params.order;
      if (params.limit !== undefined) result.limit = params.limit;
      if (params.offset !== undefined) result.offset = params.offset;
    } else {
      attachToEmbed(result.select, params);
      result.embedded.push(params);
    }
  }
  return result;
}

function embedNotFound(path: string[]): GatewayParseError {
  const name = path.join('.');
  return new GatewayParseError({
    code: 'PGRST108',
    message: `'${name}' is not an embedded resource in this request`,
    hint: `Verify that '${name}' is included in the 'select' query parameter.`,
  });
}

function attachToEmbed(select: SelectItem[] | undefined, params: EmbeddedParams): void {
  let items = select ?? [];
  let embed: SelectEmbed | undefined;
  for (const segment of params.path) {
    const embeds = items.filter((i): i is SelectEmbed => i.kind === 'embed');
    embed =
      embeds.find((e) => e.alias === segment) ?? embeds.find((e) => e.alias === undefined && e.relation === segment);
    if (!embed) throw embedNotFound(params.path);
    items = embed.select;
  }
  if (!embed) throw embedNotFound(params.path);
  if (params.filter) embed.filter = params.filter;
  if (params.order) embed.order = params.order;
  if (params.limit !== undefined) embed.limit = params.limit;
  if (params.offset !== undefined) embed.offset = params.offset;
}

// ---------------------------------------------------------------------------------------------------------------
// Prefer

/** What a `Prefer` header asks for (PostgREST 12's preferences); `invalid` lists what was not understood. */
export interface Preferences {
  return?: 'representation' | 'minimal' | 'headers-only';
  count?: CountMode;
  resolution?: 'merge-duplicates' | 'ignore-duplicates';
  missing?: 'default' | 'null';
  tx?: 'commit' | 'rollback';
  handling?: 'lenient' | 'strict';
  maxAffected?: number;
  params?: 'single-object';
  timezone?: string;
  invalid: string[];
}

const enumPreferences = {
  return: ['representation', 'minimal', 'headers-only'],
  count: ['exact', 'planned', 'estimated'],
  resolution: ['merge-duplicates', 'ignore-duplicates'],
  missing: ['default', 'null'],
  tx: ['commit', 'rollback'],
  handling: ['lenient', 'strict'],
  params: ['single-object'],
} as const;

/**
 * Parses one or several `Prefer` headers (comma-separated preferences). The first occurrence of a preference wins,
 * as in PostgREST. With `handling=strict`, any invalid preference is PGRST122.
 */
export function parsePrefer(header: string | string[] | undefined): Preferences {
  const prefs: Preferences = { invalid: [] };
  const headers = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const seen = new Set<string>();
  for (const h of headers) {
    for (const token of h.split(',')) {
      const t = token.trim();
      if (t === '') continue;
      const eq = t.indexOf('=');
      const name = (eq < 0 ? t : t.slice(0, eq)).trim().toLowerCase();
      const value = eq < 0 ? '' : t.slice(eq + 1).trim();
      if (seen.has(name)) continue;
      if (name in enumPreferences) {
        const allowed: readonly string[] = enumPreferences[name as keyof typeof enumPreferences];
        if (allowed.includes(value)) {
          seen.add(name);
          (prefs as unknown as Record<string, string>)[name] = value;
          continue;
        }
      } else if (name === 'max-affected' && /^[0-9]+$/.test(value) && Number.isSafeInteger(Number(value))) {
        seen.add(name);
        prefs.maxAffected = Number(value);
        continue;
      } else if (name === 'timezone' && /^[A-Za-z0-9_+\-/:]{1,64}$/.test(value)) {
        // Checked against pg_timezone_names where it is applied; here only its shape.
        seen.add(name);
        prefs.timezone = value;
        continue;
      }
      prefs.invalid.push(t);
    }
  }
  if (prefs.handling === 'strict' && prefs.invalid.length > 0) {
    throw new GatewayParseError({
      code: 'PGRST122',
      message: 'Invalid preferences given with handling=strict',
      details: `Invalid preferences: ${prefs.invalid.join(', ')}`,
    });
  }
  return prefs;
}

// ---------------------------------------------------------------------------------------------------------------
// Range

/** A `Range` request as offset and optional limit. */
export interface RangeRequest {
  offset: number;
  limit?: number;
}

function unsatisfiable(details: string | null): GatewayParseError {
  return new GatewayParseError({
    httpStatus: 416,
    code: 'PGRST103',
    message: 'Requested range not satisfiable',
    details,
  });
}

/** `items=0-9`, `0-9` or `5-`; undefined when there is no header. Anything else is PGRST103 (416). */
export function parseRange(header: string | undefined): RangeRequest | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:items\s*=\s*)?([0-9]+)\s*-\s*([0-9]*)\s*$/i.exec(header);
  if (!m) throw unsatisfiable(`invalid Range header "${header.slice(0, maxEchoedInput)}"`);
  const start = Number(m[1]);
  const end = m[2] === '' ? undefined : Number(m[2]);
  if (!Number.isSafeInteger(start) || (end !== undefined && !Number.isSafeInteger(end))) {
    throw unsatisfiable('range bounds out of range');
  }
  if (end === undefined) return { offset: start };
  if (end < start) throw unsatisfiable(`the range end ${end} is before its start ${start}`);
  return { offset: start, limit: end - start + 1 };
}
