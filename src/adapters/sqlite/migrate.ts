import type Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/**
 * Applies the numbered files of ./migrations in order, each in its own IMMEDIATE transaction that
 * first records the version: a second process migrating at the same time waits on the write lock,
 * then sees the version recorded and skips it.
 */
export function migrate(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS docket_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const files = readdirSync(DIR)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort();
  const has = db.prepare('SELECT 1 FROM docket_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO docket_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  let applied = 0;
  for (const file of files) {
    const version = Number(file.slice(0, 4));
    const apply = db.transaction(() => {
      if (has.get(version)) return;
      record.run(version, file, Date.now());
      db.exec(readFileSync(DIR + file, 'utf8'));
      applied++;
    });
    apply.immediate();
  }
  return applied;
}
