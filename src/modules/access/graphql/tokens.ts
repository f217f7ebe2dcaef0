import { builder } from '../../../core/builder.ts';
import { InvalidInputError } from '../../../core/errors.ts';

const CreateAccessTokenInput = builder.inputType('CreateAccessTokenInput', {
  description: 'What a new platform JWT says: who it is for, what it is for, its scopes and lifetime.',
  fields: (t) => ({
    subject: t.string({
      required: true,
      description: 'The `sub` claim: letters, digits and `_.:@-`, 1–200 characters.',
    }),
    tokenUse: t.string({ required: true, description: 'What the token is for, e.g. `platform` or `query`.' }),
    scopes: t.stringList({ required: true, description: 'The `scope` claim, as the receiving product reads it.' }),
    ttlSeconds: t.int({ required: true, description: '1 second to 30 days.' }),
  }),
});

const AccessToken = builder.objectRef<{ token: string; expiresAt: Date; kid: string }>('AccessToken').implement({
  description: 'A signed platform JWT, returned once when issued.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The compact JWT, to send as `Authorization: Bearer <token>`.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the token stops being accepted.' }),
    kid: t.exposeString('kid', { description: 'Id of the signing key (see /.well-known/jwks.json).' }),
  }),
});

builder.mutationField('createAccessToken', (t) =>
  t.field({
    type: AccessToken,
    description: 'Issues a signed JWT (EdDSA) for another service or client. Admin only.',
    errors: { types: [InvalidInputError] },
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateAccessTokenInput, required: true, description: 'The token to issue.' }) },
    resolve: (_root, { input }, ctx) => {
      if (input.ttlSeconds < 1 || input.ttlSeconds > 30 * 24 * 3600) {
        throw new InvalidInputError('ttlSeconds must be between 1 and 2592000');
      }
      if (!/^[A-Za-z0-9_.:@-]{1,200}$/.test(input.subject))
        throw new InvalidInputError('subject has invalid characters');
      if (!/^[a-z][a-z0-9_-]{0,31}$/.test(input.tokenUse))
        throw new InvalidInputError('tokenUse has invalid characters');
      return ctx.services.tokens.issue(input);
    },
  }),
);
