import { randomUUID } from 'node:crypto';
import type { GoclawKgEntity, GoclawKgRelation } from '../../../../prisma/generated/client/client.ts';
import type { Principal } from '../../../core/auth/principal.ts';
import { Prisma, type PrismaClient } from '../../../core/db.ts';
import { externalUser } from '../agents.service.ts';
import { GoClawInvalidInputError, GoClawNotFoundError } from '../goclaw.errors.ts';
import { isUuid } from '../providers.service.ts';
import { requireRole } from '../roles.ts';
import type { MemoryService } from './memory.service.ts';

export type KgEntityRow = GoclawKgEntity;
export type KgRelationRow = GoclawKgRelation;

export interface KgEntityInput {
  externalId: string;
  name: string;
  entityType: string;
  description?: string | null;
  /** A map of string to string. */
  properties?: Record<string, unknown> | null;
  sourceId?: string | null;
  /** 0–1, default 1. */
  confidence?: number | null;
  /** The external user whose entity this is; absent = the agent's. */
  userId?: string | null;
}

export interface KgRelationInput {
  /** Entity uuid or external_id. */
  source: string;
  relationType: string;
  /** Entity uuid or external_id. */
  target: string;
  confidence?: number | null;
  properties?: Record<string, unknown> | null;
  userId?: string | null;
}

export interface KgStep {
  entity: KgEntityRow;
  depth: number;
  /** Entity ids from the start to this one (both included). */
  path: string[];
  /** The relation type of the last hop. */
  via: string;
}

/** Traversal depth when none is asked for, and its bounds (a larger or smaller one is clamped). */
export const traverseDefaultDepth = 2;
export const traverseMaxDepth = 3;
/** Relations followed out of one entity (bounds the walk: at most 100³ paths at depth 3). */
export const traverseMaxFanout = 100;
/** At most this many entities come back from one traversal. */
export const traverseMaxResults = 1000;

function text(value: unknown, field: string, max: number, required: boolean): string {
  if (value === undefined || value === null || value === '') {
    if (required) throw new GoClawInvalidInputError(`${field} is required`);
    return '';
  }
  if (typeof value !== 'string' || value.length > max || value.includes('\0')) {
    throw new GoClawInvalidInputError(`${field} must be a string of at most ${max} characters`);
  }
  return value;
}

function properties(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new GoClawInvalidInputError('properties must be an object');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.some(([, v]) => typeof v !== 'string')) {
    throw new GoClawInvalidInputError('properties must map names to strings');
  }
  if (JSON.stringify(value).length > 64 * 1024) throw new GoClawInvalidInputError('properties is larger than 64 KiB');
  return value as Record<string, string>;
}

function confidence(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new GoClawInvalidInputError('confidence must be a number from 0 to 1');
  }
  return value;
}

function scopeOf(userId: string | null | undefined): string {
  if (userId === undefined || userId === null || userId === '') return '';
  const user = externalUser(userId);
  if (user === undefined) throw new GoClawInvalidInputError('user_id is longer than 255 characters');
  return user;
}

/**
 * GoClaw's knowledge graph: entities per agent (the agent's, or one external user's), upserted by
 * `external_id`, and directed typed relations between them; traversal is a bounded breadth-first walk along
 * relations (a recursive CTE that never revisits an entity on its path). Reads need viewer, writes operator.
 */
export class KgService {
  constructor(private readonly deps: { prisma: PrismaClient; memory: MemoryService }) {}

  /** Creates the entity, or updates the one with the same `external_id` (per agent and user). */
  async upsertEntity(principal: Principal, agentRef: string, input: KgEntityInput): Promise<KgEntityRow> {
    requireRole(principal, 'operator');
    const agent = await this.deps.memory.agent(agentRef);
    const userId = scopeOf(input.userId);
    const data = {
      name: text(input.name, 'name', 500, true),
      entityType: text(input.entityType, 'entity_type', 100, true),
      description: text(input.description, 'description', 10_000, false),
      properties: properties(input.properties),
      sourceId: text(input.sourceId, 'source_id', 255, false),
      confidence: confidence(input.confidence),
    };
    const externalId = text(input.externalId, 'external_id', 255, true);
    const where = { agentId_userId_externalId: { agentId: agent.id, userId, externalId } };
    try {
      return await this.deps.prisma.goclawKgEntity.upsert({
        where,
        create: { id: randomUUID(), agentId: agent.id, userId, externalId, ...data },
        update: data,
      });
    } catch (err) {
      // Two upserts of a new external_id at once: the loser updates the winner's row.
      if ((err as { code?: string }).code === 'P2002') return this.deps.prisma.goclawKgEntity.update({ where, data });
      throw err;
    }
  }

  /** An entity of the agent by uuid or external_id, within the user's scope (404 when there is none). */
  private async resolve(agentId: string, ref: string, users: string[]): Promise<KgEntityRow> {
    const row = await this.deps.prisma.goclawKgEntity.findFirst({
      where: {
        agentId,
        userId: { in: users },
        OR: [...(isUuid(ref) ? [{ id: ref.toLowerCase() }] : []), { externalId: ref }],
      },
      orderBy: { userId: 'desc' },
    });
    if (!row) throw new GoClawNotFoundError(`entity ${ref} not found`);
    return row;
  }

  async deleteEntity(
    principal: Principal,
    agentRef: string,
    ref: string,
    userId?: string | null,
  ): Promise<KgEntityRow> {
    requireRole(principal, 'operator');
    const agent = await this.deps.memory.agent(agentRef);
    const row = await this.resolve(agent.id, text(ref, 'entity', 255, true), [scopeOf(userId)]);
    await this.deps.prisma.goclawKgEntity.deleteMany({ where: { id: row.id } });
    return row;
  }

  /** Creates the relation source → type → target, or updates its confidence and properties. */
  async upsertRelation(principal: Principal, agentRef: string, input: KgRelationInput): Promise<KgRelationRow> {
    requireRole(principal, 'operator');
    const agent = await this.deps.memory.agent(agentRef);
    const user = scopeOf(input.userId);
    const users = user ? ['', user] : [''];
    const relationType = text(input.relationType, 'relation_type', 100, true);
    const source = await this.resolve(agent.id, text(input.source, 'source', 255, true), users);
    const target = await this.resolve(agent.id, text(input.target, 'target', 255, true), users);
    const data = { confidence: confidence(input.confidence), properties: properties(input.properties) };
    const where = { sourceId_relationType_targetId: { sourceId: source.id, relationType, targetId: target.id } };
    try {
      return await this.deps.prisma.goclawKgRelation.upsert({
        where,
        create: {
          id: randomUUID(),
          agentId: agent.id,
          sourceId: source.id,
          relationType,
          targetId: target.id,
          ...data,
        },
        update: data,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return this.deps.prisma.goclawKgRelation.update({ where, data });
      throw err;
    }
  }

  async deleteRelation(principal: Principal, agentRef: string, input: KgRelationInput): Promise<KgRelationRow> {
    requireRole(principal, 'operator');
    const agent = await this.deps.memory.agent(agentRef);
    const user = scopeOf(input.userId);
    const users = user ? ['', user] : [''];
    const source = await this.resolve(agent.id, text(input.source, 'source', 255, true), users);
    const target = await this.resolve(agent.id, text(input.target, 'target', 255, true), users);
    const relationType = text(input.relationType, 'relation_type', 100, true);
    const row = await this.deps.prisma.goclawKgRelation.findUnique({
      where: { sourceId_relationType_targetId: { sourceId: source.id, relationType, targetId: target.id } },
    });
    if (!row) throw new GoClawNotFoundError('relation not found');
    await this.deps.prisma.goclawKgRelation.deleteMany({ where: { id: row.id } });
    return row;
  }

  /**
   * The agent's entities (plus the user's when `userId` is given), by name; filters `type` (exact) and `q`
   * (a case-insensitive substring of the name, external id or description).
   */
  async listEntities(
    principal: Principal,
    agentRef: string,
    input: { userId?: string | null; type?: string | null; q?: string | null; limit: number; offset: number },
  ): Promise<{ items: KgEntityRow[]; total: number }> {
    requireRole(principal, 'viewer');
    const agent = await this.deps.memory.agent(agentRef);
    const user = scopeOf(input.userId);
    const where: Prisma.GoclawKgEntityWhereInput = { agentId: agent.id, userId: { in: user ? ['', user] : [''] } };
    if (input.type) where.entityType = text(input.type, 'type', 100, true);
    if (input.q) {
      // LIKE wildcards in the text match themselves.
      const q = text(input.q, 'q', 500, true).replace(/[\\%_]/g, '\\$&');
      where.OR = [
        { name: { contains: q, mode: 'insensitive' } },
        { externalId: { contains: q, mode: 'insensitive' } },
        { description: { contains: q, mode: 'insensitive' } },
      ];
    }
    const [items, total] = await Promise.all([
      this.deps.prisma.goclawKgEntity.findMany({
        where,
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
        take: input.limit,
        skip: input.offset,
      }),
      this.deps.prisma.goclawKgEntity.count({ where }),
    ]);
    return { items, total };
  }

  async entity(principal: Principal, id: string): Promise<KgEntityRow | undefined> {
    requireRole(principal, 'viewer');
    if (!isUuid(id)) return undefined;
    return (await this.deps.prisma.goclawKgEntity.findUnique({ where: { id: id.toLowerCase() } })) ?? undefined;
  }

  async relation(principal: Principal, id: string): Promise<KgRelationRow | undefined> {
    requireRole(principal, 'viewer');
    if (!isUuid(id)) return undefined;
    return (await this.deps.prisma.goclawKgRelation.findUnique({ where: { id: id.toLowerCase() } })) ?? undefined;
  }

  /** Relations leaving an entity. */
  outgoing(entityId: string): Promise<KgRelationRow[]> {
    return this.deps.prisma.goclawKgRelation.findMany({
      where: { sourceId: entityId },
      orderBy: [{ relationType: 'asc' }, { targetId: 'asc' }],
      take: 1000,
    });
  }

  /**
   * Breadth-first along relations (source → target) from `entityRef` (uuid or external_id), `maxDepth` clamped to
   * [1, 3] (default 2). Each entity reached comes once, at its smallest depth, with the path of ids that reached
   * it and the relation type of the last hop; the start is not among them. A walk never revisits an entity on its
   * own path, so cycles end; at most 100 relations are followed out of each entity and 1000 entities come back.
   */
  async traverse(
    principal: Principal,
    agentRef: string,
    input: { entityId: string; userId?: string | null; maxDepth?: number | null },
  ): Promise<KgStep[]> {
    requireRole(principal, 'viewer');
    const agent = await this.deps.memory.agent(agentRef);
    const user = scopeOf(input.userId);
    const users = user ? ['', user] : [''];
    if (input.maxDepth !== undefined && input.maxDepth !== null && !Number.isInteger(input.maxDepth)) {
      throw new GoClawInvalidInputError('max_depth must be an integer');
    }
    const depth = Math.min(traverseMaxDepth, Math.max(1, input.maxDepth ?? traverseDefaultDepth));
    const start = await this.resolve(agent.id, text(input.entityId, 'entity_id', 255, true), users);
    const rows = await this.deps.prisma.$queryRaw<{ id: string; depth: number; path: string[]; via: string }[]>`
      WITH RECURSIVE walk(id, depth, path, via) AS (
        SELECT e.id, 0, ARRAY[e.id], ''::text FROM goclaw_kg_entities e WHERE e.id = ${start.id}::uuid
        UNION ALL
        SELECT r.target_entity_id, w.depth + 1, w.path || r.target_entity_id, r.relation_type
        FROM walk w
        CROSS JOIN LATERAL (
          SELECT r.target_entity_id, r.relation_type
          FROM goclaw_kg_relations r
          JOIN goclaw_kg_entities t ON t.id = r.target_entity_id AND t.user_id IN (${Prisma.join(users)})
          WHERE r.source_entity_id = w.id AND r.agent_id = ${agent.id}::uuid
          ORDER BY r.relation_type, r.target_entity_id
          LIMIT ${traverseMaxFanout}
        ) r
        WHERE w.depth < ${depth} AND NOT (r.target_entity_id = ANY (w.path))
      )
      SELECT id::text AS id, depth, path::text[] AS path, via FROM (
        SELECT DISTINCT ON (id) id, depth, path, via FROM walk WHERE depth > 0 ORDER BY id, depth, path::text[], via
      ) s
      ORDER BY depth, id LIMIT ${traverseMaxResults}`;
    if (rows.length === 0) return [];
    const entities = await this.deps.prisma.goclawKgEntity.findMany({ where: { id: { in: rows.map((r) => r.id) } } });
    const byId = new Map(entities.map((e) => [e.id, e]));
    const steps: KgStep[] = [];
    for (const r of rows) {
      const entity = byId.get(r.id);
      if (entity) steps.push({ entity, depth: Number(r.depth), path: r.path, via: r.via });
    }
    return steps.sort(
      (a, b) =>
        a.depth - b.depth || a.entity.name.localeCompare(b.entity.name) || a.entity.id.localeCompare(b.entity.id),
    );
  }
}
