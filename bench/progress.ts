/**
 * The progress bar of a long run: which repeat, system and phase, how far, and the step of the
 * whole run ("step 7/30"). Output to stderr; the results go to stdout and files.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface Bar {
  start(total: number, value: number, payload: { phase: string }): void;
  update(value: number): void;
  increment(): void;
}

export class RunProgress implements Bar {
  private readonly bar = new SingleBar(
    { format: 'step {step}/{steps} run {run} {system} {phase} [{bar}] {value}/{total} {duration_formatted}', stream: process.stderr, hideCursor: false, etaBuffer: 50 },
    Presets.shades_classic,
  );
  private base: Record<string, string | number> = {};
  private active = false;
  private step = 0;

  constructor(private readonly steps: number) {}

  /** A new step of the run (one system, one group of scenarios). */
  next(run: number, system: string): void {
    this.step++;
    this.base = { step: this.step, steps: this.steps, run, system };
  }

  start(total: number, value: number, payload: { phase: string }): void {
    if (this.active) this.bar.stop();
    this.bar.start(Math.max(1, total), value, { ...this.base, ...payload });
    this.active = true;
  }

  update(value: number): void {
    this.bar.update(value);
  }

  increment(): void {
    this.bar.increment();
  }

  /** Before printing a line: the bar ends its own. */
  stop(): void {
    if (this.active) this.bar.stop();
    this.active = false;
  }
}
