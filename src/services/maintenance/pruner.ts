import { FINISHED_STATES, keepRuleFor, type RetentionConfig } from '../../domain/retention.js';
import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { Jobs } from '../jobs/index.js';
import { MaintenanceLoop } from './periodic.js';

export interface PrunerOptions {
  intervalMs: number;
  retention: RetentionConfig;
  /** Most jobs deleted per queue and state in one run (keeps each run short). @defaultValue 5000 */
  batchSize: number;
}

/** Deletes finished jobs past their queue's retention (age, count), so the store does not grow without bound. */
export class Pruner extends MaintenanceLoop {
  constructor(
    private readonly service: Jobs,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: PrunerOptions,
    onError: (err: unknown) => void,
  ) {
    super(clock, options.intervalMs, onError);
  }

  /** Returns how many jobs were deleted. */
  async runOnce(): Promise<number> {
    const now = this.clock.now();
    let deleted = 0;
    for (const { queue } of await this.store.countByQueue({})) {
      for (const state of FINISHED_STATES) {
        const rule = keepRuleFor(this.options.retention, queue, state);
        if (!rule || (rule.maxAgeSeconds === undefined && rule.maxCount === undefined)) continue;
        const before = rule.maxAgeSeconds !== undefined ? now - rule.maxAgeSeconds * 1000 : null;
        const ids = await this.store.findPrunable(queue, state, before, rule.maxCount ?? null, this.options.batchSize);
        deleted += await this.service.deadLetters.purge(ids);
      }
    }
    return deleted;
  }
}
