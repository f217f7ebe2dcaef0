import type { PrismaClient } from '../db.ts';
import type { Logger } from '../logger.ts';
import type { TokenService } from './jwt.ts';
import { adminPrincipal, type Principal, type Product } from './principal.ts';
import { constantTimeEqual, sha256Hex } from './secrets.ts';

export type CredentialCheck =
  | {
      ok: true;
      principal: Principal;
      /** API keys: when the key was last used before this request (its creation if never), for inactivity rules. */
      previousUse?: Date;
    }
  | { ok: false; reason: 'invalid' | 'expired' | 'revoked' | 'wrong_product' };

// last_used_at is informational; writing it on every request would turn reads into writes.
const lastUsedResolutionMs = 60_000;
const maxCredentialLength = 4096;
/** Prefix of DeepStore service tokens (opaque, bound to one log database). */
export const serviceTokenPrefix = 'dss_';

/** Turns raw credentials (admin key, API key, JWT, DeepStore service token) into a Principal. One instance per app. */
export class Authenticator {
  constructor(
    private readonly deps: { prisma: PrismaClient; tokens: TokenService; adminKey: string; logger: Logger },
  ) {}

  /**
   * Resolves a bearer credential. `product` restricts API keys to one product's keys (REST doors);
   * undefined accepts any product's key (the GraphQL door).
   */
  async authenticate(raw: string, product?: Product): Promise<CredentialCheck> {
    const credential = raw.trim();
    if (credential === '' || credential.length > maxCredentialLength) return { ok: false, reason: 'invalid' };
    if (constantTimeEqual(credential, this.deps.adminKey)) return { ok: true, principal: adminPrincipal };
    if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential)) return this.checkJwt(credential);
    if (credential.startsWith(serviceTokenPrefix)) {
      // Service tokens belong to one DeepStore database: no other product's door accepts them.
      if (product !== undefined && product !== 'deepstore') return { ok: false, reason: 'wrong_product' };
      return this.checkServiceToken(credential);
    }
    return this.checkApiKey(credential, product);
  }

  /** DeepStore service tokens (`dss_…`): looked up by SHA-256 like API keys; revoked or orphaned → not ok. */
  private async checkServiceToken(raw: string): Promise<CredentialCheck> {
    const token = await this.deps.prisma.logServiceToken.findUnique({
      where: { tokenHash: sha256Hex(raw) },
      select: { id: true, databaseId: true, revokedAt: true, lastUsedAt: true },
    });
    if (!token) return { ok: false, reason: 'invalid' };
    if (token.revokedAt) return { ok: false, reason: 'revoked' };
    const now = Date.now();
    if (!token.lastUsedAt || now - token.lastUsedAt.getTime() > lastUsedResolutionMs) {
      this.deps.prisma.logServiceToken
        .updateMany({
          where: {
            id: token.id,
            OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now - lastUsedResolutionMs) } }],
          },
          data: { lastUsedAt: new Date(now) },
        })
        .catch((e: unknown) => this.deps.logger.warn({ err: e, tokenId: token.id }, 'could not record last use'));
    }
    return {
      ok: true,
      principal: { kind: 'serviceToken', id: token.id, product: 'deepstore', databaseId: token.databaseId },
    };
  }

  private async checkJwt(token: string): Promise<CredentialCheck> {
    try {
      const v = await this.deps.tokens.verify(token);
      return {
        ok: true,
        principal: { kind: 'jwt', id: v.subject, tokenUse: v.tokenUse, scopes: v.scopes, claims: v.payload },
      };
    } catch {
      return { ok: false, reason: 'invalid' };
    }
  }

  private async checkApiKey(raw: string, product?: Product): Promise<CredentialCheck> {
    // Lookup by the hash of the presented key: equal hashes mean equal keys, and the comparison happens
    // inside the database index on a value the caller cannot steer byte by byte.
    const key = await this.deps.prisma.apiKey.findUnique({
      where: { keyHash: sha256Hex(raw) },
      select: {
        id: true,
        product: true,
        name: true,
        scopes: true,
        expiresAt: true,
        revokedAt: true,
        lastUsedAt: true,
        createdAt: true,
      },
    });
    if (!key) return { ok: false, reason: 'invalid' };
    if (key.revokedAt) return { ok: false, reason: 'revoked' };
    const now = Date.now();
    if (key.expiresAt && key.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };
    if (product !== undefined && key.product !== product) return { ok: false, reason: 'wrong_product' };
    if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > lastUsedResolutionMs) {
      this.deps.prisma.apiKey
        .updateMany({
          where: {
            id: key.id,
            OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now - lastUsedResolutionMs) } }],
          },
          data: { lastUsedAt: new Date(now) },
        })
        .catch((e: unknown) => this.deps.logger.warn({ err: e, apiKeyId: key.id }, 'could not record last use'));
    }
    return {
      ok: true,
      principal: { kind: 'apiKey', id: key.id, product: key.product, name: key.name, scopes: key.scopes },
      previousUse: key.lastUsedAt ?? key.createdAt,
    };
  }
}

/** Extracts the token of an `Authorization: Bearer <token>` header value; undefined when absent or malformed. */
export function bearerToken(header: string | string[] | undefined | null): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(value);
  return match?.[1];
}
