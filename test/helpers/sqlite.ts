import { afterEach } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';

/**
 * For tests of the SQLite schema itself: call once per file; the returned function opens a
 * migrated in-memory store, closed after each test.
 */
export function migratedSqlite(): () => Promise<SqliteStore> {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  return async () => {
    store = new SqliteStore({ path: ':memory:' });
    await store.migrate();
    return store;
  };
}
