import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockedReason,
  defaultOutboundPolicy,
  OutboundBlockedError,
  type OutboundPolicy,
  outboundRequest,
  pinnedAgent,
  validateOutboundUrl,
} from '../../src/core/net/outbound.ts';

let server: Server;
let port: number;
const seen: string[] = [];
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, s) => s.end('ok');

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.host}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const strict: OutboundPolicy = { ...defaultOutboundPolicy, timeoutMs: 1000 };
const loose: OutboundPolicy = { ...strict, allowPrivate: true };

async function refusal(p: Promise<unknown>): Promise<OutboundBlockedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutboundBlockedError);
  return err as OutboundBlockedError;
}

describe('outbound guard: address policy', () => {
  it('refuses loopback, private, link-local, CGNAT, ULA by default and allows them only when configured', () => {
    for (const ip of [
      '127.0.0.1',
      '127.8.9.10',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.10.10',
      '100.64.0.1',
      '::1',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
    ]) {
      expect(blockedReason(ip, strict), ip).toMatch(/private|loopback/);
      expect(blockedReason(ip, loose), ip).toBeUndefined();
    }
  });

  it('always refuses unspecified, multicast, reserved, documentation, mapped and metadata addresses', () => {
    for (const ip of [
      '0.0.0.0',
      '0.1.2.3',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
      '192.0.2.5',
      '198.18.0.1',
      '169.254.169.254',
      '::',
      '::ffff:127.0.0.1',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      'ff02::1',
      '2001:db8::1',
      '2002:7f00:1::1',
      'fd00:ec2::254',
    ]) {
      expect(blockedReason(ip, loose), ip).toBeDefined();
      expect(blockedReason(ip, strict), ip).toBeDefined();
    }
  });

  it('allows public unicast addresses', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111']) {
      expect(blockedReason(ip, strict), ip).toBeUndefined();
    }
  });
});

describe('outbound guard: URLs and DNS', () => {
  it('refuses non-http schemes, credentials and unparsable URLs as invalid', async () => {
    for (const url of ['ftp://8.8.8.8/', 'file:///etc/passwd', 'http://u:p@8.8.8.8/', 'not a url', 'gopher://x']) {
      expect((await refusal(validateOutboundUrl(url, strict))).kind, url).toBe('invalid');
    }
  });

  it('refuses literal and bracketed private addresses, and names that resolve to them', async () => {
    for (const url of [
      `http://127.0.0.1:${port}/`,
      `http://[::1]:${port}/`,
      'http://[::ffff:7f00:1]/',
      'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0/',
      `http://localhost:${port}/`,
    ]) {
      expect((await refusal(validateOutboundUrl(url, strict))).kind, url).toBe('blocked');
    }
    const named = await refusal(validateOutboundUrl(`http://localhost:${port}/`, strict));
    expect(named.reason).toMatch(/host "localhost" resolves to .*loopback/);
  });

  it('refuses names that do not resolve', async () => {
    expect((await refusal(validateOutboundUrl('http://nothing.invalid/', strict))).reason).toMatch(/does not resolve/);
  });

  it('makes no request at all to a refused target', async () => {
    const before = seen.length;
    await refusal(outboundRequest(`http://127.0.0.1:${port}/x`, { method: 'POST', body: '{}' }, strict));
    await refusal(outboundRequest(`http://localhost:${port}/x`, {}, strict));
    expect(seen.length).toBe(before);
  });
});

describe('outbound guard: requests', () => {
  it('reaches an allowed target and returns status and body', async () => {
    handler = (_q, s) => s.end('hello');
    const r = await outboundRequest(`http://127.0.0.1:${port}/ok`, {}, loose);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('hello');
  });

  it('does not follow redirects', async () => {
    handler = (q, s) => {
      if (q.url === '/redirect') {
        s.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end();
      } else s.end('followed');
    };
    const before = seen.length;
    const r = await outboundRequest(`http://127.0.0.1:${port}/redirect`, {}, loose);
    expect(r.status).toBe(302);
    expect(seen.slice(before)).toEqual([`GET /redirect 127.0.0.1:${port}`]);
  });

  it('gives up at the deadline', async () => {
    handler = () => {}; // never answers
    const started = Date.now();
    await expect(outboundRequest(`http://127.0.0.1:${port}/hang`, {}, { ...loose, timeoutMs: 300 })).rejects.toThrow(
      /timed out/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('caps the response size', async () => {
    handler = (_q, s) => s.end('x'.repeat(5000));
    await expect(
      outboundRequest(`http://127.0.0.1:${port}/big`, {}, { ...loose, maxResponseBytes: 1024 }),
    ).rejects.toThrow(/larger than 1024 bytes/);
  });

  it('connects only to the pinned address (no second lookup) and refuses other hosts', async () => {
    handler = (_q, s) => s.end('pinned');
    // `.invalid` never resolves: reaching the server proves the connector used the pinned address.
    const target = {
      url: new URL(`http://pinned.invalid:${port}/`),
      host: 'pinned.invalid',
      address: '127.0.0.1',
      family: 4 as const,
    };
    const agent = pinnedAgent(target, loose);
    try {
      const r = await request(`http://pinned.invalid:${port}/p`, { dispatcher: agent });
      expect(await r.body.text()).toBe('pinned');
      expect(seen.at(-1)).toBe(`GET /p pinned.invalid:${port}`);
      await expect(request(`http://127.0.0.1:${port}/other`, { dispatcher: agent })).rejects.toThrow(/not validated/);
    } finally {
      await agent.destroy();
    }
  });

  it('refuses a pinned connection whose peer is a blocked address under the policy', async () => {
    const target = {
      url: new URL(`http://pinned.invalid:${port}/`),
      host: 'pinned.invalid',
      address: '127.0.0.2',
      family: 4 as const,
    };
    // Pinned to 127.0.0.2 but policy strict: the peer check refuses (the server listens on 127.0.0.1 only, so this
    // also cannot connect); either way nothing reaches the server.
    const before = seen.length;
    const agent = pinnedAgent(target, strict);
    try {
      await expect(request(`http://pinned.invalid:${port}/p`, { dispatcher: agent })).rejects.toThrow();
    } finally {
      await agent.destroy();
    }
    expect(seen.length).toBe(before);
  });
});
