import { defineModule } from '../../core/module.ts';
import { parseAthenaConfig } from './athena.config.ts';
import { athenaTopics } from './athena.topics.ts';
import { AthenaClientsService } from './clients.service.ts';
import { AthenaGatewayService } from './gateway.service.ts';
import { RowChangeHub } from './row-changes.ts';

/** Athena's services: the client catalog and pools (G5); the gateway, schema and meta services build on it. */
export interface Athena {
  clients: AthenaClientsService;
  gateway: AthenaGatewayService;
  changes: RowChangeHub;
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
    });
    const gateway = new AthenaGatewayService({ clients, config, pubsub: core.pubsub, logger: core.logger });
    const changes = new RowChangeHub({ clients, gateway, config, logger: core.logger });
    return { clients, gateway, changes };
  },
  start: (athena) => athena.clients.start(),
  close: async (athena) => {
    await athena.changes.close();
    await athena.clients.close();
  },
  graphql: () => import('./graphql/index.ts'),
  topics: athenaTopics,
});
