// Databases and their tokens: create, read, list, delete, rotate/revoke service tokens, mint query JWTs.
import { randomBytes, randomUUID } from 'node:crypto';
import { publishCredentialRevoked } from '../../core/auth/credential-watch.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import { sha256Hex } from '../../core/auth/secrets.ts';
import { assertKind, authorize, type LogStoreOperation, queryTokenUse } from './logstore.access.ts';
import { LogStoreNotFoundError } from './logstore.errors.ts';
import type { CreateDatabaseInput, DatabaseRef, ListPage, MintQueryTokenInput } from './logstore.input.ts';
import type { LogStoreDeps } from './logstore.service.ts';
import type { LogDatabaseView } from './logstore.views.ts';
import { serviceTokenPrefix } from './service-tokens.ts';

function newServiceToken(): { raw: string; hash: string; prefix: string } {
  const raw = `${serviceTokenPrefix}${randomBytes(32).toString('base64url')}`;
  return { raw, hash: sha256Hex(raw), prefix: raw.slice(0, 12) };
}

export async function createDatabase(
  deps: LogStoreDeps,
  p: Principal,
  input: CreateDatabaseInput,
): Promise<{ database: LogDatabaseView; serviceToken: string }> {
  assertKind(p, 'createDatabase');
  const id = `db_${randomUUID().replaceAll('-', '')}`;
  const token = newServiceToken();
  const created = await deps.prisma.$transaction(async (tx) => {
    const db = await tx.logDatabase.create({ data: { id, name: input.name, ownerId: principalId(p) } });
    await tx.logServiceToken.create({ data: { databaseId: id, tokenHash: token.hash, prefix: token.prefix } });
    return db;
  });
  return {
    database: { databaseId: created.id, name: created.name, ownerId: created.ownerId, createdAt: created.createdAt },
    serviceToken: token.raw,
  };
}

export type DatabaseWithCounts = LogDatabaseView & { draftCount: number; splitCount: number };

export async function getDatabase(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId }: DatabaseRef,
  op: LogStoreOperation = 'getDatabase',
): Promise<DatabaseWithCounts> {
  await authorize(deps.prisma, p, op, databaseId);
  const [db, draftCount, splitCount] = await deps.prisma.$transaction([
    deps.prisma.logDatabase.findUniqueOrThrow({ where: { id: databaseId } }),
    deps.prisma.logDraft.count({ where: { databaseId } }),
    deps.prisma.logSplit.count({ where: { databaseId, state: 'published' } }),
  ]);
  return { databaseId: db.id, name: db.name, ownerId: db.ownerId, createdAt: db.createdAt, draftCount, splitCount };
}

/** The database when the caller may read it (owner or its service token), otherwise null (missing or forbidden). */
export async function findDatabase(
  deps: LogStoreDeps,
  p: Principal,
  ref: DatabaseRef,
): Promise<DatabaseWithCounts | null> {
  try {
    return await getDatabase(deps, p, ref, 'readDatabase');
  } catch {
    return null;
  }
}

/** Databases the platform caller owns (all for the admin), newest first, with their total. */
export async function listDatabases(
  deps: LogStoreDeps,
  p: Principal,
  page: ListPage,
): Promise<{ items: DatabaseWithCounts[]; totalCount: number }> {
  assertKind(p, 'createDatabase');
  const where = p.kind === 'admin' ? {} : { ownerId: principalId(p) };
  const [rows, totalCount] = await deps.prisma.$transaction([
    deps.prisma.logDatabase.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      skip: page.offset,
      take: page.take,
      include: { _count: { select: { drafts: true } } },
    }),
    deps.prisma.logDatabase.count({ where }),
  ]);
  const splitCounts = await deps.prisma.logSplit.groupBy({
    by: ['databaseId'],
    where: { databaseId: { in: rows.map((r) => r.id) }, state: 'published' },
    _count: { _all: true },
  });
  const splits = new Map(splitCounts.map((s) => [s.databaseId, s._count._all]));
  return {
    items: rows.map((r) => ({
      databaseId: r.id,
      name: r.name,
      ownerId: r.ownerId,
      createdAt: r.createdAt,
      draftCount: r._count.drafts,
      splitCount: splits.get(r.id) ?? 0,
    })),
    totalCount,
  };
}

/**
 * Deletes the database, its tokens, drafts, splits and jobs in one transaction (leases die with it: their
 * completes get 404), then purges the object prefix `<databaseId>/`. Keys that could not be deleted are
 * reported in `errors` with `success: false`.
 */
export async function deleteDatabase(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId }: DatabaseRef,
): Promise<{ success: boolean; errors: string[] }> {
  await authorize(deps.prisma, p, 'deleteDatabase', databaseId);
  await deps.prisma.$transaction(async (tx) => {
    // Cascades to tokens, drafts, splits and jobs.
    const gone = await tx.logDatabase.deleteMany({ where: { id: databaseId } });
    if (gone.count === 0) throw new LogStoreNotFoundError(`database "${databaseId}" not found`);
  });
  const errors: string[] = [];
  try {
    let after: string | undefined;
    do {
      const page = await deps.objectStore.listObjects(`${databaseId}/`, after ? { after } : {});
      for (const key of page.keys) {
        try {
          await deps.objectStore.deleteObject(key);
        } catch (e) {
          errors.push(`${key}: ${e instanceof Error ? e.message : 'delete failed'}`);
        }
      }
      after = page.nextToken;
    } while (after);
  } catch (e) {
    errors.push(`${databaseId}/: ${e instanceof Error ? e.message : 'list failed'}`);
  }
  return { success: errors.length === 0, errors };
}

/** Issues a new service token and revokes every previous one in the same transaction (no grace window). */
export async function rotateServiceToken(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId }: DatabaseRef,
): Promise<{ serviceToken: string }> {
  const token = newServiceToken();
  const revoked = await deps.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'rotateServiceToken', databaseId);
    const previous = await tx.logServiceToken.findMany({
      where: { databaseId, revokedAt: null },
      select: { id: true },
    });
    await tx.logServiceToken.updateMany({ where: { databaseId, revokedAt: null }, data: { revokedAt: new Date() } });
    await tx.logServiceToken.create({ data: { databaseId, tokenHash: token.hash, prefix: token.prefix } });
    return previous;
  });
  // Open subscriptions of the rotated-away tokens end now (core's credential.revoked).
  publishCredentialRevoked(
    deps.pubsub,
    revoked.map((t) => `servicetoken:${t.id}`),
  );
  return { serviceToken: token.raw };
}

export async function revokeServiceTokens(
  deps: LogStoreDeps,
  p: Principal,
  { databaseId }: DatabaseRef,
): Promise<{ success: true; revoked: number }> {
  const { ids, result } = await deps.prisma.$transaction(async (tx) => {
    await authorize(tx, p, 'revokeServiceTokens', databaseId);
    const previous = await tx.logServiceToken.findMany({
      where: { databaseId, revokedAt: null },
      select: { id: true },
    });
    const r = await tx.logServiceToken.updateMany({
      where: { databaseId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return { ids: previous.map((t) => `servicetoken:${t.id}`), result: { success: true as const, revoked: r.count } };
  });
  publishCredentialRevoked(deps.pubsub, ids);
  return result;
}

/** Mints a query JWT for one database: `token_use: query`, claim `db`, `scopes` (drafts/splits it may see). */
export async function mintQueryToken(
  deps: LogStoreDeps,
  p: Principal,
  input: MintQueryTokenInput,
): Promise<{ token: string; expiresAt: Date }> {
  await authorize(deps.prisma, p, 'mintQueryToken', input.databaseId);
  return deps.tokens.issue({
    subject: principalId(p),
    tokenUse: queryTokenUse,
    scopes: [...input.scopes],
    ttlSeconds: input.ttlSeconds,
    claims: { db: input.databaseId },
  });
}
