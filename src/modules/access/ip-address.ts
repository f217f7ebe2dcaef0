import { BlockList, isIP } from 'node:net';

/*
 * IP addresses and CIDR blocks as the IP policy stores them: one canonical text per block (host bits cleared, a bare
 * address as /32 or /128, IPv6 in RFC 5952 form, IPv4-mapped IPv6 as IPv4), so that "add" is idempotent on equal
 * blocks however they were spelled. Pure functions; unit tests in ip-address.test.ts.
 */

/** An address without a zone, IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as its IPv4 form; undefined if not an address. */
export function plainAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const a = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped && isIP(mapped[1] as string) === 4) return mapped[1];
  return isIP(a) === 0 ? undefined : a;
}

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
}

function v6ToBig(ip: string): bigint {
  let text = ip.toLowerCase();
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = v4ToBig(tail[1] as string);
    text = `${text.slice(0, -(tail[1] as string).length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function bigToV6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: the longest run (>= 2) of zero groups becomes `::`, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * The canonical CIDR of an address or block (`10.1.2.3` → `10.1.2.3/32`, `10.1.2.3/8` → `10.0.0.0/8`,
 * `2001:DB8::1` → `2001:db8::1/128`); undefined when it is neither.
 */
export function normaliseCidr(entry: string): string | undefined {
  if (typeof entry !== 'string' || entry.length > 100) return undefined;
  const parts = entry.trim().split('/');
  if (parts.length > 2) return undefined;
  const base = plainAddress(parts[0]);
  if (base === undefined) return undefined;
  const family = isIP(base);
  const width = family === 4 ? 32 : 128;
  let bits = width;
  if (parts.length === 2) {
    if (!/^\d{1,3}$/.test(parts[1] as string)) return undefined;
    bits = Number(parts[1]);
    // `::ffff:10.0.0.0/104` names an IPv4 block: its prefix counts the 96 mapped bits.
    if (family === 4 && isIP((parts[0] as string).trim()) === 6) bits -= 96;
    if (bits < 0 || bits > width) return undefined;
  }
  const value = family === 4 ? v4ToBig(base) : v6ToBig(base);
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  const network = value & mask;
  return `${family === 4 ? bigToV4(network) : bigToV6(network)}/${bits}`;
}

/** A set of canonical CIDR blocks that answers "does this address fall in one?". */
export class CidrSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    let size = 0;
    for (const cidr of cidrs) {
      const [base, bits] = cidr.split('/');
      const family = isIP(base ?? '');
      if (family === 0 || bits === undefined) continue;
      this.list.addSubnet(base as string, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
      size++;
    }
    this.size = size;
  }

  has(address: string | undefined): boolean {
    const ip = plainAddress(address);
    if (ip === undefined || this.size === 0) return false;
    return this.list.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The caller's address: the socket peer, unless the peer is a trusted proxy; then the right-most `X-Forwarded-For`
 * hop that is not itself a trusted proxy (the left-most when all are). Invalid hops end the walk at the peer.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: CidrSet,
): string | undefined {
  const socket = plainAddress(peer);
  if (socket === undefined || !forwardedFor || !trustedProxies.has(socket)) return socket;
  const hops = forwardedFor
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  let chosen = socket;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]);
    if (hop === undefined) return chosen;
    chosen = hop;
    if (!trustedProxies.has(hop)) return hop;
  }
  return chosen;
}
