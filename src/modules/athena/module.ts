import { defineModule } from '../../core/module.ts';
import { parseAthenaConfig } from './athena.config.ts';
import { athenaTopics } from './athena.topics.ts';
import { AthenaClientsService } from './clients.service.ts';
import { AthenaMetaService } from './meta.service.ts';

/** Athena's services: the client catalog and pools (G5); the gateway, schema and meta services build on it. */
export interface Athena {
  clients: AthenaClientsService;
  /** The meta routes (G14): root, health, cluster probes, debug reports, registries, error catalog, metrics. */
  meta: AthenaMetaService;
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
    return { clients, meta };
  },
  start: (athena) => athena.clients.start(),
  close: (athena) => {
    athena.meta.close();
    return athena.clients.close();
  },
  graphql: () => import('./graphql/index.ts'),
  topics: athenaTopics,
});
