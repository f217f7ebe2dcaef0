import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { GoClawInvalidInputError } from './agent-tools.errors.ts';

/** An offset-paged connection with `totalCount` (from the same service call as the page); pages up to 1000. */
export async function offsetConnection<T>(
  args: { first?: number | null; last?: number | null; before?: string | null; after?: string | null },
  page: (p: { take: number; offset: number }) => Promise<{ items: T[]; totalCount: number }>,
  maxSize = 1000,
) {
  if ((args.first ?? 0) > maxSize || (args.last ?? 0) > maxSize) {
    throw new GoClawInvalidInputError(`first/last must be at most ${maxSize}`);
  }
  if ((args.first ?? 1) < 0 || (args.last ?? 1) < 0)
    throw new GoClawInvalidInputError('first/last must not be negative');
  let totalCount = 0;
  const conn = await resolveOffsetConnection({ args, maxSize, defaultSize: 50 }, async ({ limit, offset }) => {
    const r = await page({ take: limit, offset });
    totalCount = r.totalCount;
    return r.items;
  });
  return Object.assign(conn, { totalCount });
}
