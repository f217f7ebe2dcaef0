import { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';

/**
 * A per-key requests-per-minute limiter: token buckets of capacity `rpm`, refilled continuously. `take` answers 0
 * when a request may pass (a token was taken), else the whole seconds until one is available.
 */
export interface RateLimiter {
  readonly kind: 'memory' | 'redis';
  take(key: string, rpm: number, now?: number): Promise<number>;
  close(): Promise<void>;
}

/** In-process buckets (one instance: with N instances a key could reach N× its limit; use Redis then). */
export class MemoryRateLimiter implements RateLimiter {
  readonly kind = 'memory';
  private readonly buckets = new Map<string, { tokens: number; at: number; rpm: number }>();

  async take(key: string, rpm: number, now = Date.now()): Promise<number> {
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

  async close(): Promise<void> {}

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 120_000) this.buckets.delete(k);
  }
}

/**
 * The same bucket in Redis, shared by every instance: one Lua script reads, refills, takes and writes atomically,
 * with Redis' own clock (`TIME`) so instance clocks never have to agree. The bucket expires after two idle minutes.
 * KEYS[1] bucket hash; ARGV[1] rpm. Returns 0 (allowed) or the seconds to wait.
 */
const takeScript = `
local rpm = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'rpm')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or tonumber(b[3]) ~= rpm then
  tokens = rpm
  at = now
end
tokens = math.min(rpm, tokens + ((now - at) * rpm) / 60000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil(((1 - tokens) * 60) / rpm))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now), 'rpm', tostring(rpm))
redis.call('PEXPIRE', KEYS[1], 120000)
return wait
`;

/**
 * Shared buckets in Redis. If Redis cannot answer (down, restarting), the request is limited by this instance's
 * in-process bucket instead (logged, at most once a minute): a Redis outage degrades the limit to per-instance
 * rather than refusing or failing every request.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly kind = 'redis';
  private readonly client: Redis;
  private readonly fallback = new MemoryRateLimiter();
  private lastWarning = 0;

  constructor(
    url: string,
    private readonly logger: Logger,
  ) {
    this.client = new Redis(url, {
      // Fail fast while disconnected (no offline queue): the fallback answers instead of the request waiting.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    });
    this.client.on('error', (err) => this.warn(err));
    this.client.defineCommand('atriumTakeToken', { numberOfKeys: 1, lua: takeScript });
  }

  async take(key: string, rpm: number, now = Date.now()): Promise<number> {
    if (rpm <= 0) return 60;
    const client = this.client as unknown as { atriumTakeToken(k: string, rpm: string): Promise<number> };
    try {
      return Number(await client.atriumTakeToken(`atrium:ratelimit:${key}`, String(rpm)));
    } catch (err) {
      this.warn(err);
      return this.fallback.take(key, rpm, now);
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private warn(err: unknown): void {
    if (Date.now() - this.lastWarning < 60_000) return;
    this.lastWarning = Date.now();
    const message = err instanceof Error ? err.message : String(err);
    this.logger.warn({ err: message }, 'redis rate limiter unavailable: per-instance limits until it answers');
  }
}
