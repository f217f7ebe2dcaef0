import { resolveArrayConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { FsReflogOp } from '../../../../prisma/generated/client/enums.ts';
import { principalId } from '../../../core/auth/principal.ts';
import { builder } from '../../../core/builder.ts';
import type { Context } from '../../../core/context.ts';
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
import { type ListedFile, looksLikeCaId } from '../tree.ts';

const tenantOf = (ctx: Context) => principalId(ctx.principal);

/** Composite keys as one opaque string (tenants may contain any character). */
const encodeKey = (...parts: string[]) => JSON.stringify(parts);
function decodeKey(id: string, length: number): string[] | null {
  try {
    const parts: unknown = JSON.parse(id);
    return Array.isArray(parts) && parts.length === length && parts.every((p) => typeof p === 'string')
      ? (parts as string[])
      : null;
  } catch {
    return null;
  }
}

/** Bad arguments where no error union applies (connections, nested fields): a BAD_USER_INPUT error (REST 400). */
async function badInput<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof FsInvalidInputError) {
      throw new GraphQLError(err.message, { extensions: { code: ErrorCodes.badUserInput } });
    }
    throw err;
  }
}

builder.objectType(FsInvalidInputError, {
  name: 'FsInvalidInputError',
  description: 'Malformed input: a CA id, label name, message, `prefer` or limit.',
  interfaces: [ErrorInterface],
});
builder.objectType(FsUnknownSnapshotError, {
  name: 'FsUnknownSnapshotError',
  description: 'A well-formed CA id that names no stored snapshot.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ caId: t.exposeString('caId', { description: 'The CA id asked for.' }) }),
});
builder.objectType(FsLabelNotFoundError, {
  name: 'FsLabelNotFoundError',
  description: 'The caller has no label of this name.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ label: t.exposeString('label', { description: 'The label asked for.' }) }),
});
builder.objectType(FsNotInReflogError, {
  name: 'FsNotInReflogError',
  description: "Reset to a CA id the label's reflog never held, without `allowUnlogged`.",
  interfaces: [ErrorInterface],
});
builder.objectType(FsLimitExceededError, {
  name: 'FsLimitExceededError',
  description: 'A tree beyond the documented limits (files, depth, bytes; docs/snapshots.md).',
  interfaces: [ErrorInterface],
});

const FsReflogOpEnum = builder.enumType(FsReflogOp, {
  name: 'FsReflogOp',
  description: 'How a label moved: created, pushed (compare-and-set), reset (rollback) or forced (unconditional).',
  values: {
    create: { description: 'The move created the label.' },
    push: { description: 'A compare-and-set push advanced it.' },
    reset: { description: 'A reset moved it to a CA id from its reflog (or any, with allowUnlogged).' },
    force: { description: 'Repointed unconditionally (set label, or push with force).' },
  },
});

builder.prismaNode('FsReflogEntry', {
  id: { resolve: (e) => encodeKey(e.tenant, e.label, String(e.seq)) },
  description: 'One move of a label, written in the same transaction as the move. Only its tenant sees it.',
  authScopes: { product: 'mcp_v8' },
  nullable: true,
  findUnique: (id, ctx) => {
    const [tenant, label, seq] = decodeKey(id, 3) ?? [];
    const n = Number(seq);
    const mine = tenant === tenantOf(ctx) && Number.isSafeInteger(n) && n > 0 && n < 2 ** 31;
    return { tenant_label_seq: { tenant: mine ? tenantOf(ctx) : '', label: label ?? '', seq: mine ? n : 0 } };
  },
  fields: (t) => ({
    label: t.exposeString('label', { description: 'The label that moved.' }),
    seq: t.exposeInt('seq', { description: 'Position in the reflog, from 1.' }),
    at: t.expose('at', { type: 'DateTime', description: 'When the label moved.' }),
    from: t.exposeString('fromCaId', {
      nullable: true,
      description: 'Previous head; null when the move created the label.',
    }),
    to: t.exposeString('toCaId', { description: 'The new head.' }),
    op: t.expose('op', { type: FsReflogOpEnum, description: 'How it moved.' }),
    message: t.exposeString('message', { nullable: true, description: 'The mover’s message.' }),
  }),
});

const maxLogEntries = snapshots.maxLogEntries;

builder.prismaNode('FsLabel', {
  id: { resolve: (l) => encodeKey(l.tenant, l.name) },
  description: "A tenant's named pointer to a filesystem snapshot. Only its owner can see it.",
  authScopes: { product: 'mcp_v8' },
  nullable: true,
  findUnique: (id, ctx) => {
    const [tenant, name] = decodeKey(id, 2) ?? [];
    return { tenant_name: { tenant: tenant === tenantOf(ctx) ? tenant : '', name: name ?? '' } };
  },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The label name (REST path segment).' }),
    caId: t.exposeString('headCaId', { description: 'The current head: the CA id (64 hex) of a snapshot.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the label was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last moved.' }),
    reflog: t.prismaConnection(
      {
        type: 'FsReflogEntry',
        cursor: 'tenant_label_seq',
        description: `The label's moves, newest first (\`first: n\` gives the most recent n). Pages of up to ${maxLogEntries}.`,
        maxSize: maxLogEntries,
        totalCount: (label, _args, ctx) =>
          ctx.services.prisma.fsReflogEntry.count({ where: { tenant: label.tenant, label: label.name } }),
        resolve: (query, label, _args, ctx) =>
          ctx.services.prisma.fsReflogEntry.findMany({
            ...query,
            where: { tenant: label.tenant, label: label.name },
            orderBy: { seq: 'desc' },
          }),
      },
      { description: 'Moves of a label, newest first.' },
      { description: 'One move of a label.' },
    ),
  }),
});

builder.queryField('fsLabels', (t) =>
  t.prismaConnection(
    {
      type: 'FsLabel',
      cursor: 'tenant_name',
      description: "The caller's snapshot labels, by name. Pages of up to 1000.",
      maxSize: 1000,
      authScopes: { product: 'mcp_v8' },
      totalCount: (_root, _args, ctx) => ctx.services.prisma.fsLabel.count({ where: { tenant: tenantOf(ctx) } }),
      resolve: (query, _root, _args, ctx) =>
        ctx.services.prisma.fsLabel.findMany({
          ...query,
          where: { tenant: tenantOf(ctx) },
          orderBy: { name: 'asc' },
        }),
    },
    { description: "The caller's labels, by name." },
    { description: 'One label.' },
  ),
);

builder.queryField('fsLabel', (t) =>
  t.prismaField({
    type: 'FsLabel',
    description: "One of the caller's labels; FsLabelNotFoundError when the caller has no label of that name.",
    errors: { types: [FsInvalidInputError, FsLabelNotFoundError] },
    authScopes: { product: 'mcp_v8' },
    args: { name: t.arg.string({ required: true, description: 'The label name.' }) },
    // Not `...query`: when the caller selects only error members, Pothos' select is empty and Prisma refuses it.
    resolve: (_query, _root, args, ctx) => ctx.services.snapshots.label(ctx.principal, args),
  }),
);

builder.queryField('fsLabelLog', (t) =>
  t.prismaConnection(
    {
      type: 'FsReflogEntry',
      cursor: 'tenant_label_seq',
      description: `A label's reflog, newest first (\`first: n\` gives the most recent n; empty for an unknown label). Pages of up to ${maxLogEntries}; a malformed name is BAD_USER_INPUT.`,
      maxSize: maxLogEntries,
      authScopes: { product: 'mcp_v8' },
      args: { name: t.arg.string({ required: true, description: 'The label name.' }) },
      totalCount: (_root, args, ctx) =>
        badInput(() =>
          ctx.services.prisma.fsReflogEntry.count({
            where: { tenant: tenantOf(ctx), label: snapshots.parseLabel(args.name) },
          }),
        ),
      resolve: (query, _root, args, ctx) =>
        badInput(() =>
          ctx.services.prisma.fsReflogEntry.findMany({
            ...query,
            where: { tenant: tenantOf(ctx), label: snapshots.parseLabel(args.name) },
            orderBy: { seq: 'desc' },
          }),
        ),
    },
    { description: 'Moves of a label, newest first.' },
    { description: 'One move of a label.' },
  ),
);

const FsSnapshotFileRef = builder.objectRef<ListedFile>('FsSnapshotFile').implement({
  description: 'A file of a snapshot (no bytes).',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Relative, `/`-separated.' }),
    size: t.exposeInt('size', { description: 'Bytes.' }),
  }),
});

const FsSnapshotRef = builder.node(builder.objectRef<snapshots.SnapshotListing>('FsSnapshot'), {
  id: { resolve: (s) => s.caId },
  description:
    'A content-addressed snapshot: its CA id is the SHA-256 of its canonical root tree node. Anyone who knows a CA id may read it (the id is content).',
  authScopes: { product: 'mcp_v8' },
  loadOne: async (caId, ctx) => {
    if (!looksLikeCaId(caId)) return null;
    try {
      return await ctx.services.snapshots.snapshot(ctx.principal, { caId });
    } catch (err) {
      if (err instanceof FsUnknownSnapshotError || err instanceof FsInvalidInputError) return null;
      throw err;
    }
  },
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'files' in v && 'caId' in v,
  fields: (t) => ({
    caId: t.exposeString('caId', { description: 'The CA id (64 hex).' }),
    fileCount: t.int({ description: 'Files in the snapshot.', resolve: (s) => s.files.length }),
    totalBytes: t.field({
      type: 'BigInt',
      description: 'Sum of file sizes.',
      resolve: (s) => BigInt(s.files.reduce((n, f) => n + f.size, 0)),
    }),
    files: t.connection(
      {
        type: FsSnapshotFileRef,
        description: 'Files in path order (no bytes). Pages of up to 1000.',
        resolve: (s, args) => ({
          ...resolveArrayConnection({ args, defaultSize: 100, maxSize: 1000 }, s.files),
          totalCount: s.files.length,
        }),
      },
      {
        description: 'Files of a snapshot in path order.',
        fields: (c) => ({
          totalCount: c.int({
            description: 'Files in the snapshot.',
            resolve: (conn) => (conn as unknown as { totalCount: number }).totalCount,
          }),
        }),
      },
      { description: 'One file.' },
    ),
  }),
});

builder.queryField('fsSnapshot', (t) =>
  t.field({
    type: FsSnapshotRef,
    description:
      'The file listing of a snapshot (paths and sizes). Anyone who knows a CA id may read it: the id is content.',
    errors: { types: [FsInvalidInputError, FsUnknownSnapshotError, FsLimitExceededError] },
    authScopes: { product: 'mcp_v8' },
    args: { caId: t.arg.string({ required: true, description: 'The CA id (64 hex).' }) },
    resolve: (_root, args, ctx) => ctx.services.snapshots.snapshot(ctx.principal, args),
  }),
);

const FsLabelHeadRef = builder.objectRef<snapshots.LabelHead>('FsLabelHead').implement({
  description: 'A label and the CA id it now points to.',
  fields: (t) => ({
    label: t.exposeString('label', { description: 'The label name.' }),
    caId: t.exposeString('caId', { description: 'Its head after the move.' }),
  }),
});

builder.mutationField('fsSetLabel', (t) =>
  t.field({
    type: FsLabelHeadRef,
    description: 'Creates a label or repoints it unconditionally (reflog op `create` or `force`).',
    errors: { types: [FsInvalidInputError, FsUnknownSnapshotError] },
    authScopes: { product: 'mcp_v8' },
    args: {
      name: t.arg.string({ required: true, description: 'The label name: 1-200 of [A-Za-z0-9._-], not 64 hex.' }),
      caId: t.arg.string({ required: true, description: 'The snapshot to point to (must exist).' }),
      message: t.arg.string({ required: false, description: 'Reflog message (up to 4096 bytes).' }),
    },
    resolve: (_root, args, ctx) => ctx.services.snapshots.setLabel(ctx.principal, args),
  }),
);

const FsPushStatusEnum = builder.enumType('FsPushStatus', {
  description: 'What a push did.',
  values: {
    advanced: { description: 'The label now points to the pushed CA id.' },
    detached: { description: 'No label was named (`detach`): the CA id is echoed, nothing moved.' },
    rejected: { description: 'The head was not `expected`: nothing moved; see `current`.' },
  } as const,
});

const FsPushResultRef = builder.objectRef<snapshots.PushResult>('FsPushResult').implement({
  description: 'A rejection is a result, not an error: re-pull `current`, merge, push again with expected = current.',
  fields: (t) => ({
    status: t.field({ type: FsPushStatusEnum, description: 'What the push did.', resolve: (r) => r.status }),
    label: t.string({
      nullable: true,
      description: 'The label pushed to; null when detached.',
      resolve: (r) => (r.status === 'detached' ? null : r.label),
    }),
    caId: t.string({
      nullable: true,
      description: 'The pushed CA id; null when rejected.',
      resolve: (r) => (r.status === 'rejected' ? null : r.caId),
    }),
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
      caId: t.arg.string({ required: true, description: 'The snapshot to push (must exist).' }),
      label: t.arg.string({ required: false, description: 'The label to move; required unless `detach`.' }),
      expected: t.arg.string({
        required: false,
        description: 'The head the caller last saw; absent means the label must not exist yet.',
      }),
      force: t.arg.boolean({ required: false, description: 'Move regardless of the head (op `force`).' }),
      detach: t.arg.boolean({ required: false, description: 'Move nothing; echo the CA id.' }),
      message: t.arg.string({ required: false, description: 'Reflog message (up to 4096 bytes).' }),
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
      label: t.arg.string({ required: true, description: 'The label to move.' }),
      caId: t.arg.string({ required: true, description: 'Where to move it (must exist).' }),
      allowUnlogged: t.arg.boolean({
        required: false,
        description: 'Allow a CA id the reflog never held (creating the label if needed).',
      }),
      message: t.arg.string({ required: false, description: 'Reflog message (up to 4096 bytes).' }),
    },
    resolve: (_root, args, ctx) => ctx.services.snapshots.reset(ctx.principal, args),
  }),
);

const FsMergeStatusEnum = builder.enumType('FsMergeStatus', {
  description: 'How a merge ended.',
  values: {
    merged: { description: 'Clean: the merged snapshot is stored (`caId`).' },
    conflict: { description: 'Conflicts (`conflicts`); nothing is stored.' },
  } as const,
});
const FsMergePreferEnum = builder.enumType('FsMergePrefer', {
  description: 'How a merge resolves conflicting paths.',
  values: {
    ours: { description: 'Take ours wholesale.' },
    theirs: { description: 'Take theirs wholesale.' },
    none: { description: 'Report conflicts (text files are line-merged first).' },
  } as const,
});
const FsConflictKindEnum = builder.enumType('FsConflictKind', {
  description: 'Why a path conflicts.',
  values: {
    text: { value: 'text', description: 'Both changed a text file and the lines overlap.' },
    binary: { value: 'binary', description: 'Both changed a binary file.' },
    sqlite: { value: 'sqlite', description: 'Both changed an SQLite database file.' },
    modify_delete: { value: 'modify/delete', description: 'Present on one side only.' },
    file_directory: { value: 'file/directory', description: 'A file on one side, a directory on the other.' },
  } as const,
});

const FsMergeConflictRef = builder.objectRef<MergeConflict>('FsMergeConflict').implement({
  description: 'One conflicting path, with the entry content ids of each side.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'The conflicting path.' }),
    base: t.exposeString('base', { nullable: true, description: 'Entry content id in base; null when absent.' }),
    ours: t.exposeString('ours', { nullable: true, description: 'Entry content id in ours; null when absent.' }),
    theirs: t.exposeString('theirs', { nullable: true, description: 'Entry content id in theirs; null when absent.' }),
    kind: t.field({ type: FsConflictKindEnum, description: 'Why it conflicts.', resolve: (c) => c.kind }),
    markers: t.string({
      nullable: true,
      description: 'diff3-style marked text (text conflicts).',
      resolve: (c) => c.markers ?? null,
    }),
    diffOurs: t.string({
      nullable: true,
      description: 'Unified diff base → ours (text conflicts).',
      resolve: (c) => c.diffOurs ?? null,
    }),
    diffTheirs: t.string({
      nullable: true,
      description: 'Unified diff base → theirs (text conflicts).',
      resolve: (c) => c.diffTheirs ?? null,
    }),
  }),
});

const FsMergeResultRef = builder.objectRef<MergeResult>('FsMergeResult').implement({
  description: 'merged: the new snapshot is stored (caId). conflict: nothing is stored. Merge never moves a label.',
  fields: (t) => ({
    status: t.field({ type: FsMergeStatusEnum, description: 'How the merge ended.', resolve: (r) => r.status }),
    caId: t.string({
      nullable: true,
      description: 'The merged snapshot; null on conflict.',
      resolve: (r) => (r.status === 'merged' ? r.caId : null),
    }),
    conflicts: t.field({
      type: [FsMergeConflictRef],
      description: 'Conflicting paths; empty when merged.',
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
      ours: t.arg.string({ required: true, description: 'CA id of our side.' }),
      theirs: t.arg.string({ required: true, description: 'CA id of their side.' }),
      base: t.arg.string({ required: false, description: 'CA id of the common ancestor (two-way without).' }),
      prefer: t.arg({ type: FsMergePreferEnum, required: false, description: 'Conflict resolution (default none).' }),
    },
    resolve: (_root, args, ctx) => ctx.services.snapshots.merge(ctx.principal, args),
  }),
);
