import type { Clock } from '../../ports/clock.js';
import type { Dispatch, FairnessPolicy } from '../../ports/dispatch.js';
import type { Store } from '../../ports/store.js';
import { MaintenanceLoop } from './periodic.js';

/**
 * Keeps the dispatch's running counts of capped queues (tenant caps, docs/fairness.md) in line
 * with the store. Claims and releases keep them exact while processes live; a process that dies
 * between a take and its claim, or a job finished through a process that did not claim it, leaves
 * a count off by some jobs, and so does a rebuilt index (Redis FLUSHALL). A difference is only
 * corrected when two sweeps in a row see the same one: a difference made by claims and completions
 * in flight between the two reads changes from sweep to sweep, a leaked count does not.
 */
export class RunningSweep extends MaintenanceLoop {
  private seen = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly dispatch: Dispatch,
    private readonly fairness: FairnessPolicy,
    clock: Clock,
    intervalMs: number,
    onError: (err: unknown) => void,
  ) {
    super(clock, intervalMs, onError);
  }

  /** Returns the number of counts corrected. */
  async runOnce(): Promise<number> {
    const truth = (await this.store.countRunning()).filter((r) => this.fairness.capped(r.queue));
    const queues = new Set(truth.map((r) => r.queue));
    for (const key of this.seen.keys()) queues.add(key.slice(0, key.indexOf('\u0000')));
    const held = await this.dispatch.runningCounts([...queues]);
    const diffs = new Map<string, number>();
    for (const r of truth) diffs.set(`${r.queue}\u0000${r.tenant}`, r.running);
    for (const r of held) diffs.set(`${r.queue}\u0000${r.tenant}`, (diffs.get(`${r.queue}\u0000${r.tenant}`) ?? 0) - r.running);
    let corrected = 0;
    const next = new Map<string, number>();
    for (const [key, diff] of diffs) {
      if (diff === 0) continue;
      if (this.seen.get(key) === diff) {
        const [queue, tenant] = key.split('\u0000') as [string, string];
        await this.dispatch.adjustRunning(queue, tenant, diff);
        corrected++;
      } else next.set(key, diff);
    }
    this.seen = next;
    return corrected;
  }
}
