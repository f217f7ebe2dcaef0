import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';

/*
 * A local stand-in for Cloudflare D1's HTTP API (`POST /client/v4/accounts/{account}/d1/database/{db}/query`),
 * backed by Node's built-in SQLite (node:sqlite): statements really execute, with foreign keys enforced as D1 does,
 * answers use Cloudflare's envelope, and a wrong bearer token is refused like the real API.
 */

export interface D1StandIn {
  baseUrl: string;
  accountId: string;
  databaseId: string;
  token: string;
  /** The SQLite database behind it (to inspect what a migration did). */
  db: DatabaseSync;
  /** How many query requests it answered. */
  requests(): number;
  close(): Promise<void>;
}

/**
 * Splits SQLite text into statements at `;` outside quotes ('…', "…", `…`, […]) and comments (-- and /* *\/).
 * Enough for the statements a migration emits; CREATE TRIGGER bodies (`BEGIN …; END`) are not split correctly.
 */
export function splitSqliteStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      i++;
      while (i < sql.length) {
        if (sql[i] === close) {
          if (close !== ']' && sql[i + 1] === close) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === ';') {
      out.push(sql.slice(start, i));
      i++;
      start = i;
    } else i++;
  }
  out.push(sql.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '' && !/^(--[^\n]*\n?|\/\*[\s\S]*?\*\/|\s)*$/.test(s));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function failure(res: ServerResponse, status: number, code: number, message: string): void {
  send(res, status, { result: [], success: false, errors: [{ code, message }], messages: [] });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the stand-in on a free loopback port. */
export async function startD1StandIn(
  options: { token?: string; accountId?: string; databaseId?: string } = {},
): Promise<D1StandIn> {
  const token = options.token ?? 'd1-test-token';
  const accountId = options.accountId ?? '0123456789abcdef0123456789abcdef';
  const databaseId = options.databaseId ?? '11111111-2222-3333-4444-555555555555';
  const db = new DatabaseSync(':memory:');
  db.exec('PRAGMA foreign_keys = ON');
  let count = 0;
  const path = `/client/v4/accounts/${accountId}/d1/database/${databaseId}/query`;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (req.method !== 'POST' || !/^\/client\/v4\/accounts\/[^/]+\/d1\/database\/[^/]+\/query$/.test(url.pathname)) {
      return failure(res, 404, 7000, 'No route for that URI');
    }
    if (req.headers.authorization !== `Bearer ${token}`) return failure(res, 401, 10000, 'Authentication error');
    if (url.pathname !== path) return failure(res, 404, 7404, 'The database could not be found');
    count++;
    let body: { sql?: unknown; params?: unknown };
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return failure(res, 400, 7400, 'The request is malformed: body is not JSON');
    }
    if (typeof body.sql !== 'string' || body.sql.trim() === '') return failure(res, 400, 7400, 'sql is required');
    const params = body.params === undefined ? [] : body.params;
    if (!Array.isArray(params)) return failure(res, 400, 7400, 'params must be an array');
    const statements = splitSqliteStatements(body.sql);
    if (statements.length > 1 && params.length > 0) {
      return failure(res, 400, 7400, 'params bind to a single statement');
    }
    // One request is all-or-nothing, like a D1 batch.
    db.exec('BEGIN');
    try {
      const result = statements.map((sql) => {
        const started = performance.now();
        const stmt = db.prepare(sql);
        const reads = stmt.columns().length > 0;
        const values = params as SQLInputValue[];
        if (reads) {
          const rows = stmt.all(...values) as Record<string, unknown>[];
          return {
            results: rows,
            success: true,
            meta: {
              changes: 0,
              duration: performance.now() - started,
              last_row_id: 0,
              changed_db: false,
              rows_read: rows.length,
              rows_written: 0,
            },
          };
        }
        const run = stmt.run(...values);
        return {
          results: [],
          success: true,
          meta: {
            changes: Number(run.changes),
            duration: performance.now() - started,
            last_row_id: Number(run.lastInsertRowid),
            changed_db: true,
            rows_read: 0,
            rows_written: Number(run.changes),
          },
        };
      });
      db.exec('COMMIT');
      send(res, 200, { result, success: true, errors: [], messages: [] });
    } catch (err) {
      db.exec('ROLLBACK');
      failure(res, 400, 7500, `${err instanceof Error ? err.message : String(err)}: SQLITE_ERROR`);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => failure(res, 500, 7500, String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    accountId,
    databaseId,
    token,
    db,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          db.close();
          resolve();
        });
      }),
  };
}
