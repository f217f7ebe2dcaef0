import { describe, expect, it } from 'vitest';
import { CidrSet, clientAddress, normaliseCidr } from './ip-address.ts';

describe('normaliseCidr', () => {
  it('renders bare addresses as /32 or /128 and clears host bits', () => {
    expect(normaliseCidr('10.1.2.3')).toBe('10.1.2.3/32');
    expect(normaliseCidr('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(normaliseCidr(' 2001:DB8:0:0:0:0:0:1 ')).toBe('2001:db8::1/128');
    expect(normaliseCidr('2001:db8:1:2::/32')).toBe('2001:db8::/32');
    expect(normaliseCidr('::ffff:192.0.2.1')).toBe('192.0.2.1/32');
    expect(normaliseCidr('::ffff:10.0.0.0/104')).toBe('10.0.0.0/8');
    expect(normaliseCidr('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(normaliseCidr('::/0')).toBe('::/0');
    expect(normaliseCidr('1:0:0:1:0:0:0:1')).toBe('1:0:0:1::1/128');
  });

  it('refuses what is not an address or block', () => {
    for (const bad of ['', 'nope', '10.0.0.256', '10.0.0.1/33', '::1/129', '10.0.0.1/8/1', '10.0.0.1/-1', '1.2.3']) {
      expect(normaliseCidr(bad), bad).toBeUndefined();
    }
  });
});

describe('CidrSet', () => {
  it('matches IPv4 and IPv6 blocks, IPv4-mapped peers as IPv4', () => {
    const set = new CidrSet(['10.0.0.0/8', '2001:db8::/32']);
    expect(set.has('10.200.1.1')).toBe(true);
    expect(set.has('::ffff:10.0.0.1')).toBe(true);
    expect(set.has('11.0.0.1')).toBe(false);
    expect(set.has('2001:db8:ffff::1')).toBe(true);
    expect(set.has('2001:db9::1')).toBe(false);
    expect(set.has(undefined)).toBe(false);
  });
});

describe('clientAddress', () => {
  const trusted = new CidrSet(['127.0.0.1/32', '10.0.0.0/8']);
  it('is the socket peer unless the peer is a trusted proxy', () => {
    expect(clientAddress('192.0.2.9', '203.0.113.5', trusted)).toBe('192.0.2.9');
    expect(clientAddress('192.0.2.9', undefined, new CidrSet([]))).toBe('192.0.2.9');
    expect(clientAddress('127.0.0.1', '203.0.113.5', new CidrSet([]))).toBe('127.0.0.1');
  });
  it('takes the right-most untrusted hop behind trusted proxies', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.1, 203.0.113.5, 10.1.1.1', trusted)).toBe('203.0.113.5');
    expect(clientAddress('::ffff:127.0.0.1', '203.0.113.5', trusted)).toBe('203.0.113.5');
    expect(clientAddress('127.0.0.1', '10.1.1.1, 10.2.2.2', trusted)).toBe('10.1.1.1');
    expect(clientAddress('127.0.0.1', 'garbage, 10.2.2.2', trusted)).toBe('10.2.2.2');
  });
});
