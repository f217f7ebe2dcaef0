import { parse } from 'graphql';
import { expect, it } from 'vitest';
import { mountedOperations } from '../../../rest-shim/engine/builtins.ts';
import { graphqlOperation } from '../../../rest-shim/engine/operation.ts';
import { surfaces, validateSurfaceDocuments } from '../../../rest-shim/surfaces.ts';
import { schema } from '../../../src/schema.ts';

it('every GraphQL document behind a REST operation validates against the schema', () => {
  const documents = surfaces
    .flatMap((s) => [...mountedOperations(s).values()])
    .filter(({ operation }) => operation.kind === 'graphql');
  expect(documents.length).toBeGreaterThanOrEqual(3);
  expect(() => validateSurfaceDocuments(schema)).not.toThrow();
});

it('refuses to start on a document the schema no longer accepts, naming the operation', () => {
  const goclaw = surfaces.find((s) => s.product === 'goclaw');
  if (!goclaw) throw new Error('no goclaw surface');
  const stale = graphqlOperation({
    document: parse('query Stale { apiKeys(first: 1) { edges { node { removedField } } } }'),
    variables: () => ({}),
    respond: () => ({ status: 200 }),
  });
  const broken = {
    ...goclaw,
    groups: [
      { name: 'stale', test: 'test/platform/rest-shim/documents.test.ts', operations: { get_v1_api_keys: stale } },
    ],
  };
  expect(() => validateSurfaceDocuments(schema, [broken])).toThrow(/goclaw\.get_v1_api_keys: .*removedField/);
});
