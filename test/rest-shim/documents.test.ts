import { parse } from 'graphql';
import { expect, it } from 'vitest';
import { graphqlOperation } from '../../rest-shim/operation.ts';
import { createSurfaces, validateSurfaceDocuments } from '../../rest-shim/surfaces.ts';
import { schema } from '../../src/schema.ts';

it('every GraphQL document behind a REST operation validates against the schema', () => {
  const surfaces = createSurfaces();
  const documents = surfaces.flatMap((s) => Object.values(s.operations)).filter((op) => op.kind === 'graphql');
  expect(documents.length).toBeGreaterThanOrEqual(3);
  expect(() => validateSurfaceDocuments(schema, surfaces)).not.toThrow();
});

it('refuses to start on a document the schema no longer accepts, naming the operation', () => {
  const goclaw = createSurfaces().find((s) => s.product === 'goclaw');
  if (!goclaw) throw new Error('no goclaw surface');
  const stale = graphqlOperation({
    document: parse('query Stale { apiKeys(first: 1) { edges { node { removedField } } } }'),
    variables: () => ({}),
    respond: () => ({ status: 200 }),
  });
  const broken = { ...goclaw, operations: { ...goclaw.operations, get_v1_api_keys: stale } };
  expect(() => validateSurfaceDocuments(schema, [broken])).toThrow(/goclaw\.get_v1_api_keys: .*removedField/);
});
