// Semantic check of a blueprint (blueprint-sql.ts): a throwaway in-memory PGlite, the statements inside
// BEGIN … ROLLBACK, the first failure reported with its statement index. Runs in a worker thread so that the
// caller can terminate a runaway statement.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const db = await PGlite.create();
parentPort?.postMessage({ ready: true });
let result = { ok: true };
try {
  await db.exec('BEGIN');
  for (const s of workerData.statements) {
    try {
      await db.exec(s.sql);
    } catch (err) {
      result = { ok: false, index: s.index, error: err instanceof Error ? err.message : String(err) };
      break;
    }
  }
  await db.exec('ROLLBACK').catch(() => undefined);
} catch (err) {
  result = { ok: false, skipped: true, error: err instanceof Error ? err.message : String(err) };
}
parentPort?.postMessage(result);
await db.close().catch(() => undefined);
