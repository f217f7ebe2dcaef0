import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reachable } from '../../../test/kit/reachable.ts';
import { createLogger } from '../../core/logger.ts';
import { MemoryRateLimiter, RedisRateLimiter } from './rate-limit.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await reachable(redisUrl);
const logger = createLogger({ logLevel: 'silent' });

describe('MemoryRateLimiter', () => {
  it('allows rpm requests at once, then refills continuously', async () => {
    const l = new MemoryRateLimiter();
    const t0 = 1_000_000;
    expect(await l.take('k', 2, t0)).toBe(0);
    expect(await l.take('k', 2, t0)).toBe(0);
    expect(await l.take('k', 2, t0)).toBe(30); // one token comes back after 60 s / 2
    expect(await l.take('other', 2, t0)).toBe(0);
    expect(await l.take('k', 2, t0 + 30_000)).toBe(0);
  });
});

describe('RedisRateLimiter', () => {
  it.skipIf(!redisUp)('two limiters (two instances) share one bucket per key', async () => {
    const a = new RedisRateLimiter(redisUrl, logger);
    const b = new RedisRateLimiter(redisUrl, logger);
    try {
      const key = randomUUID();
      await new Promise((r) => setTimeout(r, 200)); // connected (no offline queue)
      const answers = [await a.take(key, 3), await b.take(key, 3), await a.take(key, 3), await b.take(key, 3)];
      expect(answers.slice(0, 3)).toEqual([0, 0, 0]);
      expect(answers[3]).toBeGreaterThanOrEqual(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('falls back to the in-process bucket when Redis does not answer', async () => {
    const l = new RedisRateLimiter('redis://127.0.0.1:1', logger);
    try {
      expect(await l.take('k', 1)).toBe(0);
      expect(await l.take('k', 1)).toBeGreaterThanOrEqual(1);
    } finally {
      await l.close();
    }
  });
});
