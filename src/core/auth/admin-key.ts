import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomHex } from './secrets.ts';

export interface AdminKeySource {
  key: string;
  /** Where an operator finds it: the environment variable or the file it was generated into. */
  origin: { kind: 'env' } | { kind: 'file'; path: string; created: boolean };
}

/** The admin credential: ATRIUM_ADMIN_KEY, else a key generated once into the data dir (mode 0600). */
export async function loadAdminKey(configured: string | undefined, dataDir: string): Promise<AdminKeySource> {
  if (configured) return { key: configured, origin: { kind: 'env' } };
  const file = path.join(dataDir, 'admin-key');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (key.length >= 32) return { key, origin: { kind: 'file', path: file, created: false } };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dataDir, { recursive: true });
  const key = `atr_admin_${randomHex(24)}`;
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const stored = (await readFile(file, 'utf8')).trim();
  return { key: stored, origin: { kind: 'file', path: file, created: stored === key } };
}
