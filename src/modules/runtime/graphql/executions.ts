import { GraphQLError } from 'graphql';
import { ExecutionStatus } from '../../../../prisma/generated/client/enums.ts';
import { principalId } from '../../../core/auth/principal.ts';
import { builder } from '../../../core/builder.ts';
import type { Context } from '../../../core/context.ts';
import { ErrorCodes, InvalidInputError } from '../../../core/errors.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import type { OutputPage } from '../output.ts';
import {
  ExecutionNotFoundError,
  ExecutionNotRunningError,
  RuntimeBusyError,
  ScriptSyntaxError,
} from '../runtime.errors.ts';
import { isUuid, serverVersion } from '../runtime.service.ts';
import { executionOutputStream, executionStatusStream, type OutputStreamEvent } from '../streams.ts';

builder.objectType(ExecutionNotFoundError, {
  name: 'ExecutionNotFoundError',
  description: "No execution of the caller has this UUID (unknown, expired, or another tenant's).",
  interfaces: [ErrorInterface],
});
builder.objectType(ExecutionNotRunningError, {
  name: 'ExecutionNotRunningError',
  description: 'The execution already reached a terminal status; nothing was cancelled.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    status: t.field({
      type: ExecutionStatus,
      description: 'The terminal status it keeps.',
      resolve: (e) => e.status as ExecutionStatus,
    }),
  }),
});
builder.objectType(ScriptSyntaxError, {
  name: 'ScriptSyntaxError',
  description: 'The script parses neither as JavaScript nor as TypeScript; nothing was run.',
  interfaces: [ErrorInterface],
});
builder.objectType(RuntimeBusyError, {
  name: 'RuntimeBusyError',
  description: 'The caller already has as many executions in flight as one tenant may; nothing was started.',
  interfaces: [ErrorInterface],
});
/** A subscription has no error union: an unknown execution fails it at setup as one NOT_FOUND error. */
async function subscription<T>(setup: Promise<T>): Promise<T> {
  try {
    return await setup;
  } catch (err) {
    if (err instanceof ExecutionNotFoundError) {
      throw new GraphQLError(err.message, { extensions: { code: ErrorCodes.notFound } });
    }
    throw err;
  }
}

const tenantOf = (ctx: Context) => principalId(ctx.principal);
const nowhere = '00000000-0000-0000-0000-000000000000';
/** The selection needs no relation (no include/select from the Prisma plugin): the service's cached read will do. */
const scalarsOnly = (query: object) => Object.keys(query).length === 0;

export const ExecutionStatusEnum = builder.enumType(ExecutionStatus, {
  name: 'ExecutionStatus',
  description: '`running` until one terminal status: completed, failed, cancelled or timed_out.',
  values: {
    running: { description: 'Queued for or running in a sandbox worker.' },
    completed: { description: 'The script finished; `result` holds its value as JSON.' },
    failed: { description: 'The script threw (or its worker died); `error` says why.' },
    cancelled: { description: 'Cancelled by its owner.' },
    timed_out: { description: 'It ran past its timeout and was stopped.' },
  },
});

const SourceLangEnum = builder.enumType('ExecutionSourceLang', {
  description: 'How the submitted source was run.',
  values: {
    js: { description: 'As JavaScript, unchanged.' },
    ts: { description: 'As TypeScript: types stripped by esbuild (not checked), then run.' },
  } as const,
});

export const ExecutionRef = builder.prismaNode('Execution', {
  id: { field: 'id' },
  description: 'A sandboxed JavaScript run (mcp-v8). Visible only to the principal that submitted it.',
  authScopes: { product: 'mcp_v8' },
  // Another tenant's execution (or a malformed id) resolves to null, exactly like a missing one.
  nullable: true,
  findUnique: (id, ctx) => ({ id: isUuid(id) ? id : nowhere, tenant: tenantOf(ctx) }),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The execution id as a plain UUID (the REST `execution_id`).' }),
    status: t.expose('status', { type: ExecutionStatusEnum, description: 'Where the run is in its life.' }),
    sourceLang: t.field({
      type: SourceLangEnum,
      description: '`js`, or `ts` when esbuild stripped types first.',
      resolve: (e) => (e.sourceLang === 'ts' ? 'ts' : 'js'),
    }),
    codeSha256: t.exposeString('codeRef', { description: 'SHA-256 (hex) of the submitted source.' }),
    result: t.exposeString('result', {
      nullable: true,
      description: 'JSON of the final value (completed runs); null for undefined.',
    }),
    error: t.exposeString('error', {
      nullable: true,
      description:
        'Why the run did not complete: what the script threw (bounded, control characters escaped as \\uXXXX), or the sandbox reason (timeout, memory, cancel).',
    }),
    heapIn: t.exposeString('heapIn', { nullable: true, description: 'Heap snapshot key restored before the run.' }),
    heapOut: t.exposeString('heapOut', {
      nullable: true,
      description: 'Heap snapshot key the run produced (runs that passed heap, session or tags).',
    }),
    session: t.exposeString('session', { nullable: true, description: 'The session the run is logged under.' }),
    fsHandle: t.exposeString('fsHandle', { nullable: true, description: 'The `fs` the run asked to mount.' }),
    fsOut: t.exposeString('fsOut', {
      nullable: true,
      description: 'CA id of the mounted tree after a completed run (the base id when unchanged).',
    }),
    heapMemoryMaxMb: t.exposeInt('heapMemoryMaxMb', { description: 'The V8 heap limit of the run, in MB.' }),
    timeoutSecs: t.exposeInt('timeoutSecs', { description: 'The run’s timeout, in seconds.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When it was submitted.' }),
    completedAt: t.expose('completedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it reached its terminal status; null while running.',
    }),
    outputBytes: t.expose('outputBytes', { type: 'BigInt', description: 'Console output stored so far, in bytes.' }),
    outputLines: t.expose('outputLines', { type: 'BigInt', description: 'Complete console lines stored so far.' }),
  }),
});

const OutputPageRef = builder.objectRef<OutputPage & { executionId: string; status: ExecutionStatus }>(
  'ExecutionOutputPage',
);
OutputPageRef.implement({
  description: 'A window of console output: 0-based lines and UTF-8 byte offsets, exclusive ends.',
  fields: (t) => ({
    executionUuid: t.exposeString('executionId', { description: 'The execution’s UUID.' }),
    status: t.expose('status', { type: ExecutionStatusEnum, description: 'The execution’s status when read.' }),
    data: t.exposeString('data', { description: 'The window’s text.' }),
    startLine: t.exposeInt('startLine', { description: 'First line of the window.' }),
    endLine: t.exposeInt('endLine', { description: 'Line after the window (exclusive).' }),
    nextLineOffset: t.exposeInt('nextLineOffset', { description: '`lineOffset` of the next page.' }),
    totalLines: t.exposeInt('totalLines', { description: 'Complete lines stored.' }),
    startByte: t.exposeInt('startByte', { description: 'First byte of the window.' }),
    endByte: t.exposeInt('endByte', { description: 'Byte after the window (exclusive).' }),
    nextByteOffset: t.exposeInt('nextByteOffset', { description: '`byteOffset` of the next page.' }),
    totalBytes: t.exposeInt('totalBytes', { description: 'Bytes stored.' }),
    hasMore: t.exposeBoolean('hasMore', { description: 'Whether output continues after the window.' }),
  }),
});

builder.queryField('executions', (t) =>
  t.prismaConnection({
    type: 'Execution',
    cursor: 'id',
    description: "The caller's executions within the retention window, newest first. Pages of up to 1000.",
    maxSize: 1000,
    authScopes: { product: 'mcp_v8' },
    totalCount: (_root, _args, ctx) => ctx.services.prisma.execution.count({ where: { tenant: tenantOf(ctx) } }),
    resolve: (query, _root, _args, ctx) =>
      ctx.services.prisma.execution.findMany({
        ...query,
        where: { tenant: tenantOf(ctx) },
        orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
      }),
  }),
);

builder.queryField('execution', (t) =>
  t.prismaField({
    type: 'Execution',
    nullable: true,
    description: "One of the caller's executions by its UUID; null when unknown (or another tenant's).",
    authScopes: { product: 'mcp_v8' },
    args: { uuid: t.arg.string({ required: true, description: 'The execution’s UUID (REST `execution_id`).' }) },
    resolve: (query, _root, { uuid }, ctx) => {
      if (scalarsOnly(query)) return ctx.services.runtime.get(ctx.principal, uuid);
      return isUuid(uuid)
        ? ctx.services.prisma.execution.findFirst({ ...query, where: { id: uuid, tenant: tenantOf(ctx) } })
        : null;
    },
  }),
);

builder.queryField('executionOutput', (t) =>
  t.field({
    type: OutputPageRef,
    description:
      'A page of console output. With `byteOffset` the window is in bytes (never splitting a character), else in lines.',
    authScopes: { product: 'mcp_v8' },
    errors: { types: [ExecutionNotFoundError, InvalidInputError] },
    args: {
      uuid: t.arg.string({ required: true, description: 'The execution’s UUID.' }),
      lineOffset: t.arg.int({ required: false, description: 'First line (default 0).' }),
      lineLimit: t.arg.int({ required: false, description: 'Lines in the page (default 100).' }),
      byteOffset: t.arg.int({ required: false, description: 'First byte; selects byte windows.' }),
      byteLimit: t.arg.int({ required: false, description: 'Bytes in the page (default 4096).' }),
    },
    resolve: async (_root, args, ctx) => {
      const { uuid, ...query } = args;
      const { execution, page } = await ctx.services.runtime.output(ctx.principal, { id: uuid, ...query });
      return { ...page, executionId: execution.id, status: execution.status };
    },
  }),
);

const HeapTagInput = builder.inputType('HeapTagInput', {
  description: 'One tag of the heap snapshot a run produces.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Tag name (up to 200 characters).' }),
    value: t.string({ required: true, description: 'Tag value (up to 1000 characters).' }),
  }),
});

const RunExecutionInput = builder.inputType('RunExecutionInput', {
  description: 'A script to run in the sandbox, with its limits and state.',
  fields: (t) => ({
    code: t.string({ required: true, description: 'JavaScript, or TypeScript (types are stripped, not checked).' }),
    executionTimeoutSecs: t.int({ required: false, description: 'Timeout in seconds (server default and maximum).' }),
    heapMemoryMaxMb: t.int({ required: false, description: 'V8 heap limit in MB (server default and maximum).' }),
    fs: t.string({
      required: false,
      description:
        'Filesystem snapshot to mount copy-on-write: a label of the caller (a new label mounts an empty tree) or a 64-hex CA id.',
    }),
    heap: t.string({ required: false, description: 'Heap snapshot key to restore (data globals; docs/runtime.md).' }),
    session: t.string({ required: false, description: 'Session to log the run under; the run saves a heap.' }),
    tags: t.field({
      type: [HeapTagInput],
      required: false,
      description: 'Tags for the heap snapshot the run produces (at most 64, keys unique).',
    }),
  }),
});

builder.mutationField('runExecution', (t) =>
  t.prismaField({
    type: 'Execution',
    description: 'Starts a run in the sandbox and returns it while `running`; follow it with the subscriptions.',
    authScopes: { product: 'mcp_v8' },
    errors: { types: [ScriptSyntaxError, RuntimeBusyError, InvalidInputError] },
    args: { input: t.arg({ type: RunExecutionInput, required: true, description: 'What to run.' }) },
    resolve: async (_query, _root, { input }, ctx) => {
      let tags: Record<string, string> | null = null;
      if (input.tags) {
        tags = {};
        for (const { key, value } of input.tags) {
          if (Object.hasOwn(tags, key)) throw new InvalidInputError(`tags: duplicate key ${JSON.stringify(key)}`);
          tags[key] = value;
        }
      }
      return ctx.services.runtime.submit(ctx.principal, { ...input, tags });
    },
  }),
);

builder.mutationField('cancelExecution', (t) =>
  t.prismaField({
    type: 'Execution',
    description:
      'Cancels a running execution and returns it `cancelled`. Exactly one terminal status wins against completion and timeout.',
    authScopes: { product: 'mcp_v8' },
    errors: { types: [ExecutionNotFoundError, ExecutionNotRunningError] },
    args: { uuid: t.arg.string({ required: true, description: 'The execution’s UUID.' }) },
    resolve: (_query, _root, { uuid }, ctx) => ctx.services.runtime.cancel(ctx.principal, uuid),
  }),
);

const OutputEventRef = builder.objectRef<OutputStreamEvent>('ExecutionOutputEvent');
OutputEventRef.implement({
  description:
    'A piece of console output with REST coordinates (bytes [startByte, endByte), complete lines [startLine, endLine)); the last event has `done: true` and the terminal status.',
  fields: (t) => ({
    executionUuid: t.exposeString('executionId', { description: 'The execution’s UUID.' }),
    data: t.exposeString('data', { description: 'The piece’s text (empty in the `done` event).' }),
    startByte: t.exposeInt('startByte', { description: 'First byte of the piece.' }),
    endByte: t.exposeInt('endByte', { description: 'Byte after the piece (exclusive).' }),
    startLine: t.exposeInt('startLine', { description: 'Line the piece starts in.' }),
    endLine: t.exposeInt('endLine', { description: 'Complete lines before the piece’s end.' }),
    status: t.field({
      type: ExecutionStatusEnum,
      description: 'The execution’s status with this piece.',
      resolve: (e) => e.status as ExecutionStatus,
    }),
    done: t.exposeBoolean('done', { description: 'The last event: every stored byte was delivered.' }),
  }),
});

builder.subscriptionField('executionOutput', (t) =>
  t.field({
    type: OutputEventRef,
    description:
      'Streams output from `fromByte` (default 0): stored output first, then live, then one `done` event. Works across instances.',
    authScopes: { product: 'mcp_v8' },
    args: {
      uuid: t.arg.string({ required: true, description: 'The execution’s UUID.' }),
      fromByte: t.arg.int({ required: false, description: 'Byte offset to resume from (default 0).' }),
    },
    subscribe: (_root, { uuid, fromByte }, ctx) =>
      subscription(executionOutputStream(ctx.services, ctx.principal, uuid, Math.max(0, fromByte ?? 0))),
    resolve: (event) => event,
  }),
);

builder.subscriptionField('executionStatusChanged', (t) =>
  t.prismaField({
    type: 'Execution',
    description: 'The execution now, then again when it reaches its terminal status (then the stream ends).',
    authScopes: { product: 'mcp_v8' },
    args: { uuid: t.arg.string({ required: true, description: 'The execution’s UUID.' }) },
    subscribe: (_root, { uuid }, ctx) => subscription(executionStatusStream(ctx.services, ctx.principal, uuid)),
    resolve: async (query, payload, _args, ctx) => {
      const row = scalarsOnly(query) ? await ctx.services.runtime.get(ctx.principal, payload.id) : null;
      return row ?? ctx.services.prisma.execution.findUniqueOrThrow({ ...query, where: { id: payload.id } });
    },
  }),
);

const RuntimeInfoRef = builder
  .objectRef<{ serverVersion: string; isolatedVmVersion: string | null; nodeVersion: string }>('RuntimeInfo')
  .implement({
    description: 'Versions of the server and of the sandbox (isolated-vm) its workers load.',
    fields: (t) => ({
      serverVersion: t.exposeString('serverVersion', { description: 'The server’s version (package.json).' }),
      isolatedVmVersion: t.exposeString('isolatedVmVersion', {
        nullable: true,
        description: 'null when no sandbox worker could load isolated-vm (runs then fail).',
      }),
      nodeVersion: t.exposeString('nodeVersion', { description: 'The Node.js the server and its workers run on.' }),
    }),
  });

builder.queryField('runtimeInfo', (t) =>
  t.field({
    type: RuntimeInfoRef,
    description: 'Server and sandbox versions (REST `GET /api/version`).',
    authScopes: { product: 'mcp_v8' },
    resolve: async (_root, _args, ctx) => ({
      serverVersion: serverVersion(),
      isolatedVmVersion: (await ctx.services.runtime.isolatedVmVersion()) ?? null,
      nodeVersion: process.version,
    }),
  }),
);

/** Composite keys as one opaque string: `[tenant, ...rest]` as JSON (tenants may contain any character). */
export const encodeKey = (...parts: string[]) => JSON.stringify(parts);
export function decodeKey(id: string, length: number): string[] | null {
  try {
    const parts: unknown = JSON.parse(id);
    return Array.isArray(parts) && parts.length === length && parts.every((p) => typeof p === 'string')
      ? (parts as string[])
      : null;
  } catch {
    return null;
  }
}

const HeapTagRef = builder.objectRef<{ key: string; value: string }>('HeapTag').implement({
  description: 'A tag of a heap snapshot (from the `tags` of the run that produced it).',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Tag name.' }),
    value: t.exposeString('value', { description: 'Tag value.' }),
  }),
});

const HeapSnapshotRef = builder.prismaNode('HeapSnapshot', {
  id: { resolve: (s) => encodeKey(s.tenant, s.key) },
  description: 'A saved global state (data globals only), content-addressed; visible only to its tenant.',
  authScopes: { product: 'mcp_v8' },
  nullable: true,
  findUnique: (id, ctx) => {
    const [tenant, key] = decodeKey(id, 2) ?? [];
    // Another tenant's snapshot looks exactly like a missing one.
    return { tenant_key: { tenant: tenant === tenantOf(ctx) ? tenant : '', key: key ?? '' } };
  },
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The heap key: SHA-256 (hex) of the serialised state.' }),
    sizeBytes: t.exposeInt('sizeBytes', { description: 'Size of the serialised state, in bytes.' }),
    parentKey: t.exposeString('parentKey', {
      nullable: true,
      description: 'The heap the producing run restored; null for a run that started fresh.',
    }),
    producedByExecutionUuid: t.exposeString('producedByExecutionId', {
      nullable: true,
      description: 'UUID of the run that produced it first.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first stored.' }),
    tags: t.field({
      type: [HeapTagRef],
      description: 'Its tags, by name.',
      select: { tags: { select: { key: true, value: true }, orderBy: { key: 'asc' } } },
      resolve: (snapshot) => snapshot.tags,
    }),
  }),
});

builder.queryField('heapSnapshot', (t) =>
  t.prismaField({
    type: HeapSnapshotRef,
    nullable: true,
    description: "One of the caller's heap snapshots by its key; null when unknown (or another tenant's).",
    authScopes: { product: 'mcp_v8' },
    args: { key: t.arg.string({ required: true, description: 'The heap key (64 hex).' }) },
    resolve: (query, _root, { key }, ctx) =>
      ctx.services.prisma.heapSnapshot.findUnique({ ...query, where: { tenant_key: { tenant: tenantOf(ctx), key } } }),
  }),
);

builder.prismaNode('SessionLogEntry', {
  id: { field: 'id' },
  description: 'One run of a session: the heap it started from and the heap and tree it produced.',
  authScopes: { product: 'mcp_v8' },
  nullable: true,
  findUnique: (id, ctx) => ({ id: isUuid(id) ? id : nowhere, tenant: tenantOf(ctx) }),
  fields: (t) => ({
    session: t.exposeString('session', { description: 'The session name.' }),
    executionUuid: t.exposeString('executionId', { description: 'UUID of the run.' }),
    inputHeap: t.exposeString('inputHeap', { nullable: true, description: 'Heap key the run restored.' }),
    outputHeap: t.exposeString('outputHeap', {
      nullable: true,
      description: 'Heap key the run produced; null when it did not complete.',
    }),
    outputFs: t.exposeString('outputFs', { nullable: true, description: 'CA id of its mounted tree afterwards.' }),
    codeSha256: t.exposeString('codeRef', { description: 'SHA-256 (hex) of the run’s source.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the run ended.' }),
  }),
});

builder.queryField('sessionLog', (t) =>
  t.prismaConnection({
    type: 'SessionLogEntry',
    cursor: 'id',
    description: "The caller's runs in a session, oldest first (`last: n` gives the newest n). Pages of up to 1000.",
    maxSize: 1000,
    authScopes: { product: 'mcp_v8' },
    args: { session: t.arg.string({ required: true, description: 'The session name.' }) },
    totalCount: (_root, { session }, ctx) =>
      ctx.services.prisma.sessionLogEntry.count({ where: { tenant: tenantOf(ctx), session } }),
    resolve: (query, _root, { session }, ctx) =>
      ctx.services.prisma.sessionLogEntry.findMany({
        ...query,
        where: { tenant: tenantOf(ctx), session },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      }),
  }),
);
