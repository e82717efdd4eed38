/**
 * Scenarios 1 and 2: bulk enqueue of N no-op jobs (jobs/s, workers stopped), then the drain of
 * the full queue (jobs/s from the first job's start, reported by the worker that ran it, to the
 * moment the store holds no unfinished job; worker start-up is outside).
 */
import type { Bar } from '../progress.js';
import { cpuPerJob, cpuSnapshot } from '../cpu.js';
import { sleep } from '../proc-stats.js';
import type { Signals } from '../signals.js';
import type { System } from '../system.js';
import { enqueueAll, waitDrained } from './measure.js';

export interface ThroughputResult {
  enqueuePerSec: number;
  drainPerSec: number;
  drainMs: number;
  /** Of the processes running the system, after the drain. */
  peakRssBytes: Record<string, number>;
  /** µs of CPU per job during the drain, by part (cpu.ts). */
  cpuMicrosPerJob: Record<string, number>;
}

export async function throughput(system: System, signals: Signals, n: number, bar: Bar, adminUrl: string): Promise<ThroughputResult> {
  bar.start(n, 0, { phase: 'enqueue' });
  const enqueuePerSec = await enqueueAll(system, n, bar);
  bar.start(n, 0, { phase: 'drain' });
  signals.reset();
  // CPU is counted from the first start (process start-up is not the drain's); in-process, from
  // the worker's start (its drain may not yield to timers until it is over).
  let cpuBefore = system.inProcess ? await cpuSnapshot(adminUrl, system.cpuScope()) : null;
  await system.startWorkers();
  const startBy = performance.now() + 120_000;
  while (!Number.isFinite(signals.firstStart) && performance.now() < startBy) await sleep(2);
  cpuBefore ??= await cpuSnapshot(adminUrl, system.cpuScope());
  const end = await waitDrained(system, signals, n, bar, Math.max(300_000, n * 10));
  const cpuMicrosPerJob = cpuPerJob(cpuBefore, await cpuSnapshot(adminUrl, system.cpuScope()), n);
  if (!Number.isFinite(signals.firstStart)) throw new Error(`${system.name}: no worker reported its first start`);
  const drainMs = end - signals.firstStart;
  return { enqueuePerSec, drainPerSec: n / (drainMs / 1000), drainMs, peakRssBytes: system.peakRss(), cpuMicrosPerJob };
}
