// `docket migrate` as a user runs it (bin/docket, from dist/: `npm run build` first), on a new
// and on a current database of each engine, with --status, and with a migration that fails.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestSchema } from './helpers/postgres.js';
import { cleanEnv } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** A bound, not a measure: each test starts the CLI up to three times, 3-5 s each measured on the shared 2-core machine. */
const SPAWNS_TIMEOUT = 120_000;
const dirs: string[] = [];
const drops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const drop of drops.splice(0)) await drop();
});

/** Every migration of this checkout, by name (the same list in both engines). */
const MIGRATIONS = readdirSync(join(ROOT, 'src/adapters/sqlite/migrations'))
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => f.slice(0, -4));

function docket(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/docket', 'migrate', ...args], { cwd: ROOT, env: cleanEnv(), timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'docket-migrate-'));
  dirs.push(d);
  return d;
}

async function schemaUrl(): Promise<{ url: string; schema: string; connectionString: string }> {
  const { connectionString, schema, drop } = await openTestSchema();
  drops.push(drop);
  return { url: `${connectionString}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, schema, connectionString };
}

/** The names after `applied` / `pending` at the start of lines. */
const listed = (out: string, word: string) => [...out.matchAll(new RegExp(`^${word} (\\S+)`, 'gm'))].map((m) => m[1]);

describe.each([
  ['SQLite', async () => ['--data-dir', dataDir()]],
  ['PostgreSQL', async () => ['--database-url', (await schemaUrl()).url]],
] as const)('docket migrate on %s', { timeout: SPAWNS_TIMEOUT }, (engine, target) => {
  it('names each migration it applies, and says up to date only when nothing was pending', async () => {
    const where = await target();
    const first = await docket(where);
    expect(first.code).toBe(0);
    expect(listed(first.stdout, 'applied')).toEqual(MIGRATIONS);
    expect(first.stdout).not.toMatch(/up to date/);
    expect(first.stdout).toContain(`${MIGRATIONS.length} migrations applied`);

    const again = await docket(where);
    expect(again.code).toBe(0);
    expect(listed(again.stdout, 'applied')).toEqual([]);
    expect(again.stdout).toMatch(/up to date/);
    expect(again.stdout).toContain(engine);
  });

  it('--status lists the applied and the pending migrations and changes nothing', async () => {
    const where = await target();
    const before = await docket([...where, '--status']);
    expect(before.code).toBe(0);
    expect(listed(before.stdout, 'pending')).toEqual(MIGRATIONS);
    expect(listed(before.stdout, 'applied')).toEqual([]);
    // --status applied nothing: the migration run after it applies every one.
    expect(listed((await docket(where)).stdout, 'applied')).toEqual(MIGRATIONS);
    const after = await docket([...where, '--status']);
    expect(after.code).toBe(0);
    expect(listed(after.stdout, 'applied')).toEqual(MIGRATIONS);
    expect(listed(after.stdout, 'pending')).toEqual([]);
    expect(after.stdout).toMatch(/up to date/);
  });
});

describe('docket migrate with a failing migration', { timeout: SPAWNS_TIMEOUT }, () => {
  it('SQLite: exits non-zero naming it, keeps nothing of it, and keeps the ones applied before', async () => {
    const dir = dataDir();
    const db = new Database(join(dir, 'docket.db'));
    db.exec('CREATE TABLE schedules (mine INTEGER)'); // a table of the user's own, in 0006_schedules' way
    db.close();
    const run = await docket(['--data-dir', dir]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('migration 0006_schedules failed');
    expect(listed(run.stdout, 'applied')).toEqual(MIGRATIONS.slice(0, 5));
    const check = new Database(join(dir, 'docket.db'), { readonly: true });
    try {
      const tables = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
      expect(tables).not.toContain('schedule_fires');
      expect(check.prepare('PRAGMA table_info(schedules)').all()).toEqual([expect.objectContaining({ name: 'mine' })]);
    } finally {
      check.close();
    }
    const status = await docket(['--data-dir', dir, '--status']);
    expect(listed(status.stdout, 'applied')).toEqual(MIGRATIONS.slice(0, 5));
    expect(listed(status.stdout, 'pending')).toEqual(MIGRATIONS.slice(5));
  });

  it('PostgreSQL: exits non-zero naming it, keeps nothing of it, and keeps the ones applied before', async () => {
    const { url, schema, connectionString } = await schemaUrl();
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await client.query(`CREATE TABLE "${schema}".schedules (mine INTEGER)`);
      const run = await docket(['--database-url', url]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('migration 0006_schedules failed');
      expect(listed(run.stdout, 'applied')).toEqual(MIGRATIONS.slice(0, 5));
      const { rows } = await client.query<{ t: string | null }>(`SELECT to_regclass('"${schema}".schedule_fires')::text AS t`);
      expect(rows[0]!.t).toBeNull();
      const status = await docket(['--database-url', url, '--status']);
      expect(listed(status.stdout, 'pending')).toEqual(MIGRATIONS.slice(5));
    } finally {
      await client.end();
    }
  });
});
