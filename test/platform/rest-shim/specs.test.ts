import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../../rest-shim/engine/backend.ts';
import {
  deriveOperationId,
  eachOperation,
  type LoadedSpec,
  loadSpec,
  patchSpec,
  resolveLocal,
} from '../../../rest-shim/engine/specs.ts';
import { surfaces } from '../../../rest-shim/surfaces.ts';

const specs = Object.fromEntries(surfaces.map((s) => [s.product, loadSpec(s.contract)])) as Record<
  'athena' | 'deepstore' | 'polykomos' | 'goclaw' | 'mcp_v8',
  LoadedSpec
>;

describe('contract loading', () => {
  it('keeps the original file text byte for byte and never patches it', () => {
    for (const spec of Object.values(specs)) {
      const file = readFileSync(new URL(`../../../rest-shim/specs/${spec.specFile}`, import.meta.url), 'utf8');
      expect(spec.original).toBe(file);
    }
    const original = JSON.parse(specs.athena.original);
    expect(original.components.parameters.ApiKeyIdParam).toBeUndefined();
    expect(original.paths['/health'].get.operationId).toBeUndefined();
  });

  it('lists every operation once, with the counts of the contracts', () => {
    const counts = Object.fromEntries(Object.entries(specs).map(([p, s]) => [p, s.operations.length]));
    expect(counts).toEqual({ athena: 290, deepstore: 16, polykomos: 22, goclaw: 60, mcp_v8: 15 });
    const tsv = readFileSync(new URL('../../../rest-shim/specs/operations.tsv', import.meta.url), 'utf8');
    const rows = tsv.trim().split('\n').slice(1);
    expect(rows).toHaveLength(403);
    for (const row of rows) {
      const [api, method, path, operationId] = row.split('\t');
      const spec = specs[(api === 'mcp-v8' ? 'mcp_v8' : api) as keyof typeof specs];
      const op = spec.operations.find((o) => o.method === method && o.path === path);
      expect(op, row).toBeDefined();
      // Contract ids are kept; missing ones follow the documented rule.
      expect(op?.operationId).toBe(operationId || deriveOperationId(method as string, path as string));
    }
  });

  it('derives operationIds as <method>_<path words>', () => {
    expect(deriveOperationId('GET', '/v1/api-keys/{id}')).toBe('get_v1_api_keys_by_id');
    expect(deriveOperationId('GET', '/')).toBe('get_root');
    expect(deriveOperationId('get', '/openapi-wss.yaml')).toBe('get_openapi_wss_yaml');
    expect(deriveOperationId('POST', '/v1/agents/{agentID}/kg/traverse')).toBe('post_v1_agents_by_agentid_kg_traverse');
    expect(deriveOperationId('DELETE', '/admin/backups/jobs/{job_id}/s3-open')).toBe(
      'delete_admin_backups_jobs_by_job_id_s3_open',
    );
    for (const spec of Object.values(specs)) {
      for (const op of spec.operations) expect(op.operationId).toMatch(/^[A-Za-z0-9_.:-]{1,100}$/);
    }
  });

  it('fails loudly when two derived operationIds collide', () => {
    const doc = { openapi: '3.0.3', info: {}, paths: { '/a-b': { get: {} }, '/a_b': { get: {} } } };
    expect(() => patchSpec({ file: 'x.json' }, JSON.stringify(doc))).toThrow(/collides/);
    const taken = { openapi: '3.0.3', info: {}, paths: { '/a': { get: {} }, '/b': { get: { operationId: 'get_a' } } } };
    expect(() => patchSpec({ file: 'x.json' }, JSON.stringify(taken))).toThrow(/collides/);
  });

  it('defines the three components Athena references, consistently with its templates', () => {
    const doc = specs.athena.document;
    const error = resolveLocal(doc, { $ref: '#/components/responses/BadRequestError' }) as {
      content: Record<string, { schema: { required: string[] } }>;
    };
    expect(error.content['application/json']?.schema.required).toEqual(['status', 'message', 'error']);
    expect(resolveLocal(doc, { $ref: '#/components/responses/UnauthorizedError' })).toBeDefined();
    expect(doc.components?.parameters?.ApiKeyIdParam).toMatchObject({ name: 'id', in: 'path', required: true });
    // No $ref anywhere is left dangling, and none carries siblings.
    for (const spec of Object.values(specs)) {
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) {
          for (const child of node) walk(child);
          return;
        }
        if (node === null || typeof node !== 'object') return;
        const ref = (node as { $ref?: unknown }).$ref;
        if (typeof ref === 'string') {
          expect(resolveLocal(spec.document, node), ref).toBeDefined();
          expect(Object.keys(node)).toEqual(['$ref']);
          return;
        }
        for (const [key, child] of Object.entries(node)) if (key !== 'example' && key !== 'examples') walk(child);
      };
      walk(spec.document);
    }
  });

  it('declares every template parameter of every operation', () => {
    for (const spec of Object.values(specs)) {
      for (const { path, item, operation } of eachOperation(spec.document)) {
        const declared = [...(item.parameters ?? []), ...(operation.parameters ?? [])]
          .map((p) => resolveLocal(spec.document, p) as { in: string; name: string })
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort();
        const template = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        expect(declared, path).toEqual(template);
      }
    }
    expect(specs.athena.patches.filter((p) => p.kind === 'path-parameter').map((p) => p.detail)).toEqual([
      'declared {route_key}',
      'declared {service_key}',
      'declared {route_key}',
      'declared {service_key}',
      'declared {job_id}',
    ]);
  });

  for (const [product, spec] of Object.entries(specs)) {
    it(`${product}: the patched copy passes openapi-backend's strict, full init (schema check, all validators)`, async () => {
      const api = createBackend(spec, { apiRoot: '/', quick: false });
      await api.init();
      expect(api.getOperations()).toHaveLength(spec.operations.length);
      expect(() => api.validateDefinition()).not.toThrow();
    }, 120_000);
  }

  it('the unpatched Athena contract is what strict openapi-backend rejects', async () => {
    const raw = { ...specs.athena, document: JSON.parse(specs.athena.original) };
    await expect(createBackend(raw, { apiRoot: '/', quick: false }).init()).rejects.toThrow();
  }, 120_000);
});
