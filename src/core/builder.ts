import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { BigIntResolver, DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../../prisma/generated/pothos-types.ts';
import { getDatamodel } from '../../prisma/generated/pothos-types.ts';
import { canManageApiKeys, canUseProduct } from './auth/policies.ts';
import type { Product } from './auth/principal.ts';
import type { Context } from './context.ts';
import { DomainError } from './errors.ts';
import { ForbiddenError } from './graphql/graphql-errors.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: {
    authenticated: boolean;
    admin: boolean;
    manageApiKeys: Product;
    /** May use this product's resources (see `canUseProduct`). */
    product: Product;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    BigInt: { Input: bigint; Output: bigint | number };
  };
  DefaultFieldNullability: false;
}>({
  // Relay before ScopeAuth (scopes see decoded global IDs); ScopeAuth before resolver-wrapping plugins;
  // Errors before Prisma and Dataloader.
  plugins: [RelayPlugin, ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  relay: { nodesQueryOptions: false, clientMutationId: 'omit', cursorType: 'String' },
  errors: { defaultTypes: [DomainError] },
  scopeAuth: {
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, ctx, _info, result) =>
      new ForbiddenError(ctx.principal.kind === 'anonymous' ? 'Authentication required' : result.message, ctx),
    authScopes: (ctx) => ({
      authenticated: ctx.principal.kind !== 'anonymous',
      admin: ctx.principal.kind === 'admin',
      manageApiKeys: (product) => canManageApiKeys(ctx.principal, product),
      product: (product) => canUseProduct(ctx.principal, product),
    }),
  },
  prisma: {
    client: (ctx) => ctx.services.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    maxConnectionSize: 100,
    defaultConnectionSize: 50,
    // The unused-query check walks every Prisma field's selection on every request: a development aid only (the
    // server runs without NODE_ENV set, so 'production' cannot be the switch).
    onUnusedQuery: process.env.NODE_ENV === 'test' || process.env.NODE_ENV === 'development' ? 'warn' : null,
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('BigInt', BigIntResolver);
