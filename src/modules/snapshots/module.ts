import { defineModule } from '../../core/module.ts';
import type { FsMountProvider } from '../runtime/runtime.service.ts';
import { snapshotMountProvider } from './mount.ts';

/** The snapshots module's service: mounting snapshots into runs (its GraphQL and REST call the tree functions). */
export interface SnapshotsService {
  mount: FsMountProvider;
}

declare module '../../core/module.ts' {
  interface ModuleServices {
    snapshots: SnapshotsService;
  }
}

export const snapshotsModule = defineModule({
  name: 'snapshots',
  description: 'mcp-v8 filesystem snapshots: content-addressed trees, labels with reflogs, merges',
  create: ({ core }) => ({ mount: snapshotMountProvider(core) }),
  graphql: () => import('./graphql/index.ts'),
});
