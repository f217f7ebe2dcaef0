import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { GraphQLError, parse } from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContractValidator, createContractValidator } from '../../../rest-shim/engine/contract.ts';
import { restCoverage } from '../../../rest-shim/engine/coverage.ts';
import { directOperation, graphqlOperation } from '../../../rest-shim/engine/operation.ts';
import { createRestShim, type RestShim } from '../../../rest-shim/engine/shim.ts';
import type { AnySurface, GraphQLExecutor, RestOperation } from '../../../rest-shim/engine/types.ts';
import { surfaces as appSurfaces } from '../../../rest-shim/surfaces.ts';
import { adminPrincipal, type Principal } from '../../../src/core/auth/principal.ts';
import type { Services } from '../../../src/core/services.ts';

type Mode =
  | 'ok'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'masked'
  | 'throw';
interface FakeData {
  keys: { id: string; name: string; created_at: string }[];
}
const fakeDocument = parse('query FakeKeys($mode: String) { keys { id } }') as TypedDocumentNode<
  FakeData,
  { mode: Mode; input?: unknown }
>;
const maxBodyBytes = 64 * 1024;
const key = { id: '7b0f4a53-3c43-4a0c-9d0f-6a1f6f2f2f2f', name: 'ci', created_at: '2026-01-01T00:00:00Z' };

const executions: { variables: unknown; principal: Principal; requestId: string }[] = [];
const execute = (async (_document: unknown, variables: { mode: Mode }, principal: Principal, requestId: string) => {
  executions.push({ variables, principal, requestId });
  if (variables.mode === 'throw') throw new Error('connection to the database lost: password=hunter2');
  if (variables.mode === 'masked') return { errors: [new GraphQLError('resolver crashed: secret detail')] };
  if (variables.mode !== 'ok')
    return { errors: [new GraphQLError(`fake ${variables.mode}`, { extensions: { code: variables.mode } })] };
  return { data: { keys: [key] } };
}) as GraphQLExecutor;

const logs: string[] = [];
const operations: [string, string, number][] = [];
let server: Server;
let base: string;
let shim: RestShim;
const contracts: Record<string, ContractValidator> = {};

/** The five product surfaces without their operations or doors: every operation answers 501. */
function bareSurfaces(): AnySurface[] {
  return appSurfaces.map((surface) => ({ ...surface, groups: [], authenticate: undefined, defaultPolicy: undefined }));
}

const testGroup = (operations: Record<string, RestOperation>) => ({
  name: 'test',
  test: 'test/platform/rest-shim/shim.test.ts',
  operations,
});

/** The shim under test is given no services: the handlers here use none. */
const noServices = {} as Services;

function surfaces(): AnySurface[] {
  const all = bareSurfaces();
  const goclaw = all.find((s) => s.product === 'goclaw') as AnySurface;
  goclaw.authenticate = async ({ headers }) => {
    if (headers.authorization === 'Bearer good') return { ok: true, principal: adminPrincipal };
    if (headers.authorization === 'Bearer reader')
      return { ok: false, status: 403, message: 'operator.admin required' };
    return { ok: false, status: 401, message: 'Missing or invalid bearer token' };
  };
  goclaw.groups = [
    testGroup({
      get_v1_api_keys: graphqlOperation({
        document: fakeDocument,
        variables: (req) => ({ mode: (req.headers['x-mode'] as Mode | undefined) ?? 'ok' }),
        respond: (data) => ({ status: 200, body: data.keys }),
      }),
      post_v1_api_keys: graphqlOperation({
        document: fakeDocument,
        variables: (req) => ({ mode: 'ok' as const, input: req.body }),
        respond: (data, req) => ({
          status: 201,
          body: { ...(data.keys[0] as object), name: (req.body as { name: string }).name, key: 'goclaw_secret' },
        }),
      }),
      delete_v1_api_keys_by_id: directOperation({
        reason: 'test: a handler with a bug',
        handle: async () => {
          throw new Error('handler bug with internals');
        },
      }),
    }),
  ];
  const athena = all.find((s) => s.product === 'athena') as AnySurface;
  const echo = directOperation({
    reason: 'test: echoes what the shim hands a handler',
    handle: async (req) => ({
      status: 200,
      body: { params: req.params, coerced: req.coerced, query: { ...req.query }, principal: req.principal.kind },
    }),
  });
  athena.groups = [testGroup({ get_admin_webhooks_by_id: echo, delete_admin_backups_by_key: echo })];
  return all;
}

/** A real HTTP server in front of a shim; requests outside the prefixes get a plain-text fallthrough. */
async function startServer(shim: RestShim): Promise<{ base: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://atrium.test');
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' ? incoming : `req_${randomBytes(6).toString('hex')}`;
    if (!(await shim.handle(req, res, url, requestId))) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not a REST path');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

beforeAll(async () => {
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(line) });
  shim = createRestShim({
    surfaces: surfaces(),
    services: noServices,
    execute,
    logger,
    maxBodyBytes,
    onOperation: (product, operationId, status) => operations.push([`${product}`, operationId, status]),
  });
  ({ base, server } = await startServer(shim));
  for (const s of appSurfaces) contracts[s.prefix] = await createContractValidator(s.contract);
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

interface CallOptions {
  headers?: Record<string, string>;
  json?: unknown;
  raw?: string | Uint8Array | ReadableStream<Uint8Array>;
  /** Skip checking the body against the contract (for the echo handlers). */
  unchecked?: boolean;
}

/** Calls over real HTTP; checks x-request-id and, where the contract defines one, the response schema. */
async function call(method: string, path: string, options: CallOptions = {}, at = base) {
  const requestId = `req_${randomBytes(6).toString('hex')}`;
  const headers: Record<string, string> = { 'x-request-id': requestId, ...options.headers };
  let body: RequestInit['body'];
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.raw !== undefined) body = options.raw as RequestInit['body'];
  const res = await fetch(`${at}${path}`, { method, headers, body, duplex: 'half' } as RequestInit);
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('application/json') && text ? JSON.parse(text) : undefined;
  expect(res.headers.get('x-request-id'), `${method} ${path}`).toBe(requestId);
  const prefix = `/${path.split('/')[1]}`;
  const contract = contracts[prefix];
  const below = new URL(path, at).pathname.slice(prefix.length) || '/';
  if (contract && !options.unchecked && json !== undefined && !below.startsWith('/openapi.json')) {
    let routed = true;
    try {
      contract.operation(method, below);
    } catch {
      routed = false;
    }
    if (routed)
      expect(contract.responseErrors(method, below, res.status, json), `${method} ${path} ${res.status}`).toBeNull();
  }
  return { status: res.status, headers: res.headers, text, body: json, requestId };
}

/** The human message inside each product's error body. */
function messageOf(body: any): string {
  return body.message ?? body.errors?.[0] ?? body.error?.message ?? body.error;
}

const shapes = {
  athena: () => ({
    status: 'error',
    code: expect.any(String),
    message: expect.any(String),
    error: expect.any(String),
    error_number: expect.any(Number),
    docs_url: expect.stringMatching(/^https:\/\/docs\.athena-cluster\.com\/\d+$/),
  }),
  deepstore: () => ({ success: false, errors: [expect.any(String)] }),
  polykomos: (requestId: string) => ({
    error: { code: expect.any(String), message: expect.any(String) },
    request_id: requestId,
  }),
  goclaw: () => ({ error: expect.any(String) }),
  mcp_v8: () => ({ error: expect.any(String) }),
};

interface ProductCases {
  prefix: string;
  shape: (requestId: string) => unknown;
  headers?: Record<string, string>;
  notFound: [string, string];
  wrongMethod: [string, string, string];
  notImplemented: [string, string, string];
  wrongType: [string, string, CallOptions, string];
  jsonPost: [string, string, Record<string, string>?];
}

const products: Record<string, ProductCases> = {
  athena: {
    prefix: '/athena',
    shape: shapes.athena,
    notFound: ['GET', '/athena/no/such/path'],
    wrongMethod: ['PUT', '/athena/admin/backups/config', 'DELETE, GET'],
    notImplemented: [
      'GET',
      '/athena/admin/billing/providers',
      'GET /admin/billing/providers (get_admin_billing_providers) is not implemented yet',
    ],
    wrongType: ['GET', '/athena/admin/webhooks/abc', { headers: { apikey: 'k' } }, 'path.id: must be integer'],
    jsonPost: ['POST', '/athena/gateway/query'],
  },
  deepstore: {
    prefix: '/deepstore',
    shape: shapes.deepstore,
    notFound: ['GET', '/deepstore/nope'],
    wrongMethod: ['PUT', '/deepstore/databases', 'POST'],
    notImplemented: [
      'GET',
      '/deepstore/databases/db1',
      'GET /databases/{databaseId} (getDatabase) is not implemented yet',
    ],
    wrongType: ['POST', '/deepstore/databases', { json: { name: 5 } }, 'body.name: must be string'],
    jsonPost: ['POST', '/deepstore/databases'],
  },
  polykomos: {
    prefix: '/polykomos',
    shape: shapes.polykomos,
    notFound: ['GET', '/polykomos/api/v2/me'],
    wrongMethod: ['PUT', '/polykomos/api/v1/me', 'GET'],
    notImplemented: ['GET', '/polykomos/api/v1/me', 'GET /api/v1/me (getMe) is not implemented yet'],
    wrongType: ['GET', '/polykomos/api/v1/databases/not-a-uuid', {}, 'path.uuid: must match format "uuid"'],
    jsonPost: ['POST', '/polykomos/api/v1/databases', { 'idempotency-key': '0b8f3c0e-8a36-4a43-9d0a-1f0f6c2f2f2f' }],
  },
  goclaw: {
    prefix: '/goclaw',
    shape: shapes.goclaw,
    headers: { authorization: 'Bearer good' },
    notFound: ['GET', '/goclaw/v2/agents'],
    wrongMethod: ['PATCH', '/goclaw/v1/api-keys', 'GET, POST'],
    notImplemented: ['GET', '/goclaw/v1/providers', 'GET /v1/providers (get_v1_providers) is not implemented yet'],
    wrongType: ['POST', '/goclaw/v1/api-keys', { json: { name: 42, scopes: [] } }, 'body.name: must be string'],
    jsonPost: ['POST', '/goclaw/v1/api-keys'],
  },
  mcp_v8: {
    prefix: '/mcp-v8',
    shape: shapes.mcp_v8,
    notFound: ['GET', '/mcp-v8/api/nope'],
    wrongMethod: ['DELETE', '/mcp-v8/api/exec', 'POST'],
    notImplemented: ['GET', '/mcp-v8/api/version', 'GET /api/version (version_handler) is not implemented yet'],
    wrongType: ['POST', '/mcp-v8/api/exec', { json: { code: 1 } }, 'body.code: must be string'],
    jsonPost: ['POST', '/mcp-v8/api/exec'],
  },
};

describe.each(Object.entries(products))('%s errors in the product shape', (_product, p) => {
  const auth = { headers: { ...p.headers } };
  it('404 for an unknown path', async () => {
    const res = await call(p.notFound[0], p.notFound[1], auth);
    expect(res.status).toBe(404);
    expect(res.body).toStrictEqual(p.shape(res.requestId));
  });

  it('405 with Allow for a known path and another method', async () => {
    const [method, path, allow] = p.wrongMethod;
    const res = await call(method, path, auth);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.body).toStrictEqual(p.shape(res.requestId));
  });

  it('501 naming the operation when no handler is registered', async () => {
    const [method, path, message] = p.notImplemented;
    const res = await call(method, path, auth);
    expect(res.status).toBe(501);
    expect(res.body).toStrictEqual(p.shape(res.requestId));
    expect(messageOf(res.body)).toBe(message);
  });

  it('400 for values of the wrong type, with the field and the rule', async () => {
    const [method, path, options, message] = p.wrongType;
    const res = await call(method, path, { ...options, headers: { ...p.headers, ...options.headers } });
    expect(res.status).toBe(400);
    expect(res.body).toStrictEqual(p.shape(res.requestId));
    expect(messageOf(res.body)).toBe(message);
  });

  it('400 for malformed JSON', async () => {
    const [method, path, extra] = p.jsonPost;
    const res = await call(method, path, {
      headers: { ...p.headers, ...extra, 'content-type': 'application/json' },
      raw: '{"name": "x", ',
    });
    expect(res.status).toBe(400);
    expect(res.body).toStrictEqual(p.shape(res.requestId));
    expect(messageOf(res.body)).toMatch(/^Malformed JSON body: /);
  });

  it('413 for a body over the limit, declared or streamed', async () => {
    const [method, path, extra] = p.jsonPost;
    const headers = { ...p.headers, ...extra, 'content-type': 'application/json' };
    const declared = await call(method, path, { headers, raw: `"${'x'.repeat(maxBodyBytes)}"` });
    expect(declared.status).toBe(413);
    expect(declared.body).toStrictEqual(p.shape(declared.requestId));
    const chunk = new Uint8Array(16 * 1024).fill(32);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const streamed = await call(method, path, { headers, raw: stream });
    expect(streamed.status).toBe(413);
    expect(streamed.body).toStrictEqual(p.shape(streamed.requestId));
  });

  it('serves the original contract at <prefix>/openapi.json', async () => {
    const res = await call('GET', `${p.prefix}/openapi.json`);
    expect(res.status).toBe(200);
    const file = appSurfaces.find((s) => s.prefix === p.prefix)?.contract.file as string;
    expect(res.text).toBe(readFileSync(new URL(`../../../rest-shim/specs/${file}`, import.meta.url), 'utf8'));
  });
});

describe('401 in every product shape', () => {
  // Every surface gets an authenticator; Athena and mcp-v8 declare no security, so a default policy opts them in.
  let guarded: { base: string; server: Server };
  beforeAll(async () => {
    const all = bareSurfaces().map(
      (surface): AnySurface => ({
        ...surface,
        authenticate: async () => ({ ok: false as const, status: 401 as const, message: 'No valid credentials' }),
        defaultPolicy: { auth: 'required' },
      }),
    );
    guarded = await startServer(
      createRestShim({ surfaces: all, services: noServices, execute, logger: pino({ level: 'silent' }), maxBodyBytes }),
    );
  });
  afterAll(async () => {
    await new Promise((resolve) => guarded?.server.close(resolve));
  });

  it.each(Object.entries(products))('%s', async (_product, p) => {
    const [method, path] = p.notImplemented;
    const res = await call(method, path, {}, guarded.base);
    expect(res.status).toBe(401);
    expect(res.body).toStrictEqual(p.shape(res.requestId));
    expect(messageOf(res.body)).toBe('No valid credentials');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="/);
  });
});

describe('authentication', () => {
  it('401 with WWW-Authenticate, before validation and without reading the body', async () => {
    for (const authorization of [undefined, 'Bearer wrong', 'Basic abc']) {
      const res = await call('POST', '/goclaw/v1/api-keys', {
        headers: authorization ? { authorization } : {},
        json: { name: 42 },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="goclaw"');
      expect(res.body).toStrictEqual({ error: 'Missing or invalid bearer token' });
    }
  });

  it("403 from the authenticator answers the contract's 401 where the operation lists no 403", async () => {
    const res = await call('GET', '/goclaw/v1/api-keys', { headers: { authorization: 'Bearer reader' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="goclaw"');
    expect(res.body).toStrictEqual({ error: 'operator.admin required' });
  });

  it('security: [] operations skip authentication', async () => {
    const res = await call('GET', '/goclaw/health');
    expect(res.status).toBe(501);
  });

  it('surfaces without an authenticator answer 501 without asking for credentials', async () => {
    const res = await call('GET', '/polykomos/api/v1/databases');
    expect(res.status).toBe(501);
    expect(res.body).toStrictEqual(shapes.polykomos(res.requestId));
  });
});

describe('validation', () => {
  it('400 for a missing body, an unknown query parameter and a non-string map value', async () => {
    const empty = await call('POST', '/mcp-v8/api/exec', { headers: { 'content-type': 'application/json' }, raw: '' });
    expect(empty).toMatchObject({ status: 400, body: { error: 'body: is required' } });
    const unknown = await call('GET', '/mcp-v8/api/version?verbose=1');
    expect(unknown).toMatchObject({
      status: 400,
      body: { error: 'query.verbose: is not allowed (unknown query parameter)' },
    });
    const tags = await call('POST', '/mcp-v8/api/exec', { json: { code: '1', tags: { team: 1 } } });
    expect(tags).toMatchObject({ status: 400, body: { error: 'body.tags.team: must be string' } });
  });

  it('400 for a missing required field, value outside the enum and a missing required header', async () => {
    const missing = await call('POST', '/goclaw/v1/api-keys', { headers: { authorization: 'Bearer good' }, json: {} });
    expect(missing).toMatchObject({ status: 400, body: { error: 'body.name: is required' } });
    const scope = await call('POST', '/goclaw/v1/api-keys', {
      headers: { authorization: 'Bearer good' },
      json: { name: 'x', scopes: ['operator.root'] },
    });
    expect(scope.status).toBe(400);
    expect(scope.body.error).toMatch(
      /^body\.scopes\[0\]: must be equal to one of the allowed values \(operator\.admin, /,
    );
    const header = await call('POST', '/polykomos/api/v1/databases', { json: { name: 'db' } });
    expect(header).toMatchObject({
      status: 400,
      // A missing required header names itself (Polykomos' documented `missing_idempotency_key`).
      body: { error: { code: 'missing_idempotency_key', message: 'header.idempotency-key: is required' } },
    });
  });

  it('415 for a body type the operation does not accept', async () => {
    const res = await call('POST', '/mcp-v8/api/exec', { headers: { 'content-type': 'text/plain' }, raw: 'print(1)' });
    expect(res.status).toBe(415);
    expect(res.body).toStrictEqual({ error: expect.stringContaining('application/json') });
  });

  it('hands handlers decoded path params (validated decoded) and coerced values', async () => {
    const res = await call('GET', '/athena/admin/webhooks/%31%32', { headers: { apikey: 'k' }, unchecked: true });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      params: { id: '12' },
      coerced: { params: { id: 12 }, query: {} },
      query: {},
      principal: 'anonymous',
    });
    const key = await call('DELETE', '/athena/admin/backups/daily%2F2026-01-01.tar.gz/', {
      headers: { apikey: 'k' },
      unchecked: true,
    });
    expect(key.body.params).toEqual({ key: 'daily/2026-01-01.tar.gz' });
  });
});

describe('GraphQL operations', () => {
  const admin = { authorization: 'Bearer good' };

  it('execute gets the principal and request id; respond shapes the contract response', async () => {
    executions.length = 0;
    const res = await call('GET', '/goclaw/v1/api-keys', { headers: admin });
    expect(res).toMatchObject({ status: 200, body: [key] });
    expect(executions).toEqual([{ variables: { mode: 'ok' }, principal: adminPrincipal, requestId: res.requestId }]);
    const created = await call('POST', '/goclaw/v1/api-keys', { headers: admin, json: { name: 'ci', scopes: [] } });
    expect(created).toMatchObject({ status: 201, body: { name: 'ci', key: 'goclaw_secret' } });
    expect(executions[1]?.variables).toEqual({ mode: 'ok', input: { name: 'ci', scopes: [] } });
  });

  it('maps extensions.code onto statuses in the product shape', async () => {
    const expected: [Mode, number][] = [
      ['UNAUTHENTICATED', 401],
      // GoClaw's key operations list no 403: a refusal answers their 401.
      ['FORBIDDEN', 401],
      ['BAD_USER_INPUT', 400],
      ['NOT_FOUND', 404],
      ['PAYLOAD_TOO_LARGE', 413],
    ];
    for (const [mode, status] of expected) {
      const res = await call('GET', '/goclaw/v1/api-keys', { headers: { ...admin, 'x-mode': mode } });
      expect(res.status, mode).toBe(status);
      expect(res.body).toStrictEqual({ error: `fake ${mode}` });
      if (status === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer realm="goclaw"');
    }
  });

  it('500 with a generic message for unmapped errors and thrown executions; the real one is logged', async () => {
    for (const mode of ['masked', 'throw'] as Mode[]) {
      logs.length = 0;
      const res = await call('GET', '/goclaw/v1/api-keys', { headers: { ...admin, 'x-mode': mode } });
      expect(res.status).toBe(500);
      expect(res.body).toStrictEqual({ error: 'Internal server error' });
      expect(res.text).not.toMatch(/secret|hunter2|at .*\.ts/);
      const logged = logs.join('\n');
      expect(logged).toContain(mode === 'throw' ? 'hunter2' : 'secret detail');
      expect(logged).toContain(res.requestId);
    }
  });
});

describe('robustness', () => {
  it('a handler that throws answers 500 in the product shape, and the server keeps answering', async () => {
    const res = await call('DELETE', '/goclaw/v1/api-keys/7b0f4a53-3c43-4a0c-9d0f-6a1f6f2f2f2f', {
      headers: { authorization: 'Bearer good' },
    });
    expect(res.status).toBe(500);
    expect(res.body).toStrictEqual({ error: 'Internal server error' });
    expect(logs.join('\n')).toContain('handler bug with internals');
    const after = await call('GET', '/goclaw/v1/api-keys', { headers: { authorization: 'Bearer good' } });
    expect(after.status).toBe(200);
  });

  it('leaves paths outside the prefixes to the caller', async () => {
    for (const path of ['/', '/athenaeum/x', '/graphql', '/healthz']) {
      const res = await fetch(`${base}${path}`);
      expect(await res.text(), path).toBe('not a REST path');
    }
  });

  it("serves Athena's own GET /openapi.yaml as a contract operation", async () => {
    const res = await call('GET', '/athena/openapi.yaml');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/yaml; charset=utf-8');
    expect(res.text).toBe(
      readFileSync(new URL('../../../rest-shim/specs/athena.openapi.json', import.meta.url), 'utf8'),
    );
    const head = await fetch(`${base}/athena/openapi.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('reports every request to the metrics hook with a bounded operation label', async () => {
    operations.length = 0;
    await call('GET', '/goclaw/v1/api-keys', { headers: { authorization: 'Bearer good' } });
    await call('GET', '/goclaw/nope/nope');
    await call('GET', '/goclaw/openapi.json');
    expect(operations).toEqual([
      ['goclaw', 'get_v1_api_keys', 200],
      ['goclaw', 'unmatched', 404],
      ['goclaw', 'openapi.json', 200],
    ]);
  });

  it('lists coverage per product', () => {
    const coverage = restCoverage(surfaces());
    const goclaw = coverage.find((s) => s.product === 'goclaw');
    expect(goclaw).toMatchObject({ served: 3, total: 60 });
    expect(goclaw?.notImplemented).toHaveLength(57);
    expect(coverage.find((s) => s.product === 'athena')).toMatchObject({ served: 3, total: 290 });
  });

  it('the contract check used on every response above does reject bodies the contract forbids', () => {
    const polykomos = contracts['/polykomos'] as ContractValidator;
    expect(polykomos.responseErrors('GET', '/api/v1/me', 401, { error: 'x' })).toMatch(/must be object|required/);
    expect(
      polykomos.responseErrors('GET', '/api/v1/me', 401, {
        error: { code: 'unauthorized', message: 'x' },
        request_id: 'r',
      }),
    ).toBeNull();
    const goclaw = contracts['/goclaw'] as ContractValidator;
    expect(goclaw.responseErrors('GET', '/v1/api-keys', 200, [{ id: 'not-a-uuid' }])).toMatch(/uuid/);
    expect(goclaw.definesResponse('GET', '/v1/api-keys', 401)).toBe(true);
  });

  it('refuses operations the contract does not have, and an operationId declared twice', () => {
    const start = (list: AnySurface[]) =>
      createRestShim({
        surfaces: list,
        services: noServices,
        execute,
        logger: pino({ level: 'silent' }),
        maxBodyBytes,
      });
    const handler = directOperation({ reason: 'x', handle: async () => ({ status: 200 }) });
    const bad = bareSurfaces();
    (bad[3] as AnySurface).groups = [testGroup({ get_v1_nothing: handler })];
    expect(() => start(bad)).toThrow(/operation "get_v1_nothing" is not in its contract/);
    const twice = bareSurfaces();
    (twice[3] as AnySurface).groups = [
      testGroup({ get_v1_api_keys: handler }),
      { ...testGroup({ get_v1_api_keys: handler }), name: 'other' },
    ];
    expect(() => start(twice)).toThrow(/"get_v1_api_keys" is declared by group "test" and "other"/);
    const untested = bareSurfaces();
    (untested[3] as AnySurface).groups = [{ ...testGroup({ get_v1_api_keys: handler }), test: 'test/none.test.ts' }];
    expect(() => start(untested)).toThrow(/test file that does not exist/);
  });
});
