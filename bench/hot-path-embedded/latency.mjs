// Idle enqueue-to-start latency: --probes single-job submits, --gap ms apart, to an idle worker that
// waits for work; the time from the submit call to the handler's start. In-thread variants wake the
// waiting claim loop from the submit (as MemoryDispatch wakes its waiters); worker-thread ones park
// a claim in the store thread, which answers it from the insert: two messages in the path.
// Variants interleaved (rotated each round), each run in a fresh process; medians of the p50s.
//   node bench/hot-path-embedded/latency.mjs --variants A,CE,CEF,B-packed,BF-packed --probes 500 --rounds 3
import { Worker } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, newJob } from './lib/common.mjs';
import { VARIANTS, openVariant, encode, decode, handlerJobs, finishedOf } from './lib/variants.mjs';

const { values: args } = parseArgs({
  options: {
    variants: { type: 'string', default: 'A,CE,CEF,B-packed,BF-packed' }, variant: { type: 'string' },
    probes: { type: 'string', default: '500' }, gap: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' },
  },
});
const P = Number(args.probes);
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function inThread(name, path) {
  const store = openVariant(name, path);
  const sent = new Map();
  const lat = [];
  let wake = null;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const jobs = store.claim(100, Date.now());
      if (jobs.length === 0) {
        await new Promise((resolve) => (wake = resolve));
        continue;
      }
      for (const j of jobs) lat.push(performance.now() - sent.get(j.id));
      store.complete(jobs, Date.now());
    }
  })();
  for (let i = 0; i < P; i++) {
    const job = newJob(Date.now());
    sent.set(job.id, performance.now());
    store.enqueue([job]);
    const w = wake;
    wake = null;
    w?.();
    await sleep(Number(args.gap));
  }
  stop = true;
  wake?.();
  await loop;
  store.close();
  return lat;
}

async function onWorkerThread(name, path) {
  const format = VARIANTS[name].format;
  const w = new Worker(new URL('./lib/store-thread.mjs', import.meta.url), { workerData: { variant: name, path, format, synchronous: 'NORMAL' } });
  const sent = new Map();
  const lat = [];
  let seq = 0;
  const acks = new Map();
  const park = (finished) => {
    const c = finished ? encode(format, finished) : null;
    w.postMessage({ op: 'step', id: seq++, claim: 100, wait: true, complete: c?.msg }, c?.transfer ?? []);
  };
  w.on('message', (m) => {
    if (acks.has(m.id)) {
      acks.get(m.id)();
      acks.delete(m.id);
      return;
    }
    if (m.jobs === undefined) return;
    const jobs = handlerJobs(format, decode(format, m.jobs));
    for (const j of jobs) lat.push(performance.now() - sent.get(j.id));
    park(finishedOf(format, jobs));
  });
  park(null);
  for (let i = 0; i < P; i++) {
    const job = newJob(Date.now());
    sent.set(job.id, performance.now());
    const { msg, transfer } = encode(format, [job]);
    const id = seq++;
    const acked = new Promise((resolve) => acks.set(id, resolve));
    w.postMessage({ op: 'insert', id, jobs: msg }, transfer);
    await acked;
    await sleep(Number(args.gap));
  }
  await w.terminate();
  return lat;
}

if (args.variant) {
  const dir = mkdtempSync(join(tmpdir(), 'hot-path-latency-'));
  const path = join(dir, 'l.db');
  const lat = VARIANTS[args.variant].thread ? await onWorkerThread(args.variant, path) : await inThread(args.variant, path);
  rmSync(dir, { recursive: true, force: true });
  const tail = lat.slice(Math.floor(lat.length / 10)); // the first 10% warm the JIT
  console.log(JSON.stringify({ variant: args.variant, probes: tail.length, p50Ms: +pct(tail, 50).toFixed(3), p99Ms: +pct(tail, 99).toFixed(3) }));
} else {
  const names = args.variants.split(',');
  const me = new URL(import.meta.url).pathname;
  const raw = [];
  for (let r = 0; r < Number(args.rounds); r++) {
    for (let k = 0; k < names.length; k++) {
      const v = names[(r + k) % names.length];
      const out = JSON.parse(execFileSync(process.execPath, [me, '--variant', v, '--probes', args.probes, '--gap', args.gap], { encoding: 'utf8' }).trim());
      raw.push(out);
      console.error(JSON.stringify(out));
    }
  }
  for (const v of names) {
    const runs = raw.filter((x) => x.variant === v);
    console.log(JSON.stringify({ variant: v, p50Ms: median(runs.map((x) => x.p50Ms)), p99Ms: median(runs.map((x) => x.p99Ms)), rawP50: runs.map((x) => x.p50Ms), rawP99: runs.map((x) => x.p99Ms) }));
  }
}
