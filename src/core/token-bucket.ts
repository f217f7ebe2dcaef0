/**
 * A token bucket: `burst` tokens, refilled at `perSecond`. `take()` spends one token, or answers how many
 * milliseconds until one is there. The clock is injected for tests.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new Error('a token bucket needs a positive rate and a burst ≥ 1');
    this.tokens = burst;
    this.at = now();
  }

  /** Spends a token: `{ok: true}`, or `{ok: false, retryAfterMs}` (at least 1) when the bucket is empty. */
  take(): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000)) };
  }
}
