import type { Clock, TimerHandle } from '../../ports/clock.js';

/**
 * A clock that moves only when told. Tests and simulations use it to move time past a lease,
 * a backoff or an expiry without sleeping.
 */
export class ManualClock implements Clock {
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  private seq = 0;

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => t.live);
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.live = false;
      next.fn();
    }
    this.current = target;
  }

  /** Live timers: a test can check that nothing was leaked. */
  pendingTimers(): number {
    return this.timers.filter((t) => t.live).length;
  }
}
