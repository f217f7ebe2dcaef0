import { OutboundBlockedError, type OutboundPolicy, outboundRequest } from '../../../core/net/outbound.ts';
import { D1RequestError } from './errors.ts';

/*
 * Cloudflare D1's HTTP API: `POST {baseUrl}/client/v4/accounts/{accountId}/d1/database/{databaseId}/query` with a
 * bearer token and `{sql, params}`; the answer is Cloudflare's envelope `{success, errors, messages, result}` with
 * one `{results, success, meta}` per statement of `sql`. Every request goes through the platform's outbound guard
 * (resolved, pinned, no redirects, size and time caps); loopback only when the guard's policy allows it (tests).
 */

/** Where and as whom the client talks to D1. */
export interface D1ClientConfig {
  /** Default https://api.cloudflare.com (the stand-in's URL in tests). */
  baseUrl?: string;
  accountId: string;
  databaseId: string;
  apiToken: string;
  outbound: OutboundPolicy;
}

/** One statement's result in Cloudflare's envelope. */
export interface D1StatementResult {
  results: Record<string, unknown>[];
  success: boolean;
  meta: {
    changes?: number;
    duration?: number;
    last_row_id?: number;
    rows_read?: number;
    rows_written?: number;
    changed_db?: boolean;
    size_after?: number;
    [key: string]: unknown;
  };
}

/** One planned statement's outcome in batch execution. */
export interface D1ExecutedStatement {
  /** Position in the list given to executeBatches. */
  index: number;
  batchIndex: number;
  status: 'applied' | 'failed' | 'not_run';
  rowsAffected: number | null;
  durationMs: number | null;
  results: Record<string, unknown>[];
}

/** What batch execution did: every statement's outcome and, when a batch failed, why. */
export interface D1BatchOutcome {
  statements: D1ExecutedStatement[];
  failure?: D1RequestError;
}

/** What the migration needs from a D1 connection (the client below, or a fake in unit tests). */
export interface D1Executor {
  executeBatches(statements: string[], options?: { batchSize?: number | null }): Promise<D1BatchOutcome>;
}

const pathSegment = /^[A-Za-z0-9_-]{1,128}$/;
const defaultBatchSize = 50;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads Cloudflare's envelope strictly; anything else is a D1RequestError. */
function parseEnvelope(status: number, body: Buffer): D1StatementResult[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new D1RequestError(`D1 answered ${status} with a body that is not JSON`, [], status);
  }
  if (!isRecord(json) || typeof json.success !== 'boolean') {
    throw new D1RequestError(`D1 answered ${status} without Cloudflare's envelope`, [], status);
  }
  const errors = Array.isArray(json.errors)
    ? json.errors.filter(isRecord).map((e) => ({ code: Number(e.code ?? 0), message: String(e.message ?? '') }))
    : [];
  if (!json.success || status >= 400) {
    const detail = errors.map((e) => `${e.code}: ${e.message}`).join('; ') || `HTTP ${status}`;
    throw new D1RequestError(`D1 refused the query (${detail})`, errors, status);
  }
  if (!Array.isArray(json.result))
    throw new D1RequestError('D1 answered success without a result list', errors, status);
  return json.result.map((r) => {
    if (!isRecord(r) || !Array.isArray(r.results) || typeof r.success !== 'boolean') {
      throw new D1RequestError('D1 answered a malformed statement result', errors, status);
    }
    return {
      results: r.results.filter(isRecord),
      success: r.success,
      meta: isRecord(r.meta) ? (r.meta as D1StatementResult['meta']) : {},
    };
  });
}

/** A Cloudflare D1 database over its HTTP API. */
export class D1Client implements D1Executor {
  readonly #url: string;
  readonly #token: string;
  readonly #outbound: OutboundPolicy;

  constructor(config: D1ClientConfig) {
    if (!pathSegment.test(config.accountId)) throw new D1RequestError('D1 accountId is not a valid identifier');
    if (!pathSegment.test(config.databaseId)) throw new D1RequestError('D1 databaseId is not a valid identifier');
    if (!config.apiToken || /[\r\n]/.test(config.apiToken))
      throw new D1RequestError('D1 apiToken is missing or invalid');
    const base = (config.baseUrl ?? 'https://api.cloudflare.com').replace(/\/+$/, '');
    this.#url = `${base}/client/v4/accounts/${config.accountId}/d1/database/${config.databaseId}/query`;
    this.#token = config.apiToken;
    this.#outbound = config.outbound;
  }

  /** Runs `sql` (one or more statements; `params` bind to a single statement) and returns one result per statement. */
  async query(sql: string, params: unknown[] = []): Promise<D1StatementResult[]> {
    let response: Awaited<ReturnType<typeof outboundRequest>>;
    try {
      response = await outboundRequest(
        this.#url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.#token}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify({ sql, params }),
        },
        this.#outbound,
      );
    } catch (err) {
      if (err instanceof OutboundBlockedError)
        throw new D1RequestError(`D1 URL refused by the outbound guard: ${err.reason}`);
      throw new D1RequestError(`D1 request failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return parseEnvelope(response.status, response.body);
  }

  /**
   * Executes statements in batches of `batchSize` (default 50), one request per batch (the statements joined as one
   * multi-statement `sql`). Stops at the first failed batch: its statements are `failed`, later ones `not_run`.
   */
  async executeBatches(statements: string[], options: { batchSize?: number | null } = {}): Promise<D1BatchOutcome> {
    const size = options.batchSize && options.batchSize >= 1 ? Math.floor(options.batchSize) : defaultBatchSize;
    const out: D1ExecutedStatement[] = statements.map((_, index) => ({
      index,
      batchIndex: Math.floor(index / size),
      status: 'not_run',
      rowsAffected: null,
      durationMs: null,
      results: [],
    }));
    for (let start = 0; start < statements.length; start += size) {
      const batch = statements.slice(start, start + size);
      try {
        const results = await this.query(batch.map((s) => s.trim().replace(/;+$/, '')).join(';\n'));
        if (results.length !== batch.length) {
          throw new D1RequestError(`D1 answered ${results.length} results for a batch of ${batch.length} statements`);
        }
        for (const [i, r] of results.entries()) {
          const entry = out[start + i] as D1ExecutedStatement;
          entry.status = r.success ? 'applied' : 'failed';
          entry.rowsAffected = typeof r.meta.changes === 'number' ? r.meta.changes : null;
          entry.durationMs = typeof r.meta.duration === 'number' ? Math.round(r.meta.duration) : null;
          entry.results = r.results;
        }
        if (results.some((r) => !r.success))
          return { statements: out, failure: new D1RequestError('a D1 statement failed') };
      } catch (err) {
        for (let i = start; i < start + batch.length; i++) (out[i] as D1ExecutedStatement).status = 'failed';
        return { statements: out, failure: err instanceof D1RequestError ? err : new D1RequestError(String(err)) };
      }
    }
    return { statements: out };
  }
}
