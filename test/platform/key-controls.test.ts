import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';
import { graphqlAs, keyWithControls, restAs } from '../kit/key-controls.ts';

/*
 * Key controls live where the key is verified (the access module), so one key is refused alike at the GraphQL door
 * (a clear error code) and at a REST door (the contract's 403/429 shapes). In-process rate limiter here; the Redis
 * one shared by two processes is test/platform/pubsub-redis.test.ts.
 */

let t: TestApp;
let contract: ContractExpectations;

beforeAll(async () => {
  t = await startTestApp();
  contract = await contractValidator('polykomos');
});
afterAll(async () => {
  await t?.close();
});

describe('API-key controls on every door', () => {
  it('rate limit: after the key’s requests per minute, GraphQL is RATE_LIMITED (429) and REST 429 rate_limited', async () => {
    const k = await keyWithControls(t.baseUrl, t.adminKey, { requestsPerMinute: 3 });
    // The three tokens are shared by the doors.
    expect((await graphqlAs(t.baseUrl, k.raw)).data).toEqual({ viewer: { kind: 'apiKey', id: k.id } });
    expect((await restAs(t.baseUrl, k.raw)).status).toBe(200);
    expect((await graphqlAs(t.baseUrl, k.raw)).status).toBe(200);

    const g = await graphqlAs(t.baseUrl, k.raw);
    expect(g).toMatchObject({ status: 429, code: 'RATE_LIMITED', message: 'Rate limit exceeded' });
    expect(Number(g.retryAfter)).toBeGreaterThanOrEqual(1);
    const r = await restAs(t.baseUrl, k.raw);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('rate_limited');
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    contract.expectValidResponse('GET', '/api/v1/me', 429, r.body);
  });

  it('monthly quota: GraphQL QUOTA_EXCEEDED and REST 429 monthly_quota_exceeded once the month is used', async () => {
    const k = await keyWithControls(t.baseUrl, t.adminKey, { monthlyQuota: 2 });
    expect((await restAs(t.baseUrl, k.raw)).status).toBe(200);
    expect((await graphqlAs(t.baseUrl, k.raw)).status).toBe(200);
    const g = await graphqlAs(t.baseUrl, k.raw);
    expect(g).toMatchObject({ status: 429, code: 'QUOTA_EXCEEDED' });
    const r = await restAs(t.baseUrl, k.raw);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('monthly_quota_exceeded');
    contract.expectValidResponse('GET', '/api/v1/me', 429, r.body);
    const counter = await t.app.services.prisma.apiKeyUsageCounter.findFirstOrThrow({ where: { apiKeyId: k.id } });
    expect(counter.count).toBe(4);
  });

  it('IP allowlist: another address is FORBIDDEN on GraphQL and 403 ip_not_allowed on REST; the right one passes', async () => {
    const k = await keyWithControls(t.baseUrl, t.adminKey, { allowedIpList: ['10.0.0.0/8'] });
    expect(await graphqlAs(t.baseUrl, k.raw)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const r = await restAs(t.baseUrl, k.raw);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('ip_not_allowed');
    contract.expectValidResponse('GET', '/api/v1/me', 403, r.body);

    const ok = await keyWithControls(t.baseUrl, t.adminKey, { allowedIpList: ['127.0.0.1/32', '::1'] });
    expect((await graphqlAs(t.baseUrl, ok.raw)).status).toBe(200);
    expect((await restAs(t.baseUrl, ok.raw)).status).toBe(200);
  });

  it('inactivity: a key unused for longer than inactiveTtlDays is refused on both doors', async () => {
    const k = await keyWithControls(t.baseUrl, t.adminKey, { inactiveTtlDays: 1 });
    expect((await graphqlAs(t.baseUrl, k.raw)).status).toBe(200);
    await t.app.services.prisma.apiKey.update({
      where: { id: k.id },
      data: { lastUsedAt: new Date(Date.now() - 2 * 86_400_000) },
    });
    // The row was changed behind the server's back: it sees it once its 2 s memory of verified keys has passed.
    await new Promise((r) => setTimeout(r, 2_100));
    const g = await graphqlAs(t.baseUrl, k.raw);
    expect(g).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(g.message).toMatch(/expired after 1 days without use/);
    // A refused request is not a use: retrying (on any door) does not revive the key.
    await new Promise((r) => setTimeout(r, 100));
    const r = await restAs(t.baseUrl, k.raw);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('api_key_expired');
    expect((await graphqlAs(t.baseUrl, k.raw)).status).toBe(403);
  });

  it('setApiKeyControls validates and is refused to callers who cannot manage the key', async () => {
    await expect(keyWithControls(t.baseUrl, t.adminKey, { allowedIpList: ['not-an-ip'] })).rejects.toThrow(
      /MutationSetApiKeyControlsSuccess/,
    );
    await expect(keyWithControls(t.baseUrl, t.adminKey, { requestsPerMinute: 0 })).rejects.toThrow();
  });
});
