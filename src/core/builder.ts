import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError, GraphQLScalarType } from 'graphql';
import { BigIntResolver, DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../../prisma/generated/pothos-types.ts';
import { getDatamodel } from '../../prisma/generated/pothos-types.ts';
import { canManageApiKeys, canUseProduct } from './auth/policies.ts';
import type { Product } from './auth/principal.ts';
import type { Context } from './context.ts';
import { DomainError, ErrorCodes } from './errors.ts';
import { ForbiddenError } from './graphql/graphql-errors.ts';
import { type ContextScopes, nodeResolvers } from './graphql/node-lookup.ts';

/** The scopes a request holds (scope-auth's `authScopes`, and node visibility in `nodeResolvers`). */
function scopesFor(ctx: Context) {
  return {
    authenticated: ctx.principal.kind !== 'anonymous',
    admin: ctx.principal.kind === 'admin',
    manageApiKeys: (product: Product) => canManageApiKeys(ctx.principal, product),
    product: (product: Product) => canUseProduct(ctx.principal, product),
  };
}

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
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeTypeOptions: { description: 'An object with a global id, resolvable through `node(id)` and `nodes(ids)`.' },
    idFieldOptions: { description: 'The global id (opaque; stable for the life of the object).' },
    pageInfoTypeOptions: { description: 'Where a connection page sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'Whether items follow this page (`after: endCursor`).' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede this page (`before: startCursor`).' },
    startCursorFieldOptions: { description: 'The cursor of the first item of this page; null when it is empty.' },
    endCursorFieldOptions: { description: 'The cursor of the last item of this page; null when it is empty.' },
    nodeQueryOptions: {
      description: 'The object with this global id; null when it does not exist or the caller may not see it.',
      args: { id: { description: 'A global id (`Node.id`).' } },
      resolve: (root, args, ctx, info, resolveNode) => nodes.node(root, args, ctx, info, resolveNode),
    },
    nodesQueryOptions: {
      description:
        'The objects with these global ids, in order; null for each that does not exist or the caller may not see.',
      nullable: { list: false, items: true },
      args: { ids: { description: 'Global ids (`Node.id`); the answer keeps their order.' } },
      resolve: (root, args, ctx, info, resolveNodes) => nodes.nodes(root, args, ctx, info, resolveNodes) as never,
    },
  },
  errors: { defaultTypes: [DomainError] },
  scopeAuth: {
    authorizeOnSubscribe: true,
    // scope-auth's own message names the resolver ("Not authorized to resolve Query.apiKeys"): never sent.
    unauthorizedError: (_parent, ctx) =>
      new ForbiddenError(
        ctx.principal.kind === 'anonymous' ? 'Authentication required' : 'This credential may not do this',
        ctx,
      ),
    authScopes: (ctx) => scopesFor(ctx),
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

const nodes = nodeResolvers(builder, scopesFor as (ctx: Context) => ContextScopes);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
builder.addScalarType('DateTime', userInputScalar(DateTimeResolver));
builder.addScalarType('JSON', userInputScalar(JSONResolver));
builder.addScalarType('BigInt', userInputScalar(BigIntResolver));

/**
 * A scalar whose input parsing refuses with a GraphQLError (BAD_USER_INPUT): graphql-scalars throws plain
 * TypeErrors/SyntaxErrors for values like `"1.5"` as a BigInt, which yoga's masking would turn into
 * INTERNAL_SERVER_ERROR.
 */
function userInputScalar(scalar: GraphQLScalarType): GraphQLScalarType {
  const refuse = (e: unknown): never => {
    if (e instanceof GraphQLError) throw e;
    const detail = e instanceof Error ? e.message : String(e);
    throw new GraphQLError(`${scalar.name} cannot represent this value: ${detail}`.slice(0, 300), {
      extensions: { code: ErrorCodes.badUserInput },
    });
  };
  const config = scalar.toConfig();
  return new GraphQLScalarType({
    ...config,
    parseValue: (value) => {
      try {
        return config.parseValue ? config.parseValue(value) : value;
      } catch (e) {
        return refuse(e);
      }
    },
    parseLiteral: (ast, variables) => {
      try {
        return config.parseLiteral ? config.parseLiteral(ast, variables) : undefined;
      } catch (e) {
        return refuse(e);
      }
    },
  });
}
