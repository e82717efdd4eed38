/**
 * `npm run bench`: bulk-submit N no-op jobs, drain them with in-process workers, then measure
 * enqueue-to-start latency one job at a time on an idle engine. Embedded mode (SQLite file in a
 * temp directory, WAL, synchronous=NORMAL).
 *
 *   npm run bench -- --jobs 100000 --concurrency 200 --latency 1000 --runs 3
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { pino } from 'pino';
import { openEmbedded } from '../app/docket.js';
import { LocalTransport } from '../sdk/local-transport.js';
import { Worker } from '../sdk/worker.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '200' },
    latency: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench-results' },
  },
});
const N = Number(args.jobs);
const CONCURRENCY = Number(args.concurrency);
const LATENCY_JOBS = Number(args.latency);
const RUNS = Number(args.runs);
const silent = pino({ level: 'silent' });

interface RunResult {
  enqueuePerSec: number;
  drainPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

async function once(run: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-bench-'));
  try {
    const docket = await openEmbedded({ dataDir: dir });
    const service = docket.service;

    // 1. Bulk enqueue, 1000 jobs per call (one transaction each), as `docket submit --file` does.
    const bar = new SingleBar({ format: `run ${run} {phase} [{bar}] {value}/{total}`, stream: process.stderr }, Presets.shades_classic);
    bar.start(N, 0, { phase: 'enqueue' });
    let t = performance.now();
    const batch = Array.from({ length: 1000 }, () => ({ type: 'noop' }));
    for (let i = 0; i < N; i += 1000) {
      await service.submit(batch.slice(0, Math.min(1000, N - i)), { tenant: 'bench' });
      bar.update(Math.min(N, i + 1000));
    }
    const enqueuePerSec = N / ((performance.now() - t) / 1000);

    // 2. Drain with one in-process worker.
    bar.update(0, { phase: 'drain  ' });
    let done = 0;
    let finish!: () => void;
    const drained = new Promise<void>((r) => (finish = r));
    const worker = new Worker({ transport: new LocalTransport(service), handlers: { noop: () => {} }, concurrency: CONCURRENCY, logger: silent });
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
    bar.setTotal(LATENCY_JOBS);
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const startedAt = new Promise<number>((r) => (started = r));
      const t0 = performance.now();
      await service.submit([{ type: 'probe' }], { tenant: 'bench' });
      latencies.push((await startedAt) - t0);
      await new Promise((r) => setTimeout(r, 1)); // let the completion land: measure an idle system
      bar.update(i + 1);
    }
    bar.stop();
    await probe.close();
    await docket.stop();
    latencies.sort((a, b) => a - b);
    return {
      enqueuePerSec,
      drainPerSec,
      latencyP50Ms: latencies[Math.floor(latencies.length * 0.5)]!,
      latencyP99Ms: latencies[Math.floor(latencies.length * 0.99)]!,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const runs: RunResult[] = [];
for (let r = 1; r <= RUNS; r++) runs.push(await once(r));
const result = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  settings: { mode: 'embedded (SQLite WAL, synchronous=NORMAL, in-process worker)', jobs: N, concurrency: CONCURRENCY, latencyJobs: LATENCY_JOBS, runs: RUNS },
  median: {
    enqueuePerSec: Math.round(median(runs.map((r) => r.enqueuePerSec))),
    drainPerSec: Math.round(median(runs.map((r) => r.drainPerSec))),
    latencyP50Ms: +median(runs.map((r) => r.latencyP50Ms)).toFixed(3),
    latencyP99Ms: +median(runs.map((r) => r.latencyP99Ms)).toFixed(3),
  },
  runs,
};
const table = [
  '| mode | enqueue jobs/s | drain jobs/s | start latency p50 | p99 |',
  '|---|---:|---:|---:|---:|',
  `| embedded | ${result.median.enqueuePerSec} | ${result.median.drainPerSec} | ${result.median.latencyP50Ms} ms | ${result.median.latencyP99Ms} ms |`,
].join('\n');
mkdirSync(args.out!, { recursive: true });
const stamp = result.date.replace(/[:.]/g, '-');
writeFileSync(join(args.out!, `bench-${stamp}.json`), JSON.stringify(result, null, 2));
writeFileSync(join(args.out!, `bench-${stamp}.md`), `${table}\n`);
console.log(JSON.stringify(result.machine), JSON.stringify(result.settings));
console.log(table);
