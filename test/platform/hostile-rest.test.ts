import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountedOperations } from '../../rest-shim/engine/builtins.ts';
import { createContractValidator } from '../../rest-shim/engine/contract.ts';
import { type LoadedSpec, loadSpec, type OpenApiDocument, resolveLocal } from '../../rest-shim/engine/specs.ts';
import type { AnySurface } from '../../rest-shim/engine/types.ts';
import { surfaces } from '../../rest-shim/surfaces.ts';
import { PlatformCreateApiKeyDocument } from '../generated/platform.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';

/**
 * The hostile sweep: every operation of every loaded contract (iterated from the specs, so operations added later
 * are covered without edits) gets variants a careless or hostile client sends — U+0000 in every string field and
 * parameter, integers beyond Int and below zero, wrong types, encoded dot segments, oversized bodies, no credential
 * and each other product's credential. Every answer must be a 4xx in the contract's error shape, the operation's
 * documented success, or 501 for an operation not served yet; never another 5xx.
 */

const maxBodyBytes = 64 * 1024;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

type Schema = Record<string, unknown>;
interface Probe {
  label: string;
  method: string;
  /** Raw request target, sent as is (no URL normalisation). */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The path the contract judges the answer by, when `path` itself does not route (a hostile path id). */
  contractPath?: string;
}
interface Answer {
  status: number;
  text: string;
  contentType: string;
}

function send(base: URL, probe: Probe): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = probe.body === undefined ? undefined : Buffer.from(probe.body);
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: probe.method,
        path: probe.path,
        headers: { ...probe.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            contentType: String(res.headers['content-type'] ?? ''),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A schema with local `$ref`s, `allOf` merged and the first `oneOf`/`anyOf` branch taken. */
function resolve(doc: OpenApiDocument, value: unknown, depth = 0): Schema {
  const found = resolveLocal(doc, value) as Schema | undefined;
  if (!found || typeof found !== 'object' || depth > 8) return {};
  let schema: Schema = found;
  if (Array.isArray(schema.allOf)) {
    const parts = (schema.allOf as unknown[]).map((s) => resolve(doc, s, depth + 1));
    schema = {
      ...Object.assign({}, ...parts),
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
      required: parts.flatMap((p) => (p.required as string[] | undefined) ?? []),
    };
  }
  const branch = (schema.oneOf ?? schema.anyOf) as unknown[] | undefined;
  if (Array.isArray(branch) && branch.length > 0)
    return { ...resolve(doc, branch[0], depth + 1), ...schema, oneOf: undefined, anyOf: undefined };
  return schema;
}

function kind(schema: Schema): string {
  const t = schema.type;
  if (Array.isArray(t)) return String(t.find((x) => x !== 'null') ?? 'string');
  if (typeof t === 'string') return t;
  if (schema.properties) return 'object';
  return 'any';
}

/** A plausible value for a schema: the contract's example or enum first, else one built from its type. */
function example(doc: OpenApiDocument, raw: unknown, depth = 0): unknown {
  const schema = resolve(doc, raw);
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  switch (kind(schema)) {
    case 'string': {
      const format = schema.format;
      if (format === 'uuid') return randomUUID();
      if (format === 'date-time') return '2026-01-01T00:00:00Z';
      if (format === 'date') return '2026-01-01';
      if (format === 'email') return 'probe@example.com';
      if (format === 'uri' || format === 'url') return 'https://example.com/hook';
      const min = Number(schema.minLength ?? 1);
      return 'probe'.padEnd(Math.max(min, 5), 'x').slice(0, Math.max(min, Number(schema.maxLength ?? 64)));
    }
    case 'integer':
    case 'number':
      return Number(schema.minimum ?? 1);
    case 'boolean':
      return true;
    case 'array':
      return Number(schema.minItems ?? 0) > 0 && depth < 4 ? [example(doc, schema.items, depth + 1)] : [];
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth > 4) return out;
      for (const name of (schema.required as string[] | undefined) ?? []) {
        out[name] = example(doc, (schema.properties as Record<string, unknown> | undefined)?.[name], depth + 1);
      }
      return out;
    }
    default:
      return 'probe';
  }
}

/** Wrong-typed stand-ins for a value of the given kind. */
function wrongType(k: string): unknown {
  switch (k) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'not-a-number';
    case 'boolean':
      return 'yes';
    case 'array':
      return { not: 'an array' };
    case 'object':
      return 'not-an-object';
    default:
      return [[[]]];
  }
}

interface Param {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  schema: Schema;
}

interface ProbeOperation {
  operationId: string;
  method: string;
  template: string;
  params: Param[];
  bodySchema: Schema | undefined;
  bodyType: string | undefined;
  documented: Set<string>;
}

function operationsOf(spec: LoadedSpec): ProbeOperation[] {
  const doc = spec.document;
  return spec.operations.map(({ operationId, method, path }) => {
    const item = doc.paths[path] as Record<string, unknown>;
    const op = item[method.toLowerCase()] as Record<string, unknown>;
    const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])]
      .map((p) => resolveLocal(doc, p) as { name: string; in: Param['in']; schema?: unknown })
      .filter((p) => p?.name)
      .map((p) => ({ name: p.name, in: p.in, schema: resolve(doc, p.schema) }));
    const content = (
      resolveLocal(doc, op.requestBody) as { content?: Record<string, { schema?: unknown }> } | undefined
    )?.content;
    const bodyType = content ? Object.keys(content)[0] : undefined;
    const bodySchema = bodyType && content ? resolve(doc, content[bodyType]?.schema) : undefined;
    const documented = new Set(Object.keys((op.responses as Record<string, unknown>) ?? {}));
    return { operationId, method, template: path, params, bodySchema, bodyType, documented };
  });
}

function fillPath(template: string, params: Param[], doc: OpenApiDocument, override?: [string, string]): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (override && override[0] === name) return override[1];
    const p = params.find((x) => x.in === 'path' && x.name === name);
    return encodeURIComponent(String(example(doc, p?.schema ?? { type: 'string' })));
  });
}

/** Every hostile variant of one operation. */
function variants(
  surface: AnySurface,
  doc: OpenApiDocument,
  op: ProbeOperation,
  auth: Record<string, string>,
  others: Record<string, string>[],
): Probe[] {
  const base = `${surface.prefix}${fillPath(op.template, op.params, doc)}`;
  const json = { 'content-type': 'application/json', ...auth };
  const valid = op.bodySchema && op.bodyType?.includes('json') ? example(doc, op.bodySchema) : undefined;
  const withBody = (label: string, body: unknown, headers = json): Probe => ({
    label,
    method: op.method,
    path: base,
    headers,
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const out: Probe[] = [];
  const plain = (label: string, path: string, headers: Record<string, string> = auth): Probe => ({
    label,
    method: op.method,
    path,
    headers: valid !== undefined ? { ...headers, 'content-type': 'application/json' } : headers,
    body: valid !== undefined ? JSON.stringify(valid) : undefined,
  });

  out.push(plain('baseline', base));
  out.push(plain('no credential', base, {}));
  for (const [i, other] of others.entries()) out.push(plain(`other credential ${i}`, base, other));

  for (const p of op.params.filter((x) => x.in === 'path')) {
    for (const bad of ['%00', 'a%00b', '%0A', '%ff%fe', '9'.repeat(25), '-1']) {
      out.push({
        ...plain(`path ${p.name}=${bad}`, `${surface.prefix}${fillPath(op.template, op.params, doc, [p.name, bad])}`),
        contractPath: base,
      });
    }
  }
  for (const p of op.params.filter((x) => x.in === 'query')) {
    for (const bad of ['%00', 'x%00', '99999999999999999999', '2147483648', '-1', 'abc', '%ff']) {
      out.push(plain(`query ${p.name}=${bad}`, `${base}?${encodeURIComponent(p.name)}=${bad}`));
    }
  }
  out.push(plain('unknown query with NUL', `${base}?probe%00=%00`));

  for (const traversal of ['/%2e%2e/metrics', '/%2E./metrics', '/.%2e/metrics', '/%2e%2e/graphql', '/..%5cmetrics']) {
    out.push(plain(`traversal ${traversal}`, `${surface.prefix}${traversal}`));
  }
  out.push(plain('backslash', `${surface.prefix}\\..\\metrics`));
  out.push(plain('dot segment inside the path', `${base}/%2e%2e`));

  if (op.bodySchema !== undefined) {
    const props = (op.bodySchema.properties ?? {}) as Record<string, unknown>;
    const object =
      valid !== null && typeof valid === 'object' && !Array.isArray(valid) ? (valid as Record<string, unknown>) : {};
    for (const [name, raw] of Object.entries(props)) {
      const k = kind(resolve(doc, raw));
      const set = (value: unknown) => ({ ...object, [name]: value });
      if (k === 'string' || k === 'any') {
        out.push(withBody(`body ${name}=NUL`, set('bad\u0000name')));
        out.push(withBody(`body ${name}=only NUL`, set('\u0000')));
      }
      if (k === 'array') out.push(withBody(`body ${name}=[NUL]`, set(['ok', 'x\u0000'])));
      if (k === 'object') out.push(withBody(`body ${name}={NUL}`, set({ 'k\u0000': 'v\u0000' })));
      if (k === 'integer' || k === 'number') {
        for (const n of [2147483648, 1e20, -1, -2147483649, 1.5]) out.push(withBody(`body ${name}=${n}`, set(n)));
      }
      out.push(withBody(`body ${name} wrong type`, set(wrongType(k))));
      out.push(withBody(`body ${name}=null`, set(null)));
    }
    out.push(withBody('body array', []));
    out.push(withBody('body string', '"just a string"'));
    out.push(withBody('body null', 'null'));
    out.push(withBody('body malformed', '{"a":'));
    out.push(withBody('body NUL key', { ...object, 'x\u0000': 1 }));
    out.push(withBody('body deep', '['.repeat(5000) + ']'.repeat(5000)));
    out.push(withBody('body oversized', Buffer.alloc(maxBodyBytes + 1, 'a')));
    out.push(withBody('body wrong media type', JSON.stringify(object), { ...auth, 'content-type': 'text/plain' }));
  }
  return out;
}

let t: TestApp;
/** One credential of every product that issues API keys, by product. */
const credentials = new Map<string, string>();
const totals = { requests: 0, s2xx: 0, s4xx: 0, s501: 0, s5xx: 0 };

beforeAll(async () => {
  t = await startTestApp({ ATRIUM_MAX_BODY_BYTES: String(maxBodyBytes) });
  for (const product of ['athena', 'atrium', 'deepstore', 'goclaw', 'mcp_v8', 'polykomos'] as const) {
    const r = await gql(
      t.baseUrl,
      PlatformCreateApiKeyDocument,
      { input: { product, name: `sweep-${product}`, scopes: product === 'atrium' ? ['admin'] : [] } },
      t.adminKey,
    );
    const created = r.body.data?.createApiKey;
    if (created?.__typename === 'MutationCreateApiKeySuccess')
      credentials.set(product.replace('_', '-'), created.data.rawKey);
  }
}, 60_000);

afterAll(async () => {
  agent.destroy();
  console.log(
    `hostile REST sweep: ${totals.requests} requests, ${totals.s2xx} 2xx, ${totals.s4xx} 4xx, ${totals.s501} 501 (not served yet), ${totals.s5xx} other 5xx`,
  );
  await t?.close();
});

describe('hostile REST sweep (every operation of every contract)', () => {
  it('found API-key credentials for several products', () => {
    expect(credentials.size).toBeGreaterThanOrEqual(3);
  });

  for (const surface of surfaces) {
    it(`${surface.product}: no variant of any operation answers 5xx or leaves the error shape`, async () => {
      const spec = loadSpec(surface.contract);
      const doc = spec.document;
      const validator = await createContractValidator(surface.contract);
      const served = mountedOperations(surface);
      const isServed = (operationId: string) => served.has(operationId) && surface.authenticate !== undefined;
      const unservedMismatch = new Set<string>();
      // The error shape, with and without what a registered code adds (Athena's error_number and docs_url).
      const shapes = new Set(
        ['c', 'invalid_request'].map((code) =>
          JSON.stringify(Object.keys(surface.errorBody(400, 'm', code, 'r') as object).sort()),
        ),
      );
      // Fields a product's errors may add to its envelope: Athena's gateway adds PostgREST's `details`/`hint` and
      // the contract's `data: {operation}` (its fetch 400 example).
      const extras = surface.product === 'athena' ? ['data', 'details', 'hint'] : [];
      const isErrorShape = (keys: string[]) => {
        const core = keys.filter((k) => !extras.includes(k));
        return shapes.has(JSON.stringify(core));
      };
      const headerFor = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
      const own = headerFor(t.adminKey);
      const others = [...credentials].filter(([p]) => p !== surface.product).map(([, raw]) => headerFor(raw));
      const problems: string[] = [];
      const operations = operationsOf(spec);
      expect(operations.length).toBe(spec.operations.length);
      const probes = operations.flatMap((op) => variants(surface, doc, op, own, others).map((p) => ({ op, p })));
      const base = new URL(t.baseUrl);
      let next = 0;
      const worker = async () => {
        while (next < probes.length) {
          const { op, p } = probes[next++] as (typeof probes)[number];
          const a = await send(base, p);
          totals.requests++;
          const where = `${surface.product}.${op.operationId} [${p.label}] ${p.method} ${p.path.slice(0, 120)} → ${a.status}`;
          if (a.status >= 200 && a.status < 400) {
            totals.s2xx++;
            const documented = op.documented.has(String(a.status)) || op.documented.has(`${String(a.status)[0]}XX`);
            if (!documented && !op.documented.has('default')) problems.push(`${where}: undocumented success`);
            continue;
          }
          if (a.status === 501) {
            totals.s501++;
            if (served.has(op.operationId) && surface.authenticate !== undefined)
              problems.push(`${where}: 501 for a served operation`);
          } else if (a.status >= 500 && (a.status === 500 || !op.documented.has(String(a.status)))) {
            // A 5xx the operation documents for an unavailable dependency (Athena's 503 for the ScyllaDB driver)
            // is an answer; a 500, or an undocumented 5xx, is a failure.
            totals.s5xx++;
            problems.push(`${where}: ${a.text.slice(0, 200)}`);
            continue;
          } else if (a.status < 500) totals.s4xx++;
          if (!a.contentType.includes('json')) {
            problems.push(`${where}: error body is ${a.contentType || 'untyped'}`);
            continue;
          }
          const body = JSON.parse(a.text) as unknown;
          const text = a.text;
          if (/node_modules|\/work\/|\.ts:\d+|prisma\.|invocation|at async /i.test(text)) {
            problems.push(`${where}: error body leaks internals: ${text.slice(0, 200)}`);
          }
          // Probes that left the operation's path (traversal) are judged by the surface's error shape alone.
          const routed =
            p.label.startsWith('traversal') || p.label === 'backslash' || p.label.includes('inside the path')
              ? undefined
              : op;
          const relative = (p.contractPath ?? p.path).slice(surface.prefix.length).split('?')[0] as string;
          let defined = false;
          if (routed) {
            try {
              defined = validator.definesResponse(op.method, relative, a.status);
            } catch {
              defined = false;
            }
          }
          const keys = body && typeof body === 'object' ? Object.keys(body).sort() : [];
          const errorShape = isErrorShape(keys);
          if (defined) {
            const errors = validator.responseErrors(op.method, relative, a.status, body);
            // An operation not served yet cannot build an operation-specific error body (Athena's D1 preview
            // answers its 400 as a preview): it answers the surface's error shape, counted and printed, until the
            // operation is served. Served operations must match the contract.
            if (errors && !isServed(op.operationId) && errorShape) unservedMismatch.add(op.operationId);
            else if (errors) problems.push(`${where}: breaks the contract: ${errors}`);
          } else {
            if (!errorShape) {
              problems.push(`${where}: not the ${surface.product} error shape: ${text.slice(0, 200)}`);
            }
          }
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      console.log(`${surface.product}: ${operations.length} operations, ${probes.length} requests`);
      if (unservedMismatch.size > 0) {
        console.log(
          `${surface.product}: not served yet, error body not the operation's schema: ${[...unservedMismatch].join(', ')}`,
        );
      }
      expect(problems.slice(0, 40), `${problems.length} problems`).toEqual([]);
    }, 600_000);
  }
});
