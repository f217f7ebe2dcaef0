import type { PostProcessing } from './structured-parse.ts';

/*
 * Athena's fetch post-processing (docs/athena.md, Fetch): bucket the fetched rows by a column (a timestamp column
 * truncated to a day/hour/minute), count them, sum a column, and keep a running sum across buckets in key order.
 * `data` stays the raw rows; this is the `post_processing` object beside it.
 */

export interface Bucket {
  key: string | number | boolean | null;
  count: number;
  sum: number | null;
  cumulative_sum: number | null;
}

export interface PostProcessed {
  group_by: string;
  time_granularity: string | null;
  aggregation_column: string | null;
  aggregation_strategy: string | null;
  aggregation_dedup: boolean;
  buckets: Bucket[];
}

function truncate(value: unknown, granularity: 'day' | 'hour' | 'minute'): string | null {
  if (value === null || value === undefined) return null;
  const d = new Date(String(value));
  if (Number.isNaN(d.getTime())) return String(value);
  if (granularity === 'day') d.setUTCHours(0, 0, 0, 0);
  else if (granularity === 'hour') d.setUTCMinutes(0, 0, 0);
  else d.setUTCSeconds(0, 0);
  return d.toISOString();
}

function keyOf(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

function compareKeys(a: Bucket['key'], b: Bucket['key']): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

export function postProcess(rows: Record<string, unknown>[], options: PostProcessing): PostProcessed | undefined {
  if (!options.groupBy) return undefined;
  const column = options.groupBy;
  let input = rows;
  if (options.aggregationDedup) {
    const seen = new Set<string>();
    input = rows.filter((r) => {
      const k = JSON.stringify(r);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  const buckets = new Map<string, Bucket>();
  for (const row of input) {
    const key = options.timeGranularity ? truncate(row[column], options.timeGranularity) : keyOf(row[column]);
    const id = JSON.stringify(key);
    let bucket = buckets.get(id);
    if (!bucket) {
      bucket = { key, count: 0, sum: options.aggregationColumn ? 0 : null, cumulative_sum: null };
      buckets.set(id, bucket);
    }
    bucket.count++;
    if (options.aggregationColumn) {
      const n = Number(row[options.aggregationColumn]);
      if (Number.isFinite(n)) bucket.sum = (bucket.sum ?? 0) + n;
    }
  }
  const ordered = [...buckets.values()].sort((a, b) => compareKeys(a.key, b.key));
  if (options.aggregationStrategy === 'cumulative_sum') {
    let running = 0;
    for (const b of ordered) {
      running += b.sum ?? b.count;
      b.cumulative_sum = running;
    }
  }
  return {
    group_by: column,
    time_granularity: options.timeGranularity ?? null,
    aggregation_column: options.aggregationColumn ?? null,
    aggregation_strategy: options.aggregationStrategy ?? null,
    aggregation_dedup: options.aggregationDedup === true,
    buckets: ordered,
  };
}

/** `strip_nulls`: drop null-valued keys of every row. */
export function stripNulls(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)));
}
