import { type AjvCustomizer, type Document, OpenAPIBackend, type Operation, type Request } from 'openapi-backend';
import type { LoadedSpec } from './specs.ts';

// openapi-backend registers only the OpenAPI numeric formats; these are the others the five contracts use.
// Without them Ajv ignores the keyword and a non-uuid id would pass.
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const dateTimePattern = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const datePattern = /^\d{4}-\d{2}-\d{2}$/;
const uriPattern = /^[A-Za-z][A-Za-z0-9+.-]*:\S*$/;

const addFormats: AjvCustomizer = (ajv) => {
  ajv.addFormat('uuid', uuidPattern);
  ajv.addFormat('date-time', { type: 'string', validate: (v: string) => dateTimePattern.test(v) && isDate(v) });
  ajv.addFormat('date', { type: 'string', validate: (v: string) => datePattern.test(v) && isDate(v) });
  ajv.addFormat('uri', uriPattern);
  return ajv;
};
const isDate = (value: string) => !Number.isNaN(Date.parse(value));

/** Path parameters our router already decoded, handed to openapi-backend in place of its own extraction. */
const routedParams = new WeakMap<object, Record<string, string>>();

export interface BackendOptions {
  /** Mount prefix (openapi-backend's `apiRoot`). */
  apiRoot: string;
  /** `quick: true` (the server): validators compile on first use and the document is not schema-checked. */
  quick?: boolean;
}

/**
 * One openapi-backend instance over a contract's patched copy (never a file path: `init()` would re-read it and
 * lose the patches). Strict, coercing path and query types. Call `init()` on it.
 */
export function createBackend(spec: LoadedSpec, options: BackendOptions): OpenAPIBackend {
  const api = new OpenAPIBackend({
    // quick mode clones the object itself; the full path (json-schema-ref-parser) dereferences in place.
    definition: (options.quick ? spec.document : structuredClone(spec.document)) as unknown as Document,
    apiRoot: options.apiRoot,
    strict: true,
    quick: options.quick ?? true,
    validate: true,
    coerceTypes: true,
    customizeAjv: addFormats,
  });
  return api;
}

/**
 * Makes `validateRequest` use the params our router extracted. openapi-backend otherwise re-matches the path with
 * regexes it compiles on every call (bath) and validates the values still percent-encoded, so `%31%32` would
 * fail an integer parameter the handler sees as `12`. Call after `init()`.
 */
export function useRoutedParams(api: OpenAPIBackend): void {
  const router = api.router;
  const parseRequest = router.parseRequest.bind(router);
  router.parseRequest = (req, operation) => {
    const params = routedParams.get(req);
    if (params === undefined || operation === undefined) return parseRequest(req, operation);
    // Without the operation it skips path matching; query styles (explode: false, JSON-content query parameters)
    // also need it, and `needsOperationForQuery` keeps such operations on the original path.
    if (needsOperationForQuery(operation)) return { ...parseRequest(req, operation), params: { ...params } };
    return { ...parseRequest(req), params: { ...params } };
  };
}

/** Validates a request against `operation` with the router's decoded path params. */
export function validateRouted(
  api: OpenAPIBackend,
  request: Request,
  params: Record<string, string>,
  operation: Operation,
): ReturnType<OpenAPIBackend['validateRequest']> {
  const shape = shapeOf(operation);
  if (shape.direct && (request.body === undefined || typeof request.body === 'object')) {
    return validateDirect(api, request, params, operation, shape.arrayQuery);
  }
  routedParams.set(request, params);
  return api.validateRequest(request, operation);
}

interface OperationShape {
  /** No cookie parameters and no query styles that need openapi-backend's own parsing. */
  direct: boolean;
  /** Query parameters declared as arrays: a single value is validated as a one-item array. */
  arrayQuery: Set<string>;
}
const shapes = new WeakMap<object, OperationShape>();
function shapeOf(operation: Operation): OperationShape {
  let shape = shapes.get(operation);
  if (shape === undefined) {
    const parameters = (operation.parameters ?? []) as { in?: string; name?: string; schema?: { type?: unknown } }[];
    shape = {
      direct: !needsOperationForQuery(operation) && !parameters.some((p) => p.in === 'cookie'),
      arrayQuery: new Set(
        parameters.filter((p) => p.in === 'query' && p.schema?.type === 'array').map((p) => String(p.name)),
      ),
    };
    shapes.set(operation, shape);
  }
  return shape;
}

/**
 * What `validateRequest` does for an already-parsed request, without its per-request re-parsing (a deep clone of
 * the query through lodash, the query string rebuilt, headers re-keyed, cookies parsed): the same parameter object
 * handed to the same compiled validators, so the same errors and the same coercions. Copies are made of what Ajv
 * coerces in place (query, path, headers), so the caller's parsed request keeps its strings.
 */
function validateDirect(
  api: OpenAPIBackend,
  request: Request,
  params: Record<string, string>,
  operation: Operation,
  arrayQuery: Set<string>,
): ReturnType<OpenAPIBackend['validateRequest']> {
  const query = Object.create(null) as Record<string, unknown>;
  for (const [name, value] of Object.entries(request.query ?? {})) {
    query[name] = Array.isArray(value)
      ? [...value]
      : typeof value === 'string' && arrayQuery.has(name)
        ? [value]
        : value;
  }
  const parameters: Record<string, unknown> = {
    path: { ...params },
    query,
    header: { ...request.headers },
    cookie: {},
  };
  const rawType = request.headers['content-type'];
  const contentType = String((Array.isArray(rawType) ? rawType[0] : rawType) || '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (typeof request.body === 'object' || contentType === 'application/json') parameters.requestBody = request.body;
  const errors: NonNullable<ReturnType<OpenAPIBackend['validateRequest']>['errors']> = [];
  const coerced: Record<string, unknown> = { ...request };
  for (const validate of api.validator.getRequestValidatorsForOperation(operation.operationId as string) ?? []) {
    validate(parameters);
    if (validate.errors) errors.push(...validate.errors);
    else {
      coerced.query = parameters.query;
      coerced.params = parameters.path;
    }
  }
  return { valid: errors.length === 0, errors: errors.length === 0 ? null : errors, coerced } as ReturnType<
    OpenAPIBackend['validateRequest']
  >;
}

const queryStyleCache = new WeakMap<object, boolean>();
function needsOperationForQuery(operation: Operation): boolean {
  let needs = queryStyleCache.get(operation);
  if (needs === undefined) {
    needs = (operation.parameters ?? []).some((p) => {
      const param = p as { in?: string; explode?: boolean; content?: unknown };
      return param.in === 'query' && (param.explode === false || param.content !== undefined);
    });
    queryStyleCache.set(operation, needs);
  }
  return needs;
}
