import type { Principal } from '../../../core/auth/principal.ts';
import { builder } from '../../../core/builder.ts';

const Viewer = builder.objectRef<Principal>('Viewer').implement({
  description: 'The caller as Atrium sees it.',
  fields: (t) => ({
    kind: t.string({ description: '`anonymous`, `admin`, `apiKey` or `jwt`.', resolve: (p) => p.kind }),
    id: t.string({ nullable: true, resolve: (p) => (p.kind === 'anonymous' ? null : p.id) }),
    product: t.string({ nullable: true, resolve: (p) => (p.kind === 'apiKey' ? p.product : null) }),
    scopes: t.stringList({ resolve: (p) => (p.kind === 'apiKey' || p.kind === 'jwt' ? [...p.scopes] : []) }),
  }),
});

builder.queryField('viewer', (t) => t.field({ type: Viewer, resolve: (_root, _args, ctx) => ctx.principal }));
