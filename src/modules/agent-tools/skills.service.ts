import { createHash } from 'node:crypto';
import type { GoClawSkill, GoClawSkillGrant } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import { principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import type { ActivityLog } from './activity.ts';
import type { AgentToolsConfig } from './agent-tools.config.ts';
import { GoClawConflictError, GoClawInvalidInputError, GoClawNotFoundError } from './agent-tools.errors.ts';
import { goclawRole, requireRole } from './roles.ts';
import { parseFrontMatter, readSkillZip } from './skill-zip.ts';
import { grantAgentId, isUuid, text } from './validate.ts';

export const skillVisibilities = ['private', 'public'] as const;
export const skillStatuses = ['active', 'disabled'] as const;

export interface SkillUpdateInput {
  name?: string | null;
  description?: string | null;
  visibility?: (typeof skillVisibilities)[number] | null;
  status?: (typeof skillStatuses)[number] | null;
  tags?: string[] | null;
}

interface Deps {
  prisma: PrismaClient;
  objectStore: ObjectStore;
  config: AgentToolsConfig;
  activity: ActivityLog;
}

/** Skills: uploaded ZIPs (object storage) with their SKILL.md front matter as metadata (Postgres). */
export class SkillService {
  constructor(private readonly deps: Deps) {}

  /**
   * Stores an uploaded ZIP. The slug comes from the front matter's `name` (else `slug`); uploading a skill whose
   * slug exists replaces its archive and bumps its version when the caller owns it (or is admin), else 409.
   */
  async upload(principal: Principal, input: { zip: Uint8Array; ownerId?: string | null }): Promise<GoClawSkill> {
    requireRole(principal, 'operator');
    const { config, prisma, objectStore } = this.deps;
    if (input.zip.length > config.maxSkillZipBytes) {
      throw new GoClawInvalidInputError(`file is larger than ${config.maxSkillZipBytes} bytes`);
    }
    const archive = readSkillZip(input.zip, config.maxSkillUnzippedBytes);
    const front = parseFrontMatter(archive.skillMd);
    const str = (k: string) => (typeof front[k] === 'string' ? (front[k] as string) : undefined);
    const name = str('name') ?? archive.root;
    if (!name) throw new GoClawInvalidInputError('SKILL.md front matter has no name');
    text('name', name, 200);
    const slug = toSlug(str('slug') ?? name);
    if (!slug) throw new GoClawInvalidInputError('the skill name yields an empty slug');
    const description = text('description', str('description') ?? '', 4000) ?? '';
    const tags = Array.isArray(front.tags) ? front.tags.slice(0, 50).map((t) => t.slice(0, 100)) : [];
    const ownerId = text('owner', input.ownerId, 255) || principalId(principal);
    const hash = createHash('sha256').update(input.zip).digest('hex');
    const existing = await prisma.goClawSkill.findUnique({ where: { slug } });
    if (existing && existing.ownerId !== ownerId && goclawRole(principal) !== 'admin') {
      throw new GoClawConflictError(`A skill with slug "${slug}" already exists`);
    }
    const id = existing?.id ?? crypto.randomUUID();
    const key = `goclaw/skills/${id}/${hash}.zip`;
    await objectStore.putObject(key, input.zip, { contentType: 'application/zip' });
    const data = {
      name,
      description,
      frontmatter: front as object,
      filePath: key,
      fileSize: input.zip.length,
      fileHash: hash,
      tags,
    };
    const row = existing
      ? await prisma.goClawSkill.update({ where: { id }, data: { ...data, version: { increment: 1 } } })
      : await prisma.goClawSkill.create({ data: { ...data, id, slug, ownerId } });
    if (existing && existing.filePath !== key) await objectStore.deleteObject(existing.filePath);
    await this.deps.activity.record(principal, {
      action: existing ? 'skill.replace' : 'skill.upload',
      entityType: 'skill',
      entityId: id,
      details: { slug, version: row.version },
    });
    return row;
  }

  async update(principal: Principal, id: string, input: SkillUpdateInput): Promise<GoClawSkill> {
    requireRole(principal, 'operator');
    const row = await this.find(id);
    if (input.visibility && !(skillVisibilities as readonly string[]).includes(input.visibility)) {
      throw new GoClawInvalidInputError(`visibility must be one of ${skillVisibilities.join(', ')}`);
    }
    if (input.status && !(skillStatuses as readonly string[]).includes(input.status)) {
      throw new GoClawInvalidInputError(`status must be one of ${skillStatuses.join(', ')}`);
    }
    if (input.tags && (input.tags.length > 50 || input.tags.some((t) => t.length > 100))) {
      throw new GoClawInvalidInputError('tags: at most 50 of up to 100 characters');
    }
    if (input.name !== undefined && input.name !== null && input.name.trim() === '') {
      throw new GoClawInvalidInputError('name must not be empty');
    }
    const updated = await this.deps.prisma.goClawSkill.update({
      where: { id: row.id },
      data: {
        ...(input.name ? { name: text('name', input.name, 200) as string } : {}),
        ...(input.description !== undefined && input.description !== null
          ? { description: text('description', input.description, 4000) as string }
          : {}),
        ...(input.visibility ? { visibility: input.visibility } : {}),
        ...(input.status ? { status: input.status } : {}),
        ...(input.tags ? { tags: input.tags } : {}),
      },
    });
    await this.deps.activity.record(principal, { action: 'skill.update', entityType: 'skill', entityId: row.id });
    return updated;
  }

  async delete(principal: Principal, id: string): Promise<{ id: string }> {
    requireRole(principal, 'operator');
    const row = await this.find(id);
    await this.deps.prisma.goClawSkill.delete({ where: { id: row.id } });
    await this.deps.objectStore.deleteObject(row.filePath);
    await this.deps.activity.record(principal, { action: 'skill.delete', entityType: 'skill', entityId: row.id });
    return { id: row.id };
  }

  /** Grants a skill to an agent (idempotent; GoClaw operators and up). */
  async grant(principal: Principal, idOrSlug: string, agentId: string): Promise<GoClawSkillGrant> {
    requireRole(principal, 'operator');
    const skill = await this.find(idOrSlug);
    const agent = grantAgentId(agentId);
    const row = await this.deps.prisma.goClawSkillGrant.upsert({
      where: { skillId_agentId: { skillId: skill.id, agentId: agent } },
      create: { skillId: skill.id, agentId: agent, createdBy: principalId(principal) },
      update: {},
    });
    await this.deps.activity.record(principal, {
      action: 'skill.grant',
      entityType: 'skill',
      entityId: skill.id,
      details: { agent_id: agent },
    });
    return row;
  }

  /** Removes an agent's grant of a skill. */
  async revoke(principal: Principal, idOrSlug: string, agentId: string): Promise<{ id: string }> {
    requireRole(principal, 'operator');
    const skill = await this.find(idOrSlug);
    const agent = grantAgentId(agentId);
    const row = await this.deps.prisma.goClawSkillGrant.findUnique({
      where: { skillId_agentId: { skillId: skill.id, agentId: agent } },
    });
    if (!row) throw new GoClawNotFoundError('Skill grant', `${skill.slug}/${agent}`);
    await this.deps.prisma.goClawSkillGrant.delete({ where: { id: row.id } });
    await this.deps.activity.record(principal, {
      action: 'skill.revoke',
      entityType: 'skill',
      entityId: skill.id,
      details: { agent_id: agent },
    });
    return { id: row.id };
  }

  /** The active skills granted to an agent, by slug. */
  async agentSkills(principal: Principal, agentId: string): Promise<GoClawSkill[]> {
    requireRole(principal, 'viewer');
    return this.deps.prisma.goClawSkill.findMany({
      where: { status: 'active', agentGrants: { some: { agentId: agentId.toLowerCase() } } },
      orderBy: { slug: 'asc' },
      take: 200,
    });
  }

  /** The SKILL.md of an active skill granted to the agent (read from its stored ZIP); not found otherwise. */
  async agentSkillMd(principal: Principal, agentId: string, slug: string): Promise<{ skill: GoClawSkill; md: string }> {
    requireRole(principal, 'viewer');
    const skill = await this.deps.prisma.goClawSkill.findFirst({
      where: {
        slug: slug.slice(0, 200),
        status: 'active',
        agentGrants: { some: { agentId: agentId.toLowerCase() } },
      },
    });
    if (!skill) throw new GoClawNotFoundError('Skill granted to this agent', slug.slice(0, 200));
    const stored = await this.deps.objectStore.getObject(skill.filePath);
    if (!stored) throw new GoClawNotFoundError('Skill archive', skill.slug);
    const archive = readSkillZip(stored.body, this.deps.config.maxSkillUnzippedBytes);
    return { skill, md: archive.skillMd };
  }

  /** A skill by uuid or slug. */
  async find(idOrSlug: string): Promise<GoClawSkill> {
    const row = isUuid(idOrSlug)
      ? await this.deps.prisma.goClawSkill.findUnique({ where: { id: idOrSlug } })
      : await this.deps.prisma.goClawSkill.findUnique({ where: { slug: idOrSlug.slice(0, 200) } });
    if (!row) throw new GoClawNotFoundError('Skill', idOrSlug.slice(0, 200));
    return row;
  }
}

function toSlug(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100);
}
