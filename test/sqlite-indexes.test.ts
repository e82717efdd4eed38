// SQLite's partial indexes: none spells its states with IN (each insert paid the IN list's lookup,
// migrations/0015_expiry_index.sql), and the statements that need one are planned with it.
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import * as Q from '../src/adapters/sqlite/queries.js';

let store: SqliteStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function migrated(): Promise<SqliteStore> {
  store = new SqliteStore({ path: ':memory:' });
  await store.migrate();
  return store;
}

describe('SQLite partial indexes', () => {
  it('spell their states with OR, not IN', async () => {
    const s = await migrated();
    const indexes = s.db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'").all() as { name: string; sql: string }[];
    expect(indexes.length).toBeGreaterThan(0);
    for (const i of indexes) expect(i.sql.slice(i.sql.indexOf(' WHERE ')), i.name).not.toMatch(/\bIN\s*\(/i);
  });

  it('the expirer can read jobs_expiry (its WHERE implies the index\'s)', async () => {
    const s = await migrated();
    // INDEXED BY makes preparing fail ("no query solution") when the index cannot serve the statement.
    const plan = s.db.prepare(`EXPLAIN QUERY PLAN ${Q.FIND_EXPIRED.replace('FROM jobs', 'FROM jobs INDEXED BY jobs_expiry')}`).all(0, 10) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING INDEX jobs_expiry/);
  });
});
