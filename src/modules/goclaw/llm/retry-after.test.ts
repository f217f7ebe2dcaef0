import { describe, expect, it } from 'vitest';
import { retryAfter, statusError } from './http.ts';

describe('retryAfter', () => {
  it('reads delta-seconds and HTTP dates, and ignores what it cannot read', () => {
    expect(retryAfter({ 'retry-after': '7' })).toBe(7);
    expect(retryAfter({ 'retry-after': ['12', '3'] })).toBe(12);
    const at = new Date(Date.now() + 90_000).toUTCString();
    const seconds = retryAfter({ 'retry-after': at }) ?? 0;
    expect(seconds).toBeGreaterThan(80);
    expect(seconds).toBeLessThanOrEqual(90);
    expect(retryAfter({ 'retry-after': new Date(Date.now() - 60_000).toUTCString() })).toBe(0);
    expect(retryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfter({ 'retry-after': '-1' })).toBeUndefined();
    expect(retryAfter({})).toBeUndefined();
  });

  it('travels on the provider error with its status and message', () => {
    const err = statusError(429, JSON.stringify({ error: { message: 'slow down' } }), 7);
    expect(err).toMatchObject({ status: 429, retryAfterSeconds: 7, message: 'provider answered 429: slow down' });
  });
});
