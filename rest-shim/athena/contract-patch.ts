import { eachOperation, escapePointer, type OpenApiDocument, type SpecPatch } from '../engine/specs.ts';

/**
 * Athena's contract references components it never defines and uses `oneOf` where both branches accept the same
 * values; the routing copy gets what the contract means (docs/rest-shim.md, ../shared/design/apis/athena.md §0).
 */
export function patchAthenaContract(document: OpenApiDocument, patches: SpecPatch[]): void {
  document.components ??= {};
  const components = document.components;
  components.responses ??= {};
  components.parameters ??= {};
  const { responses, parameters } = components;
  const serverError = responses.DefaultServerError5xx as { content?: unknown } | undefined;
  if (!serverError?.content) throw new Error('athena: components.responses.DefaultServerError5xx has changed');
  // The two missing responses get the contract's one error envelope ({status, code?, message, error}).
  const missingResponses = {
    BadRequestError: 'Bad request. Standard envelope with status, message, and error.',
    UnauthorizedError: 'Missing or invalid credentials. Standard envelope with status, message, and error.',
  };
  for (const [name, description] of Object.entries(missingResponses)) {
    if (responses[name] !== undefined) throw new Error(`athena: components.responses.${name} now exists`);
    responses[name] = { description, content: structuredClone(serverError.content) };
    patches.push({
      kind: 'component',
      at: `#/components/responses/${name}`,
      detail: 'added (DefaultServerError5xx body)',
    });
  }
  // Every use sits in a `/admin/api-keys/{id}…` or `/admin/api-key-rights/{id}…` template.
  if (parameters.ApiKeyIdParam !== undefined) throw new Error('athena: components.parameters.ApiKeyIdParam now exists');
  parameters.ApiKeyIdParam = {
    name: 'id',
    in: 'path',
    required: true,
    description:
      'Id of the API key (or API key right) named by the path. Added by Atrium: the contract uses it undefined.',
    schema: { type: 'string' },
  };
  patches.push({ kind: 'component', at: '#/components/parameters/ApiKeyIdParam', detail: 'added (path `id`, string)' });
  for (const { path, operation } of eachOperation(document)) {
    const usesIdParam = (operation.parameters ?? []).some(
      (p) => (p as { $ref?: string }).$ref === '#/components/parameters/ApiKeyIdParam',
    );
    if (usesIdParam && !path.includes('/{id}')) throw new Error(`athena: ApiKeyIdParam used by ${path} without {id}`);
  }

  // Credentials have several carriers (apikey, x-api-key, X-Athena-Key, Authorization: Bearer, ?api_key=); the door
  // reads all of them, so the routing copy must not refuse a request for lacking one particular header.
  const credentialHeaders = new Set(['apikey', 'x-athena-key']);
  type HeaderParam = { in?: string; name?: string; required?: boolean };
  const relax = (param: HeaderParam, at: string) => {
    if (param.in === 'header' && credentialHeaders.has(String(param.name).toLowerCase()) && param.required) {
      param.required = false;
      patches.push({
        kind: 'parameter',
        at,
        detail: `${param.name}: required → optional (the door checks credentials)`,
      });
    }
  };
  relax(
    parameters.AdminApiKeyHeader as { in?: string; name?: string; required?: boolean },
    '#/components/parameters/AdminApiKeyHeader',
  );
  for (const { path, method, operation } of eachOperation(document)) {
    for (const [i, param] of (operation.parameters ?? []).entries()) {
      relax(param as HeaderParam, `#/paths/${escapePointer(path)}/${method}/parameters/${i}`);
    }
  }

  // Both branches of these `oneOf`s accept the same values, so valid requests/responses would fail; `anyOf` is what
  // the contract means (see ../shared/design/apis/athena.md).
  replaceOneOf(
    document,
    ['paths', '/rpc/{function_name}', 'post', 'requestBody', 'content', 'application/json', 'schema'],
    2,
    patches,
  );
  const d1 = findD1MigrationResponse(document);
  replaceOneOf(document, d1, 4, patches);
  relaxS3Connection(document, patches);
}

/**
 * Raw S3 bodies may name a stored catalog (`catalog`, with X-Athena-Client) instead of inline endpoint and keys
 * (docs/athena.md, Raw S3 and catalogs (G11)): the connection fields and `bucket` become optional in the routing
 * copy; the service requires the full inline set when no catalog is named.
 */
function relaxS3Connection(document: OpenApiDocument, patches: SpecPatch[]): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, any>;
  const connection = schemas.StorageS3Connection;
  const credentials = schemas.StorageS3Credentials?.allOf?.[1];
  if (!Array.isArray(connection?.required) || !Array.isArray(credentials?.required)) {
    throw new Error('athena: StorageS3Connection / StorageS3Credentials have changed');
  }
  connection.required = [];
  connection.properties.catalog = {
    type: 'string',
    description: 'Added by Atrium: a stored S3 catalog of X-Athena-Client (uuid or name) instead of inline keys.',
  };
  credentials.required = [];
  patches.push(
    {
      kind: 'component',
      at: '#/components/schemas/StorageS3Connection',
      detail: 'endpoint, region, access_key_id, secret_key: required → optional; `catalog` added',
    },
    { kind: 'component', at: '#/components/schemas/StorageS3Credentials', detail: 'bucket: required → optional' },
  );
}

function findD1MigrationResponse(document: OpenApiDocument): string[] {
  for (const { path, method, operation } of eachOperation(document)) {
    const body = (operation.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> } | undefined)
      ?.content?.['application/json']?.schema?.$ref;
    if (body === '#/components/schemas/D1MigrationRequest') {
      return ['paths', path, method, 'responses', '200', 'content', 'application/json', 'schema'];
    }
  }
  throw new Error('athena: no operation takes D1MigrationRequest any more');
}

function replaceOneOf(document: OpenApiDocument, at: string[], branches: number, patches: SpecPatch[]): void {
  const schema = at.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document) as
    | Record<string, unknown>
    | undefined;
  const oneOf = schema?.oneOf;
  if (!schema || !Array.isArray(oneOf) || oneOf.length !== branches) {
    throw new Error(`athena: expected a ${branches}-branch oneOf at ${at.join(' ')}`);
  }
  delete schema.oneOf;
  schema.anyOf = oneOf;
  patches.push({ kind: 'one-of', at: `#/${at.map(escapePointer).join('/')}`, detail: 'oneOf → anyOf' });
}
