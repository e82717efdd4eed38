import type { Clock } from '../../ports/clock.js';
import type { WorkerDirectory } from '../../ports/worker-directory.js';
import type { Jobs } from '../jobs/index.js';
import { MaintenanceLoop } from './periodic.js';

export interface WorkerMonitorOptions {
  intervalMs: number;
  /** A registered worker silent for longer is lost. */
  heartbeatTimeoutMs: number;
}

/**
 * Marks remote workers that stopped heartbeating as lost and gives their running jobs back to the
 * queue at once (the attempt counts), instead of waiting for each lease to run out.
 */
export class WorkerMonitor extends MaintenanceLoop {
  constructor(
    private readonly service: Jobs,
    private readonly workers: WorkerDirectory,
    clock: Clock,
    private readonly options: WorkerMonitorOptions,
    onError: (err: unknown) => void,
  ) {
    super(clock, options.intervalMs, onError);
  }

  /** Returns how many jobs went back to the queue. */
  async runOnce(): Promise<number> {
    let returned = 0;
    for (const worker of await this.workers.sweep(this.options.heartbeatTimeoutMs)) {
      const jobs = await this.service.queries.runningJobsOf(worker.id);
      const seconds = Math.round(this.options.heartbeatTimeoutMs / 1000);
      returned += await this.service.outcomes.returnToQueue(jobs, 'worker_lost', `worker ${worker.name ?? worker.id} sent no heartbeat for ${seconds} s`);
    }
    return returned;
  }
}
