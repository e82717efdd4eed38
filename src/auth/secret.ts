import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SECRET_FILE = 'jwt-secret';

/**
 * The embedded server's signing secret: read from `<dataDir>/jwt-secret`, created there (mode 0600)
 * on first start. `created` tells the caller to print a first admin token.
 */
export async function loadOrCreateSecret(dataDir: string): Promise<{ secret: string; path: string; created: boolean }> {
  const path = join(dataDir, SECRET_FILE);
  const existing = await readSecret(path);
  if (existing !== undefined) return { secret: existing, path, created: false };
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx': fail if another process created it meanwhile; then use theirs.
    await writeFile(path, secret + '\n', { mode: 0o600, flag: 'wx' });
    return { secret, path, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const theirs = await readSecret(path);
    // An empty file (written by hand, or a start that died between creating and writing it).
    if (theirs === undefined) throw new Error(`${path} is empty: put the signing secret in it, or delete it and the next start creates one`);
    return { secret: theirs, path, created: false };
  }
}

export async function readSecret(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
