import { DomainError, InvalidInputError } from '../../src/core/errors.ts';
import { serverVersion as serverVersionOf } from '../../src/modules/runtime/runtime.service.ts';
import { directOperation, graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestRequest, RestResponse } from '../engine/types.ts';
import {
  McpV8ExecCancelDocument,
  type McpV8ExecExecutionFragment,
  McpV8ExecGetDocument,
  McpV8ExecListDocument,
  McpV8ExecOutputDocument,
  McpV8ExecRunDocument,
  McpV8ExecRuntimeInfoDocument,
  type RunExecutionInput,
} from '../generated/graphql.ts';

/** The most executions `GET /api/executions` lists (newest first, within the retention window). */
const listLimit = 1000;

const apiError = (status: number, message: string): RestResponse => ({ status, body: { error: message } });

class UnsupportedMediaTypeError extends DomainError {
  override code = 'UNSUPPORTED_MEDIA_TYPE';
  override httpStatus = 415;
}

/** The contract's `ExecutionInfo` (every nullable field present, null when absent). */
function toExecutionInfo(e: McpV8ExecExecutionFragment) {
  return {
    execution_id: e.uuid,
    status: e.status,
    result: e.result ?? null,
    error: e.error ?? null,
    heap: e.heapOut ?? null,
    fs: e.fsOut ?? null,
    started_at: e.startedAt,
    completed_at: e.completedAt ?? null,
  };
}

interface ExecRequestBody {
  code: string;
  execution_timeout_secs?: number | null;
  heap_memory_max_mb?: number | null;
  fs?: string | null;
  heap?: string | null;
  session?: string | null;
  tags?: Record<string, string> | null;
}

const header = (req: RestRequest, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** GraphQL `Int` is 32-bit: larger values are refused here (400), as no limit of the runtime comes near them. */
const maxInt = 2 ** 31 - 1;

function queryInt(req: RestRequest, name: string): number | null {
  const raw = req.query[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined || value === '') return null;
  if (!/^\d{1,15}$/.test(value)) throw new InvalidInputError(`query.${name}: must be a non-negative integer`);
  return boundedInt(Number(value), `query.${name}`);
}

function boundedInt(value: number | null | undefined, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value) || value < 0 || value > maxInt) {
    throw new InvalidInputError(`${field}: must be an integer between 0 and ${maxInt}`);
  }
  return value;
}

function queryString(req: RestRequest, name: string): string | null {
  const raw = req.query[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return value === undefined || value === '' ? null : value;
}

/** `tags` (an object of strings) as the GraphQL input's key/value list. */
function tagList(tags: unknown): { key: string; value: string }[] | null {
  if (tags === undefined || tags === null) return null;
  if (typeof tags !== 'object' || Array.isArray(tags)) throw new InvalidInputError('body.tags: must be an object');
  return Object.entries(tags).map(([key, value]) => {
    if (typeof value !== 'string') throw new InvalidInputError(`body.tags.${key}: must be a string`);
    return { key, value };
  });
}

/** JSON `ExecRequest` (validated by the contract), or a raw script with options in the query string. */
function execInput(req: RestRequest): RunExecutionInput {
  let body = req.body as ExecRequestBody | Buffer | undefined;
  const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (Buffer.isBuffer(body)) {
    if (type.startsWith('multipart/')) {
      throw new UnsupportedMediaTypeError(
        'multipart/form-data is not supported: send the script as the raw request body or as JSON {"code": ...}',
      );
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new InvalidInputError('Request body is not valid UTF-8');
    }
    if (type === '') {
      // No Content-Type: a JSON ExecRequest, as upstream treats it.
      try {
        body = JSON.parse(text) as ExecRequestBody;
      } catch (err) {
        throw new InvalidInputError(`Malformed JSON body: ${(err as Error).message}`);
      }
      if (typeof body !== 'object' || body === null || typeof body.code !== 'string') {
        throw new InvalidInputError('body.code: is required (a string)');
      }
    } else {
      return {
        code: text,
        executionTimeoutSecs: queryInt(req, 'execution_timeout_secs'),
        heapMemoryMaxMb: queryInt(req, 'heap_memory_max_mb'),
        heap: queryString(req, 'heap'),
        session: queryString(req, 'session'),
        fs: queryString(req, 'fs'),
      };
    }
  }
  if (!body) throw new InvalidInputError('body: is required');
  return {
    code: body.code,
    executionTimeoutSecs: boundedInt(body.execution_timeout_secs, 'body.execution_timeout_secs'),
    heapMemoryMaxMb: boundedInt(body.heap_memory_max_mb, 'body.heap_memory_max_mb'),
    heap: body.heap ?? null,
    session: body.session ?? null,
    fs: body.fs ?? null,
    tags: tagList(body.tags),
  };
}

/** POST /api/exec — 202 {execution_id}; the run continues in a sandbox worker. */
const execHandler = graphqlOperation({
  document: McpV8ExecRunDocument,
  acceptsAnyBody: true,
  extraQuery: ['heap', 'session', 'fs', 'heap_memory_max_mb', 'execution_timeout_secs'],
  variables: (req) => ({ input: execInput(req) }),
  respond: ({ runExecution: r }) =>
    r.__typename === 'MutationRunExecutionSuccess'
      ? { status: 202, body: { execution_id: r.data.uuid } }
      : apiError(r.__typename === 'RuntimeBusyError' ? 429 : 400, 'message' in r ? r.message : 'Invalid request'),
});

/** GET /api/executions — running and retained executions, newest first. */
const listExecutionsHandler = graphqlOperation({
  document: McpV8ExecListDocument,
  variables: () => ({ first: listLimit }),
  respond: (data) => ({
    status: 200,
    body: {
      executions: data.executions.edges.map(({ node }) => ({
        execution_id: node.uuid,
        status: node.status,
        started_at: node.startedAt,
        completed_at: node.completedAt ?? null,
      })),
    },
  }),
});

/** GET /api/executions/{id} — 404 for unknown ids and other tenants' executions. */
const getExecutionHandler = graphqlOperation({
  document: McpV8ExecGetDocument,
  variables: (req) => ({ uuid: String(req.params.id) }),
  respond: (data, req) =>
    data.execution
      ? { status: 200, body: toExecutionInfo(data.execution) }
      : apiError(404, `Execution '${req.params.id}' not found`),
});

/** POST /api/executions/{id}/cancel — 200 {ok:true}, or 400 CancelResult (unknown, or not running). */
const cancelExecutionHandler = graphqlOperation({
  document: McpV8ExecCancelDocument,
  variables: (req) => ({ uuid: String(req.params.id) }),
  respond: ({ cancelExecution: r }) =>
    r.__typename === 'MutationCancelExecutionSuccess'
      ? { status: 200, body: { ok: true, error: null } }
      : { status: 400, body: { ok: false, error: 'message' in r ? r.message : 'Cannot cancel' } },
});

/**
 * The contract's int64 window parameters onto GraphQL `Int`: output never passes 1 GiB (ATRIUM_RUNTIME_MAX_OUTPUT_BYTES),
 * so an offset or limit beyond 2^31-1 means the same window as 2^31-1 (past the end / everything).
 */
const outputParam = (req: RestRequest, name: string): number | null => {
  const v = req.coerced.query[name];
  return typeof v === 'number' ? Math.min(v, maxInt) : null;
};

/** GET /api/executions/{id}/output — one page by line (default) or by byte (`byte_offset` given). */
const executionOutputHandler = graphqlOperation({
  document: McpV8ExecOutputDocument,
  variables: (req) => ({
    uuid: String(req.params.id),
    lineOffset: outputParam(req, 'line_offset'),
    lineLimit: outputParam(req, 'line_limit'),
    byteOffset: outputParam(req, 'byte_offset'),
    byteLimit: outputParam(req, 'byte_limit'),
  }),
  respond: ({ executionOutput: r }, req) => {
    if (r.__typename !== 'QueryExecutionOutputSuccess') {
      return 'code' in r && r.code === 'NOT_FOUND'
        ? apiError(404, `Execution '${req.params.id}' not found`)
        : apiError(400, 'message' in r ? r.message : 'Invalid request');
    }
    const p = r.data;
    return {
      status: 200,
      body: {
        execution_id: p.executionUuid,
        data: p.data,
        start_line: p.startLine,
        end_line: p.endLine,
        next_line_offset: p.nextLineOffset,
        total_lines: p.totalLines,
        start_byte: p.startByte,
        end_byte: p.endByte,
        next_byte_offset: p.nextByteOffset,
        total_bytes: p.totalBytes,
        has_more: p.hasMore,
        status: p.status,
      },
    };
  },
});

/** GET /api/version — `{version}` as upstream, plus the sandbox's isolated-vm and Node versions. */
const versionHandler = graphqlOperation({
  document: McpV8ExecRuntimeInfoDocument,
  variables: () => ({}),
  respond: ({ runtimeInfo: i }) => ({
    status: 200,
    body: { version: i.serverVersion, isolated_vm: i.isolatedVmVersion ?? null, node: i.nodeVersion },
  }),
});

/** The contract's three CLI platforms and upstream's download file names. */
export const cliPlatforms: Record<string, string> = {
  'linux-x86_64': 'mcp-v8-cli-linux-x86_64',
  'linux-aarch64': 'mcp-v8-cli-linux-arm64',
  'macos-aarch64': 'mcp-v8-cli-macos-arm64',
};

function publicBase(req: RestRequest): string {
  const host = header(req, 'x-forwarded-host') ?? header(req, 'host') ?? 'localhost';
  const proto = header(req, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  return `${proto}://${host.split(',')[0]?.trim()}`;
}

/**
 * GET /api/cli — this server embeds no CLI binaries (Atrium has no mcp-v8 CLI build), so every platform is listed
 * with `available: false`, which the contract defines as "not embedded at build time".
 */
const cliIndexHandler = directOperation({
  reason: 'static index of CLI downloads; no GraphQL data behind it',
  handle: async (req) => {
    const versionInfo = serverVersionOf();
    return {
      status: 200,
      body: {
        version: versionInfo,
        assets: Object.keys(cliPlatforms).map((platform) => ({
          platform,
          url: `${publicBase(req)}/mcp-v8/api/cli/${platform}`,
          available: false,
        })),
      },
    };
  },
});

/** GET /api/cli/{platform} — 404: unknown platform, or (every known one) not embedded in this build. */
const cliDownloadHandler = directOperation({
  reason: 'binary downloads are byte streams; this build has none, so it only answers 404',
  handle: async (req) => {
    const platform = String(req.params.platform);
    if (!(platform in cliPlatforms)) {
      return apiError(404, `Unknown platform '${platform}'. Valid platforms: ${Object.keys(cliPlatforms).join(', ')}`);
    }
    return apiError(
      404,
      `CLI binary for '${platform}' is not embedded in this build. Atrium does not ship the mcp-v8 CLI; use the HTTP API or GraphQL.`,
    );
  },
});

const { group } = operationsFor<OperationPolicy>();

/** Executions: submit, list, get, cancel, output pages. */
export const mcpV8ExecutionOperations = group('executions', 'test/mcp-v8/exec.test.ts', {
  exec_handler: execHandler,
  list_executions_handler: listExecutionsHandler,
  get_execution_handler: getExecutionHandler,
  cancel_execution_handler: cancelExecutionHandler,
  get_execution_output_handler: executionOutputHandler,
});

/** Server version and the (empty) CLI download index. */
export const mcpV8ServerOperations = group('server', 'test/mcp-v8/exec.test.ts', {
  version_handler: versionHandler,
  cli_index_handler: cliIndexHandler,
  cli_download_handler: cliDownloadHandler,
});
