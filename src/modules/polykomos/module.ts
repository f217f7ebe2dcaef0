import { defineModule } from '../../core/module.ts';
import { ApplicationService } from './applications.service.ts';
import { BlueprintService } from './blueprints.service.ts';
import { parsePolykomosConfig } from './polykomos.config.ts';
import { PolykomosService } from './polykomos.service.ts';
import { QueryService } from './queries.service.ts';
import { polykomosWebhooks } from './webhook-events.ts';
import { PolykomosWebhookService } from './webhooks.service.ts';

/** Polykomos' services: databases and key controls, webhooks, blueprints and their applications, NL queries. */
export interface Polykomos {
  databases: PolykomosService;
  webhooks: PolykomosWebhookService;
  blueprints: BlueprintService;
  applications: ApplicationService;
  queries: QueryService;
}

declare module '../../core/module.ts' {
  interface ModuleServices {
    polykomos: Polykomos;
  }
}

export const polykomosModule = defineModule({
  name: 'polykomos',
  description: 'Polykomos: Postgres and MySQL provisioning, quotas, blueprints, webhooks, natural-language queries',
  needs: ['access', 'databases', 'webhooks', 'goclaw'],
  config: parsePolykomosConfig,
  create: ({ core, config, modules }): Polykomos => {
    const { prisma, logger, secrets: box } = core;
    const databases = new PolykomosService({
      prisma,
      logger,
      config,
      box,
      engines: modules.databases,
      jobs: core.jobs,
      access: modules.access,
    });
    modules.webhooks.register(polykomosWebhooks);
    const webhooks = new PolykomosWebhookService({ polykomos: databases, webhooks: modules.webhooks });
    const blueprints = new BlueprintService({ prisma, polykomos: databases });
    const applications = new ApplicationService({ prisma, logger, jobs: core.jobs, polykomos: databases, blueprints });
    const queries = new QueryService({
      prisma,
      logger,
      config: config.nlq,
      polykomos: databases,
      goclaw: modules.goclaw,
    });
    return { databases, webhooks, blueprints, applications, queries };
  },
  jobs: (polykomos) => [
    polykomos.databases.provisionKind,
    polykomos.databases.dropKind,
    polykomos.applications.applyKind,
  ],
  close: (polykomos) => polykomos.databases.close(),
  graphql: () => import('./graphql/index.ts'),
});
