import { GraphQLError } from 'graphql';
import { FsReflogOp } from '../../../../prisma/generated/client/enums.ts';
import { principalId } from '../../../core/auth/principal.ts';
import { builder } from '../../../core/builder.ts';
import { ErrorCodes } from '../../../core/errors.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import type { MergeConflict, MergeResult } from '../merge.ts';
import {
  FsInvalidInputError,
  FsLabelNotFoundError,
  FsLimitExceededError,
  FsNotInReflogError,
  FsUnknownSnapshotError,
} from '../snapshots.errors.ts';
import * as snapshots from '../snapshots.service.ts';
import type { ListedFile } from '../tree.ts';

/** Bad arguments of a nested field (no error union there): a BAD_USER_INPUT GraphQL error, not a masked 500. */
async function nestedInput<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof FsInvalidInputError) {
      throw new GraphQLError(err.message, { extensions: { code: ErrorCodes.badUserInput } });
    }
    throw err;
  }
}

builder.objectType(FsInvalidInputError, { name: 'FsInvalidInputError', interfaces: [ErrorInterface] });
builder.objectType(FsUnknownSnapshotError, {
  name: 'FsUnknownSnapshotError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ caId: t.exposeString('caId') }),
});
builder.objectType(FsLabelNotFoundError, {
  name: 'FsLabelNotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ label: t.exposeString('label') }),
});
builder.objectType(FsNotInReflogError, { name: 'FsNotInReflogError', interfaces: [ErrorInterface] });
builder.objectType(FsLimitExceededError, { name: 'FsLimitExceededError', interfaces: [ErrorInterface] });

const FsReflogOpEnum = builder.enumType(FsReflogOp, {
  name: 'FsReflogOp',
  description: 'How a label moved: created, pushed (compare-and-set), reset (rollback) or forced (unconditional).',
});

const FsReflogEntryRef = builder.objectRef<snapshots.ReflogEntry>('FsReflogEntry').implement({
  description: 'One move of a label, written in the same transaction as the move.',
  fields: (t) => ({
    seq: t.exposeInt('seq', { description: 'Position in the reflog, from 1.' }),
    at: t.expose('at', { type: 'DateTime' }),
    from: t.exposeString('from', {
      nullable: true,
      description: 'Previous head; null when the move created the label.',
    }),
    to: t.exposeString('to'),
    op: t.expose('op', { type: FsReflogOpEnum }),
    message: t.exposeString('message', { nullable: true }),
  }),
});

const maxLogLimit = snapshots.maxLogEntries;

builder.prismaObject('FsLabel', {
  description: "A tenant's named pointer to a filesystem snapshot. Only its owner can see it.",
  fields: (t) => ({
    name: t.exposeString('name'),
    caId: t.exposeString('headCaId', { description: 'The current head: the CA id (64 hex) of a snapshot.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    reflog: t.field({
      type: [FsReflogEntryRef],
      description: `The most recent \`limit\` moves (all, up to ${maxLogLimit}, when omitted), oldest first.`,
      args: { limit: t.arg.int({ required: false }) },
      select: { tenant: true, name: true },
      resolve: (label, args, ctx) =>
        nestedInput(() => snapshots.labelLog(ctx.services, label.tenant, label.name, args.limit)),
    }),
  }),
});

builder.queryField('fsLabels', (t) =>
  t.prismaConnection({
    type: 'FsLabel',
    cursor: 'tenant_name',
    description: "The caller's snapshot labels, by name. Pages of up to 1000.",
    maxSize: 1000,
    authScopes: { product: 'mcp_v8' },
    resolve: (query, _root, _args, ctx) =>
      ctx.services.prisma.fsLabel.findMany({
        ...query,
        where: { tenant: principalId(ctx.principal) },
        orderBy: { name: 'asc' },
      }),
  }),
);

builder.queryField('fsLabel', (t) =>
  t.prismaField({
    type: 'FsLabel',
    description: "One of the caller's labels; FsLabelNotFoundError when the caller has no label of that name.",
    errors: { types: [FsInvalidInputError, FsLabelNotFoundError] },
    authScopes: { product: 'mcp_v8' },
    args: { name: t.arg.string({ required: true }) },
    // Not `...query`: when the caller selects only error members, Pothos' select is empty and Prisma refuses it.
    resolve: (_query, _root, args, ctx) => ctx.services.snapshots.label(ctx.principal, args),
  }),
);

builder.queryField('fsLabelLog', (t) =>
  t.field({
    type: [FsReflogEntryRef],
    description: `A label's reflog: the most recent \`limit\` entries (up to ${maxLogLimit}), oldest first; [] for an unknown label.`,
    errors: { types: [FsInvalidInputError] },
    authScopes: { product: 'mcp_v8' },
    args: { name: t.arg.string({ required: true }), limit: t.arg.int({ required: false }) },
    resolve: (_root, args, ctx) => ctx.services.snapshots.labelLog(ctx.principal, args),
  }),
);

const FsSnapshotFileRef = builder.objectRef<ListedFile>('FsSnapshotFile').implement({
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Relative, `/`-separated.' }),
    size: t.exposeInt('size', { description: 'Bytes.' }),
  }),
});

const maxListedFiles = 1000;

const FsSnapshotRef = builder.objectRef<snapshots.SnapshotListing>('FsSnapshot').implement({
  description: 'A content-addressed snapshot: its CA id is the SHA-256 of its canonical root tree node.',
  fields: (t) => ({
    caId: t.exposeString('caId'),
    fileCount: t.int({ resolve: (s) => s.files.length }),
    totalBytes: t.float({ description: 'Sum of file sizes.', resolve: (s) => s.files.reduce((n, f) => n + f.size, 0) }),
    files: t.field({
      type: [FsSnapshotFileRef],
      description: `Files in path order (no bytes): \`first\` (1–${maxListedFiles}, default 100) from \`offset\`.`,
      args: {
        first: t.arg.int({ required: false, defaultValue: 100 }),
        offset: t.arg.int({ required: false, defaultValue: 0 }),
      },
      resolve: (s, args) =>
        nestedInput(() => {
          const first = args.first ?? 100;
          const offset = args.offset ?? 0;
          if (!Number.isInteger(first) || first < 1 || first > maxListedFiles) {
            throw new FsInvalidInputError(`first must be between 1 and ${maxListedFiles}`);
          }
          if (!Number.isInteger(offset) || offset < 0) throw new FsInvalidInputError('offset must be ≥ 0');
          return s.files.slice(offset, offset + first);
        }),
    }),
  }),
});

builder.queryField('fsSnapshot', (t) =>
  t.field({
    type: FsSnapshotRef,
    description:
      'The file listing of a snapshot (paths and sizes). Anyone who knows a CA id may read it: the id is content.',
    errors: { types: [FsInvalidInputError, FsUnknownSnapshotError, FsLimitExceededError] },
    authScopes: { product: 'mcp_v8' },
    args: { caId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.snapshots.snapshot(ctx.principal, args),
  }),
);

const FsLabelHeadRef = builder.objectRef<snapshots.LabelHead>('FsLabelHead').implement({
  fields: (t) => ({ label: t.exposeString('label'), caId: t.exposeString('caId') }),
});

builder.mutationField('fsSetLabel', (t) =>
  t.field({
    type: FsLabelHeadRef,
    description: 'Creates a label or repoints it unconditionally (reflog op `create` or `force`).',
    errors: { types: [FsInvalidInputError, FsUnknownSnapshotError] },
    authScopes: { product: 'mcp_v8' },
    args: {
      name: t.arg.string({ required: true }),
      caId: t.arg.string({ required: true }),
      message: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) => ctx.services.snapshots.setLabel(ctx.principal, args),
  }),
);

const FsPushStatusEnum = builder.enumType('FsPushStatus', { values: ['advanced', 'detached', 'rejected'] as const });

const FsPushResultRef = builder.objectRef<snapshots.PushResult>('FsPushResult').implement({
  description: 'A rejection is a result, not an error: re-pull `current`, merge, push again with expected = current.',
  fields: (t) => ({
    status: t.field({ type: FsPushStatusEnum, resolve: (r) => r.status }),
    label: t.string({ nullable: true, resolve: (r) => (r.status === 'detached' ? null : r.label) }),
    caId: t.string({ nullable: true, resolve: (r) => (r.status === 'rejected' ? null : r.caId) }),
    current: t.string({
      nullable: true,
      description: 'The head at the time of a rejection (null when the label does not exist).',
      resolve: (r) => (r.status === 'rejected' ? r.current : null),
    }),
  }),
});

builder.mutationField('fsPush', (t) =>
  t.field({
    type: FsPushResultRef,
    description: 'Advances a label by compare-and-set against `expected` (reject-and-rebase), or by force.',
    errors: { types: [FsInvalidInputError, FsUnknownSnapshotError] },
    authScopes: { product: 'mcp_v8' },
    args: {
      caId: t.arg.string({ required: true }),
      label: t.arg.string({ required: false }),
      expected: t.arg.string({ required: false }),
      force: t.arg.boolean({ required: false }),
      detach: t.arg.boolean({ required: false }),
      message: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) => ctx.services.snapshots.push(ctx.principal, args),
  }),
);

builder.mutationField('fsReset', (t) =>
  t.field({
    type: FsLabelHeadRef,
    description:
      "Moves a label to a CA id from its reflog (any entry's from or to), or any snapshot with allowUnlogged.",
    errors: { types: [FsInvalidInputError, FsUnknownSnapshotError, FsNotInReflogError] },
    authScopes: { product: 'mcp_v8' },
    args: {
      label: t.arg.string({ required: true }),
      caId: t.arg.string({ required: true }),
      allowUnlogged: t.arg.boolean({ required: false }),
      message: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) => ctx.services.snapshots.reset(ctx.principal, args),
  }),
);

const FsMergeStatusEnum = builder.enumType('FsMergeStatus', { values: ['merged', 'conflict'] as const });
const FsConflictKindEnum = builder.enumType('FsConflictKind', {
  values: {
    text: { value: 'text' },
    binary: { value: 'binary' },
    sqlite: { value: 'sqlite' },
    modify_delete: { value: 'modify/delete', description: 'Present on one side only.' },
    file_directory: { value: 'file/directory', description: 'A file on one side, a directory on the other.' },
  } as const,
});

const FsMergeConflictRef = builder.objectRef<MergeConflict>('FsMergeConflict').implement({
  fields: (t) => ({
    path: t.exposeString('path'),
    base: t.exposeString('base', { nullable: true, description: 'Entry content id in base; null when absent.' }),
    ours: t.exposeString('ours', { nullable: true }),
    theirs: t.exposeString('theirs', { nullable: true }),
    kind: t.field({ type: FsConflictKindEnum, resolve: (c) => c.kind }),
    markers: t.string({ nullable: true, resolve: (c) => c.markers ?? null }),
    diffOurs: t.string({ nullable: true, resolve: (c) => c.diffOurs ?? null }),
    diffTheirs: t.string({ nullable: true, resolve: (c) => c.diffTheirs ?? null }),
  }),
});

const FsMergeResultRef = builder.objectRef<MergeResult>('FsMergeResult').implement({
  description: 'merged: the new snapshot is stored (caId). conflict: nothing is stored. Merge never moves a label.',
  fields: (t) => ({
    status: t.field({ type: FsMergeStatusEnum, resolve: (r) => r.status }),
    caId: t.string({ nullable: true, resolve: (r) => (r.status === 'merged' ? r.caId : null) }),
    conflicts: t.field({
      type: [FsMergeConflictRef],
      resolve: (r) => (r.status === 'conflict' ? r.conflicts : []),
    }),
  }),
});

builder.mutationField('fsMerge', (t) =>
  t.field({
    type: FsMergeResultRef,
    description: 'Three-way merge (two-way without base) of snapshots; prefer resolves conflicts wholesale.',
    errors: { types: [FsInvalidInputError, FsUnknownSnapshotError, FsLimitExceededError] },
    authScopes: { product: 'mcp_v8' },
    args: {
      ours: t.arg.string({ required: true }),
      theirs: t.arg.string({ required: true }),
      base: t.arg.string({ required: false }),
      prefer: t.arg.string({ required: false, description: 'ours | theirs | none (report conflicts).' }),
    },
    resolve: (_root, args, ctx) => ctx.services.snapshots.merge(ctx.principal, args),
  }),
);
