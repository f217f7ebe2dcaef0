import type { CredentialCheck, CredentialVerifier } from '../../core/auth/authenticator.ts';
import { productMismatch } from '../../core/auth/authenticator.ts';
import type { Principal } from '../../core/auth/principal.ts';
import { sha256Hex } from '../../core/auth/secrets.ts';
import type { CoreServices } from '../../core/services.ts';

/** Prefix of DeepStore service tokens (opaque, bound to one log database). */
export const serviceTokenPrefix = 'dss_';

// last_used_at is informational; writing it on every request would turn reads into writes.
const lastUsedResolutionMs = 60_000;

/** How long a verified token is remembered by the door (see `ServiceTokenDoor`). */
export const serviceTokenCacheMs = 5_000;
const maxCachedTokens = 10_000;

type ServiceTokenPrincipal = Extract<Principal, { kind: 'serviceToken' }>;

/**
 * DeepStore service tokens (`dss_…`): looked up by SHA-256 like API keys; revoked or orphaned → refused. They belong
 * to one DeepStore database, so every other product's door refuses them.
 *
 * A verified token is remembered for `serviceTokenCacheMs` so that a worker's lease loop does not pay a lookup per
 * request. That never lets a revoked token act: every DeepStore operation that touches a database re-checks, in its
 * own statement, that the token row still exists unrevoked (`authorize`, the one-statement lease) and answers 401
 * otherwise; rotate, revoke and delete also forget the database's tokens here at once. What a remembered revoked
 * token can still get, for at most the TTL on another instance, is a 403 from an operation it may not call anyway.
 */
export interface ServiceTokenDoor extends CredentialVerifier {
  /** Forgets every remembered token of a database (after rotate, revoke, delete). */
  forgetDatabase(databaseId: string): void;
}

export function serviceTokenVerifier({ prisma, logger }: Pick<CoreServices, 'prisma' | 'logger'>): ServiceTokenDoor {
  const cache = new Map<string, { principal: ServiceTokenPrincipal; until: number }>();
  return {
    kind: 'serviceToken',
    claims: (credential) => credential.startsWith(serviceTokenPrefix),
    async verify(raw, request): Promise<CredentialCheck> {
      if (productMismatch(request, 'deepstore')) return { ok: false, reason: 'wrong_product' };
      const hash = sha256Hex(raw);
      const now = Date.now();
      const hit = cache.get(hash);
      if (hit && hit.until > now) return { ok: true, principal: hit.principal };
      if (hit) cache.delete(hash);
      const token = await prisma.logServiceToken.findUnique({
        where: { tokenHash: hash },
        select: { id: true, databaseId: true, revokedAt: true, lastUsedAt: true },
      });
      if (!token) return { ok: false, reason: 'invalid' };
      if (token.revokedAt) return { ok: false, reason: 'revoked' };
      if (!token.lastUsedAt || now - token.lastUsedAt.getTime() > lastUsedResolutionMs) {
        prisma.logServiceToken
          .updateMany({
            where: {
              id: token.id,
              OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now - lastUsedResolutionMs) } }],
            },
            data: { lastUsedAt: new Date(now) },
          })
          .catch((e: unknown) => logger.warn({ err: e, tokenId: token.id }, 'could not record last use'));
      }
      const principal: ServiceTokenPrincipal = {
        kind: 'serviceToken',
        id: token.id,
        product: 'deepstore',
        databaseId: token.databaseId,
      };
      if (cache.size >= maxCachedTokens) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(hash, { principal, until: now + serviceTokenCacheMs });
      return { ok: true, principal };
    },
    forgetDatabase(databaseId) {
      for (const [hash, entry] of cache) if (entry.principal.databaseId === databaseId) cache.delete(hash);
    },
  };
}
