import type { Job } from '../domain/job.js';

/**
 * Finished jobs, kept close for reads (GET /v1/jobs/{id} is the most frequent call of a polling
 * client). Only finished jobs are cached: they no longer change, so the cache needs no
 * invalidation on the hot path. Safe to lose: a miss reads the store.
 */
export interface JobCache {
  get(id: string): Promise<Job | undefined>;
  put(jobs: readonly Job[]): Promise<void>;
  /** Forgets jobs that change after all (a dead letter requeued, a job purged). */
  evict(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
