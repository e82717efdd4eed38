/**
 * Embedded mode: SQLite file in a temp directory (WAL, synchronous=NORMAL), in-memory dispatch,
 * one in-process worker, everything in the benchmark's own process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openEmbedded } from '../src/app/docket.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { percentile, progressBar, type BenchSettings, type RunResult } from './common.js';

const silent = pino({ level: 'silent' });

export async function embeddedOnce(run: number, s: BenchSettings): Promise<RunResult> {
  const N = s.jobs;
  const dir = mkdtempSync(join(tmpdir(), 'docket-bench-'));
  try {
    const docket = await openEmbedded({ dataDir: dir });
    const service = docket.jobs;

    // 1. Bulk enqueue, 1000 jobs per call (one transaction each), as `docket submit --file` does.
    const bar = progressBar(`embedded run ${run}`);
    bar.start(N, 0, { phase: 'enqueue' });
    let t = performance.now();
    const batch = Array.from({ length: 1000 }, () => ({ type: 'noop' }));
    for (let i = 0; i < N; i += 1000) {
      await service.submitter.submit(batch.slice(0, Math.min(1000, N - i)), { tenant: 'bench' });
      bar.update(Math.min(N, i + 1000));
    }
    const enqueuePerSec = N / ((performance.now() - t) / 1000);

    // 2. Drain with one in-process worker.
    bar.update(0, { phase: 'drain  ' });
    let done = 0;
    let finish!: () => void;
    const drained = new Promise<void>((r) => (finish = r));
    const worker = new Worker({ transport: new LocalTransport(service), handlers: { noop: () => {} }, concurrency: s.concurrency, logger: silent });
    worker.on('completed', () => {
      if (++done % 5000 === 0) bar.update(done);
      if (done === N) finish();
    });
    t = performance.now();
    await worker.start();
    await drained;
    const drainPerSec = N / ((performance.now() - t) / 1000);
    bar.update(N);

    // 3. Enqueue-to-start latency, one job at a time, idle engine (the worker waits on the dispatch signal).
    const latencies: number[] = [];
    let started!: (at: number) => void;
    await worker.close();
    const probe = new Worker({ transport: new LocalTransport(service), handlers: { probe: () => started(performance.now()) }, concurrency: 1, logger: silent });
    await probe.start();
    bar.update(0, { phase: 'latency' });
    bar.setTotal(s.latencyJobs);
    for (let i = 0; i < s.latencyJobs; i++) {
      const startedAt = new Promise<number>((r) => (started = r));
      const t0 = performance.now();
      await service.submitter.submit([{ type: 'probe' }], { tenant: 'bench' });
      latencies.push((await startedAt) - t0);
      await new Promise((r) => setTimeout(r, 1)); // let the completion land: measure an idle system
      bar.update(i + 1);
    }
    bar.stop();
    await probe.close();
    await docket.stop();
    latencies.sort((a, b) => a - b);
    return { enqueuePerSec, drainPerSec, latencyP50Ms: percentile(latencies, 0.5), latencyP99Ms: percentile(latencies, 0.99) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
