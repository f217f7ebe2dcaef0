import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';

/*
 * Prisma's native schema engine cannot be downloaded on every machine we run on, so migrations are
 * created and applied through the WebAssembly build of the same engine, talking to the database
 * through a driver adapter (PGlite or pg).
 */

export const migrationsDir = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));
export const prismaSchemaDir = fileURLToPath(new URL('../../prisma/schema/', import.meta.url));
const lockfileContent = '# Written by scripts/migrate-create.ts\nprovider = "postgresql"\n';

type SchemaEngineModule = typeof import('@prisma/schema-engine-wasm');
type SchemaEngine = Awaited<ReturnType<SchemaEngineModule['SchemaEngine']['new']>>;

interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, unknown>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

let enginePromise: Promise<SchemaEngineModule> | undefined;

/** Loads the wasm engine once per process (Node 20 cannot import .wasm as an ES module). */
async function loadEngineModule(): Promise<SchemaEngineModule> {
  enginePromise ??= (async () => {
    const require = createRequire(import.meta.url);
    const pkgDir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));
    const bg = (await import(path.join(pkgDir, 'schema_engine_bg.js'))) as SchemaEngineModule & {
      __wbg_set_wasm(exports: unknown): void;
    };
    const bytes = await readFile(path.join(pkgDir, 'schema_engine_bg.wasm'));
    // @types/node does not declare the WebAssembly global; its shape here is small and stable.
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return enginePromise;
}

async function withEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  datamodels: [string, string][] | undefined,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const mod = await loadEngineModule();
  const engineLogs: string[] = [];
  // The engine never disposes the connections it opens; track them so pools do not outlive the run.
  const opened: SqlDriverAdapter[] = [];
  const tracking: SqlMigrationAwareDriverAdapterFactory = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: async () => track(await adapterFactory.connect()),
    connectToShadowDb: async () => track(await adapterFactory.connectToShadowDb()),
  };
  const track = (a: SqlDriverAdapter) => {
    opened.push(a);
    return a;
  };
  const engine = await mod.SchemaEngine.new(
    { datamodels },
    (log: string) => engineLogs.push(log),
    bindMigrationAwareSqlAdapterFactory(tracking),
  );
  try {
    return await fn(engine);
  } catch (e) {
    throw new MigrationError(describeEngineError(e), engineLogs);
  } finally {
    engine.free();
    await Promise.allSettled(opened.map((a) => a.dispose()));
  }
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly engineLogs: string[],
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

function describeEngineError(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null) return JSON.stringify(e);
  return String(e);
}

/** Reads `prisma/migrations/*\/migration.sql` in the shape the engine expects. */
export async function readMigrationList(dir = migrationsDir) {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const content = await readFile(path.join(dir, entry.name, 'migration.sql'), 'utf8');
    migrationDirectories.push({
      path: entry.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: content } },
    });
  }
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: lockfileContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/** Reads every `.prisma` file of the schema folder. */
export async function readPrismaSchemaFiles(dir = prismaSchemaDir) {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.prisma')).sort();
  return Promise.all(
    names.map(async (name) => ({ path: path.join(dir, name), content: await readFile(path.join(dir, name), 'utf8') })),
  );
}

const noFilter = { externalTables: [], externalEnums: [] };

/** Applies pending committed migrations; returns the names applied now. */
export async function applyMigrations(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  dir = migrationsDir,
): Promise<string[]> {
  const migrationsList = await readMigrationList(dir);
  return withEngine(adapterFactory, undefined, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList, filters: noFilter });
    return out.appliedMigrationNames;
  });
}

/**
 * The SQL that takes a database built from the committed migrations to the current Prisma schema.
 * Run it on an empty database (the engine replays the migrations there). Empty string: no change.
 */
export async function diffMigrationsToSchema(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string> {
  const migrationsList = await readMigrationList();
  const files = await readPrismaSchemaFiles();
  const datamodels = files.map((f) => [f.path, f.content] as [string, string]);
  return withEngine(adapterFactory, datamodels, async (engine) => {
    let script = '';
    const captured = captureStdout((text) => {
      script += text;
    });
    try {
      const result = await engine.diff({
        from: { tag: 'migrations', ...migrationsList },
        to: { tag: 'schemaDatamodel', files },
        script: true,
        exitCode: null,
        filters: noFilter,
      });
      if (result.stdout) script = result.stdout;
    } finally {
      captured.restore();
    }
    return script.includes('-- This is an empty migration.') ? '' : script;
  });
}

/** The wasm engine prints diff scripts through the host's stdout writer; capture them. */
function captureStdout(onText: (text: string) => void) {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    onText(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
  return {
    restore: () => {
      process.stdout.write = original;
    },
  };
}
