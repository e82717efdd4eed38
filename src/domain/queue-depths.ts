import { JOB_STATES, type JobState } from './states.js';

export interface QueueDepth {
  queue: string;
  counts: Record<JobState, number>;
}

/** Folds (queue, state, count) rows into one record per queue; paused queues appear even when empty. */
export function depthsOf(rows: readonly { queue: string; state: JobState; n: number | string }[], paused: readonly string[]): QueueDepth[] {
  const byQueue = new Map<string, QueueDepth>();
  const depth = (queue: string) => {
    let d = byQueue.get(queue);
    if (!d) {
      d = { queue, counts: Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number> };
      byQueue.set(queue, d);
    }
    return d;
  };
  for (const r of rows) depth(r.queue).counts[r.state] = Number(r.n);
  for (const q of paused) depth(q);
  return [...byQueue.values()].sort((a, b) => (a.queue < b.queue ? -1 : 1));
}
