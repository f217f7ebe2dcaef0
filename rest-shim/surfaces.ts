import { type GraphQLSchema, validate } from 'graphql';
import { athenaSurface } from './athena/surface.ts';
import { deepstoreSurface } from './deepstore/surface.ts';
import { mountedOperations } from './engine/builtins.ts';
import type { AnySurface } from './engine/types.ts';
import { goclawSurface } from './goclaw/surface.ts';
import { mcpV8Surface } from './mcp-v8/surface.ts';
import { polykomosSurface } from './polykomos/surface.ts';

/** The REST surfaces, one per product contract: the only place surfaces are named. */
export const surfaces: readonly AnySurface[] = [
  athenaSurface,
  deepstoreSurface,
  polykomosSurface,
  goclawSurface,
  mcpV8Surface,
];

/**
 * Validates every GraphQL document the REST surfaces execute against the schema, once. The server refuses to
 * start on a mismatch instead of failing the first request that uses a stale document.
 */
export function validateSurfaceDocuments(schema: GraphQLSchema, list: readonly AnySurface[] = surfaces): void {
  const problems: string[] = [];
  for (const surface of list) {
    for (const [operationId, { operation }] of mountedOperations(surface)) {
      if (operation.kind !== 'graphql') continue;
      for (const error of validate(schema, operation.document)) {
        problems.push(`${surface.product}.${operationId}: ${error.message}`);
      }
    }
  }
  if (problems.length > 0) throw new Error(`REST documents do not match the GraphQL schema:\n${problems.join('\n')}`);
}
