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
  routedParams.set(request, params);
  return api.validateRequest(request, operation);
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
