import type { SecretBox } from '../../core/auth/secret-box.ts';
import { GoClawInvalidInputError } from './agent-tools.errors.ts';

/** The masked value reads return for every secret; sent back in an update, it means "keep the stored value". */
export const masked = '***';

/** A `{name: value}` map of strings (env, headers, credentials), checked: at most 100 entries, bounded sizes. */
export function stringMap(field: string, value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GoClawInvalidInputError(`${field} must be an object of strings`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 100) throw new GoClawInvalidInputError(`${field}: at most 100 entries`);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new GoClawInvalidInputError(`${field}.${k.slice(0, 100)} must be a string`);
    if (k.length === 0 || k.length > 200 || v.length > 8192) {
      throw new GoClawInvalidInputError(`${field}: names are 1-200 characters, values at most 8192`);
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Seals a map (null when empty). */
export function sealMap(box: SecretBox, map: Record<string, string> | undefined): string | null {
  return map && Object.keys(map).length > 0 ? box.sealJson(map) : null;
}

export function openMap(box: SecretBox, sealed: string | null): Record<string, string> {
  return sealed ? (box.openJson(sealed) as Record<string, string>) : {};
}

/** The names of a sealed map with every value masked. */
export function maskMap(box: SecretBox, sealed: string | null): Record<string, string> {
  return Object.fromEntries(Object.keys(openMap(box, sealed)).map((k) => [k, masked]));
}

/**
 * An update of a sealed map: absent keeps it, otherwise the new map replaces it, where a value of `***` keeps
 * that entry's stored value (so a client can send back what it read).
 */
export function mergeMap(
  box: SecretBox,
  field: string,
  sealed: string | null,
  update: unknown,
): string | null | undefined {
  if (update === undefined) return undefined;
  if (update === null) return null;
  const next = stringMap(field, update);
  const stored = openMap(box, sealed);
  for (const [k, v] of Object.entries(next)) {
    if (v === masked) {
      const old = stored[k];
      if (old === undefined) throw new GoClawInvalidInputError(`${field}.${k}: "***" names no stored value`);
      next[k] = old;
    }
  }
  return sealMap(box, next);
}
