import type { DispatchEntry } from '../domain/job.js';

/** Which priorities a claim takes, inclusive: `{ min: 1, max: 3 }` takes 1, 2 and 3. */
export interface PriorityRange {
  min: number;
  max: number;
}

/**
 * Which jobs a claim wants (insights): only these types and/or only jobs carrying all these labels.
 * Absent: every job.
 */
export interface ClaimFilter {
  types?: readonly string[];
  labels?: Readonly<Record<string, string>>;
  /**
   * Only this tenant's jobs (a worker token bound to its tenant, docs/auth.md). Such a take serves
   * that tenant's lane alone, within its cap, and leaves the other tenants' turns as they were.
   */
  tenant?: string;
}

export interface TakeRequest {
  queues: readonly string[];
  max: number;
  /** Only these priorities. Absent: all. */
  range?: PriorityRange;
  /** Only matching jobs, in the same order as an unfiltered take would hand them out. */
  filter?: ClaimFilter;
}

/** How tenants share one queue: deficit round robin weights and concurrency caps. */
export interface TenantShare {
  /** Jobs per round relative to others (quantum multiplier). @defaultValue 1 */
  weight: number;
  /** Most jobs of the tenant running at once in the queue. null: no cap. */
  maxRunning: number | null;
}

/** Fairness settings per queue (config `fairness`): what the dispatch consults on each take. */
export interface FairnessPolicy {
  /** The share of `tenant` in `queue`. */
  shareOf(queue: string, tenant: string): TenantShare;
  /** Whether `queue` caps any tenant (only then are running jobs counted). */
  capped(queue: string): boolean;
  /** Per-tenant overrides and the default of a queue, for adapters that evaluate in bulk. */
  rulesOf(queue: string): { tenants: Readonly<Record<string, Partial<TenantShare>>>; fallback: TenantShare } | null;
}

/** Where the dispatch index holds a job: in the ready order (to take) or delayed (to promote when due). */
export type Placement = 'ready' | 'delayed';

/** Running jobs of one tenant in one queue, as a capped queue counts them. */
export interface RunningCount {
  queue: string;
  tenant: string;
  running: number;
}

/** One bucket of the ready order: the jobs of one tenant and type at one priority of a queue. */
export interface ReadyLane {
  queue: string;
  priority: number;
  tenant: string;
  type: string;
}

/**
 * The store's ready jobs, read by an in-process dispatch that keeps only the head of each bucket
 * in memory (the embedded engine: its SQLite store is in the same process, so these are plain
 * synchronous reads and a take stays atomic).
 */
export interface ReadyBacklog {
  /** Up to `limit` ready jobs of `lane` that sort after `after` (due time, then id), in that order. */
  readyAfter(lane: ReadyLane, after: Pick<DispatchEntry, 'dueAt' | 'id'>, limit: number): DispatchEntry[];
  /** The entries of those of `ids` that are ready in the store. */
  readyOf(ids: readonly string[]): DispatchEntry[];
  /** How many jobs of `queue` are ready in the store. */
  countReady(queue: string): number;
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
   * Removes and returns up to `max` ready entries in order: priority first (1 highest); inside a
   * priority, tenants take turns by deficit round robin (`weight` jobs per turn, tenants at their
   * `maxRunning` cap skipped); inside a tenant, due time, then submission order. Several queues:
   * each priority level is served across the queues before the next level. Entries of capped
   * queues count as running until `release`d.
   */
  take(request: TakeRequest): Promise<DispatchEntry[]>;
  /** Jobs taken from capped queues stopped running (finished, failed, parked, returned): frees their slots. */
  release(entries: readonly Pick<DispatchEntry, 'queue' | 'tenant'>[]): Promise<void>;
  /** Running counts of capped queues, as the dispatch holds them. */
  runningCounts(queues: readonly string[]): Promise<RunningCount[]>;
  /** Corrects a running count by `delta` (the reconciliation with the store), never below 0. */
  adjustRunning(queue: string, tenant: string, delta: number): Promise<void>;
  /** Removes and returns delayed entries due at or before `now`. */
  takeDue(now: number, max: number): Promise<DispatchEntry[]>;
  /** Earliest due time among delayed entries, or null. */
  nextDueAt(): Promise<number | null>;
  /** Forgets jobs (cancelled, expired) wherever they are. */
  remove(ids: readonly string[]): Promise<void>;
  /**
   * Resolves when a job may be ready on one of `queues` (an enqueue happened), after `timeoutMs`,
   * or when `signal` aborts. Never rejects. This is what keeps polling out of the hot path.
   * Work counts only if a take with `range` and `filter` would get it now (a tenant at its cap,
   * other priorities or non-matching jobs do not count: else a claim loop would spin).
   */
  waitForWork(queues: readonly string[], timeoutMs: number, signal?: AbortSignal, range?: PriorityRange, filter?: ClaimFilter): Promise<void>;
  /** Subscribes to changes of the earliest due time (the promoter re-arms its timer). */
  onDueChanged(listener: () => void): () => void;
  /** Tells the other processes sharing this dispatch that a queue was paused or resumed. */
  announcePauses(): Promise<void>;
  /** Subscribes to pauses and resumes announced by other processes (they reload the set from the store). */
  onPausesChanged(listener: () => void): () => void;
  /** Number of ready entries per queue. */
  readyCount(queue: string): Promise<number>;
  /** The ids of `ids` the index does not hold (ready or delayed): the repair loop re-adds them. */
  missing(ids: readonly string[]): Promise<string[]>;
  /**
   * Where the index holds each of `ids`, read from the ready order and the delayed set themselves
   * (not from the bookkeeping `missing` reads): `[]` nowhere, `['ready']` or `['delayed']`, and
   * both when the index contradicts itself. A job is in at most one place; the invariant checks
   * (test/state-machine.property.test.ts) and diagnostics read it. One round trip.
   */
  placesOf(ids: readonly string[]): Promise<Placement[][]>;
  /**
   * A marker of the index's contents: `markRebuilt(id)` sets it after a full rebuild from the
   * store, and `rebuiltAs()` reads it back. null means the index lost its contents (a Redis
   * FLUSHALL or restart, or a fresh process for the memory adapter): rebuild it.
   */
  markRebuilt(id: string): Promise<void>;
  rebuiltAs(): Promise<string | null>;
  close(): Promise<void>;
}
