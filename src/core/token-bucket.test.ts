import { expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.ts';

it('spends the burst, then refuses with the time until the next token, and refills at its rate', () => {
  let now = 0;
  const bucket = new TokenBucket(2, 3, () => now);
  expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
  expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 500 });
  now = 250;
  expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 250 });
  now = 500;
  expect(bucket.take()).toEqual({ ok: true });
  expect(bucket.take()).toMatchObject({ ok: false });
  // Refilling never exceeds the burst.
  now = 60_000;
  expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()].map((r) => r.ok)).toEqual([
    true,
    true,
    true,
    false,
  ]);
});

it('refuses a bucket that could never fill', () => {
  expect(() => new TokenBucket(0, 1)).toThrow();
  expect(() => new TokenBucket(1, 0)).toThrow();
});
