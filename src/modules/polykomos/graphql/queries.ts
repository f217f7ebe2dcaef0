import { builder } from '../../../core/builder.ts';
import {
  errorsOf,
  Forbidden,
  InvalidInput,
  NotFound,
  PolykomosAccountRef,
  PolykomosDatabaseRef,
  PolykomosDatabaseTypeRef,
  uuidConnection,
} from './types.ts';

builder.queryField('polykomosMe', (t) =>
  t.field({
    type: PolykomosAccountRef,
    description: 'The calling user and API key context (REST getMe).',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden),
    resolve: (_r, _a, ctx) => ctx.services.polykomos.databases.account(ctx.principal),
  }),
);

builder.queryField('polykomosDatabaseTypes', (t) =>
  t.field({
    type: [PolykomosDatabaseTypeRef],
    description: 'Engines and regions; engines without a configured server are unavailable. Scope databases:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden),
    resolve: (_r, _a, ctx) => ctx.services.polykomos.databases.databaseTypes(ctx.principal),
  }),
);

builder.queryField('polykomosDatabase', (t) =>
  t.field({
    type: PolykomosDatabaseRef,
    description: 'One of the caller’s databases by uuid. Scope databases:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { uuid: t.arg.string({ required: true }) },
    resolve: (_r, { uuid }, ctx) => ctx.services.polykomos.databases.getDatabase(ctx.principal, uuid),
  }),
);

builder.queryField('polykomosDatabases', (t) =>
  t.connection({
    type: PolykomosDatabaseRef,
    description:
      'The caller’s databases not deleted, newest first. Cursors are database uuids (`after` = last uuid seen). ' +
      'first 1–100, default 25. Scope databases:read.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, InvalidInput),
    resolve: async (_r, args, ctx) => {
      const limit = args.first ?? 25;
      const page = await ctx.services.polykomos.databases.listDatabases(ctx.principal, limit, args.after);
      return uuidConnection(page, args.after);
    },
  }),
);
