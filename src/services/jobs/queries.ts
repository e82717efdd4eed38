import type { Job } from '../../domain/job.js';
import { activityOf, type QueueActivity } from '../../domain/queue-activity.js';
import { isTerminal } from '../../domain/states.js';
import type { Clock } from '../../ports/clock.js';
import type { JobCache } from '../../ports/job-cache.js';
import type { JobFilter, JobPage, QueueDepth, Store } from '../../ports/store.js';
import type { QueuePauses } from './pauses.js';

/** Reads of jobs and queues: by id (finished ones through the cache), lists, depths, activity. */
export class JobQueries {
  constructor(
    private readonly store: Store,
    private readonly pauses: QueuePauses,
    private readonly clock: Clock,
    private readonly cache: JobCache | undefined,
  ) {}

  /** A job by id; finished ones come from the cache when there is one (they no longer change). */
  async get(id: string): Promise<Job | undefined> {
    const cache = this.cache;
    if (!cache) return this.store.getJob(id);
    const cached = await cache.get(id).catch(() => undefined); // a cache that fails is a miss
    if (cached) return cached;
    const job = await this.store.getJob(id);
    if (job && isTerminal(job.state)) await cache.put([job]).catch(() => {});
    return job;
  }

  list(filter: JobFilter, limit: number, after?: string): Promise<JobPage> {
    return this.store.listJobs(filter, limit, after);
  }

  /** Up to `max` jobs matching `filter`, newest first, read a page of 500 at a time (bulk actions). */
  async upTo(filter: JobFilter, max: number): Promise<Job[]> {
    const out: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.store.listJobs(filter, Math.min(500, max - out.length), cursor);
      out.push(...page.jobs);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && out.length < max);
    return out;
  }

  /** The running jobs a worker holds, all of them. */
  async runningJobsOf(workerId: string): Promise<Job[]> {
    const jobs: Job[] = [];
    let after: string | undefined;
    do {
      const page = await this.store.listJobs({ state: 'running', workerId }, 500, after);
      jobs.push(...page.jobs);
      after = page.nextCursor ?? undefined;
    } while (after);
    return jobs;
  }

  /** How many running jobs each worker holds; a worker holding none is not in the map. */
  async runningCounts(): Promise<Map<string, number>> {
    return new Map((await this.store.runningByWorker()).map((r) => [r.workerId, r.running]));
  }

  /** Queues with their job counts per state, for one tenant or (null) all. */
  async queues(tenant: string | null): Promise<(QueueDepth & { paused: boolean })[]> {
    const depths = await this.store.countByQueue(tenant === null ? {} : { tenant });
    // A tenant sees the queues its jobs are in, not other tenants' (paused, empty for it) queues.
    const visible = tenant === null ? depths : depths.filter((d) => Object.values(d.counts).some((n) => n > 0));
    return visible.map((d) => ({ ...d, paused: this.pauses.isPaused(d.queue) }));
  }

  /**
   * Each visible queue's depth with its recent activity: `slots` slots of `bucketMs`, the last one
   * the slot now is in (slots start on whole multiples of `bucketMs`, so charts do not shift).
   */
  async queueStats(tenant: string | null, slots: number, bucketMs: number): Promise<{ now: number; since: number; queues: (QueueDepth & QueueActivity & { paused: boolean })[] }> {
    const now = this.clock.now();
    const since = Math.floor(now / bucketMs) * bucketMs - (slots - 1) * bucketMs;
    const depths = await this.queues(tenant);
    const names = depths.map((d) => d.queue);
    const rows = await this.store.queueActivity(tenant === null ? { queues: names } : { tenant, queues: names }, since, bucketMs);
    const activity = activityOf(rows, names, since, bucketMs, slots);
    return { now, since, queues: depths.map((d, i) => ({ ...d, ...activity[i]! })) };
  }
}
