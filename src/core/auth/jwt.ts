import type { webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

type CryptoKey = webcrypto.CryptoKey;

const algorithm = 'EdDSA';
const audience = 'atrium';

interface KeyEntry {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface IssueTokenInput {
  subject: string;
  /** What the token is for, e.g. `platform`, `query`, `session`; checked on verify. */
  tokenUse: string;
  scopes: readonly string[];
  ttlSeconds: number;
  claims?: Record<string, unknown>;
}

export interface VerifiedToken {
  subject: string;
  tokenUse: string;
  scopes: string[];
  kid: string;
  payload: JWTPayload;
}

export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

/**
 * Signs and verifies platform JWTs. The first key signs; every key verifies (selected by `kid`), so a
 * key can be rotated by prepending a new one and dropping the old one after the longest token TTL.
 */
export class TokenService {
  private constructor(
    private readonly keys: KeyEntry[],
    readonly issuer: string,
  ) {}

  /** Builds the service from a JWK set of private keys (ATRIUM_JWT_KEYS or the data-dir file). */
  static async fromJwks(jwks: { keys: JWK[] }, issuer: string): Promise<TokenService> {
    const entries: KeyEntry[] = [];
    for (const jwk of jwks.keys) {
      if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d) {
        throw new Error('JWT signing keys must be Ed25519 private JWKs (kty OKP, crv Ed25519, with d)');
      }
      const { d: _d, ...publicJwk } = jwk;
      const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
      entries.push({
        kid,
        privateKey: (await importJWK({ ...jwk, alg: algorithm }, algorithm)) as CryptoKey,
        publicKey: (await importJWK({ ...publicJwk, alg: algorithm }, algorithm)) as CryptoKey,
        publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' },
      });
    }
    if (new Set(entries.map((e) => e.kid)).size !== entries.length) throw new Error('JWT signing keys repeat a kid');
    return new TokenService(entries, issuer);
  }

  /** Public keys for `/.well-known/jwks.json`. */
  publicJwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  get signingKid(): string {
    return (this.keys[0] as KeyEntry).kid;
  }

  /** Issues a signed token; returns it with its expiry. */
  async issue(input: IssueTokenInput): Promise<{ token: string; expiresAt: Date; kid: string }> {
    const key = this.keys[0] as KeyEntry;
    const now = Math.floor(Date.now() / 1000);
    const exp = now + input.ttlSeconds;
    const token = await new SignJWT({ ...input.claims, token_use: input.tokenUse, scopes: [...input.scopes] })
      .setProtectedHeader({ alg: algorithm, kid: key.kid, typ: 'JWT' })
      .setSubject(input.subject)
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(crypto.randomUUID())
      .sign(key.privateKey);
    return { token, expiresAt: new Date(exp * 1000), kid: key.kid };
  }

  /** Verifies signature, issuer, audience, expiry and (optionally) the token use; throws InvalidTokenError. */
  async verify(token: string, expectedUse?: string): Promise<VerifiedToken> {
    try {
      let usedKid = '';
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const entry = this.keys.find((k) => k.kid === header.kid);
          if (!entry) throw new InvalidTokenError('unknown signing key');
          usedKid = entry.kid;
          return entry.publicKey;
        },
        {
          algorithms: [algorithm],
          issuer: this.issuer,
          audience,
          clockTolerance: 5,
          requiredClaims: ['sub', 'exp', 'iat'],
        },
      );
      const tokenUse = typeof payload.token_use === 'string' ? payload.token_use : '';
      if (expectedUse !== undefined && tokenUse !== expectedUse) {
        throw new InvalidTokenError(`token is not a ${expectedUse} token`);
      }
      const scopes = Array.isArray(payload.scopes) ? payload.scopes.filter((s) => typeof s === 'string') : [];
      return { subject: payload.sub as string, tokenUse, scopes, kid: usedKid, payload };
    } catch (e) {
      if (e instanceof InvalidTokenError) throw e;
      throw new InvalidTokenError(e instanceof Error ? e.message : 'invalid token');
    }
  }
}

/** A new Ed25519 private JWK with its thumbprint as `kid`. */
export async function generateSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(algorithm, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const { d: _d, ...pub } = jwk;
  return { ...jwk, kid: await calculateJwkThumbprint(pub), alg: algorithm };
}

/** JWK set from ATRIUM_JWT_KEYS, else from (or newly generated into) `<dataDir>/jwt-keys.json` (mode 0600). */
export async function loadSigningKeys(configured: string | undefined, dataDir: string): Promise<{ keys: JWK[] }> {
  if (configured) return JSON.parse(configured) as { keys: JWK[] };
  const file = path.join(dataDir, 'jwt-keys.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { keys: JWK[] };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dataDir, { recursive: true });
  const jwks = { keys: [await generateSigningJwk()] };
  await writeFile(file, JSON.stringify(jwks), { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  return JSON.parse(await readFile(file, 'utf8')) as { keys: JWK[] };
}
