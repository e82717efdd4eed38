import { readdirSync, readFileSync } from 'node:fs';

/**
 * Migrations are files `NNNN_feature.sql` in each engine's migrations folder, with the same
 * number and name in both engines (a feature one engine needs no SQL for still has its file).
 * Each is applied once, in its own transaction, and recorded in `docket_migrations` (version,
 * file name, time) by the transaction that applies it. Files are never edited once released:
 * a change is a new file.
 */
export interface Migration {
  version: number;
  /** The file name, e.g. `0001_jobs.sql`: what docket_migrations records. */
  file: string;
  /** What users are told: the file name without `.sql`. */
  name: string;
}

export interface MigrationStatus {
  /** Recorded in the database, in version order (names as the files of this Docket call them). */
  applied: string[];
  /** Not yet recorded, in the order they would be applied. */
  pending: string[];
}

/** A migration that failed: nothing of it was kept (its transaction rolled back). */
export class MigrationError extends Error {
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super(`migration ${migration} failed, nothing of it was applied: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MigrationError';
  }
}

export function migrationsIn(dir: string): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({ version: Number(file.slice(0, 4)), file, name: file.slice(0, -4) }));
}

export function migrationText(dir: string, m: Migration): string {
  return readFileSync(dir + m.file, 'utf8');
}

/** Which of `all` the database recorded (by version), and which are still to apply. */
export function statusOf(all: readonly Migration[], recorded: ReadonlySet<number>): MigrationStatus {
  return {
    applied: all.filter((m) => recorded.has(m.version)).map((m) => m.name),
    pending: all.filter((m) => !recorded.has(m.version)).map((m) => m.name),
  };
}
