import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { Jobs } from '../jobs/index.js';
import { MaintenanceLoop } from './periodic.js';

export interface HousekeeperOptions {
  intervalMs: number;
  /** How long an Idempotency-Key is remembered. @defaultValue 24 h */
  idempotencyTtlMs: number;
}

/**
 * Small chores: picks up queue pauses made by other processes, forgets idempotency keys once
 * they are older than their time to live, and dedup keys once their window has ended.
 */
export class Housekeeper extends MaintenanceLoop {
  constructor(
    private readonly service: Jobs,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: HousekeeperOptions,
    onError: (err: unknown) => void,
  ) {
    super(clock, options.intervalMs, onError);
  }

  async runOnce(): Promise<void> {
    await this.service.pauses.refresh();
    await this.service.parking.refreshGates();
    await this.store.pruneIdempotency(this.clock.now() - this.options.idempotencyTtlMs);
    await this.store.pruneDedupKeys(this.clock.now());
  }
}
