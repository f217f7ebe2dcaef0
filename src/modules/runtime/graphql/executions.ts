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
  RuntimeBusyError,
  RuntimeFeatureUnavailableError,
  ScriptSyntaxError,
} from '../runtime.errors.ts';
import { isUuid, serverVersion } from '../runtime.service.ts';
import { executionOutputStream, executionStatusStream, type OutputStreamEvent } from '../streams.ts';

builder.objectType(ExecutionNotFoundError, { name: 'ExecutionNotFoundError', interfaces: [ErrorInterface] });
builder.objectType(ScriptSyntaxError, { name: 'ScriptSyntaxError', interfaces: [ErrorInterface] });
builder.objectType(RuntimeBusyError, { name: 'RuntimeBusyError', interfaces: [ErrorInterface] });
builder.objectType(RuntimeFeatureUnavailableError, {
  name: 'RuntimeFeatureUnavailableError',
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
    status: t.expose('status', { type: ExecutionStatusEnum }),
    sourceLang: t.exposeString('sourceLang', { description: '`js`, or `ts` when esbuild stripped types first.' }),
    codeSha256: t.exposeString('codeRef'),
    result: t.exposeString('result', {
      nullable: true,
      description: 'JSON of the final value (completed runs); null for undefined.',
    }),
    error: t.exposeString('error', { nullable: true }),
    heapIn: t.exposeString('heapIn', { nullable: true, description: 'Heap snapshot restored before the run.' }),
    heapOut: t.exposeString('heapOut', {
      nullable: true,
      description: 'Heap snapshot the run produced (runs that passed heap, session or tags).',
    }),
    session: t.exposeString('session', { nullable: true }),
    fsHandle: t.exposeString('fsHandle', { nullable: true, description: 'The `fs` the run asked to mount.' }),
    fsOut: t.exposeString('fsOut', {
      nullable: true,
      description: 'CA id of the mounted tree after a completed run (the base id when unchanged).',
    }),
    heapMemoryMaxMb: t.exposeInt('heapMemoryMaxMb'),
    timeoutSecs: t.exposeInt('timeoutSecs'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    outputBytes: t.expose('outputBytes', { type: 'BigInt' }),
    outputLines: t.expose('outputLines', { type: 'BigInt' }),
  }),
});

const OutputPageRef = builder.objectRef<OutputPage & { executionId: string; status: string }>('ExecutionOutputPage');
OutputPageRef.implement({
  description: 'A window of console output: 0-based lines and UTF-8 byte offsets, exclusive ends.',
  fields: (t) => ({
    executionId: t.exposeString('executionId'),
    status: t.exposeString('status'),
    data: t.exposeString('data'),
    startLine: t.exposeFloat('startLine'),
    endLine: t.exposeFloat('endLine'),
    nextLineOffset: t.exposeFloat('nextLineOffset'),
    totalLines: t.exposeFloat('totalLines'),
    startByte: t.exposeFloat('startByte'),
    endByte: t.exposeFloat('endByte'),
    nextByteOffset: t.exposeFloat('nextByteOffset'),
    totalBytes: t.exposeFloat('totalBytes'),
    hasMore: t.exposeBoolean('hasMore'),
  }),
});

builder.queryField('executions', (t) =>
  t.prismaConnection({
    type: 'Execution',
    cursor: 'id',
    description: "The caller's executions within the retention window, newest first. Pages of up to 1000.",
    maxSize: 1000,
    authScopes: { product: 'mcp_v8' },
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
    args: { uuid: t.arg.string({ required: true }) },
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
      uuid: t.arg.string({ required: true }),
      lineOffset: t.arg.float({ required: false }),
      lineLimit: t.arg.float({ required: false }),
      byteOffset: t.arg.float({ required: false }),
      byteLimit: t.arg.float({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const { uuid, ...query } = args;
      const { execution, page } = await ctx.services.runtime.output(ctx.principal, { id: uuid, ...query });
      return { ...page, executionId: execution.id, status: execution.status };
    },
  }),
);

const RunExecutionInput = builder.inputType('RunExecutionInput', {
  fields: (t) => ({
    code: t.string({ required: true, description: 'JavaScript, or TypeScript (types are stripped, not checked).' }),
    executionTimeoutSecs: t.int({ required: false }),
    heapMemoryMaxMb: t.int({ required: false }),
    fs: t.string({
      required: false,
      description:
        'Filesystem snapshot to mount copy-on-write: a label of the caller (a new label mounts an empty tree) or a 64-hex CA id.',
    }),
    heap: t.string({ required: false, description: 'Heap snapshot key to restore (data globals; docs/runtime.md).' }),
    session: t.string({ required: false, description: 'Session to log the run under; the run saves a heap.' }),
    tags: t.field({ type: 'JSON', required: false, description: 'Tags for the heap snapshot the run produces.' }),
  }),
});

builder.mutationField('runExecution', (t) =>
  t.prismaField({
    type: 'Execution',
    description: 'Starts a run in the sandbox and returns it while `running`; follow it with the subscriptions.',
    authScopes: { product: 'mcp_v8' },
    errors: { types: [ScriptSyntaxError, RuntimeFeatureUnavailableError, RuntimeBusyError, InvalidInputError] },
    args: { input: t.arg({ type: RunExecutionInput, required: true }) },
    resolve: async (_query, _root, { input }, ctx) => {
      const tags = input.tags;
      if (tags !== null && tags !== undefined) {
        const valid =
          typeof tags === 'object' && !Array.isArray(tags) && Object.values(tags).every((v) => typeof v === 'string');
        if (!valid) throw new InvalidInputError('tags must be an object of string values');
      }
      return ctx.services.runtime.submit(ctx.principal, { ...input, tags: tags as Record<string, string> | null });
    },
  }),
);

const CancelResultRef = builder.objectRef<{ ok: boolean; error: string | null }>('CancelExecutionResult');
CancelResultRef.implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    error: t.exposeString('error', { nullable: true, description: 'Why nothing was cancelled (unknown, finished).' }),
  }),
});

builder.mutationField('cancelExecution', (t) =>
  t.field({
    type: CancelResultRef,
    description: 'Cancels a running execution. Exactly one terminal status wins against completion and timeout.',
    authScopes: { product: 'mcp_v8' },
    args: { uuid: t.arg.string({ required: true }) },
    resolve: (_root, { uuid }, ctx) => ctx.services.runtime.cancel(ctx.principal, uuid),
  }),
);

const OutputEventRef = builder.objectRef<OutputStreamEvent>('ExecutionOutputEvent');
OutputEventRef.implement({
  description:
    'A piece of console output with REST coordinates (bytes [startByte, endByte), complete lines [startLine, endLine)); the last event has `done: true` and the terminal status.',
  fields: (t) => ({
    executionId: t.exposeString('executionId'),
    data: t.exposeString('data'),
    startByte: t.exposeFloat('startByte'),
    endByte: t.exposeFloat('endByte'),
    startLine: t.exposeFloat('startLine'),
    endLine: t.exposeFloat('endLine'),
    status: t.exposeString('status'),
    done: t.exposeBoolean('done'),
  }),
});

builder.subscriptionField('executionOutput', (t) =>
  t.field({
    type: OutputEventRef,
    description:
      'Streams output from `fromByte` (default 0): stored output first, then live, then one `done` event. Works across instances.',
    authScopes: { product: 'mcp_v8' },
    args: { uuid: t.arg.string({ required: true }), fromByte: t.arg.float({ required: false }) },
    subscribe: (_root, { uuid, fromByte }, ctx) =>
      subscription(executionOutputStream(ctx.services, ctx.principal, uuid, Math.max(0, Math.floor(fromByte ?? 0)))),
    resolve: (event) => event,
  }),
);

builder.subscriptionField('executionStatusChanged', (t) =>
  t.prismaField({
    type: 'Execution',
    description: 'The execution now, then again when it reaches its terminal status (then the stream ends).',
    authScopes: { product: 'mcp_v8' },
    args: { uuid: t.arg.string({ required: true }) },
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
      serverVersion: t.exposeString('serverVersion'),
      isolatedVmVersion: t.exposeString('isolatedVmVersion', {
        nullable: true,
        description: 'null when no sandbox worker could load isolated-vm (runs then fail).',
      }),
      nodeVersion: t.exposeString('nodeVersion'),
    }),
  });

builder.queryField('runtimeInfo', (t) =>
  t.field({
    type: RuntimeInfoRef,
    authScopes: { product: 'mcp_v8' },
    resolve: async (_root, _args, ctx) => ({
      serverVersion: serverVersion(),
      isolatedVmVersion: (await ctx.services.runtime.isolatedVmVersion()) ?? null,
      nodeVersion: process.version,
    }),
  }),
);

const HeapSnapshotRef = builder.prismaObject('HeapSnapshot', {
  description: 'A saved global state (data globals only), content-addressed; visible only to its tenant.',
  fields: (t) => ({
    key: t.exposeString('key'),
    sizeBytes: t.exposeInt('sizeBytes'),
    parentKey: t.exposeString('parentKey', { nullable: true }),
    producedByExecutionId: t.exposeString('producedByExecutionId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    tags: t.field({
      type: 'JSON',
      select: { tags: { select: { key: true, value: true } } },
      resolve: (snapshot) => Object.fromEntries(snapshot.tags.map((tag) => [tag.key, tag.value])),
    }),
  }),
});

builder.queryField('heapSnapshot', (t) =>
  t.prismaField({
    type: HeapSnapshotRef,
    nullable: true,
    authScopes: { product: 'mcp_v8' },
    args: { key: t.arg.string({ required: true }) },
    resolve: (query, _root, { key }, ctx) =>
      ctx.services.prisma.heapSnapshot.findUnique({ ...query, where: { tenant_key: { tenant: tenantOf(ctx), key } } }),
  }),
);

builder.prismaObject('SessionLogEntry', {
  fields: (t) => ({
    session: t.exposeString('session'),
    executionId: t.exposeString('executionId'),
    inputHeap: t.exposeString('inputHeap', { nullable: true }),
    outputHeap: t.exposeString('outputHeap', { nullable: true }),
    outputFs: t.exposeString('outputFs', { nullable: true }),
    codeSha256: t.exposeString('codeRef'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('sessionLog', (t) =>
  t.prismaField({
    type: ['SessionLogEntry'],
    description: "The caller's runs in a session, oldest first (newest 1000).",
    authScopes: { product: 'mcp_v8' },
    args: { session: t.arg.string({ required: true }) },
    resolve: async (query, _root, { session }, ctx) =>
      (
        await ctx.services.prisma.sessionLogEntry.findMany({
          ...query,
          where: { tenant: tenantOf(ctx), session },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: 1000,
        })
      ).reverse(),
  }),
);
