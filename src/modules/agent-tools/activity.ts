import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';

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
