import { ManualClock } from '../../src/adapters/clock/manual-clock.js';
import { MemoryDispatch } from '../../src/adapters/memory/memory-dispatch.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { Docket } from '../../src/app/docket.js';

/** An embedded engine on a throwaway SQLite database and a manual clock; loops not started. */
export async function manualEngine(opts: { leaseMs?: number } = {}) {
  const clock = new ManualClock();
  const store = new SqliteStore({ path: ':memory:' });
  const dispatch = new MemoryDispatch(clock);
  const docket = new Docket({ store, dispatch, clock, leaseMs: opts.leaseMs ?? 30_000, random: () => 0.5, onError: (e) => { throw e; } });
  await store.migrate();
  return { docket, clock, store, dispatch, service: docket.jobs };
}
