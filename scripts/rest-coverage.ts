import { writeRestCoverage } from '../rest-shim/engine/coverage.ts';
import { surfaces } from '../rest-shim/surfaces.ts';

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
