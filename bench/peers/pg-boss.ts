/**
 * pg-boss on a database of its own.
 *
 * Configuration: pg-boss 10 has no teamSize any more; its docs' levers for throughput are
 * `work()` with `batchSize` (a handler gets an array of jobs, completed together) and several
 * `work()` calls per process (each its own fetch loop), with the shortest polling interval it
 * allows (0.5 s: a worker waits out the rest of its interval after each batch unless notified).
 * `insert()` for the bulk enqueue (one statement). Version 10.x: pg-boss 11 needs Node >= 22.
 */
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import { schemaBytes } from '../proc-stats.js';
import type { CpuScope } from '../cpu.js';
import type { System, SystemContext } from '../system.js';
import { OwnDatabase } from './postgres-db.js';
import { WorkerProcesses } from './processes.js';

export interface PgBossSettings {
  processes: number;
  /** work() calls per process (pg-boss 9's teamSize). */
  workersPerProcess: number;
  batchSize: number;
  pollingIntervalSeconds: number;
  /** Connection pool per process. */
  max: number;
  queue: string;
  connectionString: string;
}

export class PgBossSystem implements System {
  readonly name = 'pg-boss';
  readonly settings: PgBossSettings;
  private readonly db: OwnDatabase;
  private boss: PgBoss | null = null;
  private workers: WorkerProcesses;

  constructor(private readonly ctx: SystemContext) {
    this.settings = {
      processes: 2,
      workersPerProcess: 4,
      batchSize: 200,
      pollingIntervalSeconds: 0.5,
      max: 10,
      queue: 'bench',
      connectionString: '',
      ...(ctx.overrides as Partial<PgBossSettings>),
    };
    this.db = new OwnDatabase(ctx.databaseUrl, 'pgboss');
    this.workers = new WorkerProcesses('pg-boss-worker', 0, {});
  }

  async versions(): Promise<Record<string, string>> {
    const require = createRequire(import.meta.url);
    return { 'pg-boss': (require('pg-boss/package.json') as { version: string }).version };
  }

  async setup(): Promise<void> {
    this.settings.connectionString = await this.db.create();
    this.boss = new PgBoss({ connectionString: this.settings.connectionString, max: this.settings.max, application_name: 'bench-harness' });
    this.boss.on('error', (err) => console.error('[pg-boss]', err));
    await this.boss.start();
    await this.boss.createQueue(this.settings.queue);
    this.workers = new WorkerProcesses('pg-boss-worker', this.settings.processes, { BENCH_SETTINGS: JSON.stringify(this.settings) }, this.ctx.nodeArgs);
  }

  async enqueueBatch(n: number): Promise<void> {
    const name = this.settings.queue;
    await this.boss!.insert(Array.from({ length: n }, () => ({ name, data: {} })));
  }

  async submitProbe(key: string): Promise<void> {
    await this.boss!.send(this.settings.queue, { k: key });
  }

  async startWorkers(): Promise<void> {
    this.workers.start(this.ctx.signals.port);
  }

  async pending(): Promise<number> {
    this.workers.assertAlive();
    return (await this.boss!.getQueueSize(this.settings.queue, { before: 'completed' })) ?? 0;
  }

  stopWorkers(): Promise<void> {
    return this.workers.stop();
  }

  peakRss(): Record<string, number> {
    return this.workers.peakRss();
  }

  cpuScope(): CpuScope {
    return { own: this.workers.pids(), database: this.db.name, redis: false };
  }

  async storeBytes(): Promise<Record<string, number>> {
    return { postgres: await schemaBytes(this.settings.connectionString, 'pgboss') };
  }

  async teardown(): Promise<void> {
    await this.workers.stop();
    await this.boss?.stop({ graceful: false, wait: true }).catch(() => {});
    this.boss = null;
    await this.db.drop();
  }
}
