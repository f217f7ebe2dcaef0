import { defineModule } from '../../core/module.ts';
import { parseLogStoreConfig } from './logstore.config.ts';
import { LogStoreService } from './logstore.service.ts';
import { logStoreTopics } from './logstore.topics.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    logstore: LogStoreService;
  }
}

export const logstoreModule = defineModule({
  name: 'logstore',
  description: 'DeepStore: log databases, drafts, splits and leased indexing, merge and cleanup jobs',
  config: parseLogStoreConfig,
  create: ({ core, config }) =>
    new LogStoreService({
      prisma: core.prisma,
      pubsub: core.pubsub,
      tokens: core.tokens,
      objectStore: core.objectStore,
      logger: core.logger,
      config,
    }),
  credentials: (logstore) => [logstore.serviceTokens],
  graphql: () => import('./graphql/index.ts'),
  topics: logStoreTopics,
});
