import { describe, expect, it } from 'vitest';
import { generatedIndexName, truncateIdentifier } from './schema.service.ts';

describe('generatedIndexName', () => {
  it('is <table>_<cols>_idx while it fits', () => {
    expect(generatedIndexName('users', ['org', 'email'])).toBe('users_org_email_idx');
  });

  it('is cut to 63 bytes, as Postgres would truncate it', () => {
    const name = generatedIndexName('t'.repeat(40), ['c'.repeat(40)]);
    expect(Buffer.byteLength(name)).toBe(63);
    expect(name).toBe(`${'t'.repeat(40)}_${'c'.repeat(22)}`);
  });
});

describe('truncateIdentifier', () => {
  it('never splits a UTF-8 character', () => {
    // 62 ASCII bytes then a 2-byte character: keeping it would need 64 bytes.
    const cut = truncateIdentifier(`${'a'.repeat(62)}éz`);
    expect(cut).toBe('a'.repeat(62));
    expect(truncateIdentifier(`${'a'.repeat(61)}éz`)).toBe(`${'a'.repeat(61)}é`);
  });

  it('keeps short names as they are', () => {
    expect(truncateIdentifier('short')).toBe('short');
  });
});
