// The embedded server's signing secret file, <dataDir>/jwt-secret (docs/security.md): created on
// first start (mode 0600, `created` makes the server print a first admin token), reused after, and
// when two processes start at once, both end up with the one secret on disk.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

// Lets a test act as "another process" between this one's look for the file and its create.
const hooks = vi.hoisted(() => ({ beforeCreate: null as null | ((path: string) => void) }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const writeFile: typeof fs.writeFile = (path, data, options) => {
    if (hooks.beforeCreate && typeof options === 'object' && options?.flag === 'wx') hooks.beforeCreate(String(path));
    return fs.writeFile(path, data, options);
  };
  return { ...fs, default: { ...fs, writeFile }, writeFile };
});
const { loadOrCreateSecret, readSecret } = await import('../src/auth/secret.js');

const root = mkdtempSync(join(tmpdir(), 'docket-secret-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => (hooks.beforeCreate = null));
let seq = 0;
const dataDir = () => join(root, `d${++seq}`, 'nested');

describe('loadOrCreateSecret', () => {
  it('first start: creates the data directory and a private secret file, and says it created it', async () => {
    const dir = dataDir();
    const first = await loadOrCreateSecret(dir);
    expect(first).toEqual({ secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), path: join(dir, 'jwt-secret'), created: true });
    expect(readFileSync(first.path, 'utf8')).toBe(`${first.secret}\n`);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
  });

  it('later starts: the same secret, not created', async () => {
    const dir = dataDir();
    const first = await loadOrCreateSecret(dir);
    expect(await loadOrCreateSecret(dir)).toEqual({ secret: first.secret, path: first.path, created: false });
  });

  it('a secret put in the file by hand is used as written, without surrounding whitespace', async () => {
    const dir = dataDir();
    await loadOrCreateSecret(dir);
    writeFileSync(join(dir, 'jwt-secret'), '  operator-chosen-secret-of-enough-length \n');
    expect(await loadOrCreateSecret(dir)).toMatchObject({ secret: 'operator-chosen-secret-of-enough-length', created: false });
  });

  it('another process created the file first: its secret is used, and this one does not claim to have created it', async () => {
    const dir = dataDir();
    hooks.beforeCreate = (path) => writeFileSync(path, 'the-other-process-secret\n', { flag: 'wx' });
    expect(await loadOrCreateSecret(dir)).toEqual({ secret: 'the-other-process-secret', path: join(dir, 'jwt-secret'), created: false });
    expect(readFileSync(join(dir, 'jwt-secret'), 'utf8')).toBe('the-other-process-secret\n');
  });

  it('a file that cannot be written (permission denied; simulated, the tests may run as root): that error, not taken for a race', async () => {
    const dir = dataDir();
    hooks.beforeCreate = () => {
      throw Object.assign(new Error(`EACCES: permission denied, open '${join(dir, 'jwt-secret')}'`), { code: 'EACCES' });
    };
    await expect(loadOrCreateSecret(dir)).rejects.toMatchObject({ code: 'EACCES', message: expect.stringContaining('permission denied') });
  });

  it('an empty file: refused, naming the file and what to do, never a start with no secret', async () => {
    const dir = dataDir();
    await loadOrCreateSecret(dir);
    writeFileSync(join(dir, 'jwt-secret'), '\n');
    await expect(loadOrCreateSecret(dir)).rejects.toThrow(`${join(dir, 'jwt-secret')} is empty: put the signing secret in it, or delete it and the next start creates one`);
  });

  it('a data directory that cannot be created: the file system\'s error', async () => {
    const file = join(root, `plain-file-${++seq}`);
    writeFileSync(file, 'x');
    await expect(loadOrCreateSecret(join(file, 'data'))).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTDIR|EEXIST)$/) });
  });
});

describe('readSecret (docket token)', () => {
  it('a missing or empty file has no secret; a directory in its place is an error', async () => {
    const dir = dataDir();
    expect(await readSecret(join(dir, 'jwt-secret'))).toBeUndefined();
    const { path, secret } = await loadOrCreateSecret(dir);
    expect(await readSecret(path)).toBe(secret);
    writeFileSync(path, '');
    expect(await readSecret(path)).toBeUndefined();
    await expect(readSecret(dir)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
