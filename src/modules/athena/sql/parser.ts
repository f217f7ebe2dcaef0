import { loadModule, parseSync } from 'libpg-query';
import { SqlSyntaxError } from './errors.ts';

/*
 * The one entry to Postgres' real grammar (libpg-query: the server's parser compiled to WASM, bundled, nothing
 * downloaded). Every check in this folder parses through here, so the WASM loads once and parse errors become the
 * same typed SqlSyntaxError everywhere.
 */

/** A parse node: `{ NodeType: { …fields } }`. */
export type PgNode = Record<string, unknown>;
/** A node's fields (the value under its type key). */
export type PgFields = Record<string, any>;

/** One top-level statement of a parsed text. */
export interface ParsedStatement {
  /** 0-based position in the text. */
  index: number;
  /** The parse node's type: `SelectStmt`, `CreateStmt`, `TransactionStmt`, … */
  nodeType: string;
  /** The node's fields. */
  fields: PgFields;
  /** The whole node (`{ [nodeType]: fields }`). */
  node: PgNode;
  /** The statement's own text (without the separating `;`), trimmed. */
  text: string;
  /** Byte offsets of the statement in the UTF-8 text, as the parser reports them. */
  startByte: number;
  endByte: number;
}

let loading: Promise<void> | undefined;
/** Loads the parser's WASM once per process. */
export function loadSqlParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

/** 1-based line and column of a 0-based character offset. */
export function lineColumn(text: string, charOffset: number): { line: number; column: number } {
  const before = [...text].slice(0, Math.max(0, charOffset)).join('');
  const line = before.split('\n').length;
  return { line, column: [...before].length - [...before].lastIndexOf('\n') };
}

/** Parses `sql` with Postgres' grammar; throws SqlSyntaxError with Postgres' message and position. */
export async function parseStatements(sql: string): Promise<ParsedStatement[]> {
  await loadSqlParser();
  if (sql.includes('\u0000'))
    throw new SqlSyntaxError('SQL text must not contain NUL characters', undefined, undefined, undefined);
  let result: { stmts?: unknown[] };
  try {
    // An empty text is a parser error in libpg-query ("Query cannot be empty"); it is zero statements here.
    result = sql.trim() === '' ? { stmts: [] } : (parseSync(sql) as { stmts?: unknown[] });
  } catch (err) {
    const details = (err as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    const message = details?.message ?? (err instanceof Error ? err.message : String(err));
    const pos = details?.cursorPosition;
    if (pos === undefined || pos < 0) throw new SqlSyntaxError(message, undefined, undefined, undefined);
    const { line, column } = lineColumn(sql, pos);
    throw new SqlSyntaxError(message, pos + 1, line, column);
  }
  const bytes = Buffer.from(sql, 'utf8');
  return (result.stmts ?? []).map((raw, index) => {
    const entry = raw as { stmt?: PgNode; stmt_location?: number; stmt_len?: number };
    const node = entry.stmt ?? {};
    const nodeType = Object.keys(node)[0] ?? 'Unknown';
    const startByte = entry.stmt_location ?? 0;
    const endByte = entry.stmt_len ? startByte + entry.stmt_len : bytes.length;
    return {
      index,
      nodeType,
      fields: (node[nodeType] ?? {}) as PgFields,
      node,
      text: bytes.subarray(startByte, endByte).toString('utf8').trim(),
      startByte,
      endByte,
    };
  });
}

/** The single node of a one-key wrapper `{ Type: fields }`: its type and fields (or undefined for non-nodes). */
export function nodeOf(value: unknown): { type: string; fields: PgFields } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const type = keys[0] as string;
  const fields = (value as PgFields)[type];
  if (fields === null || typeof fields !== 'object') return undefined;
  return { type, fields: fields as PgFields };
}

/**
 * Visits every node below `value` (depth first, including `value` itself). Node types are recognised as
 * single-key objects whose key starts with an upper-case letter; bare field objects (RangeVar inside `relation`,
 * a SelectStmt's `larg`) are walked through too, so nothing nested escapes a check.
 */
export function walkNodes(value: unknown, visit: (type: string, fields: PgFields) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walkNodes(item, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const keys = Object.keys(value);
  if (keys.length === 1 && /^[A-Z]/.test(keys[0] as string)) {
    const fields = (value as PgFields)[keys[0] as string];
    if (fields !== null && typeof fields === 'object') {
      visit(keys[0] as string, fields as PgFields);
      walkNodes(fields, visit);
      return;
    }
  }
  for (const v of Object.values(value)) walkNodes(v, visit);
}

/** The `sval` of each `String` node in a name list (`[{String:{sval:'pg_catalog'}}, …]`). */
export function nameList(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => {
    const n = nodeOf(item);
    return n?.type === 'String' ? String(n.fields.sval ?? '') : '';
  });
}

/** Whether any object below `value` carries a non-empty `key` (e.g. `lockingClause`, `intoClause`). */
export function hasKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((item) => hasKey(item, key));
  if (value === null || typeof value !== 'object') return false;
  for (const [k, v] of Object.entries(value)) {
    if (k === key && v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) return true;
    if (hasKey(v, key)) return true;
  }
  return false;
}
