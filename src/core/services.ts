import type { PolykomosService } from '../modules/polykomos/polykomos.service.ts';
import type { PolykomosWebhookService } from '../modules/polykomos/webhooks.service.ts';
import type { RuntimeService } from '../modules/runtime/runtime.service.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { TokenService } from './auth/jwt.ts';
import type { Config } from './config.ts';
import type { Database, PrismaClient } from './db.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { ObjectStore } from './object-store.ts';
import type { AppPubSub } from './pubsub.ts';

/**
 * Everything a module service needs, built once per app. Passed explicitly (never a module-level
 * singleton) because one process may host several apps, e.g. tests against PGlite and Postgres.
 */
export interface Services {
  config: Config;
  logger: Logger;
  db: Database;
  prisma: PrismaClient;
  pubsub: AppPubSub;
  objectStore: ObjectStore;
  tokens: TokenService;
  authenticator: Authenticator;
  metrics: Metrics;
  /** Sandboxed JavaScript executions (mcp-v8). */
  runtime: RuntimeService;
  /** Database provisioning and API-key controls (Polykomos). */
  polykomos: PolykomosService;
  /** Polykomos webhook endpoints and deliveries. */
  polykomosWebhooks: PolykomosWebhookService;
}
