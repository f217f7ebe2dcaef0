import { defineModule } from '../../core/module.ts';
import { parseAthenaConfig } from './athena.config.ts';
import { athenaTopics } from './athena.topics.ts';
import { AthenaClientsService } from './clients.service.ts';
import { AthenaGatewayService } from './gateway.service.ts';
import { AthenaSchemaService } from './schema.service.ts';

/** Athena's services: the client catalog and pools (G5); the gateway, schema and meta services build on it. */
export interface Athena {
  clients: AthenaClientsService;
  gateway: AthenaGatewayService;
  /** Schema introspection and audited management DDL (G2). */
  schema: AthenaSchemaService;
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
    const schema = new AthenaSchemaService({
      clients,
      gateway,
      prisma: core.prisma,
      config,
      logger: core.logger,
      registry: core.metrics.registry,
    });
    return { clients, gateway, schema };
  },
  start: (athena) => athena.clients.start(),
  close: (athena) => athena.clients.close(),
  graphql: () => import('./graphql/index.ts'),
  topics: athenaTopics,
});
