import { defineModule } from '../../core/module.ts';
import { parseAthenaConfig } from './athena.config.ts';
import { athenaTopics } from './athena.topics.ts';
import { AthenaChatService, chatTopics } from './chat/chat.service.ts';
import { AthenaSessionsService } from './chat/sessions.ts';
import { AthenaClientsService } from './clients.service.ts';
import { AthenaD1Service } from './d1.service.ts';
import { AthenaDeferredService } from './deferred.service.ts';
import { ApiKeyEnforcement } from './enforcement.ts';
import { AthenaGatewayService } from './gateway.service.ts';
import { AthenaKeysService } from './keys.service.ts';
import { AthenaMetaService } from './meta.service.ts';
import { AthenaPublicRoutesService } from './public-routes.service.ts';
import { AthenaRoutesService } from './routes.service.ts';
import { RowChangeHub } from './row-changes.ts';
import { AthenaS3CatalogsService } from './s3-catalogs.service.ts';
import { AthenaRawS3Service } from './s3-raw.service.ts';
import { AthenaSchemaService } from './schema.service.ts';
import { AthenaStorageService, storageTopics } from './storage/storage.service.ts';

/** Athena's services: the client catalog and pools (G5); the gateway, schema and meta services build on it. */
export interface Athena {
  clients: AthenaClientsService;
  gateway: AthenaGatewayService;
  changes: RowChangeHub;
  /** The meta routes (G14): root, health, cluster probes, debug reports, registries, error catalog, metrics. */
  meta: AthenaMetaService;
  /** Public routes, tenant service routes and tenant hostnames (G5). */
  routes: AthenaRoutesService;
  /** Schema introspection and audited management DDL (G2). */
  schema: AthenaSchemaService;
  /** Deferred gateway requests (`X-Athena-Defer`) and their job kind. */
  deferred: AthenaDeferredService;
  /** `/public/{route_key}/{op}` dispatch. */
  publicRoutes: AthenaPublicRoutesService;
  /** PostgreSQL → D1 migrations. */
  d1: AthenaD1Service;
  /** Access control (G4): `ath_` keys, rights, the enforcement switch, IP policy. */
  keys: AthenaKeysService;
  enforcement: ApiKeyEnforcement;
  /** Chat (G3) on each client's database, with its outbox and realtime streams. */
  chat: AthenaChatService;
  /** Athena sessions (`aths_…`): who a chat caller is; a credential kind of the authenticator. */
  sessions: AthenaSessionsService;
  /** S3 catalogs and credentials per client (G11), secrets sealed. */
  s3Catalogs: AthenaS3CatalogsService;
  /** Raw S3 object and bucket operations (G11) against a catalog or, when configured, an inline endpoint. */
  s3Raw: AthenaRawS3Service;
  /** Managed storage (G12): files, folders, permissions, multipart, versions, audit and events per client. */
  storage: AthenaStorageService;
}

declare module '../../core/module.ts' {
  interface ModuleServices {
    athena: Athena;
  }
}

export const athenaModule = defineModule({
  name: 'athena',
  description: 'Athena: the Postgres gateway over client databases (docs/athena.md)',
  needs: ['access', 'databases', 'polykomos'],
  config: parseAthenaConfig,
  create: ({ core, config, modules }): Athena => {
    const enforcement = new ApiKeyEnforcement({
      prisma: core.prisma,
      pubsub: core.pubsub,
      logger: core.logger,
      defaultEnforce: config.enforceApiKeys,
    });
    const clients = new AthenaClientsService({
      enforcement,
      prisma: core.prisma,
      box: core.secrets,
      logger: core.logger,
      pubsub: core.pubsub,
      config,
      dataDir: core.config.dataDir,
      pgliteTemplateDir: core.config.pgliteTemplateDir,
      databases: modules.databases,
      polykomos: modules.polykomos.databases,
      allowPrivateOutbound: core.outbound.allowPrivate,
      platformDatabaseUrl: core.config.databaseUrl,
    });
    const gateway = new AthenaGatewayService({ clients, config, pubsub: core.pubsub, logger: core.logger });
    const changes = new RowChangeHub({ clients, gateway, config, logger: core.logger });
    const meta = new AthenaMetaService({
      prisma: core.prisma,
      db: core.db,
      objectStore: core.objectStore,
      outbound: core.outbound,
      metrics: core.metrics,
      logger: core.logger,
      config,
      clients,
    });
    const routes = new AthenaRoutesService({ prisma: core.prisma, clients, outbound: core.outbound });
    const schema = new AthenaSchemaService({
      clients,
      gateway,
      prisma: core.prisma,
      config,
      logger: core.logger,
      registry: core.metrics.registry,
      countMutation: (kind) => meta.countMutation(kind),
    });
    const deferred = new AthenaDeferredService({
      prisma: core.prisma,
      jobs: core.jobs,
      gateway,
      clients,
      config,
      logger: core.logger,
    });
    const publicRoutes = new AthenaPublicRoutesService({ prisma: core.prisma, gateway });
    const d1 = new AthenaD1Service({ clients, config, outbound: core.outbound });
    const keys = new AthenaKeysService({ prisma: core.prisma, access: modules.access, enforcement });

    const sessions = new AthenaSessionsService({
      prisma: core.prisma,
      pubsub: core.pubsub,
      logger: core.logger,
      clients,
    });
    const s3Catalogs = new AthenaS3CatalogsService({ prisma: core.prisma, box: core.secrets, clients });
    const s3Raw = new AthenaRawS3Service({ catalogs: s3Catalogs, outbound: core.outbound, config });
    const storage = new AthenaStorageService({
      clients,
      s3: s3Raw,
      pubsub: core.pubsub,
      logger: core.logger,
      urlTtlSeconds: config.storageUrlTtlSeconds,
      maxUploadBytes: config.storageMaxUploadBytes,
    });
    const chat = new AthenaChatService({
      clients,
      pubsub: core.pubsub,
      logger: core.logger,
      readableFiles: (principal, ids) => storage.readableFileIds(principal, ids),
    });
    return {
      storage,
      s3Catalogs,
      s3Raw,
      clients,
      routes,
      gateway,
      changes,
      meta,
      schema,
      deferred,
      publicRoutes,
      d1,
      keys,
      enforcement,
      chat,
      sessions,
    };
  },
  credentials: (athena) => [athena.sessions],
  jobs: (athena) => [athena.deferred.jobKind],
  start: async (athena) => {
    await athena.enforcement.start();
    await athena.clients.start();
    athena.chat.start();
    athena.storage.start();
  },
  close: async (athena) => {
    athena.chat.close();
    athena.storage.close();
    athena.s3Raw.closeManaged();
    athena.meta.close();
    athena.enforcement.close();
    await athena.changes.close();
    await athena.clients.close();
  },
  graphql: () => import('./graphql/index.ts'),
  topics: [...athenaTopics, ...chatTopics, ...storageTopics],
});
