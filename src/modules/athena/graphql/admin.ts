import { resolveArrayConnection } from '@pothos/plugin-relay';
import type { Context } from '../../../core/context.ts';
import { isAthenaAdmin } from '../athena.access.ts';
import { AthenaInvalidInputError } from '../athena.errors.ts';

/*
 * What Athena's admin-only GraphQL files share: the scope checks and the connection shape with a total.
 */

/** Types and fields: the admin (the admin key, or a platform key with the admin scope). */
export const adminOnly = (_parent: unknown, ctx: Context) => isAthenaAdmin(ctx.principal);
/** Root fields: the admin, checked by scope-auth so that others get FORBIDDEN/UNAUTHENTICATED, not a masked error. */
export const adminField = (_parent: unknown, _args: unknown, ctx: Context) => isAthenaAdmin(ctx.principal);

// The connection builder's type is internal to Pothos' relay plugin, hence `any` for its one parameter.
export const withTotalCount = {
  description: 'A page of results, with the total.',
  fields: (c: any) => ({
    totalCount: c.int({
      description: 'All items of the list, across pages (not only this page).',
      resolve: (conn: { totalCount?: number }) => conn.totalCount ?? 0,
    }),
  }),
};

/** `first` (default 100, at most 1000) and `offset` of a list read page by page from the database. */
export function page(args: { first?: number | null; offset?: number | null }) {
  const limit = args.first ?? 100;
  const offset = args.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0 || limit > 1000) throw new AthenaInvalidInputError('first: 0..1000');
  if (!Number.isInteger(offset) || offset < 0) throw new AthenaInvalidInputError('offset must be >= 0');
  return { limit, offset };
}

/** One page already read with its total, as a connection (cursors count within the page). */
export function pageConnection<T>(items: T[], total: number) {
  return Object.assign(resolveArrayConnection({ args: {}, defaultSize: 1000, maxSize: 1000 }, items), {
    totalCount: total,
  });
}
