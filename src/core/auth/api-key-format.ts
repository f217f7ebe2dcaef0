import type { Product } from './principal.ts';
import { randomHex, sha256Hex } from './secrets.ts';

/**
 * Raw key layout per product: a recognisable prefix (so secret scanners and logs can spot it) and
 * random hex. GoClaw's contract fixes `goclaw_` + 32 hex; Polykomos keys read `pk_live_…`.
 */
export const apiKeyFormats: Record<Product, { prefix: string; randomBytes: number }> = {
  atrium: { prefix: 'atr_', randomBytes: 24 },
  athena: { prefix: 'ath_', randomBytes: 24 },
  deepstore: { prefix: 'dsk_', randomBytes: 24 },
  polykomos: { prefix: 'pk_live_', randomBytes: 24 },
  goclaw: { prefix: 'goclaw_', randomBytes: 16 },
  mcp_v8: { prefix: 'mv8_', randomBytes: 24 },
};

/** Characters of the raw key kept in clear for identification ("first 8 chars"). */
export const displayPrefixLength = 8;

export interface GeneratedApiKey {
  raw: string;
  displayPrefix: string;
  hash: string;
  /** Athena keys read `ath_<public>.<secret>`: the public half (16 hex), stored in clear to name the key. */
  publicId?: string;
}

/** Generates a new raw key for a product; only `hash` (and an Athena key's `publicId`) may be stored. */
export function generateApiKey(product: Product): GeneratedApiKey {
  const format = apiKeyFormats[product];
  if (product === 'athena') {
    const publicId = randomHex(8);
    const raw = `${format.prefix}${publicId}.${randomHex(format.randomBytes)}`;
    return { raw, displayPrefix: raw.slice(0, displayPrefixLength), hash: sha256Hex(raw), publicId };
  }
  const raw = `${format.prefix}${randomHex(format.randomBytes)}`;
  return { raw, displayPrefix: raw.slice(0, displayPrefixLength), hash: sha256Hex(raw) };
}

/**
 * Scope vocabularies where a product's contract defines one. Products without one accept scope
 * names of a conservative shape until their module defines the list.
 */
export const productScopes: Partial<Record<Product, readonly string[]>> = {
  atrium: ['admin', 'read'],
  goclaw: ['operator.admin', 'operator.read', 'operator.write', 'operator.approvals', 'operator.pairing'],
  polykomos: [
    'databases:read',
    'databases:write',
    'blueprints:read',
    'blueprints:write',
    'queries:write',
    'webhooks:read',
    'webhooks:write',
  ],
};

const genericScope = /^[a-z][a-z0-9_.:-]{0,63}$/;

/** Returns the scopes that are not valid for the product (empty when all are valid). */
export function invalidScopes(product: Product, scopes: readonly string[]): string[] {
  const allowed = productScopes[product];
  return scopes.filter((s) => (allowed ? !allowed.includes(s) : !genericScope.test(s)));
}

/** The scope that lets a product's own keys manage that product's keys. */
export const productAdminScope: Partial<Record<Product, string>> = {
  atrium: 'admin',
  goclaw: 'operator.admin',
};
