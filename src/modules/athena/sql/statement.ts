import { SqlRejectedError } from './errors.ts';
import { hasKey, nameList, type ParsedStatement, type PgFields, parseStatements, walkNodes } from './parser.ts';

/*
 * Raw SQL routes (`/gateway/query`, `/query/sql`, `/gateway/sql`; notes §3.6) take arbitrary SQL by design; the
 * containment is a single statement checked by Postgres' own parser, refusal of what would escape the route's one
 * transaction or its restricted role, and a read-only verdict taken from the AST (the route also runs
 * `SET TRANSACTION READ ONLY` when read-only is required: the verdict is what lets it refuse early with a clear
 * message, the transaction mode is what enforces it, e.g. for a SELECT calling a volatile function).
 */

/** What a statement does, by its parse node. */
export type StatementKind =
  | 'select'
  | 'insert'
  | 'update'
  | 'delete'
  | 'merge'
  | 'ddl'
  | 'explain'
  | 'show'
  | 'set'
  | 'transaction'
  | 'copy'
  | 'do'
  | 'call'
  | 'listen'
  | 'notify'
  | 'utility'
  | 'empty'
  | 'multiple';

/** The classification of a SQL text (one statement, or the aggregate of several). */
export interface StatementClassification {
  kind: StatementKind;
  /** Runs without writing: SELECT without locking/data-modifying CTE/INTO, EXPLAIN without ANALYZE of a write, SHOW, VALUES, TABLE. */
  readOnly: boolean;
  /** Changes (or, for DO and CALL, may change) the schema: the gateway's catalog cache must be refreshed, DDL webhooks fired. */
  ddl: boolean;
  statementCount: number;
  /** The parse node type (`SelectStmt`, …); for several statements their types joined by `,`. */
  nodeType: string;
  /** For the `utility`/`transaction`/`set`/… kinds, why a raw SQL route refuses it (undefined when it may run). */
  refusal?: string;
}

const ddlNodes = new Set([
  'CreateStmt',
  'CreateTableAsStmt',
  'CreateSchemaStmt',
  'CreateSeqStmt',
  'AlterSeqStmt',
  'AlterTableStmt',
  'AlterDomainStmt',
  'AlterEnumStmt',
  'AlterFunctionStmt',
  'AlterObjectSchemaStmt',
  'AlterOwnerStmt',
  'AlterTypeStmt',
  'AlterExtensionStmt',
  'AlterExtensionContentsStmt',
  'AlterPolicyStmt',
  'AlterTableMoveAllStmt',
  'AlterDefaultPrivilegesStmt',
  'IndexStmt',
  'ViewStmt',
  'CreateFunctionStmt',
  'CreateExtensionStmt',
  'CreateEnumStmt',
  'CreateDomainStmt',
  'CompositeTypeStmt',
  'CreateRangeStmt',
  'DefineStmt',
  'CreateTrigStmt',
  'CreateEventTrigStmt',
  'CreatePolicyStmt',
  'CreateCastStmt',
  'CreateOpClassStmt',
  'CreateConversionStmt',
  'CreateStatsStmt',
  'CreateForeignTableStmt',
  'CreateForeignServerStmt',
  'CreateFdwStmt',
  'CreatePublicationStmt',
  'AlterPublicationStmt',
  'CreateSubscriptionStmt',
  'AlterSubscriptionStmt',
  'RuleStmt',
  'RenameStmt',
  'DropStmt',
  'TruncateStmt',
  'CommentStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'CreateRoleStmt',
  'AlterRoleStmt',
  'DropRoleStmt',
  'RefreshMatViewStmt',
  'ReindexStmt',
  'CreatedbStmt',
  'DropdbStmt',
  'AlterDatabaseStmt',
  'CreateTableSpaceStmt',
  'DropTableSpaceStmt',
  'SecLabelStmt',
  'DropOwnedStmt',
  'ReassignOwnedStmt',
  'ImportForeignSchemaStmt',
]);

/** Statements a raw route refuses whatever the mode, with the reason shown to the caller. */
const alwaysRefused: Record<string, string> = {
  TransactionStmt:
    'transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, PREPARE TRANSACTION) is not allowed: the route runs each statement in its own transaction',
  ListenStmt: 'LISTEN is not allowed: the pooled connection would keep listening after the request',
  UnlistenStmt: 'UNLISTEN is not allowed: the route holds no listening session',
  DiscardStmt: 'DISCARD is not allowed: it resets the pooled session the route manages',
  PrepareStmt: 'PREPARE is not allowed: prepared statements would outlive the request on a pooled connection',
  ExecuteStmt: 'EXECUTE of a prepared statement is not allowed',
  DeallocateStmt: 'DEALLOCATE is not allowed',
  DeclareCursorStmt: 'cursors are not allowed: a single-statement request cannot fetch from them',
  FetchStmt: 'cursors are not allowed: a single-statement request cannot fetch from them',
  ClosePortalStmt: 'cursors are not allowed: a single-statement request cannot fetch from them',
  LoadStmt: 'LOAD is not allowed (it loads a shared library into the server)',
  AlterSystemStmt: 'ALTER SYSTEM is not allowed',
  CheckPointStmt: 'CHECKPOINT is not allowed',
  VacuumStmt: 'VACUUM and ANALYZE cannot run inside the route transaction',
  CreatedbStmt: 'CREATE DATABASE cannot run inside a transaction; use the provisioning routes',
  DropdbStmt: 'DROP DATABASE cannot run inside a transaction; use the provisioning routes',
  CreateTableSpaceStmt: 'tablespaces are not allowed',
  DropTableSpaceStmt: 'tablespaces are not allowed',
  AlterTableSpaceOptionsStmt: 'tablespaces are not allowed',
  CreateRoleStmt: 'role management is not allowed through raw SQL',
  AlterRoleStmt: 'role management is not allowed through raw SQL',
  AlterRoleSetStmt: 'role management is not allowed through raw SQL',
  DropRoleStmt: 'role management is not allowed through raw SQL',
  GrantRoleStmt: 'role membership changes are not allowed through raw SQL',
  CreateSubscriptionStmt: 'subscriptions are not allowed (they open outbound connections)',
  AlterSubscriptionStmt: 'subscriptions are not allowed (they open outbound connections)',
  CreateEventTrigStmt: 'event triggers are not allowed',
  LockStmt: 'explicit LOCK TABLE is not allowed',
  CreateExtensionStmt:
    'CREATE EXTENSION is not allowed through raw SQL; use /management/extensions/install (allow-listed)',
  AlterExtensionStmt: 'ALTER EXTENSION is not allowed through raw SQL',
  CreatePLangStmt: 'CREATE LANGUAGE is not allowed',
  CreateFdwStmt: 'foreign data wrappers are not allowed (they open outbound connections)',
  AlterFdwStmt: 'foreign data wrappers are not allowed (they open outbound connections)',
  CreateForeignServerStmt: 'foreign servers are not allowed (they open outbound connections)',
  AlterForeignServerStmt: 'foreign servers are not allowed (they open outbound connections)',
  CreateUserMappingStmt: 'user mappings are not allowed (they carry remote credentials)',
  AlterUserMappingStmt: 'user mappings are not allowed (they carry remote credentials)',
  ImportForeignSchemaStmt: 'IMPORT FOREIGN SCHEMA is not allowed (it opens outbound connections)',
  AlterDatabaseSetStmt: 'ALTER DATABASE … SET is not allowed: it changes settings for every later session',
};

/** Functions a raw statement may not call: they change the session or the role the route contains it in. */
const refusedFunctions = new Set([
  'set_config',
  'pg_reload_conf',
  'pg_terminate_backend',
  'pg_cancel_backend',
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

function kindOf(s: { nodeType: string; fields: PgFields }): StatementKind {
  switch (s.nodeType) {
    case 'SelectStmt':
      return 'select';
    case 'InsertStmt':
      return 'insert';
    case 'UpdateStmt':
      return 'update';
    case 'DeleteStmt':
      return 'delete';
    case 'MergeStmt':
      return 'merge';
    case 'ExplainStmt':
      return 'explain';
    case 'VariableShowStmt':
      return 'show';
    case 'VariableSetStmt':
      return 'set';
    case 'TransactionStmt':
      return 'transaction';
    case 'CopyStmt':
      return 'copy';
    case 'DoStmt':
      return 'do';
    case 'CallStmt':
      return 'call';
    case 'ListenStmt':
    case 'UnlistenStmt':
      return 'listen';
    case 'NotifyStmt':
      return 'notify';
    default:
      return ddlNodes.has(s.nodeType) ? 'ddl' : 'utility';
  }
}

/** A SELECT (or VALUES/TABLE) that writes nothing: no locking clause, no data-modifying CTE, no SELECT INTO. */
function selectIsReadOnly(fields: PgFields): boolean {
  if (hasKey(fields, 'lockingClause') || hasKey(fields, 'intoClause')) return false;
  let writes = false;
  walkNodes(fields, (type) => {
    if (type === 'InsertStmt' || type === 'UpdateStmt' || type === 'DeleteStmt' || type === 'MergeStmt') writes = true;
  });
  return !writes;
}

function explainAnalyzes(fields: PgFields): boolean {
  for (const option of (fields.options ?? []) as PgFields[]) {
    const def = option.DefElem as PgFields | undefined;
    if (def?.defname !== 'analyze') continue;
    // `EXPLAIN (ANALYZE false)` does not execute; a bare ANALYZE or `ANALYZE true`/`on` does.
    const arg = def.arg as PgFields | undefined;
    if (arg === undefined) return true;
    const value = arg.Boolean?.boolval ?? arg.String?.sval ?? arg.A_Const?.boolval?.boolval ?? arg.Integer?.ival;
    if (value === false || value === 0 || value === 'false' || value === 'off' || value === '0') continue;
    if (value === undefined && arg.Boolean) continue; // protobuf omits a false boolval
    return true;
  }
  return false;
}

function classifyOne(s: ParsedStatement): StatementClassification {
  const kind = kindOf(s);
  let readOnly = false;
  switch (kind) {
    case 'select':
      readOnly = selectIsReadOnly(s.fields);
      break;
    case 'show':
      readOnly = true;
      break;
    case 'explain': {
      const inner = s.fields.query as Record<string, PgFields> | undefined;
      const innerType = inner ? Object.keys(inner)[0] : undefined;
      const innerReadOnly = innerType === 'SelectStmt' && selectIsReadOnly(inner?.[innerType] ?? {});
      readOnly = innerReadOnly || !explainAnalyzes(s.fields);
      break;
    }
  }
  return {
    kind,
    readOnly,
    // SELECT INTO creates a table; a DO block or procedure may run any DDL, so the catalog is refreshed after them too.
    ddl: kind === 'ddl' || kind === 'do' || kind === 'call' || (kind === 'select' && hasKey(s.fields, 'intoClause')),
    statementCount: 1,
    nodeType: s.nodeType,
    refusal: refusalOf(s, kind),
  };
}

/** Why a raw SQL route refuses this statement whatever the read-only mode (undefined when it may run). */
function refusalOf(s: ParsedStatement, kind: StatementKind): string | undefined {
  const fixed = alwaysRefused[s.nodeType];
  if (fixed) return fixed;
  if (kind === 'set') {
    const name = String(s.fields.name ?? '').toLowerCase();
    if (name === 'role' || name === 'session_authorization' || s.fields.kind === 'VAR_RESET_ALL') {
      return 'SET ROLE, SET SESSION AUTHORIZATION and RESET ALL are not allowed: the route runs under its restricted role';
    }
    // Session-level settings persist on the pooled connection after the request; the route's own settings
    // (statement_timeout, read-only, search_path) are SET LOCAL and must not be undone either.
    return 'SET and RESET are not allowed: settings would outlive the request or undo its statement_timeout and read-only mode';
  }
  if (kind === 'copy') {
    if (s.fields.is_program) return 'COPY … PROGRAM is not allowed';
    if (s.fields.filename !== undefined) return 'COPY to or from a server file is not allowed';
    return 'COPY is not allowed: the route returns rows, not the COPY protocol';
  }
  if (s.nodeType === 'IndexStmt' && s.fields.concurrent)
    return 'CREATE INDEX CONCURRENTLY cannot run inside the route transaction';
  if (s.nodeType === 'ReindexStmt' && JSON.stringify(s.fields.params ?? []).includes('"concurrently"')) {
    return 'REINDEX CONCURRENTLY cannot run inside the route transaction';
  }
  if (s.nodeType === 'DropStmt' && s.fields.concurrent)
    return 'DROP INDEX CONCURRENTLY cannot run inside the route transaction';
  let refusedCall: string | undefined;
  walkNodes(s.fields, (type, fields) => {
    if (type !== 'FuncCall' || refusedCall) return;
    const name = nameList(fields.funcname).at(-1)?.toLowerCase() ?? '';
    if (refusedFunctions.has(name)) refusedCall = name;
  });
  if (refusedCall) return `calling ${refusedCall}() is not allowed through raw SQL`;
  return undefined;
}

/** Classifies a SQL text by its parse tree (throws SqlSyntaxError when Postgres' parser refuses it). */
export async function classifyStatement(sql: string): Promise<StatementClassification> {
  return classifyParsed(await parseStatements(sql));
}

/** The classification of already-parsed statements. */
export function classifyParsed(statements: ParsedStatement[]): StatementClassification {
  if (statements.length === 0) {
    return { kind: 'empty', readOnly: true, ddl: false, statementCount: 0, nodeType: '' };
  }
  const each = statements.map(classifyOne);
  if (each.length === 1) return each[0] as StatementClassification;
  const refusal = each.find((c) => c.refusal)?.refusal;
  return {
    kind: 'multiple',
    readOnly: each.every((c) => c.readOnly),
    ddl: each.some((c) => c.ddl),
    statementCount: each.length,
    nodeType: each.map((c) => c.nodeType).join(','),
    ...(refusal ? { refusal } : {}),
  };
}

/** One checked statement: its parse and its classification. */
export interface SingleStatement {
  statement: ParsedStatement;
  classification: StatementClassification;
}

/** Exactly one statement (comments and stray `;` aside), else a 400; a parse error is a SqlSyntaxError. */
export async function requireSingleStatement(sql: string): Promise<SingleStatement> {
  const statements = await parseStatements(sql);
  if (statements.length === 0) throw new SqlRejectedError('SQL_EMPTY', 'the SQL text contains no statement');
  if (statements.length > 1) {
    throw new SqlRejectedError(
      'SQL_MULTIPLE_STATEMENTS',
      `exactly one SQL statement is allowed, found ${statements.length}`,
    );
  }
  const statement = statements[0] as ParsedStatement;
  return { statement, classification: classifyParsed([statement]) };
}

/**
 * The check a raw SQL route runs before executing: one statement, not refused (transaction control, SET ROLE,
 * COPY, LISTEN, …), and read-only when `readOnly` is required (a DO block, CALL or NOTIFY is refused then, as is
 * any write). Returns the classification for DDL detection.
 */
export async function checkRawStatement(sql: string, options: { readOnly: boolean }): Promise<SingleStatement> {
  const single = await requireSingleStatement(sql);
  const { classification } = single;
  if (classification.refusal) throw new SqlRejectedError('SQL_STATEMENT_REFUSED', classification.refusal);
  if (options.readOnly && !classification.readOnly) {
    const what =
      classification.kind === 'do'
        ? 'a DO block'
        : classification.kind === 'select'
          ? 'a SELECT with a locking clause, a data-modifying CTE or INTO'
          : `a ${classification.nodeType.replace(/Stmt$/, '')} statement`;
    throw new SqlRejectedError('SQL_NOT_READ_ONLY', `this client is read-only: ${what} is not allowed`);
  }
  return single;
}
