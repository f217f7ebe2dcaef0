import { SqlRejectedError } from './errors.ts';

/*
 * Identifier rules shared by every part of Athena that emits SQL (notes §3.0): a plain name is
 * `^[A-Za-z_][A-Za-z0-9_$]*$` of at most 63 bytes (NAMEDATALEN - 1), and every identifier is emitted double-quoted
 * with `"` doubled, so case and reserved words survive and nothing can close the quote.
 */

const plainIdentifier = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** Postgres truncates identifiers beyond NAMEDATALEN - 1 bytes; longer names are refused instead. */
export const maxIdentifierBytes = 63;

/** Double-quotes an identifier for Postgres or SQLite, doubling embedded `"` (format('%I') without the bare form). */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new SqlRejectedError('INVALID_IDENTIFIER', 'an identifier must not contain NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** Whether `name` is a plain identifier Athena accepts from callers. */
export function isIdentifier(name: unknown): name is string {
  return (
    typeof name === 'string' && plainIdentifier.test(name) && Buffer.byteLength(name, 'utf8') <= maxIdentifierBytes
  );
}

/** Returns `name` when it is a plain identifier (≤ 63 bytes); throws a 400 SqlRejectedError otherwise. */
export function checkIdentifier(name: unknown, what = 'identifier'): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new SqlRejectedError('INVALID_IDENTIFIER', `${what} must be a non-empty string`);
  }
  if (Buffer.byteLength(name, 'utf8') > maxIdentifierBytes) {
    throw new SqlRejectedError('INVALID_IDENTIFIER', `${what} is longer than ${maxIdentifierBytes} bytes`);
  }
  if (!plainIdentifier.test(name)) {
    throw new SqlRejectedError(
      'INVALID_IDENTIFIER',
      `${what} "${name}" must match ^[A-Za-z_][A-Za-z0-9_$]*$ (letters, digits, _ and $, not starting with a digit)`,
    );
  }
  return name;
}

/** A schema-qualified name, each part quoted: `"s"."t"` (or `"t"` without a schema). */
export function quoteQualified(schema: string | null | undefined, name: string): string {
  return schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name);
}

/** A SQL string literal under standard_conforming_strings (Postgres' default since 9.1, and SQLite): `'` doubled. */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new SqlRejectedError('SQL_STATEMENT_REFUSED', 'a literal must not contain NUL');
  return `'${value.replace(/'/g, "''")}'`;
}
