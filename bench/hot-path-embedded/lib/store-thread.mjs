// The store side of design B: a worker thread that owns the SQLite connection, the dispatch window
// and the claim and completion statements. The main thread sends {insert} and {step: complete
// these, then claim n} messages; each reply carries the claimed jobs.
import { parentPort, workerData } from 'node:worker_threads';
import { VARIANTS, openVariant, encode, decode } from './variants.mjs';

const { variant, path, format, synchronous } = workerData;
const store = openVariant(variant, path, synchronous);
let waiting = null; // a claim parked until work arrives (the idle latency probe)

const wire = format === 'wire';
const claim = (n, now) => (wire ? store.wireClaim(n, now) : store.claim(n, now));
const empty = (jobs) => (wire ? jobs.json === '[]' : jobs.length === 0);

function reply(id, jobs, ok) {
  const { msg, transfer } = encode(format, jobs);
  parentPort.postMessage({ id, jobs: msg, ok }, transfer);
}

parentPort.on('message', (m) => {
  const now = Date.now();
  if (m.op === 'insert') {
    if (waiting && VARIANTS[variant].fuse) {
      // An idle worker is waiting: the insert and its claim in one transaction (one commit), and
      // the claimed jobs sent before the submit's acknowledgement.
      const w = waiting;
      const jobs = store.db.transaction(() => (store.enqueue(decode(format, m.jobs)), claim(w.claim, now)))();
      if (!empty(jobs)) (waiting = null), reply(w.id, jobs, 0);
      parentPort.postMessage({ id: m.id });
      return;
    }
    store.enqueue(decode(format, m.jobs));
    parentPort.postMessage({ id: m.id });
    if (waiting) {
      const w = waiting;
      const jobs = claim(w.claim, Date.now());
      if (!empty(jobs)) (waiting = null), reply(w.id, jobs, 0);
    }
  } else if (m.op === 'step') {
    const finished = m.complete ? decode(format, m.complete) : null;
    const done = finished ? (wire ? store.wireComplete(finished, now) : store.complete(finished, now)) : 0;
    const jobs = claim(m.claim, now);
    if (empty(jobs) && m.wait) waiting = m;
    else reply(m.id, jobs, done);
  } else if (m.op === 'cpu') {
    parentPort.postMessage({ id: m.id, cpu: process.cpuUsage(), elu: performance.eventLoopUtilization() });
  } else if (m.op === 'close') {
    store.close();
    parentPort.postMessage({ id: m.id });
  }
});
