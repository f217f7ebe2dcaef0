import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AthenaTestGlobalIpRulesDocument, AthenaTestKeyNodeDocument } from '../generated/athena.ts';
import { gql } from '../kit/app.ts';
import { type AthenaTestApp, athenaRest, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';

/*
 * G4 IP policy through real HTTP: per-key whitelist/blacklist (IPv4 and IPv6 CIDR, normalised, idempotent), global
 * rules and their precedence, seen addresses, virgin keys (learning, lock-in, reset, promote), on REST and GraphQL.
 * The server trusts 127.0.0.1 as a proxy (ATRIUM_TRUSTED_PROXIES), so each request names its caller in
 * X-Forwarded-For; without that setting the socket peer decides (src/modules/access/ip-address.test.ts).
 */

let t: AthenaTestApp;
let contract: ContractExpectations;

const from = (key: string, ip: string) =>
  athenaRest(t, 'POST', '/gateway/fetch', {
    key,
    headers: { 'x-forwarded-for': ip },
    body: { table_name: 'ip_notes' },
  });

async function createKey(body: Record<string, unknown>) {
  const res = await athenaRest(t, 'POST', '/admin/api-keys', {
    body: { client_name: t.client, rights: ['gateway.fetch.execute'], ...body },
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { api_key: string; record: { id: string } };
}

const policyOf = async (id: string) => {
  const res = await athenaRest(t, 'GET', `/admin/api-keys/${id}/ip-policy`);
  expect(res.status, res.text).toBe(200);
  contract.expectValidResponse('GET', '/admin/api-keys/{id}/ip-policy', 200, res.body);
  return res.body.data.policy;
};

/** Waits (bounded) until `check` holds: seen rows and lock-in are written off the response path. */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (check(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  t = await startAthenaApp({ ATRIUM_TRUSTED_PROXIES: '127.0.0.1' });
  contract = await contractValidator('athena');
  await t.sql('CREATE TABLE ip_notes (id int PRIMARY KEY)');
});

afterAll(async () => {
  await t?.close();
});

describe('per-key lists', () => {
  it('normalises entries, adds idempotently, matches IPv4 and IPv6 CIDRs; the blacklist beats the whitelist', async () => {
    const { api_key, record } = await createKey({ name: 'listed', ip_whitelist: ['10.1.2.3/8'] });
    expect((await policyOf(record.id)).whitelist.map((r: { addr: string }) => r.addr)).toEqual(['10.0.0.0/8']);

    const add = await athenaRest(t, 'POST', `/admin/api-keys/${record.id}/ip-whitelist`, {
      body: { addrs: ['2001:DB8:0:0::/32', '192.168.1.7', '10.0.0.0/8'], label: 'office' },
    });
    expect(add.status, add.text).toBe(200);
    const again = await athenaRest(t, 'POST', `/admin/api-keys/${record.id}/ip-whitelist`, {
      body: { addrs: ['192.168.1.7/32'], label: 'desk' },
    });
    const white = again.body.data.policy.whitelist as { addr: string; label: string | null }[];
    expect(white.map((r) => r.addr).sort()).toEqual(['10.0.0.0/8', '192.168.1.7/32', '2001:db8::/32']);
    expect(white.find((r) => r.addr === '192.168.1.7/32')?.label).toBe('desk');

    const bad = await athenaRest(t, 'POST', `/admin/api-keys/${record.id}/ip-whitelist`, {
      body: { addrs: ['10.0.0.300'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: 'error', code: 'invalid_ip_address' });
    expect(
      (await athenaRest(t, 'POST', `/admin/api-keys/${record.id}/ip-blacklist`, { body: { addrs: ['::1/129'] } }))
        .status,
    ).toBe(400);

    expect((await from(api_key, '10.200.0.1')).status).toBe(200);
    expect((await from(api_key, '2001:db8:abcd::1')).status).toBe(200);
    const outside6 = await from(api_key, '2001:db9::1');
    expect(outside6.status).toBe(403);
    expect(outside6.body).toMatchObject({ status: 'error', code: 'ip_not_allowed' });
    expect((await from(api_key, '11.0.0.1')).status).toBe(403);

    const black = await athenaRest(t, 'POST', `/admin/api-keys/${record.id}/ip-blacklist`, {
      body: { addrs: ['10.9.0.0/16'] },
    });
    expect(black.body.data.policy.blacklist.map((r: { addr: string }) => r.addr)).toEqual(['10.9.0.0/16']);
    expect((await from(api_key, '10.9.1.1')).status).toBe(403);
    expect((await from(api_key, '10.8.1.1')).status).toBe(200);

    const removed = await athenaRest(t, 'DELETE', `/admin/api-keys/${record.id}/ip-blacklist`, {
      body: { addrs: ['10.9.0.0/16', '1.2.3.4'] },
    });
    expect(removed.status).toBe(200);
    expect(removed.body.data.policy.blacklist).toEqual([]);
    expect((await from(api_key, '10.9.1.1')).status).toBe(200);
    await athenaRest(t, 'DELETE', `/admin/api-keys/${record.id}/ip-whitelist`, {
      body: { addrs: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'] },
    });
    expect((await from(api_key, '11.0.0.1')).status).toBe(200);
    expect((await athenaRest(t, 'GET', '/admin/api-keys/00000000-0000-4000-8000-000000000000/ip-policy')).status).toBe(
      404,
    );
  });

  it('the same refusal reaches GraphQL', async () => {
    const { api_key } = await createKey({ name: 'graphql', ip_whitelist: ['10.0.0.0/8'] });
    const q = (ip: string) =>
      fetch(`${t.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${api_key}`, 'x-forwarded-for': ip },
        body: JSON.stringify({
          query: `{ athenaRows(client: "${t.client}", table: "ip_notes", first: 1) { __typename } }`,
        }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    expect((await q('10.0.0.5')).body.data.athenaRows.__typename).toBe('QueryAthenaRowsSuccess');
    const refused = await q('11.0.0.5');
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('global rules', () => {
  it('the global blacklist beats everything, the global whitelist beats per-key rules; client scopes apply', async () => {
    const { api_key } = await createKey({
      name: 'global',
      ip_whitelist: ['10.0.0.0/8'],
      ip_blacklist: ['10.5.0.0/16'],
    });
    expect((await from(api_key, '172.16.0.1')).status).toBe(403);

    const white = await athenaRest(t, 'POST', '/admin/ip-global-whitelist', {
      body: { addr: '172.16.0.1', label: 'vpn' },
    });
    expect(white.status, white.text).toBe(200);
    expect(white.body.data.record).toMatchObject({ addr: '172.16.0.1/32', client_name: null, label: 'vpn' });
    expect((await from(api_key, '172.16.0.1')).status).toBe(200);
    await athenaRest(t, 'POST', '/admin/ip-global-whitelist', { body: { addr: '10.5.5.5' } });
    expect((await from(api_key, '10.5.5.5')).status).toBe(200); // over the per-key blacklist

    const black = await athenaRest(t, 'POST', '/admin/ip-global-blacklist', { body: { addr: '10.1.0.0/16' } });
    expect(black.status).toBe(200);
    expect((await from(api_key, '10.1.2.3')).status).toBe(403); // over the per-key whitelist
    await athenaRest(t, 'POST', '/admin/ip-global-blacklist', { body: { addr: '172.16.0.0/12' } });
    expect((await from(api_key, '172.16.0.1')).status).toBe(403); // over the global whitelist

    // Scoped to another client: not applied to this client's keys.
    await athenaRest(t, 'POST', '/admin/ip-global-blacklist', { body: { addr: '10.2.0.0/16', client_name: 'other' } });
    expect((await from(api_key, '10.2.0.1')).status).toBe(200);
    await athenaRest(t, 'POST', '/admin/ip-global-blacklist', { body: { addr: '10.3.0.0/16', client_name: t.client } });
    expect((await from(api_key, '10.3.0.1')).status).toBe(403);

    const list = await athenaRest(t, 'GET', '/admin/ip-global-blacklist');
    expect(list.status).toBe(200);
    expect(list.body.data.records.map((r: { addr: string }) => r.addr)).toEqual([
      '10.1.0.0/16',
      '172.16.0.0/12',
      '10.2.0.0/16',
      '10.3.0.0/16',
    ]);
    const viaGraphql = await gql(t.baseUrl, AthenaTestGlobalIpRulesDocument, {}, t.adminKey);
    const conn = viaGraphql.body.data?.athenaGlobalIpRules;
    if (conn?.__typename !== 'QueryAthenaGlobalIpRulesSuccess') throw new Error(JSON.stringify(viaGraphql.body));
    expect(conn.data.totalCount).toBe(4);

    const del = await athenaRest(t, 'DELETE', '/admin/ip-global-blacklist?addr=172.16.0.0/12');
    expect(del.body).toEqual({ data: { deleted: true } });
    expect((await athenaRest(t, 'DELETE', '/admin/ip-global-blacklist?addr=172.16.0.0/12')).body).toEqual({
      data: { deleted: false },
    });
    expect(
      (await athenaRest(t, 'DELETE', `/admin/ip-global-blacklist?addr=10.3.0.0/16&client_name=${t.client}`)).body,
    ).toEqual({ data: { deleted: true } });
    await athenaRest(t, 'DELETE', '/admin/ip-global-blacklist?addr=10.1.0.0/16');
    await athenaRest(t, 'DELETE', '/admin/ip-global-blacklist?addr=10.2.0.0/16&client_name=other');
    await athenaRest(t, 'DELETE', '/admin/ip-global-whitelist?addr=172.16.0.1');
    await athenaRest(t, 'DELETE', '/admin/ip-global-whitelist?addr=10.5.5.5');
    expect((await athenaRest(t, 'GET', '/admin/ip-global-whitelist')).body).toEqual({ data: { records: [] } });
    expect((await from(api_key, '10.1.2.3')).status).toBe(200);
    expect((await athenaRest(t, 'POST', '/admin/ip-global-whitelist', { body: { addr: 'nope' } })).status).toBe(400);
    expect((await athenaRest(t, 'DELETE', '/admin/ip-global-whitelist')).status).toBe(400);
  });
});

describe('seen addresses and virgin keys', () => {
  it('records seen addresses, latest first, with hit counts', async () => {
    const { api_key, record } = await createKey({ name: 'seen' });
    for (const ip of ['10.0.0.1', '10.0.0.1', '10.0.0.2']) expect((await from(api_key, ip)).status).toBe(200);
    const seen = await eventually(
      () => athenaRest(t, 'GET', `/admin/api-keys/${record.id}/ip-seen?limit=10`),
      (r) => r.body.data.records.reduce((n: number, s: { hit_count: number }) => n + s.hit_count, 0) === 3,
    );
    contract.expectValidResponse('GET', '/admin/api-keys/{id}/ip-seen', 200, seen.body);
    expect(seen.body.data.records.map((s: { addr: string; hit_count: number }) => [s.addr, s.hit_count])).toEqual([
      ['10.0.0.2', 1],
      ['10.0.0.1', 2],
    ]);
    const paged = await athenaRest(t, 'GET', `/admin/api-keys/${record.id}/ip-seen?limit=1&offset=1`);
    expect(paged.body.data.records.map((s: { addr: string }) => s.addr)).toEqual(['10.0.0.1']);
    expect((await athenaRest(t, 'GET', `/admin/api-keys/${record.id}/ip-seen?limit=abc`)).status).toBe(400);
  });

  it('a virgin key learns until max_whitelist_ips, locks in, refuses others; reset and promote', async () => {
    const { api_key, record } = await createKey({
      name: 'virgin',
      virgin_mode: true,
      virgin_until_n_requests: 0,
      max_whitelist_ips: 2,
      ip_whitelist: ['10.0.0.0/8'], // ignored in virgin mode
    });
    const initial = await policyOf(record.id);
    expect(initial).toMatchObject({ virgin_mode: true, virgin_resolved: false, max_whitelist_ips: 2, whitelist: [] });
    expect((await from(api_key, '192.0.2.1')).status).toBe(200);
    expect((await from(api_key, '192.0.2.2')).status).toBe(200);
    const locked = await eventually(
      () => policyOf(record.id),
      (p) => p.virgin_resolved === true,
    );
    expect(locked.virgin_request_count).toBe(2);
    expect(locked.whitelist.map((r: { addr: string }) => r.addr).sort()).toEqual(['192.0.2.1/32', '192.0.2.2/32']);
    expect((await from(api_key, '192.0.2.3')).status).toBe(403);
    expect((await from(api_key, '192.0.2.1')).status).toBe(200);
    const seen = await athenaRest(t, 'GET', `/admin/api-keys/${record.id}/ip-seen`);
    expect(seen.body.data.records.every((s: { locked_in: boolean }) => s.locked_in)).toBe(true);

    // GraphQL sees the same policy on the key's node.
    const nodeId = Buffer.from(`AthenaApiKey:${record.id}`).toString('base64');
    const node = await gql(t.baseUrl, AthenaTestKeyNodeDocument, { id: nodeId }, t.adminKey);
    expect(node.body.data?.node).toMatchObject({
      __typename: 'AthenaApiKey',
      ipPolicy: { virginMode: true },
      ipRules: { totalCount: 2 },
      seenIps: { totalCount: 2 },
    });

    const reset = await athenaRest(t, 'POST', `/admin/api-keys/${record.id}/virgin/reset`, {
      body: { clear_seen: true },
    });
    expect(reset.status, reset.text).toBe(200);
    expect(reset.body.data.policy).toMatchObject({ virgin_resolved: false, virgin_request_count: 0 });
    expect((await athenaRest(t, 'GET', `/admin/api-keys/${record.id}/ip-seen`)).body.data.records).toEqual([]);
    // Learning again: the whitelist is not enforced until the key locks in again.
    expect((await from(api_key, '192.0.2.3')).status).toBe(200);
    await eventually(
      () => athenaRest(t, 'GET', `/admin/api-keys/${record.id}/ip-seen`),
      (r) => r.body.data.records.length === 1,
    );
    const promoted = await athenaRest(t, 'POST', `/admin/api-keys/${record.id}/virgin/promote`);
    expect(promoted.status).toBe(200);
    expect(promoted.body.data.policy.virgin_resolved).toBe(true);
    expect(promoted.body.data.policy.whitelist.map((r: { addr: string }) => r.addr)).toContain('192.0.2.1/32');
    expect((await from(api_key, '192.0.2.4')).status).toBe(403);
  });

  it('a virgin key with a request counter locks in after N successful uses; refusals do not count', async () => {
    const { api_key, record } = await createKey({ name: 'counted', virgin_mode: true, virgin_until_n_requests: 3 });
    await athenaRest(t, 'POST', '/admin/ip-global-blacklist', { body: { addr: '198.51.100.99' } });
    expect((await from(api_key, '198.51.100.99')).status).toBe(403);
    for (const ip of ['198.51.100.1', '198.51.100.1', '198.51.100.1'])
      expect((await from(api_key, ip)).status).toBe(200);
    const locked = await eventually(
      () => policyOf(record.id),
      (p) => p.virgin_resolved === true,
    );
    expect(locked.virgin_request_count).toBe(3);
    expect(locked.whitelist.map((r: { addr: string }) => r.addr)).toEqual(['198.51.100.1/32']);
    expect((await from(api_key, '198.51.100.2')).status).toBe(403);
    await athenaRest(t, 'DELETE', '/admin/ip-global-blacklist?addr=198.51.100.99');
  });
});
