import type { Job } from '../../domain/job.js';
import type { Clock } from '../../ports/clock.js';
import type { JobCache } from '../../ports/job-cache.js';
import type { Store } from '../../ports/store.js';
import type { JobLogs } from './logs.js';
import type { Transitions } from './transitions.js';

/** Failed jobs (the dead-letter set) back to the queue, and finished jobs deleted. */
export class DeadLetters {
  constructor(
    private readonly store: Store,
    private readonly transitions: Transitions,
    private readonly clock: Clock,
    private readonly cache: JobCache | undefined,
    private readonly logs: JobLogs,
  ) {}

  /**
   * Dead letters back to the queue as new attempts: failed -> ready with a fresh attempt budget
   * (attempt 0; the error history is kept). Returns the jobs requeued.
   */
  async requeue(jobs: readonly Job[]): Promise<Job[]> {
    const now = this.clock.now();
    const results = await this.transitions.apply(
      jobs.map((j) => ({
        id: j.id,
        from: ['failed'] as const,
        to: 'ready' as const,
        patch: { attempt: 0, runAt: now, finishedAt: null, startedAt: null, workerId: null, stateReason: 'requeued' },
        now,
      })),
    );
    const requeued = results.flatMap((r) => (r.ok ? [r.job] : []));
    await this.cache?.evict(requeued.map((j) => j.id)).catch(() => {});
    return requeued;
  }

  /** Deletes finished jobs (purge, retention), and their logs. */
  async purge(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const n = await this.store.deleteJobs(ids);
    await this.logs.delete(ids);
    await this.cache?.evict(ids).catch(() => {});
    return n;
  }
}
