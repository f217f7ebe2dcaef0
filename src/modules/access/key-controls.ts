import { BlockList, isIP } from 'node:net';
import type { CredentialRefusal } from '../../core/auth/authenticator.ts';
import type { Product } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { InvalidApiKeyInputError } from './access.errors.ts';
import type { RateLimiter } from './rate-limit.ts';

/** The controls of one API key (docs/access.md). Null: no such limit. */
export interface KeyControls {
  requestsPerMinute: number | null;
  monthlyQuota: number | null;
  /** Exact addresses or CIDR blocks; empty = any address. */
  allowedIpList: string[];
  /** Days without use after which the key is refused. */
  inactiveTtlDays: number | null;
}

export interface KeyControlsInput {
  /** 1..100000; absent: unchanged (or the product's default). */
  requestsPerMinute?: number | null;
  /** A positive integer, or null for none; absent: unchanged. */
  monthlyQuota?: number | null;
  allowedIpList?: string[] | null;
  /** 1..3650, or null for none; absent: unchanged. */
  inactiveTtlDays?: number | null;
}

const none: KeyControls = { requestsPerMinute: null, monthlyQuota: null, allowedIpList: [], inactiveTtlDays: null };

/** Controls of a key without a row, per product (Polykomos' contract: 60 requests per minute). */
export function defaultKeyControls(product: Product): KeyControls {
  return product === 'polykomos' ? { ...none, requestsPerMinute: 60 } : none;
}

/** A refusal with the GraphQL code it maps to (REST keeps `status` and `code`). */
export type KeyRefusal = CredentialRefusal & { graphqlCode: 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'FORBIDDEN' };

/**
 * Per-key controls, applied by the API-key verifier, so every door (GraphQL over HTTP and WebSocket, each REST
 * surface) refuses the same key the same way: IP allowlist, inactivity expiry (measured from the previous use),
 * requests per minute (shared through Redis when configured) and the monthly quota (a counter in the database).
 */
export class KeyControlService {
  constructor(private readonly deps: { prisma: PrismaClient; limiter: RateLimiter }) {}

  get limiterKind(): 'memory' | 'redis' {
    return this.deps.limiter.kind;
  }

  /** The key's controls: its row, else its product's defaults. */
  async get(apiKeyId: string, product: Product): Promise<KeyControls> {
    const row = await this.deps.prisma.apiKeyControl.findUnique({ where: { apiKeyId } });
    if (!row) return defaultKeyControls(product);
    return {
      requestsPerMinute: row.requestsPerMinute,
      monthlyQuota: row.monthlyQuota,
      allowedIpList: row.allowedIpList,
      inactiveTtlDays: row.inactiveTtlDays,
    };
  }

  /** Validates and stores a key's controls (the caller checked that it may). Absent fields keep their value. */
  async set(apiKeyId: string, product: Product, input: KeyControlsInput): Promise<KeyControls> {
    const bad = (m: string) => new InvalidApiKeyInputError(m);
    const rpm = input.requestsPerMinute;
    if (rpm != null && !(Number.isInteger(rpm) && rpm >= 1 && rpm <= 100_000))
      throw bad('requestsPerMinute: 1..100000');
    const quota = input.monthlyQuota;
    if (quota != null && !(Number.isInteger(quota) && quota >= 1))
      throw bad('monthlyQuota: a positive integer or null');
    const ttl = input.inactiveTtlDays;
    if (ttl != null && !(Number.isInteger(ttl) && ttl >= 1 && ttl <= 3650))
      throw bad('inactiveTtlDays: 1..3650 or null');
    if ((input.allowedIpList?.length ?? 0) > 100) throw bad('allowedIpList: at most 100 entries');
    for (const entry of input.allowedIpList ?? []) {
      if (!validIpEntry(entry)) throw bad(`allowedIpList: "${entry}" is not an IP address or CIDR block`);
    }
    const data = {
      ...(rpm != null ? { requestsPerMinute: rpm } : {}),
      ...(input.monthlyQuota !== undefined ? { monthlyQuota: quota } : {}),
      ...(input.allowedIpList != null ? { allowedIpList: input.allowedIpList } : {}),
      ...(input.inactiveTtlDays !== undefined ? { inactiveTtlDays: ttl } : {}),
    };
    const defaults = defaultKeyControls(product);
    await this.deps.prisma.apiKeyControl.upsert({
      where: { apiKeyId },
      create: {
        apiKeyId,
        requestsPerMinute: defaults.requestsPerMinute,
        monthlyQuota: defaults.monthlyQuota,
        allowedIpList: defaults.allowedIpList,
        inactiveTtlDays: defaults.inactiveTtlDays,
        ...data,
      },
      update: data,
    });
    return this.get(apiKeyId, product);
  }

  /**
   * Applies a resolved key's controls to one request (or one WebSocket connection). Returns the refusal, if any;
   * a request that passes counts against the rate and the monthly quota.
   */
  async check(
    key: { id: string; product: Product },
    previousUse: Date,
    remoteAddress: string | undefined,
    now = new Date(),
    /** The controls when the caller read them with the key (one round trip); else they are read here. */
    known?: KeyControls,
  ): Promise<KeyRefusal | undefined> {
    const controls = known ?? (await this.get(key.id, key.product));
    if (controls.allowedIpList.length > 0 && !ipAllowed(controls.allowedIpList, remoteAddress)) {
      return {
        status: 403,
        code: 'ip_not_allowed',
        message: 'Requests from this IP address are not allowed',
        graphqlCode: 'FORBIDDEN',
      };
    }
    if (
      controls.inactiveTtlDays !== null &&
      now.getTime() - previousUse.getTime() > controls.inactiveTtlDays * 86_400_000
    ) {
      return {
        status: 403,
        code: 'api_key_expired',
        message: `API key expired after ${controls.inactiveTtlDays} days without use`,
        graphqlCode: 'FORBIDDEN',
      };
    }
    if (controls.requestsPerMinute !== null) {
      const wait = await this.deps.limiter.take(key.id, controls.requestsPerMinute, now.getTime());
      if (wait > 0) {
        return {
          status: 429,
          code: 'rate_limited',
          message: 'Rate limit exceeded',
          retryAfter: wait,
          graphqlCode: 'RATE_LIMITED',
        };
      }
    }
    if (controls.monthlyQuota !== null) {
      const month = now.toISOString().slice(0, 7);
      const counter = await this.deps.prisma.apiKeyUsageCounter.upsert({
        where: { apiKeyId_month: { apiKeyId: key.id, month } },
        create: { apiKeyId: key.id, month, count: 1 },
        update: { count: { increment: 1 } },
        select: { count: true },
      });
      if (counter.count > controls.monthlyQuota) {
        const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
        return {
          status: 429,
          code: 'monthly_quota_exceeded',
          message: `Monthly quota of ${controls.monthlyQuota} requests exceeded`,
          retryAfter: Math.max(1, Math.ceil((next - now.getTime()) / 1000)),
          graphqlCode: 'QUOTA_EXCEEDED',
        };
      }
    }
    return undefined;
  }

  close(): Promise<void> {
    return this.deps.limiter.close();
  }
}

function validIpEntry(entry: string): boolean {
  const [base, bits, extra] = entry.split('/');
  const family = isIP(base ?? '');
  if (family === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/** Exact addresses and CIDR blocks (IPv4 and IPv6; IPv4-mapped IPv6 peers compare as IPv4). */
export function ipAllowed(list: readonly string[], address: string | undefined): boolean {
  if (!address) return false;
  const ip = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(ip);
  if (family === 0) return false;
  const block = new BlockList();
  for (const entry of list) {
    const [base, bits] = entry.split('/');
    const f = isIP(base ?? '');
    if (f === 0) continue;
    const type = f === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) block.addAddress(base as string, type);
    else if (/^\d+$/.test(bits) && Number(bits) <= (f === 4 ? 32 : 128))
      block.addSubnet(base as string, Number(bits), type);
  }
  return block.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
