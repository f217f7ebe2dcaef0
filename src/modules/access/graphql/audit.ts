import { builder } from '../../../core/builder.ts';
import { isUuid } from '../access.service.ts';

const nilUuid = '00000000-0000-0000-0000-000000000000';

export const AuditEventRef = builder.prismaNode('AuditEvent', {
  id: { field: 'id' },
  description: 'A security-relevant change, e.g. `apiKey.created` or `apiKey.revoked`.',
  authScopes: { admin: true },
  // node(id): null for non-admins, exactly like unknown ids (nullable: not found is null).
  nullable: true,
  findUnique: (id, ctx) => (ctx.principal.kind === 'admin' && isUuid(id) ? { id } : { id: nilUuid, OR: [] }),
  fields: (t) => ({
    action: t.exposeString('action', { description: 'What happened, `<subject>.<verb>`, e.g. `apiKey.revoked`.' }),
    actorId: t.exposeString('actorId', { description: 'Who did it: `admin`, `apikey:<id>` or `jwt:<subject>`.' }),
    subjectId: t.exposeString('subjectId', { description: 'The id of what it happened to (an API key uuid…).' }),
    data: t.expose('data', { type: 'JSON', description: 'Details of the change (product, name, scopes…).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was recorded.' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.prismaConnection({
    type: 'AuditEvent',
    cursor: 'id',
    description: 'Audit events, newest first. Admin only.',
    authScopes: { admin: true },
    totalCount: (_root, _args, ctx) => ctx.services.prisma.auditEvent.count(),
    resolve: (query, _root, _args, ctx) =>
      ctx.services.prisma.auditEvent.findMany({ ...query, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);

builder.subscriptionField('auditEventRecorded', (t) =>
  t.field({
    type: AuditEventRef,
    description: 'Streams audit events as they are committed, from every Atrium instance. Admin only.',
    authScopes: { admin: true },
    subscribe: (_root, _args, ctx) => ctx.services.pubsub.subscribe('access.auditEventRecorded'),
    resolve: (payload, _args, ctx) =>
      ctx.services.prisma.auditEvent.findUniqueOrThrow({ where: { id: payload.auditEventId } }),
  }),
);
