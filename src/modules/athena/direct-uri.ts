import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type pg from 'pg';
import { blockedReason } from '../../core/net/outbound.ts';
import { AthenaError } from './athena.errors.ts';
import { normalisePostgresUri } from './clients.service.ts';

/*
 * Direct connection headers (`x-pg-uri`, `x-athena-jdbc-url`, `x-jdbc-url`; docs/athena.md, Direct URIs): a caller
 * names a Postgres server and login itself. That is an SSRF and credential-probing surface, so a URI is used only
 * when every check passes: the operator listed its host (ATRIUM_ATHENA_DIRECT_URI_HOSTS), it carries a user and a
 * password, every address its host resolves to passes the platform's outbound guard (the connection then dials the
 * checked address, not a second lookup), it is not the login of the server's own connections, and it carries no
 * connection options but `sslmode`/`ssl` (`host=`, `options=` … would reroute or reconfigure the session).
 */

/** The direct-URI headers in precedence order (the first present wins). */
export const directUriHeaders = ['x-pg-uri', 'x-athena-jdbc-url', 'x-jdbc-url'] as const;

/** What a direct URI is checked against. */
export interface DirectUriPolicy {
  /** Allowlisted `host` or `host:port` entries, lower-case; empty: direct URIs are disabled. */
  hosts: readonly string[];
  /** The outbound guard's switch for loopback/private addresses (tests and local development). */
  allowPrivate: boolean;
  /** Logins of the server's own connections (platform database, database engines): never usable here. */
  serverLogins: readonly { host: string; port: number; user: string }[];
}

/** A checked direct URI: the pool key and the connection to make (pinned to the checked address). */
export interface CheckedDirectUri {
  /** The normalised URI, credentials included: equal keys share one pool. */
  key: string;
  connection: pg.ClientConfig;
  /** host:port/database, for logs (no credentials). */
  label: string;
}

/** A direct URI refused (4xx) or its server unreachable (503). */
export class DirectUriError extends AthenaError {
  constructor(code: string, httpStatus: number, message: string) {
    super(code, httpStatus, message);
    this.name = 'DirectUriError';
  }
}

type Lookup = (host: string) => Promise<string[]>;

const systemLookup: Lookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

const sslModes: Record<string, boolean> = { disable: false, require: true, 'verify-ca': true, 'verify-full': true };

async function addressesOf(host: string, resolve: Lookup): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    const found = await resolve(host);
    if (found.length === 0) throw new Error('no address');
    return found;
  } catch {
    throw new DirectUriError('direct_uri_blocked', 403, `The direct URI host "${host}" does not resolve`);
  }
}

/** Checks a direct URI against the policy; throws DirectUriError. `resolve` is the DNS lookup (tests replace it). */
export async function checkDirectUri(
  raw: string,
  policy: DirectUriPolicy,
  resolve: Lookup = systemLookup,
): Promise<CheckedDirectUri> {
  if (policy.hosts.length === 0) {
    throw new DirectUriError(
      'direct_uri_disabled',
      403,
      'Direct connection headers are disabled on this server: route with X-Athena-Client',
    );
  }
  const normalised = normalisePostgresUri(raw);
  if (!normalised) {
    throw new DirectUriError(
      'invalid_direct_uri',
      400,
      'The direct URI must be postgres://user:password@host[:port]/database (or jdbc:postgresql://…)',
    );
  }
  const u = new URL(normalised);
  let user: string;
  let password: string;
  let database: string;
  try {
    user = decodeURIComponent(u.username);
    password = decodeURIComponent(u.password);
    database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  } catch {
    throw new DirectUriError('invalid_direct_uri', 400, 'The direct URI has malformed percent-encoding');
  }
  if (!user || !password) {
    throw new DirectUriError(
      'direct_uri_credentials_required',
      401,
      'A direct URI must carry both a user name and a password',
    );
  }
  if (!database || database.includes('/')) {
    throw new DirectUriError('invalid_direct_uri', 400, 'The direct URI must name one database');
  }
  let ssl: boolean | undefined;
  for (const [name, value] of u.searchParams) {
    if (name === 'sslmode' && value in sslModes) ssl = sslModes[value];
    else if (name === 'ssl' && (value === 'true' || value === 'false')) ssl = value === 'true';
    else {
      throw new DirectUriError(
        'invalid_direct_uri',
        400,
        `The direct URI option "${name.slice(0, 40)}" is not accepted (only sslmode=disable|require|verify-ca|verify-full and ssl=true|false)`,
      );
    }
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = u.port ? Number(u.port) : 5432;
  if (!policy.hosts.includes(host) && !policy.hosts.includes(`${host}:${port}`)) {
    throw new DirectUriError(
      'direct_uri_host_not_allowed',
      403,
      `The direct URI host "${host}:${port}" is not in this server's allowlist (ATRIUM_ATHENA_DIRECT_URI_HOSTS)`,
    );
  }
  const addresses = await addressesOf(host, resolve);
  // Every address must pass, as for outbound HTTP: one public and one private answer is refused.
  for (const address of addresses) {
    const reason = blockedReason(address, { allowPrivate: policy.allowPrivate });
    if (reason) throw new DirectUriError('direct_uri_blocked', 403, `The direct URI host is refused: ${reason}`);
  }
  for (const login of policy.serverLogins) {
    if (login.port !== port || login.user !== user) continue;
    const loginAddresses = await addressesOf(login.host, resolve).catch(() => [login.host]);
    const same = login.host.toLowerCase() === host || loginAddresses.some((a) => addresses.includes(a));
    const bothLoopback =
      [...loginAddresses, login.host].some(isLoopback) && [...addresses, host].some((a) => isLoopback(a));
    if (same || bothLoopback) {
      throw new DirectUriError(
        'direct_uri_server_credentials',
        403,
        "The direct URI names this server's own database login",
      );
    }
  }
  const address = addresses[0] as string;
  return {
    key: normalised,
    label: `${host}:${port}/${database}`,
    connection: {
      host: address,
      port,
      user,
      password,
      database,
      // TLS checks the certificate against the name the caller wrote, while the socket goes to the checked address.
      ...(ssl ? { ssl: { servername: isIP(host) ? undefined : host, rejectUnauthorized: true } } : {}),
    },
  };
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

/** The direct URI of a request: the first of the headers present, or undefined. */
export function directUriOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of directUriHeaders) {
    const v = headers[name];
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}
