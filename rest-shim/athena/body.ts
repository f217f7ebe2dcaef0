import { AthenaInvalidInputError } from '../../src/modules/athena/athena.errors.ts';
import type { RestRequest } from '../engine/types.ts';

/*
 * Typed reads of a JSON request body (and of integer query parameters) for Athena's management groups: each a 400
 * in Athena's envelope naming the field, before GraphQL's own coercion would answer in its terms.
 */

export type Body = Record<string, unknown>;

export function bodyOf(req: RestRequest): Body {
  const b = req.body;
  if (b === undefined) return {};
  if (b === null || typeof b !== 'object' || Array.isArray(b) || Buffer.isBuffer(b)) {
    throw new AthenaInvalidInputError('the body must be a JSON object');
  }
  return b as Body;
}

export function str(b: Body, field: string): string | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new AthenaInvalidInputError(`${field} must be a string`);
  return v;
}

export function nullableStr(b: Body, field: string): string | null | undefined {
  return b[field] === null ? null : str(b, field);
}

export function bool(b: Body, field: string): boolean | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new AthenaInvalidInputError(`${field} must be a boolean`);
  return v;
}

export function strings(b: Body, field: string): string[] | undefined {
  const v = b[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw new AthenaInvalidInputError(`${field} must be an array of strings`);
  }
  if (v.length > 1000) throw new AthenaInvalidInputError(`${field}: at most 1000 entries`);
  return v as string[];
}

export function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new AthenaInvalidInputError(`${field} is required`, 'missing_required_field');
  return value;
}

/** A non-negative integer query parameter. */
export function queryInt(req: RestRequest, name: string, fallback: number, max: number): number {
  const raw = req.query[name];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined || v === '') return fallback;
  if (!/^\d{1,7}$/.test(v) || Number(v) > max) {
    throw new AthenaInvalidInputError(`${name} must be an integer from 0 to ${max}`, 'invalid_parameter');
  }
  return Number(v);
}

export function object(b: Body, field: string): Record<string, unknown> | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new AthenaInvalidInputError(`${field} must be a JSON object`);
  }
  return v as Record<string, unknown>;
}
