import type { Principal } from '../../../core/auth/principal.ts';
import { builder } from '../../../core/builder.ts';
import { ApiKeyProductEnum } from './api-keys.ts';

const PrincipalKind = builder.enumType('PrincipalKind', {
  description: 'What kind of credential the caller presented.',
  values: {
    anonymous: { description: 'No credential.' },
    admin: { description: 'The platform admin key.' },
    apiKey: { description: 'An API key of one product (or a platform `atr_` key).' },
    jwt: { description: 'A platform-issued JWT (EdDSA).' },
    serviceToken: { description: 'A DeepStore service token (`dss_`).' },
    userSession: { description: 'A product user session (an Athena chat session, `aths_`).' },
  } as const,
});

const Viewer = builder.objectRef<Principal>('Viewer').implement({
  description: 'The caller as Atrium sees it.',
  fields: (t) => ({
    kind: t.field({ type: PrincipalKind, description: 'The credential kind.', resolve: (p) => p.kind }),
    id: t.string({
      nullable: true,
      description: 'The credential id (API key uuid, JWT subject, service token id); null when anonymous.',
      resolve: (p) => (p.kind === 'anonymous' ? null : p.id),
    }),
    product: t.field({
      type: ApiKeyProductEnum,
      nullable: true,
      description: 'The product an API key belongs to; null for other credentials.',
      resolve: (p) => (p.kind === 'apiKey' ? p.product : null),
    }),
    scopes: t.stringList({
      description: 'The scopes the credential carries (API keys and JWTs); empty for the others.',
      resolve: (p) => (p.kind === 'apiKey' || p.kind === 'jwt' ? [...p.scopes] : []),
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    description: 'Who the caller is: works for every credential, and without one.',
    resolve: (_root, _args, ctx) => ctx.principal,
  }),
);
