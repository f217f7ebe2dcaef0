import { randomUUID } from 'node:crypto';
import type { GoclawAgent } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import {
  GoClawConflictError,
  GoClawForbiddenError,
  GoClawInvalidInputError,
  GoClawNotFoundError,
} from './goclaw.errors.ts';
import { isUuid } from './providers.service.ts';
import { goclawRole, requireRole } from './roles.ts';

export type AgentRow = GoclawAgent;

export interface AgentInput {
  name?: string | null;
  displayName?: string | null;
  agentType?: 'open' | 'predefined' | null;
  description?: string | null;
  provider?: string | null;
  model?: string | null;
  systemPrompt?: string | null;
  maxToolIterations?: number | null;
  toolsConfig?: { allow?: string[] | null; deny?: string[] | null } | null;
  /** Who embeds the agent's memory; absent fields fall back to the global configuration. */
  memoryConfig?: { embeddingProvider?: string | null; embeddingModel?: string | null } | null;
}

const slug = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const maxPrompt = 100_000;

/** The `X-GoClaw-User-Id` as upstream reads it: at most 255 characters (longer values are ignored). */
export function externalUser(userId: string | null | undefined): string | undefined {
  if (!userId || userId.length > 255) return undefined;
  return userId;
}

function checkToolsConfig(config: AgentInput['toolsConfig']): { allow?: string[]; deny?: string[] } {
  if (!config) return {};
  const out: { allow?: string[]; deny?: string[] } = {};
  for (const key of ['allow', 'deny'] as const) {
    const list = config[key];
    if (list === null || list === undefined) continue;
    if (list.length > 200 || list.some((n) => typeof n !== 'string' || n.length > 128)) {
      throw new GoClawInvalidInputError(`tools_config.${key} must be at most 200 tool names`);
    }
    out[key] = list;
  }
  return out;
}

/** `{embedding_provider, embedding_model}` as stored: both or neither (an empty object = the global setting). */
function checkMemoryConfig(config: NonNullable<AgentInput['memoryConfig']>): Record<string, string> {
  const provider = config.embeddingProvider ?? '';
  const model = config.embeddingModel ?? '';
  if (typeof provider !== 'string' || typeof model !== 'string' || provider.length > 100 || model.length > 200) {
    throw new GoClawInvalidInputError('memory_config.embedding_provider and embedding_model must be short strings');
  }
  if ((provider === '') !== (model === '')) {
    throw new GoClawInvalidInputError('memory_config: embedding_provider and embedding_model go together');
  }
  return provider ? { embedding_provider: provider, embedding_model: model } : {};
}

function fields(input: AgentInput): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const text = (key: keyof AgentInput, column: string, max: number) => {
    const v = input[key];
    if (v === undefined || v === null) return;
    if (typeof v !== 'string' || v.length > max)
      throw new GoClawInvalidInputError(`${column} is longer than ${max} characters`);
    data[column] = v;
  };
  text('displayName', 'displayName', 200);
  text('description', 'description', 10_000);
  text('provider', 'provider', 100);
  text('model', 'model', 200);
  text('systemPrompt', 'systemPrompt', maxPrompt);
  if (input.agentType !== undefined && input.agentType !== null) {
    if (input.agentType !== 'open' && input.agentType !== 'predefined') {
      throw new GoClawInvalidInputError('agent_type must be open or predefined');
    }
    data.agentType = input.agentType;
  }
  if (input.maxToolIterations !== undefined && input.maxToolIterations !== null) {
    if (!Number.isInteger(input.maxToolIterations) || input.maxToolIterations < 1 || input.maxToolIterations > 100) {
      throw new GoClawInvalidInputError('max_tool_iterations must be an integer from 1 to 100');
    }
    data.maxToolIterations = input.maxToolIterations;
  }
  if (input.toolsConfig !== undefined && input.toolsConfig !== null)
    data.toolsConfig = checkToolsConfig(input.toolsConfig);
  if (input.memoryConfig !== undefined && input.memoryConfig !== null)
    data.memoryConfig = checkMemoryConfig(input.memoryConfig);
  return data;
}

/**
 * Agents. Reads need the viewer role, writes the operator role. The external user (`X-GoClaw-User-Id`) that
 * created an agent owns it: only the owner — or an admin (the gateway token, `operator.admin` keys) — may read,
 * change or delete it; lists show the caller's own agents (admins see all).
 */
export class AgentService {
  constructor(private readonly deps: { prisma: PrismaClient }) {}

  private static sees(principal: Principal, agent: AgentRow, userId: string | undefined): boolean {
    return goclawRole(principal) === 'admin' || (userId !== undefined && agent.ownerId === userId);
  }

  private async fresh<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } finally {
      this.recent.clear();
    }
  }

  async list(principal: Principal, userId: string | null | undefined): Promise<AgentRow[]> {
    const role = requireRole(principal, 'viewer');
    const user = externalUser(userId);
    if (role !== 'admin' && user === undefined) throw new GoClawInvalidInputError('X-GoClaw-User-Id is required');
    return this.deps.prisma.goclawAgent.findMany({
      where: role === 'admin' ? {} : { ownerId: user },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  private readonly recent = new Map<string, { row: AgentRow | undefined; until: number }>();

  /**
   * By uuid or slug; no visibility check (the run path resolves its target with it). Kept for 2 s per instance
   * (dropped at once here on every change).
   */
  async find(idOrSlug: string): Promise<AgentRow | undefined> {
    const hit = this.recent.get(idOrSlug);
    if (hit && hit.until > Date.now()) return hit.row;
    const row = await this.load(idOrSlug);
    if (this.recent.size >= 1000) this.recent.clear();
    this.recent.set(idOrSlug, { row, until: Date.now() + 2000 });
    return row;
  }

  private async load(idOrSlug: string): Promise<AgentRow | undefined> {
    const row = isUuid(idOrSlug)
      ? await this.deps.prisma.goclawAgent.findUnique({ where: { id: idOrSlug.toLowerCase() } })
      : await this.deps.prisma.goclawAgent.findUnique({ where: { agentKey: idOrSlug } });
    return row ?? undefined;
  }

  /** One agent the caller may see: 404 when it does not exist, 403 when it is someone else's. */
  async get(principal: Principal, idOrSlug: string, userId: string | null | undefined): Promise<AgentRow> {
    requireRole(principal, 'viewer');
    const row = await this.find(idOrSlug);
    if (!row) throw new GoClawNotFoundError(`agent ${idOrSlug} not found`);
    if (!AgentService.sees(principal, row, externalUser(userId))) {
      throw new GoClawForbiddenError('only the agent’s owner may access it');
    }
    return row;
  }

  async create(principal: Principal, userId: string | null | undefined, input: AgentInput): Promise<AgentRow> {
    const role = requireRole(principal, 'operator');
    const owner = externalUser(userId) ?? (role === 'admin' ? 'admin' : undefined);
    if (owner === undefined) throw new GoClawInvalidInputError('X-GoClaw-User-Id is required');
    if (!input.name || !slug.test(input.name) || input.name.length > 100) {
      throw new GoClawInvalidInputError('name must be a slug: lowercase letters, digits and inner hyphens (≤ 100)');
    }
    this.recent.clear();
    try {
      return await this.fresh(
        this.deps.prisma.goclawAgent.create({
          data: { id: randomUUID(), agentKey: input.name, ownerId: owner, ...fields(input) } as never,
        }),
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002')
        throw new GoClawConflictError(`agent "${input.name}" already exists`);
      throw err;
    }
  }

  /** A partial update by the owner (or an admin). */
  async update(
    principal: Principal,
    idOrSlug: string,
    userId: string | null | undefined,
    input: AgentInput,
  ): Promise<AgentRow> {
    requireRole(principal, 'operator');
    const row = await this.get(principal, idOrSlug, userId);
    const data = fields(input);
    if (input.name !== undefined && input.name !== null) {
      if (!slug.test(input.name) || input.name.length > 100) throw new GoClawInvalidInputError('name must be a slug');
      data.agentKey = input.name;
    }
    this.recent.clear();
    try {
      return await this.fresh(this.deps.prisma.goclawAgent.update({ where: { id: row.id }, data }));
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002')
        throw new GoClawConflictError(`agent "${input.name}" already exists`);
      if ((err as { code?: string }).code === 'P2025') throw new GoClawNotFoundError(`agent ${idOrSlug} not found`);
      throw err;
    }
  }

  async delete(principal: Principal, idOrSlug: string, userId: string | null | undefined): Promise<AgentRow> {
    requireRole(principal, 'operator');
    const row = await this.get(principal, idOrSlug, userId);
    this.recent.clear();
    const deleted = await this.fresh(this.deps.prisma.goclawAgent.deleteMany({ where: { id: row.id } }));
    if (deleted.count === 0) throw new GoClawNotFoundError(`agent ${idOrSlug} not found`);
    return row;
  }
}
