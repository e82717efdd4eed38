/**
 * Scenario 5: memory with M (1,000,000) queued no-op jobs. The store's size once they are all
 * queued (tables and indexes, Redis keys), then the peak RSS of the system's processes (server,
 * workers; for Docket embedded a process of its own that submits the jobs, holds the engine and
 * runs the worker: bench/docket/embedded-memory.ts) after they worked on that queue for `seconds`
 * (or drained it).
 */
import type { Bar } from '../progress.js';
import { sleep } from '../proc-stats.js';
import type { System } from '../system.js';
import { enqueueAll } from './measure.js';

export interface MemoryResult {
  jobs: number;
  enqueuePerSec: number;
  storeBytes: Record<string, number>;
  peakRssBytes: Record<string, number>;
}

export async function memory(system: System, m: number, seconds: number, bar: Bar): Promise<MemoryResult> {
  if (system.runMemory) return system.runMemory(m, seconds, bar);
  bar.start(m, 0, { phase: 'memory: enqueue' });
  const enqueuePerSec = await enqueueAll(system, m, bar);
  const storeBytes = await system.storeBytes();
  bar.start(seconds, 0, { phase: 'memory: work' });
  await system.startWorkers();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await sleep(1000);
    bar.increment();
    if ((await system.pending()) === 0) break;
  }
  return { jobs: m, enqueuePerSec, storeBytes, peakRssBytes: system.peakRss() };
}
