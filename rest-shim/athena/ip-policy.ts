import type { RestRequest } from '../engine/types.ts';
import {
  AthenaAddApiKeyIpRulesDocument,
  AthenaApiKeyIpPolicyDocument,
  AthenaApiKeySeenIpsDocument,
  AthenaDeleteGlobalIpRuleDocument,
  type AthenaGlobalIpRuleFieldsFragment,
  AthenaGlobalIpRulesDocument,
  type AthenaIpPolicyFieldsFragment,
  type AthenaIpRuleFieldsFragment,
  type AthenaIpRuleKind,
  AthenaPromoteVirginApiKeyDocument,
  AthenaRemoveApiKeyIpRulesDocument,
  AthenaResetVirginApiKeyDocument,
  AthenaUpsertGlobalIpRuleDocument,
} from '../generated/graphql.ts';
import { answer, iso } from './answer.ts';
import { bodyOf, bool, nullableStr, queryInt, required, str, strings } from './body.ts';
import { graphql, group } from './policy.ts';

/*
 * G4 — per-key IP policy, seen addresses, virgin keys and the global whitelist/blacklist (docs/athena.md, Access
 * control (G4)). The contract wraps `ip-policy` as `{data: ApiKeyIpPolicyResponse}` and `ip-seen` as
 * `{data: {records}}` without status/message; the operations it leaves without a body answer in the same `{data}`
 * shape: per-key changes the resulting policy, global lists `{data: {records}}`, upserts `{data: {record}}`,
 * deletes `{data: {deleted}}`.
 */

const admin = { admin: true } as const;
const keyId = (req: RestRequest) => req.params.id ?? '';

function ruleRecord(r: AthenaIpRuleFieldsFragment) {
  return { id: r.uuid, addr: r.addr, label: r.label, created_at: iso(r.createdAt) };
}

/** `ApiKeyIpPolicyResponse` (`api_key_id` is the contract's int64 surrogate: Atrium's ids are uuids, see docs). */
function policyResponse(id: string, p: AthenaIpPolicyFieldsFragment) {
  return {
    policy: {
      api_key_uuid: id,
      virgin_mode: p.virginMode,
      virgin_resolved: p.virginResolved,
      virgin_resolved_at: iso(p.virginResolvedAt),
      virgin_until_n_requests: p.virginUntilNRequests,
      virgin_request_count: p.virginRequestCount,
      max_whitelist_ips: p.maxWhitelistIps,
      whitelist: p.whitelist.map(ruleRecord),
      blacklist: p.blacklist.map(ruleRecord),
    },
  };
}

function globalRecord(r: AthenaGlobalIpRuleFieldsFragment) {
  return {
    id: r.uuid,
    addr: r.addr,
    client_name: r.clientName,
    label: r.label,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

const get_admin_api_keys_by_id_ip_policy = graphql({
  policy: admin,
  document: AthenaApiKeyIpPolicyDocument,
  variables: (req) => ({ id: keyId(req) }),
  respond: ({ athenaApiKey: r }, req) =>
    answer(r, req, (k) => ({ status: 200, body: { data: policyResponse(keyId(req), k.data.ipPolicy) } })),
});

function entries(kind: AthenaIpRuleKind, add: boolean) {
  if (add) {
    return graphql({
      policy: admin,
      document: AthenaAddApiKeyIpRulesDocument,
      variables: (req) => {
        const b = bodyOf(req);
        return { id: keyId(req), kind, addrs: required(strings(b, 'addrs'), 'addrs'), label: nullableStr(b, 'label') };
      },
      respond: ({ addAthenaApiKeyIpRules: r }, req) =>
        answer(r, req, (p) => ({ status: 200, body: { data: policyResponse(keyId(req), p.data) } })),
    });
  }
  return graphql({
    policy: admin,
    document: AthenaRemoveApiKeyIpRulesDocument,
    variables: (req) => ({ id: keyId(req), kind, addrs: required(strings(bodyOf(req), 'addrs'), 'addrs') }),
    respond: ({ removeAthenaApiKeyIpRules: r }, req) =>
      answer(r, req, (p) => ({ status: 200, body: { data: policyResponse(keyId(req), p.data) } })),
  });
}

const get_admin_api_keys_by_id_ip_seen = graphql({
  policy: admin,
  document: AthenaApiKeySeenIpsDocument,
  variables: (req) => ({
    id: keyId(req),
    first: queryInt(req, 'limit', 100, 1000),
    offset: queryInt(req, 'offset', 0, 1_000_000),
  }),
  respond: ({ athenaApiKey: r }, req) =>
    answer(r, req, (k) => ({
      status: 200,
      body: {
        data: {
          records: k.data.seenIps.edges.map(({ node: s }) => ({
            id: s.uuid,
            addr: s.addr,
            first_seen_at: iso(s.firstSeenAt),
            last_seen_at: iso(s.lastSeenAt),
            hit_count: Number(s.hitCount),
            locked_in: s.lockedIn,
          })),
          total: k.data.seenIps.totalCount,
        },
      },
    })),
});

const post_admin_api_keys_by_id_virgin_promote = graphql({
  policy: admin,
  document: AthenaPromoteVirginApiKeyDocument,
  variables: (req) => ({ id: keyId(req) }),
  respond: ({ promoteAthenaVirginApiKey: r }, req) =>
    answer(r, req, (p) => ({ status: 200, body: { data: policyResponse(keyId(req), p.data) } })),
});

const post_admin_api_keys_by_id_virgin_reset = graphql({
  policy: admin,
  document: AthenaResetVirginApiKeyDocument,
  variables: (req) => ({ id: keyId(req), clearSeen: bool(bodyOf(req), 'clear_seen') ?? false }),
  respond: ({ resetAthenaVirginApiKey: r }, req) =>
    answer(r, req, (p) => ({ status: 200, body: { data: policyResponse(keyId(req), p.data) } })),
});

function globalList(kind: AthenaIpRuleKind) {
  return graphql({
    policy: admin,
    document: AthenaGlobalIpRulesDocument,
    variables: () => ({ kind }),
    respond: ({ athenaGlobalIpRules: r }, req) =>
      answer(r, req, (page) => ({
        status: 200,
        body: { data: { records: page.data.edges.map((e) => globalRecord(e.node)) } },
      })),
  });
}

function globalUpsert(kind: AthenaIpRuleKind) {
  return graphql({
    policy: admin,
    document: AthenaUpsertGlobalIpRuleDocument,
    variables: (req) => {
      const b = bodyOf(req);
      return {
        kind,
        addr: required(str(b, 'addr'), 'addr'),
        clientName: nullableStr(b, 'client_name'),
        label: nullableStr(b, 'label'),
      };
    },
    respond: ({ upsertAthenaGlobalIpRule: r }, req) =>
      answer(r, req, (c) => ({ status: 200, body: { data: { record: globalRecord(c.data) } } })),
  });
}

const queryString = (req: RestRequest, name: string) => {
  const raw = req.query[name];
  return Array.isArray(raw) ? raw[0] : raw;
};

function globalDelete(kind: AthenaIpRuleKind) {
  return graphql({
    policy: admin,
    document: AthenaDeleteGlobalIpRuleDocument,
    variables: (req) => ({
      kind,
      addr: required(queryString(req, 'addr'), 'addr'),
      clientName: queryString(req, 'client_name') ?? null,
    }),
    respond: ({ deleteAthenaGlobalIpRule: r }, req) =>
      answer(r, req, (c) => ({ status: 200, body: { data: { deleted: c.data } } })),
  });
}

export const athenaIpPolicyOperations = group('ip-policy', 'test/athena/ip-policy.test.ts', {
  get_admin_api_keys_by_id_ip_policy,
  post_admin_api_keys_by_id_ip_whitelist: entries('whitelist', true),
  delete_admin_api_keys_by_id_ip_whitelist: entries('whitelist', false),
  post_admin_api_keys_by_id_ip_blacklist: entries('blacklist', true),
  delete_admin_api_keys_by_id_ip_blacklist: entries('blacklist', false),
  get_admin_api_keys_by_id_ip_seen,
  post_admin_api_keys_by_id_virgin_promote,
  post_admin_api_keys_by_id_virgin_reset,
  get_admin_ip_global_whitelist: globalList('whitelist'),
  post_admin_ip_global_whitelist: globalUpsert('whitelist'),
  delete_admin_ip_global_whitelist: globalDelete('whitelist'),
  get_admin_ip_global_blacklist: globalList('blacklist'),
  post_admin_ip_global_blacklist: globalUpsert('blacklist'),
  delete_admin_ip_global_blacklist: globalDelete('blacklist'),
});
