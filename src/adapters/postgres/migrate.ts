import type pg from 'pg';
import { fileURLToPath } from 'node:url';
import { MigrationError, migrationText, migrationsIn, statusOf, type MigrationStatus } from '../sql/migrations.js';

const DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Fixed advisory lock key ("docket" in ASCII): every process migrating any schema takes it. */
const MIGRATION_LOCK = 0x646f636b6574;

const CREATE_TABLE = 'CREATE TABLE IF NOT EXISTS docket_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';

/**
 * Applies the migrations not yet recorded, in order, each in its own transaction that first
 * takes its row in docket_migrations (as graphile-worker does): a second process migrating at the
 * same time blocks on that row until the first commits, then finds it taken and skips the
 * migration; if the first rolled back, the second takes the row and applies it. The table itself
 * is created under a transaction-level advisory lock (a concurrent CREATE TABLE IF NOT EXISTS can
 * fail on a race in the catalog). Tables go to the first schema of the connection's search_path.
 * A failing migration rolls back whole (PostgreSQL's DDL is transactional) and throws a
 * MigrationError naming it; the ones before it stay applied. Returns the names of those applied,
 * told to `onApplied` as each commits.
 */
export async function migrate(pool: pg.Pool, onApplied?: (name: string) => void): Promise<string[]> {
  const applied: string[] = [];
  const client = await pool.connect();
  let broken: Error | undefined;
  // Lent out, the connection has no pool listener: a server crash mid-migration would end the process.
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  const inTransaction = async <T>(work: () => Promise<T>): Promise<T> => {
    await client.query('BEGIN');
    try {
      const result = await work();
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A failed ROLLBACK means the connection is gone: drop it from the pool rather than reuse it.
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    }
  };
  try {
    await inTransaction(async () => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(CREATE_TABLE);
    });
    for (const m of migrationsIn(DIR)) {
      const done = await inTransaction(async () => {
        // Also under the lock, which Docket's runner took before it took rows first: during a
        // rolling upgrade an older process then waits here instead of starting the same migration.
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        const taken = await client.query('INSERT INTO docket_migrations (version, name, applied_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING', [
          m.version,
          m.file,
          Date.now(),
        ]);
        if (taken.rowCount === 0) return false;
        try {
          await client.query(migrationText(DIR, m));
        } catch (err) {
          throw new MigrationError(m.name, err);
        }
        return true;
      });
      if (done) {
        applied.push(m.name);
        onApplied?.(m.name);
      }
    }
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
  return applied;
}

/** Applied and pending migrations, without changing anything. */
export async function migrationStatus(pool: pg.Pool): Promise<MigrationStatus> {
  const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('docket_migrations')::text AS t");
  const rows = exists.rows[0]!.t === null ? [] : (await pool.query<{ version: number }>('SELECT version FROM docket_migrations')).rows;
  return statusOf(migrationsIn(DIR), new Set(rows.map((r) => r.version)));
}
