// Migrations: the same list in both engines, an in-place upgrade of databases migrated by the
// Docket before the engines shared their numbering (main at baefd6b), and a failing migration.
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate as migratePostgres, migrationStatus as postgresStatus } from '../src/adapters/postgres/migrate.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { MigrationError } from '../src/adapters/sql/migrations.js';
import { migrate as migrateSqlite, migrationStatus as sqliteStatus } from '../src/adapters/sqlite/migrate.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import type { Store } from '../src/ports/store.js';
import { T0, newJob } from './conformance/fixtures.js';
import { openTestSchema } from './helpers/postgres.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * The migration files of an engine as Docket 0.1 shipped them (main at baefd6b, before the engines
 * shared their migration numbers), kept in test/fixtures so the test needs no git history.
 */
function oldMigrations(engine: 'sqlite' | 'postgres'): { file: string; sql: string }[] {
  const dir = join(ROOT, 'test/fixtures/migrations-0.1', engine);
  return readdirSync(dir).filter((f) => f.endsWith('.sql')).sort().map((file) => ({ file, sql: readFileSync(join(dir, file), 'utf8') }));
}

/** Migrations added after 0.1 (its files are in test/fixtures/migrations-0.1). */
const NEWER = ['0013_trace_context', '0014_job_logs', '0015_expiry_index', '0016_hot_path', '0017_self_link', '0018_event_ranges'];

const names = (engine: 'sqlite' | 'postgres') =>
  readdirSync(join(ROOT, `src/adapters/${engine}/migrations`)).filter((f) => f.endsWith('.sql')).sort();

/**
 * A few jobs as an old database holds them, one with labels and a finished one: written with the
 * old schema's columns (the store's own statements name columns added since), by `run`.
 */
async function fillOld(run: (sql: string) => unknown) {
  const ids = ['00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000003'];
  const row = (id: string, payload: string, labels: string, done: boolean) =>
    `('${id}', 'default', 'default', 'test', '${payload}', 5, '${labels}', '${done ? 'succeeded' : 'ready'}', ${T0}, 3, ${done ? 1 : 0}, '{"type":"fixed","delayMs":1000}', '${id}', ${T0}, ${T0 + 10}, ${done ? `'{"ok":true}'` : 'NULL'}, ${done ? `'tok'` : 'NULL'}, ${done ? T0 : 'NULL'}, ${done ? T0 + 10 : 'NULL'})`;
  await run(`INSERT INTO jobs (id, tenant, queue, type, payload, priority, labels, state, run_at, max_attempts, attempt, backoff, link_id, created_at, updated_at, result, lease_token, started_at, finished_at) VALUES
    ${[row(ids[0]!, '{}', '{"env":"prod"}', false), row(ids[1]!, '{"n":1}', '{}', false), row(ids[2]!, '{}', '{}', true)].join(',\n    ')}`);
  return ids;
}

/** What the upgraded store reads of fillOld's jobs. */
async function expectKept(store: Store, ids: string[]) {
  const [a, b, c] = await Promise.all(ids.map((id) => store.getJob(id)));
  expect(a).toMatchObject({ state: 'ready', labels: { env: 'prod' }, payload: {}, attempt: 0 });
  expect(b).toMatchObject({ state: 'ready', labels: {}, payload: { n: 1 } });
  expect(c).toMatchObject({ state: 'succeeded', result: { ok: true }, attempt: 1, finishedAt: T0 + 10 });
  for (const job of [a, b, c]) expect(job).not.toHaveProperty('traceContext');
}

describe('migrations', () => {
  it('are the same list, by number and name, in both engines', () => {
    expect(names('sqlite')).toEqual(names('postgres'));
    expect(names('sqlite').map((f) => Number(f.slice(0, 4)))).toEqual(names('sqlite').map((_, i) => i + 1));
  });

  it('SQLite: a database migrated with the old numbering upgrades in place, nothing applied twice and every job kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-migrations-'));
    dirs.push(dir);
    const path = join(dir, 'docket.db');
    // What the old runner did: record the version, then run the file, in one transaction each.
    const old = oldMigrations('sqlite');
    expect(old.map((m) => m.file)).toContain('0004_events.sql');
    const raw = new Database(path);
    raw.exec('CREATE TABLE docket_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of old) {
      raw.transaction(() => {
        raw.prepare('INSERT INTO docket_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(Number(m.file.slice(0, 4)), m.file, 1000 + Number(m.file.slice(0, 4)));
        raw.exec(m.sql);
      })();
    }
    raw.close();

    const store = new SqliteStore({ path });
    cleanups.push(() => store.close());
    const ids = await fillOld((sql) => store.db.exec(sql));
    const events = () => (store.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const eventsBefore = events();
    // Migrations new since 0.1 (NEWER) come after.
    expect(sqliteStatus(store.db).pending).toEqual(['0004_link_index', ...NEWER]);

    // Only the migrations that are new to SQLite run; the others keep their rows and times, renumbered.
    expect(migrateSqlite(store.db)).toEqual(['0004_link_index', ...NEWER]);
    const rows = store.db.prepare('SELECT version, name, applied_at FROM docket_migrations ORDER BY version').all() as { version: number; name: string; applied_at: number }[];
    expect(rows.map((r) => r.name)).toEqual(names('sqlite'));
    expect(rows.map((r) => r.version)).toEqual(names('sqlite').map((_, i) => i + 1));
    const oldTimes = Object.fromEntries(old.map((m) => [m.file.slice(5), 1000 + Number(m.file.slice(0, 4))]));
    for (const r of rows.filter((r) => r.name !== '0004_link_index.sql' && !NEWER.includes(r.name.slice(0, -4)))) expect(r.applied_at).toBe(oldTimes[r.name.slice(5)]);
    await expectKept(store, ids);
    expect(events()).toBe(eventsBefore);
    expect((await store.listJobs({ linkId: ids[0]! }, 10)).jobs.map((j) => j.id)).toEqual([ids[0]!]);

    expect(migrateSqlite(store.db)).toEqual([]);
    expect(sqliteStatus(store.db)).toEqual({ applied: names('sqlite').map((f) => f.slice(0, -4)), pending: [] });
    await store.insertJobs([newJob()]);
    expect((await store.countByState({})).ready).toBe(3);
  });

  it('PostgreSQL: a database migrated by the old Docket upgrades in place, nothing applied twice and every job kept', async () => {
    const { connectionString, schema, drop } = await openTestSchema();
    cleanups.push(drop);
    const client = new pg.Client({ connectionString, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      // What the old runner did, file by file.
      for (const m of oldMigrations('postgres')) {
        await client.query('BEGIN');
        await client.query('CREATE TABLE IF NOT EXISTS docket_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
        await client.query(m.sql);
        await client.query('INSERT INTO docket_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [Number(m.file.slice(0, 4)), m.file, 1000]);
        await client.query('COMMIT');
      }
    } finally {
      await client.end();
    }
    const store = new PostgresStore({ connectionString, schema, max: 2 });
    cleanups.push(() => store.close());
    const ids = await fillOld((sql) => store.pool.query(sql));
    const current = names('postgres').map((f) => f.slice(0, -4));
    expect(await postgresStatus(store.pool)).toEqual({ applied: current.filter((n) => !NEWER.includes(n)), pending: NEWER });
    expect(await migratePostgres(store.pool)).toEqual(NEWER);
    const { rows } = await store.pool.query<{ name: string; applied_at: string }>('SELECT name, applied_at FROM docket_migrations ORDER BY version');
    expect(rows.map((r) => r.name)).toEqual(names('postgres'));
    expect(rows.filter((r) => !NEWER.includes(r.name.slice(0, -4))).every((r) => Number(r.applied_at) === 1000)).toBe(true);
    await expectKept(store, ids);
  });

  it('SQLite: a failing migration throws naming it and keeps nothing of it; the ones before stay applied', async () => {
    const db = new Database(':memory:');
    cleanups.push(async () => void db.close());
    // A table of the user's own in the way of 0006_schedules.
    db.exec('CREATE TABLE schedules (mine INTEGER)');
    const error = (() => {
      try {
        migrateSqlite(db);
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe('0006_schedules');
    expect((error as Error).message).toContain('migration 0006_schedules failed');
    expect(sqliteStatus(db).applied).toEqual(['0001_jobs', '0002_api', '0003_recovery', '0004_link_index', '0005_events']);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).not.toContain('schedule_fires');
    expect(db.prepare('PRAGMA table_info(schedules)').all()).toEqual([expect.objectContaining({ name: 'mine' })]);
    db.exec('DROP TABLE schedules');
    expect(migrateSqlite(db)).toEqual(names('sqlite').slice(5).map((f) => f.slice(0, -4)));
  });

  it('a failed migration\'s message names it and what the driver threw, an Error or not', () => {
    expect(new MigrationError('0006_schedules', new Error('table schedules already exists')).message).toBe('migration 0006_schedules failed, nothing of it was applied: table schedules already exists');
    expect(new MigrationError('0006_schedules', 'disk I/O error').message).toBe('migration 0006_schedules failed, nothing of it was applied: disk I/O error');
  });

  it('PostgreSQL: a failing migration throws naming it and keeps nothing of it; the ones before stay applied', async () => {
    const { connectionString, schema, drop } = await openTestSchema();
    cleanups.push(drop);
    const store = new PostgresStore({ connectionString, schema, max: 2 });
    cleanups.push(() => store.close());
    await store.pool.query('CREATE TABLE schedules (mine INTEGER)');
    const error = await migratePostgres(store.pool).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe('0006_schedules');
    expect((await postgresStatus(store.pool)).applied).toEqual(['0001_jobs', '0002_api', '0003_recovery', '0004_link_index', '0005_events']);
    const { rows } = await store.pool.query<{ t: string | null }>("SELECT to_regclass('schedule_fires')::text AS t");
    expect(rows[0]!.t).toBeNull();
    await store.pool.query('DROP TABLE schedules');
    expect(await migratePostgres(store.pool)).toEqual(names('postgres').slice(5).map((f) => f.slice(0, -4)));
  });
});
