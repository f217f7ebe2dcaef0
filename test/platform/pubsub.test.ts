import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createPubSubBus, type PubSubBus, pubsubNamespace } from '../../src/core/pubsub.ts';
import { reachable } from '../kit/reachable.ts';

const silent = pino({ level: 'silent' });
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// An explicit REDIS_URL means "test against this": never skip then. Only the implicit default may be absent.
const redisUp = await reachable(redisUrl);
if (!redisUp && process.env.REDIS_URL) throw new Error(`REDIS_URL=${process.env.REDIS_URL} is set but not reachable`);
if (!redisUp) console.warn(`Skipping Redis pub/sub tests: REDIS_URL is unset and ${redisUrl} is unreachable`);

// Test-only topics with random names, so parallel test files (and real servers on the same Redis) never
// see these events. The cast only widens the topic registry; the runtime object is the app's pub/sub.
type TestTopics = Record<string, [payload: { n: number; id: string }]>;
const asTestPubSub = (bus: PubSubBus) => bus.pubsub as unknown as PubSub<TestTopics>;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const buses: PubSubBus[] = [];
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
});

describe('memory bus', () => {
  it('delivers published events to subscribers', async () => {
    const bus = createPubSubBus({ redisUrl: undefined }, silent);
    buses.push(bus);
    expect(bus.kind).toBe('memory');
    const iterator = bus.pubsub.subscribe('access.auditEventRecorded')[Symbol.asyncIterator]();
    const next = iterator.next();
    bus.pubsub.publish('access.auditEventRecorded', { auditEventId: 'audit_1' });
    expect(await withTimeout(next, 2000, 'memory delivery')).toEqual({
      done: false,
      value: { auditEventId: 'audit_1' },
    });
    await iterator.return?.();
    await bus.close();
  });
});

describe.skipIf(!redisUp)('redis bus', () => {
  it('delivers an event published by one bus to a subscriber of another (as across two processes)', async () => {
    // Each bus opens its own publish and subscribe connections, exactly like two server processes would.
    const a = createPubSubBus({ redisUrl }, silent);
    const b = createPubSubBus({ redisUrl }, silent);
    buses.push(a, b);
    expect(a.kind).toBe('redis');
    expect(b.kind).toBe('redis');

    const topic = `test.pubsub.${randomUUID()}`;
    const iterator = asTestPubSub(b).subscribe(topic)[Symbol.asyncIterator]();
    // The repeater subscribes on first pull; wait until Redis has the subscription before publishing.
    const received = iterator.next();
    const probe = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
    try {
      await withTimeout(
        (async () => {
          for (;;) {
            // Channels carry the deployment's namespace (here derived from the data dir, '.').
            const channel = `${pubsubNamespace({ pubsubNamespace: undefined, databaseUrl: undefined, dataDir: '.' })}:${topic}`;
            const [, count] = (await probe.pubsub('NUMSUB', channel)) as [string, number];
            if (Number(count) >= 1) return;
            await new Promise((r) => setTimeout(r, 20));
          }
        })(),
        5000,
        'redis subscription',
      );
    } finally {
      probe.disconnect();
    }

    const id = randomUUID();
    asTestPubSub(a).publish(topic, { n: 1, id });
    expect(await withTimeout(received, 5000, 'cross-bus delivery')).toEqual({ done: false, value: { n: 1, id } });

    asTestPubSub(a).publish(topic, { n: 2, id });
    expect(await withTimeout(iterator.next(), 5000, 'second delivery')).toEqual({ done: false, value: { n: 2, id } });
    await iterator.return?.();

    // close() must release every connection so the process can exit; it is idempotent.
    await withTimeout(Promise.all([a.close(), b.close(), a.close()]), 5000, 'close');
  });

  it('keeps deployments apart: a namespace sees only its own events', async () => {
    const topic = `test.pubsub.${randomUUID()}`;
    const mine = createPubSubBus({ redisUrl, pubsubNamespace: `ns-${randomUUID()}` }, silent);
    const other = createPubSubBus({ redisUrl, pubsubNamespace: `ns-${randomUUID()}` }, silent);
    buses.push(mine, other);
    const iterator = asTestPubSub(mine).subscribe(topic)[Symbol.asyncIterator]();
    const received = iterator.next();
    // Let the SUBSCRIBE reach Redis, then publish from the other deployment first, then from this one.
    await new Promise((r) => setTimeout(r, 300));
    asTestPubSub(other).publish(topic, { n: 0, id: 'other' });
    asTestPubSub(mine).publish(topic, { n: 1, id: 'mine' });
    expect(await withTimeout(received, 5000, 'own delivery')).toEqual({ done: false, value: { n: 1, id: 'mine' } });
    await iterator.return?.();
  });

  it('derives the namespace from the database identity, not its credentials', () => {
    const a = pubsubNamespace({
      pubsubNamespace: undefined,
      databaseUrl: 'postgres://u:one@db:5432/app',
      dataDir: '/x',
    });
    const b = pubsubNamespace({
      pubsubNamespace: undefined,
      databaseUrl: 'postgres://v:two@db:5432/app',
      dataDir: '/y',
    });
    const c = pubsubNamespace({
      pubsubNamespace: undefined,
      databaseUrl: 'postgres://u:one@db:5432/other',
      dataDir: '/x',
    });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(pubsubNamespace({ pubsubNamespace: 'fixed', databaseUrl: undefined, dataDir: '/x' })).toBe('fixed');
  });

  it('types the registry: audit events flow through Redis too', async () => {
    const bus = createPubSubBus({ redisUrl }, silent);
    buses.push(bus);
    const iterator = bus.pubsub.subscribe('access.auditEventRecorded')[Symbol.asyncIterator]();
    const next = iterator.next();
    // Other test files may publish on this shared topic; only our own id counts.
    const id = `audit_${randomUUID()}`;
    const timer = setInterval(() => bus.pubsub.publish('access.auditEventRecorded', { auditEventId: id }), 50);
    try {
      let result = await withTimeout(next, 5000, 'audit delivery');
      while (result.value?.auditEventId !== id) result = await withTimeout(iterator.next(), 5000, 'audit delivery');
      expect(result.value).toEqual({ auditEventId: id });
    } finally {
      clearInterval(timer);
      await iterator.return?.();
      await bus.close();
    }
  });
});

describe('redis bus with Redis down', () => {
  it('logs instead of throwing, and still closes promptly', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const logger = pino({ level: 'warn' }, sink);
    // Port 1 is never a Redis server: every connection attempt is refused.
    const bus = createPubSubBus({ redisUrl: 'redis://127.0.0.1:1' }, logger);
    expect(bus.kind).toBe('redis');
    const iterator = asTestPubSub(bus).subscribe('test.down')[Symbol.asyncIterator]();
    void iterator.next().catch(() => {});
    asTestPubSub(bus).publish('test.down', { n: 1, id: 'x' });

    // The publish fails after a few reconnect attempts; that must be a log line, not an unhandled rejection.
    await withTimeout(
      (async () => {
        while (!lines.some((l) => l.includes('event dropped'))) await new Promise((r) => setTimeout(r, 50));
      })(),
      10_000,
      'dropped-event log line',
    );
    expect(lines.some((l) => l.includes('redis pub/sub connection error'))).toBe(true);
    // One line per outage, not one per reconnect attempt.
    expect(lines.filter((l) => l.includes('redis pub/sub connection error')).length).toBeLessThanOrEqual(2);

    const started = Date.now();
    await iterator.return?.();
    await bus.close();
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
