import { describe, expect, it } from 'vitest';
import { athenaSchemaManifest, compareSchema, parsePrismaManifest, prismaModelNames } from './meta-schema.ts';

const source = `
/// Where it comes from.
enum Source {
  a
  b
}

/// A parent row.
/// Second line.
model Parent {
  id       String  @id @default(uuid()) @db.Uuid
  userName String  @map("user_name")
  kind     Source
  tags     String[]
  maybe    Int?
  children Child[]

  @@index([userName])
  @@map("parents")
}

model Child {
  id       String @id
  parentId String @map("parent_id")
  parent   Parent @relation(fields: [parentId], references: [id])
}
`;

describe('parsePrismaManifest', () => {
  it('reads tables (@@map), columns (@map), docs, and skips enums and relation fields', () => {
    expect(parsePrismaManifest(source)).toEqual([
      {
        table: 'parents',
        model: 'Parent',
        purpose: 'A parent row. Second line.',
        columns: ['id', 'user_name', 'kind', 'tags', 'maybe'],
      },
      { table: 'Child', model: 'Child', purpose: '', columns: ['id', 'parent_id'] },
    ]);
  });

  it('skips relations to models of other schema files', () => {
    const own = `model Link {\n  id     String @id\n  dbId   String @map("db_id")\n  db     Database @relation(fields: [dbId], references: [id])\n  owners Owner[]\n}`;
    expect(prismaModelNames(own)).toEqual(['Link']);
    expect(parsePrismaManifest(own, ['Owner'])[0]?.columns).toEqual(['id', 'db_id']);
    // Without the other files' names, `owners` would pass for a column: that is why the manifest reads them all.
    expect(parsePrismaManifest(own)[0]?.columns).toEqual(['id', 'db_id', 'owners']);
  });

  it('reads Athena’s own Prisma file: every table is athena_*', () => {
    const manifest = athenaSchemaManifest();
    expect(manifest.length).toBeGreaterThanOrEqual(8);
    for (const t of manifest) expect(t.table).toMatch(/^athena_/);
    const registry = manifest.find((t) => t.table === 'athena_api_registry');
    expect(registry?.columns).toEqual([
      'id',
      'api_registry_id',
      'name',
      'base_url',
      'attributes',
      'created_at',
      'updated_at',
    ]);
  });
});

describe('compareSchema', () => {
  const expected = parsePrismaManifest(source);

  it('is healthy when everything is there', () => {
    const r = compareSchema(
      expected,
      [
        { schema: 'public', table: 'parents', relationType: 'BASE TABLE', columns: expected[0]?.columns ?? [] },
        { schema: 'public', table: 'Child', relationType: 'BASE TABLE', columns: ['id', 'parent_id', 'extra'] },
      ],
      'public',
    );
    expect(r.health).toBe('healthy');
    expect(r.reasons).toEqual([]);
    expect(r.tables[1]?.unexpectedColumns).toEqual(['extra']);
  });

  it('is degraded on a missing column or a view, unhealthy on a missing table', () => {
    const degraded = compareSchema(
      expected,
      [
        { schema: 'public', table: 'parents', relationType: 'VIEW', columns: ['id', 'user_name'] },
        { schema: 'public', table: 'Child', relationType: 'BASE TABLE', columns: ['id', 'parent_id'] },
      ],
      'public',
    );
    expect(degraded.health).toBe('degraded');
    expect(degraded.tables[0]?.missingColumns).toEqual(['kind', 'tags', 'maybe']);
    expect(degraded.reasons.map((r) => [r.code, r.count])).toEqual([
      ['missing_required_columns', 3],
      ['relation_type_mismatch', 1],
    ]);
    const unhealthy = compareSchema(
      expected,
      [{ schema: 'other', table: 'parents', relationType: 'BASE TABLE', columns: [] }],
      'public',
    );
    expect(unhealthy.health).toBe('unhealthy');
    expect(unhealthy.tables.every((t) => !t.found)).toBe(true);
    expect(unhealthy.reasons[0]).toMatchObject({ code: 'missing_required_tables', severity: 'error', count: 2 });
  });
});
