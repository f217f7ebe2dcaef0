import { describe, expect, it } from 'vitest';
import { compileRouter } from '../../../rest-shim/engine/router.ts';
import { type LoadedSpec, loadSpec, type SpecOperation } from '../../../rest-shim/engine/specs.ts';
import { surfaces } from '../../../rest-shim/surfaces.ts';

const specs = Object.fromEntries(surfaces.map((s) => [s.product, loadSpec(s.contract)])) as Record<string, LoadedSpec>;

/** A concrete path for a template: each `{name}` gets a value no fixed segment of any contract uses. */
function samplePath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => `sample-${name}-7`);
}

describe('compiled router', () => {
  for (const [product, spec] of Object.entries(specs)) {
    it(`routes every ${product} operation (${spec.operations.length}) to itself, with its params`, () => {
      const router = compileRouter(spec.operations);
      for (const op of spec.operations) {
        const names = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
        const expected = Object.fromEntries(names.map((n) => [n, `sample-${n}-7`]));
        const path = samplePath(op.path);
        expect(router.match(op.method, path), `${op.method} ${path}`).toEqual({
          kind: 'found',
          operationId: op.operationId,
          params: expected,
        });
        // Method case and one trailing slash do not matter.
        expect(router.match(op.method.toLowerCase(), `${path}/`)).toMatchObject({ operationId: op.operationId });
      }
    });
  }

  const athena = compileRouter((specs.athena as LoadedSpec).operations);
  const goclaw = compileRouter((specs.goclaw as LoadedSpec).operations);

  it('prefers a static segment to a template at the same position', () => {
    expect(athena.match('GET', '/admin/backups/config')).toMatchObject({ operationId: 'get_admin_backups_config' });
    expect(athena.match('GET', '/admin/backups/jobs')).toMatchObject({ operationId: 'get_admin_backups_jobs' });
    expect(athena.match('GET', '/admin/webhooks/events')).toMatchObject({ operationId: 'get_admin_webhooks_events' });
    expect(athena.match('GET', '/admin/webhooks/42')).toEqual({
      kind: 'found',
      operationId: 'get_admin_webhooks_by_id',
      params: { id: '42' },
    });
  });

  it('falls back to a template when the static branch has no route for the rest of the path', () => {
    // `jobs` is also a fixed segment, but `/admin/backups/jobs/restore` only exists as `{key}/restore`.
    expect(athena.match('POST', '/admin/backups/jobs/restore')).toEqual({
      kind: 'found',
      operationId: 'post_admin_backups_by_key_restore',
      params: { key: 'jobs' },
    });
    // Same position, named differently by two templates.
    expect(athena.match('GET', '/admin/backups/jobs/9')).toMatchObject({ params: { id: '9' } });
    expect(athena.match('GET', '/admin/backups/jobs/9/s3-open')).toMatchObject({ params: { job_id: '9' } });
    expect(goclaw.match('GET', '/v1/agents/a1')).toMatchObject({ params: { id: 'a1' } });
    expect(goclaw.match('POST', '/v1/agents/a1/memory/search')).toMatchObject({ params: { agentID: 'a1' } });
  });

  it('per method, a template can own a path that is static for another method', () => {
    expect(athena.match('DELETE', '/admin/backups/config')).toEqual({
      kind: 'found',
      operationId: 'delete_admin_backups_by_key',
      params: { key: 'config' },
    });
  });

  it('decodes params after splitting, so %2F stays inside one parameter', () => {
    expect(athena.match('DELETE', '/admin/backups/daily%2F2026-01-01.tar.gz')).toEqual({
      kind: 'found',
      operationId: 'delete_admin_backups_by_key',
      params: { key: 'daily/2026-01-01.tar.gz' },
    });
    expect(athena.match('POST', '/admin/backups/a%2Fb%20c/restore')).toMatchObject({ params: { key: 'a/b c' } });
    // A raw slash is a segment boundary.
    expect(athena.match('DELETE', '/admin/backups/daily/2026.tar.gz')).toEqual({ kind: 'not-found' });
    // Encoded characters of a fixed segment still match it.
    expect(athena.match('GET', '/admin/backups/%63onfig')).toMatchObject({ operationId: 'get_admin_backups_config' });
  });

  it('answers 404 for unknown paths and 405 with the allowed methods for known ones', () => {
    expect(athena.match('GET', '/nope')).toEqual({ kind: 'not-found' });
    expect(athena.match('GET', '/admin/backups/a/b/c')).toEqual({ kind: 'not-found' });
    expect(athena.match('GET', '/admin//backups')).toEqual({ kind: 'not-found' });
    expect(athena.match('PUT', '/admin/backups/config')).toEqual({
      kind: 'method-not-allowed',
      allow: ['DELETE', 'GET'],
    });
    expect(goclaw.match('PATCH', '/v1/api-keys')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'POST'] });
    expect(goclaw.match('POST', '/v1/api-keys/x')).toEqual({ kind: 'method-not-allowed', allow: ['DELETE'] });
  });

  it('routes the root, with or without a slash', () => {
    expect(athena.match('GET', '/')).toMatchObject({ operationId: 'get_root' });
    expect(athena.match('GET', '')).toMatchObject({ operationId: 'get_root' });
    expect(athena.match('GET', '//')).toMatchObject({ operationId: 'get_root' });
  });

  it('reports malformed percent-encoding in a parameter', () => {
    expect(athena.match('DELETE', '/admin/backups/%E0%A4%A')).toMatchObject({ kind: 'bad-path' });
  });

  it('refuses two operations with the same method and shape', () => {
    const ops: SpecOperation[] = [
      { operationId: 'a', method: 'GET', path: '/x/{id}' },
      { operationId: 'b', method: 'GET', path: '/x/{name}' },
    ];
    expect(() => compileRouter(ops)).toThrow(/same shape/);
  });
});
