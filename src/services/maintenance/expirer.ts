import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { Jobs } from '../jobs/index.js';
import { MaintenanceLoop } from './periodic.js';

export interface ExpirerOptions {
  /** How often to look for jobs past expiresAt. Claims also refuse expired jobs, so a late run only delays the state change. @defaultValue 1000 ms */
  intervalMs: number;
  batchSize: number;
}

/** Moves jobs that were not started before their `expiresAt` to `expired`. They never run. */
export class Expirer extends MaintenanceLoop {
  constructor(
    private readonly service: Jobs,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: ExpirerOptions = { intervalMs: 1000, batchSize: 1000 },
    onError: (err: unknown) => void,
  ) {
    super(clock, options.intervalMs, onError);
  }

  async runOnce(): Promise<number> {
    let expired = 0;
    for (;;) {
      const now = this.clock.now();
      const jobs = await this.store.findExpired(now, this.options.batchSize);
      if (jobs.length === 0) return expired;
      const results = await this.service.transitions.apply(
        jobs.map((j) => ({
          id: j.id,
          from: [j.state],
          to: 'expired' as const,
          patch: { stateReason: 'expired_before_start', finishedAt: now },
          now,
        })),
      );
      expired += results.filter((r) => r.ok).length;
      if (jobs.length < this.options.batchSize) return expired;
    }
  }
}
