import type { CallerKind } from '../../src/modules/logstore/logstore.service.ts';
import { operationsFor } from '../engine/operation.ts';
import type { OperationPolicy } from '../engine/types.ts';

/** DeepStore's operations name the token kinds they accept (the token matrix in docs/logstore.md). */
export interface DeepStorePolicy extends OperationPolicy {
  callers: readonly CallerKind[];
}

export const { graphql, direct, group } = operationsFor<DeepStorePolicy>();
