import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeKey } from '../config.ts';

/**
 * AES-256-GCM for secrets kept at rest that must be read back later (database passwords, webhook signing secrets,
 * stored responses that hold them): `v1.<iv>.<tag>.<ciphertext>`.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join(
      '.',
    );
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('unknown sealed secret format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** Seals a JSON value (a stored response body). */
  sealJson(value: unknown): string {
    return this.seal(JSON.stringify(value ?? null));
  }

  openJson(sealed: string): unknown {
    return JSON.parse(this.open(sealed)) as unknown;
  }
}

/**
 * The configured key, else one generated once under dataDir (single-instance setups; several instances must share
 * ATRIUM_SECRET_KEY). A data dir from before the key was platform-wide keeps its `polykomos-secret-key` file.
 */
export async function loadSecretBox(configured: string | undefined, dataDir: string): Promise<SecretBox> {
  if (configured) return new SecretBox(decodeKey(configured) as Buffer);
  const legacy = path.join(dataDir, 'polykomos-secret-key');
  const file = (await exists(legacy)) ? legacy : path.join(dataDir, 'secret-key');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' }).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    },
  );
  const key = decodeKey((await readFile(file, 'utf8')).trim());
  if (!key) throw new Error(`${file} does not hold a 32-byte hex key`);
  return new SecretBox(key);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
