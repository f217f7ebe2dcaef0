import { builder } from '../../../core/builder.ts';

export const AuditEventRef = builder.prismaNode('AuditEvent', {
  id: { field: 'id' },
  description: 'A security-relevant change, e.g. `apiKey.created` or `apiKey.revoked`.',
  authScopes: { admin: true },
  fields: (t) => ({
    action: t.exposeString('action'),
    actorId: t.exposeString('actorId', { description: 'Who did it: `admin`, `apikey:<id>` or `jwt:<subject>`.' }),
    subjectId: t.exposeString('subjectId'),
    data: t.expose('data', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.prismaConnection({
    type: 'AuditEvent',
    cursor: 'id',
    description: 'Audit events, newest first. Admin only.',
    authScopes: { admin: true },
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
