import { randomUUID } from 'node:crypto';
import type { Job } from '../../domain/job.js';
import type { Clock } from '../../ports/clock.js';
import type { ClaimFilter, Dispatch, PriorityRange } from '../../ports/dispatch.js';
import type { Parking } from './parking.js';
import type { QueuePauses } from './pauses.js';
import type { TenantSlots } from './slots.js';
import type { Transitions } from './transitions.js';

export interface ClaimOptions {
  workerId: string;
  queues: readonly string[];
  max: number;
  range?: PriorityRange;
  /** Only jobs of these types / with these labels (insights). */
  filter?: ClaimFilter;
  /** Wait up to this long for work when none is ready. @defaultValue 0 */
  waitMs?: number;
  signal?: AbortSignal;
}

/**
 * Claims: the dispatch hands out ready entries in priority and fairness order (one atomic take),
 * the transition path moves them ready -> running under fresh lease tokens (its SQL guards the state), and
 * gates of open recovery conditions park what they hold back. Waits for work without polling.
 */
export class Claims {
  constructor(
    private readonly dispatch: Dispatch,
    private readonly transitions: Transitions,
    private readonly pauses: QueuePauses,
    private readonly parking: Parking,
    private readonly slots: TenantSlots,
    private readonly clock: Clock,
    private readonly leaseMs: number,
  ) {}

  /** Takes up to `max` ready jobs, in priority order, under fresh lease tokens. */
  async claim(opts: ClaimOptions): Promise<Job[]> {
    const deadline = this.clock.now() + (opts.waitMs ?? 0);
    for (;;) {
      const queues = this.pauses.open(opts.queues);
      const jobs = queues.length === 0 ? [] : await this.claimNow({ ...opts, queues });
      const left = deadline - this.clock.now();
      if (jobs.length > 0 || left <= 0 || opts.signal?.aborted) return jobs;
      // A resume must end the wait too: the resumed queue may hold jobs already.
      const resumed = this.pauses.resumedSignal;
      const signal = opts.signal ? AbortSignal.any([opts.signal, resumed]) : resumed;
      await this.dispatch.waitForWork(queues, left, signal, opts.range, opts.filter);
    }
  }

  private async claimNow(opts: ClaimOptions): Promise<Job[]> {
    for (;;) {
      const entries = await this.dispatch.take({ queues: opts.queues, max: opts.max, ...(opts.range ? { range: opts.range } : {}), ...(opts.filter ? { filter: opts.filter } : {}) });
      if (entries.length === 0) return [];
      const now = this.clock.now();
      const claims = entries.map((e) => ({ id: e.id, leaseToken: randomUUID() }));
      const { claimed } = await this.transitions.claim(claims, opts.workerId, now + this.leaseMs, now);
      if (this.slots.active) await this.slots.hold(entries, new Set(claimed.map((j) => j.id)));
      const passed = await this.parking.passGates(claimed, now);
      // Everything taken had expired, was no longer ready, or was held by a gate: take again
      // rather than answer "nothing" while live jobs wait behind them. Each take removes entries, so this ends.
      if (passed.length > 0) return passed;
    }
  }
}
