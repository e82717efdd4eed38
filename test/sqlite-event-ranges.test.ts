// A submit's events kept as a range of job ids (migrations/0018_event_ranges.sql, event-batches.ts):
// what the log reads is the same as with the list, before and after a job of the range is deleted.
import { describe, expect, it } from 'vitest';
import { RANGE_ROWS } from '../src/adapters/sqlite/event-batches.js';
import type { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import type { LogEvent } from '../src/ports/event-log.js';
import { T0, newJob } from './conformance/fixtures.js';
import { migratedSqlite } from './helpers/sqlite.js';

const migrated = migratedSqlite();

const submitted = async (s: SqliteStore) =>
  (await s.events.read(0, 100)).filter((e) => e.type === 'submitted').map((e: LogEvent) => ({ pos: e.pos, id: e.key, queue: e.data.queue, linkId: e.linkId }));
const batches = (s: SqliteStore) => s.db.prepare("SELECT key, batch FROM events WHERE type = 'submitted' ORDER BY pos").all() as { key: string; batch: string }[];

// v7-shaped ids in a known order.
const id = (n: number) => `0190a000-0000-7000-8000-${String(n).padStart(12, '0')}`;

describe('SQLite event ranges', () => {
  it('keeps a submit as the range of its ids, and reads back one event per job in order', async () => {
    const s = await migrated();
    const jobs = [1, 2, 3].map((n) => newJob({ id: id(n), createdAt: T0 }));
    await s.insertJobs(jobs);
    expect(batches(s)).toEqual([{ key: id(1), batch: JSON.stringify({ last: id(3) }) }]);
    expect(await submitted(s)).toEqual([1, 2, 3].map((n) => ({ pos: n, id: id(n), queue: 'default', linkId: id(n) })));
  });

  it('a deleted job of a range keeps its event and every position (the list is written out first)', async () => {
    const s = await migrated();
    await s.insertJobs([1, 2, 3].map((n) => newJob({ id: id(n), createdAt: T0 })));
    await s.insertJobs([newJob({ id: id(4), createdAt: T0 + 1, runAt: T0 + 1 })]);
    const before = await submitted(s);
    expect(await s.deleteJobs([id(2)])).toBe(1);
    expect(batches(s)[0]).toEqual({ key: id(1), batch: JSON.stringify([id(1), id(2), id(3)]) });
    expect(await submitted(s)).toEqual(before);
  });

  it('keeps the list of a submit of one job (the shorter text)', async () => {
    const s = await migrated();
    await s.insertJobs([newJob({ id: id(1), createdAt: T0 })]);
    expect(batches(s)).toEqual([{ key: id(1), batch: JSON.stringify([id(1)]) }]);
  });

  it('keeps the list when another job lies between the ids of a submit', async () => {
    const s = await migrated();
    await s.insertJobs([newJob({ id: id(2), createdAt: T0 })]);
    await s.insertJobs([newJob({ id: id(1), createdAt: T0 + 1, runAt: T0 + 1 }), newJob({ id: id(3), createdAt: T0 + 1, runAt: T0 + 1 })]);
    expect(batches(s)[1]).toEqual({ key: id(1), batch: JSON.stringify([id(1), id(3)]) });
    expect((await submitted(s)).map((e) => e.id)).toEqual([id(2), id(1), id(3)]);
  });

  it('finds the range rows of a delete through their index', async () => {
    const s = await migrated();
    const plan = (s.db.prepare(`EXPLAIN QUERY PLAN ${RANGE_ROWS}`).all(1, 'b', 'a') as { detail: string }[]).map((p) => p.detail).join('\n');
    expect(plan).toMatch(/USING INDEX events_ranges \(at=\? AND key<\?\)/);
  });
});
