import { readdirSync, readFileSync } from 'node:fs';

/*
 * Athena's own schema manifest (G14 `/debug/schema`): the tables and columns `prisma/schema/athena.prisma` declares,
 * compared with what the platform database holds. The manifest is read from the Prisma file itself, so a model
 * added to it is expected without a second list to keep in step.
 */

/** One table Athena expects in the platform database. */
export interface ExpectedTable {
  /** The table name (`@@map`, else the model name). */
  table: string;
  /** The Prisma model it comes from. */
  model: string;
  /** The model's `///` documentation: what the table is for. */
  purpose: string;
  /** Column names (`@map`, else the field name), in declaration order; relation fields have no column. */
  columns: string[];
}

/** One table the database holds, as information_schema reports it. */
export interface ObservedTable {
  schema: string;
  table: string;
  /** `information_schema.tables.table_type`: `BASE TABLE`, `VIEW`, … */
  relationType: string;
  columns: string[];
}

/** The expected relation type of every manifest table. */
export const expectedRelationType = 'BASE TABLE';

/** Names of the models a Prisma schema source declares. */
export function prismaModelNames(source: string): string[] {
  return [...source.matchAll(/^\s*model\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{/gm)].map((m) => m[1] as string);
}

/**
 * Parses the models of a Prisma schema file into expected tables. Enums and relation fields have no columns; a
 * relation is a field typed by a model of this file or of `otherModels` (the other files of a multi-file schema),
 * or one carrying `@relation`.
 */
export function parsePrismaManifest(source: string, otherModels: Iterable<string> = []): ExpectedTable[] {
  const lines = source.split(/\r?\n/);
  const blocks: { kind: string; name: string; doc: string[]; body: string[] }[] = [];
  let doc: string[] = [];
  let current: (typeof blocks)[number] | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (current) {
      if (line === '}') {
        blocks.push(current);
        current = undefined;
      } else current.body.push(line);
      continue;
    }
    const start = /^(model|enum|type|view)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{$/.exec(line);
    if (start) {
      current = { kind: start[1] as string, name: start[2] as string, doc, body: [] };
      doc = [];
    } else if (line.startsWith('///')) doc.push(line.slice(3).trim());
    else if (line !== '') doc = [];
  }
  const modelNames = new Set([...blocks.filter((b) => b.kind === 'model').map((b) => b.name), ...otherModels]);
  const tables: ExpectedTable[] = [];
  for (const block of blocks) {
    if (block.kind !== 'model') continue;
    const columns: string[] = [];
    let table = block.name;
    for (const line of block.body) {
      if (line === '' || line.startsWith('//')) continue;
      if (line.startsWith('@@')) {
        const map = /^@@map\(\s*"([^"]+)"\s*\)/.exec(line);
        if (map) table = map[1] as string;
        continue;
      }
      const field = /^([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z_][A-Za-z0-9_]*)(\[\])?(\?)?(.*)$/.exec(line);
      if (!field) continue;
      const name = field[1] as string;
      const type = field[2] as string;
      const rest = field[5] ?? '';
      // A field whose type is another model is a relation: it lives in the other table (or in this one's FK column).
      if (modelNames.has(type) || /@relation\b/.test(rest)) continue;
      const map = /@map\(\s*"([^"]+)"\s*\)/.exec(rest);
      columns.push(map ? (map[1] as string) : name);
    }
    tables.push({ table, model: block.name, purpose: block.doc.join(' '), columns });
  }
  return tables;
}

let athenaManifest: ExpectedTable[] | undefined;

/** The manifest of `prisma/schema/athena.prisma` (read once), relations resolved against every schema file. */
export function athenaSchemaManifest(): ExpectedTable[] {
  if (athenaManifest) return athenaManifest;
  const dir = new URL('../../../prisma/schema/', import.meta.url);
  const others = readdirSync(dir)
    .filter((f) => f.endsWith('.prisma') && f !== 'athena.prisma')
    .flatMap((f) => prismaModelNames(readFileSync(new URL(f, dir), 'utf8')));
  athenaManifest = parsePrismaManifest(readFileSync(new URL('athena.prisma', dir), 'utf8'), others);
  return athenaManifest;
}

/** One table of the comparison. */
export interface TableComparison {
  expected: ExpectedTable;
  schema: string;
  found: boolean;
  foundRelationType: string | null;
  relationTypeMatches: boolean;
  foundColumns: string[];
  missingColumns: string[];
  unexpectedColumns: string[];
}

/** Overall verdict: `healthy` (everything found), `degraded` (columns or relation types differ), `unhealthy`. */
export type SchemaHealth = 'healthy' | 'degraded' | 'unhealthy';

/** One reason for a verdict other than healthy. */
export interface SchemaHealthReason {
  code: 'missing_required_tables' | 'missing_required_columns' | 'relation_type_mismatch';
  severity: 'error' | 'warning';
  count: number;
  message: string;
}

export interface SchemaComparison {
  health: SchemaHealth;
  reasons: SchemaHealthReason[];
  tables: TableComparison[];
}

/**
 * Compares the manifest with the observed tables of `schema`. Every manifest table is required (Athena's
 * migrations create them all); a missing table is an error, a missing column or another relation type a warning.
 */
export function compareSchema(expected: ExpectedTable[], observed: ObservedTable[], schema: string): SchemaComparison {
  const byName = new Map(observed.filter((o) => o.schema === schema).map((o) => [o.table, o]));
  const tables = expected.map((e): TableComparison => {
    const seen = byName.get(e.table);
    const foundColumns = seen?.columns ?? [];
    const found = new Set(foundColumns);
    const wanted = new Set(e.columns);
    return {
      expected: e,
      schema,
      found: seen !== undefined,
      foundRelationType: seen?.relationType ?? null,
      relationTypeMatches: seen?.relationType === expectedRelationType,
      foundColumns,
      missingColumns: seen ? e.columns.filter((c) => !found.has(c)) : [...e.columns],
      unexpectedColumns: foundColumns.filter((c) => !wanted.has(c)),
    };
  });
  const missingTables = tables.filter((t) => !t.found).length;
  const missingColumns = tables.filter((t) => t.found).reduce((n, t) => n + t.missingColumns.length, 0);
  const mismatches = tables.filter((t) => t.found && !t.relationTypeMatches).length;
  const reasons: SchemaHealthReason[] = [];
  if (missingTables > 0) {
    reasons.push({
      code: 'missing_required_tables',
      severity: 'error',
      count: missingTables,
      message: `${missingTables} expected table(s) are missing (run the migrations)`,
    });
  }
  if (missingColumns > 0) {
    reasons.push({
      code: 'missing_required_columns',
      severity: 'warning',
      count: missingColumns,
      message: `${missingColumns} expected column(s) are missing from existing tables`,
    });
  }
  if (mismatches > 0) {
    reasons.push({
      code: 'relation_type_mismatch',
      severity: 'warning',
      count: mismatches,
      message: `${mismatches} table(s) exist as another kind of relation than ${expectedRelationType}`,
    });
  }
  const health: SchemaHealth = missingTables > 0 ? 'unhealthy' : reasons.length > 0 ? 'degraded' : 'healthy';
  return { health, reasons, tables };
}
