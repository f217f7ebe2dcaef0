import type { Authenticator } from './auth/authenticator.ts';
import type { TokenService } from './auth/jwt.ts';
import type { SecretBox } from './auth/secret-box.ts';
import type { Config } from './config.ts';
import type { Database, PrismaClient } from './db.ts';
import type { JobRunner } from './jobs/runner.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { ModuleServices } from './module.ts';
import type { OutboundPolicy } from './net/outbound.ts';
import type { ObjectStore } from './object-store.ts';
import type { AppPubSub } from './pubsub.ts';

/**
 * The platform services every module builds on, created once per app before any module. Passed explicitly (never
 * a module-level singleton) because one process may host several apps, e.g. tests against PGlite and Postgres.
 */
export interface CoreServices {
  config: Config;
  logger: Logger;
  db: Database;
  prisma: PrismaClient;
  pubsub: AppPubSub;
  objectStore: ObjectStore;
  tokens: TokenService;
  /** Turns credentials into a Principal; modules add their credential kinds (API keys, service tokens). */
  authenticator: Authenticator;
  metrics: Metrics;
  /** Seals secrets kept at rest (AES-256-GCM with the server key). */
  secrets: SecretBox;
  /** The default policy of outbound requests to user-supplied URLs (the guard in `core/net/outbound.ts`). */
  outbound: OutboundPolicy;
  /** Durable jobs: modules declare kinds in their descriptor and enqueue here; any instance may run them. */
  jobs: JobRunner;
}

/** What GraphQL resolvers and REST handlers reach: core services and every module's service, by module name. */
export type Services = CoreServices & ModuleServices;
