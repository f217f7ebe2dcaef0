import { readFileSync } from 'node:fs';

export const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof httpMethods)[number];

/** One operation of a contract (method in upper case, path as the contract spells its template). */
export interface SpecOperation {
  operationId: string;
  method: string;
  path: string;
}

/** A record of one change made to the routing copy, for docs and tests. */
export interface SpecPatch {
  kind: 'component' | 'ref-siblings' | 'operation-id' | 'one-of' | 'path-parameter' | 'nullable' | 'parameter';
  at: string;
  detail: string;
}

/**
 * Where a surface's contract comes from: a file under `rest-shim/specs/` (served byte for byte) and the surface's own
 * patch of the routing copy (components a contract references but forgot, `oneOf`s that mean `anyOf`, …).
 */
export interface ContractSource {
  file: string;
  patch?(document: OpenApiDocument, patches: SpecPatch[]): void;
}

export interface LoadedSpec {
  specFile: string;
  /** The file's text, byte for byte: what `<prefix>/openapi.json` serves. */
  original: string;
  /**
   * The patched in-memory copy used for routing and validation. Shared and cached: never mutate it
   * (openapi-backend clones it in `quick` mode; give anything else a `structuredClone`).
   */
  document: OpenApiDocument;
  operations: SpecOperation[];
  patches: SpecPatch[];
}

/** Just enough of an OpenAPI 3.0 document to patch it; everything else passes through untouched. */
export interface OpenApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, PathItem>;
  components?: Record<string, Record<string, unknown> | undefined>;
  security?: SecurityRequirement[];
  [key: string]: unknown;
}
export type SecurityRequirement = Record<string, string[]>;
export type PathItem = { parameters?: unknown[] } & { [key: string]: unknown };
export interface OperationObject {
  operationId?: string;
  parameters?: unknown[];
  requestBody?: unknown;
  security?: SecurityRequirement[];
  [key: string]: unknown;
}

const specDir = new URL('../specs/', import.meta.url);
const cache = new Map<string, LoadedSpec>();

/** Loads one contract (cached by file): the original text, the patched routing copy and its operations. */
export function loadSpec(source: ContractSource): LoadedSpec {
  const cached = cache.get(source.file);
  if (cached) return cached;
  const original = readFileSync(new URL(source.file, specDir), 'utf8');
  const loaded = patchSpec(source, original);
  cache.set(source.file, loaded);
  return loaded;
}

/**
 * Produces the routing copy of a contract. Every change keeps the contract's meaning; each is recorded in
 * `patches` and described in docs/rest-shim.md. Throws when a patch no longer fits the document or when
 * two operations would get the same operationId.
 */
export function patchSpec(source: ContractSource, original: string): LoadedSpec {
  const document = JSON.parse(original) as OpenApiDocument;
  const patches: SpecPatch[] = [];
  source.patch?.(document, patches);
  stripRefSiblings(document, '#', patches);
  fixUntypedNullable(document, '#', patches);
  declareTemplateParameters(document, patches);
  const operations = assignOperationIds(document, patches);
  return { specFile: source.file, original, document, operations, patches };
}

/** Iterates a document's operations in document order. */
export function* eachOperation(
  document: OpenApiDocument,
): Generator<{ path: string; method: HttpMethod; item: PathItem; operation: OperationObject }> {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of httpMethods) {
      const operation = item[method] as OperationObject | undefined;
      if (operation && typeof operation === 'object') yield { path, method, item, operation };
    }
  }
}

/**
 * `<method>_<path words>`: each path segment lower-cased with every run of characters outside `[a-z0-9]`
 * turned into one `_` (leading/trailing `_` dropped), a `{param}` segment becomes `by_<param>` (same
 * treatment), words joined with `_`; `/` alone is `root`. `GET /v1/api-keys/{id}` → `get_v1_api_keys_by_id`.
 */
export function deriveOperationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      return param ? `by_${word(param[1] ?? '')}` : word(segment);
    });
  return `${method.toLowerCase()}_${words.length === 0 ? 'root' : words.join('_')}`;
}

function word(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function assignOperationIds(document: OpenApiDocument, patches: SpecPatch[]): SpecOperation[] {
  const operations: SpecOperation[] = [];
  const owners = new Map<string, string>();
  const claim = (id: string, where: string) => {
    const owner = owners.get(id);
    if (owner !== undefined) throw new Error(`operationId "${id}" of ${where} collides with ${owner}`);
    owners.set(id, where);
  };
  // Ids the contract spells itself come first, so a derived id can never shadow one of them.
  for (const { path, method, operation } of eachOperation(document)) {
    if (typeof operation.operationId === 'string') claim(operation.operationId, `${method.toUpperCase()} ${path}`);
  }
  for (const { path, method, operation } of eachOperation(document)) {
    const where = `${method.toUpperCase()} ${path}`;
    if (typeof operation.operationId !== 'string') {
      const id = deriveOperationId(method, path);
      claim(id, where);
      operation.operationId = id;
      patches.push({ kind: 'operation-id', at: where, detail: id });
    }
    operations.push({ operationId: operation.operationId as string, method: method.toUpperCase(), path });
  }
  return operations;
}

/** OpenAPI 3.0 ignores keys beside `$ref`; strict validators reject them, so the copy drops them. */
function stripRefSiblings(node: unknown, pointer: string, patches: SpecPatch[]): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => {
      stripRefSiblings(child, `${pointer}/${i}`, patches);
    });
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (typeof record.$ref === 'string') {
    const dropped = Object.keys(record).filter((key) => key !== '$ref');
    for (const key of dropped) delete record[key];
    if (dropped.length > 0)
      patches.push({ kind: 'ref-siblings', at: pointer, detail: `dropped ${dropped.join(', ')}` });
    return;
  }
  for (const [key, child] of Object.entries(record)) {
    // Example values are data, not schema: a `$ref` key inside one is not a reference.
    if (key === 'example' || key === 'examples') continue;
    stripRefSiblings(child, `${pointer}/${escapePointer(key)}`, patches);
  }
}

/**
 * Ajv refuses `nullable` without `type` (OpenAPI 3.0 gives it no meaning there either). A schema without a type
 * already admits null, so the keyword goes; with `oneOf`/`anyOf` branches, each branch becomes nullable, and a
 * `oneOf` becomes `anyOf` so that null (now matching every branch) stays valid.
 */
function fixUntypedNullable(node: unknown, pointer: string, patches: SpecPatch[]): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => {
      fixUntypedNullable(child, `${pointer}/${i}`, patches);
    });
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const schema = node as Record<string, unknown>;
  if (schema.nullable === true && schema.type === undefined) {
    const branches = (schema.oneOf ?? schema.anyOf) as Record<string, unknown>[] | undefined;
    if (branches === undefined) {
      if (schema.allOf !== undefined || schema.not !== undefined) throw new Error(`untyped nullable at ${pointer}`);
      delete schema.nullable;
      patches.push({ kind: 'nullable', at: pointer, detail: 'dropped nullable (no type: null already valid)' });
    } else {
      if (schema.oneOf !== undefined && schema.anyOf !== undefined) throw new Error(`oneOf and anyOf at ${pointer}`);
      for (const branch of branches) {
        if (typeof branch.type !== 'string') throw new Error(`untyped nullable with an untyped branch at ${pointer}`);
        branch.nullable = true;
      }
      delete schema.oneOf;
      delete schema.nullable;
      schema.anyOf = branches;
      patches.push({ kind: 'nullable', at: pointer, detail: 'nullable moved into each branch, oneOf → anyOf' });
    }
  }
  for (const [key, child] of Object.entries(schema)) {
    if (key === 'example' || key === 'examples') continue;
    fixUntypedNullable(child, `${pointer}/${escapePointer(key)}`, patches);
  }
}

/**
 * Path templates whose parameters the operation never declares (Athena has three) get a plain
 * required string parameter, as OpenAPI requires every template parameter to be declared.
 */
function declareTemplateParameters(document: OpenApiDocument, patches: SpecPatch[]): void {
  for (const { path, method, item, operation } of eachOperation(document)) {
    const declared = new Set<string>();
    for (const parameter of [...(item.parameters ?? []), ...(operation.parameters ?? [])]) {
      const resolved = resolveLocal(document, parameter) as { in?: string; name?: string } | undefined;
      if (resolved?.in === 'path' && typeof resolved.name === 'string') declared.add(resolved.name);
    }
    for (const match of path.matchAll(/\{([^}]+)\}/g)) {
      const name = match[1] as string;
      if (declared.has(name)) continue;
      operation.parameters = [
        ...(operation.parameters ?? []),
        { name, in: 'path', required: true, schema: { type: 'string' } },
      ];
      patches.push({ kind: 'path-parameter', at: `${method.toUpperCase()} ${path}`, detail: `declared {${name}}` });
    }
  }
}

/** Resolves a local `#/…` reference (one level); other values come back as they are. */
export function resolveLocal(document: OpenApiDocument, value: unknown): unknown {
  const ref = (value as { $ref?: unknown } | null | undefined)?.$ref;
  if (typeof ref !== 'string') return value;
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
