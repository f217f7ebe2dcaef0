import type { Services } from '../../core/services.ts';
import type { FsMountProvider } from '../runtime/runtime.service.ts';
import { FsLabelNotFoundError } from './snapshots.errors.ts';
import { resolveSnapshotRef } from './snapshots.service.ts';
import { emptyTreeId, readTree, writeTree } from './tree.ts';

/**
 * Mounts snapshots into runs: `fs` names a label of the caller's tenant or a CA id. A label that does not exist
 * yet mounts the empty tree (as upstream: the first run on a new label starts empty); an unknown CA id or a
 * malformed ref is an error at submit. The run's changed tree is stored content-addressed; labels never move.
 */
export function snapshotMountProvider(services: Pick<Services, 'prisma' | 'objectStore'>): FsMountProvider {
  return {
    async load(tenant, ref) {
      let caId: string;
      try {
        caId = await resolveSnapshotRef(services, tenant, ref);
      } catch (e) {
        if (!(e instanceof FsLabelNotFoundError)) throw e;
        caId = emptyTreeId;
      }
      return { baseCaId: caId, files: caId === emptyTreeId ? new Map() : await readTree(services, caId) };
    },
    flush: (files) => writeTree(services, files),
  };
}
