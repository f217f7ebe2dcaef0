/** Writes schema/schema.graphql from the code (npm run generate). A test fails when the two drift. */
import { writeFileSync } from 'node:fs';
import { printedSchema } from '../src/schema.ts';

writeFileSync(new URL('./schema.graphql', import.meta.url), printedSchema());
console.log('schema/schema.graphql written');
