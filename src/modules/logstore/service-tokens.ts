import type { CredentialCheck, CredentialVerifier } from '../../core/auth/authenticator.ts';
import { productMismatch } from '../../core/auth/authenticator.ts';
import { sha256Hex } from '../../core/auth/secrets.ts';
import type { CoreServices } from '../../core/services.ts';

/** Prefix of DeepStore service tokens (opaque, bound to one log database). */
export const serviceTokenPrefix = 'dss_';

// last_used_at is informational; writing it on every request would turn reads into writes.
const lastUsedResolutionMs = 60_000;

/**
 * DeepStore service tokens (`dss_…`): looked up by SHA-256 like API keys; revoked or orphaned → refused. They belong
 * to one DeepStore database, so every other product's door refuses them.
 */
export function serviceTokenVerifier({ prisma, logger }: Pick<CoreServices, 'prisma' | 'logger'>): CredentialVerifier {
  return {
    kind: 'serviceToken',
    claims: (credential) => credential.startsWith(serviceTokenPrefix),
    async verify(raw, request): Promise<CredentialCheck> {
      if (productMismatch(request, 'deepstore')) return { ok: false, reason: 'wrong_product' };
      const token = await prisma.logServiceToken.findUnique({
        where: { tokenHash: sha256Hex(raw) },
        select: { id: true, databaseId: true, revokedAt: true, lastUsedAt: true },
      });
      if (!token) return { ok: false, reason: 'invalid' };
      if (token.revokedAt) return { ok: false, reason: 'revoked' };
      const now = Date.now();
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
      return {
        ok: true,
        principal: { kind: 'serviceToken', id: token.id, product: 'deepstore', databaseId: token.databaseId },
      };
    },
  };
}
