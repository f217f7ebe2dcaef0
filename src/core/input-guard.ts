/**
 * Input that no door lets through: U+0000 anywhere in a string (PostgreSQL refuses it in text and JSON, so it would
 * surface as a 500 deep inside a service), control characters in identifiers (path and query parameters), and
 * dot segments or backslashes in a raw request path (the URL parser resolves `%2e%2e` and `\`, which would leave
 * a product prefix). Pure functions, used by the HTTP layer, the REST engine and the GraphQL input plugin.
 */

const nul = '\u0000';
// C0 controls and DEL; identifiers (path segments, query values) never carry them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f]/;

/** Whether a string carries U+0000. */
export function hasNul(value: string): boolean {
  return value.includes(nul);
}

/** Whether a string carries a C0 control character or DEL. */
export function hasControlCharacter(value: string): boolean {
  return controlCharacters.test(value);
}

/**
 * The location (`name`, `tags[2]`, `meta.key`) of the first string or key carrying U+0000 in a JSON-shaped value,
 * or undefined when there is none. Depth-bounded by the value itself (JSON.parse output is a tree).
 */
export function findNul(value: unknown, at = ''): string | undefined {
  if (typeof value === 'string') return hasNul(value) ? at || '(value)' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], `${at}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value instanceof Date || ArrayBuffer.isView(value)) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const where = at ? `${at}.${key}` : key;
    if (hasNul(key)) return where.replaceAll(nul, '\\u0000');
    const found = findNul(inner, where);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** JSON bodies nest at most this deep: validators and walkers recurse, and no contract needs more. */
export const maxJsonDepth = 64;

/** Whether a parsed JSON value nests deeper than `max` arrays/objects (iterative: safe on any input). */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const inner of Array.isArray(node) ? node : Object.values(node)) {
      if (inner !== null && typeof inner === 'object') stack.push([inner, depth + 1]);
    }
  }
  return false;
}

/** The path of a request target (`/a/b?x` → `/a/b`), as the client sent it (no decoding, no normalisation). */
export function rawPathOf(target: string | undefined): string {
  const t = target ?? '/';
  const q = t.search(/[?#]/);
  return q === -1 ? t : t.slice(0, q);
}

/**
 * Why a raw request path may not be served, or undefined when it may: a backslash (raw or `%5C` is left alone:
 * only a raw one is rewritten by the URL parser), or a `.`/`..` segment in any spelling (`%2e%2e`, `%2E.`, `.%2e`).
 * Deciding on the raw path keeps `/deepstore/%2e%2e/metrics` from being resolved to `/metrics`.
 */
export function unsafePathReason(rawPath: string): string | undefined {
  if (rawPath.includes('\\')) return 'Backslashes are not allowed in request paths';
  if (!rawPath.includes('.')) {
    if (!/%2e/i.test(rawPath)) return undefined;
  }
  for (const segment of rawPath.split('/')) {
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.' || plain === '..') return 'Dot segments (. or ..) are not allowed in request paths';
  }
  return undefined;
}
