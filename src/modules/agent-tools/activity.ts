import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { requireRole } from './roles.ts';

/** Records one write in GoClaw's activity log (`GET /v1/activity`). */
export class ActivityLog {
  constructor(private readonly prisma: PrismaClient) {}

  async record(
    principal: Principal,
    entry: { action: string; entityType: string; entityId: string; details?: Record<string, unknown> },
  ): Promise<void> {
    await this.prisma.goClawActivity.create({
      data: {
        actorType: principal.kind,
        actorId: principalId(principal),
        action: entry.action,
        entityType: entry.entityType,
        entityId: entry.entityId,
        details: (entry.details ?? {}) as object,
      },
    });
  }
}

/** Reads of the activity log and the delegation history (newest first, offset-paged). */
export class ActivityReader {
  constructor(private readonly prisma: PrismaClient) {}

  async activity(principal: Principal, page: { take: number; offset: number }) {
    requireRole(principal, 'viewer');
    const [items, totalCount] = await Promise.all([
      this.prisma.goClawActivity.findMany({
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.take,
        skip: page.offset,
      }),
      this.prisma.goClawActivity.count(),
    ]);
    return { items, totalCount };
  }

  /**
   * Delegations recorded by the agent loop. Nothing in this module writes them (hand-offs belong to the run
   * loop), so until it does the list is honestly empty.
   */
  async delegations(principal: Principal, page: { agentId?: string | null; take: number; offset: number }) {
    requireRole(principal, 'viewer');
    const where = page.agentId ? { OR: [{ sourceAgentId: page.agentId }, { targetAgentId: page.agentId }] } : {};
    const [items, totalCount] = await Promise.all([
      this.prisma.goClawDelegation.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.take,
        skip: page.offset,
      }),
      this.prisma.goClawDelegation.count({ where }),
    ]);
    return { items, totalCount };
  }
}
