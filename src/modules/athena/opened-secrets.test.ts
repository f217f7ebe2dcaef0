import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../core/auth/secret-box.ts';
import { OpenedSecrets } from './opened-secrets.ts';

describe('OpenedSecrets', () => {
  it('opens each sealed value once and returns its plaintext', () => {
    const opened: string[] = [];
    const secrets = new OpenedSecrets((s) => {
      opened.push(s);
      return `plain:${s}`;
    });
    expect(secrets.get('a')).toBe('plain:a');
    expect(secrets.get('a')).toBe('plain:a');
    expect(secrets.get('b')).toBe('plain:b');
    expect(opened).toEqual(['a', 'b']);
  });

  it('sees a re-sealed URI as a new value: a changed URI is never answered from the cache', () => {
    const box = new SecretBox(Buffer.alloc(32, 7));
    const secrets = new OpenedSecrets((s) => box.open(s));
    const before = box.seal('postgres://u:old@db/a');
    const after = box.seal('postgres://u:new@db/a');
    expect(secrets.get(before)).toBe('postgres://u:old@db/a');
    expect(secrets.get(after)).toBe('postgres://u:new@db/a');
    // Sealing the same text twice gives two ciphertexts (fresh IV), so even an equal URI is opened again.
    expect(box.seal('postgres://u:new@db/a')).not.toBe(after);
  });

  it('does not cache a failed opening', () => {
    let calls = 0;
    const secrets = new OpenedSecrets(() => {
      calls++;
      if (calls === 1) throw new Error('tampered');
      return 'ok';
    });
    expect(() => secrets.get('x')).toThrow('tampered');
    expect(secrets.get('x')).toBe('ok');
    expect(calls).toBe(2);
  });

  it('stays bounded, dropping the oldest entry', () => {
    const opened: string[] = [];
    const secrets = new OpenedSecrets((s) => {
      opened.push(s);
      return s.toUpperCase();
    }, 2);
    secrets.get('a');
    secrets.get('b');
    secrets.get('c'); // drops a
    secrets.get('b'); // still cached
    secrets.get('a'); // opened again
    expect(opened).toEqual(['a', 'b', 'c', 'a']);
    secrets.clear();
    secrets.get('c');
    expect(opened).toEqual(['a', 'b', 'c', 'a', 'c']);
  });
});
