import { defineModule } from '../../core/module.ts';
import { parseAthenaConfig } from './athena.config.ts';
import { athenaTopics } from './athena.topics.ts';
import { AthenaClientsService } from './clients.service.ts';
import { AthenaRoutesService } from './routes.service.ts';

/** Athena's services: the client catalog and pools (G5); the gateway, schema and meta services build on it. */
export interface Athena {
  clients: AthenaClientsService;
  /** Public routes, tenant service routes and tenant hostnames (G5). */
  routes: AthenaRoutesService;
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
    const clients = new AthenaClientsService({
      prisma: core.prisma,
      box: core.secrets,
      logger: core.logger,
      pubsub: core.pubsub,
      config,
      dataDir: core.config.dataDir,
      databases: modules.databases,
      polykomos: modules.polykomos.databases,
    });
    const routes = new AthenaRoutesService({ prisma: core.prisma, clients, outbound: core.outbound });
    return { clients, routes };
  },
  start: (athena) => athena.clients.start(),
  close: (athena) => athena.clients.close(),
  graphql: () => import('./graphql/index.ts'),
  topics: athenaTopics,
});
