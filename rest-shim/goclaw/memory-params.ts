import { InvalidInputError } from '../../src/core/errors.ts';
import type { RestRequest } from '../engine/types.ts';
import { headerValue } from './answer.ts';

/*
 * Shared by the memory and knowledge-graph groups: the contract gives them no request schema (search declares
 * `query` and `limit` only), so query strings and bodies are read here and a wrong type is a 400 in `Error` shape.
 */

export const bad = (message: string) => new InvalidInputError(message);

export const one = (req: RestRequest, key: string) => {
  const v = req.query[key];
  return Array.isArray(v) ? v[0] : v;
};

/** A query integer in [min, max], `fallback` when absent. */
export function queryInt(req: RestRequest, key: string, fallback: number, min: number, max: number): number {
  const raw = one(req, key);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw bad(`query.${key}: must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** The JSON object body (an absent body is `{}`). */
export function bodyOf(req: RestRequest): Record<string, unknown> {
  const body = req.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  return body as Record<string, unknown>;
}

export function str(body: Record<string, unknown>, key: string): string | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw bad(`body.${key}: must be string`);
  return v;
}

export function num(body: Record<string, unknown>, key: string, integer: boolean): number | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw bad(`body.${key}: must be ${integer ? 'an integer' : 'a number'}`);
  }
  return v;
}

export const headerUser = (req: RestRequest) => headerValue(req.headers['x-goclaw-user-id']) ?? null;
export const epochMs = (iso: string) => Date.parse(iso);
