import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { Jobs } from '../jobs/index.js';
import { MaintenanceLoop } from './periodic.js';

export interface LeaseReaperOptions {
  /** How often to look for running jobs whose lease ran out. @defaultValue 1000 ms */
  intervalMs: number;
  batchSize: number;
}

/**
 * Gives the jobs of dead workers to other workers: a running job whose lease ran out goes back to
 * `ready` (the lost attempt counts), or to `failed` when it was the last attempt. The lease token
 * guards the move, and a lease that ran out can no longer be extended by a late heartbeat, so the
 * reaper and a heartbeat never both win.
 */
export class LeaseReaper extends MaintenanceLoop {
  constructor(
    private readonly service: Jobs,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: LeaseReaperOptions = { intervalMs: 1000, batchSize: 1000 },
    onError: (err: unknown) => void,
  ) {
    super(clock, options.intervalMs, onError);
  }

  async runOnce(): Promise<number> {
    const now = this.clock.now();
    const jobs = await this.store.findExpiredLeases(now, this.options.batchSize);
    if (jobs.length === 0) return 0;
    return this.service.outcomes.returnToQueue(jobs, 'lease_expired', 'lease expired: the worker stopped heartbeating');
  }
}
