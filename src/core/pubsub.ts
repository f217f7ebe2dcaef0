import { createHash } from 'node:crypto';
import path from 'node:path';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

/**
 * Every pubsub topic with its payload, by name. Empty here: each module declares its topics next to their payloads
 * (declaration merging), so core names no module:
 *
 *   declare module '../../core/pubsub.ts' {
 *     interface TopicMap { 'storage.objectUploaded': [payload: { key: string }] }
 *   }
 *
 * and lists the names in its descriptor's `topics`. Names are `<module>.<event>` so they stay unique across modules
 * (and across Redis channels). A tuple of [payload] is a plain topic; [id: string, payload] makes a per-id channel
 * `<topic>:<id>`. Payloads cross Redis as JSON: send ids and plain data, not Dates, Buffers or class instances.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in each module
export interface TopicMap {}

/** The topic map as the plain object type yoga's PubSub constrains (an interface has no index signature). */
export type Topics = { [K in keyof TopicMap]: TopicMap[K] };

export type AppPubSub = PubSub<Topics>;

export interface PubSubBus {
  pubsub: AppPubSub;
  kind: 'memory' | 'redis';
  /** Quits the Redis connections (if any) so the process can exit. Idempotent. */
  close(): Promise<void>;
}

const quitTimeoutMs = 2_000;

/**
 * The Redis channel prefix of a deployment: `ATRIUM_PUBSUB_NAMESPACE` when set, else derived from the platform
 * database's identity (server, port, database name — not its credentials) or, on PGlite, the data dir. Two
 * deployments sharing one Redis never see each other's events; the replicas of one deployment share a database,
 * so they share the namespace.
 */
export function pubsubNamespace(config: Pick<Config, 'pubsubNamespace' | 'databaseUrl' | 'dataDir'>): string {
  if (config.pubsubNamespace) return config.pubsubNamespace;
  let identity = `dir:${path.resolve(config.dataDir)}`;
  if (config.databaseUrl) {
    try {
      const u = new URL(config.databaseUrl);
      identity = `pg:${u.hostname}:${u.port || '5432'}${u.pathname}`;
    } catch {
      identity = 'pg:unparseable';
    }
  }
  return `atrium:${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`;
}

/** In-process pub/sub by default; Redis-backed (shared by every replica) when `redisUrl` is set. */
export function createPubSubBus(
  config: Pick<Config, 'redisUrl'> & Partial<Pick<Config, 'pubsubNamespace' | 'databaseUrl' | 'dataDir'>>,
  logger: Logger,
): PubSubBus {
  if (!config.redisUrl) {
    return { pubsub: createPubSub<Topics>(), kind: 'memory', close: async () => {} };
  }
  const log = logger.child({ component: 'pubsub' });
  const redisUrl = config.redisUrl;

  const connect = (role: 'publish' | 'subscribe', options: RedisOptions) => {
    const client = new Redis(redisUrl, {
      lazyConnect: false,
      connectionName: `atrium-${role}`,
      // Reconnect forever with capped backoff: a Redis restart must not take the API down.
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000),
      ...options,
    });
    // One log line per outage, not one per reconnect attempt.
    let failing = false;
    client.on('error', (err: Error) => {
      if (failing) return;
      failing = true;
      log.error({ err, role, redis: redactUrl(redisUrl) }, 'redis pub/sub connection error');
    });
    client.on('ready', () => {
      if (failing) log.info({ role }, 'redis pub/sub connection restored');
      failing = false;
    });
    return client;
  };

  // Publishes during an outage fail after a few retries (logged) instead of queueing without bound.
  const publisher = connect('publish', { maxRetriesPerRequest: 3 });
  // SUBSCRIBE must never be dropped, or a listener would stay registered yet silently deaf after an outage.
  const subscriber = connect('subscribe', { maxRetriesPerRequest: null });

  // The event target fires publish/subscribe/unsubscribe without awaiting them; a rejection there would be
  // an unhandled rejection that kills the process. Route those failures to the log instead.
  const namespace = pubsubNamespace({
    pubsubNamespace: config.pubsubNamespace,
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir ?? '.',
  });
  const eventTarget = createRedisEventTarget({
    publishClient: catchRejections(
      publisher,
      (err, method) => log.error({ err, method }, 'redis pub/sub command failed; event dropped'),
      namespace,
    ),
    subscribeClient: catchRejections(
      subscriber,
      (err, method) => log.error({ err, method }, 'redis pub/sub command failed'),
      namespace,
    ),
  });

  let closing: Promise<void> | undefined;
  return {
    pubsub: createPubSub<Topics>({ eventTarget }),
    kind: 'redis',
    close: () => {
      closing ??= Promise.all([quit(publisher), quit(subscriber)]).then(() => {});
      return closing;
    },
  };
}

/**
 * The Redis client the event target uses, with two changes: command rejections go to `onError` (the target does
 * not await them), and channel names carry the deployment's namespace — added on PUBLISH/SUBSCRIBE/UNSUBSCRIBE,
 * removed from incoming messages, which are dropped when they belong to another namespace.
 */
function catchRejections(client: Redis, onError: (err: unknown, method: string) => void, namespace: string): Redis {
  const prefix = `${namespace}:`;
  const named = (channel: unknown) => (typeof channel === 'string' ? `${prefix}${channel}` : channel);
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'on' || prop === 'addListener') {
        return (event: string, listener: (...args: unknown[]) => void) => {
          if (event !== 'message') return target.on(event, listener);
          return target.on('message', (channel: string, message: string) => {
            if (channel.startsWith(prefix)) listener(channel.slice(prefix.length), message);
          });
        };
      }
      if (typeof value !== 'function' || (prop !== 'publish' && prop !== 'subscribe' && prop !== 'unsubscribe')) {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (...args: unknown[]) => {
        const renamed = prop === 'publish' ? [named(args[0]), ...args.slice(1)] : args.map(named);
        const result: unknown = value.apply(target, renamed);
        if (result instanceof Promise) return result.catch((err: unknown) => onError(err, prop));
        return result;
      };
    },
  });
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  // QUIT waits for Redis; while it is down that could be forever, so fall back to dropping the socket.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, quitTimeoutMs);
  });
  try {
    await Promise.race([client.quit().catch(() => {}), timeout]);
  } finally {
    clearTimeout(timer);
    client.disconnect(false);
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable)';
  }
}
