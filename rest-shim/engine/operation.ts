import { existsSync } from 'node:fs';
import type {
  AnySurface,
  DirectRestOperation,
  GraphQLRestOperation,
  OperationGroup,
  OperationPolicy,
  RestOperation,
  RestSurface,
} from './types.ts';

/**
 * Operation constructors typed for one surface's policy, so each operation's `policy` is checked against the
 * surface's vocabulary (scopes, rights, caller kinds):
 *
 *   const { graphql, direct, group } = operationsFor<PolykomosPolicy>();
 */
export function operationsFor<P extends OperationPolicy>() {
  return {
    /** A GraphQL-backed operation; data and variable types come from the typed document. */
    graphql: <R, V>(op: Omit<GraphQLRestOperation<R, V, P>, 'kind'>): GraphQLRestOperation<R, V, P> => ({
      kind: 'graphql',
      ...op,
    }),
    /** An operation a JSON GraphQL result cannot carry; `reason` says why it calls services directly. */
    direct: (op: Omit<DirectRestOperation<P>, 'kind'>): DirectRestOperation<P> => ({ kind: 'direct', ...op }),
    /** One capability group (one file), with the test file that drives it. */
    group: (name: string, test: string, operations: Record<string, RestOperation<P>>): OperationGroup<P> => ({
      name,
      test,
      operations,
    }),
  };
}

/** The untyped-policy constructors (shared built-ins, tests). */
export const { graphql: graphqlOperation, direct: directOperation } = operationsFor<OperationPolicy>();

/** Declares a surface; the identity function that checks its groups against its policy type. */
export function defineSurface<P extends OperationPolicy>(surface: RestSurface<P>): RestSurface<P> {
  return surface;
}

export interface IndexedOperation {
  operation: RestOperation<any>;
  group: string;
  test: string;
}

/**
 * A surface's operations by operationId, from all its groups. Throws when two groups (or a group and the surface's
 * built-ins) declare the same operationId, or when a group's (or a WebSocket endpoint's) test file does not exist.
 */
export function surfaceOperations(surface: AnySurface): Map<string, IndexedOperation> {
  const index = new Map<string, IndexedOperation>();
  for (const group of surface.groups) {
    if (!existsSync(new URL(`../../${group.test}`, import.meta.url))) {
      throw new Error(`${surface.product}: group "${group.name}" names a test file that does not exist: ${group.test}`);
    }
    for (const [operationId, operation] of Object.entries(group.operations)) {
      const previous = index.get(operationId);
      if (previous) {
        throw new Error(
          `${surface.product}: operation "${operationId}" is declared by group "${previous.group}" and "${group.name}"`,
        );
      }
      index.set(operationId, { operation, group: group.name, test: group.test });
    }
  }
  for (const [path, endpoint] of Object.entries(surface.websockets ?? {})) {
    if (!existsSync(new URL(`../../${endpoint.test}`, import.meta.url))) {
      throw new Error(`${surface.product}: WebSocket ${path} names a test file that does not exist: ${endpoint.test}`);
    }
  }
  return index;
}
