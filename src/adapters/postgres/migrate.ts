import type pg from 'pg';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Fixed advisory lock key ("docket" in ASCII): every process migrating any schema takes it. */
const MIGRATION_LOCK = 0x646f636b6574;

/**
 * Applies the numbered files of ./migrations in order, each in its own transaction that first
 * takes a transaction-level advisory lock: a second process migrating at the same time waits for
 * the first one's commit, then sees the version recorded and skips it. The lock also covers
 * creating the migrations table (concurrent CREATE TABLE IF NOT EXISTS can fail on a race in the
 * catalog). Tables go to the first schema of the connection's search_path. Returns how many
 * migrations this call applied.
 */
export async function migrate(pool: pg.Pool): Promise<number> {
  const files = readdirSync(DIR)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort();
  let applied = 0;
  const client = await pool.connect();
  let broken: Error | undefined;
  // Lent out, the connection has no pool listener: a server crash mid-migration would end the process.
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    for (const file of files) {
      const version = Number(file.slice(0, 4));
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        await client.query(
          'CREATE TABLE IF NOT EXISTS docket_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
        );
        const done = await client.query('SELECT 1 FROM docket_migrations WHERE version = $1', [version]);
        if (done.rowCount === 0) {
          await client.query(readFileSync(DIR + file, 'utf8'));
          await client.query('INSERT INTO docket_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [version, file, Date.now()]);
          applied++;
        }
        await client.query('COMMIT');
      } catch (err) {
        // A failed ROLLBACK means the connection is gone: drop it from the pool rather than reuse it.
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      }
    }
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
  return applied;
}
