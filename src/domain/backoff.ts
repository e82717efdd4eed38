/**
 * Retry backoff policies. A job carries its policy as data so that any process can compute the
 * delay of the next attempt.
 *
 * - `exponential`: delayMs * 2^(attempt-1), capped at maxDelayMs, with +/- `jitter` (a fraction,
 *   default 0.2) so that jobs failing together do not retry together.
 * - `fixed`: the same delay every time (with optional jitter, default 0).
 * - `custom`: an explicit list of delays, one per retry; the last one repeats.
 */
export type Backoff =
  | { type: 'exponential'; delayMs: number; maxDelayMs?: number; jitter?: number }
  | { type: 'fixed'; delayMs: number; jitter?: number }
  | { type: 'custom'; delaysMs: number[] };

/** @defaultValue exponential from 1 s, capped at 1 h, 20% jitter. */
export const DEFAULT_BACKOFF: Backoff = { type: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0.2 };

/**
 * Delay before the retry that follows failed attempt number `attempt` (1-based).
 * `random` returns a number in [0, 1); it is injected so that tests are deterministic.
 */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number): number {
  const n = Math.max(1, attempt);
  switch (backoff.type) {
    case 'fixed':
      return withJitter(backoff.delayMs, backoff.jitter ?? 0, random);
    case 'exponential': {
      const max = backoff.maxDelayMs ?? DEFAULT_BACKOFF_MAX;
      const raw = Math.min(max, backoff.delayMs * 2 ** Math.min(n - 1, 52));
      return Math.min(max, withJitter(raw, backoff.jitter ?? 0.2, random));
    }
    case 'custom': {
      const list = backoff.delaysMs;
      return list.length === 0 ? 0 : (list[Math.min(n - 1, list.length - 1)] ?? 0);
    }
  }
}

const DEFAULT_BACKOFF_MAX = 3_600_000;

function withJitter(delay: number, jitter: number, random: () => number): number {
  if (jitter <= 0) return Math.round(delay);
  const factor = 1 - jitter + 2 * jitter * random();
  return Math.max(0, Math.round(delay * factor));
}
