import { GoClawInvalidInputError } from './agent-tools.errors.ts';

/*
 * The part of JSON Schema custom-tool parameters may use, checked when a tool is saved and applied to arguments
 * before a run: `type` (string, number, integer, boolean, object, array, null), `properties`, `required`,
 * `items`, `enum`, `description`, `default`, `additionalProperties` (boolean). Other keywords are refused rather
 * than silently ignored, so a schema never promises a check that does not happen.
 */
const types = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
const keywords = new Set([
  'type',
  'properties',
  'required',
  'items',
  'enum',
  'description',
  'default',
  'additionalProperties',
  'title',
  '$schema',
]);

export type ParameterSchema = Record<string, unknown>;

/** Checks a tool's parameters schema: an object schema built from the supported keywords. */
export function checkParameterSchema(value: unknown): ParameterSchema {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GoClawInvalidInputError('parameters must be a JSON Schema object');
  }
  const schema = value as ParameterSchema;
  if (schema.type !== 'object') throw new GoClawInvalidInputError('parameters.type must be "object"');
  if (JSON.stringify(schema).length > 65_536) throw new GoClawInvalidInputError('parameters: at most 64 KiB');
  checkNode(schema, 'parameters', 0);
  return schema;
}

function checkNode(node: unknown, at: string, depth: number): void {
  if (depth > 10) throw new GoClawInvalidInputError(`${at}: nests deeper than 10 levels`);
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    throw new GoClawInvalidInputError(`${at} must be a schema object`);
  }
  const s = node as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!keywords.has(k)) throw new GoClawInvalidInputError(`${at}: the keyword "${k.slice(0, 50)}" is not supported`);
  }
  if (s.type !== undefined && (typeof s.type !== 'string' || !types.has(s.type))) {
    throw new GoClawInvalidInputError(`${at}.type must be one of ${[...types].join(', ')}`);
  }
  if (s.properties !== undefined) {
    if (s.properties === null || typeof s.properties !== 'object' || Array.isArray(s.properties)) {
      throw new GoClawInvalidInputError(`${at}.properties must be an object`);
    }
    for (const [k, v] of Object.entries(s.properties)) checkNode(v, `${at}.properties.${k.slice(0, 50)}`, depth + 1);
  }
  if (s.required !== undefined && (!Array.isArray(s.required) || s.required.some((r) => typeof r !== 'string'))) {
    throw new GoClawInvalidInputError(`${at}.required must be an array of strings`);
  }
  if (s.items !== undefined) checkNode(s.items, `${at}.items`, depth + 1);
  if (s.enum !== undefined && (!Array.isArray(s.enum) || s.enum.length === 0)) {
    throw new GoClawInvalidInputError(`${at}.enum must be a non-empty array`);
  }
  if (s.additionalProperties !== undefined && typeof s.additionalProperties !== 'boolean') {
    throw new GoClawInvalidInputError(`${at}.additionalProperties must be a boolean`);
  }
}

/** The problems of `value` against `schema` (empty when it conforms). */
export function validateArguments(schema: ParameterSchema, value: unknown): string[] {
  const problems: string[] = [];
  check(schema, value, 'args', problems);
  return problems.slice(0, 20);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function check(schema: Record<string, unknown>, value: unknown, at: string, problems: string[]): void {
  const actual = typeOf(value);
  const want = schema.type as string | undefined;
  if (want && !(want === actual || (want === 'number' && actual === 'integer'))) {
    problems.push(`${at} must be ${want}, not ${actual}`);
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    problems.push(`${at} must be one of ${JSON.stringify(schema.enum).slice(0, 200)}`);
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const r of (schema.required ?? []) as string[]) {
      if (!(r in obj)) problems.push(`${at}.${r} is required`);
    }
    for (const [k, v] of Object.entries(obj)) {
      const sub = props[k];
      if (sub) check(sub, v, `${at}.${k}`, problems);
      else if (schema.additionalProperties === false) problems.push(`${at}.${k} is not a declared parameter`);
    }
  }
  if (actual === 'array' && schema.items) {
    const items = schema.items as Record<string, unknown>;
    for (const [i, item] of (value as unknown[]).entries()) check(items, item, `${at}[${i}]`, problems);
  }
}
