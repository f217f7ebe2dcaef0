import { writeRestCoverage } from '../rest-shim/coverage.ts';
import { createSurfaces } from '../rest-shim/surfaces.ts';

// The application's surfaces (operation maps as mounted); credentials are irrelevant to coverage.
const surfaces = createSurfaces();
const file = new URL('../docs/rest-coverage.md', import.meta.url);
let served = 0;
let total = 0;
for (const c of writeRestCoverage(surfaces, file)) {
  served += c.served;
  total += c.total;
  console.log(`${c.product}: ${c.served}/${c.total} served`);
}
console.log(`all products: ${served}/${total} served; the rest answer 501`);
console.log(`wrote ${file.pathname}`);
