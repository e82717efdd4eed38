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

const names = (engine: 'sqlite' | 'postgres') =>
  readdirSync(join(ROOT, `src/adapters/${engine}/migrations`)).filter((f) => f.endsWith('.sql')).sort();

/** A few jobs in the store, one with labels and a finished one, as an old database would hold. */
async function fill(store: Store) {
  const jobs = [newJob({ labels: { env: 'prod' } }), newJob({ payloadJson: '{"n":1}' }), newJob()];
  await store.insertJobs(jobs);
  await store.claimJobs([{ id: jobs[2]!.id, leaseToken: 'tok' }], 'w1', T0 + 30_000, T0);
  await store.completeJobs([{ id: jobs[2]!.id, leaseToken: 'tok', result: { ok: true } }], T0 + 10);
  return Promise.all(jobs.map(async (j) => (await store.getJob(j.id))!));
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

    // Jobs as the old Docket wrote them: its jobs table, its triggers logging their events.
    const writer = new Database(path);
    const jobs = [newJob({ labels: { env: 'prod' } }), newJob({ payloadJson: '{"n":1}' }), newJob()];
    const insert = writer.prepare(`INSERT INTO jobs (id, tenant, queue, type, payload, priority, labels, state, run_at, max_attempts, backoff, link_id, created_at, updated_at)
      VALUES (@id, @tenant, @queue, @type, @payloadJson, @priority, @labels, @state, @runAt, @maxAttempts, @backoff, @linkId, @createdAt, @createdAt)`);
    for (const j of jobs) insert.run({ ...j, labels: JSON.stringify(j.labels), backoff: JSON.stringify(j.backoff) });
    writer.prepare(`UPDATE jobs SET state = 'succeeded', attempt = 1, result = '{"ok":true}', started_at = ?, finished_at = ?, updated_at = ? WHERE id = ?`).run(T0, T0 + 10, T0 + 10, jobs[2]!.id);
    writer.close();
    const store = new SqliteStore({ path });
    cleanups.push(() => store.close());
    const events = () => (store.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const eventsBefore = events();
    expect(sqliteStatus(store.db).pending).toEqual(['0004_link_index', '0013_hot_path']);

    // Only the migrations that are new to SQLite run; the others keep their rows and times, renumbered.
    expect(migrateSqlite(store.db)).toEqual(['0004_link_index', '0013_hot_path']);
    const rows = store.db.prepare('SELECT version, name, applied_at FROM docket_migrations ORDER BY version').all() as { version: number; name: string; applied_at: number }[];
    expect(rows.map((r) => r.name)).toEqual(names('sqlite'));
    expect(rows.map((r) => r.version)).toEqual(names('sqlite').map((_, i) => i + 1));
    const oldTimes = Object.fromEntries(old.map((m) => [m.file.slice(5), 1000 + Number(m.file.slice(0, 4))]));
    for (const r of rows.filter((r) => r.name !== '0004_link_index.sql' && r.name !== '0013_hot_path.sql')) expect(r.applied_at).toBe(oldTimes[r.name.slice(5)]);
    const after = await Promise.all(jobs.map((j) => store.getJob(j.id)));
    expect(after.map((j) => j && { id: j.id, labels: j.labels, payload: j.payload, state: j.state, result: j.result, backoff: j.backoff })).toEqual(
      jobs.map((j, i) => ({ id: j.id, labels: j.labels, payload: JSON.parse(j.payloadJson), state: i === 2 ? 'succeeded' : 'ready', result: i === 2 ? { ok: true } : undefined, backoff: j.backoff })),
    );
    expect(events()).toBe(eventsBefore);
    expect((await store.listJobs({ linkId: jobs[0]!.id }, 10)).jobs.map((j) => j.id)).toEqual([jobs[0]!.id]);

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
    // 0013_hot_path has nothing for PostgreSQL yet, but is recorded like any other.
    expect(await postgresStatus(store.pool)).toEqual({ applied: names('postgres').slice(0, 12).map((f) => f.slice(0, -4)), pending: ['0013_hot_path'] });
    expect(await migratePostgres(store.pool)).toEqual(['0013_hot_path']);
    const before = await fill(store);
    const { rows } = await store.pool.query<{ name: string; applied_at: string }>('SELECT name, applied_at FROM docket_migrations ORDER BY version');
    expect(rows.map((r) => r.name)).toEqual(names('postgres'));
    expect(rows.slice(0, 12).every((r) => Number(r.applied_at) === 1000)).toBe(true);
    expect(await Promise.all(before.map((j) => store.getJob(j.id)))).toEqual(before);
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
