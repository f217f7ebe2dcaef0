import { createHash } from 'node:crypto';
import type { D1Executor } from './d1-client.ts';
import { type D1RequestError, SqlRejectedError, SqlSyntaxError } from './errors.ts';
import { quoteIdent, quoteLiteral } from './identifiers.ts';
import { nameList, nodeOf, type ParsedStatement, type PgFields, parseStatements } from './parser.ts';
import { type PrintContext, printExpr, printSelect, Unconvertible } from './sqlite-printer.ts';
import { type TypeNameInfo, typeNameInfo } from './type-names.ts';

/*
 * PostgreSQL → Cloudflare D1 (SQLite) conversion for `POST /gateway/sql/d1/migrate` (notes G1): Postgres' parser
 * reads the script, each statement is converted from its tree by the printer here and in sqlite-printer.ts (never a
 * rewrite of the SQL text), and the result is the contract's preview or execution body. Type conversions and
 * preserved-but-changed constructs are warnings; constructs that are skipped or lose meaning (`unsupported.*`,
 * `type.unsupported`) are errors in strict mode (the route answers 422) and warnings otherwise.
 */

/** The request as the contract spells it (camelCase) or as the prose does (snake_case), normalised. */
export interface D1MigrationRequest {
  driver: 'cloudflare-d1';
  dbName: string;
  /** The source texts: `schemaSql`, else `statements`, else `files` (each an SQL text). */
  sources: string[];
  dialect: 'postgresql';
  dryRun: boolean;
  strict: boolean;
  batchSize: number | null;
}

/** The contract's D1MigrationSourceRange (1-based lines and columns, end inclusive). */
export interface D1SourceRange {
  statementIndex: number;
  startLine: number;
  endLine: number;
  startColumn: number;
  endColumn: number;
}

/** The contract's D1MigrationDiagnostic. */
export interface D1Diagnostic {
  code: string;
  message: string;
  statementIndex: number;
  sourceRange: D1SourceRange;
}

/** The contract's D1MigrationPlanEntry. */
export interface D1PlanEntry {
  action: 'converted' | 'skipped' | 'warning';
  statementIndex: number;
  sourceRange: D1SourceRange;
  sourceSql: string;
  targetSql: string;
  /** Position in the apply order; -1 when nothing of it is applied (skipped, or merged into a CREATE TABLE). */
  applyOrder: number;
}

/** The contract's D1MigrationSourceMeta. */
export interface D1SourceMeta {
  statementCount: number;
  fingerprint: string;
  estimatedApplyOrder: number[];
}

/** The contract's D1MigrationPreviewResponse. */
export interface D1MigrationPreviewResponse {
  status: string;
  originalSql: string;
  convertedSql: string;
  statements: D1PlanEntry[];
  warnings: D1Diagnostic[];
  errors: D1Diagnostic[];
  sourceMeta: D1SourceMeta;
}

/** The contract's D1MigrationAppliedStatementResult. */
export interface D1AppliedStatementResult {
  statementIndex: number;
  sourceSql: string;
  targetSql: string;
  batchIndex: number;
  rowsAffected?: number | null;
  durationMs?: number | null;
  status: string;
}

/** The contract's D1MigrationExecutionResponse. */
export interface D1MigrationExecutionResponse {
  status: string;
  originalSql: string;
  planId?: string | null;
  convertedSql: string;
  perStatementResults: D1AppliedStatementResult[];
  warnings: D1Diagnostic[];
  errors: D1Diagnostic[];
}

/** One SQLite statement of the plan, in apply order. */
export interface D1PlannedStatement {
  statementIndex: number;
  sourceSql: string;
  targetSql: string;
}

/** A whole conversion: the preview body plus the planned statements in apply order. */
export interface D1Conversion {
  preview: D1MigrationPreviewResponse;
  planned: D1PlannedStatement[];
  /** True when strict mode refuses the plan (errors present). */
  rejected: boolean;
}

// ---------------------------------------------------------------------------------------------- request

function invalidRequest(message: string): never {
  throw new SqlRejectedError('INVALID_D1_MIGRATION_REQUEST', message);
}

/** Reads one field under either spelling; both given with different values is a 400. */
function either(body: Record<string, unknown>, camel: string, snake: string): unknown {
  const a = body[camel];
  const b = body[snake];
  if (a !== undefined && b !== undefined && JSON.stringify(a) !== JSON.stringify(b)) {
    invalidRequest(`${camel} and ${snake} disagree; send one`);
  }
  return a ?? b;
}

/** Normalises a D1MigrationRequest body (camelCase or snake_case); throws a 400 SqlRejectedError. */
export function parseD1MigrationRequest(body: unknown): D1MigrationRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    invalidRequest('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const driver = b.driver;
  if (driver !== 'd1' && driver !== 'cloudflare-d1' && driver !== 'athena-d1') {
    invalidRequest('Invalid driver: use d1, cloudflare-d1 or athena-d1');
  }
  const dbName = either(b, 'dbName', 'db_name');
  if (typeof dbName !== 'string' || dbName.trim() === '') invalidRequest('dbName is required');
  const dialect = b.dialect ?? 'postgresql';
  if (dialect !== 'postgresql') invalidRequest('Invalid dialect: only postgresql is supported');
  const flag = (camel: string, snake: string, fallback: boolean): boolean => {
    const v = either(b, camel, snake);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') invalidRequest(`${camel} must be a boolean`);
    return v;
  };
  const batch = either(b, 'batchSize', 'batch_size');
  if (batch !== undefined && batch !== null && !(Number.isSafeInteger(batch) && (batch as number) >= 1)) {
    invalidRequest('batchSize must be an integer of at least 1');
  }
  const texts = (v: unknown, name: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
      invalidRequest(`${name} must be an array of strings`);
    return (v as string[]).filter((s) => s.trim() !== '');
  };
  const schemaSql = either(b, 'schemaSql', 'schema_sql');
  if (schemaSql !== undefined && schemaSql !== null && typeof schemaSql !== 'string')
    invalidRequest('schemaSql must be a string');
  const statements = texts(b.statements, 'statements');
  const files = texts(b.files, 'files');
  const sources =
    typeof schemaSql === 'string' && schemaSql.trim() !== '' ? [schemaSql] : statements.length > 0 ? statements : files;
  if (sources.length === 0) invalidRequest('schemaSql (or statements, or files) is required');
  return {
    driver: 'cloudflare-d1',
    dbName: dbName.trim(),
    sources,
    dialect: 'postgresql',
    dryRun: flag('dryRun', 'dry_run', true),
    strict: flag('strict', 'strict', true),
    batchSize: (batch as number | null | undefined) ?? null,
  };
}

// ---------------------------------------------------------------------------------------------- conversion

interface Note {
  code: string;
  message: string;
}

/** Whether a diagnostic code is an error in strict mode: what is skipped or loses meaning. */
export function isStrictError(code: string): boolean {
  return code.startsWith('unsupported.') || code === 'type.unsupported';
}

/** Types created earlier in the script. */
interface ScriptTypes {
  enums: Map<string, string[]>;
  domains: Map<string, TypeNameInfo>;
  composites: Set<string>;
}

/** A CREATE TABLE being built; constraints from later ALTER TABLE … ADD CONSTRAINT merge into it. */
interface TableBuild {
  name: string;
  statementIndex: number;
  columns: { name: string; sql: string; autoincrement: boolean }[];
  constraints: string[];
  ifNotExists: boolean;
  references: Set<string>;
}

/** What one source statement became. */
interface Converted {
  action: 'converted' | 'skipped';
  /** SQLite statements (empty when skipped or merged). */
  target: string[];
  notes: Note[];
  /** Apply phase: drops, tables, alters, indexes, views, data. */
  phase: number;
  table?: TableBuild;
}

const phase = { drop: 0, table: 1, alter: 2, index: 3, view: 4, data: 5 } as const;

const unsupportedCodes: Record<string, string> = {
  CreateExtensionStmt: 'unsupported.extension',
  AlterExtensionStmt: 'unsupported.extension',
  CreatePublicationStmt: 'unsupported.publication',
  AlterPublicationStmt: 'unsupported.publication',
  CreateRoleStmt: 'unsupported.role',
  AlterRoleStmt: 'unsupported.role',
  DropRoleStmt: 'unsupported.role',
  GrantRoleStmt: 'unsupported.role',
  CreateEventTrigStmt: 'unsupported.event_trigger',
  CopyStmt: 'unsupported.copy',
  ListenStmt: 'unsupported.listen',
  UnlistenStmt: 'unsupported.listen',
  NotifyStmt: 'unsupported.notify',
  CreateSeqStmt: 'unsupported.sequence',
  AlterSeqStmt: 'unsupported.sequence',
  CreateFunctionStmt: 'unsupported.function',
  CreateTrigStmt: 'unsupported.trigger',
  TransactionStmt: 'unsupported.transaction',
  VariableSetStmt: 'unsupported.set',
  GrantStmt: 'unsupported.grant',
  CommentStmt: 'unsupported.comment',
  CreateSchemaStmt: 'unsupported.schema',
  CreatePolicyStmt: 'unsupported.policy',
  DoStmt: 'unsupported.do',
};

function unsupportedCode(nodeType: string): string {
  return (
    unsupportedCodes[nodeType] ??
    `unsupported.${nodeType
      .replace(/Stmt$/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()}`
  );
}

const integerTypes = new Set(['int2', 'int4', 'int8', 'smallint', 'integer', 'bigint', 'oid']);
const serialTypes = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);
const textTypes = new Set(['text', 'varchar', 'bpchar', 'char', 'name', 'citext']);
const temporalTypes = new Set(['date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval']);
const textLikeTypes = new Set(['inet', 'cidr', 'macaddr', 'macaddr8', 'xml', 'bit', 'varbit']);
const noEquivalentTypes = new Set([
  'tsvector',
  'tsquery',
  'point',
  'line',
  'lseg',
  'box',
  'path',
  'polygon',
  'circle',
  'int4range',
  'int8range',
  'numrange',
  'tsrange',
  'tstzrange',
  'daterange',
  'int4multirange',
  'int8multirange',
  'nummultirange',
  'tsmultirange',
  'tstzmultirange',
  'datemultirange',
  'pg_lsn',
  'txid_snapshot',
  'pg_snapshot',
  'regclass',
  'regtype',
  'regproc',
]);

interface MappedType {
  sqlite: 'INTEGER' | 'REAL' | 'TEXT' | 'BLOB';
  serial: boolean;
  notes: Note[];
  /** For a script enum: its labels (a CHECK keeps the values closed). */
  enumLabels?: string[];
}

/** The SQLite type for a Postgres TypeName (the conversion table of the contract). */
function mapType(info: TypeNameInfo, where: string, types: ScriptTypes, depth = 0): MappedType {
  const name = info.baseName;
  const builtin = info.schema === null || info.schema === 'pg_catalog';
  const plain = (sqlite: MappedType['sqlite'], notes: Note[] = []): MappedType => ({ sqlite, serial: false, notes });
  if (info.arrayDimensions > 0) {
    return plain('TEXT', [{ code: 'type.array', message: `${where}: array type became TEXT (store JSON text)` }]);
  }
  if (builtin && serialTypes.has(name) && info.schema === null) {
    return { sqlite: 'INTEGER', serial: true, notes: [] };
  }
  const scriptName = name;
  if (!builtin || types.enums.has(scriptName) || types.domains.has(scriptName) || types.composites.has(scriptName)) {
    const labels = types.enums.get(scriptName);
    if (labels) {
      return {
        sqlite: 'TEXT',
        serial: false,
        enumLabels: labels,
        notes: [
          { code: 'type.custom', message: `${where}: enum ${scriptName} became TEXT with a CHECK on its labels` },
        ],
      };
    }
    const domain = types.domains.get(scriptName);
    if (domain && depth < 8) {
      const base = mapType(domain, where, types, depth + 1);
      return {
        ...base,
        serial: false,
        notes: [
          {
            code: 'type.custom',
            message: `${where}: domain ${scriptName} became its base type ${base.sqlite} (domain checks are not kept)`,
          },
          ...base.notes,
        ],
      };
    }
    if (builtin && !types.composites.has(scriptName) && !isKnownBuiltin(name)) {
      return plain('TEXT', [{ code: 'type.custom', message: `${where}: type ${scriptName} became TEXT` }]);
    }
    if (!builtin || types.composites.has(scriptName)) {
      return plain('TEXT', [{ code: 'type.custom', message: `${where}: type ${info.names.join('.')} became TEXT` }]);
    }
  }
  if (integerTypes.has(name)) return plain('INTEGER');
  if (name === 'bool') return plain('INTEGER');
  if (name === 'float4' || name === 'float8') return plain('REAL');
  if (name === 'numeric' || name === 'decimal' || name === 'money') {
    return plain('REAL', [
      { code: 'type.numeric', message: `${where}: ${name} became REAL (binary floating point, not exact decimal)` },
    ]);
  }
  if (textTypes.has(name)) return plain('TEXT');
  if (name === 'uuid') return plain('TEXT', [{ code: 'type.uuid', message: `${where}: uuid became TEXT` }]);
  if (name === 'json' || name === 'jsonb')
    return plain('TEXT', [
      { code: 'type.json', message: `${where}: ${name} became TEXT (SQLite's JSON functions read it)` },
    ]);
  if (temporalTypes.has(name))
    return plain('TEXT', [{ code: 'type.time', message: `${where}: ${name} became TEXT (ISO-8601)` }]);
  if (name === 'bytea') return plain('BLOB');
  if (textLikeTypes.has(name))
    return plain('TEXT', [{ code: 'type.custom', message: `${where}: ${name} became TEXT (no validation)` }]);
  if (noEquivalentTypes.has(name)) {
    return plain('TEXT', [
      {
        code: 'type.unsupported',
        message: `${where}: ${name} has no SQLite equivalent (stored as TEXT, operators lost)`,
      },
    ]);
  }
  return plain('TEXT', [{ code: 'type.custom', message: `${where}: type ${name} became TEXT` }]);
}

function isKnownBuiltin(name: string): boolean {
  return (
    integerTypes.has(name) ||
    serialTypes.has(name) ||
    textTypes.has(name) ||
    temporalTypes.has(name) ||
    textLikeTypes.has(name) ||
    noEquivalentTypes.has(name) ||
    ['bool', 'float4', 'float8', 'numeric', 'decimal', 'money', 'uuid', 'json', 'jsonb', 'bytea'].includes(name)
  );
}

/** A relation name for SQLite: D1 has one schema, so `public.` is dropped silently and other schemas with a note. */
function relationName(rel: PgFields | undefined, notes: Note[]): string {
  const schema = rel?.schemaname as string | undefined;
  const name = String(rel?.relname ?? '');
  if (schema && schema !== 'public')
    notes.push({
      code: 'unsupported.schema',
      message: `schema ${schema} dropped: D1 has a single schema, ${schema}.${name} became ${name}`,
    });
  return name;
}

function fkActions(c: PgFields): string {
  const actions: Record<string, string> = { r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };
  let sql = '';
  const del = actions[String(c.fk_del_action)];
  const upd = actions[String(c.fk_upd_action)];
  if (del) sql += ` ON DELETE ${del}`;
  if (upd) sql += ` ON UPDATE ${upd}`;
  if (c.deferrable) sql += ` DEFERRABLE${c.initdeferred ? ' INITIALLY DEFERRED' : ''}`;
  return sql;
}

function references(c: PgFields, notes: Note[], build: { references: Set<string> }): string {
  const table = relationName(c.pktable as PgFields, notes);
  build.references.add(table);
  const cols = nameList(c.pk_attrs);
  if (c.fk_matchtype === 'f')
    notes.push({
      code: 'ddl.foreign_key',
      message: `MATCH FULL on the reference to ${table} was dropped (SQLite ignores MATCH)`,
    });
  return `REFERENCES ${quoteIdent(table)}${cols.length ? ` (${cols.map(quoteIdent).join(', ')})` : ''}${fkActions(c)}`;
}

/** Prints an expression, or notes why it was dropped and returns undefined. */
function tryExpr(value: unknown, notes: Note[], what: string): string | undefined {
  const ctx: PrintContext = { notes: [] };
  try {
    const sql = printExpr(value, ctx);
    notes.push(...ctx.notes);
    return sql;
  } catch (err) {
    if (err instanceof Unconvertible) {
      notes.push({ code: err.code, message: `${what} dropped: ${err.message}` });
      return undefined;
    }
    throw err;
  }
}

function isNextval(value: unknown): boolean {
  const n = nodeOf(value);
  return n?.type === 'FuncCall' && nameList(n.fields.funcname).at(-1) === 'nextval';
}

/** A table-level constraint (from CREATE TABLE or ALTER TABLE … ADD CONSTRAINT), or undefined when dropped. */
function tableConstraint(c: PgFields, table: TableBuild, notes: Note[]): string | undefined {
  const name = c.conname ? `CONSTRAINT ${quoteIdent(String(c.conname))} ` : '';
  const keys = nameList(c.keys);
  switch (c.contype) {
    case 'CONSTR_PRIMARY': {
      // A single serial/identity key is already `INTEGER PRIMARY KEY AUTOINCREMENT` on its column.
      if (keys.length === 1 && table.columns.some((col) => col.name === keys[0] && col.autoincrement)) return undefined;
      return `${name}PRIMARY KEY (${keys.map(quoteIdent).join(', ')})`;
    }
    case 'CONSTR_UNIQUE':
      if (c.nulls_not_distinct)
        notes.push({
          code: 'unsupported.nulls_not_distinct',
          message: 'UNIQUE NULLS NOT DISTINCT became a plain UNIQUE',
        });
      return `${name}UNIQUE (${keys.map(quoteIdent).join(', ')})`;
    case 'CONSTR_CHECK': {
      const expr = tryExpr(c.raw_expr, notes, 'CHECK constraint');
      return expr === undefined ? undefined : `${name}CHECK (${expr})`;
    }
    case 'CONSTR_FOREIGN': {
      const cols = nameList(c.fk_attrs);
      return `${name}FOREIGN KEY (${cols.map(quoteIdent).join(', ')}) ${references(c, notes, table)}`;
    }
    case 'CONSTR_EXCLUSION':
      notes.push({
        code: 'unsupported.exclusion_constraint',
        message: 'EXCLUDE constraints have no SQLite equivalent and were dropped',
      });
      return undefined;
    default:
      notes.push({ code: 'unsupported.constraint', message: `${String(c.contype)} was dropped` });
      return undefined;
  }
}

/** One column definition for SQLite. */
function columnDef(
  def: PgFields,
  table: TableBuild,
  types: ScriptTypes,
  notes: Note[],
  primaryKey: string[],
): { name: string; sql: string; autoincrement: boolean } {
  const name = String(def.colname);
  const where = `column ${table.name}.${name}`;
  const info = typeNameInfo((def.typeName ?? {}) as PgFields);
  const mapped = mapType(info, where, types);
  notes.push(...mapped.notes);
  const constraints = ((def.constraints ?? []) as unknown[]).map((c) => nodeOf(c)?.fields ?? {});
  const identity = constraints.find((c) => c.contype === 'CONSTR_IDENTITY');
  const columnPk = constraints.some((c) => c.contype === 'CONSTR_PRIMARY');
  const isPk = columnPk || (primaryKey.length === 1 && primaryKey[0] === name);
  const sequence = mapped.serial || identity !== undefined;
  let sql = `${quoteIdent(name)} ${sequence ? 'INTEGER' : mapped.sqlite}`;
  let autoincrement = false;
  if (sequence) {
    const code = identity ? 'ddl.identity' : 'type.serial';
    const what = identity ? 'GENERATED AS IDENTITY' : info.baseName;
    if (isPk) {
      autoincrement = true;
      sql += ' PRIMARY KEY AUTOINCREMENT';
      notes.push({ code, message: `${where}: ${what} became INTEGER PRIMARY KEY AUTOINCREMENT` });
    } else {
      notes.push({
        code,
        message: `${where}: ${what} became INTEGER; SQLite only generates values for an INTEGER PRIMARY KEY, so inserts must supply it`,
      });
    }
  } else if (columnPk) {
    sql += ' PRIMARY KEY';
  }
  for (const c of constraints) {
    switch (c.contype) {
      case 'CONSTR_NOTNULL':
        sql += ' NOT NULL';
        break;
      case 'CONSTR_NULL':
      case 'CONSTR_IDENTITY':
      case 'CONSTR_PRIMARY':
        break;
      case 'CONSTR_UNIQUE':
        sql += ' UNIQUE';
        break;
      case 'CONSTR_DEFAULT': {
        if (sequence && isNextval(c.raw_expr)) break;
        if (isNextval(c.raw_expr)) {
          notes.push({
            code: 'unsupported.sequence',
            message: `${where}: DEFAULT nextval(...) dropped (D1 has no sequences)`,
          });
          break;
        }
        const expr = tryExpr(c.raw_expr, notes, `${where} DEFAULT`);
        if (expr !== undefined) sql += ` DEFAULT (${expr})`;
        break;
      }
      case 'CONSTR_CHECK': {
        const expr = tryExpr(c.raw_expr, notes, `${where} CHECK`);
        if (expr !== undefined) sql += ` CHECK (${expr})`;
        break;
      }
      case 'CONSTR_FOREIGN':
        sql += ` ${references(c, notes, table)}`;
        break;
      case 'CONSTR_GENERATED': {
        const expr = tryExpr(c.raw_expr, notes, `${where} GENERATED`);
        if (expr !== undefined) sql += ` GENERATED ALWAYS AS (${expr}) STORED`;
        break;
      }
      default:
        notes.push({ code: 'unsupported.constraint', message: `${where}: ${String(c.contype)} dropped` });
    }
  }
  if (mapped.enumLabels) sql += ` CHECK (${quoteIdent(name)} IN (${mapped.enumLabels.map(quoteLiteral).join(', ')}))`;
  if (def.collClause) notes.push({ code: 'unsupported.collation', message: `${where}: COLLATE dropped` });
  return { name, sql, autoincrement };
}

function printTable(t: TableBuild): string {
  const body = [...t.columns.map((c) => c.sql), ...t.constraints].map((line) => `  ${line}`).join(',\n');
  return `CREATE TABLE ${t.ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteIdent(t.name)} (\n${body}\n)`;
}

function convertCreateTable(s: PgFields, statementIndex: number, types: ScriptTypes): Converted {
  const notes: Note[] = [];
  if (s.partspec || s.partbound) {
    return {
      action: 'skipped',
      target: [],
      phase: phase.table,
      notes: [
        {
          code: 'unsupported.partitioning',
          message: 'partitioned tables and partitions have no D1 equivalent; the statement was skipped',
        },
      ],
    };
  }
  if (s.ofTypename)
    return {
      action: 'skipped',
      target: [],
      phase: phase.table,
      notes: [{ code: 'unsupported.typed_table', message: 'CREATE TABLE … OF type was skipped' }],
    };
  const table: TableBuild = {
    name: relationName(s.relation, notes),
    statementIndex,
    columns: [],
    constraints: [],
    ifNotExists: Boolean(s.if_not_exists),
    references: new Set(),
  };
  if (s.inhRelations?.length)
    notes.push({
      code: 'unsupported.inheritance',
      message: 'INHERITS dropped: only the columns declared here are created',
    });
  if (s.relation?.relpersistence === 't')
    notes.push({ code: 'unsupported.temporary', message: 'TEMPORARY dropped: D1 creates a regular table' });
  const elements = ((s.tableElts ?? []) as unknown[]).map((e) => nodeOf(e)).filter((e) => e !== undefined);
  const primaryKey = elements
    .filter((e) => e.type === 'Constraint' && e.fields.contype === 'CONSTR_PRIMARY')
    .flatMap((e) => nameList(e.fields.keys));
  for (const e of elements) {
    if (e.type === 'ColumnDef') table.columns.push(columnDef(e.fields, table, types, notes, primaryKey));
    else if (e.type === 'TableLikeClause')
      notes.push({ code: 'unsupported.like', message: 'CREATE TABLE … (LIKE …) dropped its LIKE clause' });
  }
  for (const e of elements) {
    if (e.type !== 'Constraint') continue;
    const c = tableConstraint(e.fields, table, notes);
    if (c) table.constraints.push(c);
  }
  if (table.columns.length === 0) {
    notes.push({
      code: 'unsupported.empty_table',
      message: `table ${table.name} has no columns of its own; SQLite needs one`,
    });
    return { action: 'skipped', target: [], phase: phase.table, notes };
  }
  return { action: 'converted', target: [], phase: phase.table, notes, table };
}

function indexElem(elem: PgFields, notes: Note[]): string | undefined {
  let key: string | undefined;
  if (elem.name !== undefined) key = quoteIdent(String(elem.name));
  else {
    const expr = tryExpr(elem.expr, notes, 'index expression');
    if (expr === undefined) return undefined;
    key = `(${expr})`;
  }
  if (elem.opclass?.length) notes.push({ code: 'ddl.index', message: 'operator class dropped' });
  if (elem.collation?.length) notes.push({ code: 'ddl.index', message: 'index collation dropped' });
  if (elem.nulls_ordering && elem.nulls_ordering !== 'SORTBY_NULLS_DEFAULT')
    notes.push({ code: 'ddl.index', message: 'NULLS FIRST/LAST dropped from the index' });
  const dir = elem.ordering === 'SORTBY_DESC' ? ' DESC' : elem.ordering === 'SORTBY_ASC' ? ' ASC' : '';
  return `${key}${dir}`;
}

/** Cuts a name to at most `max` UTF-8 bytes without splitting a character (Postgres' NAMEDATALEN rule). */
function truncateBytes(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch, 'utf8') > max) break;
    out += ch;
  }
  return out;
}

function convertIndex(s: PgFields): Converted {
  const notes: Note[] = [];
  const table = relationName(s.relation, notes);
  if (s.concurrent) notes.push({ code: 'ddl.index', message: 'CONCURRENTLY removed' });
  if (s.accessMethod && s.accessMethod !== 'btree')
    notes.push({ code: 'ddl.index', message: `USING ${String(s.accessMethod)} dropped (SQLite indexes are B-trees)` });
  if (s.indexIncludingParams?.length) notes.push({ code: 'ddl.index', message: 'INCLUDE columns dropped' });
  if (s.nulls_not_distinct)
    notes.push({ code: 'unsupported.nulls_not_distinct', message: 'NULLS NOT DISTINCT dropped' });
  const keys: string[] = [];
  const names: string[] = [];
  for (const p of (s.indexParams ?? []) as unknown[]) {
    const elem = nodeOf(p)?.fields ?? {};
    const key = indexElem(elem, notes);
    if (key === undefined) return { action: 'skipped', target: [], phase: phase.index, notes };
    keys.push(key);
    names.push(elem.name !== undefined ? String(elem.name) : 'expr');
  }
  let where = '';
  if (s.whereClause) {
    const pred = tryExpr(s.whereClause, notes, 'index predicate');
    if (pred === undefined) return { action: 'skipped', target: [], phase: phase.index, notes };
    where = ` WHERE ${pred}`;
  }
  const name = s.idxname ? String(s.idxname) : truncateBytes(`${table}_${names.join('_')}_idx`, 63);
  const sql = `CREATE ${s.unique ? 'UNIQUE ' : ''}INDEX ${s.if_not_exists ? 'IF NOT EXISTS ' : ''}${quoteIdent(name)} ON ${quoteIdent(table)} (${keys.join(', ')})${where}`;
  return { action: 'converted', target: [sql], phase: phase.index, notes };
}

function convertAlterTable(s: PgFields, tables: Map<string, TableBuild>, types: ScriptTypes): Converted {
  const notes: Note[] = [];
  const tableName = relationName(s.relation, notes);
  if (s.objtype && s.objtype !== 'OBJECT_TABLE') {
    return {
      action: 'skipped',
      target: [],
      phase: phase.alter,
      notes: [{ code: 'unsupported.alter', message: `ALTER ${String(s.objtype).replace('OBJECT_', '')} was skipped` }],
    };
  }
  const target: string[] = [];
  let merged = false;
  for (const raw of (s.cmds ?? []) as unknown[]) {
    const cmd = nodeOf(raw)?.fields ?? {};
    const def = nodeOf(cmd.def);
    switch (cmd.subtype) {
      case 'AT_AddColumn': {
        if (def?.type !== 'ColumnDef') break;
        // SQLite's ADD COLUMN cannot add a key: read that from the column's constraint nodes.
        const keyed = ((def.fields.constraints ?? []) as unknown[]).some((c) => {
          const type = nodeOf(c)?.fields.contype;
          return type === 'CONSTR_PRIMARY' || type === 'CONSTR_UNIQUE' || type === 'CONSTR_IDENTITY';
        });
        if (keyed || serialTypes.has(typeNameInfo((def.fields.typeName ?? {}) as PgFields).baseName)) {
          notes.push({
            code: 'unsupported.alter_table',
            message: `ADD COLUMN ${String(def.fields.colname)} with PRIMARY KEY, UNIQUE, IDENTITY or serial is not allowed by SQLite; skipped`,
          });
          break;
        }
        const scratch: TableBuild = {
          name: tableName,
          statementIndex: -1,
          columns: [],
          constraints: [],
          ifNotExists: false,
          references: new Set(),
        };
        const col = columnDef(def.fields, scratch, types, notes, []);
        target.push(`ALTER TABLE ${quoteIdent(tableName)} ADD COLUMN ${col.sql}`);
        break;
      }
      case 'AT_DropColumn':
        target.push(`ALTER TABLE ${quoteIdent(tableName)} DROP COLUMN ${quoteIdent(String(cmd.name))}`);
        break;
      case 'AT_AddConstraint': {
        const build = tables.get(tableName);
        if (def?.type !== 'Constraint') break;
        if (!build) {
          notes.push({
            code: 'unsupported.alter_table',
            message: `ADD CONSTRAINT on ${tableName}, a table not created in this script: SQLite cannot add constraints to an existing table`,
          });
          break;
        }
        const c = tableConstraint(def.fields, build, notes);
        if (c) build.constraints.push(c);
        merged = true;
        const code = def.fields.contype === 'CONSTR_FOREIGN' ? 'ddl.foreign_key' : 'ddl.constraint';
        notes.push({
          code,
          message: `constraint merged into CREATE TABLE ${tableName} (SQLite cannot add constraints later)`,
        });
        break;
      }
      default:
        notes.push({
          code: 'unsupported.alter_table',
          message: `ALTER TABLE ${String(cmd.subtype).replace('AT_', '')} has no SQLite equivalent; skipped`,
        });
    }
  }
  if (target.length === 0 && !merged) return { action: 'skipped', target, phase: phase.alter, notes };
  return { action: 'converted', target, phase: phase.alter, notes };
}

function convertRename(s: PgFields): Converted {
  const notes: Note[] = [];
  if (s.renameType === 'OBJECT_TABLE') {
    const from = relationName(s.relation, notes);
    return {
      action: 'converted',
      target: [`ALTER TABLE ${quoteIdent(from)} RENAME TO ${quoteIdent(String(s.newname))}`],
      phase: phase.alter,
      notes,
    };
  }
  if (s.renameType === 'OBJECT_COLUMN' && s.relationType === 'OBJECT_TABLE') {
    const table = relationName(s.relation, notes);
    return {
      action: 'converted',
      target: [
        `ALTER TABLE ${quoteIdent(table)} RENAME COLUMN ${quoteIdent(String(s.subname))} TO ${quoteIdent(String(s.newname))}`,
      ],
      phase: phase.alter,
      notes,
    };
  }
  return {
    action: 'skipped',
    target: [],
    phase: phase.alter,
    notes: [
      {
        code: 'unsupported.rename',
        message: `renaming ${String(s.renameType).replace('OBJECT_', '').toLowerCase()} has no SQLite equivalent`,
      },
    ],
  };
}

function convertDrop(s: PgFields): Converted {
  const kinds: Record<string, string> = { OBJECT_TABLE: 'TABLE', OBJECT_INDEX: 'INDEX', OBJECT_VIEW: 'VIEW' };
  const kind = kinds[String(s.removeType)];
  const notes: Note[] = [];
  if (!kind) {
    if (s.removeType === 'OBJECT_TYPE' || s.removeType === 'OBJECT_DOMAIN') {
      return {
        action: 'skipped',
        target: [],
        phase: phase.drop,
        notes: [{ code: 'type.custom', message: 'DROP TYPE/DOMAIN skipped: D1 has no types (columns are TEXT)' }],
      };
    }
    return {
      action: 'skipped',
      target: [],
      phase: phase.drop,
      notes: [
        {
          code: 'unsupported.drop',
          message: `DROP ${String(s.removeType).replace('OBJECT_', '')} has no D1 equivalent; skipped`,
        },
      ],
    };
  }
  if (s.behavior === 'DROP_CASCADE')
    notes.push({ code: 'unsupported.cascade', message: 'CASCADE dropped: SQLite drops only the named object' });
  if (s.concurrent) notes.push({ code: 'ddl.index', message: 'CONCURRENTLY removed' });
  const target = ((s.objects ?? []) as unknown[]).map((o) => {
    const parts = nameList(nodeOf(o)?.fields.items);
    const name = parts.at(-1) ?? '';
    if (parts.length > 1 && parts[0] !== 'public')
      notes.push({ code: 'unsupported.schema', message: `schema ${parts[0]} dropped from ${parts.join('.')}` });
    return `DROP ${kind} ${s.missing_ok ? 'IF EXISTS ' : ''}${quoteIdent(name)}`;
  });
  return { action: 'converted', target, phase: phase.drop, notes };
}

function convertView(s: PgFields): Converted {
  const notes: Note[] = [];
  const name = relationName(s.view, notes);
  if (s.replace) notes.push({ code: 'ddl.view', message: 'OR REPLACE became DROP VIEW IF EXISTS + CREATE VIEW' });
  const ctx: PrintContext = { notes: [] };
  try {
    const select = printSelect(((s.query as PgFields).SelectStmt ?? {}) as PgFields, ctx);
    notes.push(...ctx.notes);
    const aliases = nameList(s.aliases);
    const cols = aliases.length ? ` (${aliases.map(quoteIdent).join(', ')})` : '';
    const target = [
      ...(s.replace ? [`DROP VIEW IF EXISTS ${quoteIdent(name)}`] : []),
      `CREATE VIEW ${quoteIdent(name)}${cols} AS ${select}`,
    ];
    return { action: 'converted', target, phase: phase.view, notes };
  } catch (err) {
    if (!(err instanceof Unconvertible)) throw err;
    return {
      action: 'skipped',
      target: [],
      phase: phase.view,
      notes: [...notes, { code: err.code, message: `view ${name} skipped: ${err.message}` }],
    };
  }
}

function convertInsert(s: PgFields): Converted {
  const notes: Note[] = [];
  const table = relationName(s.relation, notes);
  const ctx: PrintContext = { notes: [] };
  try {
    if (s.withClause) throw new Unconvertible('unsupported.cte', 'WITH is not converted');
    const cols = ((s.cols ?? []) as unknown[]).map((c) => quoteIdent(String(nodeOf(c)?.fields.name)));
    const select = ((s.selectStmt as PgFields | undefined)?.SelectStmt ?? {}) as PgFields;
    const rows = (select.valuesLists ?? []) as unknown[];
    for (const row of rows) {
      for (const v of (nodeOf(row)?.fields.items ?? []) as unknown[]) {
        if (nodeOf(v)?.type === 'SetToDefault')
          throw new Unconvertible('unsupported.insert_default', 'DEFAULT inside VALUES has no SQLite equivalent');
      }
    }
    const source = s.selectStmt ? printSelect(select, ctx) : 'DEFAULT VALUES';
    let sql = `INSERT INTO ${quoteIdent(table)}${cols.length ? ` (${cols.join(', ')})` : ''} ${source}`;
    const conflict = s.onConflictClause as PgFields | undefined;
    if (conflict) {
      const infer = ((conflict.infer as PgFields | undefined)?.indexElems ?? []) as unknown[];
      const target = infer.length
        ? ` (${infer.map((e) => quoteIdent(String(nodeOf(e)?.fields.name))).join(', ')})`
        : '';
      if (conflict.action === 'ONCONFLICT_NOTHING') sql += ` ON CONFLICT${target} DO NOTHING`;
      else {
        const sets = ((conflict.targetList ?? []) as unknown[]).map((t) => {
          const rt = nodeOf(t)?.fields ?? {};
          return `${quoteIdent(String(rt.name))} = ${printExpr(rt.val, ctx)}`;
        });
        const where = conflict.whereClause ? ` WHERE ${printExpr(conflict.whereClause, ctx)}` : '';
        sql += ` ON CONFLICT${target} DO UPDATE SET ${sets.join(', ')}${where}`;
      }
    }
    if (s.returningClause)
      notes.push({ code: 'ddl.returning', message: 'RETURNING dropped (a migration reads no rows)' });
    notes.push(...ctx.notes);
    return { action: 'converted', target: [sql], phase: phase.data, notes };
  } catch (err) {
    if (!(err instanceof Unconvertible)) throw err;
    return {
      action: 'skipped',
      target: [],
      phase: phase.data,
      notes: [...notes, { code: err.code, message: `INSERT into ${table} skipped: ${err.message}` }],
    };
  }
}

function convertUpdateDelete(nodeType: string, s: PgFields): Converted {
  const notes: Note[] = [];
  const table = relationName(s.relation, notes);
  const ctx: PrintContext = { notes: [] };
  try {
    if (s.withClause || s.fromClause?.length || s.usingClause?.length)
      throw new Unconvertible('unsupported.dml', 'WITH, FROM and USING are not converted');
    const where = s.whereClause ? ` WHERE ${printExpr(s.whereClause, ctx)}` : '';
    let sql: string;
    if (nodeType === 'UpdateStmt') {
      const sets = ((s.targetList ?? []) as unknown[]).map((t) => {
        const rt = nodeOf(t)?.fields ?? {};
        return `${quoteIdent(String(rt.name))} = ${printExpr(rt.val, ctx)}`;
      });
      sql = `UPDATE ${quoteIdent(table)} SET ${sets.join(', ')}${where}`;
    } else sql = `DELETE FROM ${quoteIdent(table)}${where}`;
    notes.push(...ctx.notes);
    return { action: 'converted', target: [sql], phase: phase.data, notes };
  } catch (err) {
    if (!(err instanceof Unconvertible)) throw err;
    return {
      action: 'skipped',
      target: [],
      phase: phase.data,
      notes: [...notes, { code: err.code, message: `statement skipped: ${err.message}` }],
    };
  }
}

function convertStatement(s: ParsedStatement, tables: Map<string, TableBuild>, types: ScriptTypes): Converted {
  const f = s.fields;
  switch (s.nodeType) {
    case 'CreateStmt': {
      const c = convertCreateTable(f, s.index, types);
      if (c.table) tables.set(c.table.name, c.table);
      return c;
    }
    case 'IndexStmt':
      return convertIndex(f);
    case 'AlterTableStmt':
      return convertAlterTable(f, tables, types);
    case 'RenameStmt':
      return convertRename(f);
    case 'DropStmt':
      return convertDrop(f);
    case 'ViewStmt':
      return convertView(f);
    case 'InsertStmt':
      return convertInsert(f);
    case 'UpdateStmt':
    case 'DeleteStmt':
      return convertUpdateDelete(s.nodeType, f);
    case 'CreateEnumStmt': {
      const name = nameList(f.typeName).at(-1) ?? '';
      types.enums.set(name, nameList(f.vals));
      return {
        action: 'skipped',
        target: [],
        phase: phase.table,
        notes: [
          {
            code: 'type.custom',
            message: `enum ${name}: D1 has no types; its columns become TEXT with a CHECK on the labels`,
          },
        ],
      };
    }
    case 'CreateDomainStmt': {
      const name = nameList(f.domainname).at(-1) ?? '';
      types.domains.set(name, typeNameInfo((f.typeName ?? {}) as PgFields));
      return {
        action: 'skipped',
        target: [],
        phase: phase.table,
        notes: [{ code: 'type.custom', message: `domain ${name}: D1 has no types; its columns use the base type` }],
      };
    }
    case 'CompositeTypeStmt': {
      const name = String((f.typevar as PgFields | undefined)?.relname ?? '');
      types.composites.add(name);
      return {
        action: 'skipped',
        target: [],
        phase: phase.table,
        notes: [{ code: 'type.custom', message: `composite type ${name}: its columns become TEXT` }],
      };
    }
    default:
      return {
        action: 'skipped',
        target: [],
        phase: phase.data,
        notes: [
          {
            code: unsupportedCode(s.nodeType),
            message: `${s.nodeType.replace(/Stmt$/, '')} has no D1 equivalent; the statement was skipped`,
          },
        ],
      };
  }
}

// ---------------------------------------------------------------------------------------------- plan

/** Statement texts and 1-based ranges over the original SQL (leading whitespace excluded). */
function rangeOf(sql: string, s: ParsedStatement): D1SourceRange {
  const bytes = Buffer.from(sql, 'utf8');
  const raw = bytes.subarray(s.startByte, s.endByte).toString('utf8');
  const lead = raw.length - raw.trimStart().length;
  const before = bytes.subarray(0, s.startByte).toString('utf8') + raw.slice(0, lead);
  const text = raw.trim();
  const pos = (prefix: string) => {
    const lines = prefix.split('\n');
    return { line: lines.length, column: [...(lines.at(-1) ?? '')].length + 1 };
  };
  const start = pos(before);
  const end = pos(before + text.slice(0, Math.max(0, text.length - 1)));
  return {
    statementIndex: s.index,
    startLine: start.line,
    startColumn: start.column,
    endLine: end.line,
    endColumn: end.column,
  };
}

/** Removes locations so the fingerprint ignores formatting and comments. */
function withoutLocations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLocations);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (
      k === 'location' ||
      k === 'stmt_location' ||
      k === 'stmt_len' ||
      k.endsWith('_list_start') ||
      k.endsWith('_list_end')
    )
      continue;
    out[k] = withoutLocations(v);
  }
  return out;
}

/** sha256 over the parse trees without locations: the same schema written differently has the same fingerprint. */
export function d1Fingerprint(statements: ParsedStatement[]): string {
  const normalised = JSON.stringify(statements.map((s) => withoutLocations(s.node)));
  return `sha256:${createHash('sha256').update(normalised).digest('hex')}`;
}

/** Tables first in dependency order (referenced tables before referencing ones; cycles keep source order). */
function orderTables(entries: { index: number; table?: TableBuild }[]): number[] {
  const byName = new Map(entries.filter((e) => e.table).map((e) => [e.table?.name as string, e]));
  const done = new Set<number>();
  const visiting = new Set<number>();
  const order: number[] = [];
  const visit = (e: { index: number; table?: TableBuild }) => {
    if (done.has(e.index) || visiting.has(e.index)) return;
    visiting.add(e.index);
    for (const ref of e.table?.references ?? []) {
      const dep = byName.get(ref);
      if (dep && dep !== e) visit(dep);
    }
    visiting.delete(e.index);
    done.add(e.index);
    order.push(e.index);
  };
  for (const e of entries) visit(e);
  return order;
}

/** Joins the source texts so that each stays one unit: a text that parses alone cannot leave a quote or block comment open, and the newline ends a trailing line comment. */
async function joinSources(sources: string[]): Promise<string> {
  for (const source of sources) await parseStatements(source);
  return sources.length === 1 ? (sources[0] as string) : sources.join('\n;\n');
}

function diagnostic(note: Note, s: ParsedStatement, range: D1SourceRange): D1Diagnostic {
  return { code: note.code, message: note.message, statementIndex: s.index, sourceRange: range };
}

const emptyRange = (statementIndex: number): D1SourceRange => ({
  statementIndex,
  startLine: 1,
  endLine: 1,
  startColumn: 1,
  endColumn: 1,
});

/** Converts a PostgreSQL script into a D1 plan and the contract's preview body. */
export async function convertPostgresToD1(
  sources: string[] | string,
  options: { strict: boolean },
): Promise<D1Conversion> {
  const list = typeof sources === 'string' ? [sources] : sources;
  let originalSql = list.join('\n;\n');
  let statements: ParsedStatement[];
  try {
    originalSql = await joinSources(list);
    statements = await parseStatements(originalSql);
  } catch (err) {
    if (!(err instanceof SqlSyntaxError)) throw err;
    const range = emptyRange(0);
    if (err.line !== undefined && err.column !== undefined)
      Object.assign(range, { startLine: err.line, endLine: err.line, startColumn: err.column, endColumn: err.column });
    const error: D1Diagnostic = {
      code: 'unsupported.syntax',
      message: `PostgreSQL parser: ${err.message}`,
      statementIndex: 0,
      sourceRange: range,
    };
    return {
      planned: [],
      rejected: true,
      preview: {
        status: 'invalid',
        originalSql,
        convertedSql: '',
        statements: [],
        warnings: [],
        errors: [error],
        sourceMeta: {
          statementCount: 0,
          fingerprint: `sha256:${createHash('sha256').update(originalSql).digest('hex')}`,
          estimatedApplyOrder: [],
        },
      },
    };
  }
  const tables = new Map<string, TableBuild>();
  const types: ScriptTypes = { enums: new Map(), domains: new Map(), composites: new Set() };
  const converted = statements.map((s) => convertStatement(s, tables, types));
  // Tables are printed last: ALTER TABLE … ADD CONSTRAINT statements later in the script merge into them.
  for (const c of converted) if (c.table) c.target = [printTable(c.table)];

  const tableOrder = orderTables(converted.map((c, index) => ({ index, table: c.table })).filter((e) => e.table));
  const rank = new Map(tableOrder.map((index, i) => [index, i]));
  const applied = converted
    .map((c, index) => ({ c, index }))
    .filter(({ c }) => c.target.length > 0)
    .sort(
      (a, b) =>
        a.c.phase - b.c.phase || (rank.get(a.index) ?? a.index) - (rank.get(b.index) ?? b.index) || a.index - b.index,
    )
    .map(({ index }) => index);
  const applyPosition = new Map(applied.map((index, i) => [index, i]));

  const warnings: D1Diagnostic[] = [];
  const errors: D1Diagnostic[] = [];
  const entries: D1PlanEntry[] = statements.map((s, i) => {
    const c = converted[i] as Converted;
    const range = rangeOf(originalSql, s);
    for (const note of c.notes) {
      const d = diagnostic(note, s, range);
      if (options.strict && isStrictError(note.code)) {
        errors.push(d);
      } else warnings.push(d);
    }
    const action: D1PlanEntry['action'] =
      c.action === 'skipped' ? 'skipped' : c.notes.length > 0 ? 'warning' : 'converted';
    return {
      action,
      statementIndex: s.index,
      sourceRange: range,
      sourceSql: s.text.replace(/;\s*$/, ''),
      targetSql: c.target.join(';\n'),
      applyOrder: applyPosition.get(i) ?? -1,
    };
  });
  const planned: D1PlannedStatement[] = applied.flatMap((i) =>
    (converted[i] as Converted).target.map((targetSql) => ({
      statementIndex: i,
      sourceSql: (entries[i] as D1PlanEntry).sourceSql,
      targetSql,
    })),
  );
  const rejected = options.strict && errors.length > 0;
  return {
    planned,
    rejected,
    preview: {
      status: rejected ? 'invalid' : 'preview',
      originalSql,
      convertedSql: planned.map((p) => `${p.targetSql};`).join('\n'),
      statements: entries,
      warnings,
      errors,
      sourceMeta: {
        statementCount: statements.length,
        fingerprint: d1Fingerprint(statements),
        estimatedApplyOrder: applied,
      },
    },
  };
}

/** A 400 body in the contract's D1MigrationPreviewResponse shape (bad driver, dialect or missing client). */
export function d1RequestErrorBody(message: string, originalSql = ''): D1MigrationPreviewResponse {
  return {
    status: 'error',
    originalSql,
    convertedSql: '',
    statements: [],
    warnings: [],
    errors: [{ code: 'request.invalid', message, statementIndex: 0, sourceRange: emptyRange(0) }],
    sourceMeta: {
      statementCount: 0,
      fingerprint: `sha256:${createHash('sha256').update(originalSql).digest('hex')}`,
      estimatedApplyOrder: [],
    },
  };
}

// ---------------------------------------------------------------------------------------------- execution

/** The route's answer: status and a body in the contract's shape (the 503 body is the caller's error shape). */
export interface D1MigrationOutcome {
  httpStatus: 200 | 422 | 503;
  body: D1MigrationPreviewResponse | D1MigrationExecutionResponse;
  /** Set when D1 failed (the route answers 503 with its error body, logging this). */
  failure?: D1RequestError;
}

/** A plan id derived from the converted SQL (the same plan gets the same id). */
export function d1PlanId(conversion: D1Conversion): string {
  return `d1plan_${createHash('sha256').update(conversion.preview.convertedSql).digest('hex').slice(0, 24)}`;
}

/** Applies a conversion's planned statements through D1 and builds the contract's execution body. */
export async function applyD1Conversion(
  conversion: D1Conversion,
  executor: D1Executor,
  options: { batchSize?: number | null } = {},
): Promise<D1MigrationOutcome> {
  const outcome = await executor.executeBatches(
    conversion.planned.map((p) => p.targetSql),
    options,
  );
  const perStatementResults: D1AppliedStatementResult[] = conversion.planned.map((p, i) => {
    const r = outcome.statements[i];
    return {
      statementIndex: p.statementIndex,
      sourceSql: p.sourceSql,
      targetSql: p.targetSql,
      batchIndex: r?.batchIndex ?? 0,
      rowsAffected: r?.rowsAffected ?? null,
      durationMs: r?.durationMs ?? null,
      status: r?.status ?? 'not_run',
    };
  });
  const { preview } = conversion;
  const body: D1MigrationExecutionResponse = {
    status: outcome.failure ? 'failed' : 'applied',
    originalSql: preview.originalSql,
    planId: d1PlanId(conversion),
    convertedSql: preview.convertedSql,
    perStatementResults,
    warnings: preview.warnings,
    errors: preview.errors,
  };
  return outcome.failure ? { httpStatus: 503, body, failure: outcome.failure } : { httpStatus: 200, body };
}

/**
 * The whole `/gateway/sql/d1/migrate` behaviour after authentication: convert; in strict mode with errors answer
 * 422 with the preview; on a dry run answer the preview; else apply through `executor` (which the route builds
 * from the D1-capable X-Athena-Client; without one it answers 400 before calling this).
 */
export async function runD1Migration(request: D1MigrationRequest, executor?: D1Executor): Promise<D1MigrationOutcome> {
  const conversion = await convertPostgresToD1(request.sources, { strict: request.strict });
  if (conversion.rejected) return { httpStatus: 422, body: conversion.preview };
  if (request.dryRun) return { httpStatus: 200, body: conversion.preview };
  if (!executor)
    throw new SqlRejectedError('INVALID_D1_MIGRATION_REQUEST', 'execution needs a D1-capable X-Athena-Client');
  return applyD1Conversion(conversion, executor, { batchSize: request.batchSize });
}
