/** Helpers the scenarios share: chunked bulk enqueue and waiting for a drain. */
import type { Bar } from '../progress.js';
import { sleep } from '../proc-stats.js';
import type { Signals } from '../signals.js';
import type { System } from '../system.js';

export const BULK = 1000;

/** Enqueue n no-op jobs, BULK per call, one call at a time; returns jobs/s. */
export async function enqueueAll(system: System, n: number, bar: Bar): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i += BULK) {
    await system.enqueueBatch(Math.min(BULK, n - i));
    bar.update(Math.min(n, i + BULK));
  }
  return n / ((performance.now() - t) / 1000);
}

/**
 * Wait until the store has no unfinished job; returns the epoch ms at which that was seen.
 * While the workers report fewer than `expected` starts, the store is asked rarely (counting
 * rows costs the database); after that every 10 ms.
 */
export async function waitDrained(system: System, signals: Signals, expected: number, bar: Bar, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let lastAsked = 0;
  let left = expected;
  for (;;) {
    const started = signals.started();
    const now = performance.now();
    if (started >= expected || now - lastAsked > 250) {
      lastAsked = now;
      left = await system.pending();
      if (left === 0) return performance.timeOrigin + performance.now();
    }
    bar.update(Math.max(0, Math.min(expected, Math.max(started, expected - left))));
    if (now > deadline) throw new Error(`${system.name}: drain timed out with ${left} jobs unfinished`);
    await sleep(10);
  }
}
