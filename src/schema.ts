import { lexicographicSortSchema, printSchema } from 'graphql';
import './core/graphql/errors.ts';
import './modules/access/index.ts';
import './modules/logstore/index.ts';
import './modules/polykomos/index.ts';
import './modules/snapshots/index.ts';
import './modules/runtime/index.ts';
import { builder } from './core/builder.ts';

/** The one GraphQL schema; REST documents and every transport execute against it. */
export const schema = builder.toSchema();

/** The SDL committed as schema/schema.graphql. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
