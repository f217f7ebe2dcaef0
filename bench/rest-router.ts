import { performance } from 'node:perf_hooks';
import { OpenAPIBackend } from 'openapi-backend';
import { athenaSurface } from '../rest-shim/athena/surface.ts';
import { compileRouter } from '../rest-shim/engine/router.ts';
import { loadSpec } from '../rest-shim/engine/specs.ts';

// Routing cost on the largest contract (Athena, 290 operations): the compiled router against
// openapi-backend's own matchOperation, which the shim does not use per request.
const spec = loadSpec(athenaSurface.contract);
const router = compileRouter(spec.operations);
const requests = spec.operations.map((op) => ({
  method: op.method,
  path: op.path.replace(/\{([^}]+)\}/g, (_, name: string) => `v-${name}-1`),
}));

function perCall(iterations: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 10_000); i++) fn(i);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  return ((performance.now() - start) * 1000) / iterations;
}

const pick = (i: number) => requests[i % requests.length] as { method: string; path: string };
const compiled = perCall(100_000, (i) => {
  const r = pick(i);
  router.match(r.method, r.path);
});
const api = new OpenAPIBackend({ definition: structuredClone(spec.document) as never, strict: true, quick: true });
await api.init();
const library = perCall(2_000, (i) => {
  const r = pick(i);
  api.matchOperation({ method: r.method, path: r.path, headers: {} });
});
console.log(`compiled router           ${compiled.toFixed(3)} µs/match (100k matches, all 290 Athena operations)`);
console.log(`openapi-backend matchOperation ${library.toFixed(1)} µs/match (2k matches)`);
console.log(`ratio                     ${(library / compiled).toFixed(0)}×`);
