import { describe, expect, test } from 'vitest';
import { DomainError } from '../../../core/errors.ts';
import {
  fromPostgresError,
  GatewayError,
  rangeNotSatisfiableError,
  singularResultError,
  statusForSqlState,
} from './errors.ts';

describe('statusForSqlState (PostgREST 12 table)', () => {
  test.each([
    ['23505', 409],
    ['23503', 409],
    ['25006', 405],
    ['42P01', 404],
    ['42883', 404],
    ['P0001', 400],
    ['P0002', 500],
    ['22P02', 400],
    ['23502', 400],
    ['42703', 400],
    ['57014', 500],
    ['08006', 503],
    ['53100', 503],
    ['53400', 500],
    ['28P01', 403],
    ['42P17', 500],
    ['XX000', 500],
    ['PT402', 402],
  ])('%s → %i', (code, status) => {
    expect(statusForSqlState(code)).toBe(status);
  });

  test('42501 is 401 for anonymous callers, 403 otherwise', () => {
    expect(statusForSqlState('42501', { anonymous: true })).toBe(401);
    expect(statusForSqlState('42501')).toBe(403);
  });
});

describe('fromPostgresError', () => {
  test('keeps only the database message, detail and hint', () => {
    const pgError = Object.assign(new Error('duplicate key value violates unique constraint "t_pkey"'), {
      code: '23505',
      severity: 'ERROR',
      detail: 'Key (id)=(1) already exists.',
      hint: undefined,
      query: 'INSERT INTO secret_table …',
      where: 'SQL function "f"',
    });
    const e = fromPostgresError(pgError);
    expect(e).toBeInstanceOf(GatewayError);
    expect(e).toBeInstanceOf(DomainError);
    expect(e.httpStatus).toBe(409);
    expect(e.toJSON()).toEqual({
      code: '23505',
      message: 'duplicate key value violates unique constraint "t_pkey"',
      details: 'Key (id)=(1) already exists.',
      hint: null,
    });
    expect(JSON.stringify(e.toJSON())).not.toContain('secret_table');
  });

  test('non-database errors are rethrown, GatewayErrors pass through', () => {
    const socket = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    expect(() => fromPostgresError(socket)).toThrow('write EPIPE');
    expect(() => fromPostgresError('text')).toThrow();
    const g = new GatewayError(400, 'PGRST100', 'bad');
    expect(fromPostgresError(g)).toBe(g);
  });
});

describe('response-shape errors', () => {
  test('PGRST116 and PGRST103 carry PostgREST statuses and texts', () => {
    expect([singularResultError(2).httpStatus, singularResultError(2).toJSON()]).toEqual([
      406,
      {
        code: 'PGRST116',
        message: 'JSON object requested, multiple (or no) rows returned',
        details: 'The result contains 2 rows',
        hint: null,
      },
    ]);
    const range = rangeNotSatisfiableError(50, 10);
    expect([range.httpStatus, range.code, range.details]).toEqual([
      416,
      'PGRST103',
      'An offset of 50 was requested, but there are only 10 rows.',
    ]);
  });
});
