/**
 * Scenarios 3 and 4: enqueue-to-start latency, from just before the single-job submit to the
 * probe handler's first line (UDP on loopback, or a direct call in-process).
 *
 * - idle: one probe at a time, the next 5 ms after the previous one started (its completion
 *   lands), up to `count` probes or `budgetMs`, whichever comes first (a polling system takes
 *   hundreds of ms per probe);
 * - under load: the system's own drain rate halved, enqueued in bulk every 10 ms, with probes
 *   sent open-loop at a fixed pace through their own connection.
 */
import type { Bar } from '../progress.js';
import { percentile, sortedCopy } from '../report.js';
import { sleep } from '../proc-stats.js';
import type { Signals } from '../signals.js';
import type { System } from '../system.js';
import { BULK } from './measure.js';

export interface LatencyResult {
  p50Ms: number;
  p99Ms: number;
  probes: number;
  /** Under load: the rate asked for and the rate enqueued. */
  loadPerSec?: number;
  achievedPerSec?: number;
}

let sequence = 0;
const nextKey = () => `${process.pid}-${++sequence}`;

export async function probe(system: System, signals: Signals, timeoutMs: number): Promise<number> {
  const key = nextKey();
  const t0 = performance.now();
  const arrival = signals.arrival(key, timeoutMs);
  await system.submitProbe(key);
  return (await arrival) - t0;
}

export async function latencyIdle(system: System, signals: Signals, count: number, budgetMs: number, bar: Bar): Promise<LatencyResult> {
  await system.startWorkers();
  // Warm-up (worker processes may still be connecting): not counted.
  for (let i = 0; i < 3; i++) await probe(system, signals, 60_000);
  bar.start(count, 0, { phase: 'latency' });
  const out: number[] = [];
  const end = performance.now() + budgetMs;
  while (out.length < count && performance.now() < end) {
    out.push(await probe(system, signals, 10_000));
    bar.update(out.length);
    await sleep(5);
  }
  const sorted = sortedCopy(out);
  return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), probes: out.length };
}

export async function latencyUnderLoad(
  system: System,
  signals: Signals,
  ratePerSec: number,
  seconds: number,
  probesPerSec: number,
  bar: Bar,
): Promise<LatencyResult> {
  await system.startWorkers();
  for (let i = 0; i < 3; i++) await probe(system, signals, 60_000);
  const total = Math.round(seconds * probesPerSec);
  bar.start(total, 0, { phase: 'latency under load' });
  const probes: Promise<number>[] = [];
  let sent = 0;
  const t0 = performance.now();
  const stop = t0 + seconds * 1000;
  let nextProbe = t0;
  // Probes run beside the load loop, open-loop: a slow system gets no fewer of them.
  const prober = (async () => {
    while (probes.length < total) {
      const wait = nextProbe - performance.now();
      if (wait > 0) await sleep(wait);
      nextProbe += 1000 / probesPerSec;
      probes.push(probe(system, signals, 60_000));
      bar.update(probes.length);
    }
  })();
  while (performance.now() < stop) {
    const due = Math.floor(((performance.now() - t0) / 1000) * ratePerSec) - sent;
    if (due > 0) {
      const n = Math.min(BULK, due);
      await system.enqueueBatch(n);
      sent += n;
    } else await sleep(10);
  }
  const achievedPerSec = sent / ((performance.now() - t0) / 1000);
  await prober;
  const sorted = sortedCopy(await Promise.all(probes));
  return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), probes: sorted.length, loadPerSec: Math.round(ratePerSec), achievedPerSec: Math.round(achievedPerSec) };
}
