import { Command } from 'commander';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PostgresStore } from '../../../adapters/postgres/postgres-store.js';
import { migrate as migratePostgres, migrationStatus as postgresStatus } from '../../../adapters/postgres/migrate.js';
import { SqliteStore } from '../../../adapters/sqlite/sqlite-store.js';
import { migrate as migrateSqlite, migrationStatus as sqliteStatus } from '../../../adapters/sqlite/migrate.js';
import { MigrationError, type MigrationStatus } from '../../../adapters/sql/migrations.js';
import { CliError } from '../output.js';

/** What migrate and --status need of an engine. */
interface Target {
  label: string;
  migrate(onApplied: (name: string) => void): Promise<string[]>;
  status(): Promise<MigrationStatus>;
  close(): Promise<void>;
}

function postgresTarget(connectionString: string): Target {
  const store = new PostgresStore({ connectionString, max: 1 });
  return {
    label: 'PostgreSQL',
    migrate: (onApplied) => migratePostgres(store.pool, onApplied),
    status: () => postgresStatus(store.pool),
    close: () => store.close(),
  };
}

function sqliteTarget(file: string): Target {
  let store: SqliteStore | undefined;
  return {
    label: `SQLite, ${file}`,
    async migrate(onApplied) {
      store = new SqliteStore({ path: file });
      return migrateSqlite(store.db, onApplied);
    },
    async status() {
      // Read-only, and no file is created for a database that does not exist yet.
      if (!existsSync(file)) return sqliteStatus(null);
      const db = new Database(file, { readonly: true });
      try {
        return sqliteStatus(db);
      } finally {
        db.close();
      }
    },
    async close() {
      await store?.close();
    },
  };
}

/**
 * Brings the database to the latest schema and exits, naming each migration it applies; with
 * --status, lists the applied and pending ones and changes nothing. Servers also migrate at start;
 * safe either way, since two processes migrating at once take turns (docs/deployment.md).
 */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('bring the database schema up to date (PostgreSQL with --database-url, else the embedded SQLite file)')
    .option('--database-url <url>', 'PostgreSQL (env DOCKET_DATABASE_URL)')
    .option('--data-dir <dir>', 'embedded: where the SQLite database lives (env DOCKET_DATA_DIR, default ./data)')
    .option('--status', 'list the applied and the pending migrations; apply nothing')
    .action(async (o: { databaseUrl?: string; dataDir?: string; status?: boolean }) => {
      // Only the store is migrated, so Redis need not be configured for this.
      const databaseUrl = o.databaseUrl ?? process.env.DOCKET_DATABASE_URL;
      const target = databaseUrl
        ? postgresTarget(databaseUrl)
        : sqliteTarget(join(resolve(o.dataDir ?? process.env.DOCKET_DATA_DIR ?? './data'), 'docket.db'));
      try {
        if (o.status) printStatus(await target.status(), target.label);
        else await migrateAll(target);
      } finally {
        await target.close();
      }
    });
}

async function migrateAll(target: Target): Promise<void> {
  // Each name is printed as its migration commits, so a failure later leaves an accurate list.
  const out = (line: string) => process.stdout.write(`${line}\n`);
  let applied: string[];
  try {
    applied = await target.migrate((name) => out(`applied ${name}`));
  } catch (err) {
    if (err instanceof MigrationError) throw new CliError(`${err.message} (${target.label})`);
    throw err;
  }
  const { applied: all } = await target.status();
  const at = all.at(-1) ?? 'nothing';
  if (applied.length === 0) out(`schema up to date at ${at}, nothing to apply (${target.label})`);
  else out(`${applied.length} migration${applied.length === 1 ? '' : 's'} applied, schema now at ${at} (${target.label})`);
}

function printStatus(status: MigrationStatus, label: string): void {
  const lines = [...status.applied.map((n) => `applied ${n}`), ...status.pending.map((n) => `pending ${n}`)];
  lines.push(status.pending.length === 0 ? `schema up to date (${label})` : `${status.pending.length} pending (${label}): run \`docket migrate\``);
  process.stdout.write(`${lines.join('\n')}\n`);
}
