import type { DirectRestOperation, GraphQLRestOperation } from './types.ts';

/** Declares a GraphQL-backed REST operation, inferring data and variable types from the typed document. */
export function graphqlOperation<R, V>(op: Omit<GraphQLRestOperation<R, V>, 'kind'>): GraphQLRestOperation<R, V> {
  return { kind: 'graphql', ...op };
}

/** Declares an operation a JSON GraphQL result cannot carry; `reason` says why it calls services directly. */
export function directOperation(op: Omit<DirectRestOperation, 'kind'>): DirectRestOperation {
  return { kind: 'direct', ...op };
}
