import { describe, expect, it } from 'vitest';
import { validateCountQuery } from './count-query.ts';
import { convertPostgresToD1, parseD1MigrationRequest } from './d1.ts';
import { SqlRejectedError, SqlSyntaxError } from './errors.ts';
import {
  validateDataType,
  validateDefaultExpression,
  validateFunctionDdl,
  validateViewDefinition,
} from './fragments.ts';
import { checkRawStatement, classifyStatement, requireSingleStatement } from './statement.ts';

/** Every entry point, as a route would call it with an unchecked body field. */
const entryPoints: [string, (input: unknown) => Promise<unknown>][] = [
  ['classifyStatement', (x) => classifyStatement(x as string)],
  ['requireSingleStatement', (x) => requireSingleStatement(x as string)],
  ['checkRawStatement', (x) => checkRawStatement(x as string, { readOnly: true })],
  ['validateCountQuery', (x) => validateCountQuery(x as string)],
  ['validateDataType', (x) => validateDataType(x as string)],
  ['validateDefaultExpression', (x) => validateDefaultExpression(x as string, { sequenceExists: () => true })],
  ['validateViewDefinition', (x) => validateViewDefinition(x as string)],
  ['validateFunctionDdl', (x) => validateFunctionDdl(x as string)],
  [
    'convertPostgresToD1',
    async (x) => {
      const r = await convertPostgresToD1(
        parseD1MigrationRequest({ driver: 'd1', dbName: 'x', schemaSql: x }).sources,
        { strict: true },
      );
      // A D1 conversion answers diagnostics instead of throwing for SQL it cannot read.
      if (r.rejected) throw new SqlRejectedError('INVALID_D1_MIGRATION_REQUEST', 'rejected');
      return r;
    },
  ],
];

const deep = `SELECT ${Array(3000).fill('a').join(' + ')}`;
const hostile: unknown[] = [
  undefined,
  null,
  42,
  ['SELECT 1'],
  { sql: 'SELECT 1' },
  '',
  '\u0000',
  'SELECT 1\u0000; DROP TABLE t',
  "SELECT '\u0000'",
  ';;;',
  '/* unterminated',
  "'unterminated",
  '$$ unterminated',
  'SELECT 1; DROP TABLE t',
  deep,
  `${'SELECT 1;'.repeat(2000)}`,
  'SELECT \u202e1',
  '😀',
];

describe('hostile input never crashes a check', () => {
  for (const [name, run] of entryPoints) {
    it(name, async () => {
      for (const input of hostile) {
        let outcome: unknown;
        try {
          await run(input);
          outcome = 'accepted';
        } catch (err) {
          outcome = err;
        }
        const label = `${name}(${JSON.stringify(input)?.slice(0, 40)})`;
        if (outcome === 'accepted') continue;
        expect(
          outcome instanceof SqlRejectedError || outcome instanceof SqlSyntaxError,
          `${label}: ${String(outcome)}`,
        ).toBe(true);
        expect((outcome as SqlRejectedError).httpStatus, label).toBe(400);
      }
    });
  }

  it('refuses trees too deep to walk, rather than overflowing the stack', async () => {
    const err = await classifyStatement(deep).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlRejectedError);
    expect((err as SqlRejectedError).code).toBe('SQL_TOO_COMPLEX');
  });

  it('never accepts multi-statement or NUL-carrying text in the single-statement checks', async () => {
    for (const input of ['SELECT 1; DROP TABLE t', 'SELECT 1\u0000; DROP TABLE t', `${'SELECT 1;'.repeat(2000)}`]) {
      await expect(requireSingleStatement(input)).rejects.toThrow();
      await expect(validateCountQuery(input)).rejects.toThrow();
      await expect(validateViewDefinition(input)).rejects.toThrow();
    }
  });
});
