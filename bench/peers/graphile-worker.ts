/**
 * graphile-worker on a database of its own.
 *
 * Configuration: its documented performance setup (worker.graphile.org/docs/performance, the
 * configuration behind its "~183,000 jobs/s" figure): `concurrentJobs: 24`, `maxPoolSize: 25`,
 * batching on — `localQueue: { size: 500 }`, `completeJobBatchDelay: 0`, `failJobBatchDelay: 0` —
 * plus `useNodeTime`; worker processes apart from the enqueuer; `addJobs` (one `add_jobs` call)
 * for the bulk enqueue. Version 0.17.3: 0.18 needs Node >= 22.18, this machine has Node 20.
 */
import { createRequire } from 'node:module';
import { Logger, makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { schemaBytes } from '../proc-stats.js';
import type { CpuScope } from '../cpu.js';
import type { System, SystemContext } from '../system.js';
import { OwnDatabase } from './postgres-db.js';
import { WorkerProcesses } from './processes.js';

export interface GraphileSettings {
  processes: number;
  concurrentJobs: number;
  maxPoolSize: number;
  localQueueSize: number;
  completeJobBatchDelay: number;
  failJobBatchDelay: number;
  useNodeTime: boolean;
  pollInterval: number;
  connectionString: string;
}

export class GraphileWorkerSystem implements System {
  readonly name = 'graphile-worker';
  readonly settings: GraphileSettings;
  private readonly db: OwnDatabase;
  private utils: WorkerUtils | null = null;
  private pool: pg.Pool | null = null;
  private workers: WorkerProcesses;

  constructor(private readonly ctx: SystemContext) {
    this.settings = {
      processes: 2,
      concurrentJobs: 24,
      maxPoolSize: 25,
      localQueueSize: 500,
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
      useNodeTime: true,
      pollInterval: 2000,
      connectionString: '',
      ...(ctx.overrides as Partial<GraphileSettings>),
    };
    this.db = new OwnDatabase(ctx.databaseUrl, 'graphile');
    this.workers = new WorkerProcesses('graphile-worker-worker', 0, {});
  }

  async versions(): Promise<Record<string, string>> {
    const require = createRequire(import.meta.url);
    return { 'graphile-worker': (require('graphile-worker/package.json') as { version: string }).version };
  }

  async setup(): Promise<void> {
    this.settings.connectionString = await this.db.create();
    // A pool of our own, ended before the database is dropped (an idle pool must not see the drop).
    this.pool = new pg.Pool({ connectionString: this.settings.connectionString, max: 4, application_name: 'bench-harness' });
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
    this.utils = await makeWorkerUtils({ pgPool: this.pool, logger: quietLogger() });
    await this.utils.migrate();
    this.workers = new WorkerProcesses('graphile-worker-worker', this.settings.processes, { BENCH_SETTINGS: JSON.stringify(this.settings) }, this.ctx.nodeArgs);
  }

  async enqueueBatch(n: number): Promise<void> {
    await this.utils!.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
  }

  async submitProbe(key: string): Promise<void> {
    await this.utils!.addJob('probe', { k: key });
  }

  async startWorkers(): Promise<void> {
    this.workers.start(this.ctx.signals.port);
  }

  async pending(): Promise<number> {
    this.workers.assertAlive();
    // Finished jobs are deleted; a locked job still in the table is not yet completed.
    const { rows } = await this.utils!.withPgClient((c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker._private_jobs'));
    return rows[0]!.n;
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
    return { postgres: await schemaBytes(this.settings.connectionString, 'graphile_worker') };
  }

  async teardown(): Promise<void> {
    await this.workers.stop();
    await this.utils?.release();
    await this.pool?.end();
    this.utils = null;
    this.pool = null;
    await this.db.drop();
  }
}

/** graphile-worker logs every job at info level: only warnings and errors. */
export function quietLogger() {
  return new Logger(() => (level: string, message: string) => {
    if (level === 'error' || level === 'warning') console.error(`[graphile-worker] ${level}: ${message}`);
  });
}
