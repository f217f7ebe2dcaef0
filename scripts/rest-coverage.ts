import { writeRestCoverage } from '../rest-shim/coverage.ts';
import { createProductSurfaces } from '../rest-shim/products.ts';

// The handler-less surfaces until the application exports its own (with handlers) for this script.
const surfaces = createProductSurfaces();
const file = new URL('../docs/rest-coverage.md', import.meta.url);
for (const c of writeRestCoverage(surfaces, file)) console.log(`${c.product}: ${c.served}/${c.total} served`);
console.log(`wrote ${file.pathname}`);
