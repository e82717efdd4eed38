import type { Clock } from '../../ports/clock.js';
import type { Dispatch } from '../../ports/dispatch.js';
import type { Jobs } from '../jobs/index.js';
import { Periodic } from './periodic.js';

export interface PromoterOptions {
  /** Longest sleep between checks, a safety net; the timer is set to the next due time. @defaultValue 1000 ms */
  maxIntervalMs: number;
  /** Jobs moved per store transaction. @defaultValue 1000 */
  batchSize: number;
}

/**
 * Moves delayed (`scheduled`) and backing-off (`retrying`) jobs to `ready` when their due time
 * comes. Sleeps until the earliest due time the dispatch index knows, so a delayed job starts on
 * time without polling.
 */
export class Promoter {
  private readonly loop: Periodic;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly service: Jobs,
    private readonly dispatch: Dispatch,
    private readonly clock: Clock,
    private readonly options: PromoterOptions = { maxIntervalMs: 1000, batchSize: 1000 },
    private readonly onError: (err: unknown) => void,
  ) {
    this.loop = new Periodic(clock, options.maxIntervalMs, () => this.runOnce(), onError);
  }

  start(): void {
    this.loop.start();
    // Caught: a node that becomes leader while Redis is down (or hears it come back) must not die
    // of the rejected look-up (a soak run lost an API process to it); the loop re-arms on its own.
    this.unsubscribe = this.dispatch.onDueChanged(() => void this.rearm().catch(this.onError));
    void this.rearm().catch(this.onError);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.loop.stop();
  }

  /** Promotes every due job; returns how many. */
  async runOnce(): Promise<number> {
    let moved = 0;
    for (;;) {
      const now = this.clock.now();
      const due = await this.dispatch.takeDue(now, this.options.batchSize);
      if (due.length === 0) break;
      const results = await this.service.transitions.apply(
        due.map((e) => ({ id: e.id, from: ['scheduled', 'retrying'] as const, to: 'ready' as const, patch: {}, now })),
      );
      moved += results.filter((r) => r.ok).length;
    }
    await this.rearm();
    return moved;
  }

  private async rearm(): Promise<void> {
    const next = await this.dispatch.nextDueAt();
    if (next !== null) this.loop.arm(Math.min(this.options.maxIntervalMs, Math.max(0, next - this.clock.now())));
  }
}
