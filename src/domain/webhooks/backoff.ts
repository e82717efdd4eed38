/**
 * When a failed webhook delivery is tried again: exponential (initial, 2x, 4x... capped at max)
 * with "equal jitter": a random point in the upper half of that delay, so many subscriptions that
 * failed together (a receiver's outage) do not all come back at the same instant, and no retry
 * comes much sooner than planned.
 */
export interface RetryBackoff {
  initialMs: number;
  maxMs: number;
}

/** The delay after failed attempt number `attempt` (1 = the first try failed). `random` in [0, 1). */
export function retryDelayMs(attempt: number, backoff: RetryBackoff, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 40);
  const full = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  return Math.round(full / 2 + random() * (full / 2));
}
