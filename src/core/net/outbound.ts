import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { type ClientOptions, WebSocket } from 'ws';

/*
 * The platform's guard for outbound HTTP to user-supplied URLs (docs/SECURITY "Outbound requests"): resolve DNS
 * here, refuse non-public addresses, connect to exactly the validated address (an undici Agent whose connector
 * only dials the pinned address; there is no second lookup), never follow redirects, cap response size and time.
 */

export interface OutboundPolicy {
  /** Allow loopback, RFC 1918, CGNAT, link-local and unique-local targets (tests / local dev only). */
  allowPrivate: boolean;
  /** Whole-request deadline (connect, headers and body), milliseconds. */
  timeoutMs: number;
  /** Response bodies beyond this are cut off (the request fails). */
  maxResponseBytes: number;
}

export const defaultOutboundPolicy: OutboundPolicy = {
  allowPrivate: false,
  timeoutMs: 10_000,
  maxResponseBytes: 64 * 1024,
};

/** A target refused by the guard (bad URL or a non-public address). `reason` is safe to show the caller. */
export class OutboundBlockedError extends Error {
  constructor(
    readonly reason: string,
    /** `invalid`: not a usable URL; `blocked`: a non-public or unresolvable target. */
    readonly kind: 'invalid' | 'blocked' = 'blocked',
  ) {
    super(reason);
    this.name = 'OutboundBlockedError';
  }
}

/*
 * One BlockList per family: node's BlockList also matches IPv4 addresses against IPv6 rules (as ::ffff:a.b.c.d), so
 * the IPv4-mapped rule would otherwise catch every IPv4 address.
 */
/** Never reachable, whatever the policy: unspecified, multicast, reserved, documentation, cloud metadata. */
const alwaysBlocked4 = new BlockList();
const alwaysBlocked6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  alwaysBlocked4.addSubnet(net, prefix, 'ipv4');
}
alwaysBlocked4.addAddress('169.254.169.254', 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  alwaysBlocked6.addSubnet(net, prefix, 'ipv6');
}
alwaysBlocked6.addAddress('fd00:ec2::254', 'ipv6');

/** Non-public but legitimate in tests and local development (ATRIUM_ALLOW_PRIVATE_OUTBOUND=true). */
const private4 = new BlockList();
const private6 = new BlockList();
for (const [net, prefix] of [
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  private4.addSubnet(net, prefix, 'ipv4');
}
private6.addAddress('::1', 'ipv6');
private6.addSubnet('fc00::', 7, 'ipv6');
private6.addSubnet('fe80::', 10, 'ipv6');

const globalUnicast6 = new BlockList();
globalUnicast6.addSubnet('2000::', 3, 'ipv6');

/** Why `address` may not be dialled under `policy`, or undefined when it may. */
export function blockedReason(address: string, policy: Pick<OutboundPolicy, 'allowPrivate'>): string | undefined {
  const family = isIP(address);
  if (family === 0) return `"${address}" is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if ((type === 'ipv4' ? alwaysBlocked4 : alwaysBlocked6).check(address, type)) {
    return `${address} is a reserved, multicast or metadata address`;
  }
  if ((type === 'ipv4' ? private4 : private6).check(address, type)) {
    return policy.allowPrivate ? undefined : `${address} is a loopback, private or link-local address`;
  }
  if (type === 'ipv6' && !globalUnicast6.check(address, 'ipv6')) return `${address} is not a global unicast address`;
  return undefined;
}

export interface ValidatedTarget {
  url: URL;
  /** The hostname as written (IPv6 without brackets). */
  host: string;
  /** The one address the request will connect to. */
  address: string;
  family: 4 | 6;
}

/** Parses an http(s) URL, resolves its host once and checks every address; throws OutboundBlockedError. */
export async function validateOutboundUrl(raw: string, policy: OutboundPolicy): Promise<ValidatedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundBlockedError('url is not a valid absolute URL', 'invalid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new OutboundBlockedError('url must be http or https', 'invalid');
  if (url.username || url.password) throw new OutboundBlockedError('url must not contain credentials', 'invalid');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) throw new OutboundBlockedError('url has no host', 'invalid');
  let addresses: { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch {
      throw new OutboundBlockedError(`host "${host}" does not resolve`);
    }
    if (addresses.length === 0) throw new OutboundBlockedError(`host "${host}" does not resolve`);
  }
  // Every address must pass: a name answering with one public and one private address is refused.
  for (const a of addresses) {
    const reason = blockedReason(a.address, policy);
    if (reason) throw new OutboundBlockedError(isIP(host) ? reason : `host "${host}" resolves to ${reason}`);
  }
  const first = addresses[0] as { address: string; family: number };
  return { url, host, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * An undici Agent that dials only `target.address` (for `target.host`): the connector's lookup answers with the
 * pinned address, the connected socket's peer is checked again, and any other host is refused.
 */
export function pinnedAgent(target: ValidatedTarget, policy: OutboundPolicy): Agent {
  const base = buildConnector({
    timeout: policy.timeoutMs,
    lookup: (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) {
        (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
          { address: target.address, family: target.family },
        ]);
      } else {
        callback(null, target.address, target.family);
      }
    },
  } as buildConnector.BuildOptions);
  return new Agent({
    connect: (opts, callback) => {
      const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
      if (host !== target.host) {
        callback(new OutboundBlockedError(`connection to "${host}" was not validated`), null);
        return;
      }
      base(opts, (err, socket) => {
        if (err || !socket) {
          callback(err ?? new Error('connect failed'), null);
          return;
        }
        const peer = socket.remoteAddress;
        if (peer !== undefined && peer !== target.address && blockedReason(peer, policy)) {
          socket.destroy();
          callback(new OutboundBlockedError(`connected to unvalidated address ${peer}`), null);
          return;
        }
        callback(null, socket);
      });
    },
  });
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** At most maxResponseBytes. */
  body: Buffer;
}

/**
 * One guarded HTTP request: validate + pin, no redirects (a 3xx is returned as is), a deadline over the whole
 * exchange, and a response-size cap. Throws OutboundBlockedError for refused targets, other errors for network
 * failures, timeouts (message "timed out after …") and oversized bodies.
 */
export async function outboundRequest(
  rawUrl: string,
  init: { method?: 'GET' | 'POST' | 'PUT'; headers?: Record<string, string>; body?: string | Buffer },
  policy: OutboundPolicy,
): Promise<OutboundResponse> {
  const target = await validateOutboundUrl(rawUrl, policy);
  const agent = pinnedAgent(target, policy);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`timed out after ${policy.timeoutMs} ms`)), policy.timeoutMs);
  try {
    const res = await request(target.url, {
      method: init.method ?? 'GET',
      headers: init.headers,
      body: init.body,
      dispatcher: agent,
      signal: abort.signal,
      headersTimeout: policy.timeoutMs,
      bodyTimeout: policy.timeoutMs,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > policy.maxResponseBytes) {
        res.body.destroy();
        throw new Error(`response larger than ${policy.maxResponseBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
  } catch (err) {
    if (abort.signal.aborted) throw abort.signal.reason instanceof Error ? abort.signal.reason : err;
    throw err;
  } finally {
    clearTimeout(timer);
    agent.destroy().catch(() => {});
  }
}

/**
 * A guarded outbound WebSocket (a provider's event stream, e.g. Slack's Socket Mode): the ws:/wss: URL is checked
 * and pinned like an HTTP one (the handshake dials only the validated address, redirects are not followed), frames
 * beyond `maxPayload` close the connection. Answers the socket at once (so the caller's listeners are attached
 * before the first frame, which can arrive with the handshake) and `opened`, which settles with the handshake;
 * rejects with OutboundBlockedError for refused targets.
 */
export async function outboundWebSocket(
  rawUrl: string,
  policy: OutboundPolicy,
  options: { maxPayload: number; headers?: Record<string, string> },
): Promise<{ ws: WebSocket; opened: Promise<void> }> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new OutboundBlockedError('url is not a valid absolute URL', 'invalid');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new OutboundBlockedError('url must be ws or wss', 'invalid');
  const httpUrl = new URL(url);
  httpUrl.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  const target = await validateOutboundUrl(httpUrl.toString(), policy);
  const ws = new WebSocket(url, {
    maxPayload: options.maxPayload,
    handshakeTimeout: policy.timeoutMs,
    followRedirects: false,
    headers: options.headers,
    // The handshake connects to the validated address only (no second DNS answer can redirect it).
    lookup: (_host: string, opts: { all?: boolean }, callback: (...a: unknown[]) => void) => {
      if (opts?.all) callback(null, [{ address: target.address, family: target.family }]);
      else callback(null, target.address, target.family);
    },
  } as ClientOptions);
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('upgrade', (res) => {
      const peer = res.socket.remoteAddress;
      if (peer !== undefined && peer !== target.address && blockedReason(peer, policy)) {
        ws.terminate();
        reject(new OutboundBlockedError(`connected to unvalidated address ${peer}`));
      }
    });
    ws.once('open', () => resolve());
    ws.once('error', (err) => reject(err));
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`WebSocket handshake answered ${res.statusCode}`));
    });
  });
  return { ws, opened };
}
