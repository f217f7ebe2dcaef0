import { generateApiKey, invalidScopes } from '../../core/auth/api-key-format.ts';
import { canManageApiKeys } from '../../core/auth/policies.ts';
import { type Principal, type Product, principalId } from '../../core/auth/principal.ts';
import { ForbiddenError } from '../../core/graphql/graphql-errors.ts';
import type { Services } from '../../core/services.ts';
import { ApiKeyNotFoundError, InvalidApiKeyInputError } from './access.errors.ts';

export interface CreateApiKeyData {
  product: Product;
  name: string;
  scopes: readonly string[];
  /** Seconds until expiry; undefined, null or 0 means never. */
  expiresInSeconds?: number | null;
}

const maxExpirySeconds = 10 * 365 * 24 * 3600;

/**
 * Creates an API key and records the audit event; returns the id and the raw key (shown once).
 * Throws InvalidApiKeyInputError for bad names, scopes or expiry; ForbiddenError without the right.
 */
export async function createApiKey(
  services: Pick<Services, 'prisma' | 'pubsub'>,
  principal: Principal,
  input: CreateApiKeyData,
): Promise<{ apiKeyId: string; rawKey: string }> {
  if (!canManageApiKeys(principal, input.product)) throw new ForbiddenError('Not allowed to manage these API keys');
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) throw new InvalidApiKeyInputError('name must be 1 to 200 characters');
  const scopes = [...new Set(input.scopes)];
  if (scopes.length > 50) throw new InvalidApiKeyInputError('at most 50 scopes');
  const bad = invalidScopes(input.product, scopes);
  if (bad.length > 0) throw new InvalidApiKeyInputError(`unknown scope(s) for ${input.product}: ${bad.join(', ')}`);
  const ttl = input.expiresInSeconds ?? 0;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > maxExpirySeconds) {
    throw new InvalidApiKeyInputError(`expires_in must be an integer between 0 and ${maxExpirySeconds} seconds`);
  }
  const key = generateApiKey(input.product);
  const actor = principalId(principal);
  const [created, audit] = await services.prisma.$transaction(async (tx) => {
    const apiKey = await tx.apiKey.create({
      data: {
        product: input.product,
        name,
        prefix: key.displayPrefix,
        keyHash: key.hash,
        scopes,
        expiresAt: ttl > 0 ? new Date(Date.now() + ttl * 1000) : null,
        createdBy: actor,
      },
      select: { id: true },
    });
    const event = await tx.auditEvent.create({
      data: {
        action: 'apiKey.created',
        actorId: actor,
        subjectId: apiKey.id,
        data: { product: input.product, name, scopes },
      },
      select: { id: true },
    });
    return [apiKey, event] as const;
  });
  services.pubsub.publish('access.auditEventRecorded', { auditEventId: audit.id });
  return { apiKeyId: created.id, rawKey: key.raw };
}

/**
 * Revokes a key (idempotent: revoking a revoked key keeps the first revocation time).
 * Keys the principal may not manage are reported as not found, so their existence does not leak.
 */
export async function revokeApiKey(
  services: Pick<Services, 'prisma' | 'pubsub'>,
  principal: Principal,
  id: string,
  onlyProduct?: Product,
): Promise<{ apiKeyId: string }> {
  const existing = isUuid(id)
    ? await services.prisma.apiKey.findUnique({ where: { id }, select: { id: true, product: true, revokedAt: true } })
    : null;
  if (!existing || (onlyProduct !== undefined && existing.product !== onlyProduct)) throw new ApiKeyNotFoundError(id);
  if (!canManageApiKeys(principal, existing.product)) throw new ApiKeyNotFoundError(id);
  if (existing.revokedAt) return { apiKeyId: existing.id };
  const actor = principalId(principal);
  const audit = await services.prisma.$transaction(async (tx) => {
    const updated = await tx.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    if (updated.count === 0) return null; // a concurrent revoke won; it recorded the event
    return tx.auditEvent.create({
      data: { action: 'apiKey.revoked', actorId: actor, subjectId: id, data: { product: existing.product } },
      select: { id: true },
    });
  });
  if (audit) services.pubsub.publish('access.auditEventRecorded', { auditEventId: audit.id });
  return { apiKeyId: id };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => uuidPattern.test(s);
