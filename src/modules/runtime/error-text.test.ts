import { describe, expect, it } from 'vitest';
import { DomainError } from '../../core/errors.ts';
import { hostFailure, maxRecordedErrorChars, recordableError } from './error-text.ts';

describe('recordableError', () => {
  it('escapes NUL and other control characters, keeps newlines and tabs', () => {
    expect(recordableError('a\u0000b\u0007c\u001bd\u007f\u0085e\nf\tg')).toBe(
      'a\\u0000b\\u0007c\\u001bd\\u007f\\u0085e\nf\tg',
    );
  });

  it('bounds huge texts and marks the cut', () => {
    const out = recordableError('x'.repeat(1_000_000));
    expect(out.length).toBeLessThanOrEqual(maxRecordedErrorChars + 20);
    expect(out.endsWith('… (truncated)')).toBe(true);
    const nuls = recordableError('\u0000'.repeat(100_000));
    expect(nuls.length).toBeLessThanOrEqual(maxRecordedErrorChars + 20);
    expect(nuls).not.toContain('\u0000');
  });

  it('replaces lone surrogates, including one left by the cut', () => {
    expect(recordableError('a\uD800b\uDC00c')).toBe('a\uFFFDb\uFFFDc');
    expect(recordableError('😀')).toBe('😀');
    const cut = recordableError(`${'x'.repeat(maxRecordedErrorChars - 1)}😀tail`);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe('hostFailure', () => {
  it("shows a domain error's message, never another error's text", () => {
    class Limit extends DomainError {}
    expect(hostFailure('Filesystem flush failed', new Limit('tree too large'))).toBe(
      'Filesystem flush failed: tree too large',
    );
    const internal = new Error('Invalid `prisma.heapSnapshot.upsert()` invocation in /work/src/x.ts:3:4');
    expect(hostFailure('Heap snapshot store failed', internal)).toBe('Heap snapshot store failed');
  });
});
