/**
 * Time, injected everywhere. Core logic never calls Date.now() or setTimeout directly, so tests
 * move time instead of sleeping.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs `fn` once after `ms`. The handle cancels it. Timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}
