import { Command } from 'commander';
import { PostgresStore } from '../../../adapters/postgres/postgres-store.js';
import { SqliteStore } from '../../../adapters/sqlite/sqlite-store.js';
import { join, resolve } from 'node:path';

/**
 * Brings the database to the latest schema and exits. Servers also migrate at start; safe either
 * way, since two processes migrating at once take turns (advisory lock / SQLite write lock).
 */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('bring the database schema up to date (PostgreSQL with --database-url, else the embedded SQLite file)')
    .option('--database-url <url>', 'PostgreSQL (env DOCKET_DATABASE_URL)')
    .option('--data-dir <dir>', 'embedded: where the SQLite database lives (env DOCKET_DATA_DIR, default ./data)')
    .action(async (o: { databaseUrl?: string; dataDir?: string }) => {
      // Only the store is migrated, so Redis need not be configured for this.
      const databaseUrl = o.databaseUrl ?? process.env.DOCKET_DATABASE_URL;
      const file = join(resolve(o.dataDir ?? process.env.DOCKET_DATA_DIR ?? './data'), 'docket.db');
      const store = databaseUrl ? new PostgresStore({ connectionString: databaseUrl, max: 1 }) : new SqliteStore({ path: file });
      try {
        await store.migrate();
        process.stdout.write(`schema up to date (${databaseUrl ? 'PostgreSQL' : file})\n`);
      } finally {
        await store.close();
      }
    });
}
