import { defineModule } from '../../core/module.ts';
import { customToolSource, mcpToolSource, skillToolSource } from './agent-tools.source.ts';
import { execToolSource } from './exec.tool.ts';
import { parseGoClawConfig } from './goclaw.config.ts';
import { GoClawService } from './goclaw.service.ts';
import { goclawTopics } from './goclaw.topics.ts';
import { memoryToolSource } from './memory/memory.tools.ts';
import { runJsToolSource } from './run-js.tool.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    goclaw: GoClawService;
  }
}

export const goclawModule = defineModule({
  name: 'goclaw',
  description: 'GoClaw: LLM providers (real adapters), agents, the agent run loop and its traces and usage',
  needs: ['runtime', 'agenttools'],
  topics: goclawTopics,
  config: parseGoClawConfig,
  create: ({ core, config, modules }) => {
    const goclaw = new GoClawService({
      prisma: core.prisma,
      logger: core.logger.child({ module: 'goclaw' }),
      box: core.secrets,
      outbound: core.outbound,
      config,
      pubsub: core.pubsub,
    });
    goclaw.tools.add(runJsToolSource(modules.agenttools));
    goclaw.tools.add(execToolSource(modules.agenttools));
    goclaw.tools.add(customToolSource(modules.agenttools));
    goclaw.tools.add(mcpToolSource(modules.agenttools));
    goclaw.tools.add(skillToolSource(modules.agenttools));
    const { adapters } = modules.agenttools;
    adapters.onInbound(async (message) => {
      await goclaw.answerChannelMessage(message, (text) => adapters.reply(message, text));
    });
    goclaw.tools.add(memoryToolSource(goclaw.memory, goclaw.kg, modules.agenttools));
    return goclaw;
  },
  close: (goclaw) => goclaw.close(),
  graphql: () => import('./graphql/index.ts'),
});
