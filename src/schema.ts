import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import './core/graphql/errors.ts';
import { builder } from './core/builder.ts';
import { describeGeneratedDefinitions } from './core/graphql/generated-descriptions.ts';
import { modules } from './modules/registry.ts';

// Each module registers its types and fields on the builder (in registry order) before the schema is built.
for (const m of modules) await m.graphql?.();

/** The one GraphQL schema; REST documents and every transport execute against it. */
export const schema: GraphQLSchema = builder.toSchema();
describeGeneratedDefinitions(schema);

/** The SDL committed as schema/schema.graphql. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
