import type { DispatchEntry } from '../../domain/job.js';
import type { Clock } from '../../ports/clock.js';
import type { Dispatch, PriorityRange, TakeRequest } from '../../ports/dispatch.js';
import { BinaryHeap } from './binary-heap.js';

const LEVELS = 10;

/** Earlier due time first, then submission order (ids are UUIDv7, so they sort by creation). */
const byDue = (a: DispatchEntry, b: DispatchEntry) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.id < b.id);

interface QueueIndex {
  /** One heap per priority level, indexed by priority (1..10; slot 0 unused). */
  levels: BinaryHeap<DispatchEntry>[];
  size: number;
  waiters: Set<() => void>;
}

/**
 * The embedded dispatch: ready and delayed indexes in memory, rebuilt from the store at start.
 * Heaps use lazy deletion: `remove` forgets an id in the live maps, and pops skip stale entries.
 */
export class MemoryDispatch implements Dispatch {
  private readonly queues = new Map<string, QueueIndex>();
  private readonly ready = new Map<string, DispatchEntry>();
  private readonly delayed = new BinaryHeap<DispatchEntry>(byDue);
  private readonly delayedLive = new Map<string, DispatchEntry>();
  private readonly dueListeners = new Set<() => void>();
  private rotation = 0;

  constructor(private readonly clock: Clock) {}

  private rebuiltId: string | null = null;

  async missing(ids: readonly string[]): Promise<string[]> {
    return ids.filter((id) => !this.ready.has(id) && !this.delayedLive.has(id));
  }

  async markRebuilt(id: string): Promise<void> {
    this.rebuiltId = id;
  }

  async rebuiltAs(): Promise<string | null> {
    return this.rebuiltId;
  }

  async enqueue(entries: readonly DispatchEntry[]): Promise<void> {
    const touched = new Set<QueueIndex>();
    for (const e of entries) {
      this.forget(e.id);
      const q = this.index(e.queue);
      q.levels[clampLevel(e.priority)]!.push(e);
      q.size++;
      this.ready.set(e.id, e);
      touched.add(q);
    }
    for (const q of touched) wake(q);
  }

  async schedule(entries: readonly DispatchEntry[]): Promise<void> {
    const before = this.delayed.peek();
    for (const e of entries) {
      this.forget(e.id);
      this.delayed.push(e);
      this.delayedLive.set(e.id, e);
    }
    const after = this.peekDelayed();
    if (after && after !== before) for (const l of this.dueListeners) l();
  }

  async take(request: TakeRequest): Promise<DispatchEntry[]> {
    const out: DispatchEntry[] = [];
    const min = clampLevel(request.range?.min ?? 1);
    const max = clampLevel(request.range?.max ?? LEVELS);
    const names = request.queues;
    const start = names.length > 1 ? this.rotation++ % names.length : 0;
    for (let level = min; level <= max && out.length < request.max; level++) {
      for (let k = 0; k < names.length && out.length < request.max; k++) {
        const q = this.queues.get(names[(start + k) % names.length]!);
        if (!q || q.size === 0) continue;
        const heap = q.levels[level]!;
        while (out.length < request.max && heap.size > 0) {
          const e = heap.pop()!;
          if (this.ready.get(e.id) !== e) continue; // removed or re-enqueued since
          this.ready.delete(e.id);
          q.size--;
          out.push(e);
        }
      }
    }
    return out;
  }

  async takeDue(now: number, max: number): Promise<DispatchEntry[]> {
    const out: DispatchEntry[] = [];
    while (out.length < max) {
      const e = this.peekDelayed();
      if (!e || e.dueAt > now) break;
      this.delayed.pop();
      this.delayedLive.delete(e.id);
      out.push(e);
    }
    return out;
  }

  async nextDueAt(): Promise<number | null> {
    return this.peekDelayed()?.dueAt ?? null;
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.forget(id);
  }

  waitForWork(queues: readonly string[], timeoutMs: number, signal?: AbortSignal, range?: PriorityRange): Promise<void> {
    const indexes = queues.map((name) => this.index(name));
    if (signal?.aborted || indexes.some((q) => hasWork(q, range))) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        timer.cancel();
        signal?.removeEventListener('abort', done);
        for (const q of indexes) q.waiters.delete(done);
        resolve();
      };
      const timer = this.clock.setTimer(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      for (const q of indexes) q.waiters.add(done);
    });
  }

  onDueChanged(listener: () => void): () => void {
    this.dueListeners.add(listener);
    return () => this.dueListeners.delete(listener);
  }

  async readyCount(queue: string): Promise<number> {
    return this.queues.get(queue)?.size ?? 0;
  }

  /** Where an id is held, for invariant checks in tests. */
  locate(id: string): 'ready' | 'delayed' | undefined {
    if (this.ready.has(id)) return 'ready';
    if (this.delayedLive.has(id)) return 'delayed';
    return undefined;
  }

  async close(): Promise<void> {
    for (const q of this.queues.values()) wake(q);
    this.dueListeners.clear();
  }

  private forget(id: string): void {
    const r = this.ready.get(id);
    if (r) {
      this.ready.delete(id);
      this.index(r.queue).size--;
    }
    this.delayedLive.delete(id);
  }

  private peekDelayed(): DispatchEntry | undefined {
    for (;;) {
      const e = this.delayed.peek();
      if (!e || this.delayedLive.get(e.id) === e) return e;
      this.delayed.pop();
    }
  }

  private index(queue: string): QueueIndex {
    let q = this.queues.get(queue);
    if (!q) {
      q = { levels: Array.from({ length: LEVELS + 1 }, () => new BinaryHeap<DispatchEntry>(byDue)), size: 0, waiters: new Set() };
      this.queues.set(queue, q);
    }
    return q;
  }
}

function clampLevel(priority: number): number {
  return Math.min(LEVELS, Math.max(1, Math.trunc(priority)));
}

/** Whether `q` holds entries a claim limited to `range` could take (heaps may hold a few removed ones). */
function hasWork(q: QueueIndex, range?: PriorityRange): boolean {
  if (q.size === 0 || !range) return q.size > 0;
  for (let level = clampLevel(range.min); level <= clampLevel(range.max); level++) if (q.levels[level]!.size > 0) return true;
  return false;
}

function wake(q: QueueIndex): void {
  if (q.waiters.size === 0) return;
  const waiters = [...q.waiters];
  q.waiters.clear();
  for (const w of waiters) w();
}
