// What crossing threads costs, without a store: a store thread sends --batch claimed jobs (the
// objects the handler gets), the main thread sends back their completions (id, lease), ping-pong,
// --jobs jobs in all. Formats:
//   inline   no thread: the same objects built and read in one thread (the floor)
//   clone    postMessage of the objects (structured clone)
//   string   postMessage of one JSON string per batch
//   packed   JSON encoded to bytes, the ArrayBuffer transferred
//   sab      JSON bytes written into a SharedArrayBuffer, signalled with Atomics.notify / waitAsync
// Prints CPU µs per job (whole process) and the round trip per batch, medians of --rounds
// interleaved rounds, each format in a fresh process.
//   node bench/hot-path-embedded/messages.mjs --jobs 100000 --batch 100 --rounds 3
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { DEFAULT_BACKOFF, median, uuidv7 } from './lib/common.mjs';

const FORMATS = ['inline', 'clone', 'string', 'packed', 'sab'];
const SAB_BYTES = 1 << 20;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A batch of claimed jobs as the store side builds them (narrow.mjs jobOf). */
function claimed(n, lease) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const id = uuidv7();
    out.push({ id, hex: id.replaceAll('-', '').toUpperCase(), tenant: 'bench', queue: 'default', type: 'noop', payload: {}, priority: 5, labels: {},
      state: 'running', attempt: 1, maxAttempts: 3, backoff: DEFAULT_BACKOFF, linkId: id, timeoutMs: null, createdAt: 1, lease, startedAt: 2 });
  }
  return out;
}
const completions = (jobs) => jobs.map((j) => ({ hex: j.hex, lease: j.lease }));

/** SAB channel: [0] = length of the message in bytes (0: empty), then the bytes. */
function sabWrite(sab, value) {
  const i32 = new Int32Array(sab, 0, 1);
  const bytes = encoder.encode(JSON.stringify(value));
  new Uint8Array(sab, 4, bytes.length).set(bytes);
  Atomics.store(i32, 0, bytes.length);
  Atomics.notify(i32, 0);
}
async function sabRead(sab) {
  const i32 = new Int32Array(sab, 0, 1);
  for (;;) {
    const n = Atomics.load(i32, 0);
    if (n > 0) {
      const value = JSON.parse(decoder.decode(new Uint8Array(sab, 4, n).slice()));
      Atomics.store(i32, 0, 0);
      return value;
    }
    await Atomics.waitAsync(i32, 0, 0).value;
  }
}

const send = (port, format, value) => {
  if (format === 'clone') port.postMessage(value);
  else if (format === 'string') port.postMessage(JSON.stringify(value));
  else {
    const b = encoder.encode(JSON.stringify(value));
    port.postMessage(b, [b.buffer]);
  }
};
const read = (format, m) => (format === 'clone' ? m : format === 'string' ? JSON.parse(m) : JSON.parse(decoder.decode(m)));

if (!isMainThread) {
  // the store side: answer each request with a batch; read the completions it gets back
  const { format, batch, toMain, toStore } = workerData;
  if (format === 'sab') {
    const keepAlive = setInterval(() => {}, 1000); // Atomics.waitAsync alone does not keep a thread's loop alive
    for (let lease = 0; ; lease++) {
      const req = await sabRead(toStore);
      if (req.stop) break;
      sabWrite(toMain, claimed(batch, lease));
    }
    clearInterval(keepAlive);
  } else {
    let lease = 0;
    parentPort.on('message', (m) => {
      const v = read(format, m);
      if (v.stop) return process.exit(0);
      send(parentPort, format, claimed(batch, lease++));
    });
  }
} else {
  const { values: args } = parseArgs({ options: { jobs: { type: 'string', default: '100000' }, batch: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' }, format: { type: 'string' } } });
  const N = Number(args.jobs);
  const B = Number(args.batch);
  if (args.format) {
    const format = args.format;
    let handled = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    if (format === 'inline') {
      for (let i = 0, lease = 0; i < N; i += B, lease++) {
        const jobs = claimed(B, lease);
        for (const j of jobs) handled += j.payload ? 1 : 0;
        completions(jobs);
      }
    } else if (format === 'sab') {
      const toMain = new SharedArrayBuffer(SAB_BYTES);
      const toStore = new SharedArrayBuffer(SAB_BYTES);
      const w = new Worker(new URL(import.meta.url), { workerData: { format, batch: B, toMain, toStore } });
      const keepAlive = setInterval(() => {}, 1000);
      let back = [];
      for (let i = 0; i < N; i += B) {
        sabWrite(toStore, { complete: back });
        const jobs = await sabRead(toMain);
        for (const j of jobs) handled += j.payload ? 1 : 0;
        back = completions(jobs);
      }
      sabWrite(toStore, { stop: true });
      clearInterval(keepAlive);
      await w.terminate();
    } else {
      const w = new Worker(new URL(import.meta.url), { workerData: { format, batch: B } });
      let back = [];
      for (let i = 0; i < N; i += B) {
        const reply = new Promise((resolve) => w.once('message', resolve));
        send(w, format, { complete: back });
        const jobs = read(format, await reply);
        for (const j of jobs) handled += j.payload ? 1 : 0;
        back = completions(jobs);
      }
      await w.terminate();
    }
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    console.log(JSON.stringify({ format, jobs: handled, cpuUsPerJob: +((c.user + c.system) / N).toFixed(2), roundTripUs: +((wall * 1000) / (N / B)).toFixed(1) }));
  } else {
    const me = new URL(import.meta.url).pathname;
    const raw = [];
    for (let r = 0; r < Number(args.rounds); r++) {
      for (let k = 0; k < FORMATS.length; k++) {
        const f = FORMATS[(r + k) % FORMATS.length];
        raw.push(JSON.parse(execFileSync(process.execPath, [me, '--format', f, '--jobs', args.jobs, '--batch', args.batch], { encoding: 'utf8' }).trim()));
      }
    }
    for (const f of FORMATS) {
      const runs = raw.filter((x) => x.format === f);
      console.log(JSON.stringify({ format: f, batch: B, cpuUsPerJob: median(runs.map((x) => x.cpuUsPerJob)), roundTripUs: median(runs.map((x) => x.roundTripUs)), rawCpu: runs.map((x) => x.cpuUsPerJob), rawRtt: runs.map((x) => x.roundTripUs) }));
    }
  }
}
