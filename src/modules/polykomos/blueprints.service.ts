import type { PolykomosBlueprint } from '../../../prisma/generated/client/client.ts';
import { Prisma } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { type BlueprintValidation, checkVariableDeclarations, validateBlueprintSql } from './blueprint-sql.ts';
import {
  invalidParameter,
  PolykomosConflictError,
  PolykomosForbiddenError,
  PolykomosNotFoundError,
  unprocessable,
} from './polykomos.errors.ts';
import { type PolykomosService, requireScope } from './polykomos.service.ts';

export type BlueprintRow = PolykomosBlueprint;

export interface CreateBlueprintInput {
  name: string;
  sqlContent: string;
  description?: string | null;
  variables?: unknown;
}

export interface UpdateBlueprintInput {
  name?: string | null;
  description?: string | null;
  sqlContent?: string | null;
  variables?: unknown;
}

/** The largest sql_content accepted (bytes, UTF-8). */
export const maxBlueprintBytes = 1_000_000;
const maxNameLength = 200;

const notFound = (uuid: string) => new PolykomosNotFoundError(`Blueprint "${uuid}" not found`);
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Polykomos blueprints: versioned SQL scripts per user, soft-deleted (docs/polykomos.md, Blueprints). */
export class BlueprintService {
  constructor(private readonly deps: { prisma: PrismaClient; polykomos: PolykomosService }) {}

  private async ownerId(principal: Principal): Promise<string> {
    return (await this.deps.polykomos.account(principal)).ownerId;
  }

  /** The caller's blueprints not deleted, newest first; `startingAfter` = uuid of the previous page's last item. */
  async list(principal: Principal, limit: number, startingAfter?: string | null) {
    requireScope(principal, 'blueprints:read');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidParameter('limit must be 1..100');
    const ownerId = await this.ownerId(principal);
    let cursor: { createdAt: Date; id: number } | undefined;
    if (startingAfter) {
      const row = uuidPattern.test(startingAfter)
        ? await this.deps.prisma.polykomosBlueprint.findFirst({
            where: { uuid: startingAfter, ownerId },
            select: { createdAt: true, id: true },
          })
        : null;
      if (!row) throw invalidParameter(`starting_after: unknown blueprint "${startingAfter}"`);
      cursor = row;
    }
    const rows = await this.deps.prisma.polykomosBlueprint.findMany({
      where: {
        ownerId,
        deletedAt: null,
        ...(cursor
          ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    return { items: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** One of the caller's blueprints (not deleted); another user's is 404. */
  async get(principal: Principal, uuid: string, scope = 'blueprints:read'): Promise<BlueprintRow> {
    requireScope(principal, scope);
    if (!uuidPattern.test(uuid)) throw notFound(uuid);
    const row = await this.deps.prisma.polykomosBlueprint.findFirst({
      where: {
        uuid,
        deletedAt: null,
        ...(principal.kind === 'admin' ? {} : { ownerId: await this.ownerId(principal) }),
      },
    });
    if (!row) throw notFound(uuid);
    return row;
  }

  /** Any blueprint of the caller by uuid, deleted ones included (applications resolve soft-deleted blueprints). */
  async getIncludingDeleted(principal: Principal, uuid: string): Promise<BlueprintRow | null> {
    if (!uuidPattern.test(uuid)) return null;
    return this.deps.prisma.polykomosBlueprint.findFirst({ where: { uuid, ownerId: await this.ownerId(principal) } });
  }

  async create(principal: Principal, input: CreateBlueprintInput): Promise<BlueprintRow> {
    requireScope(principal, 'blueprints:write');
    const ownerId = await this.ownerId(principal);
    const name = checkName(input.name);
    const sqlContent = checkSql(input.sqlContent);
    const variables = checkVariables(input.variables);
    const base = slugify(name) || 'blueprint';
    for (let attempt = 0; attempt < 5; attempt++) {
      const slug = await this.freeSlug(ownerId, base);
      try {
        return await this.deps.prisma.polykomosBlueprint.create({
          data: {
            ownerId,
            name,
            slug,
            description: input.description ?? null,
            sqlContent,
            variables: variables ?? Prisma.DbNull,
            sizeBytes: Buffer.byteLength(sqlContent, 'utf8'),
            versions: { create: { version: 1, sqlContent, variables: variables ?? Prisma.DbNull } },
          },
        });
      } catch (err) {
        // Two creates raced for one slug: pick the next free one.
        if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
      }
    }
    throw new PolykomosConflictError('Could not allocate a slug; retry');
  }

  /** The first of `base`, `base-2`, `base-3`… not used by the owner (deleted blueprints keep theirs). */
  private async freeSlug(ownerId: string, base: string): Promise<string> {
    const taken = new Set(
      (
        await this.deps.prisma.polykomosBlueprint.findMany({
          where: { ownerId, OR: [{ slug: base }, { slug: { startsWith: `${base}-` } }] },
          select: { slug: true },
        })
      ).map((r) => r.slug),
    );
    if (!taken.has(base)) return base;
    for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
  }

  /**
   * Partial update. `version` goes up (and a version row is kept) only when sql_content or variables change; a name
   * or description change alone keeps it. `{}` is a no-op. The slug never changes.
   */
  async update(principal: Principal, uuid: string, input: UpdateBlueprintInput): Promise<BlueprintRow> {
    const row = await this.get(principal, uuid, 'blueprints:write');
    if (row.isSystemBlueprint)
      throw new PolykomosForbiddenError('INSUFFICIENT_SCOPE', 'System blueprints are read-only');
    const data: Prisma.PolykomosBlueprintUpdateInput = {};
    if (input.name != null) data.name = checkName(input.name);
    if (input.description !== undefined) data.description = input.description;
    let sql = row.sqlContent;
    let variables = row.variables as Prisma.InputJsonObject | null;
    let contentChanged = false;
    if (input.sqlContent != null) {
      const next = checkSql(input.sqlContent);
      if (next !== row.sqlContent) {
        sql = next;
        contentChanged = true;
        data.sqlContent = next;
        data.sizeBytes = Buffer.byteLength(next, 'utf8');
      }
    }
    if (input.variables !== undefined) {
      const next = checkVariables(input.variables);
      if (canonical(next) !== canonical(row.variables)) {
        variables = next;
        contentChanged = true;
        data.variables = next ?? Prisma.DbNull;
      }
    }
    if (Object.keys(data).length === 0) return row;
    if (!contentChanged) return this.deps.prisma.polykomosBlueprint.update({ where: { id: row.id }, data });
    return this.deps.prisma.$transaction(async (tx) => {
      // The version is bumped in the row itself, so concurrent updates each get their own number.
      const bumped = await tx.polykomosBlueprint.update({
        where: { id: row.id },
        data: { ...data, version: { increment: 1 } },
      });
      await tx.polykomosBlueprintVersion.create({
        data: { blueprintId: row.id, version: bumped.version, sqlContent: sql, variables: variables ?? Prisma.DbNull },
      });
      return bumped;
    });
  }

  /** Soft delete: hidden from lists and gets, kept for applications that reference it. */
  async delete(principal: Principal, uuid: string): Promise<BlueprintRow> {
    const row = await this.get(principal, uuid, 'blueprints:write');
    if (row.isSystemBlueprint)
      throw new PolykomosForbiddenError('INSUFFICIENT_SCOPE', 'System blueprints are read-only');
    return this.deps.prisma.polykomosBlueprint.update({ where: { id: row.id }, data: { deletedAt: new Date() } });
  }

  /** A blueprint's version history, oldest first. */
  versions(row: BlueprintRow) {
    return this.deps.prisma.polykomosBlueprintVersion.findMany({
      where: { blueprintId: row.id },
      orderBy: { version: 'asc' },
    });
  }

  /** Parses with the real Postgres parser and dry-runs in a throwaway PGlite (blueprints:read). */
  async validate(principal: Principal, sqlContent: string, variables?: unknown): Promise<BlueprintValidation> {
    requireScope(principal, 'blueprints:read');
    return validateBlueprintSql(checkSql(sqlContent), checkVariables(variables));
  }
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > maxNameLength) {
    throw unprocessable('INVALID_PARAMETER', `name must be 1..${maxNameLength} characters`);
  }
  return trimmed;
}

function checkSql(sql: string): string {
  if (sql.trim() === '') throw unprocessable('INVALID_PARAMETER', 'sql_content must not be empty');
  if (Buffer.byteLength(sql, 'utf8') > maxBlueprintBytes) {
    throw unprocessable('INVALID_PARAMETER', `sql_content is limited to ${maxBlueprintBytes} bytes`);
  }
  if (sql.includes('\u0000')) throw unprocessable('INVALID_PARAMETER', 'sql_content must not contain NUL');
  return sql;
}

function checkVariables(variables: unknown): Prisma.InputJsonObject | null {
  if (variables === undefined || variables === null) return null;
  if (typeof variables !== 'object' || Array.isArray(variables)) {
    throw unprocessable('INVALID_PARAMETER', 'variables must be an object');
  }
  const problems = checkVariableDeclarations(variables as Record<string, unknown>);
  if (problems.length > 0) throw unprocessable('INVALID_PARAMETER', `variables: ${problems.join('; ')}`);
  return variables as Prisma.InputJsonObject;
}

/** Lowercased, non-alphanumerics collapsed to single hyphens, trimmed of hyphens, at most 63 characters. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/g, '');
}

function canonical(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
