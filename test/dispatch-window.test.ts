// The embedded dispatch with its window (memory-dispatch.ts + bucket.ts): each bucket keeps a few
// entries in memory and pages the rest from a real SQLite store. The port's conformance suite runs
// on it with a window of 2, so almost every test there crosses a page boundary; the store is kept
// as the engine keeps it (a job is written ready before it is enqueued, a take is followed by its
// claim, a removed job leaves the ready state).
import type { DispatchEntry } from '../src/domain/job.js';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { MemoryDispatch } from '../src/adapters/memory/memory-dispatch.js';
import { SqliteReadyBacklog } from '../src/adapters/sqlite/sqlite-ready-backlog.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import type { ClaimFilter, Dispatch, FairnessPolicy, PriorityRange, TakeRequest } from '../src/ports/dispatch.js';
import { describeDispatchConformance } from './conformance/dispatch-conformance.js';

/** The dispatch as the engine drives it: every change is written to the store first. */
class StoreKept implements Dispatch {
  constructor(
    private readonly store: SqliteStore,
    private readonly inner: MemoryDispatch,
  ) {}

  private write(entries: readonly DispatchEntry[], state: 'ready' | 'scheduled'): void {
    const spec = this.store.db.prepare(`INSERT OR REPLACE INTO job_specs (id, type, payload, labels, max_attempts, link_id, created_at)
      VALUES (?, ?, '{}', ?, 1, '', 0)`);
    const hot = this.store.db.prepare(`INSERT OR REPLACE INTO jobs_hot (id, tenant, queue, priority, state, run_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, 0)`);
    this.store.db.transaction(() => {
      for (const e of entries) {
        spec.run(e.id, e.type ?? '', JSON.stringify(e.labels ?? {}));
        hot.run(e.id, e.tenant, e.queue, e.priority, state, e.dueAt);
      }
    })();
  }

  private leave(ids: readonly string[], state: 'running' | 'cancelled'): void {
    const update = this.store.db.prepare(`UPDATE jobs_hot SET state = ? WHERE id = ?`);
    this.store.db.transaction(() => ids.forEach((id) => update.run(state, id)))();
  }

  async enqueue(entries: readonly DispatchEntry[]) {
    this.write(entries, 'ready');
    return this.inner.enqueue(entries);
  }
  async schedule(entries: readonly DispatchEntry[]) {
    this.write(entries, 'scheduled');
    return this.inner.schedule(entries);
  }
  async take(request: TakeRequest) {
    const got = await this.inner.take(request);
    this.leave(got.map((e) => e.id), 'running');
    return got;
  }
  async remove(ids: readonly string[]) {
    this.leave(ids, 'cancelled');
    return this.inner.remove(ids);
  }
  release = (e: Parameters<Dispatch['release']>[0]) => this.inner.release(e);
  runningCounts = (queues: readonly string[]) => this.inner.runningCounts(queues);
  adjustRunning = (queue: string, tenant: string, delta: number) => this.inner.adjustRunning(queue, tenant, delta);
  takeDue = (now: number, max: number) => this.inner.takeDue(now, max);
  nextDueAt = () => this.inner.nextDueAt();
  waitForWork = (queues: readonly string[], timeoutMs: number, signal?: AbortSignal, range?: PriorityRange, filter?: ClaimFilter) =>
    this.inner.waitForWork(queues, timeoutMs, signal, range, filter);
  onDueChanged = (listener: () => void) => this.inner.onDueChanged(listener);
  announcePauses = () => this.inner.announcePauses();
  onPausesChanged = (listener: () => void) => (this.inner as Dispatch).onPausesChanged(listener);
  readyCount = (queue: string) => this.inner.readyCount(queue);
  missing = (ids: readonly string[]) => this.inner.missing(ids);
  placesOf = (ids: readonly string[]) => this.inner.placesOf(ids);
  markRebuilt = (id: string) => this.inner.markRebuilt(id);
  rebuiltAs = () => this.inner.rebuiltAs();
  close = () => this.inner.close();
}

describeDispatchConformance('memory, window of 2 over SQLite', async (fairness?: FairnessPolicy) => {
  const clock = new ManualClock();
  const store = new SqliteStore({ path: ':memory:' });
  await store.migrate();
  const inner = new MemoryDispatch(clock, fairness, { backlog: new SqliteReadyBacklog(store.db), size: 2 });
  return { dispatch: new StoreKept(store, inner), clock, cleanup: () => store.close() };
});
