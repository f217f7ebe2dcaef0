import { parseSync } from 'libpg-query';
import { loadParser } from './blueprint-sql.ts';

/*
 * Natural-language queries (docs/polykomos.md, "Natural-language query executions"): the prompt, the statement
 * taken from the model's answer, and the read-only verdict on Postgres SQL from Postgres' own parser (libpg-query).
 * MySQL statements are judged by the MySQL server's own parser instead (queries.service.ts). The verdict is the
 * first wall (a clear 422 before anything runs); the read-only transaction the statement then runs in is the second.
 */

export type NlqEngine = 'postgres' | 'mysql';

/** Why a generated statement does not run (the REST error codes). */
export type RefusalCode = 'generated_sql_invalid' | 'multiple_statements' | 'sql_not_read_only';

export type SqlVerdict =
  | { ok: true; sql: string; kind: 'select' | 'explain' }
  | { ok: false; code: RefusalCode; message: string };

/** One column of the introspected schema. */
export interface SchemaColumn {
  schema: string;
  table: string;
  column: string;
  type: string;
  nullable: boolean;
}

/** A primary-key column or a foreign-key reference of the introspected schema. */
export interface SchemaKey {
  schema: string;
  table: string;
  column: string;
  kind: 'primary' | 'foreign';
  /** The referenced `schema.table(column)` of a foreign key. */
  references?: { schema: string; table: string; column: string };
}

/** Largest schema description put into a prompt, characters. */
export const maxSchemaChars = 24_000;

/** The schema as prompt text, one table per line: `schema.table: col type [not null] [primary key] [→ t(c)]`. */
export function describeSchema(engine: NlqEngine, columns: SchemaColumn[], keys: SchemaKey[]): string {
  const name = (schema: string, table: string) => (engine === 'postgres' ? `${schema}.${table}` : table);
  const keyOf = new Map<string, SchemaKey[]>();
  for (const k of keys) {
    const id = `${k.schema}\u0000${k.table}\u0000${k.column}`;
    keyOf.set(id, [...(keyOf.get(id) ?? []), k]);
  }
  const tables = new Map<string, string[]>();
  for (const c of columns) {
    const table = name(c.schema, c.table);
    const parts = [c.column, c.type];
    if (!c.nullable) parts.push('not null');
    for (const k of keyOf.get(`${c.schema}\u0000${c.table}\u0000${c.column}`) ?? []) {
      if (k.kind === 'primary') parts.push('primary key');
      else if (k.references) {
        parts.push(`references ${name(k.references.schema, k.references.table)}(${k.references.column})`);
      }
    }
    tables.set(table, [...(tables.get(table) ?? []), parts.join(' ')]);
  }
  if (tables.size === 0) return '(the database has no tables)';
  const lines: string[] = [];
  let size = 0;
  for (const [table, cols] of tables) {
    const line = `${table}: ${cols.join(', ')}`;
    if (size + line.length > maxSchemaChars) {
      lines.push(`(${tables.size - lines.length} more tables not shown)`);
      break;
    }
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n');
}

/** The system prompt: the rules and the schema. The user's question is the user turn, as it was asked. */
export function systemPrompt(engine: NlqEngine, schema: string): string {
  const dialect = engine === 'postgres' ? 'PostgreSQL' : 'MySQL (MariaDB-compatible)';
  return [
    `You translate a question about a ${dialect} database into exactly one read-only ${dialect} SQL statement.`,
    'Rules:',
    '- Answer with the SQL statement only: no explanation, no Markdown.',
    '- Only SELECT (WITH … SELECT is fine) is allowed. Never INSERT, UPDATE, DELETE, DDL, SET or several statements.',
    '- Use only the tables and columns listed below.',
    '',
    'Schema:',
    schema,
  ].join('\n');
}

/**
 * The statement in a model's answer: the first fenced code block if there is one, else the whole answer; trailing
 * semicolons and whitespace dropped. Undefined when nothing is left.
 */
export function extractSql(answer: string): string | undefined {
  const fenced = /```[A-Za-z0-9_-]*[^\S\n]*\n?([\s\S]*?)```/.exec(answer);
  let sql = (fenced ? (fenced[1] ?? '') : answer).trim();
  while (sql.endsWith(';')) sql = sql.slice(0, -1).trimEnd();
  return sql === '' ? undefined : sql;
}

/** Functions a generated statement may not call: they change the session (its timeout) or reach other sessions. */
const refusedFunctions = new Set([
  'set_config',
  'pg_reload_conf',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
  'dblink',
  'dblink_exec',
  'dblink_connect',
  'lo_import',
  'lo_export',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
]);

const writeNodes: Record<string, string> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
};

/** Visits every parse node below `value` (single-key objects whose key is a node type), without recursion. */
function eachNode(value: unknown, visit: (type: string, fields: Record<string, unknown>) => void): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      stack.push(...v);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const keys = Object.keys(v);
    const only = keys.length === 1 ? (keys[0] as string) : undefined;
    const inner = only ? (v as Record<string, unknown>)[only] : undefined;
    if (only && /^[A-Z]/.test(only) && inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      visit(only, inner as Record<string, unknown>);
    }
    stack.push(...Object.values(v));
  }
}

const present = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

/** Why a SELECT is not read-only, or undefined when it is. */
function selectProblem(select: Record<string, unknown>): string | undefined {
  let problem: string | undefined;
  eachNode({ SelectStmt: select }, (type, fields) => {
    if (problem) return;
    const write = writeNodes[type];
    if (write) problem = `the statement contains an ${write} (a data-modifying WITH); only reads run`;
    else if (type === 'SelectStmt' && present(fields.intoClause)) problem = 'SELECT … INTO creates a table';
    else if (type === 'SelectStmt' && present(fields.lockingClause)) problem = 'FOR UPDATE/SHARE locks rows';
    else if (type === 'FuncCall') {
      const names = Array.isArray(fields.funcname) ? fields.funcname : [];
      const last = names.at(-1) as { String?: { sval?: string } } | undefined;
      const fn = String(last?.String?.sval ?? '').toLowerCase();
      if (refusedFunctions.has(fn)) problem = `the function ${fn}() is not allowed in generated queries`;
    }
  });
  return problem;
}

/**
 * The verdict on a generated Postgres statement, from Postgres' own grammar: exactly one statement, a SELECT
 * (WITH … SELECT, VALUES, TABLE, set operations) or an EXPLAIN of one, without data-modifying CTEs, SELECT INTO,
 * row locks or session-changing functions. `sql` is the statement's own text (no trailing semicolon).
 */
export async function checkPostgresSql(text: string): Promise<SqlVerdict> {
  await loadParser();
  if (text.includes('\u0000')) return { ok: false, code: 'generated_sql_invalid', message: 'the SQL contains NUL' };
  let stmts: { stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[];
  try {
    stmts = (parseSync(text) as { stmts?: typeof stmts }).stmts ?? [];
  } catch (err) {
    const message = (err as { sqlDetails?: { message?: string } }).sqlDetails?.message ?? (err as Error).message;
    return { ok: false, code: 'generated_sql_invalid', message: `the generated SQL does not parse: ${message}` };
  }
  if (stmts.length === 0) return { ok: false, code: 'generated_sql_invalid', message: 'the answer holds no statement' };
  if (stmts.length > 1) {
    return {
      ok: false,
      code: 'multiple_statements',
      message: `the model answered ${stmts.length} statements; exactly one runs`,
    };
  }
  const entry = stmts[0] as (typeof stmts)[number];
  const node = entry.stmt ?? {};
  const type = Object.keys(node)[0] ?? 'Unknown';
  const fields = (node[type] ?? {}) as Record<string, unknown>;
  const bytes = Buffer.from(text, 'utf8');
  const start = entry.stmt_location ?? 0;
  const sql = bytes
    .subarray(start, entry.stmt_len ? start + entry.stmt_len : bytes.length)
    .toString('utf8')
    .trim();
  const refuse = (message: string): SqlVerdict => ({ ok: false, code: 'sql_not_read_only', message });
  if (type === 'SelectStmt') {
    const problem = selectProblem(fields);
    return problem ? refuse(problem) : { ok: true, sql, kind: 'select' };
  }
  if (type === 'ExplainStmt') {
    const inner = (fields.query ?? {}) as Record<string, unknown>;
    const innerType = Object.keys(inner)[0];
    if (innerType !== 'SelectStmt') {
      return refuse(`EXPLAIN of ${statementName(innerType ?? 'Unknown')} is not allowed: only EXPLAIN of a SELECT`);
    }
    const problem = selectProblem(inner[innerType] as Record<string, unknown>);
    return problem ? refuse(problem) : { ok: true, sql, kind: 'explain' };
  }
  return refuse(`${statementName(type)} statements are not allowed: only SELECT, WITH … SELECT and EXPLAIN run`);
}

/** A parse node type as a statement name for messages: InsertStmt → INSERT, CreateStmt → CREATE. */
function statementName(type: string): string {
  const known: Record<string, string> = {
    InsertStmt: 'INSERT',
    UpdateStmt: 'UPDATE',
    DeleteStmt: 'DELETE',
    MergeStmt: 'MERGE',
    CreateStmt: 'CREATE TABLE',
    DropStmt: 'DROP',
    TruncateStmt: 'TRUNCATE',
    AlterTableStmt: 'ALTER TABLE',
    VariableSetStmt: 'SET',
    TransactionStmt: 'transaction control',
    CopyStmt: 'COPY',
    DoStmt: 'DO',
    CallStmt: 'CALL',
  };
  return (
    known[type] ??
    type
      .replace(/Stmt$/, '')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toUpperCase()
  );
}

/** Column names made unique for row objects: a repeated name gets `_2`, `_3`, … (`id`, `id_2`). */
export function uniqueNames(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let candidate = name;
    for (let n = 2; seen.has(candidate); n++) candidate = `${name}_${n}`;
    seen.add(candidate);
    return candidate;
  });
}
