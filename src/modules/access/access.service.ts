import { apiKeyFormats, generateApiKey, invalidScopes } from '../../core/auth/api-key-format.ts';
import { type CredentialCheck, type CredentialVerifier, productMismatch } from '../../core/auth/authenticator.ts';
import { publishCredentialRevoked } from '../../core/auth/credential-watch.ts';
import { canManageApiKeys } from '../../core/auth/policies.ts';
import { type Principal, type Product, principalId } from '../../core/auth/principal.ts';
import { sha256Hex } from '../../core/auth/secrets.ts';
import { AuthorizationError } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { ApiKeyNotFoundError, InvalidApiKeyInputError } from './access.errors.ts';
import { defaultKeyControls, type KeyControlService, type KeyControls, type KeyControlsInput } from './key-controls.ts';

export interface CreateApiKeyInput {
  product: Product;
  name: string;
  scopes: readonly string[];
  /** Seconds until expiry; undefined, null or 0 means never. */
  expiresInSeconds?: number | null;
}

export interface RevokeApiKeyInput {
  id: string;
  /** Only revoke a key of this product; another product's key answers ApiKeyNotFoundError. */
  product?: Product | null;
}

const maxExpirySeconds = 10 * 365 * 24 * 3600;
const apiKeyPrefixes = Object.values(apiKeyFormats).map((f) => f.prefix);
// last_used_at is informational; writing it on every request would turn reads into writes.
const lastUsedResolutionMs = 60_000;
/**
 * How long a verified key is remembered by this instance (its row and controls; rate limits and quotas still count
 * every request). Revocation drops it at once here and, through `credential.revoked`, on every replica; the
 * window only bounds a replica that missed that event. Control changes are dropped here at once, elsewhere
 * within the window.
 */
const verifiedKeyMemoryMs = 2_000;
const verifiedKeyMemoryMax = 10_000;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => uuidPattern.test(s);

type AccessDeps = Pick<CoreServices, 'prisma' | 'pubsub' | 'logger'> & { keyControls: KeyControlService };

/** API keys of every product (hashed, shown once, prefixed, last-used) and the audit trail of their changes. */
export class AccessService {
  /** Resolves API keys presented at any door (registered with the core authenticator). */
  readonly apiKeys: CredentialVerifier;

  /** Keys verified recently, by the hash of the raw key (the raw key itself is never kept). */
  private readonly verified = new Map<string, { row: VerifiedKeyRow; at: number }>();
  private readonly stopWatch: () => void;

  constructor(private readonly deps: AccessDeps) {
    const revocations = deps.pubsub.subscribe('credential.revoked')[Symbol.asyncIterator]();
    let stopped = false;
    this.stopWatch = () => {
      stopped = true;
      void revocations.return?.();
    };
    void (async () => {
      while (!stopped) {
        const next = await revocations.next();
        if (next.done) return;
        const ids = next.value.principalIds.filter((p) => p.startsWith('apikey:')).map((p) => p.slice(7));
        this.forget(ids);
      }
    })().catch((err: unknown) => deps.logger.warn({ err }, 'api key revocation watch ended'));
    this.apiKeys = {
      kind: 'apiKey',
      // Every product's key starts with its product's prefix (`goclaw_`, `pk_live_`, …).
      claims: (credential) => apiKeyPrefixes.some((prefix) => credential.startsWith(prefix)),
      verify: (credential, request) => this.verifyApiKey(credential, request),
    };
  }

  /**
   * Creates an API key and records the audit event; returns the id and the raw key (shown once).
   * Throws InvalidApiKeyInputError for bad names, scopes or expiry; AuthorizationError without the right.
   */
  async createApiKey(principal: Principal, input: CreateApiKeyInput): Promise<{ apiKeyId: string; rawKey: string }> {
    if (!canManageApiKeys(principal, input.product)) {
      throw new AuthorizationError('Not allowed to manage these API keys', principal);
    }
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
    const [created, audit] = await this.deps.prisma.$transaction(async (tx) => {
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
    this.deps.pubsub.publish('access.auditEventRecorded', { auditEventId: audit.id });
    return { apiKeyId: created.id, rawKey: key.raw };
  }

  /**
   * Revokes a key (idempotent: revoking a revoked key keeps the first revocation time).
   * Keys the principal may not manage are reported as not found, so their existence does not leak.
   */
  async revokeApiKey(principal: Principal, input: RevokeApiKeyInput): Promise<{ apiKeyId: string }> {
    const { id } = input;
    const { prisma, pubsub } = this.deps;
    const existing = isUuid(id)
      ? await prisma.apiKey.findUnique({ where: { id }, select: { id: true, product: true, revokedAt: true } })
      : null;
    if (!existing || (input.product && existing.product !== input.product)) throw new ApiKeyNotFoundError(id);
    if (!canManageApiKeys(principal, existing.product)) throw new ApiKeyNotFoundError(id);
    if (existing.revokedAt) return { apiKeyId: existing.id };
    const actor = principalId(principal);
    // From here on this instance re-reads the key (the revocation event does the same on the others).
    this.forget([id]);
    const audit = await prisma.$transaction(async (tx) => {
      const updated = await tx.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
      if (updated.count === 0) return null; // a concurrent revoke won; it recorded the event
      return tx.auditEvent.create({
        data: { action: 'apiKey.revoked', actorId: actor, subjectId: id, data: { product: existing.product } },
        select: { id: true },
      });
    });
    this.forget([id]);
    if (audit) {
      pubsub.publish('access.auditEventRecorded', { auditEventId: audit.id });
      // Open subscriptions of this key end now, on every replica.
      publishCredentialRevoked(pubsub, [
        principalId({ kind: 'apiKey', id, product: existing.product, name: '', scopes: [] }),
      ]);
    }
    return { apiKeyId: id };
  }

  private async verifyApiKey(
    raw: string,
    request: Parameters<CredentialVerifier['verify']>[1],
  ): Promise<CredentialCheck> {
    const { prisma, logger } = this.deps;
    const hash = sha256Hex(raw);
    const key = await this.keyRow(hash);
    if (!key) return { ok: false, reason: 'invalid' };
    if (key.revokedAt) return { ok: false, reason: 'revoked' };
    const now = Date.now();
    if (key.expiresAt && key.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };
    if (productMismatch(request, key.product)) return { ok: false, reason: 'wrong_product' };
    // The controls see the use before this one; a refused request is not a use (else retrying would defeat the
    // inactivity expiry).
    const previousUse = key.lastUsedAt ?? key.createdAt;
    const controls: KeyControls = key.hasControls
      ? {
          requestsPerMinute: key.requestsPerMinute,
          monthlyQuota: key.monthlyQuota,
          allowedIpList: key.allowedIpList ?? [],
          inactiveTtlDays: key.inactiveTtlDays,
        }
      : defaultKeyControls(key.product);
    const refusal = await this.deps.keyControls.check(key, previousUse, request.remoteAddress, new Date(now), controls);
    if (refusal) return { ok: false, reason: 'refused', refusal };
    if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > lastUsedResolutionMs) {
      key.lastUsedAt = new Date(now);
      prisma.apiKey
        .updateMany({
          where: {
            id: key.id,
            OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now - lastUsedResolutionMs) } }],
          },
          data: { lastUsedAt: new Date(now) },
        })
        .catch((e: unknown) => logger.warn({ err: e, apiKeyId: key.id }, 'could not record last use'));
    }
    return {
      ok: true,
      principal: {
        kind: 'apiKey',
        id: key.id,
        product: key.product,
        name: key.name,
        scopes: key.scopes,
        ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
      },
      previousUse,
    };
  }

  /** A key's controls for modules that show them (Polykomos' /me); no authorization check, the caller did it. */
  controlsOf(apiKeyId: string, product: Product): Promise<KeyControls> {
    return this.deps.keyControls.get(apiKeyId, product);
  }

  /** A key's controls (its row or its product's defaults); keys the principal may not manage are not found. */
  async keyControls(principal: Principal, apiKeyId: string): Promise<KeyControls> {
    const key = await this.manageableKey(principal, apiKeyId);
    return this.deps.keyControls.get(key.id, key.product);
  }

  /**
   * Sets a key's controls (rate, quota, IP allowlist, inactivity); absent fields keep their value. Admins and the
   * key's product admins only; others get ApiKeyNotFoundError. Bad values are InvalidApiKeyInputError.
   */
  async setKeyControls(principal: Principal, apiKeyId: string, input: KeyControlsInput): Promise<KeyControls> {
    const key = await this.manageableKey(principal, apiKeyId);
    const controls = await this.deps.keyControls.set(key.id, key.product, input);
    this.forget([key.id]);
    return controls;
  }

  private async manageableKey(principal: Principal, id: string): Promise<{ id: string; product: Product }> {
    const key = isUuid(id)
      ? await this.deps.prisma.apiKey.findUnique({ where: { id }, select: { id: true, product: true } })
      : null;
    if (!key || !canManageApiKeys(principal, key.product)) throw new ApiKeyNotFoundError(id);
    return key;
  }

  close(): Promise<void> {
    this.stopWatch();
    return this.deps.keyControls.close();
  }

  /**
   * The key and its controls in one round trip, remembered for a moment (this runs on every request a key makes).
   * Lookup by the hash of the presented key: equal hashes mean equal keys, and the comparison happens inside the
   * database index on a value the caller cannot steer byte by byte. Unknown keys are not remembered.
   */
  private async keyRow(hash: string): Promise<VerifiedKeyRow | undefined> {
    const now = Date.now();
    const hit = this.verified.get(hash);
    if (hit && now - hit.at < verifiedKeyMemoryMs) return hit.row;
    const [row] = await this.deps.prisma.$queryRaw<VerifiedKeyRow[]>`
      SELECT k.id, k.product::text AS product, k.name, k.scopes, k.expires_at AS "expiresAt",
             k.revoked_at AS "revokedAt", k.last_used_at AS "lastUsedAt", k.created_at AS "createdAt",
             c.api_key_id IS NOT NULL AS "hasControls", c.requests_per_minute AS "requestsPerMinute",
             c.monthly_quota AS "monthlyQuota", c.allowed_ip_list AS "allowedIpList",
             c.inactive_ttl_days AS "inactiveTtlDays"
        FROM api_keys k LEFT JOIN api_key_controls c ON c.api_key_id = k.id
       WHERE k.key_hash = ${hash}`;
    if (!row) {
      this.verified.delete(hash);
      return undefined;
    }
    if (this.verified.size >= verifiedKeyMemoryMax) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.delete(hash);
    this.verified.set(hash, { row, at: now });
    return row;
  }

  /** Drops remembered keys (revoked, controls changed). */
  private forget(apiKeyIds: string[]): void {
    if (apiKeyIds.length === 0) return;
    const ids = new Set(apiKeyIds);
    for (const [hash, entry] of this.verified) if (ids.has(entry.row.id)) this.verified.delete(hash);
  }
}

/** What the verifier reads for a presented key: the key and its controls row (LEFT JOIN: null columns without one). */
interface VerifiedKeyRow {
  id: string;
  product: Product;
  name: string;
  scopes: string[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
  hasControls: boolean;
  requestsPerMinute: number | null;
  monthlyQuota: number | null;
  allowedIpList: string[] | null;
  inactiveTtlDays: number | null;
}
