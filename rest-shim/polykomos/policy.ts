import { operationsFor } from '../engine/operation.ts';
import type { OperationPolicy } from '../engine/types.ts';

/** Scopes of Polykomos API keys (docs/polykomos.md). */
export type PolykomosScope =
  | 'databases:read'
  | 'databases:write'
  | 'webhooks:read'
  | 'webhooks:write'
  | 'blueprints:read'
  | 'blueprints:write'
  | 'queries:write';

/** A Polykomos operation names the scope its key must hold; without one, any valid key may call it. */
export interface PolykomosPolicy extends OperationPolicy {
  scope?: PolykomosScope;
}

export const { graphql, direct, group } = operationsFor<PolykomosPolicy>();
