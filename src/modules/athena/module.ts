import { defineModule } from '../../core/module.ts';
import { parseAthenaConfig } from './athena.config.ts';
import { athenaTopics } from './athena.topics.ts';
import { AthenaClientsService } from './clients.service.ts';
import { AthenaD1Service } from './d1.service.ts';
import { AthenaDeferredService } from './deferred.service.ts';
import { AthenaGatewayService } from './gateway.service.ts';
import { AthenaPublicRoutesService } from './public-routes.service.ts';

/** Athena's services: the client catalog and pools (G5); the gateway, schema and meta services build on it. */
export interface Athena {
  clients: AthenaClientsService;
  gateway: AthenaGatewayService;
  /** Deferred gateway requests (`X-Athena-Defer`) and their job kind. */
  deferred: AthenaDeferredService;
  /** `/public/{route_key}/{op}` dispatch. */
  publicRoutes: AthenaPublicRoutesService;
  /** PostgreSQL → D1 migrations. */
  d1: AthenaD1Service;
}

declare module '../../core/module.ts' {
  interface ModuleServices {
    athena: Athena;
  }
}

export const athenaModule = defineModule({
  name: 'athena',
  description: 'Athena: the Postgres gateway over client databases (docs/athena.md)',
  needs: ['access', 'databases'],
  config: parseAthenaConfig,
  create: ({ core, config, modules }): Athena => {
    const clients = new AthenaClientsService({
      prisma: core.prisma,
      box: core.secrets,
      logger: core.logger,
      pubsub: core.pubsub,
      config,
      dataDir: core.config.dataDir,
      databases: modules.databases,
      allowPrivateOutbound: core.outbound.allowPrivate,
      platformDatabaseUrl: core.config.databaseUrl,
    });
    const gateway = new AthenaGatewayService({ clients, config, pubsub: core.pubsub, logger: core.logger });
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
    return { clients, gateway, deferred, publicRoutes, d1 };
  },
  jobs: (athena) => [athena.deferred.jobKind],
  start: (athena) => athena.clients.start(),
  close: (athena) => athena.clients.close(),
  graphql: () => import('./graphql/index.ts'),
  topics: athenaTopics,
});
