import { describe, expect, it } from 'vitest';
import { checkDirectUri, type DirectUriError, type DirectUriPolicy, directUriOf } from './direct-uri.ts';

const policy: DirectUriPolicy = {
  hosts: ['db.example.com', 'pg.internal:6543', '127.0.0.1'],
  allowPrivate: false,
  serverLogins: [{ host: 'db.example.com', port: 5432, user: 'atrium' }],
};

/** A fake DNS: names map to fixed addresses (nothing leaves the process). */
const dns: Record<string, string[]> = {
  'db.example.com': ['93.184.216.34'],
  'pg.internal': ['10.0.0.7'],
  'sneaky.example.com': ['93.184.216.35', '127.0.0.1'],
  'meta.example.com': ['169.254.169.254'],
};
const resolve = async (host: string) => {
  const found = dns[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};

async function refusal(raw: string, p: DirectUriPolicy = policy): Promise<DirectUriError> {
  try {
    await checkDirectUri(raw, p, resolve);
  } catch (err) {
    return err as DirectUriError;
  }
  throw new Error(`expected ${raw} to be refused`);
}

describe('checkDirectUri', () => {
  it('accepts a credentialed URI of a listed host and pins the connection to the checked address', async () => {
    const checked = await checkDirectUri('postgres://app:s3cr%40t@db.example.com/shop', policy, resolve);
    expect(checked.connection).toEqual({
      host: '93.184.216.34',
      port: 5432,
      user: 'app',
      password: 's3cr@t',
      database: 'shop',
    });
    expect(checked.label).toBe('db.example.com:5432/shop');
    expect(checked.key).toBe('postgres://app:s3cr%40t@db.example.com/shop');
  });

  it('normalises JDBC URLs (credentials as parameters) to the same key', async () => {
    const jdbc = await checkDirectUri(
      'jdbc:postgresql://db.example.com/shop?user=app&password=s3cr%40t',
      policy,
      resolve,
    );
    const plain = await checkDirectUri('postgresql://app:s3cr%40t@db.example.com/shop', policy, resolve);
    expect(jdbc.key).toBe(plain.key);
  });

  it('TLS options check the certificate against the written name', async () => {
    const checked = await checkDirectUri('postgres://app:pw@db.example.com/shop?sslmode=require', policy, resolve);
    expect(checked.connection.ssl).toEqual({ servername: 'db.example.com', rejectUnauthorized: true });
    const off = await checkDirectUri('postgres://app:pw@db.example.com/shop?sslmode=disable', policy, resolve);
    expect(off.connection.ssl).toBeUndefined();
  });

  it('refuses with typed errors', async () => {
    expect((await refusal('postgres://app:pw@db.example.com/shop', { ...policy, hosts: [] })).code).toBe(
      'direct_uri_disabled',
    );
    expect((await refusal('mysql://app:pw@db.example.com/shop')).code).toBe('invalid_direct_uri');
    expect((await refusal('not a uri')).httpStatus).toBe(400);
    const noPassword = await refusal('postgres://app@db.example.com/shop');
    expect([noPassword.code, noPassword.httpStatus]).toEqual(['direct_uri_credentials_required', 401]);
    expect((await refusal('postgres://:pw@db.example.com/shop')).code).toBe('direct_uri_credentials_required');
    expect((await refusal('postgres://app:pw@db.example.com/')).code).toBe('invalid_direct_uri');
    expect((await refusal('postgres://app:pw@other.example.com/shop')).code).toBe('direct_uri_host_not_allowed');
    // host:port entries allow that port only.
    expect((await refusal('postgres://app:pw@pg.internal:5432/shop')).code).toBe('direct_uri_host_not_allowed');
    // Options that reroute or reconfigure the session.
    for (const option of ['host=/tmp', 'options=-c%20search_path%3Dx', 'sslmode=prefer', 'application_name=x']) {
      expect((await refusal(`postgres://app:pw@db.example.com/shop?${option}`)).code).toBe('invalid_direct_uri');
    }
  });

  it('applies the outbound guard to every address the host resolves to', async () => {
    // Listed, but private: refused unless private targets are allowed.
    expect((await refusal('postgres://app:pw@pg.internal:6543/shop')).code).toBe('direct_uri_blocked');
    const allowed = await checkDirectUri(
      'postgres://app:pw@pg.internal:6543/shop',
      { ...policy, allowPrivate: true },
      resolve,
    );
    expect(allowed.connection.host).toBe('10.0.0.7');
    const all = {
      ...policy,
      hosts: ['sneaky.example.com', 'meta.example.com', 'gone.example.com'],
      allowPrivate: true,
    };
    // One public and one loopback answer: the loopback one is allowed here, so it passes only with allowPrivate.
    expect((await refusal('postgres://app:pw@sneaky.example.com/shop', { ...all, allowPrivate: false })).code).toBe(
      'direct_uri_blocked',
    );
    // The metadata address is refused whatever the policy.
    expect((await refusal('postgres://app:pw@meta.example.com/shop', all)).code).toBe('direct_uri_blocked');
    expect((await refusal('postgres://app:pw@gone.example.com/shop', all)).code).toBe('direct_uri_blocked');
  });

  it("refuses the server's own login on the same server, by name or by address", async () => {
    expect((await refusal('postgres://atrium:anything@db.example.com/shop')).code).toBe(
      'direct_uri_server_credentials',
    );
    expect(
      (await refusal('postgres://atrium:anything@93.184.216.34/shop', { ...policy, hosts: ['93.184.216.34'] })).code,
    ).toBe('direct_uri_server_credentials');
    const loopback = {
      hosts: ['127.0.0.1'],
      allowPrivate: true,
      serverLogins: [{ host: 'localhost', port: 5432, user: 'postgres' }],
    };
    expect((await refusal('postgres://postgres:x@127.0.0.1/db', loopback)).code).toBe('direct_uri_server_credentials');
    // Another user on that server is fine.
    await expect(checkDirectUri('postgres://app:x@127.0.0.1/db', loopback, resolve)).resolves.toBeDefined();
  });

  it('reads the headers in precedence order', () => {
    expect(directUriOf({ 'x-jdbc-url': 'c', 'x-athena-jdbc-url': 'b', 'x-pg-uri': 'a' })).toBe('a');
    expect(directUriOf({ 'x-jdbc-url': 'c', 'x-athena-jdbc-url': 'b' })).toBe('b');
    expect(directUriOf({ 'x-jdbc-url': 'c' })).toBe('c');
    expect(directUriOf({ 'x-pg-uri': '' })).toBeUndefined();
    expect(directUriOf({})).toBeUndefined();
  });
});
