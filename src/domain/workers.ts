import type { WorkerRecord } from '../ports/worker-directory.js';

/** Which workers a page holds: after `after` in id order, at most `limit`, matching every filter given. */
export interface WorkerQuery {
  limit: number;
  /** The last id of the previous page. */
  after?: string;
  /** Only this tenant's workers; null: only cluster workers. Absent: all. */
  tenant?: string | null;
  status?: WorkerRecord['status'];
  /** Only workers serving this queue. */
  queue?: string;
}

export interface WorkerPage {
  workers: WorkerRecord[];
  /** The `after` of the next page; null on the last. */
  next: string | null;
}

export function matchesWorkerQuery(w: WorkerRecord, q: WorkerQuery): boolean {
  if (q.tenant !== undefined && w.tenant !== q.tenant) return false;
  if (q.status !== undefined && w.status !== q.status) return false;
  if (q.queue !== undefined && !w.queues.includes(q.queue)) return false;
  return true;
}

/** The page of `matching` (records in id order that match, limit + 1 of them at most). */
export function pageOf(matching: WorkerRecord[], limit: number): WorkerPage {
  const workers = matching.slice(0, limit);
  return { workers, next: matching.length > limit ? workers[workers.length - 1]!.id : null };
}
