// SQLite's partial indexes and the hot table's CHECK: none spells its states with IN (each write of a
// row paid the IN list's lookup, migrations/0015_expiry_index.sql), and the expirer is planned with its index.
import { describe, expect, it } from 'vitest';
import * as Q from '../src/adapters/sqlite/queries.js';
import { SQLITE_FILTERS } from '../src/adapters/sqlite/rows.js';
import { listJobsQuery } from '../src/adapters/sql/job-filters.js';
import { migratedSqlite } from './helpers/sqlite.js';

const migrated = migratedSqlite();

describe('SQLite partial indexes', () => {
  it('spell their states with OR, not IN', async () => {
    const s = await migrated();
    const indexes = s.db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'").all() as { name: string; sql: string }[];
    expect(indexes.length).toBeGreaterThan(0);
    for (const i of indexes) expect(i.sql.slice(i.sql.indexOf(' WHERE ')), i.name).not.toMatch(/\bIN\s*\(/i);
  });

  it('the hot table checks its states with OR, not IN (the CHECK is evaluated on every write of a row)', async () => {
    const s = await migrated();
    const sql = s.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'jobs_hot'").pluck().get() as string;
    expect(sql).toMatch(/CHECK \(state = 'scheduled' OR/);
    expect(sql).not.toMatch(/\bIN\s*\(/i);
  });

  it('the expirer reads jobs_hot_expiry', async () => {
    const s = await migrated();
    // A few ready jobs, one with an expiry, and the planner's statistics: the plan a real file gets.
    const insert = s.db.prepare("INSERT INTO jobs_hot (id, tenant, queue, priority, state, run_at, expires_at, updated_at) VALUES (?, 't', 'q', 5, 'ready', 0, ?, 0)");
    for (let i = 0; i < 200; i++) insert.run(`job-${i}`, i === 0 ? 5 : null);
    s.db.exec('ANALYZE');
    const plan = s.db.prepare(`EXPLAIN QUERY PLAN ${Q.FIND_EXPIRED}`).all(0, 10) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING INDEX jobs_hot_expiry/);
  });

  it('a list by link reads the primary key and job_specs_link, scanning no table (0017_self_link)', async () => {
    const s = await migrated();
    const hot = s.db.prepare("INSERT INTO jobs_hot (id, tenant, queue, priority, state, run_at, updated_at) VALUES (?, 't', 'q', 5, 'ready', 0, 0)");
    const spec = s.db.prepare("INSERT INTO job_specs (id, type, payload, max_attempts, link_id, created_at) VALUES (?, 'w', '{}', 3, ?, 0)");
    for (let i = 0; i < 200; i++) {
      hot.run(`job-${i}`);
      spec.run(`job-${i}`, i === 1 ? 'job-0' : '');
    }
    s.db.exec('ANALYZE');
    const { sql, params } = listJobsQuery(SQLITE_FILTERS, '*', { linkId: 'job-0' }, 10);
    const plan = (s.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((p) => p.detail).join('\n');
    expect(plan).toMatch(/job_specs_link/);
    expect(plan).not.toMatch(/SCAN (s|h|jobs_hot|job_specs)\b(?! USING)/);
    expect((s.db.prepare(sql).all(params) as { id: string; link_id: string }[]).map((r) => [r.id, r.link_id])).toEqual([['job-1', 'job-0'], ['job-0', 'job-0']]);
  });
});
