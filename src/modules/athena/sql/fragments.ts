import { parsePlPgSQLSync } from 'libpg-query';
import { SqlRejectedError, type SqlRejectionCode, SqlSyntaxError } from './errors.ts';
import { quoteLiteral, quoteQualified } from './identifiers.ts';
import { hasKey, nameList, nodeOf, type PgFields, parseStatements, walkNodes } from './parser.ts';
import { builtinOf, printTypeName, type TypeNameInfo, typeNameInfo, typmodProblem } from './type-names.ts';

/*
 * Raw SQL fragments in management bodies (notes §3.11) are parsed by Postgres' grammar and checked on the tree,
 * never spliced as written: a default expression is parsed as `SELECT <expr>` and re-printed from the checked
 * tree (libpg-query has no deparser, so the printer covers exactly the allowed node types); a data type is parsed
 * as `SELECT NULL::<type>` and its TypeName checked against the allow-list; a view definition and a function's
 * DDL must each be exactly one statement of the expected kind.
 */

function refuse(code: SqlRejectionCode, message: string): never {
  throw new SqlRejectedError(code, message);
}

/** Parses `SELECT <fragment>` and returns the single target expression, refusing anything around it. */
async function parseSelectTarget(fragment: string, code: SqlRejectionCode, what: string): Promise<unknown> {
  if (typeof fragment !== 'string' || fragment.trim() === '') refuse(code, `${what} must be a non-empty string`);
  let statements: Awaited<ReturnType<typeof parseStatements>>;
  try {
    statements = await parseStatements(`SELECT ${fragment}`);
  } catch (err) {
    if (err instanceof SqlSyntaxError) refuse(code, `${what} does not parse: ${err.pgMessage}`);
    throw err;
  }
  if (statements.length !== 1) refuse(code, `${what} must be a single expression`);
  const [s] = statements as [(typeof statements)[number]];
  // Only the target list may be present: a FROM, WHERE, set operation, alias or second target means the fragment
  // carried more than an expression.
  const extra = Object.keys(s.fields).filter((k) => !['targetList', 'limitOption', 'op'].includes(k));
  if (s.nodeType !== 'SelectStmt' || extra.length > 0 || (s.fields.op && s.fields.op !== 'SETOP_NONE')) {
    refuse(code, `${what} must be a single expression`);
  }
  const targets = (s.fields.targetList ?? []) as unknown[];
  const target = nodeOf(targets[0]);
  if (targets.length !== 1 || target?.type !== 'ResTarget' || target.fields.name !== undefined) {
    refuse(code, `${what} must be a single expression`);
  }
  return target.fields.val;
}

/** The result of checking a column data type. */
export interface ValidatedDataType {
  /** Canonical SQL text (`character varying(20)`, `numeric(10,2)`, `text[]`). */
  sql: string;
  /** The internal base name (`varchar`, `int4`, `timestamptz`). */
  baseType: string;
  typmods: number[];
  arrayDimensions: number;
}

function checkTypeInfo(info: TypeNameInfo, code: SqlRejectionCode, shown: string): ValidatedDataType {
  if (info.special) refuse(code, `${shown}: SETOF and %TYPE are not column data types`);
  const b = builtinOf(info);
  if (!b) refuse(code, `data type ${shown} is not in allowed_column_data_types`);
  const problem = typmodProblem(b, info.typmods);
  if (problem) refuse(code, `data type ${shown}: ${problem}`);
  if (info.arrayDimensions > 6) refuse(code, `data type ${shown}: at most 6 array dimensions`);
  return {
    sql: printTypeName(info),
    baseType: b.internal,
    typmods: info.typmods ?? [],
    arrayDimensions: info.arrayDimensions,
  };
}

/** Checks a column data type against the allow-list (text, varchar(n), …, arrays of them) by its parse tree. */
export async function validateDataType(type: string): Promise<ValidatedDataType> {
  const shown = JSON.stringify(typeof type === 'string' ? type.slice(0, 80) : type);
  if (typeof type !== 'string' || type.trim() === '')
    refuse('INVALID_DATA_TYPE', 'data type must be a non-empty string');
  const val = await parseSelectTarget(`NULL::${type}`, 'INVALID_DATA_TYPE', `data type ${shown}`);
  const cast = nodeOf(val);
  const arg = cast?.type === 'TypeCast' ? nodeOf(cast.fields.arg) : undefined;
  if (cast?.type !== 'TypeCast' || arg?.type !== 'A_Const' || !arg.fields.isnull || !cast.fields.typeName) {
    refuse('INVALID_DATA_TYPE', `data type ${shown} is not a type name`);
  }
  return checkTypeInfo(typeNameInfo(cast.fields.typeName as PgFields), 'INVALID_DATA_TYPE', shown);
}

/** A sequence named by nextval's argument. */
export interface SequenceName {
  schema: string | null;
  name: string;
}

/** Options of validateDefaultExpression. */
export interface DefaultExpressionOptions {
  /** Checks the catalog for a sequence; without it, nextval() is refused (it cannot be checked). */
  sequenceExists?: (sequence: SequenceName) => boolean | Promise<boolean>;
}

/** A checked default expression. */
export interface ValidatedDefaultExpression {
  /** The expression re-printed from its parse tree (what the DDL embeds). */
  sql: string;
  /** The allow-listed functions it calls (`now`, `nextval`, …). */
  functions: string[];
  /** The sequence when it calls nextval. */
  sequence?: SequenceName;
}

const defaultFunctions = new Set(['now', 'gen_random_uuid', 'uuid_generate_v4', 'nextval']);

/** Parses a regclass text (`seq`, `public.seq`, `"My Seq"`) the way Postgres' name parser does. */
export function parseQualifiedName(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let j = i + 1;
      let part = '';
      for (;;) {
        if (j >= text.length) return undefined;
        if (text[j] === '"') {
          if (text[j + 1] === '"') {
            part += '"';
            j += 2;
            continue;
          }
          break;
        }
        part += text[j];
        j++;
      }
      if (part === '') return undefined;
      parts.push(part);
      i = j + 1;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i));
      if (!m) return undefined;
      parts.push(m[0].toLowerCase());
      i += m[0].length;
    }
    if (i === text.length) break;
    if (text[i] !== '.') return undefined;
    i++;
  }
  return parts.length >= 1 && parts.length <= 2 ? parts : undefined;
}

function printConst(fields: PgFields): string {
  if (fields.isnull) return 'NULL';
  if (fields.ival !== undefined) return String(Number((fields.ival as PgFields).ival ?? 0));
  if (fields.fval !== undefined) return String((fields.fval as PgFields).fval);
  if (fields.boolval !== undefined) return (fields.boolval as PgFields).boolval ? 'true' : 'false';
  if (fields.sval !== undefined) return quoteLiteral(String((fields.sval as PgFields).sval ?? ''));
  if (fields.bsval !== undefined) {
    const bits = String((fields.bsval as PgFields).bsval ?? '');
    return `${bits[0] === 'x' ? 'X' : 'B'}'${bits.slice(1)}'`;
  }
  throw new SqlRejectedError('INVALID_DEFAULT_EXPRESSION', 'unsupported constant');
}

/** Checks a column default (§3.11) and returns it re-printed from the tree. */
export async function validateDefaultExpression(
  expr: string,
  options: DefaultExpressionOptions = {},
): Promise<ValidatedDefaultExpression> {
  const code = 'INVALID_DEFAULT_EXPRESSION';
  const val = await parseSelectTarget(expr, code, 'default_expression');
  const functions: string[] = [];
  let sequence: SequenceName | undefined;

  const print = async (value: unknown): Promise<string> => {
    const n = nodeOf(value);
    switch (n?.type) {
      case 'A_Const':
        return printConst(n.fields);
      case 'TypeCast': {
        const info = typeNameInfo((n.fields.typeName ?? {}) as PgFields);
        const type = checkTypeInfo(info, code, JSON.stringify(info.names.join('.')));
        return `CAST(${await print(n.fields.arg)} AS ${type.sql})`;
      }
      case 'SQLValueFunction': {
        const op = String(n.fields.op);
        const precision = Number(n.fields.typmod ?? -1);
        if (op === 'SVFOP_CURRENT_DATE') return 'CURRENT_DATE';
        if (op === 'SVFOP_CURRENT_TIMESTAMP') return 'CURRENT_TIMESTAMP';
        if (op === 'SVFOP_CURRENT_TIMESTAMP_N' && precision >= 0 && precision <= 6)
          return `CURRENT_TIMESTAMP(${precision})`;
        return refuse(code, 'only CURRENT_TIMESTAMP and CURRENT_DATE are allowed among SQL value functions');
      }
      case 'FuncCall': {
        const name = nameList(n.fields.funcname);
        const fn = name.at(-1) ?? '';
        const qualifiedOk =
          name.length === 1 || (name.length === 2 && name[0] === 'pg_catalog' && fn !== 'uuid_generate_v4');
        if (!qualifiedOk || !defaultFunctions.has(fn)) {
          return refuse(
            code,
            `function ${name.join('.')}() is not allowed in a default (allowed: now(), current_timestamp, current_date, gen_random_uuid(), uuid_generate_v4(), nextval('<sequence>'))`,
          );
        }
        for (const flag of [
          'agg_star',
          'agg_distinct',
          'func_variadic',
          'over',
          'agg_filter',
          'agg_order',
          'agg_within_group',
        ]) {
          if (n.fields[flag]) refuse(code, `${fn}() must be a plain call`);
        }
        const args = (n.fields.args ?? []) as unknown[];
        functions.push(fn);
        if (fn !== 'nextval') {
          if (args.length > 0) refuse(code, `${fn}() takes no arguments`);
          return `${fn}()`;
        }
        if (args.length !== 1) refuse(code, 'nextval() takes one argument, the sequence name as a string literal');
        let literal = nodeOf(args[0]);
        if (literal?.type === 'TypeCast') {
          const info = typeNameInfo((literal.fields.typeName ?? {}) as PgFields);
          const regclass =
            info.baseName === 'regclass' &&
            info.arrayDimensions === 0 &&
            (info.names.length === 1 || info.schema === 'pg_catalog');
          if (!regclass) refuse(code, 'nextval() takes the sequence name as a string literal (optionally ::regclass)');
          literal = nodeOf(literal.fields.arg);
        }
        if (literal?.type !== 'A_Const' || literal.fields.sval === undefined) {
          refuse(code, 'nextval() takes the sequence name as a string literal');
        }
        const parts = parseQualifiedName(String((literal.fields.sval as PgFields).sval ?? ''));
        if (!parts) refuse(code, 'nextval() argument is not a sequence name');
        const seq: SequenceName =
          parts.length === 2
            ? { schema: parts[0] as string, name: parts[1] as string }
            : { schema: null, name: parts[0] as string };
        if (!options.sequenceExists) refuse(code, 'nextval() defaults need a catalog check that is not available here');
        if (!(await options.sequenceExists(seq))) {
          refuse(code, `sequence ${seq.schema ? `${seq.schema}.` : ''}${seq.name} does not exist`);
        }
        sequence = seq;
        return `nextval(${quoteLiteral(quoteQualified(seq.schema, seq.name))}::regclass)`;
      }
      case 'ColumnRef':
        return refuse(code, 'a default must not reference columns');
      case 'SubLink':
        return refuse(code, 'a default must not contain a subquery');
      default:
        return refuse(
          code,
          `${n?.type ?? 'this expression'} is not allowed in a default (constants, casts and allow-listed functions only)`,
        );
    }
  };
  const sql = await print(val);
  return { sql, functions, ...(sequence ? { sequence } : {}) };
}

/** A checked view definition. */
export interface ValidatedViewDefinition {
  /** The SELECT's own text (no trailing `;`). */
  sql: string;
}

/** Checks a view `definition` (§3.11): exactly one SELECT, no data-modifying CTE, no SELECT INTO, no locking. */
export async function validateViewDefinition(sql: string): Promise<ValidatedViewDefinition> {
  const code = 'INVALID_VIEW_DEFINITION';
  if (typeof sql !== 'string' || sql.trim() === '') refuse(code, 'definition must be a non-empty string');
  const statements = await parseStatements(sql);
  if (statements.length !== 1)
    refuse(code, `definition must be exactly one SELECT statement, found ${statements.length}`);
  const [s] = statements as [(typeof statements)[number]];
  if (s.nodeType !== 'SelectStmt') refuse(code, `definition must be a SELECT statement, not ${s.nodeType}`);
  if (hasKey(s.fields, 'intoClause')) refuse(code, 'SELECT INTO is not allowed in a view definition');
  if (hasKey(s.fields, 'lockingClause')) refuse(code, 'locking clauses are not allowed in a view definition');
  walkNodes(s.fields, (type) => {
    if (type === 'InsertStmt' || type === 'UpdateStmt' || type === 'DeleteStmt' || type === 'MergeStmt') {
      refuse(code, 'data-modifying statements are not allowed in a view definition');
    }
  });
  return { sql: s.text.replace(/;\s*$/, '') };
}

/** Builds `CREATE [OR REPLACE] [MATERIALIZED] VIEW "s"."v" AS <definition>`, re-parsed to be exactly that one statement. */
export async function createViewSql(input: {
  schema: string;
  name: string;
  definition: string;
  orReplace?: boolean;
  materialized?: boolean;
}): Promise<string> {
  const { sql } = await validateViewDefinition(input.definition);
  if (input.materialized && input.orReplace)
    refuse('INVALID_VIEW_DEFINITION', 'a materialized view cannot be OR REPLACE');
  const head = `CREATE ${input.orReplace ? 'OR REPLACE ' : ''}${input.materialized ? 'MATERIALIZED ' : ''}VIEW`;
  // The newline ends a trailing line comment of the definition before anything the caller appends.
  const ddl = `${head} ${quoteQualified(input.schema, input.name)} AS ${sql}\n`;
  const check = await parseStatements(ddl);
  const expected = input.materialized ? 'CreateTableAsStmt' : 'ViewStmt';
  if (check.length !== 1 || check[0]?.nodeType !== expected)
    refuse('INVALID_VIEW_DEFINITION', 'definition does not form one view statement');
  return ddl.trimEnd();
}

/** Options of validateFunctionDdl. */
export interface FunctionDdlOptions {
  allowSecurityDefiner?: boolean;
  /** Allowed `LANGUAGE`s (lower case). */
  languages?: readonly string[];
  /** The schema of an unqualified name. */
  defaultSchema?: string;
}

/** A checked `CREATE OR REPLACE FUNCTION`. */
export interface ValidatedFunctionDdl {
  schema: string;
  name: string;
  /** Identity argument types (IN, INOUT, VARIADIC), printed from the tree: `integer`, `"public"."mood"[]`. */
  argTypes: string[];
  /** Their names (null when unnamed). */
  argNames: (string | null)[];
  language: string;
  /** The statement's text (no trailing `;`). */
  sql: string;
}

/** Checks function DDL (§3.11): exactly one CREATE OR REPLACE FUNCTION, allowed language, no SECURITY DEFINER. */
export async function validateFunctionDdl(
  sql: string,
  options: FunctionDdlOptions = {},
): Promise<ValidatedFunctionDdl> {
  const code = 'INVALID_FUNCTION_DDL';
  const languages = options.languages ?? ['sql', 'plpgsql'];
  if (typeof sql !== 'string' || sql.trim() === '') refuse(code, 'ddl must be a non-empty string');
  const statements = await parseStatements(sql);
  if (statements.length !== 1)
    refuse(code, `ddl must be exactly one CREATE OR REPLACE FUNCTION statement, found ${statements.length}`);
  const [s] = statements as [(typeof statements)[number]];
  if (s.nodeType !== 'CreateFunctionStmt') refuse(code, `ddl must be CREATE OR REPLACE FUNCTION, not ${s.nodeType}`);
  if (s.fields.is_procedure) refuse(code, 'procedures are not managed functions');
  if (!s.fields.replace) refuse(code, 'ddl must be CREATE OR REPLACE FUNCTION');
  const name = nameList(s.fields.funcname);
  if (name.length > 2 || name.some((p) => p === '')) refuse(code, 'function name must be name or schema.name');
  let language: string | undefined;
  for (const option of (s.fields.options ?? []) as unknown[]) {
    const def = nodeOf(option);
    if (def?.type !== 'DefElem') continue;
    const arg = nodeOf(def.fields.arg);
    if (def.fields.defname === 'language') language = String(arg?.fields.sval ?? '').toLowerCase();
    if (def.fields.defname === 'security' && arg?.fields.boolval && !options.allowSecurityDefiner) {
      refuse(code, 'SECURITY DEFINER functions are not allowed');
    }
    if (def.fields.defname === 'set') {
      const setting = String(arg?.fields.name ?? '').toLowerCase();
      if (setting === 'role' || setting === 'session_authorization')
        refuse(code, `SET ${setting} is not allowed in a function`);
    }
  }
  if (!language) refuse(code, 'LANGUAGE is required');
  if (!languages.includes(language))
    refuse(code, `LANGUAGE ${language} is not allowed (allowed: ${languages.join(', ')})`);
  if (language === 'plpgsql') {
    try {
      parsePlPgSQLSync(s.text);
    } catch (err) {
      const message = (err as { sqlDetails?: { message?: string } }).sqlDetails?.message ?? (err as Error).message;
      refuse(code, `PL/pgSQL body does not parse: ${message}`);
    }
  }
  const argTypes: string[] = [];
  const argNames: (string | null)[] = [];
  for (const p of (s.fields.parameters ?? []) as unknown[]) {
    const param = nodeOf(p);
    if (param?.type !== 'FunctionParameter') continue;
    const mode = String(param.fields.mode ?? 'FUNC_PARAM_DEFAULT');
    if (mode === 'FUNC_PARAM_OUT' || mode === 'FUNC_PARAM_TABLE') continue;
    const info = typeNameInfo((param.fields.argType ?? {}) as PgFields);
    if (info.special) refuse(code, '%TYPE argument types are not supported; name the type');
    argTypes.push(printTypeName(info));
    argNames.push((param.fields.name as string | undefined) ?? null);
  }
  return {
    schema: name.length === 2 ? (name[0] as string) : (options.defaultSchema ?? 'public'),
    name: name.at(-1) as string,
    argTypes,
    argNames,
    language,
    sql: s.text.replace(/;\s*$/, ''),
  };
}
