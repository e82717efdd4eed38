import type { DispatchEntry } from '../../domain/job.js';
import { BinaryHeap } from './binary-heap.js';

/** Earlier due time first, then submission order (ids are UUIDv7, so they sort by creation). */
export const byDue = (a: DispatchEntry, b: DispatchEntry) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.id < b.id);

/**
 * One tenant's ready entries of one type at one priority of a queue, in due order: a heap with
 * lazy deletion (`live` excludes entries forgotten since they were pushed).
 *
 * With a window (the embedded store behind it, `ReadyBacklog`), the heap holds only the head of the
 * bucket: when it passes twice the window it keeps the first `window` entries and sets `fence` to
 * the last of them. From then on an entry that sorts after the fence is left to the store, and the
 * next page is read from the store when the heap runs dry. So a million queued jobs cost the
 * dispatch a few thousand entries, not a million (docs/design/hot-path-embedded.md, E).
 */
export class Bucket {
  heap = new BinaryHeap<DispatchEntry>(byDue);
  live = 0;
  /** Set while the store holds ready entries of this bucket that sort after it and the heap does not. */
  fence: DispatchEntry | null = null;

  constructor(
    readonly queue: string,
    readonly priority: number,
    readonly tenant: string,
    readonly type: string,
  ) {}

  /** Whether `e` sorts past the window: the store holds it, the heap does not. */
  beyond(e: DispatchEntry): boolean {
    return this.fence !== null && byDue(this.fence, e);
  }

  /**
   * Keeps the first `window` of the live entries (`isLive`) and returns the others, which the
   * store holds from now on; the fence moves to the last entry kept.
   */
  trim(window: number, isLive: (e: DispatchEntry) => boolean): DispatchEntry[] {
    const live = this.heap.values().filter(isLive);
    live.sort((a, b) => (byDue(a, b) ? -1 : 1));
    const kept = live.slice(0, window);
    this.heap = new BinaryHeap<DispatchEntry>(byDue);
    for (const e of kept) this.heap.push(e);
    this.live = kept.length;
    this.fence = kept[kept.length - 1] ?? this.fence;
    return live.slice(window);
  }
}
