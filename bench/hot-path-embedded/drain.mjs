// One run of one variant, in this process: bulk insert --jobs no-op jobs (1,000 per transaction, as
// the suite submits them), then drain them: claim --batch, run the no-op handler on each, complete
// the batch. Prints one JSON line: enqueue and drain jobs/s, CPU µs per job (whole process, and by
// thread from /proc), and a check that every job ended succeeded and a stale completion is refused.
//   node bench/hot-path-embedded/drain.mjs --variant CE --jobs 100000 --batch 100
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { newJob, threadCpu } from './lib/common.mjs';
import { VARIANTS, openVariant, encode, decode, handlerJobs, finishedOf } from './lib/variants.mjs';

const { values: args } = parseArgs({
  options: { variant: { type: 'string' }, jobs: { type: 'string', default: '100000' }, batch: { type: 'string', default: '100' }, sync: { type: 'string', default: 'NORMAL' } },
});
const N = Number(args.jobs);
const B = Number(args.batch);
const variant = VARIANTS[args.variant];
if (!variant) throw new Error(`--variant one of ${Object.keys(VARIANTS).join(', ')}`);

const dir = mkdtempSync(join(tmpdir(), 'hot-path-embedded-'));
const path = join(dir, 'bench.db');
let handled = 0;
const handler = (job) => void (job.payload && handled++);

function cpuNow() {
  return { proc: process.cpuUsage(), threads: threadCpu(), wall: performance.now() };
}
function cpuSince(t0) {
  const t1 = cpuNow();
  const procUs = t1.proc.user - t0.proc.user + (t1.proc.system - t0.proc.system);
  const deltas = Object.entries(t1.threads).map(([tid, s]) => [tid, s - (t0.threads[tid] ?? 0)]);
  const main = deltas.find(([tid]) => Number(tid) === process.pid)?.[1] ?? 0;
  const others = deltas.filter(([tid]) => Number(tid) !== process.pid).map(([, s]) => s).sort((a, b) => b - a);
  return { wallMs: t1.wall - t0.wall, procUs, mainS: main, topOtherS: others[0] ?? 0, restS: others.slice(1).reduce((a, b) => a + b, 0) };
}

async function inThread() {
  const store = openVariant(args.variant, path, args.sync);
  const e0 = cpuNow();
  for (let i = 0; i < N; i += 1000) {
    const now = Date.now();
    store.enqueue(Array.from({ length: Math.min(1000, N - i) }, () => newJob(now)));
  }
  const enqueue = cpuSince(e0);
  const d0 = cpuNow();
  let completed = 0;
  let last = null;
  for (;;) {
    const jobs = store.claim(B, Date.now());
    if (jobs.length === 0) break;
    for (const j of jobs) handler(j);
    completed += store.complete(jobs, Date.now());
    last = jobs[0];
  }
  const drain = cpuSince(d0);
  const staleRefused = last ? store.staleRefused(last, Date.now()) : null;
  store.close();
  return { enqueue, drain, completed, staleRefused };
}

async function onWorkerThread() {
  const format = variant.format;
  const w = new Worker(new URL('./lib/store-thread.mjs', import.meta.url), { workerData: { variant: args.variant, path, format, synchronous: args.sync } });
  const pending = new Map();
  let seq = 0;
  w.on('message', (m) => {
    pending.get(m.id)(m);
    pending.delete(m.id);
  });
  const call = (m, transfer = []) => new Promise((resolve) => {
    m.id = seq++;
    pending.set(m.id, resolve);
    w.postMessage(m, transfer);
  });
  const e0 = cpuNow();
  for (let i = 0; i < N; i += 1000) {
    const now = Date.now();
    const { msg, transfer } = encode(format, Array.from({ length: Math.min(1000, N - i) }, () => newJob(now)));
    await call({ op: 'insert', jobs: msg }, transfer);
  }
  const enqueue = cpuSince(e0);
  const d0 = cpuNow();
  let completed = 0;
  // Two batches in flight: the store claims the next one while this thread runs the handlers.
  const lane = async () => {
    let finished = null;
    for (;;) {
      const c = finished ? encode(format, finished) : null;
      const r = await call({ op: 'step', complete: c?.msg, claim: B }, c?.transfer ?? []);
      completed += r.ok ?? 0;
      const jobs = handlerJobs(format, decode(format, r.jobs));
      if (jobs.length === 0) return;
      for (const j of jobs) handler(j);
      finished = finishedOf(format, jobs);
    }
  };
  await Promise.all([lane(), lane()]);
  const drain = cpuSince(d0);
  await call({ op: 'close' });
  await w.terminate();
  return { enqueue, drain, completed, staleRefused: null };
}

const r = variant.thread ? await onWorkerThread() : await inThread();
// Every job ended succeeded, counted from the file.
const db = new Database(path, { readonly: true });
const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((t) => t.name);
const succeeded = tables.includes('jobs')
  ? db.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'succeeded'").get().n
  : db.prepare('SELECT count(*) AS n FROM hot WHERE state = 2').get().n + (tables.includes('done') ? db.prepare('SELECT count(*) AS n FROM done').get().n : 0);
db.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  variant: args.variant, jobs: N, batch: B, sync: args.sync,
  enqueuePerS: Math.round(N / (r.enqueue.wallMs / 1000)),
  drainPerS: Math.round(N / (r.drain.wallMs / 1000)),
  drainCpuUsPerJob: +(r.drain.procUs / N).toFixed(2),
  drainMainUsPerJob: +((r.drain.mainS * 1e6) / N).toFixed(2),
  drainStoreThreadUsPerJob: variant.thread ? +((r.drain.topOtherS * 1e6) / N).toFixed(2) : null,
  drainOtherThreadsUsPerJob: +(((variant.thread ? r.drain.restS : r.drain.topOtherS + r.drain.restS) * 1e6) / N).toFixed(2),
  enqueueCpuUsPerJob: +(r.enqueue.procUs / N).toFixed(2),
  completed: r.completed, succeeded, handled, staleRefused: r.staleRefused,
}));
