import { defineModule } from '../../core/module.ts';
import { parseAccessConfig } from './access.config.ts';
import { AccessService } from './access.service.ts';
import { accessTopics } from './access.topics.ts';
import { KeyControlService } from './key-controls.ts';
import { MemoryRateLimiter, RedisRateLimiter } from './rate-limit.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    access: AccessService;
  }
}

export const accessModule = defineModule({
  name: 'access',
  description:
    'API keys of every product and their controls (IP, rate, quota, inactivity, IP policy), platform tokens, audit',
  config: parseAccessConfig,
  create: ({ core, config }) => {
    // Per-key rate limits are shared by every instance through Redis when it is configured.
    const limiter = core.config.redisUrl
      ? new RedisRateLimiter(core.config.redisUrl, core.logger)
      : new MemoryRateLimiter();
    const keyControls = new KeyControlService({ prisma: core.prisma, limiter });
    return new AccessService({ ...core, keyControls, trustedProxies: config.trustedProxies });
  },
  close: (access) => access.close(),
  credentials: (access) => [access.apiKeys],
  graphql: () => import('./graphql/index.ts'),
  topics: accessTopics,
});
