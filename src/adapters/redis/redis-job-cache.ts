import type { Redis } from 'ioredis';
import type { Job } from '../../domain/job.js';
import type { JobCache } from '../../ports/job-cache.js';

export interface RedisJobCacheOptions {
  /** A client to share; never closed by us. */
  redis: Redis;
  /** @defaultValue 'docket:' */
  prefix?: string;
  /** @defaultValue 3600 (1 h) */
  ttlSeconds?: number;
}

/** Finished jobs as JSON under `<prefix>job:<id>` with a time to live. */
export class RedisJobCache implements JobCache {
  private readonly prefix: string;
  private readonly ttl: number;

  constructor(private readonly options: RedisJobCacheOptions) {
    this.prefix = `${options.prefix ?? 'docket:'}job:`;
    this.ttl = options.ttlSeconds ?? 3600;
  }

  async get(id: string): Promise<Job | undefined> {
    const text = await this.options.redis.get(this.prefix + id);
    return text === null ? undefined : (JSON.parse(text) as Job);
  }

  async put(jobs: readonly Job[]): Promise<void> {
    if (jobs.length === 0) return;
    const pipeline = this.options.redis.pipeline();
    for (const job of jobs) pipeline.set(this.prefix + job.id, JSON.stringify(job), 'EX', this.ttl);
    await pipeline.exec();
  }

  async evict(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.options.redis.unlink(...ids.map((id) => this.prefix + id));
  }

  async close(): Promise<void> {}
}
