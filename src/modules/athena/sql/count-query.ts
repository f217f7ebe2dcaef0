import { SqlRejectedError } from './errors.ts';
import { quoteQualified } from './identifiers.ts';
import { hasKey, nameList, nodeOf, type PgFields, parseStatements, walkNodes } from './parser.ts';

/*
 * `POST /query/count` (notes §3.7) runs a caller's COUNT query; it is checked by Postgres' own parser, not by
 * pattern: one SelectStmt, no GROUP BY/HAVING/set operation/WITH/locking, a target list of exactly one count(...)
 * aggregate, and no comments in the raw text (as the contract says). Beyond §3.7, function calls elsewhere in the
 * query come from a closed list of side-effect-free builtins, so a "count" cannot sleep (pg_sleep), read files or
 * call anything else; nothing below the statement may write or lock either.
 */

/** Functions a count query may call besides its count(...) target (unqualified or `pg_catalog.`). */
export const countQueryFunctions: ReadonlySet<string> = new Set([
  'now',
  'lower',
  'upper',
  'length',
  'char_length',
  'character_length',
  'octet_length',
  'btrim',
  'ltrim',
  'rtrim',
  'trim',
  'substr',
  'substring',
  'left',
  'right',
  'strpos',
  'position',
  'replace',
  'concat',
  'abs',
  'round',
  'floor',
  'ceil',
  'ceiling',
  'trunc',
  'date_trunc',
  'date_part',
  'extract',
  'age',
  'to_timestamp',
  'to_date',
  'to_char',
  'make_date',
  'make_interval',
  'array_length',
  'cardinality',
  'jsonb_array_length',
  'json_array_length',
  'jsonb_typeof',
  'json_typeof',
  'timezone',
]);

/** A relation a count query reads (for per-table rights and cache invalidation). */
export interface CountQueryRelation {
  schema: string | null;
  name: string;
}

/** A validated count query. */
export interface ValidatedCountQuery {
  /** The statement's text (no trailing `;`), to run as is inside a read-only transaction. */
  sql: string;
  /** The relations it reads, in order of appearance, without duplicates. */
  relations: CountQueryRelation[];
}

function refuse(message: string): never {
  throw new SqlRejectedError('INVALID_COUNT_QUERY', message);
}

function isCountCall(value: unknown): boolean {
  const call = nodeOf(value);
  if (call?.type !== 'FuncCall') return false;
  const name = nameList(call.fields.funcname);
  const bare = name.length === 1 && name[0] === 'count';
  const qualified = name.length === 2 && name[0] === 'pg_catalog' && name[1] === 'count';
  return (bare || qualified) && call.fields.over === undefined;
}

/** Checks a `/query/count` query (§3.7); throws SqlRejectedError (400) or SqlSyntaxError. */
export async function validateCountQuery(sql: string): Promise<ValidatedCountQuery> {
  if (typeof sql !== 'string' || sql.trim() === '') refuse('query must be a non-empty string');
  // The contract forbids comments outright; checked on the raw text, so `--` inside a literal is refused too.
  if (sql.includes('--') || sql.includes('/*')) refuse('comments (-- or /*) are not allowed in a count query');
  const statements = await parseStatements(sql);
  if (statements.length !== 1) refuse(`a count query is exactly one statement, found ${statements.length}`);
  const [statement] = statements as [(typeof statements)[number]];
  if (statement.nodeType !== 'SelectStmt') refuse(`a count query is a SELECT, not ${statement.nodeType}`);
  const select = statement.fields;
  if (select.op !== undefined && select.op !== 'SETOP_NONE')
    refuse('set operations (UNION, INTERSECT, EXCEPT) are not allowed');
  if (select.larg || select.rarg) refuse('set operations (UNION, INTERSECT, EXCEPT) are not allowed');
  if (select.groupClause?.length) refuse('GROUP BY is not allowed in a count query');
  if (select.havingClause) refuse('HAVING is not allowed in a count query');
  if (select.valuesLists?.length) refuse('VALUES is not a count query');
  if (hasKey(select, 'withClause')) refuse('WITH is not allowed in a count query');
  if (hasKey(select, 'lockingClause')) refuse('locking clauses (FOR UPDATE, …) are not allowed');
  if (hasKey(select, 'intoClause')) refuse('SELECT INTO is not allowed');
  if (select.windowClause?.length) refuse('WINDOW is not allowed in a count query');
  if (select.distinctClause) refuse('DISTINCT on the count is not allowed; use count(DISTINCT …)');
  const targets = (select.targetList ?? []) as PgFields[];
  if (targets.length !== 1)
    refuse(`the target list must be exactly one count(...) aggregate, found ${targets.length} items`);
  const target = nodeOf(targets[0]);
  if (target?.type !== 'ResTarget' || !isCountCall(target.fields.val)) {
    refuse('the target list must be exactly one count(...) aggregate');
  }
  const countCall = (target.fields.val as PgFields).FuncCall as PgFields;

  let problem: string | undefined;
  const relations: CountQueryRelation[] = [];
  walkNodes(select, (type, fields) => {
    if (problem) return;
    if (type === 'InsertStmt' || type === 'UpdateStmt' || type === 'DeleteStmt' || type === 'MergeStmt') {
      problem = 'a count query must not modify data';
    } else if (type === 'FuncCall' && fields !== countCall) {
      const name = nameList(fields.funcname);
      const fn = name.at(-1)?.toLowerCase() ?? '';
      const qualifiedOk = name.length === 1 || (name.length === 2 && name[0] === 'pg_catalog');
      if (!qualifiedOk || !countQueryFunctions.has(fn))
        problem = `function ${name.join('.')}() is not allowed in a count query`;
      else if (fields.over) problem = 'window functions are not allowed in a count query';
    } else if (type === 'RangeFunction' || type === 'RangeTableFunc' || type === 'RangeTableSample') {
      problem = 'functions, XMLTABLE and TABLESAMPLE in FROM are not allowed in a count query';
    } else if (type === 'RangeVar') {
      const rel = { schema: (fields.schemaname as string | undefined) ?? null, name: String(fields.relname) };
      if (fields.catalogname) problem = 'cross-database references are not allowed';
      if (!relations.some((r) => r.schema === rel.schema && r.name === rel.name)) relations.push(rel);
    }
  });
  if (problem) refuse(problem);
  return { sql: statement.text.replace(/;\s*$/, ''), relations };
}

/** The count query for `table_name` (§3.7): `SELECT count(*) FROM "schema"."table"` with quoted identifiers. */
export function tableCountSql(schema: string, table: string): string {
  return `SELECT count(*) FROM ${quoteQualified(schema, table)}`;
}
