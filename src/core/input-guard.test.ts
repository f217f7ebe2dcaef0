import { describe, expect, it } from 'vitest';
import { findNul, hasControlCharacter, jsonDeeperThan, rawPathOf, unsafePathReason } from './input-guard.ts';

describe('input guard', () => {
  it('finds U+0000 in strings and keys, with its location', () => {
    expect(findNul({ a: 'ok', b: ['x', 'y\u0000'] })).toBe('b[1]');
    expect(findNul({ meta: { 'k\u0000': 1 } })).toBe('meta.k\\u0000');
    expect(findNul('\u0000')).toBe('(value)');
    expect(findNul({ a: 'fine', n: 1, d: null })).toBeUndefined();
  });

  it('tells control characters in identifiers', () => {
    expect(hasControlCharacter('abc\n')).toBe(true);
    expect(hasControlCharacter('a\u007fb')).toBe(true);
    expect(hasControlCharacter('plain-id_1.2')).toBe(false);
  });

  it('measures JSON depth without recursion', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(jsonDeeperThan(deep, 64)).toBe(true);
    expect(jsonDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(jsonDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
  });

  it('refuses dot segments in every spelling and backslashes, on the raw path', () => {
    for (const raw of [
      '/deepstore/%2e%2e/metrics',
      '/deepstore/%2E./metrics',
      '/deepstore/.%2e/metrics',
      '/deepstore/../metrics',
      '/deepstore/./x',
      '/deepstore/a/%2e',
      '/deepstore\\..\\metrics',
    ]) {
      expect(unsafePathReason(raw), raw).toBeDefined();
    }
    for (const raw of [
      '/deepstore/databases/a.b',
      '/deepstore/...',
      '/x/%2e%2e%2e',
      '/openapi.json',
      '/a/.well-known',
    ]) {
      expect(unsafePathReason(raw), raw).toBeUndefined();
    }
    expect(rawPathOf('/a/%2e%2e/b?x=1#f')).toBe('/a/%2e%2e/b');
  });
});
