import { apiKeyFormats, generateApiKey, invalidScopes } from '../../core/auth/api-key-format.ts';
import { type CredentialCheck, type CredentialVerifier, productMismatch } from '../../core/auth/authenticator.ts';
import { publishCredentialRevoked } from '../../core/auth/credential-watch.ts';
import { canManageApiKeys } from '../../core/auth/policies.ts';
import { type Principal, type Product, principalId } from '../../core/auth/principal.ts';
import { sha256Hex } from '../../core/auth/secrets.ts';
import { AuthorizationError } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { ApiKeyNotFoundError, InvalidApiKeyInputError } from './access.errors.ts';
import { CidrSet, clientAddress } from './ip-address.ts';
import { IpPolicyService, type VirginInput } from './ip-policy.ts';
import { defaultKeyControls, type KeyControlService, type KeyControls, type KeyControlsInput } from './key-controls.ts';

export interface CreateApiKeyInput {
  product: Product;
  name: string;
  scopes: readonly string[];
  /** Seconds until expiry; undefined, null or 0 means never. */
  expiresInSeconds?: number | null;
  /** An absolute expiry instead of `expiresInSeconds` (must be in the future). */
  expiresAt?: Date | null;
  description?: string | null;
  /** The key's IP policy at creation (virgin mode, initial lists); Athena keys always get a policy row. */
  ipPolicy?: VirginInput;
}

export interface UpdateApiKeyInput {
  name?: string;
  description?: string | null;
  /** Replaces the scopes. */
  scopes?: readonly string[];
  expiresAt?: Date | null;
  isActive?: boolean;
}

/** The key's columns as the IP-policy and Athena views read them. */
export interface ApiKeyRow {
  id: string;
  product: Product;
  name: string;
  prefix: string;
  publicId: string | null;
  description: string | null;
  scopes: string[];
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  isActive: boolean;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
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

type AccessDeps = Pick<CoreServices, 'prisma' | 'pubsub' | 'logger'> & {
  keyControls: KeyControlService;
  /** Proxies whose X-Forwarded-For is believed (normalised CIDRs). */
  trustedProxies?: string[];
};

/** Products whose keys the IP policy (global and per-key rules, virgin mode) applies to: Athena's contract. */
const ipPolicyProducts: readonly Product[] = ['athena'];

/** API keys of every product (hashed, shown once, prefixed, last-used) and the audit trail of their changes. */
export class AccessService {
  /** Resolves API keys presented at any door (registered with the core authenticator). */
  readonly apiKeys: CredentialVerifier;

  /** Keys verified recently, by the hash of the raw key (the raw key itself is never kept). */
  private readonly verified = new Map<string, { row: VerifiedKeyRow; at: number }>();
  private readonly stopWatch: () => void;
  private readonly trusted: CidrSet;
  /** Per-key and global IP rules, seen addresses, virgin keys. */
  readonly ip: IpPolicyService;

  constructor(private readonly deps: AccessDeps) {
    this.trusted = new CidrSet(deps.trustedProxies ?? []);
    this.ip = new IpPolicyService({
      prisma: deps.prisma,
      pubsub: deps.pubsub,
      logger: deps.logger,
      changed: (id) => this.forget([id]),
    });
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
    checkExpiry(input.expiresAt);
    const description = checkDescription(input.description);
    const key = generateApiKey(input.product);
    const actor = principalId(principal);
    const [created, audit] = await this.deps.prisma.$transaction(async (tx) => {
      const apiKey = await tx.apiKey.create({
        data: {
          product: input.product,
          name,
          prefix: key.displayPrefix,
          keyHash: key.hash,
          publicId: key.publicId ?? null,
          description,
          scopes,
          expiresAt: input.expiresAt ?? (ttl > 0 ? new Date(Date.now() + ttl * 1000) : null),
          createdBy: actor,
        },
        select: { id: true },
      });
      if (input.ipPolicy || ipPolicyProducts.includes(input.product)) {
        await this.ip.createPolicy(tx, apiKey.id, input.ipPolicy ?? {});
      }
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

  /** A key's row (any product the principal manages; deleted keys included); others ApiKeyNotFoundError. */
  async apiKeyRow(principal: Principal, id: string, product?: Product): Promise<ApiKeyRow> {
    const key = isUuid(id) ? await this.deps.prisma.apiKey.findUnique({ where: { id }, select: rowSelect }) : null;
    if (!key || (product && key.product !== product) || !canManageApiKeys(principal, key.product)) {
      throw new ApiKeyNotFoundError(id);
    }
    return key;
  }

  /** Live (not deleted) keys of a product, newest first. */
  async listApiKeys(
    principal: Principal,
    product: Product,
    page: { limit: number; offset: number },
  ): Promise<{ rows: ApiKeyRow[]; total: number }> {
    if (!canManageApiKeys(principal, product))
      throw new AuthorizationError('Not allowed to manage these API keys', principal);
    const where = { product, deletedAt: null };
    const [rows, total] = await Promise.all([
      this.deps.prisma.apiKey.findMany({
        where,
        select: rowSelect,
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
        take: page.limit,
        skip: page.offset,
      }),
      this.deps.prisma.apiKey.count({ where }),
    ]);
    return { rows, total };
  }

  /**
   * Changes a key (not a deleted one: ApiKeyNotFoundError). A change of what the key may do (scopes, activity,
   * expiry) takes effect on the next request everywhere and ends its open subscriptions.
   */
  async updateApiKey(
    principal: Principal,
    id: string,
    input: UpdateApiKeyInput,
    product?: Product,
  ): Promise<ApiKeyRow> {
    const existing = await this.apiKeyRow(principal, id, product);
    if (existing.deletedAt) throw new ApiKeyNotFoundError(id);
    const name = input.name?.trim();
    if (name !== undefined && (name.length === 0 || name.length > 200)) {
      throw new InvalidApiKeyInputError('name must be 1 to 200 characters');
    }
    let scopes: string[] | undefined;
    if (input.scopes !== undefined) {
      scopes = [...new Set(input.scopes)];
      if (scopes.length > 50) throw new InvalidApiKeyInputError('at most 50 scopes');
      const bad = invalidScopes(existing.product, scopes);
      if (bad.length > 0) {
        throw new InvalidApiKeyInputError(`unknown scope(s) for ${existing.product}: ${bad.join(', ')}`);
      }
    }
    if (input.expiresAt !== undefined) checkExpiry(input.expiresAt);
    const description = input.description === undefined ? undefined : checkDescription(input.description);
    const actor = principalId(principal);
    const [row, audit] = await this.deps.prisma.$transaction(async (tx) => {
      const updated = await tx.apiKey.update({
        where: { id: existing.id },
        data: {
          ...(name !== undefined ? { name } : {}),
          ...(description !== undefined ? { description } : {}),
          ...(scopes !== undefined ? { scopes } : {}),
          ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
          ...(input.isActive !== undefined ? { isActive: input.isActive } : {}),
        },
        select: rowSelect,
      });
      const event = await tx.auditEvent.create({
        data: {
          action: 'apiKey.updated',
          actorId: actor,
          subjectId: existing.id,
          data: JSON.parse(JSON.stringify({ product: existing.product, ...input })),
        },
        select: { id: true },
      });
      return [updated, event] as const;
    });
    this.deps.pubsub.publish('access.auditEventRecorded', { auditEventId: audit.id });
    if (scopes !== undefined || input.isActive !== undefined || input.expiresAt !== undefined) {
      this.keysChanged([existing.id], existing.product);
    }
    return row;
  }

  /** Soft delete: the key is revoked (next request refused, subscriptions end) and hidden from lists. */
  async deleteApiKey(principal: Principal, id: string, product?: Product): Promise<ApiKeyRow> {
    const existing = await this.apiKeyRow(principal, id, product);
    if (existing.deletedAt) throw new ApiKeyNotFoundError(id);
    await this.revokeApiKey(principal, { id, product: product ?? null });
    return this.deps.prisma.apiKey.update({
      where: { id: existing.id },
      data: { deletedAt: new Date(), isActive: false },
      select: rowSelect,
    });
  }

  /**
   * What some keys may do changed outside their row's control (a right renamed, IP rules, …): every instance
   * re-reads them on their next request, and their open subscriptions end (they reconnect under the new rules).
   */
  keysChanged(apiKeyIds: string[], product: Product): void {
    if (apiKeyIds.length === 0) return;
    this.forget(apiKeyIds);
    publishCredentialRevoked(
      this.deps.pubsub,
      apiKeyIds.map((id) => principalId({ kind: 'apiKey', id, product, name: '', scopes: [] })),
    );
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
    if (key.revokedAt || !key.isActive) return { ok: false, reason: 'revoked' };
    const now = Date.now();
    if (key.expiresAt && key.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };
    if (productMismatch(request, key.product)) return { ok: false, reason: 'wrong_product' };
    const address = clientAddress(request.remoteAddress, request.forwardedFor, this.trusted);
    let learning: boolean | undefined;
    if (ipPolicyProducts.includes(key.product)) {
      const decision = await this.ip.decide(
        {
          id: key.id,
          clientName: key.scopes.find((s) => s.startsWith('client:'))?.slice(7),
          virginMode: key.virginMode === true,
          virginResolved: key.virginResolved === true,
          whitelist: key.whitelist ?? [],
          blacklist: key.blacklist ?? [],
        },
        address,
      );
      if (!decision.allowed) {
        return {
          ok: false,
          reason: 'refused',
          refusal: { status: 403, code: 'ip_not_allowed', message: decision.reason, graphqlCode: 'FORBIDDEN' },
        };
      }
      learning = decision.learning;
    }
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
    const refusal = await this.deps.keyControls.check(key, previousUse, address, new Date(now), controls);
    if (refusal) return { ok: false, reason: 'refused', refusal };
    // Seen addresses and virgin counters are written off the response path (coalesced).
    if (learning !== undefined) this.ip.observe(key.id, address, learning);
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

  async close(): Promise<void> {
    this.stopWatch();
    await this.ip.close();
    await this.deps.keyControls.close();
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
             c.inactive_ttl_days AS "inactiveTtlDays", k.is_active AS "isActive",
             p.virgin_mode AS "virginMode", p.virgin_resolved AS "virginResolved",
             CASE WHEN p.api_key_id IS NOT NULL THEN ARRAY(
               SELECT r.addr FROM api_key_ip_rules r WHERE r.api_key_id = k.id AND r.kind = 'whitelist') END
               AS whitelist,
             CASE WHEN p.api_key_id IS NOT NULL THEN ARRAY(
               SELECT r.addr FROM api_key_ip_rules r WHERE r.api_key_id = k.id AND r.kind = 'blacklist') END
               AS blacklist
        FROM api_keys k LEFT JOIN api_key_controls c ON c.api_key_id = k.id
             LEFT JOIN api_key_ip_policies p ON p.api_key_id = k.id
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

  /** Drops remembered keys (revoked, controls or IP rules changed) on this instance. */
  forget(apiKeyIds: string[]): void {
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
  isActive: boolean;
  virginMode: boolean | null;
  virginResolved: boolean | null;
  whitelist: string[] | null;
  blacklist: string[] | null;
}

const rowSelect = {
  id: true,
  product: true,
  name: true,
  prefix: true,
  publicId: true,
  description: true,
  scopes: true,
  expiresAt: true,
  lastUsedAt: true,
  revokedAt: true,
  isActive: true,
  deletedAt: true,
  createdAt: true,
  updatedAt: true,
} as const;

function checkExpiry(at: Date | null | undefined): void {
  if (at === undefined || at === null) return;
  if (Number.isNaN(at.getTime())) throw new InvalidApiKeyInputError('expires_at is not a date-time');
  if (at.getTime() <= Date.now()) throw new InvalidApiKeyInputError('expires_at must be in the future');
  if (at.getTime() > Date.now() + maxExpirySeconds * 1000) {
    throw new InvalidApiKeyInputError('expires_at is more than ten years away');
  }
}

function checkDescription(d: string | null | undefined): string | null {
  if (d === undefined || d === null) return null;
  if (d.length > 2000) throw new InvalidApiKeyInputError('description must be at most 2000 characters');
  return d;
}
