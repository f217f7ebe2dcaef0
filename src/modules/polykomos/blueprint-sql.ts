import { Worker } from 'node:worker_threads';
import { loadModule, parseSync, type ScanToken, scanSync } from 'libpg-query';

/*
 * Blueprint SQL analysis (docs/polykomos.md, Blueprints): the real Postgres parser (libpg-query, Postgres' own
 * grammar compiled to WASM) splits and parses the script; a throwaway PGlite in a worker thread executes it inside
 * BEGIN … ROLLBACK for the semantic check. `{{name}}` placeholders are rendered as quoted literals (%L) or quoted
 * identifiers (%I), never spliced raw.
 */

export const variableTypes = ['string', 'integer', 'boolean', 'identifier'] as const;
export type VariableType = (typeof variableTypes)[number];
export interface VariableDeclaration {
  type: VariableType;
  default?: unknown;
  required?: boolean;
  description?: string;
}

export interface BlueprintStatement {
  /** 1-based position in the script. */
  index: number;
  /** Lower snake case of the parse node (create_table, insert, drop…). */
  type: string;
  /** The statement's original text (placeholders unrendered). */
  sql: string;
  node: Record<string, unknown>;
}

export interface BlueprintValidation {
  valid: boolean;
  statementCount: number;
  errors: string[];
  warnings: string[];
  manifest: {
    statements: { index: number; type: string }[];
    objects_created: {
      tables: string[];
      indexes: string[];
      views: string[];
      functions: string[];
      extensions: string[];
    };
    variables_referenced: string[];
    semantic_check: 'passed' | 'failed' | 'skipped';
  };
}

const placeholder = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const variableName = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** How long the statements of one semantic check may run. */
const semanticCheckTimeoutMs = 15_000;
const startupTimeoutMs = 60_000;

let loaded: Promise<void> | undefined;
/** Loads the parser's WASM once (bundled in the package; nothing is downloaded). */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/** Problems with a `variables` declaration object (empty when fine). */
export function checkVariableDeclarations(vars: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, decl] of Object.entries(vars)) {
    if (!variableName.test(name)) {
      problems.push(`"${name}" is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)`);
      continue;
    }
    if (decl === null || typeof decl !== 'object' || Array.isArray(decl)) {
      problems.push(`${name} must be an object {type, default?, required?, description?}`);
      continue;
    }
    const d = decl as Record<string, unknown>;
    if (!(variableTypes as readonly unknown[]).includes(d.type)) {
      problems.push(`${name}.type must be one of ${variableTypes.join(', ')}`);
      continue;
    }
    if (d.required !== undefined && typeof d.required !== 'boolean') problems.push(`${name}.required must be boolean`);
    if (d.description !== undefined && typeof d.description !== 'string') {
      problems.push(`${name}.description must be a string`);
    }
    if (d.default !== undefined && d.default !== null) {
      const problem = valueProblem(d.type as VariableType, d.default);
      if (problem) problems.push(`${name}.default ${problem}`);
    }
  }
  return problems;
}

/** Why a value does not fit a variable type, or undefined. */
export function valueProblem(type: VariableType, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' && !value.includes('\u0000') ? undefined : 'must be a string without NUL';
    case 'integer':
      return Number.isSafeInteger(value) ? undefined : 'must be an integer';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'identifier':
      return typeof value === 'string' && value.length > 0 && value.length <= 63 && !value.includes('\u0000')
        ? undefined
        : 'must be an identifier of 1..63 characters';
  }
}

/** Postgres quote_literal / format('%L'): single quotes doubled; backslashes doubled under an E'' prefix. */
export function quoteLiteral(value: string): string {
  const quoted = `'${value.replace(/'/g, "''")}'`;
  return value.includes('\\') ? `E${quoted.replace(/\\/g, '\\\\')}` : quoted;
}

/** Postgres format('%I'), always quoted: double quotes doubled. */
export function quoteIdentifier(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** One variable value as SQL text: identifiers with %I, everything else as a %L literal. */
export function renderValue(type: VariableType, value: unknown): string {
  if (type === 'identifier') return quoteIdentifier(String(value));
  return quoteLiteral(String(value));
}

/** Replaces every `{{name}}` with its rendered value (`values` must hold every referenced name). */
export function renderSql(
  sql: string,
  declarations: Record<string, VariableDeclaration>,
  values: Record<string, unknown>,
): string {
  return sql.replace(placeholder, (_m, name: string) =>
    renderValue(declarations[name]?.type ?? 'string', values[name]),
  );
}

/** The names referenced as `{{name}}`, in order of first use. */
export function referencedVariables(sql: string): string[] {
  return [...new Set([...sql.matchAll(placeholder)].map((m) => m[1] as string))];
}

/**
 * The same-length stand-in the parser sees for each placeholder (a literal, a quoted identifier, a number or a
 * boolean keyword), so positions in parser errors and statement offsets are those of the original text.
 */
function parseable(sql: string, declarations: Record<string, VariableDeclaration>): string {
  return sql.replace(placeholder, (m, name: string) => {
    const n = m.length;
    switch (declarations[name]?.type) {
      case 'identifier':
        return `"${'v'.repeat(n - 2)}"`;
      case 'integer':
        return '1'.repeat(n);
      case 'boolean':
        return `true${' '.repeat(n - 4)}`;
      default:
        return `'${'x'.repeat(n - 2)}'`;
    }
  });
}

export type ParseOutcome =
  | { ok: true; statements: BlueprintStatement[] }
  | { ok: false; error: string; statementIndex: number };

/** Splits and parses a script with the real Postgres parser. */
export async function parseBlueprint(
  sql: string,
  declarations: Record<string, VariableDeclaration> = {},
): Promise<ParseOutcome> {
  await loadParser();
  const text = parseable(sql, declarations);
  const bytes = Buffer.from(sql, 'utf8');
  try {
    const result = parseSync(text);
    const statements = (result.stmts ?? []).map((raw, i) => {
      const entry = raw as { stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number };
      const start = entry.stmt_location ?? 0;
      const end = entry.stmt_len ? start + entry.stmt_len : bytes.length;
      const node = entry.stmt ?? {};
      const kind = Object.keys(node)[0] ?? 'Unknown';
      return {
        index: i + 1,
        type: statementType(kind),
        sql: bytes.subarray(start, end).toString('utf8').trim(),
        node,
      };
    });
    return { ok: true, statements };
  } catch (err) {
    const details = (err as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    const message = details?.message ?? (err instanceof Error ? err.message : String(err));
    // libpg-query reports a 0-based character offset (exact for ASCII text).
    const pos = details?.cursorPosition;
    const before = [...text].slice(0, Math.max(0, pos ?? 0)).join('');
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    const statementIndex = statementAt(text, Buffer.byteLength(before, 'utf8'));
    const where = pos !== undefined ? ` at line ${line}, column ${column}` : '';
    return { ok: false, error: `Statement ${statementIndex}: ${message}${where}`, statementIndex };
  }
}

/** The 1-based statement holding byte offset `at`: the parser's own scanner counts `;` tokens before it. */
function statementAt(text: string, at: number): number {
  let tokens: ScanToken[];
  try {
    tokens = scanSync(text).tokens;
  } catch {
    return 1;
  }
  let index = 1;
  let sawToken = false;
  for (const t of tokens) {
    if (t.start >= at) break;
    if (t.text === ';') {
      if (sawToken) index++;
      sawToken = false;
    } else sawToken = true;
  }
  return index;
}

function statementType(kind: string): string {
  const named: Record<string, string> = {
    CreateStmt: 'create_table',
    CreateTableAsStmt: 'create_table_as',
    IndexStmt: 'create_index',
    ViewStmt: 'create_view',
    CreateFunctionStmt: 'create_function',
    CreateExtensionStmt: 'create_extension',
    CreatedbStmt: 'create_database',
    InsertStmt: 'insert',
    UpdateStmt: 'update',
    DeleteStmt: 'delete',
    SelectStmt: 'select',
    DropStmt: 'drop',
    TruncateStmt: 'truncate',
    VacuumStmt: 'vacuum',
    TransactionStmt: 'transaction',
  };
  return (
    named[kind] ??
    kind
      .replace(/Stmt$/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()
  );
}

const body = (s: BlueprintStatement) => Object.values(s.node)[0] as Record<string, any>;
const kindOf = (s: BlueprintStatement) => Object.keys(s.node)[0] ?? '';

/** Why a statement cannot run inside a transaction block, or undefined. */
export function nonTransactional(s: BlueprintStatement): string | undefined {
  const kind = kindOf(s);
  const b = body(s) ?? {};
  if (kind === 'IndexStmt' && b.concurrent) return 'CREATE INDEX CONCURRENTLY';
  if (kind === 'ReindexStmt' && JSON.stringify(b.params ?? []).includes('"concurrently"')) {
    return 'REINDEX CONCURRENTLY';
  }
  if (kind === 'DropStmt' && b.concurrent) return 'DROP INDEX CONCURRENTLY';
  const always: Record<string, string> = {
    VacuumStmt: b.is_vacuumcmd === false ? 'ANALYZE' : 'VACUUM',
    CreatedbStmt: 'CREATE DATABASE',
    DropdbStmt: 'DROP DATABASE',
    AlterSystemStmt: 'ALTER SYSTEM',
    CreateTableSpaceStmt: 'CREATE TABLESPACE',
    DropTableSpaceStmt: 'DROP TABLESPACE',
    TransactionStmt: 'transaction control (BEGIN/COMMIT/ROLLBACK)',
  };
  // ANALYZE alone does run in a transaction.
  if (kind === 'VacuumStmt' && b.is_vacuumcmd !== true) return undefined;
  return always[kind];
}

/** Why a statement is destructive, or undefined. */
function destructive(s: BlueprintStatement): string | undefined {
  const kind = kindOf(s);
  const b = body(s) ?? {};
  if (kind === 'DropStmt' || kind === 'DropdbStmt' || kind === 'DropRoleStmt' || kind === 'DropOwnedStmt') {
    return 'DROP';
  }
  if (kind === 'TruncateStmt') return 'TRUNCATE';
  if (kind === 'DeleteStmt' && !b.whereClause) return 'DELETE without WHERE';
  if (kind === 'UpdateStmt' && !b.whereClause) return 'UPDATE without WHERE';
  return undefined;
}

function qualified(rel: { schemaname?: string; relname?: string } | undefined): string | undefined {
  if (!rel?.relname) return undefined;
  return rel.schemaname ? `${rel.schemaname}.${rel.relname}` : rel.relname;
}

function objectsCreated(statements: BlueprintStatement[]): BlueprintValidation['manifest']['objects_created'] {
  const out = { tables: [] as string[], indexes: [] as string[], views: [] as string[], functions: [], extensions: [] };
  const functions: string[] = out.functions;
  const extensions: string[] = out.extensions;
  for (const s of statements) {
    const b = body(s) ?? {};
    const kind = kindOf(s);
    const push = (list: string[], name: string | undefined) => name && !list.includes(name) && list.push(name);
    if (kind === 'CreateStmt') push(out.tables, qualified(b.relation));
    else if (kind === 'CreateTableAsStmt') {
      if (b.objtype === 'OBJECT_MATVIEW') push(out.views, qualified(b.into?.rel));
      else push(out.tables, qualified(b.into?.rel));
    } else if (kind === 'IndexStmt') push(out.indexes, b.idxname ?? `(unnamed on ${qualified(b.relation)})`);
    else if (kind === 'ViewStmt') push(out.views, qualified(b.view));
    else if (kind === 'CreateFunctionStmt') {
      push(functions, (b.funcname ?? []).map((n: { String?: { sval?: string } }) => n.String?.sval ?? '').join('.'));
    } else if (kind === 'CreateExtensionStmt') push(extensions, b.extname);
  }
  return out;
}

/**
 * Validates a script: real parse (syntax errors with statement index and position), undeclared variables (errors),
 * destructive / non-transactional statements and unused declarations (warnings), the manifest, then — when it
 * parsed — a semantic check in a throwaway PGlite inside BEGIN … ROLLBACK with variables rendered as quoted values.
 */
export async function validateBlueprintSql(
  sql: string,
  variables: Record<string, unknown> | null,
): Promise<BlueprintValidation> {
  const declarations = (variables ?? {}) as Record<string, VariableDeclaration>;
  const referenced = referencedVariables(sql);
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const name of referenced) {
    if (!(name in declarations)) errors.push(`Variable {{${name}}} is referenced but not declared in variables`);
  }
  for (const name of Object.keys(declarations)) {
    if (!referenced.includes(name)) warnings.push(`Variable "${name}" is declared but never referenced`);
  }
  const parsed = await parseBlueprint(sql, declarations);
  const manifest: BlueprintValidation['manifest'] = {
    statements: [],
    objects_created: { tables: [], indexes: [], views: [], functions: [], extensions: [] },
    variables_referenced: referenced,
    semantic_check: 'skipped',
  };
  if (!parsed.ok) {
    errors.unshift(parsed.error);
    return { valid: false, statementCount: 0, errors, warnings, manifest };
  }
  const { statements } = parsed;
  if (statements.length === 0) errors.push('The script contains no statements');
  for (const s of statements) {
    const d = destructive(s);
    if (d) warnings.push(`Statement ${s.index}: destructive statement (${d})`);
    const n = nonTransactional(s);
    if (n)
      warnings.push(`Statement ${s.index}: ${n} cannot run inside a transaction; it is not rolled back on failure`);
  }
  manifest.statements = statements.map((s) => ({ index: s.index, type: s.type }));
  manifest.objects_created = objectsCreated(statements);
  if (errors.length === 0) {
    const values = sampleValues(declarations, referenced);
    const runnable = statements
      .filter((s) => !nonTransactional(s))
      .map((s) => ({ index: s.index, sql: renderSql(s.sql, declarations, values) }));
    const check = await semanticCheck(runnable);
    if (check.ok) manifest.semantic_check = 'passed';
    else if (check.skipped) warnings.push(`Semantic check skipped: ${check.error}`);
    else {
      manifest.semantic_check = 'failed';
      errors.push(`Statement ${check.index}: ${check.error}`);
    }
  }
  return { valid: errors.length === 0, statementCount: statements.length, errors, warnings, manifest };
}

/** Defaults where declared, else a plausible value per type, for the semantic check. */
function sampleValues(declarations: Record<string, VariableDeclaration>, names: string[]): Record<string, unknown> {
  const samples: Record<VariableType, unknown> = { string: 'sample', integer: 1, boolean: true, identifier: 'sample' };
  return Object.fromEntries(
    names.map((n) => {
      const d = declarations[n];
      return [n, d?.default ?? samples[d?.type ?? 'string']];
    }),
  );
}

type CheckResult = { ok: true } | { ok: false; skipped?: boolean; index?: number; error: string };

let running: Promise<unknown> = Promise.resolve();

/**
 * Runs statements one by one in a fresh in-memory PGlite inside BEGIN … ROLLBACK, in a worker thread terminated
 * after 15 s (a runaway statement cannot block the server). One check at a time per process.
 */
export function semanticCheck(statements: { index: number; sql: string }[]): Promise<CheckResult> {
  const run = running.then(() => runWorker(statements));
  running = run.catch(() => undefined);
  return run;
}

function runWorker(statements: { index: number; sql: string }[]): Promise<CheckResult> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./blueprint-check.worker.mjs', import.meta.url), {
      workerData: { statements },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    let settled = false;
    const finish = (r: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(r);
    };
    // PGlite's start-up (slow on a busy machine) has its own allowance; the statements get the check's timeout.
    let timer = setTimeout(
      () => finish({ ok: false, skipped: true, error: 'the check database did not start in time' }),
      startupTimeoutMs,
    );
    worker.on('message', (m: CheckResult | { ready: true }) => {
      if ('ready' in m) {
        clearTimeout(timer);
        timer = setTimeout(
          () => finish({ ok: false, skipped: true, error: `timed out after ${semanticCheckTimeoutMs / 1000} s` }),
          semanticCheckTimeoutMs,
        );
      } else finish(m);
    });
    worker.once('error', (err) => finish({ ok: false, skipped: true, error: `check failed to run: ${err.message}` }));
    worker.once('exit', () => finish({ ok: false, skipped: true, error: 'check worker exited' }));
  });
}
