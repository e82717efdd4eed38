import type { ConditionRecord, ParkedCount, Store } from '../ports/store.js';
import type { Job } from '../domain/job.js';
import type { Clock } from '../ports/clock.js';
import type { Jobs } from './jobs/index.js';
import { releaseOutlook, type ReleaseOutlook } from '../domain/recovery/release-pace.js';

export interface ConditionView extends ConditionRecord, ReleaseOutlook {
  /** Parked jobs per queue and tenant (only the caller's tenant unless admin). */
  parked: Omit<ParkedCount, 'condition'>[];
  parkedTotal: number;
}

const PAGE = 1000;

/** What operators do with recovery conditions, by hand (API and CLI). */
export class RecoveryOps {
  constructor(
    private readonly service: Jobs,
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Conditions with their parked counts; `tenant` limits the counts (and hides conditions with none of its jobs). */
  async list(tenant: string | null): Promise<ConditionView[]> {
    const all = await this.store.parkedCounts();
    const counts = all.filter((c) => tenant === null || c.tenant === tenant);
    const now = this.clock.now();
    const views = (await this.store.listConditions()).map((c) => {
      const parked = counts.filter((p) => p.condition === c.key).map(({ condition: _c, ...rest }) => rest);
      // The time left covers every parked job, of any tenant: they are released in priority order, not by tenant.
      const everyone = all.filter((p) => p.condition === c.key).reduce((n, p) => n + p.count, 0);
      return { ...c, parked, parkedTotal: parked.reduce((n, p) => n + p.count, 0), ...releaseOutlook(this.service.parking.policyFor(c.key), c, everyone, now) };
    });
    return tenant === null ? views : views.filter((v) => v.parkedTotal > 0);
  }

  async get(key: string, tenant: string | null): Promise<ConditionView | undefined> {
    return (await this.list(tenant)).find((c) => c.key === key);
  }

  /** Declares the condition cleared: parked jobs go back at the policy's throttled, ramping rate. */
  async release(key: string): Promise<boolean> {
    const c = await this.store.getCondition(key);
    if (!c) return false;
    const now = this.clock.now();
    return this.store.saveCondition({ ...c, status: 'releasing', releasingSince: now, released: 0, probeJobId: null, probeFailures: 0, updatedAt: Math.max(now, c.updatedAt + 1) }, c.updatedAt);
  }

  /** Every parked job back to the queue at once, unthrottled; the condition is closed. Returns how many. */
  drain(key: string): Promise<number | undefined> {
    return this.closeWith(key, async (jobs) => (await this.service.parking.release(jobs, 'released_by_operator')).length);
  }

  /** Every parked job fails (dead letters) with the condition as reason; the condition is closed. */
  fail(key: string): Promise<number | undefined> {
    return this.closeWith(key, (jobs) => this.service.parking.abandon(jobs, `failed by an operator: condition ${key}`));
  }

  /** Moves the condition's parked jobs a page at a time with `move`, then closes it; undefined if unknown. */
  private async closeWith(key: string, move: (jobs: Job[]) => Promise<number>): Promise<number | undefined> {
    if (!(await this.store.getCondition(key))) return undefined;
    let moved = 0;
    for (;;) {
      const jobs = await this.store.listParked(key, PAGE);
      const n = jobs.length === 0 ? 0 : await move(jobs);
      moved += n;
      if (n === 0) break; // nothing left, or nothing movable (a concurrent change): stop, never spin
    }
    await this.store.deleteCondition(key);
    return moved;
  }
}
