import type { Clock, TimerHandle } from '../../ports/clock.js';

/**
 * Runs `task` every `intervalMs` on the injected clock, never two at once. A failed run is
 * reported to `onError` and the loop goes on.
 */
export class Periodic {
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm(this.intervalMs);
  }

  /** Runs the task now (or waits for the run in progress). */
  async runNow(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.task()
      .then(() => undefined)
      .catch(this.onError)
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  /** Re-arms the timer to fire in `ms` if that is sooner than planned. */
  arm(ms: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      void this.runNow().then(() => {
        if (!this.timer) this.arm(this.intervalMs);
      });
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running;
  }
}

/** A maintenance duty run every `intervalMs`: subclasses say what one run does. */
export abstract class MaintenanceLoop {
  private readonly loop: Periodic;

  constructor(clock: Clock, intervalMs: number, onError: (err: unknown) => void) {
    this.loop = new Periodic(clock, intervalMs, () => this.runOnce(), onError);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  abstract runOnce(): Promise<unknown>;
}
