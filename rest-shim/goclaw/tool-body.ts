import { encodeGlobalID } from '@pothos/plugin-relay';
import { InvalidInputError } from '../../src/core/errors.ts';
import type { RestRequest, RestResponse } from '../engine/types.ts';

/*
 * Shared by the GoClaw tool-catalogue groups (MCP servers, tools, skills): the contract gives these operations no
 * request schema, so bodies are read here field by field and a wrong type is a 400 in the contract's `Error` shape.
 */

/** The JSON body as an object (400 for anything else). */
export function jsonBody(req: RestRequest): Record<string, unknown> {
  const body = req.body;
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw new InvalidInputError('body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

type Kind = 'string' | 'number' | 'boolean';

function field<T>(body: Record<string, unknown>, name: string, kind: Kind): T | null | undefined {
  const v = body[name];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== kind || (kind === 'number' && !Number.isInteger(v))) {
    throw new InvalidInputError(`${name} must be ${kind === 'number' ? 'an integer' : `a ${kind}`}`);
  }
  return v as T;
}

export const str = (b: Record<string, unknown>, name: string) => field<string>(b, name, 'string');
export const int = (b: Record<string, unknown>, name: string) => field<number>(b, name, 'number');
export const bool = (b: Record<string, unknown>, name: string) => field<boolean>(b, name, 'boolean');

/** An array of strings, or absent. */
export function strings(b: Record<string, unknown>, name: string): string[] | null | undefined {
  const v = b[name];
  if (v === undefined || v === null) return v as null | undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw new InvalidInputError(`${name} must be an array of strings`);
  }
  return v as string[];
}

/** A JSON object, or absent (null passes through: "remove"). */
export function object(b: Record<string, unknown>, name: string): Record<string, unknown> | null | undefined {
  const v = b[name];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidInputError(`${name} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** Drops undefined values (GraphQL input fields that are absent keep their stored values). */
export function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The global id of a REST uuid (an unknown or malformed id simply finds nothing). */
export const globalId = (type: string, req: RestRequest, param = 'id') => encodeGlobalID(type, req.params[param] ?? '');

const statusOf: Record<string, number> = {
  GOCLAW_NOT_FOUND: 404,
  GOCLAW_INVALID_INPUT: 400,
  GOCLAW_CONFLICT: 409,
  GOCLAW_MCP_UNAVAILABLE: 502,
  GOCLAW_TOOL_RUN_FAILED: 422,
};

/** A GraphQL error-union member as GoClaw's `{error}` answer. */
export function failure(result: { message: string; code: string }): RestResponse {
  return { status: statusOf[result.code] ?? 400, body: { error: result.message } };
}

export const notFound = (what: string, req: RestRequest, param = 'id'): RestResponse => ({
  status: 404,
  body: { error: `${what} "${(req.params[param] ?? '').slice(0, 200)}" not found` },
});

/** `limit` (1-1000, default 50) and `offset` (≥ 0) from the query string. */
export function paging(req: RestRequest): { limit: number; offset: number } {
  const read = (name: string, fallback: number, min: number, max: number) => {
    const raw = req.query[name];
    if (raw === undefined) return fallback;
    const text = Array.isArray(raw) ? raw[0] : raw;
    if (!/^\d{1,7}$/.test(text ?? '')) throw new InvalidInputError(`${name} must be an integer`);
    const n = Number(text);
    if (n < min || n > max) throw new InvalidInputError(`${name} must be between ${min} and ${max}`);
    return n;
  };
  return { limit: read('limit', 50, 1, 1000), offset: read('offset', 0, 0, 1_000_000) };
}

/** One query value (the first when repeated). */
export function queryValue(req: RestRequest, name: string): string | undefined {
  const raw = req.query[name];
  return Array.isArray(raw) ? raw[0] : raw;
}
