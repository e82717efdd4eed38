import type { DispatchEntry } from '../domain/job.js';

/** Which priorities a claim takes, inclusive: `{ min: 1, max: 3 }` takes 1, 2 and 3. */
export interface PriorityRange {
  min: number;
  max: number;
}

export interface TakeRequest {
  queues: readonly string[];
  max: number;
  /** Only these priorities. Absent: all. */
  range?: PriorityRange;
}

/**
 * The hot dispatch state: which jobs are ready and in what order, and which wait for a due time.
 * Everything here can be rebuilt from the store. `take` is atomic: no two callers get the same id.
 */
export interface Dispatch {
  /** Adds ready jobs to the ready index and wakes waiting claimers. */
  enqueue(entries: readonly DispatchEntry[]): Promise<void>;
  /** Adds jobs that become ready at `entry.dueAt` (delayed or retrying). */
  schedule(entries: readonly DispatchEntry[]): Promise<void>;
  /**
   * Removes and returns up to `max` ready entries in order: priority first (1 highest), then due
   * time, then submission order.
   */
  take(request: TakeRequest): Promise<DispatchEntry[]>;
  /** Removes and returns delayed entries due at or before `now`. */
  takeDue(now: number, max: number): Promise<DispatchEntry[]>;
  /** Earliest due time among delayed entries, or null. */
  nextDueAt(): Promise<number | null>;
  /** Forgets jobs (cancelled, expired) wherever they are. */
  remove(ids: readonly string[]): Promise<void>;
  /**
   * Resolves when a job may be ready on one of `queues` (an enqueue happened), after `timeoutMs`,
   * or when `signal` aborts. Never rejects. This is what keeps polling out of the hot path.
   * With `range`, ready jobs of other priorities do not count as work (else a ranged claim spins).
   */
  waitForWork(queues: readonly string[], timeoutMs: number, signal?: AbortSignal, range?: PriorityRange): Promise<void>;
  /** Subscribes to changes of the earliest due time (the promoter re-arms its timer). */
  onDueChanged(listener: () => void): () => void;
  /** Number of ready entries per queue. */
  readyCount(queue: string): Promise<number>;
  /** The ids of `ids` the index does not hold (ready or delayed): the repair loop re-adds them. */
  missing(ids: readonly string[]): Promise<string[]>;
  /**
   * A marker of the index's contents: `markRebuilt(id)` sets it after a full rebuild from the
   * store, and `rebuiltAs()` reads it back. null means the index lost its contents (a Redis
   * FLUSHALL or restart, or a fresh process for the memory adapter): rebuild it.
   */
  markRebuilt(id: string): Promise<void>;
  rebuiltAs(): Promise<string | null>;
  close(): Promise<void>;
}
