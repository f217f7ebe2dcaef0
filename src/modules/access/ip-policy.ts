import type { ApiKeyIpRule, ApiKeyIpSeen, GlobalIpRule } from '../../../prisma/generated/client/client.ts';
import type { PrismaClient, Tx } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import type { AppPubSub } from '../../core/pubsub.ts';
import { InvalidApiKeyInputError } from './access.errors.ts';
import { CidrSet, normaliseCidr } from './ip-address.ts';

/*
 * IP policy of API keys (docs/access.md, IP policy; Athena's notes §1.5): per-key whitelist and blacklist, virgin
 * keys that learn their whitelist from the addresses they are used from, and global rules (optionally scoped to the
 * client a key is bound to). Decided where a key is verified, so every door refuses alike. Order:
 *   1. a global blacklist rule in scope → deny (over everything);
 *   2. a global whitelist rule in scope → allow (per-key rules skipped);
 *   3. the per-key blacklist → deny;
 *   4. a non-empty per-key whitelist the address is not in → deny (not while a virgin key is still learning);
 *   5. allow. Successful uses are recorded off the response path (seen rows, virgin counters, lock-in).
 */

export type IpRuleKindName = 'whitelist' | 'blacklist';

/** What the verifier reads with a key (one query) for the policy. */
export interface KeyIpState {
  id: string;
  /** The client the key is bound to (`client:<name>` scope), for client-scoped global rules. */
  clientName: string | undefined;
  virginMode: boolean;
  virginResolved: boolean;
  whitelist: string[];
  blacklist: string[];
}

export type IpDecision = { allowed: true; learning: boolean } | { allowed: false; reason: string };

interface GlobalSnapshot {
  at: number;
  rules: Map<string, { white: CidrSet; black: CidrSet }>;
}

export interface IpPolicyView {
  apiKeyId: string;
  virginMode: boolean;
  virginResolved: boolean;
  virginResolvedAt: Date | null;
  virginUntilNRequests: number;
  virginRequestCount: number;
  maxWhitelistIps: number;
  whitelist: ApiKeyIpRule[];
  blacklist: ApiKeyIpRule[];
}

export interface VirginInput {
  virginMode?: boolean;
  virginUntilNRequests?: number;
  maxWhitelistIps?: number;
  whitelist?: string[];
  blacklist?: string[];
}

const globalMemoryMs = 2_000;
const flushEveryMs = 200;
const maxEntries = 1000;

export class IpPolicyService {
  private global: GlobalSnapshot | undefined;
  private loading: Promise<GlobalSnapshot> | undefined;
  /** Uses not yet written: key → address → hits and times. */
  private pending = new Map<string, { learning: boolean; hits: Map<string, { n: number; first: Date; last: Date }> }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly stopWatch: () => void;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      pubsub: AppPubSub;
      logger: Logger;
      /** Called with a key whose policy changed by itself (lock-in), so cached copies are dropped. */
      changed: (apiKeyId: string) => void;
    },
  ) {
    const events = deps.pubsub.subscribe('access.ipRulesChanged')[Symbol.asyncIterator]();
    let stopped = false;
    this.stopWatch = () => {
      stopped = true;
      void events.return?.();
    };
    void (async () => {
      while (!stopped) {
        const next = await events.next();
        if (next.done) return;
        this.global = undefined;
      }
    })().catch((err: unknown) => deps.logger.warn({ err }, 'ip rule watch ended'));
  }

  /** Normalised CIDRs, or InvalidApiKeyInputError naming the first bad entry. */
  static normaliseAll(addrs: readonly string[], field = 'addrs'): string[] {
    if (addrs.length > maxEntries) throw new InvalidApiKeyInputError(`${field}: at most ${maxEntries} entries`);
    return [
      ...new Set(
        addrs.map((a) => {
          const c = normaliseCidr(a);
          if (c === undefined)
            throw new InvalidApiKeyInputError(
              `${field}: "${String(a).slice(0, 100)}" is not an IP address or CIDR block`,
            );
          return c;
        }),
      ),
    ];
  }

  private async globals(): Promise<GlobalSnapshot> {
    const now = Date.now();
    if (this.global && now - this.global.at < globalMemoryMs) return this.global;
    this.loading ??= (async () => {
      try {
        const rows = await this.deps.prisma.globalIpRule.findMany({
          select: { kind: true, addr: true, clientName: true },
        });
        const byClient = new Map<string, { white: string[]; black: string[] }>();
        for (const r of rows) {
          const entry = byClient.get(r.clientName) ?? { white: [], black: [] };
          (r.kind === 'whitelist' ? entry.white : entry.black).push(r.addr);
          byClient.set(r.clientName, entry);
        }
        const rules = new Map(
          [...byClient].map(([c, e]) => [c, { white: new CidrSet(e.white), black: new CidrSet(e.black) }]),
        );
        this.global = { at: Date.now(), rules };
        return this.global;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /** The decision for one use of a key from `address` (undefined address: only the lists that need one deny). */
  async decide(key: KeyIpState, address: string | undefined): Promise<IpDecision> {
    const { rules } = await this.globals();
    const scopes = [rules.get(''), key.clientName !== undefined ? rules.get(key.clientName) : undefined];
    if (scopes.some((s) => s?.black.has(address))) {
      return { allowed: false, reason: 'This IP address is on the global blacklist' };
    }
    const learning = key.virginMode && !key.virginResolved;
    if (scopes.some((s) => s?.white.has(address))) return { allowed: true, learning };
    if (key.blacklist.length > 0 && new CidrSet(key.blacklist).has(address)) {
      return { allowed: false, reason: 'This IP address is on the API key’s blacklist' };
    }
    if (!learning && key.whitelist.length > 0 && !new CidrSet(key.whitelist).has(address)) {
      return { allowed: false, reason: 'This IP address is not on the API key’s whitelist' };
    }
    return { allowed: true, learning };
  }

  /** Records a successful use (coalesced, written within ~200 ms, never on the response path). */
  observe(apiKeyId: string, address: string | undefined, learning: boolean): void {
    if (address === undefined) return;
    const now = new Date();
    const entry = this.pending.get(apiKeyId) ?? { learning, hits: new Map() };
    entry.learning ||= learning;
    const hit = entry.hits.get(address);
    if (hit) {
      hit.n++;
      hit.last = now;
    } else if (entry.hits.size < maxEntries) entry.hits.set(address, { n: 1, first: now, last: now });
    this.pending.set(apiKeyId, entry);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, flushEveryMs);
    this.timer.unref?.();
  }

  /** Writes what this instance has collected so far (admin reads and resets see every earlier use). */
  private async settle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing = this.flushing.then(() => this.flush());
    await this.flushing;
  }

  /** Writes what `observe` collected; lock-in of virgin keys happens here. */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    for (const [apiKeyId, { learning, hits }] of batch) {
      try {
        await this.write(apiKeyId, learning, hits);
      } catch (err) {
        this.deps.logger.warn({ err, apiKeyId }, 'could not record key IP use');
      }
    }
  }

  private async write(
    apiKeyId: string,
    learning: boolean,
    hits: Map<string, { n: number; first: Date; last: Date }>,
  ): Promise<void> {
    const { prisma } = this.deps;
    let total = 0;
    for (const [addr, h] of hits) {
      total += h.n;
      await prisma.$executeRaw`
        INSERT INTO api_key_ip_seen (id, api_key_id, addr, first_seen_at, last_seen_at, hit_count, locked_in)
        VALUES (gen_random_uuid(), ${apiKeyId}::uuid, ${addr}, ${h.first}, ${h.last}, ${h.n}, false)
        ON CONFLICT (api_key_id, addr) DO UPDATE
          SET hit_count = api_key_ip_seen.hit_count + EXCLUDED.hit_count,
              last_seen_at = GREATEST(api_key_ip_seen.last_seen_at, EXCLUDED.last_seen_at)`;
    }
    if (!learning) return;
    const locked = await prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ count: number; until: number; max: number }[]>`
        UPDATE api_key_ip_policies SET virgin_request_count = virgin_request_count + ${total}, updated_at = now()
         WHERE api_key_id = ${apiKeyId}::uuid AND virgin_mode AND NOT virgin_resolved
        RETURNING virgin_request_count AS count, virgin_until_n_requests AS until, max_whitelist_ips AS max`;
      const p = rows[0];
      if (!p) return false;
      const distinct = p.max > 0 ? await tx.apiKeyIpSeen.count({ where: { apiKeyId } }) : 0;
      const reached = (p.until > 0 && p.count >= p.until) || (p.max > 0 && distinct >= p.max);
      if (!reached) return false;
      await promoteIn(tx, apiKeyId, p.max);
      return true;
    });
    if (locked) this.deps.changed(apiKeyId);
  }

  // ---- administration (the caller checked that the principal may manage the key)

  async createPolicy(tx: Tx, apiKeyId: string, input: VirginInput): Promise<void> {
    const until = input.virginUntilNRequests ?? 0;
    const max = input.maxWhitelistIps ?? 0;
    for (const [field, v] of [
      ['virgin_until_n_requests', until],
      ['max_whitelist_ips', max],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 1_000_000) {
        throw new InvalidApiKeyInputError(`${field} must be an integer from 0 to 1000000`);
      }
    }
    const virgin = input.virginMode === true;
    const whitelist = virgin ? [] : IpPolicyService.normaliseAll(input.whitelist ?? [], 'ip_whitelist');
    const blacklist = virgin ? [] : IpPolicyService.normaliseAll(input.blacklist ?? [], 'ip_blacklist');
    if (max > 0 && whitelist.length > max) {
      throw new InvalidApiKeyInputError(`ip_whitelist has more than max_whitelist_ips (${max}) entries`);
    }
    await tx.apiKeyIpPolicy.create({
      data: { apiKeyId, virginMode: virgin, virginUntilNRequests: until, maxWhitelistIps: max },
    });
    const rows = [
      ...whitelist.map((addr) => ({ apiKeyId, kind: 'whitelist' as const, addr })),
      ...blacklist.map((addr) => ({ apiKeyId, kind: 'blacklist' as const, addr })),
    ];
    if (rows.length > 0) await tx.apiKeyIpRule.createMany({ data: rows });
  }

  async policy(apiKeyId: string): Promise<IpPolicyView> {
    await this.settle();
    const { prisma } = this.deps;
    const [p, rules] = await Promise.all([
      prisma.apiKeyIpPolicy.findUnique({ where: { apiKeyId } }),
      prisma.apiKeyIpRule.findMany({ where: { apiKeyId }, orderBy: [{ createdAt: 'asc' }, { addr: 'asc' }] }),
    ]);
    return {
      apiKeyId,
      virginMode: p?.virginMode ?? false,
      virginResolved: p?.virginResolved ?? false,
      virginResolvedAt: p?.virginResolvedAt ?? null,
      virginUntilNRequests: p?.virginUntilNRequests ?? 0,
      virginRequestCount: p?.virginRequestCount ?? 0,
      maxWhitelistIps: p?.maxWhitelistIps ?? 0,
      whitelist: rules.filter((r) => r.kind === 'whitelist'),
      blacklist: rules.filter((r) => r.kind === 'blacklist'),
    };
  }

  /** Adds entries (idempotent: an existing entry gets the new label). The whitelist respects max_whitelist_ips. */
  async addRules(apiKeyId: string, kind: IpRuleKindName, addrs: string[], label: string | null): Promise<void> {
    checkLabel(label);
    const cidrs = IpPolicyService.normaliseAll(addrs);
    if (cidrs.length === 0) throw new InvalidApiKeyInputError('addrs must not be empty');
    await this.deps.prisma.$transaction(async (tx) => {
      if (kind === 'whitelist') {
        const max = (await tx.apiKeyIpPolicy.findUnique({ where: { apiKeyId } }))?.maxWhitelistIps ?? 0;
        if (max > 0) {
          const existing = await tx.apiKeyIpRule.findMany({ where: { apiKeyId, kind }, select: { addr: true } });
          const after = new Set([...existing.map((r) => r.addr), ...cidrs]);
          if (after.size > max) {
            throw new InvalidApiKeyInputError(`the whitelist would exceed max_whitelist_ips (${max})`);
          }
        }
      }
      for (const addr of cidrs) {
        await tx.apiKeyIpRule.upsert({
          where: { apiKeyId_kind_addr: { apiKeyId, kind, addr } },
          create: { apiKeyId, kind, addr, label },
          update: { label },
        });
      }
    });
  }

  /** Removes entries; absent ones are a no-op. */
  async removeRules(apiKeyId: string, kind: IpRuleKindName, addrs: string[]): Promise<void> {
    const cidrs = IpPolicyService.normaliseAll(addrs);
    await this.deps.prisma.apiKeyIpRule.deleteMany({ where: { apiKeyId, kind, addr: { in: cidrs } } });
  }

  async seen(apiKeyId: string, limit: number, offset: number): Promise<{ records: ApiKeyIpSeen[]; total: number }> {
    await this.settle();
    const { prisma } = this.deps;
    const [records, total] = await Promise.all([
      prisma.apiKeyIpSeen.findMany({
        where: { apiKeyId },
        orderBy: [{ lastSeenAt: 'desc' }, { addr: 'asc' }],
        take: limit,
        skip: offset,
      }),
      prisma.apiKeyIpSeen.count({ where: { apiKeyId } }),
    ]);
    return { records, total };
  }

  /** Copies seen addresses into the whitelist (earliest first, up to max_whitelist_ips) and resolves the key. */
  async promote(apiKeyId: string): Promise<void> {
    await this.settle();
    await this.deps.prisma.$transaction(async (tx) => {
      const p = await tx.apiKeyIpPolicy.upsert({ where: { apiKeyId }, create: { apiKeyId }, update: {} });
      await promoteIn(tx, apiKeyId, p.maxWhitelistIps);
    });
  }

  /** Back to learning: counters zeroed, unresolved; `clearSeen` deletes the seen rows. */
  async reset(apiKeyId: string, clearSeen: boolean): Promise<void> {
    await this.settle();
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.apiKeyIpPolicy.upsert({
        where: { apiKeyId },
        create: { apiKeyId },
        update: { virginRequestCount: 0, virginResolved: false, virginResolvedAt: null },
      });
      if (clearSeen) await tx.apiKeyIpSeen.deleteMany({ where: { apiKeyId } });
      else await tx.apiKeyIpSeen.updateMany({ where: { apiKeyId }, data: { lockedIn: false } });
    });
  }

  listGlobal(kind: IpRuleKindName): Promise<GlobalIpRule[]> {
    return this.deps.prisma.globalIpRule.findMany({
      where: { kind },
      orderBy: [{ createdAt: 'asc' }, { addr: 'asc' }],
    });
  }

  globalById(id: string): Promise<GlobalIpRule | null> {
    return this.deps.prisma.globalIpRule.findUnique({ where: { id } });
  }

  async upsertGlobal(
    kind: IpRuleKindName,
    addr: string,
    clientName: string | null,
    label: string | null,
  ): Promise<GlobalIpRule> {
    checkLabel(label);
    const [cidr] = IpPolicyService.normaliseAll([addr], 'addr') as [string];
    const client = clientName ?? '';
    const rule = await this.deps.prisma.globalIpRule.upsert({
      where: { kind_addr_clientName: { kind, addr: cidr, clientName: client } },
      create: { kind, addr: cidr, clientName: client, label },
      update: { label },
    });
    this.globalChanged();
    return rule;
  }

  /** Deletes a rule; answers whether one existed (absent is not an error). */
  async deleteGlobal(kind: IpRuleKindName, addr: string, clientName: string | null): Promise<boolean> {
    const [cidr] = IpPolicyService.normaliseAll([addr], 'addr') as [string];
    const { count } = await this.deps.prisma.globalIpRule.deleteMany({
      where: { kind, addr: cidr, clientName: clientName ?? '' },
    });
    this.globalChanged();
    return count > 0;
  }

  private globalChanged(): void {
    this.global = undefined;
    this.deps.pubsub.publish('access.ipRulesChanged', {});
  }

  async close(): Promise<void> {
    this.stopWatch();
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.flushing;
    await this.flush();
  }
}

function checkLabel(label: string | null): void {
  if (label !== null && label.length > 200) throw new InvalidApiKeyInputError('label must be at most 200 characters');
}

async function promoteIn(tx: Tx, apiKeyId: string, max: number): Promise<void> {
  const seen = await tx.apiKeyIpSeen.findMany({
    where: { apiKeyId },
    orderBy: [{ firstSeenAt: 'asc' }, { addr: 'asc' }],
  });
  const existing = new Set(
    (await tx.apiKeyIpRule.findMany({ where: { apiKeyId, kind: 'whitelist' }, select: { addr: true } })).map(
      (r) => r.addr,
    ),
  );
  const picked: string[] = [];
  for (const s of seen) {
    const cidr = normaliseCidr(s.addr);
    if (cidr === undefined) continue;
    if (max > 0 && existing.size >= max && !existing.has(cidr)) break;
    if (!existing.has(cidr)) {
      await tx.apiKeyIpRule.create({ data: { apiKeyId, kind: 'whitelist', addr: cidr, label: 'virgin lock-in' } });
      existing.add(cidr);
    }
    picked.push(s.id);
  }
  if (picked.length > 0) await tx.apiKeyIpSeen.updateMany({ where: { id: { in: picked } }, data: { lockedIn: true } });
  await tx.apiKeyIpPolicy.update({
    where: { apiKeyId },
    data: { virginResolved: true, virginResolvedAt: new Date() },
  });
}
