import { InvalidInputError } from '../../src/core/errors.ts';
import { FsInvalidInputError } from '../../src/modules/snapshots/snapshots.errors.ts';
import { maxLogEntries } from '../../src/modules/snapshots/snapshots.service.ts';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestRequest, RestResponse } from '../engine/types.ts';
import {
  type FsMergePrefer,
  McpV8FsLabelDocument,
  McpV8FsLabelLogDocument,
  McpV8FsLabelsDocument,
  McpV8FsMergeDocument,
  McpV8FsPushDocument,
  McpV8FsResetDocument,
  McpV8FsSetLabelDocument,
} from '../generated/graphql.ts';

/**
 * mcp-v8's seven filesystem-snapshot operations (docs/snapshots.md). The contract gives their 200 bodies no
 * schema; the shapes are upstream's. Every failure is `{"error": ...}` with 400, except resolving an unknown
 * label (404). A rejected push is 409 with `{status: "rejected", label, current}`, not an error.
 */

interface Failure {
  __typename: string;
  message: string;
}

const fsError = (result: Failure): RestResponse => ({
  status: result.__typename === 'FsLabelNotFoundError' ? 404 : 400,
  body: { error: result.message },
});

/** `prefer` as upstream reads it (case-insensitive; empty or `none` = report conflicts). */
function preferOf(value: unknown): FsMergePrefer | null {
  if (value === undefined || value === null) return null;
  const v = String(value).toLowerCase();
  if (v === 'ours' || v === 'theirs' || v === 'none') return v;
  if (v === '') return 'none';
  throw new FsInvalidInputError(
    `invalid prefer ${JSON.stringify(String(value).slice(0, 40))}: expected ours|theirs|none`,
  );
}

const body = (req: RestRequest) => (req.body ?? {}) as Record<string, unknown>;
const optString = (value: unknown) => (typeof value === 'string' ? value : null);
const optBool = (value: unknown) => (typeof value === 'boolean' ? value : null);

/** GraphQL `Int` is 32-bit; a reflog `limit` beyond it is refused (400) rather than clamped. */
const maxInt = 2 ** 31 - 1;

// The contract lists all labels in one response; the connection allows pages of 1000.
const labelListLimit = 1000;

/** GET /api/fs/labels → `{labels: [{name, ca_id}]}`, by name. */
const fsLabels = graphqlOperation({
  document: McpV8FsLabelsDocument,
  variables: () => ({ first: labelListLimit }),
  respond: (data) => ({
    status: 200,
    body: { labels: data.fsLabels.edges.map(({ node }) => ({ name: node.name, ca_id: node.caId })) },
  }),
});

/** POST /api/fs/labels → `{label, ca_id}`: create (op create) or repoint unconditionally (op force). */
const fsSetLabel = graphqlOperation({
  document: McpV8FsSetLabelDocument,
  variables: (req) => ({
    name: String(body(req).name),
    caId: String(body(req).ca_id),
    message: optString(body(req).message),
  }),
  respond: ({ fsSetLabel: result }) => {
    if (result.__typename !== 'MutationFsSetLabelSuccess') return fsError(result);
    return { status: 200, body: { label: result.data.label, ca_id: result.data.caId } };
  },
});

/** GET /api/fs/labels/{label} → `{label, ca_id}`; 404 `{error: "unknown label: <name>"}`. */
const fsResolve = graphqlOperation({
  document: McpV8FsLabelDocument,
  variables: (req) => ({ name: req.params.label ?? '' }),
  respond: ({ fsLabel: result }) => {
    if (result.__typename !== 'QueryFsLabelSuccess') return fsError(result);
    return { status: 200, body: { label: result.data.name, ca_id: result.data.caId } };
  },
});

/**
 * GET /api/fs/labels/{label}/log?limit=N → `{label, log: [{at (epoch ms), from, to, op, message?}]}`, oldest first:
 * the connection is newest first, so `first: N` is the most recent N, reversed here.
 */
const fsLog = graphqlOperation({
  document: McpV8FsLabelLogDocument,
  variables: (req) => {
    const limit = req.coerced.query.limit;
    if (typeof limit === 'number' && (!Number.isSafeInteger(limit) || limit > maxInt)) {
      throw new InvalidInputError(`query.limit: must be an integer between 0 and ${maxInt}`);
    }
    const first = typeof limit === 'number' ? Math.min(limit, maxLogEntries) : maxLogEntries;
    return { name: req.params.label ?? '', first };
  },
  respond: ({ fsLabelLog: connection }, req) => ({
    status: 200,
    body: {
      label: req.params.label,
      log: connection.edges
        .map(({ node: e }) => ({
          at: Date.parse(e.at),
          from: e.from,
          to: e.to,
          op: e.op,
          ...(e.message === null ? {} : { message: e.message }),
        }))
        .reverse(),
    },
  }),
});

/**
 * POST /api/fs/push: 200 `{status: "advanced", label, ca_id}` or `{status: "detached", ca_id}`;
 * 409 `{status: "rejected", label, current}` when the head is not `expected`.
 */
const fsPush = graphqlOperation({
  document: McpV8FsPushDocument,
  variables: (req) => {
    const b = body(req);
    return {
      caId: String(b.ca_id),
      label: optString(b.label),
      expected: optString(b.expected),
      force: optBool(b.force),
      detach: optBool(b.detach),
      message: optString(b.message),
    };
  },
  respond: ({ fsPush: result }) => {
    if (result.__typename !== 'MutationFsPushSuccess') return fsError(result);
    const r = result.data;
    switch (r.status) {
      case 'detached':
        return { status: 200, body: { status: 'detached', ca_id: r.caId } };
      case 'advanced':
        return { status: 200, body: { status: 'advanced', label: r.label, ca_id: r.caId } };
      case 'rejected':
        return { status: 409, body: { status: 'rejected', label: r.label, current: r.current } };
    }
  },
});

/** POST /api/fs/reset → `{label, ca_id}`; 400 when the CA id is not in the reflog (unless allow_unlogged). */
const fsReset = graphqlOperation({
  document: McpV8FsResetDocument,
  variables: (req) => {
    const b = body(req);
    return {
      label: String(b.label),
      caId: String(b.ca_id),
      allowUnlogged: optBool(b.allow_unlogged),
      message: optString(b.message),
    };
  },
  respond: ({ fsReset: result }) => {
    if (result.__typename !== 'MutationFsResetSuccess') return fsError(result);
    return { status: 200, body: { label: result.data.label, ca_id: result.data.caId } };
  },
});

/**
 * POST /api/fs/merge → 200 `{status: "merged", ca_id}` or `{status: "conflict", conflicts: [{path, base, ours,
 * theirs, kind, markers?, diff_ours?, diff_theirs?}]}`; 400 for malformed or unknown ids and bad `prefer`.
 */
const fsMerge = graphqlOperation({
  document: McpV8FsMergeDocument,
  variables: (req) => {
    const b = body(req);
    return {
      ours: String(b.ours),
      theirs: String(b.theirs),
      base: optString(b.base),
      prefer: preferOf(b.prefer),
    };
  },
  respond: ({ fsMerge: result }) => {
    if (result.__typename !== 'MutationFsMergeSuccess') return fsError(result);
    const r = result.data;
    if (r.status === 'merged') return { status: 200, body: { status: 'merged', ca_id: r.caId } };
    return {
      status: 200,
      body: {
        status: 'conflict',
        conflicts: r.conflicts.map((c) => ({
          path: c.path,
          base: c.base,
          ours: c.ours,
          theirs: c.theirs,
          kind: c.kind.replace('_', '/'),
          ...(c.markers === null ? {} : { markers: c.markers }),
          ...(c.diffOurs === null ? {} : { diff_ours: c.diffOurs }),
          ...(c.diffTheirs === null ? {} : { diff_theirs: c.diffTheirs }),
        })),
      },
    };
  },
});

/** Filesystem snapshots: labels, resolve, reflog, push, reset, merge. */
export const mcpV8FsOperations = operationsFor<OperationPolicy>().group('fs', 'test/mcp-v8/fs.test.ts', {
  fs_labels_handler: fsLabels,
  fs_set_label_handler: fsSetLabel,
  fs_resolve_handler: fsResolve,
  fs_log_handler: fsLog,
  fs_push_handler: fsPush,
  fs_reset_handler: fsReset,
  fs_merge_handler: fsMerge,
});
