import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../rest-shim/engine/specs.ts';
import { surfaces } from '../../rest-shim/surfaces.ts';
import { PlatformCreateApiKeyDocument, PlatformViewerKindDocument } from '../generated/platform.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { createApiKey } from '../kit/platform.ts';

/** docs/decisions.md "Platform keys": `atr_` keys are GraphQL-only; `read` queries and subscribes, `admin` mutates. */
describe('atr_ platform keys', () => {
  let t: TestApp;
  const keys: Record<'read' | 'admin' | 'none', string> = { read: '', admin: '', none: '' };
  beforeAll(async () => {
    t = await startTestApp();
    for (const [name, scopes] of [
      ['read', ['read']],
      ['admin', ['admin']],
      ['none', []],
    ] as const) {
      keys[name] = (
        await createApiKey(t.baseUrl, t.adminKey, { product: 'atrium', name: `platform-${name}`, scopes: [...scopes] })
      ).rawKey;
      expect(keys[name]).toMatch(/^atr_/);
    }
  }, 60_000);
  afterAll(() => t?.close());

  const mutation = PlatformCreateApiKeyDocument;
  const input = (name: string) => ({ input: { product: 'atrium' as const, name, scopes: ['read'] } });

  it('scope read: queries run, mutations are refused before any resolver', async () => {
    const q = await gql(t.baseUrl, PlatformViewerKindDocument, {}, keys.read);
    expect(q.body.data?.viewer?.kind).toBe('apiKey');
    const m = await gql(t.baseUrl, mutation, input('by-read'), keys.read);
    expect(m.body.data ?? null).toBeNull();
    expect(m.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(m.body.errors?.[0]?.message).toContain('scope admin');
  });

  it('scope admin: mutations run too', async () => {
    const m = await gql(t.baseUrl, mutation, input('by-admin'), keys.admin);
    expect(m.body.errors).toBeUndefined();
    expect(m.body.data?.createApiKey.__typename).toBe('MutationCreateApiKeySuccess');
  });

  it('neither scope: nothing runs', async () => {
    const q = await gql(t.baseUrl, PlatformViewerKindDocument, {}, keys.none);
    expect(q.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("every REST door refuses a platform key, even one with scope admin, as it refuses another product's key", async () => {
    const keyOf = async (product: 'athena' | 'deepstore') =>
      (await createApiKey(t.baseUrl, t.adminKey, { product, name: 'foreign', scopes: [] })).rawKey;
    const foreignKeys = { athena: await keyOf('athena'), deepstore: await keyOf('deepstore') };
    let doors = 0;
    for (const surface of surfaces) {
      if (!surface.authenticate) continue;
      // Another product's key: Athena's own keys open Athena's public routes.
      const foreignKey = surface.product === 'athena' ? foreignKeys.deepstore : foreignKeys.athena;
      const spec = loadSpec(surface.contract);
      const op = spec.operations.find((o) => o.method === 'GET' && !o.path.includes('{') && o.path !== '/health');
      if (!op) continue;
      const get = async (key: string) => {
        const res = await fetch(`${t.baseUrl}${surface.prefix}${op.path}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        const body = (await res.json()) as Record<string, unknown>;
        delete body.request_id;
        delete body.requestId;
        return { status: res.status, body };
      };
      // The product's own refusal of a credential that is not its own (401; Polykomos' contract says 403).
      const expected = await get(foreignKey);
      expect([401, 403], surface.product).toContain(expected.status);
      for (const key of [keys.admin, keys.read]) {
        expect(await get(key), `${surface.product} ${op.path}`).toEqual(expected);
      }
      doors++;
    }
    expect(doors).toBeGreaterThanOrEqual(3);
  });
});
