import type { AnyModule } from '../core/module.ts';
import { accessModule } from './access/module.ts';
import { agentToolsModule } from './agent-tools/module.ts';
import { athenaModule } from './athena/module.ts';
import { databasesModule } from './databases/module.ts';
import { goclawModule } from './goclaw/module.ts';
import { logstoreModule } from './logstore/module.ts';
import { polykomosModule } from './polykomos/module.ts';
import { runtimeModule } from './runtime/module.ts';
import { snapshotsModule } from './snapshots/module.ts';
import { webhooksModule } from './webhooks/module.ts';

/**
 * Every module, in dependency order: the only place modules are named. Start-up creates and starts them in this
 * order, shutdown closes them in reverse; the schema registers their GraphQL in this order.
 */
export const modules: readonly AnyModule[] = [
  accessModule,
  webhooksModule,
  logstoreModule,
  databasesModule,
  snapshotsModule,
  runtimeModule,
  agentToolsModule,
  goclawModule,
  // After goclaw: Polykomos' natural-language queries call a model through GoClaw's providers.
  polykomosModule,
  athenaModule,
];
