/**
 * Token buckets per API key, in memory per instance: capacity = requests per minute, refilled continuously.
 * With N instances a key can reach N× its limit (documented in docs/polykomos.md).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number; rpm: number }>();

  /** Takes one token; returns 0 when allowed, else the whole seconds until one is available. */
  take(key: string, rpm: number, now = Date.now()): number {
    if (rpm <= 0) return 60;
    let b = this.buckets.get(key);
    if (!b || b.rpm !== rpm) {
      b = { tokens: rpm, at: now, rpm };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(rpm, b.tokens + ((now - b.at) * rpm) / 60_000);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    if (this.buckets.size > 100_000) this.prune(now);
    return Math.max(1, Math.ceil(((1 - b.tokens) * 60) / rpm));
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 120_000) this.buckets.delete(k);
  }
}
