import { quoteIdent, quoteLiteral } from './identifiers.ts';
import { nameList, nodeOf, type PgFields } from './parser.ts';
import { typeNameInfo } from './type-names.ts';

/*
 * A small SQLite printer over Postgres parse trees, for the D1 migration (d1.ts): expressions (defaults, CHECKs,
 * index keys and predicates, DML values) and plain SELECTs (views, INSERT … SELECT). It prints what SQLite has an
 * equivalent for and throws Unconvertible for the rest, so the caller drops that clause or statement with a
 * diagnostic instead of emitting SQL D1 would misread. Identifiers are always quoted, literals re-quoted.
 */

/** A construct with no SQLite equivalent: `code` is the diagnostic (`unsupported.function`, …). */
export class Unconvertible extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'Unconvertible';
  }
}

/** Something the printer changed on the way, reported as a warning (`ddl.timestamp`, `type.uuid`, …). */
export interface PrintNote {
  code: string;
  message: string;
}

/** Collects notes while printing one statement. */
export interface PrintContext {
  notes: PrintNote[];
}

const binaryOperators = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '||']);

/** Scalar functions with the same name and meaning in SQLite. */
const sameFunctions = new Set([
  'lower',
  'upper',
  'length',
  'abs',
  'round',
  'trim',
  'ltrim',
  'rtrim',
  'replace',
  'substr',
  'substring',
  'nullif',
  'ifnull',
  'instr',
  'coalesce',
  'hex',
  'random',
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'total',
]);

/** SQLite's affinity for a cast target (only the type's kind matters in SQLite). */
function castAffinity(typeName: PgFields): 'INTEGER' | 'REAL' | 'TEXT' | 'BLOB' | 'BOOLEAN' {
  const info = typeNameInfo(typeName);
  if (info.arrayDimensions > 0) return 'TEXT';
  const name = info.baseName;
  if (['int2', 'int4', 'int8', 'smallint', 'integer', 'bigint', 'oid'].includes(name)) return 'INTEGER';
  if (['float4', 'float8', 'numeric', 'decimal', 'real', 'money'].includes(name)) return 'REAL';
  if (name === 'bool') return 'BOOLEAN';
  if (name === 'bytea') return 'BLOB';
  return 'TEXT';
}

function constant(fields: PgFields): string {
  if (fields.isnull) return 'NULL';
  if (fields.ival !== undefined) return String(Number((fields.ival as PgFields).ival ?? 0));
  if (fields.fval !== undefined) return String((fields.fval as PgFields).fval);
  if (fields.boolval !== undefined) return (fields.boolval as PgFields).boolval ? '1' : '0';
  if (fields.sval !== undefined) return quoteLiteral(String((fields.sval as PgFields).sval ?? ''));
  if (fields.bsval !== undefined) {
    const bits = String((fields.bsval as PgFields).bsval ?? '');
    if (bits[0] === 'x') return `X'${bits.slice(1)}'`;
    throw new Unconvertible('unsupported.bit_string', 'bit-string constants have no SQLite equivalent');
  }
  throw new Unconvertible('unsupported.expression', 'unknown constant');
}

const booleanWords: Record<string, string> = {
  t: '1',
  true: '1',
  y: '1',
  yes: '1',
  on: '1',
  '1': '1',
  f: '0',
  false: '0',
  n: '0',
  no: '0',
  off: '0',
  '0': '0',
};

/** Prints one expression node for SQLite. */
export function printExpr(value: unknown, ctx: PrintContext): string {
  const n = nodeOf(value);
  if (!n) throw new Unconvertible('unsupported.expression', 'missing expression');
  const f = n.fields;
  const p = (v: unknown) => printExpr(v, ctx);
  switch (n.type) {
    case 'A_Const':
      return constant(f);
    case 'ColumnRef':
      return ((f.fields ?? []) as unknown[])
        .map((part) => {
          const x = nodeOf(part);
          if (x?.type === 'A_Star') return '*';
          return quoteIdent(String(x?.fields.sval ?? ''));
        })
        .join('.');
    case 'ParamRef':
      throw new Unconvertible('unsupported.parameter', 'parameters ($n) cannot appear in a migration');
    case 'TypeCast': {
      const affinity = castAffinity((f.typeName ?? {}) as PgFields);
      const arg = nodeOf(f.arg);
      if (arg?.type === 'A_Const' && arg.fields.sval !== undefined) {
        const text = String((arg.fields.sval as PgFields).sval ?? '');
        if (affinity === 'TEXT') return quoteLiteral(text);
        if (affinity === 'BOOLEAN') {
          const word = booleanWords[text.trim().toLowerCase()];
          if (word === undefined) throw new Unconvertible('unsupported.expression', `'${text}' is not a boolean`);
          return word;
        }
      }
      if (affinity === 'BOOLEAN') return p(f.arg);
      return `CAST(${p(f.arg)} AS ${affinity})`;
    }
    case 'A_Expr': {
      const op = nameList(f.name).at(-1) ?? '';
      switch (f.kind) {
        case 'AEXPR_OP':
          if (!binaryOperators.has(op))
            throw new Unconvertible('unsupported.operator', `operator ${op} has no SQLite equivalent`);
          if (f.lexpr === undefined) {
            if (op !== '-' && op !== '+') throw new Unconvertible('unsupported.operator', `prefix operator ${op}`);
            return `${op}(${p(f.rexpr)})`;
          }
          return `(${p(f.lexpr)} ${op === '!=' ? '<>' : op} ${p(f.rexpr)})`;
        case 'AEXPR_LIKE':
        case 'AEXPR_ILIKE': {
          // SQLite's LIKE is case-insensitive for ASCII, so ILIKE keeps its meaning.
          const negated = op.startsWith('!');
          return `(${p(f.lexpr)} ${negated ? 'NOT LIKE' : 'LIKE'} ${p(f.rexpr)})`;
        }
        case 'AEXPR_IN': {
          const items = (nodeOf(f.rexpr)?.fields.items ?? []) as unknown[];
          return `(${p(f.lexpr)} ${op === '<>' ? 'NOT IN' : 'IN'} (${items.map(p).join(', ')}))`;
        }
        case 'AEXPR_BETWEEN':
        case 'AEXPR_NOT_BETWEEN': {
          const [lo, hi] = (nodeOf(f.rexpr)?.fields.items ?? []) as unknown[];
          return `(${p(f.lexpr)} ${f.kind === 'AEXPR_BETWEEN' ? 'BETWEEN' : 'NOT BETWEEN'} ${p(lo)} AND ${p(hi)})`;
        }
        case 'AEXPR_DISTINCT':
          return `(${p(f.lexpr)} IS NOT ${p(f.rexpr)})`;
        case 'AEXPR_NOT_DISTINCT':
          return `(${p(f.lexpr)} IS ${p(f.rexpr)})`;
        case 'AEXPR_NULLIF':
          return `nullif(${p(f.lexpr)}, ${p(f.rexpr)})`;
        default:
          throw new Unconvertible('unsupported.operator', `${String(f.kind)} has no SQLite equivalent`);
      }
    }
    case 'BoolExpr': {
      const args = ((f.args ?? []) as unknown[]).map(p);
      if (f.boolop === 'NOT_EXPR') return `(NOT ${args[0]})`;
      return `(${args.join(f.boolop === 'AND_EXPR' ? ' AND ' : ' OR ')})`;
    }
    case 'NullTest':
      return `(${p(f.arg)} ${f.nulltesttype === 'IS_NOT_NULL' ? 'IS NOT NULL' : 'IS NULL'})`;
    case 'BooleanTest': {
      const tests: Record<string, string> = {
        IS_TRUE: 'IS TRUE',
        IS_NOT_TRUE: 'IS NOT TRUE',
        IS_FALSE: 'IS FALSE',
        IS_NOT_FALSE: 'IS NOT FALSE',
        IS_UNKNOWN: 'IS NULL',
        IS_NOT_UNKNOWN: 'IS NOT NULL',
      };
      return `(${p(f.arg)} ${tests[String(f.booltesttype)] ?? 'IS TRUE'})`;
    }
    case 'CoalesceExpr':
      return `coalesce(${((f.args ?? []) as unknown[]).map(p).join(', ')})`;
    case 'MinMaxExpr':
      // SQLite's multi-argument max()/min() are scalar, like GREATEST/LEAST.
      return `${f.op === 'IS_GREATEST' ? 'max' : 'min'}(${((f.args ?? []) as unknown[]).map(p).join(', ')})`;
    case 'CaseExpr': {
      const whens = ((f.args ?? []) as unknown[]).map((w) => {
        const cw = nodeOf(w)?.fields ?? {};
        return `WHEN ${p(cw.expr)} THEN ${p(cw.result)}`;
      });
      const subject = f.arg ? ` ${p(f.arg)}` : '';
      const otherwise = f.defresult ? ` ELSE ${p(f.defresult)}` : '';
      return `CASE${subject} ${whens.join(' ')}${otherwise} END`;
    }
    case 'SQLValueFunction': {
      const op = String(f.op);
      if (op.startsWith('SVFOP_CURRENT_TIMESTAMP') || op.startsWith('SVFOP_LOCALTIMESTAMP')) {
        ctx.notes.push({
          code: 'ddl.timestamp',
          message: 'CURRENT_TIMESTAMP is UTC text (YYYY-MM-DD HH:MM:SS) in SQLite',
        });
        return 'CURRENT_TIMESTAMP';
      }
      if (op === 'SVFOP_CURRENT_DATE') return 'CURRENT_DATE';
      if (op.startsWith('SVFOP_CURRENT_TIME') || op.startsWith('SVFOP_LOCALTIME')) return 'CURRENT_TIME';
      throw new Unconvertible('unsupported.function', `${op.replace('SVFOP_', '')} has no SQLite equivalent`);
    }
    case 'FuncCall': {
      const name = nameList(f.funcname);
      const fn = (name.at(-1) ?? '').toLowerCase();
      if (name.length > 1 && name[0] !== 'pg_catalog') {
        throw new Unconvertible('unsupported.function', `function ${name.join('.')}() has no SQLite equivalent`);
      }
      if (f.over || f.agg_filter || f.agg_order || f.agg_within_group || f.func_variadic) {
        throw new Unconvertible(
          'unsupported.function',
          `${fn}() with OVER/FILTER/ORDER BY has no SQLite equivalent here`,
        );
      }
      const args = ((f.args ?? []) as unknown[]).map(p);
      if (fn === 'now' || fn === 'statement_timestamp' || fn === 'transaction_timestamp' || fn === 'clock_timestamp') {
        ctx.notes.push({ code: 'ddl.timestamp', message: `${fn}() became CURRENT_TIMESTAMP (UTC text) in SQLite` });
        return 'CURRENT_TIMESTAMP';
      }
      if (fn === 'gen_random_uuid' || fn === 'uuid_generate_v4') {
        ctx.notes.push({
          code: 'type.uuid',
          message: `${fn}() became lower(hex(randomblob(16))): 32 random hex digits, not the dashed UUID form`,
        });
        return 'lower(hex(randomblob(16)))';
      }
      if (fn === 'char_length' || fn === 'character_length') return `length(${args.join(', ')})`;
      if (fn === 'strpos') return `instr(${args.join(', ')})`;
      if (fn === 'btrim') return `trim(${args.join(', ')})`;
      if (!sameFunctions.has(fn))
        throw new Unconvertible('unsupported.function', `function ${fn}() has no SQLite equivalent`);
      if (f.agg_star) return `${fn}(*)`;
      return `${fn}(${f.agg_distinct ? 'DISTINCT ' : ''}${args.join(', ')})`;
    }
    case 'SubLink': {
      const select = printSelect(((f.subselect as PgFields | undefined)?.SelectStmt ?? {}) as PgFields, ctx);
      if (f.subLinkType === 'EXISTS_SUBLINK') return `EXISTS (${select})`;
      if (f.subLinkType === 'EXPR_SUBLINK') return `(${select})`;
      if (f.subLinkType === 'ANY_SUBLINK' && (f.operName === undefined || nameList(f.operName).at(-1) === '=')) {
        return `(${p(f.testexpr)} IN (${select}))`;
      }
      throw new Unconvertible('unsupported.subquery', 'this subquery form has no SQLite equivalent');
    }
    case 'CollateClause':
      ctx.notes.push({
        code: 'unsupported.collation',
        message: 'COLLATE was dropped (SQLite has BINARY, NOCASE and RTRIM only)',
      });
      return p(f.arg);
    default:
      throw new Unconvertible('unsupported.expression', `${n.type} has no SQLite equivalent`);
  }
}

function printFromItem(value: unknown, ctx: PrintContext): string {
  const n = nodeOf(value);
  switch (n?.type) {
    case 'RangeVar': {
      const alias = (n.fields.alias as PgFields | undefined)?.aliasname;
      return `${quoteIdent(String(n.fields.relname))}${alias ? ` AS ${quoteIdent(String(alias))}` : ''}`;
    }
    case 'RangeSubselect': {
      const alias = (n.fields.alias as PgFields | undefined)?.aliasname;
      const inner = printSelect(((n.fields.subquery as PgFields).SelectStmt ?? {}) as PgFields, ctx);
      return `(${inner})${alias ? ` AS ${quoteIdent(String(alias))}` : ''}`;
    }
    case 'JoinExpr': {
      const kinds: Record<string, string> = {
        JOIN_INNER: 'JOIN',
        JOIN_LEFT: 'LEFT JOIN',
        JOIN_RIGHT: 'RIGHT JOIN',
        JOIN_FULL: 'FULL JOIN',
      };
      const kind = kinds[String(n.fields.jointype)];
      if (!kind) throw new Unconvertible('unsupported.join', 'this join type has no SQLite equivalent');
      const natural = n.fields.isNatural ? 'NATURAL ' : '';
      const left = printFromItem(n.fields.larg, ctx);
      const right = printFromItem(n.fields.rarg, ctx);
      const using = nameList(n.fields.usingClause);
      const on = n.fields.quals
        ? ` ON ${printExpr(n.fields.quals, ctx)}`
        : using.length
          ? ` USING (${using.map(quoteIdent).join(', ')})`
          : '';
      const joined = `${left} ${natural}${!n.fields.quals && !using.length && !natural && kind === 'JOIN' ? 'CROSS JOIN' : kind} ${right}${on}`;
      return joined;
    }
    default:
      throw new Unconvertible('unsupported.from', `${n?.type ?? 'this'} in FROM has no SQLite equivalent`);
  }
}

/** Prints a SelectStmt's fields for SQLite (targets, FROM/joins, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, set operations). */
export function printSelect(s: PgFields, ctx: PrintContext): string {
  if (s.withClause) throw new Unconvertible('unsupported.cte', 'WITH is not converted');
  if (s.lockingClause || s.intoClause)
    throw new Unconvertible('unsupported.select', 'locking clauses and SELECT INTO have no SQLite equivalent');
  if (s.op && s.op !== 'SETOP_NONE') {
    const ops: Record<string, string> = { SETOP_UNION: 'UNION', SETOP_INTERSECT: 'INTERSECT', SETOP_EXCEPT: 'EXCEPT' };
    return `${printSelect(s.larg as PgFields, ctx)} ${ops[String(s.op)]}${s.all ? ' ALL' : ''} ${printSelect(s.rarg as PgFields, ctx)}`;
  }
  if (s.valuesLists) {
    const rows = (s.valuesLists as unknown[]).map(
      (row) => `(${((nodeOf(row)?.fields.items ?? []) as unknown[]).map((v) => printExpr(v, ctx)).join(', ')})`,
    );
    return `VALUES ${rows.join(', ')}`;
  }
  const distinct = s.distinctClause as unknown[] | undefined;
  if (distinct?.some((d) => nodeOf(d)))
    throw new Unconvertible('unsupported.select', 'DISTINCT ON has no SQLite equivalent');
  const targets = ((s.targetList ?? []) as unknown[]).map((t) => {
    const rt = nodeOf(t)?.fields ?? {};
    return `${printExpr(rt.val, ctx)}${rt.name ? ` AS ${quoteIdent(String(rt.name))}` : ''}`;
  });
  let sql = `SELECT ${distinct ? 'DISTINCT ' : ''}${targets.join(', ')}`;
  const from = (s.fromClause ?? []) as unknown[];
  if (from.length) sql += ` FROM ${from.map((item) => printFromItem(item, ctx)).join(', ')}`;
  if (s.whereClause) sql += ` WHERE ${printExpr(s.whereClause, ctx)}`;
  if (s.groupClause) sql += ` GROUP BY ${(s.groupClause as unknown[]).map((g) => printExpr(g, ctx)).join(', ')}`;
  if (s.havingClause) sql += ` HAVING ${printExpr(s.havingClause, ctx)}`;
  if (s.sortClause) {
    const keys = (s.sortClause as unknown[]).map((k) => {
      const sb = nodeOf(k)?.fields ?? {};
      const dir = sb.sortby_dir === 'SORTBY_DESC' ? ' DESC' : sb.sortby_dir === 'SORTBY_ASC' ? ' ASC' : '';
      const nulls =
        sb.sortby_nulls === 'SORTBY_NULLS_FIRST'
          ? ' NULLS FIRST'
          : sb.sortby_nulls === 'SORTBY_NULLS_LAST'
            ? ' NULLS LAST'
            : '';
      return `${printExpr(sb.node, ctx)}${dir}${nulls}`;
    });
    sql += ` ORDER BY ${keys.join(', ')}`;
  }
  if (s.limitCount) sql += ` LIMIT ${printExpr(s.limitCount, ctx)}`;
  if (s.limitOffset) sql += `${s.limitCount ? '' : ' LIMIT -1'} OFFSET ${printExpr(s.limitOffset, ctx)}`;
  return sql;
}
