import { hasControlCharacter } from '../../src/core/input-guard.ts';
import type { SpecOperation } from './specs.ts';

export type RouteMatch =
  | { kind: 'found'; operationId: string; params: Record<string, string> }
  | { kind: 'not-found' }
  /** The path exists, but not for this method; `allow` lists the methods it has. */
  | { kind: 'method-not-allowed'; allow: string[] }
  /** A path parameter is not valid percent-encoding, or decodes to a control character. */
  | { kind: 'bad-path'; message: string; operationId: string };

export interface Router {
  /** `path` is below the product prefix, still percent-encoded (as in `URL.pathname`). `method` in any case. */
  match(method: string, path: string): RouteMatch;
}

interface Leaf {
  operationId: string;
  /** Names of the templated segments in order (names differ between templates sharing a position). */
  paramNames: string[];
}

interface TrieNode {
  statics: Map<string, TrieNode> | undefined;
  param: TrieNode | undefined;
  leaf: Leaf | undefined;
}

interface MethodTable {
  statics: Map<string, string>;
  trie: TrieNode;
}

const notFound: RouteMatch = { kind: 'not-found' };
const noParams: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Compiles a contract's operations into a router: per method, static paths in a Map and templated paths in a
 * segment trie. At each position a static segment is tried before a templated one, backtracking when the static
 * branch leads nowhere. Path parameters are split on raw `/` and then percent-decoded, so `%2F` stays inside
 * one parameter. Trailing slashes are ignored. Throws when two operations claim the same method and shape.
 */
export function compileRouter(operations: readonly SpecOperation[]): Router {
  const tables = new Map<string, MethodTable>();
  for (const { operationId, method, path } of operations) {
    const upper = method.toUpperCase();
    let table = tables.get(upper);
    if (!table) {
      table = { statics: new Map(), trie: newNode() };
      tables.set(upper, table);
    }
    const normalized = trimTrailingSlashes(path);
    const segments = normalized.slice(1).split('/');
    const paramNames: string[] = [];
    let node = table.trie;
    for (const segment of segments) {
      const param = /^\{(.+)\}$/.exec(segment);
      if (param) {
        paramNames.push(param[1] as string);
        node.param ??= newNode();
        node = node.param;
      } else {
        if (segment.includes('{')) throw new Error(`${method} ${path}: partial template segments are not supported`);
        node.statics ??= new Map();
        let next = node.statics.get(segment);
        if (!next) {
          next = newNode();
          node.statics.set(segment, next);
        }
        node = next;
      }
    }
    if (node.leaf) throw new Error(`${upper} ${path} (${operationId}) has the same shape as ${node.leaf.operationId}`);
    node.leaf = { operationId, paramNames };
    if (paramNames.length === 0) table.statics.set(normalized, operationId);
  }
  const methods = [...tables.keys()].sort();

  const matchMethod = (table: MethodTable, path: string, segments: string[] | undefined): RouteMatch | undefined => {
    const staticId = table.statics.get(path);
    if (staticId !== undefined) return { kind: 'found', operationId: staticId, params: noParams };
    const values: string[] = [];
    const leaf = walk(table.trie, segments ?? path.slice(1).split('/'), 0, values);
    if (!leaf) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < values.length; i++) {
      const raw = values[i] as string;
      let value = raw;
      if (raw.includes('%')) {
        try {
          value = decodeURIComponent(raw);
        } catch {
          return {
            kind: 'bad-path',
            message: `Malformed percent-encoding in path segment "${raw.slice(0, 100)}"`,
            operationId: leaf.operationId,
          };
        }
      }
      // A decoded id with a control character (`%00`, `%0A`) is never an identifier; refuse it before any store does.
      if (hasControlCharacter(value)) {
        return {
          kind: 'bad-path',
          message: `Path parameter ${leaf.paramNames[i]} contains a control character`,
          operationId: leaf.operationId,
        };
      }
      params[leaf.paramNames[i] as string] = value;
    }
    return { kind: 'found', operationId: leaf.operationId, params };
  };

  return {
    match(method, rawPath) {
      const path = trimTrailingSlashes(rawPath === '' ? '/' : rawPath);
      const upper = method.toUpperCase();
      const table = tables.get(upper);
      if (table) {
        const found = matchMethod(table, path, undefined);
        if (found) return found;
      }
      // Slow path, only for requests that miss: which other methods would this path have matched?
      const segments = path.slice(1).split('/');
      const allow = methods.filter((m) => m !== upper && matchMethod(tables.get(m) as MethodTable, path, segments));
      return allow.length > 0 ? { kind: 'method-not-allowed', allow } : notFound;
    },
  };
}

function walk(node: TrieNode, segments: string[], index: number, values: string[]): Leaf | undefined {
  if (index === segments.length) return node.leaf;
  const segment = segments[index] as string;
  if (node.statics) {
    let next = node.statics.get(segment);
    // Clients may percent-encode characters of a fixed segment; only then is decoding worth it.
    if (!next && segment.includes('%')) next = node.statics.get(safeDecode(segment));
    if (next) {
      const leaf = walk(next, segments, index + 1, values);
      if (leaf) return leaf;
    }
  }
  if (node.param && segment !== '') {
    values.push(segment);
    const leaf = walk(node.param, segments, index + 1, values);
    if (leaf) return leaf;
    values.pop();
  }
  return undefined;
}

function newNode(): TrieNode {
  return { statics: undefined, param: undefined, leaf: undefined };
}

function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47 /* / */) end--;
  return end === path.length ? path : path.slice(0, end);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
