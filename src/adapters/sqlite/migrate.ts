import type Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';
import { MigrationError, migrationText, migrationsIn, statusOf, type MigrationStatus } from '../sql/migrations.js';

const DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const CREATE_TABLE = 'CREATE TABLE IF NOT EXISTS docket_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)';

/**
 * SQLite's migrations were numbered on their own until they took PostgreSQL's numbers (PostgreSQL's
 * 0004_link_index had no SQLite file): a database that recorded them under the old names is
 * renumbered in place, in one transaction before anything is applied, so nothing runs twice.
 * Highest first: each row moves up to a number the previous step just freed.
 */
const RENUMBERED: readonly (readonly [string, string])[] = [
  ['0011_alerts.sql', '0012_alerts.sql'],
  ['0010_callbacks.sql', '0011_callbacks.sql'],
  ['0009_dedup.sql', '0010_dedup.sql'],
  ['0008_dependencies.sql', '0009_dependencies.sql'],
  ['0007_webhooks.sql', '0008_webhooks.sql'],
  ['0006_templates.sql', '0007_templates.sql'],
  ['0005_schedules.sql', '0006_schedules.sql'],
  ['0004_events.sql', '0005_events.sql'],
];

function renumber(db: Database.Database): void {
  const rename = db.prepare('UPDATE docket_migrations SET version = ?, name = ? WHERE name = ?');
  for (const [from, to] of RENUMBERED) rename.run(Number(to.slice(0, 4)), to, from);
}

/**
 * Applies the migrations not yet recorded, in order, each in its own IMMEDIATE transaction that
 * first records the version: a second process migrating at the same time waits on the write lock,
 * then sees the version recorded and skips it. A failing migration rolls back whole and throws a
 * MigrationError naming it; the ones before it stay applied. Returns the names of those applied,
 * told to `onApplied` as each commits.
 */
export function migrate(db: Database.Database, onApplied?: (name: string) => void): string[] {
  db.transaction(() => {
    db.exec(CREATE_TABLE);
    renumber(db);
  }).immediate();
  const has = db.prepare('SELECT 1 FROM docket_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO docket_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: string[] = [];
  for (const m of migrationsIn(DIR)) {
    const apply = db.transaction(() => {
      if (has.get(m.version)) return false;
      record.run(m.version, m.file, Date.now());
      db.exec(migrationText(DIR, m));
      return true;
    });
    let done: boolean;
    try {
      done = apply.immediate();
    } catch (err) {
      throw new MigrationError(m.name, err);
    }
    if (done) {
      applied.push(m.name);
      onApplied?.(m.name);
    }
  }
  return applied;
}

/** Applied and pending migrations, without changing anything (old SQLite numbers are read as their new ones); null: no database yet. */
export function migrationStatus(db: Database.Database | null): MigrationStatus {
  const exists = db?.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'docket_migrations'").get();
  const rows = db && exists ? (db.prepare('SELECT version, name FROM docket_migrations').all() as { version: number; name: string }[]) : [];
  const renamed = new Map(RENUMBERED);
  const recorded = new Set(rows.map((r) => (renamed.has(r.name) ? Number(renamed.get(r.name)!.slice(0, 4)) : r.version)));
  return statusOf(migrationsIn(DIR), recorded);
}
