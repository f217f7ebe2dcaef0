import { defineModule } from '../../core/module.ts';
import { parseRuntimeConfig } from './runtime.config.ts';
import { RuntimeService } from './runtime.service.ts';
import { runtimeTopics } from './runtime.topics.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    runtime: RuntimeService;
  }
}

export const runtimeModule = defineModule({
  name: 'runtime',
  description: 'mcp-v8: sandboxed JavaScript runs in isolated-vm worker processes, output, heap sessions',
  needs: ['snapshots'],
  config: parseRuntimeConfig,
  create: ({ core, config, modules }) =>
    new RuntimeService({
      prisma: core.prisma,
      pubsub: core.pubsub,
      objectStore: core.objectStore,
      logger: core.logger,
      config,
      instanceId: core.config.instanceId,
      fs: modules.snapshots.mount,
    }),
  start: (runtime) => runtime.start(),
  close: (runtime) => runtime.close(),
  graphql: () => import('./graphql/index.ts'),
  topics: runtimeTopics,
});
