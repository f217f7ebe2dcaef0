import { defineModule } from '../../core/module.ts';
import { SnapshotsService } from './snapshots.service.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    snapshots: SnapshotsService;
  }
}

export const snapshotsModule = defineModule({
  name: 'snapshots',
  description: 'mcp-v8 filesystem snapshots: content-addressed trees, labels with reflogs, merges',
  create: ({ core }) => new SnapshotsService({ prisma: core.prisma, objectStore: core.objectStore }),
  graphql: () => import('./graphql/index.ts'),
});
