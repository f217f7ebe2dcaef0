import type { FsLabel } from '../../../prisma/generated/client/client.ts';
import type { FsReflogOp } from '../../../prisma/generated/client/enums.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { Services } from '../../core/services.ts';
import type { FsMountProvider } from '../runtime/runtime.service.ts';
import { type MergeInput, type MergeResult, mergeSnapshots } from './merge.ts';
import { snapshotMountProvider } from './mount.ts';
import {
  FsInvalidInputError,
  FsLabelNotFoundError,
  FsNotInReflogError,
  FsUnknownSnapshotError,
} from './snapshots.errors.ts';
import {
  type ListedFile,
  listTree,
  looksLikeCaId,
  parseCaId,
  readTree as readTreeObjects,
  snapshotExists,
  writeTree as writeTreeObjects,
} from './tree.ts';

export { mergeSnapshots } from './merge.ts';
export {
  FsInvalidInputError,
  FsLabelNotFoundError,
  FsLimitExceededError,
  FsNotInReflogError,
  FsUnknownSnapshotError,
} from './snapshots.errors.ts';
export { emptyTreeId, fsLimits, listTree, looksLikeCaId, parseCaId, snapshotExists } from './tree.ts';

/**
 * Filesystem snapshots: labels (per tenant, with reflog) over content-addressed trees (docs/snapshots.md).
 * `tenant` is always `principalId(principal)`. A CA id is content: whoever knows one may read, label or
 * merge it (decision in docs/snapshots.md). Labels and reflogs are only ever visible to their tenant.
 */

type Db = Pick<Services, 'prisma'>;
type Store = Pick<Services, 'objectStore'>;

/** Label grammar: a path segment that is never a CA id. */
const labelPattern = /^[A-Za-z0-9._-]{1,200}$/;
/** Bytes of a reflog message (UTF-8). */
export const maxMessageBytes = 4096;
/** Reflog entries returned at most by one read (the most recent ones). */
export const maxLogEntries = 10_000;

export function parseLabel(value: unknown, field = 'label'): string {
  if (typeof value !== 'string' || !labelPattern.test(value) || value === '.' || value === '..') {
    const shown =
      typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
    throw new FsInvalidInputError(`invalid ${field} ${shown}: 1 to 200 of [A-Za-z0-9._-], not "." or ".."`);
  }
  if (looksLikeCaId(value))
    throw new FsInvalidInputError(`invalid ${field}: a label may not be 64 hex characters (that is a CA id)`);
  return value;
}

function parseMessage(message: string | null | undefined): string | null {
  if (message === undefined || message === null) return null;
  if (typeof message !== 'string') throw new FsInvalidInputError('message must be a string');
  if (message.includes('\0')) throw new FsInvalidInputError('message may not contain U+0000');
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes > maxMessageBytes)
    throw new FsInvalidInputError(`message too long: ${bytes} bytes (max ${maxMessageBytes})`);
  return message;
}

async function requireSnapshot(services: Store, caId: string): Promise<void> {
  if (!(await snapshotExists(services, caId))) throw new FsUnknownSnapshotError(caId);
}

/** Path → bytes of a snapshot. FsInvalidInputError for a malformed id, FsUnknownSnapshotError when absent. */
export function readTree(services: Store, caId: string): Promise<Map<string, Uint8Array>> {
  return readTreeObjects(services, caId);
}

/** Stores a tree (path → bytes) and returns its CA id; identical trees give identical ids. */
export function writeTree(services: Store, files: Map<string, Uint8Array>): Promise<string> {
  return writeTreeObjects(services, files);
}

/**
 * A label name or a CA id → the CA id. 64 hex characters are a CA id (verified to exist:
 * FsUnknownSnapshotError otherwise); anything else must be a label of this tenant (FsLabelNotFoundError,
 * FsInvalidInputError for a malformed name).
 */
export async function resolveSnapshotRef(services: Db & Store, tenant: string, ref: string): Promise<string> {
  if (typeof ref === 'string' && looksLikeCaId(ref)) {
    const caId = parseCaId(ref);
    await requireSnapshot(services, caId);
    return caId;
  }
  return (await resolveLabel(services, tenant, ref)).caId;
}

export interface LabelHead {
  label: string;
  caId: string;
}

export async function resolveLabel(services: Db, tenant: string, name: string): Promise<LabelHead> {
  const label = parseLabel(name);
  const row = await services.prisma.fsLabel.findUnique({
    where: { tenant_name: { tenant, name: label } },
    select: { headCaId: true },
  });
  if (!row) throw new FsLabelNotFoundError(label);
  return { label, caId: row.headCaId };
}

export interface ReflogEntry {
  seq: number;
  at: Date;
  from: string | null;
  to: string;
  op: FsReflogOp;
  message: string | null;
}

/** The most recent `limit` entries (all, up to maxLogEntries, when omitted), oldest first. Unknown label → []. */
export async function labelLog(
  services: Db,
  tenant: string,
  name: string,
  limit?: number | null,
): Promise<ReflogEntry[]> {
  const label = parseLabel(name);
  if (limit !== undefined && limit !== null && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new FsInvalidInputError('limit must be a non-negative integer');
  }
  const take = Math.min(limit ?? maxLogEntries, maxLogEntries);
  if (take === 0) return [];
  const rows = await services.prisma.fsReflogEntry.findMany({
    where: { tenant, label },
    orderBy: { seq: 'desc' },
    take,
  });
  return rows.reverse().map((r) => ({
    seq: r.seq,
    at: r.at,
    from: r.fromCaId,
    to: r.toCaId,
    op: r.op,
    message: r.message,
  }));
}

type Decision = { move: false } | { move: true; to: string; op: FsReflogOp };
type Tx = Parameters<Parameters<Services['prisma']['$transaction']>[0]>[0];

/**
 * The one way a label moves: lock the row (or create it with ON CONFLICT DO NOTHING), decide against the
 * current head, write the head and the reflog entry in one transaction. Concurrent movers of one label
 * serialise on the row lock, so a compare-and-set sees the winner's head.
 */
async function moveLabel(
  services: Db,
  tenant: string,
  label: string,
  message: string | null,
  decide: (current: string | null, tx: Tx) => Promise<Decision> | Decision,
): Promise<{ moved: boolean; current: string | null }> {
  return services.prisma.$transaction(
    async (tx) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const rows = await tx.$queryRaw<{ head_ca_id: string }[]>`
          SELECT head_ca_id FROM fs_labels WHERE tenant = ${tenant} AND name = ${label} FOR UPDATE`;
        const current = rows[0]?.head_ca_id ?? null;
        const decision = await decide(current, tx);
        if (!decision.move) return { moved: false, current };
        if (current === null) {
          const created = await tx.fsLabel.createMany({
            data: [{ tenant, name: label, headCaId: decision.to }],
            skipDuplicates: true,
          });
          // A concurrent creator committed first: decide again against its head.
          if (created.count === 0) continue;
        } else {
          await tx.fsLabel.update({ where: { tenant_name: { tenant, name: label } }, data: { headCaId: decision.to } });
        }
        const last = await tx.fsReflogEntry.aggregate({ where: { tenant, label }, _max: { seq: true } });
        await tx.fsReflogEntry.create({
          data: {
            tenant,
            label,
            seq: (last._max.seq ?? 0) + 1,
            fromCaId: current,
            toCaId: decision.to,
            op: decision.op,
            message,
            actor: tenant,
          },
        });
        return { moved: true, current: decision.to };
      }
      throw new Error(`label ${label} kept changing while it was being moved`);
    },
    { maxWait: 20_000, timeout: 20_000 },
  );
}

export interface SetLabelInput {
  name: string;
  caId: string;
  message?: string | null;
}

/** Creates (op create) or repoints unconditionally (op force) a label. The CA id must exist. */
export async function setLabel(services: Db & Store, tenant: string, input: SetLabelInput): Promise<LabelHead> {
  const label = parseLabel(input.name, 'name');
  const caId = parseCaId(input.caId);
  const message = parseMessage(input.message);
  await requireSnapshot(services, caId);
  await moveLabel(services, tenant, label, message, (current) => ({
    move: true,
    to: caId,
    op: current === null ? 'create' : 'force',
  }));
  return { label, caId };
}

export interface PushInput {
  caId: string;
  label?: string | null;
  expected?: string | null;
  force?: boolean | null;
  detach?: boolean | null;
  message?: string | null;
}

export type PushResult =
  | { status: 'detached'; caId: string }
  | { status: 'advanced'; label: string; caId: string }
  | { status: 'rejected'; label: string; current: string | null };

/**
 * Reject-and-rebase push: detach echoes the id; force moves unconditionally; otherwise a compare-and-set of
 * the head against `expected` (both absent = create). A rejection is a result, not an error.
 */
export async function pushLabel(services: Db & Store, tenant: string, input: PushInput): Promise<PushResult> {
  const caId = parseCaId(input.caId);
  if (input.detach === true) return { status: 'detached', caId };
  if (input.label === undefined || input.label === null) {
    throw new FsInvalidInputError('fs push requires a label unless detach is true');
  }
  const label = parseLabel(input.label);
  const force = input.force === true;
  const expected =
    force || input.expected === undefined || input.expected === null ? null : parseCaId(input.expected, 'expected');
  const message = parseMessage(input.message);
  await requireSnapshot(services, caId);
  const result = await moveLabel(services, tenant, label, message, (current): Decision => {
    if (force) return { move: true, to: caId, op: current === null ? 'create' : 'force' };
    if (current === expected) return { move: true, to: caId, op: current === null ? 'create' : 'push' };
    return { move: false };
  });
  return result.moved ? { status: 'advanced', label, caId } : { status: 'rejected', label, current: result.current };
}

export interface ResetInput {
  label: string;
  caId: string;
  allowUnlogged?: boolean | null;
  message?: string | null;
}

/**
 * Moves a label back (or forward) to a CA id its reflog holds as any entry's `to` or `from`; with
 * `allowUnlogged`, to any existing snapshot (creating the label if needed). Op `reset`.
 */
export async function resetLabel(services: Db & Store, tenant: string, input: ResetInput): Promise<LabelHead> {
  const label = parseLabel(input.label);
  const caId = parseCaId(input.caId);
  const message = parseMessage(input.message);
  const allowUnlogged = input.allowUnlogged === true;
  await requireSnapshot(services, caId);
  await moveLabel(services, tenant, label, message, async (_current, tx): Promise<Decision> => {
    if (!allowUnlogged) {
      const logged = await tx.fsReflogEntry.findFirst({
        where: { tenant, label, OR: [{ toCaId: caId }, { fromCaId: caId }] },
        select: { seq: true },
      });
      if (!logged) throw new FsNotInReflogError(caId, label);
    }
    return { move: true, to: caId, op: 'reset' };
  });
  return { label, caId };
}

export interface LabelRef {
  name: string;
}

export interface LabelLogInput {
  name: string;
  limit?: number | null;
}

export interface SnapshotListing {
  caId: string;
  files: ListedFile[];
}

/**
 * The snapshots module's service (created by its module): every method takes the caller and a typed input; labels
 * and reflogs are scoped to `principalId(principal)`, CA ids are content (anyone who knows one may read it).
 * `mount` is what the runtime module mounts into runs.
 */
export class SnapshotsService {
  readonly mount: FsMountProvider;

  constructor(private readonly deps: Pick<Services, 'prisma' | 'objectStore'>) {
    this.mount = snapshotMountProvider(deps);
  }

  /** One of the caller's labels and its head; FsLabelNotFoundError when the caller has none of that name. */
  async label(principal: Principal, input: LabelRef): Promise<FsLabel> {
    const name = parseLabel(input.name, 'name');
    const label = await this.deps.prisma.fsLabel.findUnique({
      where: { tenant_name: { tenant: principalId(principal), name } },
    });
    if (!label) throw new FsLabelNotFoundError(name);
    return label;
  }

  labelLog(principal: Principal, input: LabelLogInput): Promise<ReflogEntry[]> {
    return labelLog(this.deps, principalId(principal), input.name, input.limit);
  }

  /** The file listing of a snapshot (paths and sizes, no bytes). */
  async snapshot(_principal: Principal, input: { caId: string }): Promise<SnapshotListing> {
    const caId = parseCaId(input.caId);
    return { caId, files: await listTree(this.deps, caId) };
  }

  setLabel(principal: Principal, input: SetLabelInput): Promise<LabelHead> {
    return setLabel(this.deps, principalId(principal), input);
  }

  push(principal: Principal, input: PushInput): Promise<PushResult> {
    return pushLabel(this.deps, principalId(principal), input);
  }

  reset(principal: Principal, input: ResetInput): Promise<LabelHead> {
    return resetLabel(this.deps, principalId(principal), input);
  }

  merge(_principal: Principal, input: MergeInput): Promise<MergeResult> {
    return mergeSnapshots(this.deps, input);
  }
}
