import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { GoClawMedia } from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import { principalId } from '../../core/auth/principal.ts';
import type { Database, PrismaClient } from '../../core/db.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import type { ActivityLog } from './activity.ts';
import { GoClawInvalidInputError, GoClawNotFoundError } from './agent-tools.errors.ts';
import { requireRole } from './roles.ts';
import { isUuid } from './validate.ts';

/** One entry of a workspace directory listing (the contract's camelCase names). */
export interface WorkspaceEntry {
  path: string;
  name: string;
  isDir: boolean;
  size: number;
  hasChildren: boolean | null;
  protected: boolean;
}

interface Deps {
  prisma: PrismaClient;
  db: Database;
  objectStore: ObjectStore;
  activity: ActivityLog;
  workspaceDir: string;
  startedAt: number;
}

const maxEntries = 1000;
const maxMediaBytes = 100 * 1024 * 1024;
const mimePattern = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Media files (object storage), the workspace listing (a directory on disk), health. */
export class WorkspaceService {
  constructor(private readonly deps: Deps) {}

  async uploadMedia(
    principal: Principal,
    input: { filename: string; mimeType: string; bytes: Buffer },
  ): Promise<GoClawMedia> {
    requireRole(principal, 'operator');
    if (input.bytes.length === 0) throw new GoClawInvalidInputError('file is empty');
    if (input.bytes.length > maxMediaBytes) throw new GoClawInvalidInputError('file is larger than 100 MiB');
    const mimeType = input.mimeType.toLowerCase().split(';')[0]?.trim() ?? '';
    if (!mimePattern.test(mimeType)) throw new GoClawInvalidInputError('file has no valid MIME type');
    const filename =
      path
        .basename(input.filename.replaceAll('\\', '/'))
        .replace(/\p{Cc}|"/gu, '_')
        .slice(0, 255) || 'upload';
    const id = randomUUID();
    const objectKey = `goclaw/media/${id}`;
    await this.deps.objectStore.putObject(objectKey, input.bytes, { contentType: mimeType });
    const row = await this.deps.prisma.goClawMedia.create({
      data: { id, filename, mimeType, size: input.bytes.length, objectKey, createdBy: principalId(principal) },
    });
    await this.deps.activity.record(principal, { action: 'media.upload', entityType: 'media', entityId: id });
    return row;
  }

  /** A media file and its bytes. */
  async media(principal: Principal, id: string): Promise<{ media: GoClawMedia; body: Buffer }> {
    requireRole(principal, 'viewer');
    const row = isUuid(id) ? await this.deps.prisma.goClawMedia.findUnique({ where: { id } }) : null;
    if (!row) throw new GoClawNotFoundError('Media', id);
    const object = await this.deps.objectStore.getObject(row.objectKey);
    if (!object) throw new GoClawNotFoundError('Media', id);
    return { media: row, body: object.body };
  }

  /**
   * Lists one directory of the workspace. `sub` is relative to the workspace root; absolute paths, `..` and NUL
   * are refused, and the directory's real path (symlinks resolved) must stay inside the root's real path.
   * Entries that are symlinks leading outside the root are left out.
   */
  async listFiles(
    principal: Principal,
    sub: string | null | undefined,
  ): Promise<{ baseDir: string; files: WorkspaceEntry[] }> {
    requireRole(principal, 'viewer');
    const relative = (sub ?? '').replaceAll('\\', '/').replace(/^\/+|\/+$/g, '');
    if (relative.includes('\0') || relative.length > 1024) throw new GoClawInvalidInputError('path is not valid');
    if (relative.split('/').some((part) => part === '..' || part === '.')) {
      throw new GoClawInvalidInputError('path must not contain "." or ".." segments');
    }
    await mkdir(this.deps.workspaceDir, { recursive: true });
    const root = await realpath(this.deps.workspaceDir);
    const target = path.join(root, relative);
    let real: string;
    try {
      real = await realpath(target);
    } catch {
      throw new GoClawNotFoundError('Directory', relative);
    }
    if (!inside(root, real)) throw new GoClawNotFoundError('Directory', relative);
    if (!(await stat(real)).isDirectory()) throw new GoClawInvalidInputError(`"${relative}" is not a directory`);
    const names = (await readdir(real)).sort().slice(0, maxEntries);
    const files: WorkspaceEntry[] = [];
    for (const name of names) {
      const full = path.join(real, name);
      let info = await lstat(full).catch(() => null);
      if (!info) continue;
      if (info.isSymbolicLink()) {
        const resolved = await realpath(full).catch(() => null);
        if (!resolved || !inside(root, resolved)) continue;
        info = await stat(resolved).catch(() => null);
        if (!info) continue;
      }
      const isDir = info.isDirectory();
      if (!isDir && !info.isFile()) continue;
      const writable = await access(full, constants.W_OK).then(
        () => true,
        () => false,
      );
      files.push({
        path: relative ? `${relative}/${name}` : name,
        name,
        isDir,
        size: isDir ? 0 : info.size,
        hasChildren: isDir ? (await readdir(full).catch(() => [])).length > 0 : null,
        protected: !writable,
      });
    }
    return { baseDir: root, files };
  }

  /** The contract's `/health`: the platform database probed now. Public. */
  async health(): Promise<{ status: string; uptimeMs: number; mode: string; database: string }> {
    let database = 'ok';
    try {
      await this.deps.prisma.$queryRaw`SELECT 1`;
    } catch {
      database = 'error';
    }
    return {
      status: database === 'ok' ? 'ok' : 'degraded',
      uptimeMs: Date.now() - this.deps.startedAt,
      mode: 'managed',
      database,
    };
  }
}

function inside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(`${root}${path.sep}`);
}
