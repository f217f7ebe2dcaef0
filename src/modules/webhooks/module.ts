import { defineModule } from '../../core/module.ts';
import { parseWebhooksConfig } from './webhooks.config.ts';
import { WebhookService } from './webhooks.service.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    webhooks: WebhookService;
  }
}

export const webhooksModule = defineModule({
  name: 'webhooks',
  description: 'Shared webhook engine: endpoints, per-product event catalogs, outbox, signed deliveries as jobs',
  config: parseWebhooksConfig,
  create: ({ core, config }) =>
    new WebhookService({
      prisma: core.prisma,
      logger: core.logger.child({ module: 'webhooks' }),
      box: core.secrets,
      jobs: core.jobs,
      outbound: core.outbound,
      config,
    }),
  start: (webhooks) => webhooks.start(),
  close: (webhooks) => webhooks.close(),
  jobs: (webhooks) => webhooks.jobKinds(),
});
