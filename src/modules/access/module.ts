import { defineModule } from '../../core/module.ts';
import { AccessService } from './access.service.ts';
import { accessTopics } from './access.topics.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    access: AccessService;
  }
}

export const accessModule = defineModule({
  name: 'access',
  description: 'API keys of every product, platform tokens and the audit trail',
  create: ({ core }) => new AccessService(core),
  credentials: (access) => [access.apiKeys],
  graphql: () => import('./graphql/index.ts'),
  topics: accessTopics,
});
