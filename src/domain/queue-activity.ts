import type { JobState } from './states.js';

/** The end states a finished job is counted under in a queue's activity. */
export const FINISHED_STATES = ['succeeded', 'failed', 'cancelled', 'expired'] as const satisfies readonly JobState[];
export type FinishedState = (typeof FINISHED_STATES)[number];

/** What a store reads for a queue's recent activity (Store.queueActivity). */
export interface QueueActivityRows {
  /** Jobs that finished at or after `since`, counted per queue, end state and slot (`(finishedAt - since) / bucketMs`, whole). */
  finished: { queue: string; state: FinishedState; slot: number; count: number }[];
  /** Per queue with ready jobs: the due time (`runAt`) of the one due first. */
  oldestReady: { queue: string; runAt: number }[];
}

export type FinishedCounts = Record<FinishedState, number>;

/** One queue's recent activity: a series of equal time slots, oldest first, zero-filled. */
export interface QueueActivity {
  queue: string;
  /** One entry per slot: its start (epoch ms) and the jobs that finished in it, by end state. */
  series: ({ at: number } & FinishedCounts)[];
  /** The whole window's totals. */
  totals: FinishedCounts;
  /** failed / (succeeded + failed) over the window; null when no job ended either way. */
  failureRate: number | null;
  /** Due time of the ready job waiting longest; null when none is ready. */
  oldestReadyAt: number | null;
}

export function noFinished(): FinishedCounts {
  return { succeeded: 0, failed: 0, cancelled: 0, expired: 0 };
}

/**
 * Folds store rows into one activity record per queue in `queues` (in that order), with
 * `slots` slots of `bucketMs` from `since`. Rows of other queues or outside the window are
 * ignored, so a store may read a little more than asked.
 */
export function activityOf(rows: QueueActivityRows, queues: readonly string[], since: number, bucketMs: number, slots: number): QueueActivity[] {
  const byQueue = new Map<string, QueueActivity>();
  for (const queue of queues) {
    byQueue.set(queue, {
      queue,
      series: Array.from({ length: slots }, (_, i) => ({ at: since + i * bucketMs, ...noFinished() })),
      totals: noFinished(),
      failureRate: null,
      oldestReadyAt: null,
    });
  }
  for (const r of rows.finished) {
    const a = byQueue.get(r.queue);
    const slot = a?.series[Number(r.slot)];
    if (!a || !slot) continue;
    slot[r.state] += Number(r.count);
    a.totals[r.state] += Number(r.count);
  }
  for (const r of rows.oldestReady) {
    const a = byQueue.get(r.queue);
    if (a) a.oldestReadyAt = Number(r.runAt);
  }
  for (const a of byQueue.values()) {
    const ended = a.totals.succeeded + a.totals.failed;
    a.failureRate = ended === 0 ? null : a.totals.failed / ended;
  }
  return [...byQueue.values()];
}
