import { defineModule } from '../../core/module.ts';
import { parseGoClawConfig } from './goclaw.config.ts';
import { GoClawService } from './goclaw.service.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    goclaw: GoClawService;
  }
}

export const goclawModule = defineModule({
  name: 'goclaw',
  description: 'GoClaw: LLM providers (real adapters), agents, the agent run loop and its traces and usage',
  config: parseGoClawConfig,
  create: ({ core, config }) =>
    new GoClawService({
      prisma: core.prisma,
      logger: core.logger.child({ module: 'goclaw' }),
      box: core.secrets,
      outbound: core.outbound,
      config,
    }),
  close: (goclaw) => goclaw.close(),
  graphql: () => import('./graphql/index.ts'),
});
