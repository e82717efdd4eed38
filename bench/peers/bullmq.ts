/**
 * BullMQ on the shared Redis, under a key prefix of its own (deleted afterwards).
 *
 * Configuration per BullMQ's docs for throughput: a worker process apart from the producer, one
 * Worker with a high `concurrency` (no-op jobs are I/O-bound on Redis). One process × 200 slots:
 * on this 2-core machine (Redis on the same cores) it beat 2 × 100 and 2 × 300 (drain 3.0–4.3k/s
 * vs 2.2–2.7k/s and 1.3–2.5k/s at load average ~9; CPU per job 194 vs 250 µs); `addBulk` for the
 * bulk enqueue (one MULTI per call); `removeOnComplete` (the docs' advice for production: keep
 * Redis from filling with finished jobs; graphile-worker deletes finished jobs too).
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { deleteKeys } from '../production.js';
import { redisBytes } from '../proc-stats.js';
import type { CpuScope } from '../cpu.js';
import type { System, SystemContext } from '../system.js';
import { WorkerProcesses } from './processes.js';
import { connection } from './redis-connection.js';

export interface BullmqSettings {
  processes: number;
  concurrency: number;
  removeOnComplete: boolean;
  redisUrl: string;
  prefix: string;
  queue: string;
}

export class BullmqSystem implements System {
  readonly name = 'bullmq';
  readonly settings: BullmqSettings;
  private queue: Queue | null = null;
  /** Probes use a connection of their own: under load they must not queue behind addBulk calls. */
  private probes: Queue | null = null;
  private redis: Redis | null = null;
  private workers: WorkerProcesses;

  constructor(private readonly ctx: SystemContext) {
    this.settings = { processes: 1, concurrency: 200, removeOnComplete: true, redisUrl: ctx.redisUrl, prefix: '', queue: 'bench', ...(ctx.overrides as Partial<BullmqSettings>) };
    this.workers = new WorkerProcesses('bullmq-worker', this.settings.processes, {});
  }

  async versions(): Promise<Record<string, string>> {
    const require = createRequire(import.meta.url);
    return { bullmq: (require('bullmq/package.json') as { version: string }).version };
  }

  async setup(): Promise<void> {
    this.settings.prefix = `bench-bullmq-${randomUUID().slice(0, 8)}`;
    this.redis = new Redis(this.ctx.redisUrl, { maxRetriesPerRequest: null });
    this.queue = new Queue(this.settings.queue, { connection: connection(this.ctx.redisUrl), prefix: this.settings.prefix });
    this.probes = new Queue(this.settings.queue, { connection: connection(this.ctx.redisUrl), prefix: this.settings.prefix });
    await Promise.all([this.queue.waitUntilReady(), this.probes.waitUntilReady()]);
    this.workers = new WorkerProcesses('bullmq-worker', this.settings.processes, { BENCH_SETTINGS: JSON.stringify(this.settings) }, this.ctx.nodeArgs);
  }

  async enqueueBatch(n: number): Promise<void> {
    const opts = { removeOnComplete: this.settings.removeOnComplete };
    await this.queue!.addBulk(Array.from({ length: n }, () => ({ name: 'noop', data: {}, opts })));
  }

  async submitProbe(key: string): Promise<void> {
    await this.probes!.add('probe', { k: key }, { removeOnComplete: this.settings.removeOnComplete });
  }

  async startWorkers(): Promise<void> {
    this.workers.start(this.ctx.signals.port);
  }

  async pending(): Promise<number> {
    this.workers.assertAlive();
    const c = await this.queue!.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  stopWorkers(): Promise<void> {
    return this.workers.stop();
  }

  peakRss(): Record<string, number> {
    return this.workers.peakRss();
  }

  cpuScope(): CpuScope {
    return { own: this.workers.pids(), redis: true };
  }

  async storeBytes(): Promise<Record<string, number>> {
    return { redis: await redisBytes(this.redis!, `${this.settings.prefix}:`) };
  }

  async teardown(): Promise<void> {
    await this.workers.stop();
    await this.queue?.close();
    await this.probes?.close();
    this.queue = this.probes = null;
    if (this.redis) {
      await deleteKeys(this.redis, `${this.settings.prefix}:`).catch((err) => console.error(`could not delete ${this.settings.prefix}:*`, err));
      this.redis.disconnect();
      this.redis = null;
    }
  }
}
