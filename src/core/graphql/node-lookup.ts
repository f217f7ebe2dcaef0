import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.ts';

/** One scope check as the builder's `authScopes(ctx)` answers it: a boolean, or a predicate over the parameter. */
type ScopeValue = boolean | ((param: never) => boolean | Promise<boolean>);
export type ContextScopes = Record<string, ScopeValue>;
type ScopeMap = Record<string, unknown>;

interface TypeConfigSource {
  configStore: { getTypeConfig(name: string): { pothosOptions: unknown } };
}

/**
 * Whether `ctx` may see `node` of type `typename` under the type's own `authScopes` (a scope map or a function of
 * the object), evaluated like scope-auth does: any listed scope grants, `$all`/`$any` nest.
 */
async function visible(
  builder: TypeConfigSource,
  scopes: ContextScopes,
  typename: string,
  node: unknown,
  ctx: Context,
  info: GraphQLResolveInfo,
): Promise<boolean> {
  let options: { authScopes?: unknown };
  try {
    options = builder.configStore.getTypeConfig(typename).pothosOptions as { authScopes?: unknown };
  } catch {
    return false;
  }
  const declared = options.authScopes;
  if (declared === undefined) return true;
  const map = typeof declared === 'function' ? await declared(node, ctx, info) : declared;
  if (typeof map === 'boolean') return map;
  return grants(scopes, map as ScopeMap, 'any');
}

async function grants(scopes: ContextScopes, map: ScopeMap, mode: 'any' | 'all'): Promise<boolean> {
  const results: boolean[] = [];
  for (const [name, param] of Object.entries(map)) {
    let ok: boolean;
    if (name === '$all') ok = await grants(scopes, param as ScopeMap, 'all');
    else if (name === '$any') ok = await grants(scopes, param as ScopeMap, 'any');
    else {
      const value = scopes[name];
      ok =
        typeof value === 'function'
          ? await (value as (p: unknown) => boolean | Promise<boolean>)(param)
          : value === param;
    }
    if (mode === 'any' && ok) return true;
    if (mode === 'all' && !ok) return false;
    results.push(ok);
  }
  return mode === 'all';
}

/**
 * `node(id)`/`nodes(ids)` resolvers for the relay plugin: a missing id, an id the loader cannot read (wrong shape,
 * another tenant's: loaders answer null) and an object the caller may not see all answer null, indistinguishably
 * and without an error. A typed global id of an unknown type is null too.
 */
export function nodeResolvers(builder: TypeConfigSource, scopesFor: (ctx: Context) => ContextScopes) {
  const one = async (
    id: { typename: string; id: string },
    ctx: Context,
    info: GraphQLResolveInfo,
    load: () => unknown,
  ): Promise<unknown> => {
    try {
      const node = await load();
      if (node === null || node === undefined) return null;
      return (await visible(builder, scopesFor(ctx), id.typename, node, ctx, info)) ? node : null;
    } catch {
      return null;
    }
  };
  return {
    node: (
      _root: unknown,
      args: { id: { typename: string; id: string } },
      ctx: Context,
      info: GraphQLResolveInfo,
      resolveNode: (id: { typename: string; id: string }) => unknown,
    ) => one(args.id, ctx, info, () => resolveNode(args.id)),
    nodes: async (
      _root: unknown,
      args: { ids: { typename: string; id: string }[] },
      ctx: Context,
      info: GraphQLResolveInfo,
      resolveNodes: (ids: { typename: string; id: string }[]) => Promise<unknown[]>,
    ) => {
      // The relay plugin loads all ids at once (one batch per type). A Prisma node's batch throws when one id is
      // missing (findUniqueOrThrow), so on failure each id is loaded alone: the plugin's loader reads `args.ids`
      // when called, hence the one-id view of `args` per call (sequential, on this request's own args object).
      let loaded: unknown[];
      try {
        loaded = await resolveNodes(args.ids);
      } catch {
        const all = args.ids;
        loaded = [];
        try {
          for (const id of all) {
            args.ids = [id];
            loaded.push(
              await Promise.resolve(resolveNodes([id])).then(
                (r) => r[0],
                () => null,
              ),
            );
          }
        } finally {
          args.ids = all;
        }
      }
      return Promise.all(args.ids.map((id, i) => one(id, ctx, info, () => loaded[i] ?? null)));
    },
  };
}
