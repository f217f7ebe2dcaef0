import { describe, expect, it } from 'vitest';
import { AthenaInvalidInputError } from './athena.errors.ts';
import { checkOps, routeKeyPattern } from './routes.service.ts';

describe('checkOps', () => {
  it('keeps the closed list, in order, without duplicates', () => {
    expect(checkOps(['fetch', 'query', 'fetch', 'delete'])).toEqual(['fetch', 'query', 'delete']);
  });

  it.each([[[]], [['drop']], [['FETCH']], [['fetch', 'sql']]])('refuses %j', (ops) => {
    expect(() => checkOps(ops)).toThrow(AthenaInvalidInputError);
  });
});

describe('route keys', () => {
  it.each(['a', 'acme', 'tenant-1', 'a_b', '0x'])('accepts %s', (key) => {
    expect(routeKeyPattern.test(key)).toBe(true);
  });

  it.each(['', '-a', 'a-', 'A', 'a.b', 'a/b', '..', `a${'b'.repeat(63)}`, 'a b'])('refuses %j', (key) => {
    expect(routeKeyPattern.test(key)).toBe(false);
  });
});
