import { type AdminKeySource, loadAdminKey } from './core/auth/admin-key.ts';
import { Authenticator } from './core/auth/authenticator.ts';
import { loadSigningKeys, TokenService } from './core/auth/jwt.ts';
import { loadSecretBox } from './core/auth/secret-box.ts';
import type { Config } from './core/config.ts';
import { openDatabase } from './core/db.ts';
import { JobRunner } from './core/jobs/runner.ts';
import type { Logger } from './core/logger.ts';
import { createMetrics } from './core/metrics.ts';
import { type AnyModule, checkRegistry, dependencyView, type ModuleServices } from './core/module.ts';
import { defaultOutboundPolicy } from './core/net/outbound.ts';
import { createObjectStore } from './core/object-store.ts';
import { createPubSubBus } from './core/pubsub.ts';
import type { CoreServices, Services } from './core/services.ts';
import { modules } from './modules/registry.ts';

/** Core services and every module, started: what `serve` puts behind HTTP and what `worker` runs jobs with. */
export interface Platform {
  core: CoreServices;
  services: Services;
  adminKey: AdminKeySource;
  /** Stops the job runner (jobs in flight go back to the queue), then the modules in reverse order, then core. */
  close(): Promise<void>;
}

/**
 * Opens the platform database (migrated), object storage, pub/sub and auth; creates every module in registry
 * order (each sees only the modules it `needs`), registers their credential kinds and job kinds, starts them, and
 * starts claiming jobs when `config.jobs.concurrency` > 0.
 */
export async function startPlatform(config: Config, logger: Logger): Promise<Platform> {
  checkRegistry(modules);
  const db = await openDatabase(config, logger);
  const applied = await db.migrate();
  if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
  const objectStore = await createObjectStore(config, logger);
  const bus = createPubSubBus(config, logger);
  const adminKey = await loadAdminKey(config.adminKey, config.dataDir);
  const tokens = await TokenService.fromJwks(await loadSigningKeys(config.jwtKeys, config.dataDir), config.jwtIssuer);
  const jobs = new JobRunner({ prisma: db.prisma, logger, instanceId: config.instanceId, config: config.jobs });
  const core: CoreServices = {
    config,
    logger,
    db,
    prisma: db.prisma,
    pubsub: bus.pubsub,
    objectStore,
    tokens,
    authenticator: new Authenticator({ tokens, adminKey: adminKey.key }),
    metrics: createMetrics(),
    secrets: await loadSecretBox(config.secretKey, config.dataDir),
    outbound: { ...defaultOutboundPolicy, allowPrivate: config.allowPrivateOutbound },
    jobs,
  };

  const created: Partial<ModuleServices> = {};
  const serviceOf = (m: AnyModule) => (created as Record<string, unknown>)[m.name];
  const createdModules: AnyModule[] = [];
  const closeModules = async () => {
    for (const m of [...createdModules].reverse()) await m.close?.(serviceOf(m));
  };
  try {
    for (const m of modules) {
      const service = await m.create({ core, config: config.modules[m.name], modules: dependencyView(m, created) });
      (created as Record<string, unknown>)[m.name] = service;
      createdModules.push(m);
      for (const verifier of m.credentials?.(service) ?? []) core.authenticator.register(verifier);
      for (const kind of m.jobs?.(service) ?? []) {
        if (!kind.kind.startsWith(`${m.name}.`)) throw new Error(`job kind "${kind.kind}" must start "${m.name}."`);
        jobs.define(kind);
      }
    }
    for (const m of modules) await m.start?.(serviceOf(m));
    jobs.start();
  } catch (err) {
    await jobs.close().catch((e: unknown) => logger.error({ err: e }, 'could not stop the job runner'));
    await closeModules().catch((e: unknown) =>
      logger.error({ err: e }, 'could not close modules after a failed start'),
    );
    await Promise.allSettled([bus.close(), objectStore.close(), db.close()]);
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    core,
    services: { ...core, ...created } as Services,
    adminKey,
    close: () => {
      closing ??= (async () => {
        await jobs.close({ graceMs: config.shutdownGraceMs });
        await closeModules();
        await bus.close();
        await objectStore.close();
        await db.close();
      })();
      return closing;
    },
  };
}
